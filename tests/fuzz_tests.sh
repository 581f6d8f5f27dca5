#!/bin/sh
# End-to-end tests of the fuzzing side (issue 4): the generator's rate of
# verified sets and its determinism, campaigns that find each bug model of
# SPEC sec. 9, findings that replay and minimise, deduplication, plot_data,
# replay of the corpus, and the libFuzzer target.
# BPFDIFF names the CLI (a sanitizer build under `make test`), FUZZ_DIFF the
# libFuzzer target.
set -u
B=${BPFDIFF:-build/bpfdiff}
FD=${FUZZ_DIFF:-build/fuzz_diff}
. "$(dirname "$0")/lib.sh"

# --- replay: the corpus agrees on both engines, with every expectation met
if "$B" replay --quiet corpus >"$T/replay.out" 2>&1; then
	pass "replay corpus: $(tail -1 "$T/replay.out")"
else
	grep -v "^ok" "$T/replay.out" | head -20
	fail "replay corpus"
fi
# an unmet expectation fails the replay (exit 1), and says which field
sed 's/^tail_calls 33$/tail_calls 32/' corpus/tailcalls/self_tail_call_limit.bpf >"$T/wrong.bpf"
"$B" replay "$T/wrong.bpf" >"$T/wrong.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "expected vs got: tail_calls 32 vs 33" "$T/wrong.out"; then
	pass "replay: an unmet expectation exits 1"
else
	cat "$T/wrong.out"
	fail "replay of a wrong expectation (exit $rc)"
fi
printf -- '-- program p0\nmov %%r0, 1\nbogus\n' >"$T/bad.bpf"
"$B" replay "$T/bad.bpf" >"$T/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "bad.bpf:3:" "$T/bad.out"; then
	pass "replay: malformed input exits 2 with file:line"
else
	cat "$T/bad.out"
	fail "replay of malformed input (exit $rc)"
fi

# --- the generator: deterministic from a seed; choice bytes replay the set
"$B" gen --set-seed 42 >"$T/g1" && "$B" gen --set-seed 42 >"$T/g2" && cmp -s "$T/g1" "$T/g2" &&
	pass "gen: the same seed gives the same set" || fail "gen determinism"
"$B" gen --set-seed 43 >"$T/g3"
cmp -s "$T/g1" "$T/g3" && fail "gen: seeds 42 and 43 gave the same set" || pass "gen: another seed, another set"
"$B" gen --set-seed 42 --choices "$T/c42" >/dev/null && "$B" gen --bytes "$T/c42" >"$T/g4" &&
	[ "$(tail -n +2 "$T/g1")" = "$(tail -n +2 "$T/g4")" ] &&
	pass "gen: the recorded choice bytes give the same set" || fail "gen --choices/--bytes round trip"

# --- a reference campaign: at least 99% verified, and no finding without a model
"$B" fuzz --sets 1500 --seed 11 --out "$T/ref" --quiet >"$T/ref.out" 2>&1
rate=$(sed -n 's/.*verified \([0-9.]*\)%.*/\1/p' "$T/ref.out" | tail -1)
nfind=$(sed -n 's/.*findings \([0-9]*\) new.*/\1/p' "$T/ref.out" | tail -1)
if [ -n "$rate" ] && awk "BEGIN{exit !($rate >= 99)}" && [ "$nfind" = 0 ]; then
	pass "fuzz without a model: $rate% of 1500 sets verified, 0 findings"
else
	cat "$T/ref.out"
	fail "reference campaign (verified $rate%, findings $nfind)"
fi
if [ -f "$T/ref/plot_data" ] && head -1 "$T/ref/plot_data" | grep -q "^# relative_time, cycles_done" &&
	awk -F', ' '!/^#/ { if (NF != 13) bad = 1; n++ } END { exit bad || n < 1 }' "$T/ref/plot_data" &&
	grep -q "^execs_done *: [1-9]" "$T/ref/fuzzer_stats"; then
	pass "fuzz writes plot_data (13 columns, afl-plot's) and fuzzer_stats"
else
	head -3 "$T/ref/plot_data" 2>/dev/null
	fail "plot_data / fuzzer_stats"
fi

