#!/bin/sh
# make demo: a short campaign with one bug model of SPEC sec. 9 on (the
# x86-64 JIT's tail-call counter per frame, as before Linux v6.12), then the
# finding it reports, minimised, and the commands that replay it.
set -eu
B=${1:-build/bpfdiff}
MODEL=${MODEL:-jit-per-frame-tail-count}
OUT=${OUT:-findings/demo}
echo "== a 20-second campaign against the JIT with the bug model '$MODEL' on"
echo "   $B fuzz --model $MODEL --time 20 --stop-on-finding --out $OUT"
"$B" fuzz --model "$MODEL" --time 20 --stop-on-finding --out "$OUT"
f=$(ls -t "$OUT"/*.bpf 2>/dev/null | grep -v '\.min\.bpf$' | head -1 || true)
if [ -z "$f" ]; then
	echo "no finding in 20 s (unexpected: see docs/fuzzing.md)"
	exit 1
fi
echo
echo "== the finding: $f (header)"
grep '^# \(signature\|detail\|engines\|origin\)' "$f"
echo
echo "== minimised while the engines disagree the same way"
"$B" minimize "$f"
m=${f%.bpf}.min.bpf
echo
sed -n '/^-- program/,$p' "$m"
echo
echo "== replaying it (exit status 1: the engines still disagree)"
echo "   $B replay $m"
"$B" replay "$m" || true
