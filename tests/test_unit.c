/* Unit tests: the opcode table, the verifier's rules at their boundaries
 * (accepted and rejected side by side), the outcome record's text form, and
 * interpreter arithmetic corners. Each check asserts a specific value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/disasm.h"
#include "../core/isa.h"
#include "../core/outcome.h"
#include "../fuzz/choice.h"
#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../interp/interp.h"
#include "../jit/jit_internal.h"

#include <sys/mman.h>

static int failures, checks;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		checks++;                                           \
		if (!(cond)) {                                      \
			failures++;                                 \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

static struct prog_set *load(const char *src, struct diag *d, int *verified)
{
	struct prog_set *set = malloc(sizeof(*set));
	prog_set_init(set);
	*verified = 0;
	if (textfmt_parse(set, "unit", src, strlen(src), d) == 0)
		*verified = verifier_check(set, d) == 0;
	return set;
}

static void drop(struct prog_set *set)
{
	prog_set_free(set);
	free(set);
}

/* The set verifies (err == NULL) or fails with an error containing err. */
static void verdict(const char *name, const char *src, const char *err)
{
	struct diag d = {0};
	int ok;
	struct prog_set *set = load(src, &d, &ok);
	if (!err)
		CHECK(ok, "%s: expected to verify, got: %s", name, d.msg);
	else
		CHECK(!ok && strstr(d.msg, err), "%s: expected error '%s', got: %s", name, err,
		      ok ? "(verified)" : d.msg);
	drop(set);
}

static uint64_t run_r0(const char *src, enum outcome_kind *kind)
{
	struct diag d = {0};
	int ok;
	struct prog_set *set = load(src, &d, &ok);
	uint64_t r0 = 0xdeadbeef;
	if (!ok) {
		CHECK(0, "does not verify: %s", d.msg);
		drop(set);
		return r0;
	}
	struct outcome *o = malloc(sizeof(*o));
	outcome_init(o);
	interp_run(set, NULL, o);
	r0 = o->r0;
	*kind = o->kind;
	outcome_free(o);
	free(o);
	drop(set);
	return r0;
}

static void test_isa_table(void)
{
	/* every row encodes (isa_encode sets its discriminating field) and
	 * decodes to itself, with its reserved fields zero */
	for (int op = 0; op < ISA_NUM_OPS; op++) {
		const struct isa_row *r = &isa_rows[op];
		struct bpf_insn in = isa_encode(op, 0, 0, 0, 0);
		CHECK(in.code == r->code, "row %s encodes its opcode byte", r->id);
		CHECK(isa_decode(&in) == op, "row %s decodes to %d", r->id, isa_decode(&in));
		CHECK(isa_reserved_ok(op, &in), "row %s: reserved fields", r->id);
		CHECK(isa_find(r->mnemonic, (enum isa_fmt)r->fmt) == op, "row %s: mnemonic lookup", r->id);
	}
	CHECK(ISA_NUM_OPS == 158, "table has %d rows", ISA_NUM_OPS);
	struct bpf_insn bad = {.code = 0x8e};
	CHECK(isa_decode(&bad) == ISA_INVALID, "0x8e is not an opcode");
	struct bpf_insn sdiv = {.code = 0x3f, .off = 1};
	CHECK(isa_decode(&sdiv) == ISA_SDIV64_X, "0x3f off=1 is sdiv");
	struct bpf_insn div2 = {.code = 0x3f, .off = 2};
	CHECK(!isa_reserved_ok(isa_decode(&div2), &div2), "0x3f off=2 is reserved");
}

#define SUB_TAIL                           \
	"sub:\n"                           \
	"lddw %r2, map:jt\n"               \
	"mov %r3, 0\n"                     \
	"call bpf_tail_call\n"             \
	"mov %r0, 0\n"                     \
	"exit\n"                           \
	"-- program T\nmov %r0, 3\nexit\n" \
	"-- progarray jt 1\n0 T\n"

