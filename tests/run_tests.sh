#!/bin/sh
# End-to-end tests of the bpfdiff CLI. BPFDIFF names the binary (a sanitizer
# build under `make test`), SHARED the shared folder with the conformance suite.
set -u
B=${BPFDIFF:-build/bpfdiff}
S=${SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

if [ ! -d "$S/conformance/tests" ]; then
	echo "FAIL conformance suite not found under $S (set SHARED=path/to/shared)"
	exit 1
fi

# --- conformance: every program passes, but for the two that need runtime
# extensions of the suite's own runtimes (its README says so)
conf="$S/conformance/tests"
files=$(ls "$conf"/*.data | grep -v -e '/callx.data$' -e '/call_unwind_fail.data$')
if "$B" check --isa-shifts $files >"$T/conf.out" 2>&1; then
	pass "conformance: $(tail -1 "$T/conf.out")"
else
	cat "$T/conf.out"
	fail "conformance"
fi
echo "     unsupported: callx.data (callx, a call through a register, is outside SPEC sec. 1)"
echo "     unsupported: call_unwind_fail.data (helper 5, the suite's 'unwind' helper, is not a SPEC sec. 3 call)"
# the two are rejected for exactly those reasons, not for another
"$B" run "$conf/callx.data" 2>&1 | grep -q "callx (call by register) is not supported" || fail "callx reason"
"$B" run "$conf/call_unwind_fail.data" 2>&1 | grep -q "invalid func unknown#5" || fail "call_unwind_fail reason"
# without --isa-shifts the kernel's rule applies to the suite's out-of-range shifts
"$B" check "$conf/lsh64-imm-high.data" >"$T/shift.out" 2>&1
grep -q "invalid shift 68" "$T/shift.out" && pass "kernel shift rule on lsh64-imm-high" || fail "kernel shift rule"

# --- negative: every file is rejected: bad input with an error and exit
# status 2 (never a crash), a wrong expected result as a failed check
neg_ok=0
for f in "$S"/conformance/negative/*.data tests/bad/*.bpf; do
	"$B" run "$f" >"$T/neg.out" 2>"$T/neg.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "error: " "$T/neg.err"; then
		neg_ok=$((neg_ok + 1))
	elif [ $rc -eq 0 ] && ! "$B" check "$f" >"$T/neg.chk" && grep -q "^FAIL .*expected vs got" "$T/neg.chk"; then
		echo "     $(basename "$f"): loads, and check rejects it: $(grep FAIL "$T/neg.chk" | sed 's/.*expected vs got: //')"
		neg_ok=$((neg_ok + 1))
	else
		fail "negative $f: exit $rc: $(head -c 300 "$T/neg.err")"
	fi
done
pass "negative: $neg_ok files rejected"
# errors carry file:line where there is one
"$B" run tests/bad/truncated_operand.bpf 2>&1 | grep -q "^tests/bad/truncated_operand.bpf:3: error: " &&
	pass "file:line in errors" || fail "file:line in errors"
# a huge program is refused, not a crash
{
	echo "-- asm"
	i=0
	while [ $i -lt 101000 ]; do echo "mov %r0, 1"; i=$((i + 1)); done
	echo exit
} >"$T/huge.bpf"
"$B" run "$T/huge.bpf" 2>&1 | grep -q "program too large" && pass "huge program refused" || fail "huge program"

# --- the corpus: hand-worked expectations
if "$B" check corpus >"$T/corpus.out" 2>&1; then
	pass "corpus: $(tail -1 "$T/corpus.out")"
else
	cat "$T/corpus.out"
	fail "corpus"
fi
n=$(find corpus -name '*.bpf' | wc -l)
[ "$n" -ge 40 ] && pass "corpus has $n program sets" || fail "corpus has only $n program sets"

# --- parity: the JIT reports the same record as the interpreter, every field
if "$B" check --engine both corpus >"$T/both.out" 2>&1 &&
	"$B" check --engine both --isa-shifts $files >>"$T/both.out" 2>&1; then
	pass "parity interp/jit: $(grep passed "$T/both.out" | tr '\n' ' ')"
else
	grep -v "^ok" "$T/both.out" | head -20
	fail "parity interp/jit"
fi
"$B" run --engine both corpus/exceptions/tail_call_throw_124.bpf >"$T/rb.out"
grep -q "^# no difference$" "$T/rb.out" && pass "run --engine both" || fail "run --engine both"

# --- the JIT's encodings, reviewed like code: golden capstone listing
"$B" jit --disasm tests/golden/jit_opcodes.bpf >"$T/golden.out" 2>&1
if cmp -s "$T/golden.out" tests/golden/jit_opcodes.disasm; then
	pass "jit --disasm matches tests/golden/jit_opcodes.disasm ($(grep -c '^;   [0-9]' tests/golden/jit_opcodes.disasm) BPF instructions)"
else
	diff tests/golden/jit_opcodes.disasm "$T/golden.out" | head -20
	fail "jit golden disassembly"
fi

# --- bug models of the kernel's JIT (SPEC sec. 9): each differs from the reference on a program
model_case() { # MODEL FILE: the reference passes the file's expectations, the model does not
	if "$B" check --engine jit "$2" >/dev/null && ! "$B" check --engine jit --model "$1" "$2" >"$T/m.out"; then
		pass "model $1 diverges on $2: $(grep FAIL "$T/m.out" | sed 's/.*expected vs got: //')"
	else
		fail "model $1 on $2"
	fi
}
model_case jit-per-frame-tail-count corpus/tailcalls/hierarchy_1.bpf
model_case jit-count-empty-slots corpus/tailcalls/empty_slot_40_then_slot0.bpf
model_case jit-tail-limit-32 corpus/tailcalls/self_tail_call_limit.bpf

# --- check reports failures: a wrong expectation fails with exit 1
printf -- '-- asm\nmov %%r0, 7\nexit\n-- expect\nr0 8\n' >"$T/wrong.bpf"
"$B" check "$T/wrong.bpf" >"$T/wrong.out"
rc=$?
[ $rc -eq 1 ] && grep -q "r0 0x8 vs 0x7" "$T/wrong.out" && grep -q "^0 passed, 1 failed$" "$T/wrong.out" &&
	pass "check reports a wrong expectation" || fail "check on a wrong expectation (exit $rc)"

# --- disassembler round trip over every program in the repository and the suite
rt=0
for f in $(find corpus "$conf" -name '*.bpf' -o -name '*.data' | sort); do
	"$B" asm "$f" >"$T/a1" 2>/dev/null || continue
	"$B" disasm "$f" >"$T/d.bpf" || { fail "disasm $f"; continue; }
	if "$B" asm "$T/d.bpf" >"$T/a2" 2>"$T/a2.err" && cmp -s "$T/a1" "$T/a2"; then
		rt=$((rt + 1))
	else
		fail "round trip $f: $(cat "$T/a2.err")"
	fi
done
pass "disasm round trip: $rt programs sets give the same bytes"

# --- the kernel-interpreter model (SPEC sec. 9): the 2020 example
f=corpus/stack/sub256_target320.bpf
"$B" run "$f" >"$T/ref.out"
"$B" run --model kernel-interp-stack "$f" >"$T/model.out"
if grep -q "^outcome exit$" "$T/ref.out" && grep -q "^stack_hwm 320$" "$T/ref.out" &&
	grep -q "^outcome fault$" "$T/model.out" && grep -q "^fault T:[0-9]* stack_overflow$" "$T/model.out"; then
	pass "kernel-interp-stack: reference exits (stack_hwm 320), the model overflows the 256-byte buffer"
else
	echo "reference:"; cat "$T/ref.out"; echo "model:"; cat "$T/model.out"
	fail "kernel-interp-stack model"
fi

# --- run: the record, JSON, and usage errors
"$B" run --json corpus/tailcalls/self_tail_call_limit.bpf | grep -q '"tail_calls":33' &&
	pass "run --json" || fail "run --json"
"$B" run >/dev/null 2>&1
[ $? -eq 2 ] && pass "usage error exits 2" || fail "usage error exit status"
"$B" --help | grep -q "check FILE|DIR" && pass "--help" || fail "--help"

echo
if [ $failures -eq 0 ]; then
	echo "run_tests: all passed"
else
	echo "run_tests: $failures failed"
	exit 1
fi
