# bpfdiff: one non-recursive Makefile.
#   make            build build/bpfdiff
#   make test       unit, conformance, corpus and fuzz-smoke tests (ASan + UBSan build)
#   make demo       run the corpus and print outcome records
#   make fuzz       a campaign: FUZZ_TIME seconds, FUZZ_JOBS jobs, MODEL (optional)
#   make fuzz-libfuzzer  libFuzzer over the generator's choices, differential (FUZZ_TIME s)
#   make fuzz-parser  libFuzzer over the text format, assembler and verifier (60 s)

CC      ?= cc
CLANG   ?= clang
WARN    := -Wall -Wextra -Werror -std=gnu11
CFLAGS  ?= -O2 -g
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
BUILD   := build
# The shared folder with SPEC.md and the conformance suite: beside the
# checkout, or where the team's machines keep it.
SHARED  ?= $(firstword $(wildcard ../shared /work/shared) ../shared)

CORE_SRC   := core/isa.c core/prog.c core/diag.c core/asm.c core/disasm.c core/textfmt.c \
              core/outcome.c core/runtime.c core/verifier.c
INTERP_SRC := interp/interp.c
JIT_SRC    := jit/jit_x86.c jit/sandbox.c jit/jit_disasm.c
ORACLE_SRC := oracle/engine.c oracle/engine_local.c oracle/engine_kernel.c oracle/kernel_bpf.c oracle/oracle.c \
              oracle/finding.c
FUZZ_SRC   := fuzz/choice.c fuzz/gen.c fuzz/minimize.c fuzz/campaign.c
CLI_SRC    := cli/bpfdiff.c cli/cli_walk.c cli/cli_fuzz.c cli/cli_replay.c cli/cli_minimize.c
LIBS       := -lcapstone -lbpf -lelf -lz
LIB_SRC    := $(CORE_SRC) $(INTERP_SRC) $(JIT_SRC) $(ORACLE_SRC) $(FUZZ_SRC)
HDRS       := $(wildcard core/*.h interp/*.h jit/*.h oracle/*.h fuzz/*.h cli/*.h)

# Debian packages the build and the tests need; installed once, when missing.
DEB_PKGS   := clang afl++ libcapstone-dev libbpf-dev libelf-dev librte-bpf23
DEPS_STAMP := $(BUILD)/.deps

.PHONY: all test demo fuzz fuzz-parser fuzz-libfuzzer bench clean deps format

all: $(BUILD)/bpfdiff

$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
		|| { echo "warning: could not install$$missing"; }; \
	fi
	@touch $@

deps: $(DEPS_STAMP)

$(BUILD)/bpfdiff: $(LIB_SRC) $(CLI_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) -o $@ $(LIB_SRC) $(CLI_SRC) $(LIBS)

$(BUILD)/bpfdiff-san: $(LIB_SRC) $(CLI_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) -O1 -g $(SAN) -o $@ $(LIB_SRC) $(CLI_SRC) $(LIBS)

$(BUILD)/test_unit: tests/test_unit.c $(LIB_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) -O1 -g $(SAN) -o $@ tests/test_unit.c $(LIB_SRC) $(LIBS)

$(BUILD)/fuzz_parser: tests/fuzz_parser.c $(LIB_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CLANG) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ tests/fuzz_parser.c $(LIB_SRC) $(LIBS)

test: $(BUILD)/bpfdiff-san $(BUILD)/test_unit $(BUILD)/fuzz_parser $(BUILD)/fuzz_diff $(BUILD)/seeds/.done
	$(BUILD)/test_unit
	BPFDIFF=$(BUILD)/bpfdiff-san SHARED=$(SHARED) sh tests/run_tests.sh
	BPFDIFF=$(BUILD)/bpfdiff-san FUZZ_DIFF=$(BUILD)/fuzz_diff sh tests/fuzz_tests.sh
	BPFDIFF=$(BUILD)/bpfdiff-san sh tests/kernel_tests.sh
	SHARED=$(SHARED) sh tests/fuzz_smoke.sh $(BUILD)/fuzz_parser 20

# The differential libFuzzer target: its inputs are the generator's choice
# bytes. Seeds: the choices of a few seeded sets. FUZZ_TIME seconds, the
# bug model in BPFDIFF_MODEL (e.g. make fuzz-libfuzzer BPFDIFF_MODEL=jit-tail-limit-32).
FUZZ_TIME ?= 60
$(BUILD)/fuzz_diff: fuzz/fuzz_diff.c $(LIB_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CLANG) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ fuzz/fuzz_diff.c $(LIB_SRC) $(LIBS)

$(BUILD)/seeds/.done: $(BUILD)/bpfdiff
	@mkdir -p $(BUILD)/seeds
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do \
		$(BUILD)/bpfdiff gen --set-seed $$i --choices $(BUILD)/seeds/seed-$$i >/dev/null || exit 1; done
	@touch $@

FUZZ_JOBS ?= 1
fuzz: $(BUILD)/bpfdiff
	$(BUILD)/bpfdiff fuzz --jobs $(FUZZ_JOBS) --time $(FUZZ_TIME) $(if $(MODEL),--model $(MODEL))

fuzz-libfuzzer: $(BUILD)/fuzz_diff $(BUILD)/seeds/.done
	@mkdir -p $(BUILD)/fuzz_diff_corpus findings
	BPFDIFF_FINDINGS=findings $(BUILD)/fuzz_diff -max_total_time=$(FUZZ_TIME) -max_len=65536 \
		-artifact_prefix=findings/ $(BUILD)/fuzz_diff_corpus $(BUILD)/seeds

fuzz-parser: $(BUILD)/fuzz_parser
	SHARED=$(SHARED) sh tests/fuzz_smoke.sh $(BUILD)/fuzz_parser 60

$(BUILD)/bench: bench/bench.c $(LIB_SRC) $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) -O2 -g -o $@ bench/bench.c $(LIB_SRC) $(LIBS)

bench: $(BUILD)/bench
	$(BUILD)/bench

demo: $(BUILD)/bpfdiff
	sh scripts/demo.sh $(BUILD)/bpfdiff

format:
	clang-format -i core/*.c core/*.h interp/*.c interp/*.h jit/*.c jit/*.h oracle/*.c oracle/*.h fuzz/*.c fuzz/*.h cli/*.c cli/*.h tests/*.c bench/*.c

clean:
	rm -rf $(BUILD)