static void test_stack_rules(void)
{
	/* callers' frames before a subprogram's tail call: 240 vs 256 (241 rounds to 256) */
	verdict("tail call, callers 240", "-- program main\nstdw [%r10-240], 0\ncall local sub\nexit\n" SUB_TAIL, NULL);
	verdict("tail call, callers 256", "-- program main\nstdw [%r10-256], 0\ncall local sub\nexit\n" SUB_TAIL,
		"tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large");
	verdict("tail call, callers 241", "-- program main\nstb [%r10-241], 0\ncall local sub\nexit\n" SUB_TAIL,
		"previous frames is 256 bytes");
	verdict("tail call in main with 512",
		"-- program main\nstdw [%r10-512], 0\nlddw %r2, map:jt\nmov %r3, 0\n"
		"call bpf_tail_call\nmov %r0, 0\nexit\n-- program T\nmov %r0, 3\nexit\n"
		"-- progarray jt 1\n0 T\n",
		NULL);
	/* combined 512 vs 528 */
	const char *c512 = "-- program main\nstdw [%r10-256], 0\ncall local a\nexit\n"
			   "a:\nstdw [%r10-256], 0\nmov %r0, 0\nexit\n";
	const char *c528 = "-- program main\nstdw [%r10-264], 0\ncall local a\nexit\n"
			   "a:\nstdw [%r10-256], 0\nmov %r0, 0\nexit\n";
	verdict("combined 512", c512, NULL);
	verdict("combined 528", c528, "combined stack size of 2 calls is 528. Too large");
	/* 8 vs 9 frames */
	char chain[2048];
	for (int frames = 8; frames <= 9; frames++) {
		int n = snprintf(chain, sizeof(chain), "-- asm\n");
		for (int f = 0; f < frames; f++) {
			if (f)
				n += snprintf(chain + n, sizeof(chain) - (size_t)n, "f%d:\n", f);
			if (f + 1 < frames)
				n += snprintf(chain + n, sizeof(chain) - (size_t)n, "call local f%d\n", f + 1);
			else
				n += snprintf(chain + n, sizeof(chain) - (size_t)n, "mov %%r0, 1\n");
			n += snprintf(chain + n, sizeof(chain) - (size_t)n, "exit\n");
		}
		verdict(frames == 8 ? "8 frames" : "9 frames", chain,
			frames == 8 ? NULL : "the call stack of 9 frames is too deep");
	}
	verdict("recursion", "-- asm\ncall local f\nexit\nf:\ncall local f\nmov %r0, 0\nexit\n",
		"the call stack of 9 frames is too deep");
	/* the frame's depth: the deepest byte touched, cost rounded to 16 */
	struct diag d = {0};
	int ok;
	struct prog_set *set = load("-- asm\nstb [%r10-17], 1\ncall local f\nexit\nf:\nstw [%r10-4], 1\n"
				    "mov %r0, 0\nexit\n",
				    &d, &ok);
	CHECK(ok, "depth program verifies: %s", d.msg);
	if (ok) {
		CHECK(set->progs[0].funcs[0].depth == 17 && set->progs[0].funcs[0].cost == 32, "main depth %d cost %d",
		      set->progs[0].funcs[0].depth, set->progs[0].funcs[0].cost);
		CHECK(set->progs[0].funcs[1].depth == 4 && set->progs[0].funcs[1].cost == 16, "f depth %d cost %d",
		      set->progs[0].funcs[1].depth, set->progs[0].funcs[1].cost);
		CHECK(set->static_stack_bound == 48, "static bound %llu", (unsigned long long)set->static_stack_bound);
	}
	drop(set);
	/* a bounded variable offset is accepted, an unbounded one rejected */
	verdict("bounded variable stack offset",
		"-- asm\nstdw [%r10-16], 0\nstdw [%r10-8], 0\nldxb %r3, [%r1+0]\nand %r3, 15\nmov %r2, %r10\n"
		"add %r2, %r3\nldxb %r0, [%r2-16]\nexit\n-- mem\n03\n",
		NULL);
	verdict("unbounded variable stack offset",
		"-- asm\nstdw [%r10-16], 0\nstdw [%r10-8], 0\nldxb %r3, [%r1+0]\nmov %r2, %r10\n"
		"add %r2, %r3\nldxb %r0, [%r2-16]\nexit\n-- mem\n03\n",
		"invalid read from stack");
	verdict("read of unwritten stack", "-- asm\nldxdw %r0, [%r10-8]\nexit\n", "invalid read from stack");
	verdict("stack below 512", "-- asm\nstb [%r10-513], 0\nmov %r0, 0\nexit\n", "invalid write to stack");
}