# --- each bug model: a short seeded campaign finds it; the finding replays
# (exit 1, the same signature) and minimises to at most 30 instructions
# that still diverge
for m in $("$B" fuzz --list-models | awk '{print $1}'); do
	"$B" fuzz --model "$m" --seed 5 --time 30 --stop-on-finding --out "$T/m-$m" --quiet >"$T/m.out" 2>&1
	f=$(ls "$T/m-$m"/*.bpf 2>/dev/null | head -1)
	if [ -z "$f" ]; then
		cat "$T/m.out"
		fail "$m: no finding in 30 s"
		continue
	fi
	sig=$(sed -n 's/^# signature: //p' "$f")
	"$B" replay "$f" >"$T/r.out" 2>&1
	rc=$?
	if [ $rc -ne 1 ] || ! grep -q "as the finding says" "$T/r.out"; then
		cat "$T/r.out"
		fail "$m: the finding $sig does not replay (exit $rc)"
		continue
	fi
	"$B" minimize "$f" -o "$T/min.bpf" >"$T/min.out" 2>&1
	n=$(sed -n 's/.* -> \([0-9]*\) instructions.*/\1/p' "$T/min.out")
	"$B" replay "$T/min.bpf" >"$T/rmin.out" 2>&1
	rc=$?
	cls=${sig%%@*}
	mcls=$(sed -n 's/^# signature: \([a-z_]*\)@.*/\1/p' "$T/min.bpf")
	if [ -n "$n" ] && [ "$n" -le 30 ] && [ $rc -eq 1 ] && [ "$cls" = "$mcls" ]; then
		pass "$m: finds $sig; replays; minimises to $n instructions, still $mcls"
	else
		cat "$T/min.out" "$T/rmin.out"
		fail "$m: minimise ($n instructions, replay exit $rc, class $mcls vs $cls)"
	fi
done

# --- findings are deduplicated by signature: the same seeded run twice
# writes one file and counts the second as a duplicate
"$B" fuzz --model jit-tail-limit-32 --seed 9 --sets 300 --out "$T/dup" --quiet >"$T/d1.out" 2>&1
n1=$(ls "$T/dup" | grep -c '\.bpf$')
"$B" fuzz --model jit-tail-limit-32 --seed 9 --sets 300 --out "$T/dup" --quiet >"$T/d2.out" 2>&1
n2=$(ls "$T/dup" | grep -c '\.bpf$')
new2=$(sed -n 's/.*findings \([0-9]*\) new.*/\1/p' "$T/d2.out" | tail -1)
if [ "$n1" -ge 1 ] && [ "$n1" = "$n2" ] && [ "$new2" = 0 ] && ! ls "$T/dup" | grep -q tmp; then
	pass "findings: $n1 distinct signatures; a second run adds none and leaves no temporary file"
else
	ls "$T/dup"
	fail "dedupe ($n1 then $n2 files, $new2 new)"
fi

# --- the libFuzzer target: with a model on, the seed corpus alone leads to
# a finding and an abort that libFuzzer saves as a crash input
if [ -x "$FD" ] && [ -d build/seeds ]; then
	mkdir -p "$T/lf"
	BPFDIFF_MODEL=jit-tail-limit-32 BPFDIFF_FINDINGS="$T/lf/findings" "$FD" -runs=2000 \
		-artifact_prefix="$T/lf/" build/seeds >"$T/lf.out" 2>&1
	if ls "$T/lf" | grep -q "^crash-" && ls "$T/lf/findings" | grep -q "^tail_calls-.*\.bpf$"; then
		pass "fuzz_diff: a finding under jit-tail-limit-32, saved as a crash input and as $(ls "$T/lf/findings")"
	else
		tail -20 "$T/lf.out"
		fail "fuzz_diff with a model"
	fi
	BPFDIFF_FINDINGS="$T/lf2" "$FD" -runs=3000 build/seeds >"$T/lf2.out" 2>&1 &&
		pass "fuzz_diff without a model: 3000 runs, no finding" || {
		tail -20 "$T/lf2.out"
		fail "fuzz_diff without a model"
	}
else
	fail "fuzz_diff or build/seeds missing"
fi

finish fuzz_tests
