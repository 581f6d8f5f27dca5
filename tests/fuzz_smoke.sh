#!/bin/sh
# Runs the parser fuzzer for SECONDS over a seed corpus made of every program
# in the repository and the conformance suite. Usage: fuzz_smoke.sh FUZZER SECONDS
set -eu
fuzzer=$1
secs=$2
shared=${SHARED:-../shared}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
i=0
for f in $(find corpus tests/bad "$shared/conformance" -type f \( -name '*.bpf' -o -name '*.data' \) 2>/dev/null); do
	cp "$f" "$seeds/seed$i"
	i=$((i + 1))
done
mkdir -p build/fuzz-parser-corpus
echo "fuzz-parser: $secs s over $i seeds"
"$fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix=build/ build/fuzz-parser-corpus "$seeds" 2>build/fuzz-parser.log || {
	tail -40 build/fuzz-parser.log
	echo "fuzz-parser: FAILED (crash input saved under build/)"
	exit 1
}
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build/fuzz-parser.log || true
echo "fuzz-parser: no crash"