#define ACQ "mov %r1, 0\ncall bpf_res_acquire\njeq %r0, 0, out\nmov %r6, %r0\n"

static void test_reference_rules(void)
{
	verdict("release", "-- asm\n" ACQ "mov %r1, %r6\ncall bpf_res_release\nout:\nmov %r0, 0\nexit\n", NULL);
	verdict("unreleased", "-- asm\n" ACQ "out:\nmov %r0, 0\nexit\n", "Unreleased reference id=1 alloc_insn=1");
	verdict("double release",
		"-- asm\n" ACQ "mov %r1, %r6\ncall bpf_res_release\nmov %r1, %r6\ncall bpf_res_release\nout:\n"
		"mov %r0, 0\nexit\n",
		"R6 !read_ok"); /* the release invalidates every copy of the handle */
	verdict("release without NULL check",
		"-- asm\nmov %r1, 0\ncall bpf_res_acquire\nmov %r1, %r0\n"
		"call bpf_res_release\nmov %r0, 0\nexit\n",
		"Possibly NULL pointer passed to trusted arg0");
	verdict("reference at tail call",
		"-- program main\nmov %r7, %r1\n" ACQ "mov %r1, %r7\nlddw %r2, map:jt\nmov %r3, 0\n"
		"call bpf_tail_call\nmov %r1, %r6\ncall bpf_res_release\nout:\nmov %r0, 0\nexit\n"
		"-- program T\nmov %r0, 1\nexit\n-- progarray jt 1\n0 T\n",
		"tail_call would lead to reference leak");
	verdict("reference held at bpf_throw (accepted)",
		"-- asm\n" ACQ "mov %r1, 5\ncall bpf_throw\nout:\nmov %r0, 0\nexit\n", NULL);
	verdict("handle in R0 at exit", "-- asm\n" ACQ "mov %r0, %r6\nexit\nout:\nmov %r0, 0\nexit\n",
		"At program exit the register R0 is not a known value");
	verdict("ctx pointer in R0 at exit", "-- asm\nmov %r0, %r1\nexit\n",
		"At program exit the register R0 is not a known value (ctx)");
	verdict("handle as throw cookie", "-- asm\n" ACQ "mov %r1, %r6\ncall bpf_throw\nout:\nmov %r0, 0\nexit\n",
		"R1 type=ptr_or_null_res expected=scalar");
	verdict("stack pointer as throw cookie", "-- asm\nmov %r1, %r10\ncall bpf_throw\nmov %r0, 0\nexit\n",
		"R1 type=fp expected=scalar");
	verdict("pointer into ctx", "-- asm\nstxdw [%r1+0], %r10\nmov %r0, 0\nexit\n", "R10 leaks addr into ctx");
	verdict("handle compared with 1",
		"-- asm\n" ACQ "jeq %r6, 1, x\nx:\nmov %r1, %r6\ncall bpf_res_release\n"
		"out:\nmov %r0, 0\nexit\n",
		"pointer comparison prohibited");
	verdict("partial pointer copy", "-- asm\nmov32 %r0, %r1\nexit\n", "partial copy of pointer");
}

