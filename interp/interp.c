/* The reference interpreter. Dispatch is a computed goto over the opcode
 * table (core/isa.h): every row needs a label here, so a row without
 * semantics does not build. Frames are laid out downwards in one buffer, each
 * as large as its cost (the JIT's layout); every stack access is checked against the owning frame's verified depth
 * (a miss is verifier_escape, SPEC sec. 4), every context access against the
 * buffer (a miss is fault). */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

#include "../core/runtime.h"

/* Live frames of a run: a program's chain holds at most 8, and a tail call
 * from frame k keeps frames 0..k-1, so 33 tail calls add at most 7 each. */
#define RUN_MAX_FRAMES (MAX_CALL_FRAMES + MAX_TAIL_CALL_CNT * (MAX_CALL_FRAMES - 1))
/* Each frame's region: its cost, or under the kernel-interp model its buffer. */
#define RUN_STACK_BYTES (RUN_MAX_FRAMES * (MAX_BPF_STACK + 32))

struct iframe {
	int prog, func;
	int ret_pc;	   /* caller's pc to resume at */
	uint64_t saved[4]; /* caller's r6-r9 */
	uint32_t cost;	   /* frame cost (round_up(depth, 16)) */
	int depth;	   /* bytes below fp this frame may touch */
	int buf;	   /* kernel-interp model: the frame's buffer size */
	uint32_t tc_cnt;   /* kernel-interp model: this frame's tail-call counter */
	int is_cb;	   /* an exception callback running in place of a boundary */
	uint64_t fp;	   /* this frame's R10 */
	uint32_t size;	   /* bytes of the buffer below fp that belong to the frame */
};

struct ictx {
	const struct prog_set *set;
	const struct interp_opts *opts;
	struct outcome *out;
	struct rt_run rt;
	uint8_t *ctx;
	size_t ctx_len;
	uint8_t stack[RUN_STACK_BYTES];
	struct iframe fr[RUN_MAX_FRAMES];
	int nfr;
	uint64_t budget_used;
	uint32_t cur_stack; /* summed cost of live frames */
	int prog, pc;
};

static uint32_t kernel_buf(int depth)
{
	return (uint32_t)((depth < 1 ? 1 : depth) + 31) / 32 * 32;
}

/* Places frame k below frame k-1 (or at the top of the buffer) and sizes it. */
static void place(struct ictx *c, int k)
{
	struct iframe *f = &c->fr[k];
	f->fp = k ? c->fr[k - 1].fp - c->fr[k - 1].size : (uint64_t)(uintptr_t)(c->stack + sizeof(c->stack));
	f->size = c->opts->model == INTERP_MODEL_KERNEL_STACK ? (uint32_t)f->buf : f->cost;
}

static void account(struct ictx *c)
{
	uint32_t s = 0;
	for (int k = 0; k < c->nfr; k++)
		s += c->fr[k].cost;
	c->cur_stack = s;
	if (s > c->out->stack_hwm)
		c->out->stack_hwm = s;
}

static void set_func(struct ictx *c, struct iframe *f, int prog, int func)
{
	const struct prog_func *fn = &c->set->progs[prog].funcs[func];
	f->prog = prog;
	f->func = func;
	f->cost = (uint32_t)fn->cost;
	f->depth = fn->depth;
}

static void stop(struct ictx *c, enum outcome_kind k, enum fault_kind fk)
{
	c->out->kind = k;
	c->out->fault = fk;
	c->out->fault_prog = c->prog;
	c->out->fault_pc = c->pc;
	c->out->r0 = 0;
}

/* Resolves a memory access. Returns the host address, or NULL after
 * stopping the run. */
