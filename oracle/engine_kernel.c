/* The Linux kernel as an engine (issue 5): a program set is loaded into the
 * running kernel (prog arrays as BPF_MAP_TYPE_PROG_ARRAY, bpf_throw as the
 * kfunc of that name by its vmlinux BTF id, BTF func_info for every
 * function) and run once with BPF_PROG_TEST_RUN as a BPF_PROG_TYPE_SYSCALL
 * program, whose ctx buffer comes back whole.
 *
 * test_run returns only 32 bits of R0, so the entry program is loaded
 * twice: as itself (what prog-array slots name) and behind a wrapper that
 * calls it as a subprogram and stores the full R0 past the context:
 *
 *	mov r6, r1		; the context
 *	mov r2, LEN		; SPEC: R2 = its length at entry
 *	call +2			; the entry program, as a subprogram
 *	stxdw [r6+OFF], r0	; the full 64 bits, after the context
 *	exit
 *
 * A tail call in the wrapped copy replaces its frame, so the last program's
 * R0 comes back to the wrapper. A throw unwinds past it: the slot keeps its
 * sentinel, the outcome is `throw` and only retval's 32 bits are known.
 * The wrapper costs no stack and adds one frame, which changes nothing the
 * record holds (the kernel cannot report stack figures).
 *
 * Sets with prog arrays are not run (see kernel_supports); the code that
 * loads prog arrays and fills their slots stays for the program type that
 * will carry them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/runtime.h"
#include "engine.h"
#include "kernel_bpf.h"

#define WRAP_LEN 5
#define R0_SENTINEL 0x6b65726e656c2121ull /* "kernel!!" */

int engine_kernel_probe(char *why, size_t len)
{
	return kbpf_probe(why, len);
}

/* What the kernel cannot run: bpfdiff's own helper and kfuncs (SPEC sec. 3
 * and 7 define them; the kernel has no such calls), and custom exception
 * callbacks (they need a BTF decl tag on the main function). */
static int kernel_supports(const struct prog_set *set, char *why, size_t len)
{
	/* A syscall program (the one type whose context is a plain buffer that
	 * comes back) must be sleepable, and sleepable programs cannot use prog
	 * arrays ("Sleepable programs can only use array, hash, ringbuf and
	 * local storage maps"); the types that can tail-call see an xdp_md or
	 * __sk_buff, not bytes. docs/kernel.md says what it would take. */
	if (set->narrays) {
		snprintf(why, len, "prog arrays (a sleepable syscall program cannot use them)");
		return 0;
	}
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		if (p->exception_cb >= 0) {
			snprintf(why, len, "%s has an exception callback", p->name);
			return 0;
		}
		for (int pc = 0; pc < p->len; pc++) {
			if (p->ops[pc] == ISA_OP_NONE)
				continue;
			int fmt = isa_rows[p->ops[pc]].fmt;
			if (fmt != FMT_CALL && fmt != FMT_CALL_KFUNC)
				continue;
			int rt = rt_call_lookup(fmt == FMT_CALL_KFUNC, p->insns[pc].imm);
			if (rt != RT_TAIL_CALL && rt != RT_THROW) {
				snprintf(why, len, "%s calls %s, bpfdiff's own", p->name,
					 rt >= 0 ? rt_calls[rt].name : "an unknown function");
				return 0;
			}
		}
	}
	return 1;
}

/* Rules the kernel has and SPEC does not (docs/kernel.md): a set the kernel
 * rejects for one of them is not a verifier disagreement but outside what
 * the two share. */
static const struct {
	const char *log, *why;
} kernel_only_rules[] = {
    {"invalid bpf_context access", "the kernel's syscall ctx rules (sizes, straddles); SPEC: a bounds-checked buffer"},
    {"variable ctx access", "a variable context offset; SPEC allows it, bounds-checked at run time"},
    {"dereference of modified ctx ptr", "a moved context pointer; SPEC allows it"},
    {"R2 !read_ok", "R2 read at a program's entry: SPEC gives the context's length, the kernel nothing"},
    {"cannot return stack pointer to the caller", "a callee returning a pointer into its caller's frame"},
    {"frames is too deep", "the wrapper's frame on a chain of 8 (MAX_CALL_FRAMES)"},
    {"BPF program is too large", "the kernel's 1M-instruction exploration; bpfdiff joins states at loop heads"},
};