static void test_alu_rules(void)
{
	verdict("div by imm 0", "-- asm\nmov %r0, 1\ndiv %r0, 0\nexit\n", "div by zero");
	verdict("mod32 by imm 0", "-- asm\nmov %r0, 1\nmod32 %r0, 0\nexit\n", "div by zero");
	verdict("div by imm 1", "-- asm\nmov %r0, 1\ndiv %r0, 1\nexit\n", NULL);
	verdict("lsh by 63", "-- asm\nmov %r0, 1\nlsh %r0, 63\nexit\n", NULL);
	verdict("lsh by 64", "-- asm\nmov %r0, 1\nlsh %r0, 64\nexit\n", "invalid shift 64");
	verdict("lsh32 by 31", "-- asm\nmov %r0, 1\nlsh32 %r0, 31\nexit\n", NULL);
	verdict("lsh32 by 32", "-- asm\nmov %r0, 1\nlsh32 %r0, 32\nexit\n", "invalid shift 32");
	verdict("uninitialised read", "-- asm\nmov %r0, %r5\nexit\n", "R5 !read_ok");
	verdict("R10 written", "-- asm\nmov %r10, 0\nmov %r0, 0\nexit\n", "frame pointer is read only");
	verdict("jump out of range", "-- raw\n0x0000000000050005\n0x0000000000000095\n", "jump out of range");
	verdict("lddw without its second half", "-- raw\n0x0000000100000018\n", "invalid bpf_ld_imm64 insn");
	verdict("unknown opcode", "-- raw\n0x000000000000008e\n0x0000000000000095\n", "unknown opcode 8e");
	verdict("reserved field", "-- raw\n0x00000001000100b7\n0x0000000000000095\n", "mov uses reserved fields");
	verdict("R1-R5 clobbered by a call", "-- asm\nmov %r1, 3\ncall bpf_trace\nmov %r0, %r1\nexit\n", "R1 !read_ok");
}

static void test_interp_corners(void)
{
	enum outcome_kind k = OUTCOME_CRASH;
	CHECK(run_r0("-- asm\nlddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit\n", &k) == 0x8000000000000000ull,
	      "INT64_MIN / -1");
	CHECK(run_r0("-- asm\nlddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit\n", &k) == 0, "INT64_MIN %% -1");
	CHECK(run_r0("-- asm\nlddw %r0, 0x1ffffffff\nmov %r1, 0\nmod32 %r0, %r1\nexit\n", &k) == 0xffffffffull,
	      "mod32 by 0 zero-extends");
	CHECK(run_r0("-- asm\nlddw %r0, 0x1ffffffff\nmov %r1, 0\nmod %r0, %r1\nexit\n", &k) == 0x1ffffffffull,
	      "mod64 by 0 leaves dst");
	CHECK(run_r0("-- asm\nmov %r0, -7\nsdiv %r0, 2\nexit\n", &k) == (uint64_t)-3, "sdiv truncates to 0");
	CHECK(run_r0("-- asm\nmov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit\n", &k) == 2, "register shift masked");
	/* the throw cookie's 64 bits reach the caller of the boundary */
	CHECK(run_r0("-- asm\nlddw %r1, 0x123456789a\ncall bpf_throw\nmov %r0, 0\nexit\n", &k) == 0x123456789aull &&
		  k == OUTCOME_THROW,
	      "throw cookie, outcome throw");
}

static void test_outcome_text(void)
{
	/* the printed record parses back as an expectation with no difference */
	const char *src = "-- asm\n" ACQ "mov %r1, 9\ncall bpf_trace\nmov %r1, 7\ncall bpf_throw\nout:\n"
			  "mov %r0, 0\nexit\n-- mem\n01 02\n";
	struct diag d = {0};
	int ok;
	struct prog_set *set = load(src, &d, &ok);
	CHECK(ok, "outcome program verifies: %s", d.msg);
	if (!ok) {
		drop(set);
		return;
	}
	struct outcome *o = malloc(sizeof(*o));
	outcome_init(o);
	interp_run(set, NULL, o);
	CHECK(o->kind == OUTCOME_THROW && o->r0 == 7 && o->ndestructors == 1 && o->destructors[0].id == 1 &&
		  o->ntrace == 1 && o->trace[0] == 9,
	      "throw record");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "%s-- expect\n", src);
	outcome_print(f, set, o);
	fclose(f);
	struct prog_set *again = load(text, &d, &ok);
	CHECK(ok, "printed record parses: %s", d.msg);
	if (ok) {
		char why[256];
		CHECK(again->expect_mask == (EXPECT_OUTCOME | EXPECT_R0 | EXPECT_TAIL_CALLS | EXPECT_STACK_HWM |
					     EXPECT_DESTRUCTORS | EXPECT_TRACE | EXPECT_CONTEXT),
		      "all fields expected: %x", again->expect_mask);
		CHECK(outcome_diff(set, again->expect, o, again->expect_mask, why, sizeof(why)) == 0, "diff: %s", why);
	}
	drop(again);
	free(text);
	outcome_free(o);
	free(o);
	drop(set);
}