static uint8_t *mem(struct ictx *c, uint64_t addr, int size, int write)
{
	uint64_t sb = (uint64_t)(uintptr_t)c->stack, se = sb + sizeof(c->stack);
	/* the verifier says which pointers reach this pc: a context pointer
	 * that lands in the stack is still a context access */
	uint8_t kind = c->set->progs[c->prog].mem_kind[c->pc];
	if ((kind & MEM_KIND_STACK) && addr >= sb && addr < se) {
		/* the frame whose region holds addr, searching from the top */
		int k = c->nfr - 1;
		while (k >= 0 && addr >= c->fr[k].fp)
			k--;
		if (c->opts->model == INTERP_MODEL_KERNEL_STACK && k >= 0 &&
		    addr < c->fr[k].fp - (uint64_t)c->fr[k].buf && k == c->nfr - 1) {
			/* the kernel interpreter's buffer for this call: a tail-call
			 * target needing more than it overflows */
			stop(c, OUTCOME_FAULT, FAULT_STACK_OVERFLOW);
			return NULL;
		}
		if (k < 0 || addr < c->fr[k].fp - c->fr[k].size || addr + (uint64_t)size > c->fr[k].fp) {
			stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_STACK_BOUNDS);
			return NULL;
		}
		if (k + 1 < c->nfr && addr < c->fr[k + 1].fp) {
			stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_STACK_BOUNDS);
			return NULL;
		}
		uint64_t fp = c->fr[k].fp;
		if (c->opts->model != INTERP_MODEL_KERNEL_STACK && addr < fp - (uint64_t)c->fr[k].depth) {
			stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_STACK_BOUNDS);
			return NULL;
		}
		return (uint8_t *)(uintptr_t)addr;
	}
	if (!(kind & MEM_KIND_CTX)) {
		stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_STACK_BOUNDS);
		return NULL;
	}
	uint64_t cb = (uint64_t)(uintptr_t)c->ctx;
	if (addr >= cb && addr - cb <= c->ctx_len && (uint64_t)size <= c->ctx_len - (addr - cb))
		return (uint8_t *)(uintptr_t)addr;
	stop(c, OUTCOME_FAULT, write ? FAULT_CTX_WRITE : FAULT_CTX_READ);
	return NULL;
}

static uint64_t load(const uint8_t *p, int size)
{
	switch (size) {
	case 1: return *p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static void store(uint8_t *p, int size, uint64_t v)
{
	switch (size) {
	case 1: *p = (uint8_t)v; break;
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
		break;
	}
	default: memcpy(p, &v, 8); break;
	}
}

static int64_t sext(uint64_t v, int size)
{
	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	case 4: return (int32_t)v;
	default: return (int64_t)v;
	}
}

/* One more unit of budget; 0 when the run must stop here. */
static int spend(struct ictx *c)
{
	if (++c->budget_used > c->set->budget) {
		stop(c, OUTCOME_BUDGET, FAULT_NONE);
		return 0;
	}
	return 1;
}

