#!/bin/sh
# make demo: until the fuzzer lands (issue 4), run the corpus and show
# outcome records of a few program sets that exercise calls, tail calls and
# bpf_throw with resource cleanup.
set -eu
B=${1:-build/bpfdiff}
for f in corpus/exceptions/tail_call_throw_124.bpf corpus/exceptions/throw_deep_destructors.bpf \
	corpus/tailcalls/hierarchy_1.bpf; do
	echo "== $f"
	grep '^#' "$f" | head -4
	"$B" run "$f"
	echo
done
echo "== the kernel-interpreter model on the 2020 example (SPEC sec. 9)"
"$B" run --model kernel-interp-stack corpus/stack/sub256_target320.bpf
echo
echo "== checking the whole corpus"
"$B" check corpus