/* A signal inside JITed code becomes the outcome crash, with the BPF pc
 * that the faulting address maps to, and the harness runs on. The image is
 * patched (ud2 at pc 1) to stand for a wrong JIT. */
static void test_jit_crash_recovery(void)
{
	struct diag d = {0};
	int ok;
	struct prog_set *set = load("-- asm\nmov %r0, 1\nadd %r0, 2\nexit\n", &d, &ok);
	CHECK(ok, "crash program verifies: %s", d.msg);
	if (!ok) {
		drop(set);
		return;
	}
	char err[128];
	struct jit_image *img = jit_compile(set, err, sizeof(err));
	CHECK(img != NULL, "jit: %s", err);
	if (!img) {
		drop(set);
		return;
	}
	struct outcome *o = malloc(sizeof(*o));
	outcome_init(o);
	jit_run(img, o);
	CHECK(o->kind == OUTCOME_EXIT && o->r0 == 3, "before the patch: exit 3, got %s %llu",
	      outcome_kind_name(o->kind), (unsigned long long)o->r0);
	uint8_t *at = img->code + jit_pc_offset(img, 0, 1);
	CHECK(mprotect(img->code, img->map_len, PROT_READ | PROT_WRITE) == 0, "mprotect rw");
	at[0] = 0x0f; /* ud2 */
	at[1] = 0x0b;
	CHECK(mprotect(img->code, img->map_len, PROT_READ | PROT_EXEC) == 0, "mprotect rx");
	jit_run(img, o);
	CHECK(o->kind == OUTCOME_CRASH && o->fault == FAULT_SIGNAL && o->fault_prog == 0 && o->fault_pc == 1,
	      "crash at main:1, got %s %s %d:%d", outcome_kind_name(o->kind), fault_kind_name(o->fault), o->fault_prog,
	      o->fault_pc);
	jit_free(img);
	/* the harness goes on: a fresh image runs normally */
	img = jit_compile(set, err, sizeof(err));
	jit_run(img, o);
	CHECK(o->kind == OUTCOME_EXIT && o->r0 == 3, "after the crash: exit 3");
	jit_free(img);
	outcome_free(o);
	free(o);
	drop(set);
}

/* The choice source: a seed gives the same stream; bytes are read in order,
 * one per choice below 256, and an exhausted input reads 0 (the smallest
 * alternative, "no" for a percentage). */
static void test_choice(void)
{
	struct choice a, b, c;
	choice_seed(&a, 7);
	choice_seed(&b, 7);
	int same = 1, in_range = 1;
	for (int i = 0; i < 1000; i++) {
		uint32_t x = choice_below(&a, 10), y = choice_below(&b, 10);
		same &= x == y;
		in_range &= x < 10;
	}
	CHECK(same && in_range, "seeded streams repeat and stay in range");
	static const uint8_t bytes[] = {13, 250, 0x34, 0x12, 99};
	choice_from_bytes(&c, bytes, sizeof(bytes));
	CHECK(choice_below(&c, 10) == 3, "13 %% 10");
	CHECK(choice_below(&c, 256) == 250, "one byte for n = 256");
	CHECK(choice_below(&c, 65536) == 0x1234, "two bytes, little-endian, for n = 65536");
	CHECK(choice_pct(&c, 1), "byte 99 is in the top 1%%");
	CHECK(choice_below(&c, 200) == 0 && !choice_pct(&c, 99), "past the end: 0, and no");
	choice_seed(&a, 9);
	choice_record(&a);
	uint32_t first[3] = {choice_below(&a, 7), choice_below(&a, 1000), choice_u32(&a)};
	choice_from_bytes(&c, a.log, a.log_len);
	CHECK(a.log_len == 7, "recorded 1 + 2 + 4 bytes, got %zu", a.log_len);
	CHECK(choice_below(&c, 7) == first[0] && choice_below(&c, 1000) == first[1] && choice_u32(&c) == first[2],
	      "recorded bytes replay the same choices");
	choice_free(&a);
}

int main(void)
{
	test_choice();
	test_jit_crash_recovery();
	test_isa_table();
	test_stack_rules();
	test_reference_rules();
	test_alu_rules();
	test_interp_corners();
	test_outcome_text();
	printf("test_unit: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