static int kernel_only(const char *log, char *why, size_t len)
{
	for (size_t i = 0; i < sizeof(kernel_only_rules) / sizeof(kernel_only_rules[0]); i++)
		if (strstr(log, kernel_only_rules[i].log)) {
			snprintf(why, len, "outside the shared rules: %s (%s)", kernel_only_rules[i].why, log);
			return 1;
		}
	return 0;
}

/* A context access past the buffer is SPEC's run-time fault; the kernel
 * refuses the run instead, and would let it land on the R0 slot. */
static int ctx_past_end(const struct prog_set *set, char *why, size_t len)
{
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		for (int pc = 0; pc < p->len; pc++) {
			if (p->ops[pc] == ISA_OP_NONE || !(p->mem_kind[pc] & MEM_KIND_CTX))
				continue;
			int fmt = isa_rows[p->ops[pc]].fmt;
			if (fmt != FMT_LDX && fmt != FMT_ST && fmt != FMT_STX && fmt != FMT_ATOMIC)
				continue;
			static const int size[] = {4, 2, 1, 8};
			int end = p->insns[pc].off + size[(p->insns[pc].code >> 3) & 3];
			if (p->insns[pc].off < 0 || (size_t)end > set->mem_len) {
				snprintf(why, len,
					 "%s:%d reaches past the %zu-byte context (SPEC: a fault at run time)", p->name,
					 pc, set->mem_len);
				return 1;
			}
		}
	}
	return 0;
}

/* P's instructions for the kernel, after a prefix of PREFIX slots: map
 * references become fds, bpf_throw its BTF id. */
static void relocate(struct bpf_insn *out, const struct prog *p, const int *map_fd, int throw_id)
{
	for (int pc = 0; pc < p->len; pc++) {
		struct bpf_insn in = p->insns[pc];
		if (p->ops[pc] != ISA_OP_NONE) {
			int fmt = isa_rows[p->ops[pc]].fmt;
			if (fmt == FMT_LDDW && in.src == BPF_PSEUDO_MAP)
				in.imm = map_fd[in.imm]; /* the kernel's BPF_PSEUDO_MAP_FD is also 1 */
			else if (fmt == FMT_CALL_KFUNC)
				in.imm = throw_id, in.off = 0;
		}
		out[pc] = in;
	}
}

static int load(const char *name, const struct bpf_insn *insns, int len, const struct prog *p, int shift, int *fd,
		char *err, size_t errlen)
{
	int starts[PROG_MAX_FUNCS + 1], n = 0;
	if (shift)
		starts[n++] = 0;
	for (int f = 0; f < p->nfuncs; f++)
		starts[n++] = p->funcs[f].start + shift;
	struct kbpf_prog kp = {.name = name, .insns = insns, .len = len, .func_starts = starts, .nfuncs = n};
	char log[200];
	*fd = kbpf_prog_load(&kp, log, sizeof(log));
	if (*fd >= 0)
		return ENGINE_RAN;
	if (kernel_only(log, err, errlen))
		return ENGINE_UNSUPPORTED;
	snprintf(err, errlen, "%s: %s", p->name, log);
	return ENGINE_REJECTED;
}