int interp_run(const struct prog_set *set, const struct interp_opts *opts, struct outcome *out)
{
	static const struct interp_opts defaults;
	struct ictx *c = calloc(1, sizeof(*c));
	if (!c) {
		out->kind = OUTCOME_CRASH;
		return 0;
	}
	c->set = set;
	c->opts = opts ? opts : &defaults;
	c->out = out;
	outcome_free(out);
	outcome_init(out);
	rt_run_init(&c->rt, set, out);
	c->ctx_len = set->mem_len;
	c->ctx = calloc(1, set->mem_len ? set->mem_len : 1);
	if (!c->ctx) {
		free(c);
		out->kind = OUTCOME_CRASH;
		return 0;
	}
	if (set->mem_len)
		memcpy(c->ctx, set->mem, set->mem_len);

	uint64_t reg[11] = {0};
	c->nfr = 1;
	set_func(c, &c->fr[0], 0, 0);
	c->fr[0].ret_pc = -1;
	c->fr[0].buf = (int)kernel_buf(c->fr[0].depth);
	place(c, 0);
	account(c);
	reg[1] = (uint64_t)(uintptr_t)c->ctx;
	reg[2] = set->mem_len;
	reg[10] = c->fr[0].fp;
	c->prog = 0;
	c->pc = 0;
	const struct prog *p = &set->progs[0];
	const struct bpf_insn *in;
	int pc = 0;
	uint8_t *m;

	static const void *const dispatch[ISA_NUM_OPS] = {
#define INTERP_LABEL(id, code, fmt, disc, name) [ISA_##id] = &&op_##id,
	    BPF_OPCODE_TABLE(INTERP_LABEL)
#undef INTERP_LABEL
	};

#define DST reg[in->dst]
#define SRC reg[in->src]
#define IMM ((uint64_t)(int64_t)in->imm)
#define NEXT               \
	do {               \
		pc++;      \
		goto next; \
	} while (0)
#define JUMP(off)                           \
	do {                                \
		if ((off) < 0 && !spend(c)) \
			goto done;          \
		pc += (off) + 1;            \
		goto next;                  \
	} while (0)

next:
	c->pc = pc;
	in = &p->insns[pc];
	goto *dispatch[p->ops[pc]];

	/* ALU: 64-bit on full registers, 32-bit on the low halves, zero-extended */
#define ALU_PAIR(ID, OP)                                                      \
	op_##ID##64_K : DST = DST OP IMM;                                     \
	NEXT;                                                                 \
	op_##ID##64_X : DST = DST OP SRC;                                     \
	NEXT;                                                                 \
	op_##ID##32_K : DST = (uint32_t)((uint32_t)DST OP(uint32_t) in->imm); \
	NEXT;                                                                 \
	op_##ID##32_X : DST = (uint32_t)((uint32_t)DST OP(uint32_t) SRC);     \
	NEXT;
	ALU_PAIR(ADD, +)
	ALU_PAIR(SUB, -)
	ALU_PAIR(MUL, *)
	ALU_PAIR(OR, |)
	ALU_PAIR(AND, &)
	ALU_PAIR(XOR, ^)
#undef ALU_PAIR
op_DIV64_K:
	DST = IMM ? DST / IMM : 0;
	NEXT;
op_DIV64_X:
	DST = SRC ? DST / SRC : 0;
	NEXT;
op_DIV32_K:
	DST = (uint32_t)in->imm ? (uint32_t)DST / (uint32_t)in->imm : 0;
	NEXT;
op_DIV32_X:
	DST = (uint32_t)SRC ? (uint32_t)DST / (uint32_t)SRC : 0;
	NEXT;
op_MOD64_K:
	DST = IMM ? DST % IMM : DST;
	NEXT;
op_MOD64_X:
	DST = SRC ? DST % SRC : DST;
	NEXT;
op_MOD32_K:
	DST = (uint32_t)in->imm ? (uint32_t)DST % (uint32_t)in->imm : (uint32_t)DST;
	NEXT;
op_MOD32_X:
	DST = (uint32_t)SRC ? (uint32_t)DST % (uint32_t)SRC : (uint32_t)DST;
	NEXT;
	{
		int64_t a64, b64;
		int32_t a32, b32;
	op_SDIV64_K:
		b64 = (int64_t)IMM;
		goto sdiv64;
	op_SDIV64_X:
		b64 = (int64_t)SRC;
	sdiv64:
		a64 = (int64_t)DST;
		DST = b64 == 0 ? 0 : (b64 == -1) ? 0 - (uint64_t)a64 : (uint64_t)(a64 / b64);
		NEXT;
	op_SMOD64_K:
		b64 = (int64_t)IMM;
		goto smod64;
	op_SMOD64_X:
		b64 = (int64_t)SRC;
	smod64:
		a64 = (int64_t)DST;
		DST = b64 == 0 ? (uint64_t)a64 : (b64 == -1) ? 0 : (uint64_t)(a64 % b64);
		NEXT;
	op_SDIV32_K:
		b32 = in->imm;
		goto sdiv32;
	op_SDIV32_X:
		b32 = (int32_t)SRC;
	sdiv32:
		a32 = (int32_t)DST;
		DST = b32 == 0 ? 0 : (b32 == -1) ? (uint32_t)(0 - (uint32_t)a32) : (uint32_t)(a32 / b32);
		NEXT;
	op_SMOD32_K:
		b32 = in->imm;
		goto smod32;
	op_SMOD32_X:
		b32 = (int32_t)SRC;
	smod32:
		a32 = (int32_t)DST;
		DST = b32 == 0 ? (uint32_t)a32 : (b32 == -1) ? 0 : (uint32_t)(a32 % b32);
		NEXT;
	}
op_LSH64_K:
	DST <<= (in->imm & 63);
	NEXT;
op_LSH64_X:
	DST <<= (SRC & 63);
	NEXT;
op_LSH32_K:
	DST = (uint32_t)((uint32_t)DST << (in->imm & 31));
	NEXT;
op_LSH32_X:
	DST = (uint32_t)((uint32_t)DST << (SRC & 31));
	NEXT;
op_RSH64_K:
	DST >>= (in->imm & 63);
	NEXT;
op_RSH64_X:
	DST >>= (SRC & 63);
	NEXT;
op_RSH32_K:
	DST = (uint32_t)DST >> (in->imm & 31);
	NEXT;
op_RSH32_X:
	DST = (uint32_t)DST >> (SRC & 31);
	NEXT;
op_ARSH64_K:
	DST = (uint64_t)((int64_t)DST >> (in->imm & 63));
	NEXT;
op_ARSH64_X:
	DST = (uint64_t)((int64_t)DST >> (SRC & 63));
	NEXT;
op_ARSH32_K:
	DST = (uint32_t)((int32_t)DST >> (in->imm & 31));
	NEXT;
op_ARSH32_X:
	DST = (uint32_t)((int32_t)DST >> (SRC & 31));
	NEXT;
op_MOV64_K:
	DST = IMM;
	NEXT;
op_MOV64_X:
	DST = SRC;
	NEXT;
op_MOV32_K:
	DST = (uint32_t)in->imm;
	NEXT;
op_MOV32_X:
	DST = (uint32_t)SRC;
	NEXT;
op_NEG64:
	DST = 0 - DST;
	NEXT;
op_NEG32:
	DST = (uint32_t)(0 - (uint32_t)DST);
	NEXT;
op_MOVSX64_8:
	DST = (uint64_t)(int64_t)(int8_t)SRC;
	NEXT;
op_MOVSX64_16:
	DST = (uint64_t)(int64_t)(int16_t)SRC;
	NEXT;
op_MOVSX64_32:
	DST = (uint64_t)(int64_t)(int32_t)SRC;
	NEXT;
op_MOVSX32_8:
	DST = (uint32_t)(int32_t)(int8_t)SRC;
	NEXT;
op_MOVSX32_16:
	DST = (uint32_t)(int32_t)(int16_t)SRC;
	NEXT;
	/* byte order: the machine is little-endian, so "le" truncates and "be"
	 * swaps; bswap swaps unconditionally */
op_LE16:
	DST = (uint16_t)DST;
	NEXT;
op_LE32:
	DST = (uint32_t)DST;
	NEXT;
op_LE64:
	NEXT;
op_BE16:
op_BSWAP16:
	DST = __builtin_bswap16((uint16_t)DST);
	NEXT;
op_BE32:
op_BSWAP32:
	DST = __builtin_bswap32((uint32_t)DST);
	NEXT;
op_BE64:
op_BSWAP64:
	DST = __builtin_bswap64(DST);
	NEXT;
op_LDDW:
	if (in->src == BPF_PSEUDO_MAP)
		DST = (uint64_t)(uintptr_t)&set->arrays[in->imm];
	else
		DST = (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
	pc += 2;
	goto next;

#define LDST(SZ, BYTES)                                                                         \
	op_LDX_##SZ : if (!(m = mem(c, SRC + (uint64_t)(int64_t)in->off, BYTES, 0))) goto done; \
	DST = load(m, BYTES);                                                                   \
	NEXT;                                                                                   \
	op_ST_##SZ : if (!(m = mem(c, DST + (uint64_t)(int64_t)in->off, BYTES, 1))) goto done;  \
	store(m, BYTES, IMM);                                                                   \
	NEXT;                                                                                   \
	op_STX_##SZ : if (!(m = mem(c, DST + (uint64_t)(int64_t)in->off, BYTES, 1))) goto done; \
	store(m, BYTES, SRC);                                                                   \
	NEXT;
	LDST(B, 1)
	LDST(H, 2)
	LDST(W, 4)
	LDST(DW, 8)
#undef LDST
#define LDXS(SZ, BYTES)                                                                          \
	op_LDXS_##SZ : if (!(m = mem(c, SRC + (uint64_t)(int64_t)in->off, BYTES, 0))) goto done; \
	DST = (uint64_t)sext(load(m, BYTES), BYTES);                                             \
	NEXT;
	LDXS(B, 1)
	LDXS(H, 2)
	LDXS(W, 4)
#undef LDXS

	/* atomics: the machine is single-threaded, so read-modify-write */
#define ATOMIC(ID, BYTES, EXPR, FETCH)                                         \
	op_ATOMIC##ID:                                                         \
	{                                                                      \
		if (!(m = mem(c, DST + (uint64_t)(int64_t)in->off, BYTES, 1))) \
			goto done;                                             \
		uint64_t old = load(m, BYTES), s = SRC;                        \
		store(m, BYTES, (EXPR));                                       \
		if (FETCH)                                                     \
			SRC = old;                                             \
		NEXT;                                                          \
	}
	ATOMIC(64_ADD, 8, old + s, 0)
	ATOMIC(32_ADD, 4, old + s, 0)
	ATOMIC(64_OR, 8, old | s, 0)
	ATOMIC(32_OR, 4, old | s, 0)
	ATOMIC(64_AND, 8, old & s, 0)
	ATOMIC(32_AND, 4, old & s, 0)
	ATOMIC(64_XOR, 8, old ^ s, 0)
	ATOMIC(32_XOR, 4, old ^ s, 0)
	ATOMIC(64_FETCH_ADD, 8, old + s, 1)
	ATOMIC(32_FETCH_ADD, 4, old + s, 1)
	ATOMIC(64_FETCH_OR, 8, old | s, 1)
	ATOMIC(32_FETCH_OR, 4, old | s, 1)
	ATOMIC(64_FETCH_AND, 8, old & s, 1)
	ATOMIC(32_FETCH_AND, 4, old & s, 1)
	ATOMIC(64_FETCH_XOR, 8, old ^ s, 1)
	ATOMIC(32_FETCH_XOR, 4, old ^ s, 1)
	ATOMIC(64_XCHG, 8, s, 1)
	ATOMIC(32_XCHG, 4, s, 1)
#undef ATOMIC
op_ATOMIC64_CMPXCHG : {
	if (!(m = mem(c, DST + (uint64_t)(int64_t)in->off, 8, 1)))
		goto done;
	uint64_t old = load(m, 8);
	if (old == reg[0])
		store(m, 8, SRC);
	reg[0] = old;
	NEXT;
}
op_ATOMIC32_CMPXCHG : {
	if (!(m = mem(c, DST + (uint64_t)(int64_t)in->off, 4, 1)))
		goto done;
	uint32_t old = (uint32_t)load(m, 4);
	if (old == (uint32_t)reg[0])
		store(m, 4, SRC);
	reg[0] = old;
	NEXT;
}

op_JA:
	JUMP(in->off);
op_JA32:
	JUMP(in->imm);
#define JCOND(ID, CMP64, CMP32)                                                     \
	op_##ID##_K : if (CMP64(DST, IMM)) JUMP(in->off);                           \
	NEXT;                                                                       \
	op_##ID##_X : if (CMP64(DST, SRC)) JUMP(in->off);                           \
	NEXT;                                                                       \
	op_##ID##32_K : if (CMP32((uint32_t)DST, (uint32_t)in->imm)) JUMP(in->off); \
	NEXT;                                                                       \
	op_##ID##32_X : if (CMP32((uint32_t)DST, (uint32_t)SRC)) JUMP(in->off);     \
	NEXT;
#define U_EQ(a, b) ((a) == (b))
#define U_NE(a, b) ((a) != (b))
#define U_GT(a, b) ((a) > (b))
#define U_GE(a, b) ((a) >= (b))
#define U_LT(a, b) ((a) < (b))
#define U_LE(a, b) ((a) <= (b))
#define U_SET(a, b) (((a) & (b)) != 0)
#define S64_GT(a, b) ((int64_t)(a) > (int64_t)(b))
#define S64_GE(a, b) ((int64_t)(a) >= (int64_t)(b))
#define S64_LT(a, b) ((int64_t)(a) < (int64_t)(b))
#define S64_LE(a, b) ((int64_t)(a) <= (int64_t)(b))
#define S32_GT(a, b) ((int32_t)(a) > (int32_t)(b))
#define S32_GE(a, b) ((int32_t)(a) >= (int32_t)(b))
#define S32_LT(a, b) ((int32_t)(a) < (int32_t)(b))
#define S32_LE(a, b) ((int32_t)(a) <= (int32_t)(b))
	JCOND(JEQ, U_EQ, U_EQ)
	JCOND(JNE, U_NE, U_NE)
	JCOND(JGT, U_GT, U_GT)
	JCOND(JGE, U_GE, U_GE)
	JCOND(JLT, U_LT, U_LT)
	JCOND(JLE, U_LE, U_LE)
	JCOND(JSET, U_SET, U_SET)
	JCOND(JSGT, S64_GT, S32_GT)
	JCOND(JSGE, S64_GE, S32_GE)
	JCOND(JSLT, S64_LT, S32_LT)
	JCOND(JSLE, S64_LE, S32_LE)
#undef JCOND

op_CALL_LOCAL : {
	if (!spend(c))
		goto done;
	if (c->nfr >= RUN_MAX_FRAMES) {
		stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_STACK_OVERFLOW);
		goto done;
	}
	int target = pc + 1 + in->imm;
	struct iframe *f = &c->fr[c->nfr];
	set_func(c, f, c->prog, p->func_of[target]);
	f->ret_pc = pc + 1;
	f->is_cb = 0;
	memcpy(f->saved, &reg[6], sizeof(f->saved));
	f->buf = (int)kernel_buf(f->depth);
	f->tc_cnt = 0;
	place(c, c->nfr);
	c->nfr++;
	reg[10] = f->fp;
	account(c);
	pc = target;
	goto next;
}

op_CALL:
op_CALL_KFUNC : {
	int rt = rt_call_lookup(in->src == BPF_PSEUDO_KFUNC_CALL, in->imm);
	uint64_t r0 = 0;
	switch (rt) {
	case RT_TAIL_CALL: {
		const struct prog_array *arr = (const struct prog_array *)(uintptr_t)reg[2];
		uint32_t idx = (uint32_t)reg[3];
		struct iframe *f = &c->fr[c->nfr - 1];
		uint32_t *cnt = c->opts->model == INTERP_MODEL_KERNEL_STACK ? &f->tc_cnt : &out->tail_calls;
		if (idx >= (uint32_t)arr->nslots || arr->slot[idx] < 0 || *cnt >= MAX_TAIL_CALL_CNT) {
			/* falls through; R0-R5 are unreadable (the verifier's rule) */
			pc++;
			goto next;
		}
		if (!spend(c))
			goto done;
		if (cnt != &out->tail_calls)
			(*cnt)++;
		out->tail_calls++;
		/* the current frame is replaced by the target's main function */
		int target = arr->slot[idx];
		set_func(c, f, target, 0);
		f->is_cb = 0;
		place(c, c->nfr - 1);
		account(c);
		c->prog = target;
		p = &set->progs[target];
		reg[10] = f->fp;
		pc = 0;
		goto next;
	}
	case RT_TRACE: r0 = rt_trace(&c->rt, reg[1]); break;
	case RT_RES_ACQUIRE: r0 = rt_res_acquire(&c->rt, reg[1]); break;
	case RT_RES_RELEASE: r0 = rt_res_release(&c->rt, reg[1]); break;
	case RT_RES_ID: r0 = rt_res_id(&c->rt, reg[1]); break;
	case RT_THROW: {
		uint64_t cookie = reg[1];
		/* the boundary: the frame of the running program's main */
		int b = c->nfr - 1;
		while (b > 0 && c->fr[b].func != 0)
			b--;
		rt_throw_cleanup(&c->rt);
		struct iframe *bf = &c->fr[b];
		const struct prog *bp = &set->progs[bf->prog];
		c->nfr = b + 1;
		if (bp->exception_cb >= 0) {
			/* the callback's frame replaces the boundary frame */
			set_func(c, bf, bf->prog, bp->func_of[bp->exception_cb]);
			bf->is_cb = 1;
			place(c, b);
			account(c);
			c->prog = bf->prog;
			p = bp;
			reg[1] = cookie;
			reg[10] = bf->fp;
			pc = bp->exception_cb;
			goto next;
		}
		reg[0] = cookie;
		if (b == 0) {
			out->kind = OUTCOME_THROW;
			out->r0 = cookie;
			goto done;
		}
		goto frame_return;
	}
	default:
		/* the verifier lets no unknown call through */
		stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_BAD_POINTER);
		goto done;
	}
	if (c->rt.bad_handle) {
		stop(c, OUTCOME_VERIFIER_ESCAPE, FAULT_BAD_POINTER);
		goto done;
	}
	reg[0] = r0;
	pc++;
	goto next;
}

op_EXIT:
	if (c->nfr == 1) {
		out->kind = c->fr[0].is_cb ? OUTCOME_THROW : OUTCOME_EXIT;
		out->r0 = reg[0];
		goto done;
	}
frame_return : {
	struct iframe *f = &c->fr[c->nfr - 1];
	memcpy(&reg[6], f->saved, sizeof(f->saved));
	pc = f->ret_pc;
	c->nfr--;
	account(c);
	c->prog = c->fr[c->nfr - 1].prog;
	p = &set->progs[c->prog];
	reg[10] = c->fr[c->nfr - 1].fp;
	goto next;
}

done:
	out->context = c->ctx;
	out->context_len = c->ctx_len;
	free(c);
	return 0;
}