int engine_kernel_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len)
{
	if (kbpf_probe(err, len))
		return ENGINE_UNSUPPORTED;
	if (!kernel_supports(set, err, len) || ctx_past_end(set, err, len))
		return ENGINE_UNSUPPORTED;
	int throw_id = -1;
	for (int i = 0; i < set->nprogs && throw_id < 0; i++)
		for (int pc = 0; pc < set->progs[i].len; pc++)
			if (set->progs[i].ops[pc] != ISA_OP_NONE &&
			    isa_rows[set->progs[i].ops[pc]].fmt == FMT_CALL_KFUNC) {
				if ((throw_id = kbpf_kfunc_id("bpf_throw")) < 0) {
					snprintf(err, len, "this kernel has no bpf_throw kfunc");
					return ENGINE_UNSUPPORTED;
				}
				break;
			}
	uint64_t t0 = engine_now_ns();
	int status = ENGINE_ERROR;
	int map_fd[PROG_MAX_ARRAYS], prog_fd[PROG_MAX_PROGS], entry_fd = -1;
	for (int a = 0; a < PROG_MAX_ARRAYS; a++)
		map_fd[a] = -1;
	for (int i = 0; i < PROG_MAX_PROGS; i++)
		prog_fd[i] = -1;
	size_t off = (set->mem_len + 7) / 8 * 8, ctx_len = off + 8;
	const struct prog *p0 = &set->progs[0];
	struct bpf_insn *buf = malloc((size_t)(p0->len + WRAP_LEN) * sizeof(*buf));
	uint8_t *ctx = calloc(1, ctx_len);
	if (!buf || !ctx) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	for (int a = 0; a < set->narrays; a++)
		if ((map_fd[a] = kbpf_prog_array(set->arrays[a].nslots)) < 0) {
			snprintf(err, len, "cannot create prog array %s: %s", set->arrays[a].name,
				 strerror(-map_fd[a]));
			goto out;
		}
	/* every program a slot names, as itself: the targets of tail calls */
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		int named = 0;
		for (int a = 0; a < set->narrays; a++)
			for (int s = 0; s < set->arrays[a].nslots; s++)
				named |= set->arrays[a].slot[s] == i;
		if (!named)
			continue;
		struct bpf_insn *ins = malloc((size_t)p->len * sizeof(*ins));
		if (!ins) {
			snprintf(err, len, "out of memory");
			goto out;
		}
		relocate(ins, p, map_fd, throw_id);
		int rc = load(p->name, ins, p->len, p, 0, &prog_fd[i], err, len);
		free(ins);
		if (rc != ENGINE_RAN) {
			status = rc;
			goto out;
		}
	}
	/* the entry program behind the wrapper (see the top of the file) */
	buf[0] = isa_encode(ISA_MOV64_X, 6, 1, 0, 0);
	buf[1] = isa_encode(ISA_MOV64_K, 2, 0, 0, (int32_t)set->mem_len);
	buf[2] = isa_encode(ISA_CALL_LOCAL, 0, 0, 0, WRAP_LEN - 3);
	buf[3] = isa_encode(ISA_STX_DW, 6, 0, (int16_t)off, 0);
	buf[4] = isa_encode(ISA_EXIT, 0, 0, 0, 0);
	relocate(buf + WRAP_LEN, p0, map_fd, throw_id);
	int rc = load("bpfdiff_entry", buf, p0->len + WRAP_LEN, p0, WRAP_LEN, &entry_fd, err, len);
	if (rc != ENGINE_RAN) {
		status = rc;
		goto out;
	}
	for (int a = 0; a < set->narrays; a++)
		for (int s = 0; s < set->arrays[a].nslots; s++) {
			int target = set->arrays[a].slot[s];
			rc = target >= 0 ? kbpf_array_set(map_fd[a], s, prog_fd[target]) : 0;
			if (rc) {
				snprintf(err, len, "cannot fill %s[%d]: %s", set->arrays[a].name, s, strerror(-rc));
				goto out;
			}
		}
	if (set->mem_len)
		memcpy(ctx, set->mem, set->mem_len);
	uint64_t sentinel = R0_SENTINEL;
	memcpy(ctx + off, &sentinel, 8);
	uint64_t t1 = engine_now_ns();
	e->ns_compile += t1 - t0;
	uint32_t retval = 0;
	rc = kbpf_test_run(entry_fd, ctx, (uint32_t)ctx_len, &retval);
	e->ns_run += engine_now_ns() - t1;
	if (rc) {
		snprintf(err, len, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
		/* EINVAL: a context access past the buffer, which SPEC makes a
		 * fault at run time and the kernel refuses before the run */
		status = rc == -EINVAL ? ENGINE_UNSUPPORTED : ENGINE_ERROR;
		goto out;
	}
	uint64_t r0;
	memcpy(&r0, ctx + off, 8);
	if (r0 == R0_SENTINEL) {
		out->kind = OUTCOME_THROW; /* the wrapper never stored: bpf_throw unwound past it */
		out->r0 = retval;
		out->r0_low32 = 1;
	} else {
		out->kind = OUTCOME_EXIT;
		out->r0 = r0;
	}
	out->context = malloc(set->mem_len ? set->mem_len : 1);
	if (!out->context) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	memcpy(out->context, ctx, set->mem_len);
	out->context_len = set->mem_len;
	status = ENGINE_RAN;
out:
	kbpf_close(entry_fd);
	for (int i = 0; i < PROG_MAX_PROGS; i++)
		kbpf_close(prog_fd[i]);
	for (int a = 0; a < PROG_MAX_ARRAYS; a++)
		kbpf_close(map_fd[a]);
	free(buf);
	free(ctx);
	if (status != ENGINE_RAN)
		e->ns_compile += engine_now_ns() - t0;
	return status;
}
