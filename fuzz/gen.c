/* The generator: plan a program set (programs, call DAGs, stack depths,
 * prog arrays), then emit each function's body as a sequence of statements
 * whose register, stack and reference discipline the verifier accepts.
 *
 * Register conventions inside a generated function:
 *   r6  the context pointer (copied from r1 at entry)
 *   r7  the accumulator, always an initialised scalar
 *   r8  a scalar, or a held handle while a resource scope keeps it there
 *   r9  a scalar, or the counter of the loop being generated
 *   r0-r5 scratch, clobbered by every call
 * `init` is the set of registers known to hold scalars at the point being
 * generated; `slots` the 8-byte stack slots holding scalars. Control flow is
 * structured (if/else, counted loops, resource scopes), so the state at a
 * join is the intersection of its predecessors'. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/runtime.h"

#define GEN_MAX_PROGS 8
#define GEN_MAX_FUNCS 8
#define GEN_MAX_LABELS 4096
#define GEN_MAX_INSNS 32768
#define GEN_MAX_HELD 3
#define GEN_MAX_NEST 4

enum { R_CTX = 6, R_ACC = 7, R_HOLD = 8, R_LOOP = 9 };
#define BIT(r) (1u << (r))
#define SCRATCH (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5))
#define WRITABLE (SCRATCH | BIT(7) | BIT(8) | BIT(9))

struct gfunc {
	int depth, cost;
	int prefix; /* largest summed cost of the callers on any planned call path */
	int is_cb, returns_handle;
	int tail_ok, throw_ok;		 /* statements this function may contain */
	int reaches_tail, reaches_throw; /* it or a callee, transitively */
	int label, budget;
	int ncallees, callee[GEN_MAX_FUNCS];
};

struct fixup {
	int pc, label, is_call;
};

struct gen {
	struct choice *c;
	const struct gen_opts *o;
	struct prog_set *set;
	int err;
	/* the program being emitted */
	struct bpf_insn *ins;
	int len, cap;
	int lab[GEN_MAX_LABELS], nlab;
	struct fixup *fix;
	int nfix, fixcap;
	struct gfunc f[GEN_MAX_FUNCS];
	int nfuncs;
	/* the function being emitted */
	int fi;
	uint32_t called; /* functions the current one has called so far */
	int ncalls[GEN_MAX_FUNCS];
	unsigned init, busy;
	uint64_t slots, hslots;
	int nslots, held, nest, in_loop, end;
};

/* ---- the opcode table, grouped for the generator ---- */

static int alu_rows[ISA_NUM_OPS], nalu;
static int jmp_rows[ISA_NUM_OPS], njmp;
static int ldx_rows[ISA_NUM_OPS], nldx;
static int st_rows[ISA_NUM_OPS], nst; /* FMT_ST and FMT_STX */
static int atomic_rows[ISA_NUM_OPS], natomic;

static void group_rows(void)
{
	if (nalu)
		return;
	for (int op = 0; op < ISA_NUM_OPS; op++) {
		switch (isa_rows[op].fmt) {
		case FMT_ALU_K:
		case FMT_ALU_X:
		case FMT_ALU_SX_K:
		case FMT_ALU_SX_X:
		case FMT_NEG:
		case FMT_MOVSX:
		case FMT_END: alu_rows[nalu++] = op; break;
		case FMT_JMP_K:
		case FMT_JMP_X: jmp_rows[njmp++] = op; break;
		case FMT_LDX: ldx_rows[nldx++] = op; break;
		case FMT_ST:
		case FMT_STX: st_rows[nst++] = op; break;
		case FMT_ATOMIC: atomic_rows[natomic++] = op; break;
		default: break;
		}
	}
}

/* ---- emission ---- */

static void emit(struct gen *g, struct bpf_insn in)
{
	if (g->len == g->cap) {
		int cap = g->cap ? g->cap * 2 : 256;
		struct bpf_insn *n = cap <= GEN_MAX_INSNS ? realloc(g->ins, (size_t)cap * sizeof(*n)) : NULL;
		if (!n) {
			g->err = 1;
			return;
		}
		g->ins = n;
		g->cap = cap;
	}
	g->ins[g->len++] = in;
}

static void op(struct gen *g, int row, int dst, int src, int off, int32_t imm)
{
	emit(g, isa_encode(row, dst, src, (int16_t)off, imm));
}

static int new_label(struct gen *g)
{
	if (g->nlab == GEN_MAX_LABELS) {
		g->err = 1;
		return 0;
	}
	g->lab[g->nlab] = -1;
	return g->nlab++;
}

static void bind(struct gen *g, int l)
{
	g->lab[l] = g->len;
}

static void to_label(struct gen *g, int label, int is_call)
{
	if (g->nfix == g->fixcap) {
		int cap = g->fixcap ? g->fixcap * 2 : 256;
		struct fixup *n = realloc(g->fix, (size_t)cap * sizeof(*n));
		if (!n) {
			g->err = 1;
			return;
		}
		g->fix = n;
		g->fixcap = cap;
	}
	g->fix[g->nfix++] = (struct fixup){.pc = g->len, .label = label, .is_call = is_call};
}

static void jump(struct gen *g, int row, int dst, int src, int32_t imm, int label)
{
	to_label(g, label, 0);
	op(g, row, dst, src, 0, imm);
}

static void call_local(struct gen *g, int fi)
{
	g->called |= 1u << fi;
	g->ncalls[fi]++;
	to_label(g, g->f[fi].label, 1);
	op(g, ISA_CALL_LOCAL, 0, 0, 0, 0);
}

static void call_rt(struct gen *g, int id)
{
	op(g, rt_calls[id].is_kfunc ? ISA_CALL_KFUNC : ISA_CALL, 0, 0, 0, rt_calls[id].number);
}

static void lddw(struct gen *g, int dst, int src, uint64_t imm)
{
	op(g, ISA_LDDW, dst, src, 0, (int32_t)(uint32_t)imm);
	emit(g, (struct bpf_insn){.imm = (int32_t)(uint32_t)(imm >> 32)});
}

static int resolve(struct gen *g)
{
	for (int i = 0; i < g->nfix; i++) {
		struct fixup *x = &g->fix[i];
		int target = g->lab[x->label];
		if (target < 0)
			return -1;
		int rel = target - (x->pc + 1);
		if (x->is_call || isa_rows[isa_decode(&g->ins[x->pc])].fmt == FMT_JA32)
			g->ins[x->pc].imm = rel;
		else if (rel < INT16_MIN || rel > INT16_MAX)
			return -1;
		else
			g->ins[x->pc].off = (int16_t)rel;
	}
	return 0;
}

/* ---- choices of operands ---- */

static int64_t pick_imm(struct gen *g)
{
	static const int w[] = {20, 15, 10, 25, 5, 5, 10, 10};
	switch (choice_weighted(g->c, w, 8)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return -1;
	case 3: return choice_range(g->c, -16, 16);
	case 4: return INT32_MIN;
	case 5: return INT32_MAX;
	case 6: return (int64_t)1 << choice_below(g->c, 31);
	default: return (int32_t)choice_u32(g->c);
	}
}

static int pick_from(struct gen *g, unsigned mask)
{
	int regs[11], n = 0;
	for (int r = 0; r <= 9; r++)
		if (mask & BIT(r))
			regs[n++] = r;
	return n ? regs[choice_below(g->c, (uint32_t)n)] : -1;
}

/* A register holding a scalar; r7 always does outside callbacks. */
static int pick_read(struct gen *g)
{
	int r = pick_from(g, g->init);
	return r < 0 ? R_ACC : r;
}

static int pick_write(struct gen *g)
{
	return pick_from(g, WRITABLE & ~g->busy);
}

static void ensure_init(struct gen *g, int r)
{
	if (!(g->init & BIT(r))) {
		op(g, ISA_MOV64_K, r, 0, 0, (int32_t)pick_imm(g));
		g->init |= BIT(r);
	}
}

static int mem_len(const struct gen *g)
{
	return (int)g->set->mem_len;
}

/* The kernel profile: only what the kernel engine runs (oracle/engine_kernel.c):
 * no prog arrays, no bpfdiff-only helper or kfuncs, no exception callbacks,
 * no run-time context faults, no budget exhaustion. */
static int kernel_profile(const struct gen *g)
{
	return g->o->profile == GEN_PROFILE_KERNEL;
}

/* A context offset for an access of SIZE bytes: inside the buffer, or
 * rarely just past it (a run-time fault both engines must report). */
static int ctx_off(struct gen *g, int size)
{
	if (kernel_profile(g)) /* the kernel's syscall ctx: aligned, in range */
		return (int)choice_range(g->c, 0, (mem_len(g) - size) / size) * size;
	if (choice_pct(g->c, 1))
		return mem_len(g) - size + (int)choice_range(g->c, 1, 8);
	return (int)choice_range(g->c, 0, mem_len(g) - size);
}

static int stack_off(int slot)
{
	return -8 * (slot + 1);
}

static int pick_slot(struct gen *g, uint64_t mask)
{
	int s[64], n = 0;
	for (int k = 0; k < g->nslots; k++)
		if (mask >> k & 1)
			s[n++] = k;
	return n ? s[choice_below(g->c, (uint32_t)n)] : -1;
}

/* ---- statements ---- */

static void gen_block(struct gen *g, int n);

static int is_shift(uint8_t code)
{
	int o = code & 0xf0;
	return o == 0x60 || o == 0x70 || o == 0xc0;
}

static void st_alu(struct gen *g)
{
	int row = alu_rows[choice_below(g->c, (uint32_t)nalu)];
	const struct isa_row *r = &isa_rows[row];
	int dst = pick_write(g);
	int writes_only =
	    ((r->code & 0xf0) == 0xb0 && (r->fmt == FMT_ALU_K || r->fmt == FMT_ALU_X)) || r->fmt == FMT_MOVSX;
	if (!writes_only)
		ensure_init(g, dst);
	int src = 0;
	int32_t imm = 0;
	switch (r->fmt) {
	case FMT_ALU_K:
	case FMT_ALU_SX_K:
		imm = (int32_t)pick_imm(g);
		if (((r->code & 0xf0) == 0x30 || (r->code & 0xf0) == 0x90) && imm == 0)
			imm = 1; /* "div by zero" is a verifier error */
		if (is_shift(r->code))
			imm &= isa_is_alu64(r->code) ? 63 : 31;
		break;
	case FMT_ALU_X:
	case FMT_ALU_SX_X:
	case FMT_MOVSX: src = pick_read(g); break;
	default: break;
	}
	op(g, row, dst, src, 0, imm);
	g->init |= BIT(dst);
}

static void st_lddw(struct gen *g)
{
	int dst = pick_write(g);
	lddw(g, dst, 0, choice_pct(g->c, 50) ? choice_u64(g->c) : (uint64_t)pick_imm(g) << 32);
	g->init |= BIT(dst);
}

static void st_ctx_load(struct gen *g)
{
	int row = ldx_rows[choice_below(g->c, (uint32_t)nldx)];
	int dst = pick_write(g);
	op(g, row, dst, R_CTX, ctx_off(g, isa_size(isa_rows[row].code)), 0);
	g->init |= BIT(dst);
}

static void st_ctx_store(struct gen *g)
{
	int row = st_rows[choice_below(g->c, (uint32_t)nst)];
	int size = isa_size(isa_rows[row].code);
	if (isa_rows[row].fmt == FMT_ST)
		op(g, row, R_CTX, 0, ctx_off(g, size), (int32_t)pick_imm(g));
	else
		op(g, row, R_CTX, pick_read(g), ctx_off(g, size), 0);
}

static void st_stack_store(struct gen *g)
{
	int k = pick_slot(g, ~g->hslots);
	if (k < 0)
		return st_alu(g);
	/* whole slots only: a partly written slot would make later loads of
	 * its other bytes uninitialised reads */
	if (choice_pct(g->c, 30))
		op(g, ISA_ST_DW, 10, 0, stack_off(k), (int32_t)pick_imm(g));
	else
		op(g, ISA_STX_DW, 10, pick_read(g), stack_off(k), 0);
	g->slots |= 1ull << k;
}

static void st_stack_load(struct gen *g)
{
	int k = pick_slot(g, g->slots);
	if (k < 0)
		return st_stack_store(g);
	int row = ldx_rows[choice_below(g->c, (uint32_t)nldx)];
	int size = isa_size(isa_rows[row].code);
	int dst = pick_write(g);
	/* any aligned part of the slot: the kernel's stack accesses are strict */
	op(g, row, dst, 10, stack_off(k) + size * (int)choice_below(g->c, (uint32_t)(8 / size)), 0);
	g->init |= BIT(dst);
}

static void st_atomic(struct gen *g)
{
	int k = pick_slot(g, g->slots);
	if (k < 0)
		return st_stack_store(g);
	int row = atomic_rows[choice_below(g->c, (uint32_t)natomic)];
	const struct isa_row *r = &isa_rows[row];
	/* fetching forms write their source register: it must be writable */
	int src = pick_from(g, g->init & WRITABLE & ~g->busy);
	if (src < 0) {
		src = pick_write(g);
		ensure_init(g, src);
	}
	if (r->disc == BPF_ATOMIC_CMPXCHG) {
		if (g->busy & BIT(0))
			return st_alu(g);
		ensure_init(g, 0);
	}
	int off = stack_off(k) + (isa_size(r->code) == 4 ? 4 * (int)choice_below(g->c, 2) : 0);
	op(g, row, 10, src, off, 0);
	if (r->disc == BPF_ATOMIC_CMPXCHG)
		g->init |= BIT(0);
}

struct gstate {
	unsigned init;
	uint64_t slots;
};

static struct gstate save(const struct gen *g)
{
	return (struct gstate){g->init, g->slots};
}

static void meet(struct gen *g, struct gstate s)
{
	g->init &= s.init;
	g->slots &= s.slots;
}

static void cond_jump(struct gen *g, int label)
{
	int row = jmp_rows[choice_below(g->c, (uint32_t)njmp)];
	int dst = pick_read(g);
	if (isa_rows[row].fmt == FMT_JMP_X)
		jump(g, row, dst, pick_read(g), 0, label);
	else
		jump(g, row, dst, 0, (int32_t)pick_imm(g), label);
}

static int sub_budget(struct gen *g)
{
	int left = g->end - g->len;
	return left < 4 ? 2 : (int)choice_range(g->c, 2, left / 2 + 1);
}

static void st_if(struct gen *g)
{
	int lelse = new_label(g), lend = new_label(g);
	cond_jump(g, lelse);
	struct gstate before = save(g);
	g->nest++;
	gen_block(g, sub_budget(g));
	if (choice_pct(g->c, 40)) {
		struct gstate then = save(g);
		jump(g, ISA_JA, 0, 0, 0, lend);
		bind(g, lelse);
		g->init = before.init;
		g->slots = before.slots;
		gen_block(g, sub_budget(g));
		meet(g, then);
		bind(g, lend);
	} else {
		bind(g, lelse);
		meet(g, before);
	}
	g->nest--;
}

static void st_loop(struct gen *g)
{
	if ((g->busy & BIT(R_LOOP)) || g->in_loop)
		return st_if(g);
	/* mostly a few iterations; rarely enough to exhaust the budget */
	int32_t n = choice_pct(g->c, kernel_profile(g) ? 0 : 3) ? (int32_t)choice_range(g->c, 1000, 100000)
								: (int32_t)choice_range(g->c, 1, 8);
	op(g, ISA_MOV64_K, R_LOOP, 0, 0, n);
	/* what holds at the head on every iteration: scratch registers may be
	 * clobbered by calls in the body */
	g->init = (g->init & ~SCRATCH) | BIT(R_LOOP);
	g->busy |= BIT(R_LOOP);
	g->in_loop = 1;
	g->nest++;
	int head = new_label(g);
	bind(g, head);
	gen_block(g, sub_budget(g));
	op(g, ISA_ADD64_K, R_LOOP, 0, 0, -1);	/* add r9, -1 */
	jump(g, ISA_JNE_K, R_LOOP, 0, 0, head); /* jne r9, 0, head */
	g->nest--;
	g->in_loop = 0;
	g->busy &= ~BIT(R_LOOP);
}

/* r1 = ctx, r2 = a scalar: the calling convention of generated subprograms */
static void call_args(struct gen *g)
{
	op(g, ISA_MOV64_X, 1, R_CTX, 0, 0);
	g->init &= ~BIT(1); /* a pointer now, not a scalar to pass on */
	if (choice_pct(g->c, 70))
		op(g, ISA_MOV64_X, 2, pick_read(g), 0, 0);
	else
		op(g, ISA_MOV64_K, 2, 0, 0, (int32_t)pick_imm(g));
}

/* A callee this function may call now: none that reaches a tail call while
 * a reference is held, none that may throw one in the kernel profile. */
static int pick_callee(struct gen *g, int want_handle)
{
	struct gfunc *f = &g->f[g->fi];
	int cands[GEN_MAX_FUNCS], n = 0;
	for (int i = 0; i < f->ncallees; i++) {
		struct gfunc *c = &g->f[f->callee[i]];
		if (c->returns_handle != want_handle)
			continue;
		/* call sites multiply: a callee's states are explored once per call
		 * chain, and chains of several sites per level exhaust the verifier */
		if (g->ncalls[f->callee[i]] >= 2)
			continue;
		if (g->held && c->reaches_tail)
			continue;
		if (g->held && g->o->profile == GEN_PROFILE_KERNEL && c->reaches_throw)
			continue;
		cands[n++] = f->callee[i];
	}
	return n ? cands[choice_below(g->c, (uint32_t)n)] : -1;
}

static void st_scope(struct gen *g, int callee);

static void st_call(struct gen *g)
{
	int want_handle = choice_pct(g->c, 30);
	int callee = pick_callee(g, want_handle);
	if (callee < 0 && want_handle)
		callee = pick_callee(g, 0);
	if (callee < 0)
		return st_alu(g);
	if (g->f[callee].returns_handle)
		return st_scope(g, callee);
	call_args(g);
	call_local(g, callee);
	g->init = (g->init & ~SCRATCH) | BIT(0);
	if (choice_pct(g->c, 70)) {
		static const int rows[] = {ISA_ADD64_X, ISA_XOR64_X, ISA_SUB64_X, ISA_MUL64_X};
		op(g, rows[choice_below(g->c, 4)], R_ACC, 0, 0, 0);
	}
}

static void st_tail_call(struct gen *g)
{
	struct gfunc *f = &g->f[g->fi];
	if (!f->tail_ok || g->held || !g->set->narrays)
		return st_call(g);
	if (choice_pct(g->c, 50) && mem_len(g) >= 4) {
		/* a run counter in the context: ldxw r0, [r6]; add r0, 1; stxw [r6], r0 */
		op(g, ISA_LDX_W, 0, R_CTX, 0, 0);
		op(g, ISA_ADD64_K, 0, 0, 0, 1);
		op(g, ISA_STX_W, R_CTX, 0, 0, 0);
	}
	int a = (int)choice_below(g->c, (uint32_t)g->set->narrays);
	int nslots = g->set->arrays[a].nslots;
	static const int w[] = {50, 10, 5, 20, 15};
	switch (choice_weighted(g->c, w, 5)) {
	case 0: op(g, ISA_MOV64_K, 3, 0, 0, (int32_t)choice_below(g->c, (uint32_t)nslots)); break;
	case 1: op(g, ISA_MOV64_K, 3, 0, 0, nslots + (int32_t)choice_below(g->c, 4)); break;
	case 2: /* only the low 32 bits index */
		lddw(g, 3, 0, (uint64_t)choice_range(g->c, 1, 0xffffffff) << 32 | choice_below(g->c, (uint32_t)nslots));
		break;
	case 3:
		op(g, ISA_LDX_W, 3, R_CTX, 0, 0);
		if (choice_pct(g->c, 60))
			op(g, ISA_MOD64_K, 3, 0, 0, nslots + (int32_t)choice_below(g->c, 2));
		break;
	default: op(g, ISA_MOV64_X, 3, pick_read(g), 0, 0); break;
	}
	op(g, ISA_MOV64_X, 1, R_CTX, 0, 0);
	lddw(g, 2, BPF_PSEUDO_MAP, (uint64_t)a);
	call_rt(g, RT_TAIL_CALL);
	g->init &= ~SCRATCH; /* R0-R5 are unreadable after a failed tail call */
}

static void st_trace(struct gen *g)
{
	op(g, ISA_MOV64_X, 1, pick_read(g), 0, 0);
	call_rt(g, RT_TRACE);
	g->init = (g->init & ~SCRATCH) | BIT(0);
}

static void st_throw(struct gen *g)
{
	struct gfunc *f = &g->f[g->fi];
	if (!f->throw_ok || (g->held && g->o->profile == GEN_PROFILE_KERNEL))
		return st_trace(g);
	int skip = -1;
	if (!choice_pct(g->c, 10)) {
		skip = new_label(g);
		cond_jump(g, skip);
	}
	if (choice_pct(g->c, 30))
		lddw(g, 1, 0, choice_u64(g->c));
	else
		op(g, ISA_MOV64_X, 1, pick_read(g), 0, 0);
	call_rt(g, RT_THROW);
	if (skip >= 0)
		bind(g, skip);
	/* the path past an unconditional throw is dead; the state is moot */
	g->init &= ~SCRATCH;
}

/* Acquire (the kfunc, or a subprogram returning a handle), keep the handle
 * in r8 or a stack slot while a body runs, then release it. */
static void st_scope(struct gen *g, int callee)
{
	if (g->held >= GEN_MAX_HELD)
		return st_alu(g);
	if (callee < 0) {
		int kind =
		    choice_pct(g->c, 3) ? RES_KINDS + (int)choice_below(g->c, 2) : (int)choice_below(g->c, RES_KINDS);
		op(g, ISA_MOV64_K, 1, 0, 0, kind);
		call_rt(g, RT_RES_ACQUIRE);
	} else {
		call_args(g);
		call_local(g, callee);
	}
	g->init &= ~SCRATCH; /* r0 is a handle or NULL, not a scalar */
	int lnull = new_label(g);
	jump(g, ISA_JEQ_K, 0, 0, 0, lnull);
	struct gstate at_null = save(g);
	/* r8 or a slot that holds no scalar now: then it held none at the head
	 * of an enclosing loop either, whose later iterations would otherwise
	 * read the released handle as a scalar */
	int slot = -1;
	if (!((g->busy | g->init) & BIT(R_HOLD)) && choice_pct(g->c, 50)) {
		op(g, ISA_MOV64_X, R_HOLD, 0, 0, 0);
		g->busy |= BIT(R_HOLD);
		g->init &= ~BIT(R_HOLD);
	} else if ((slot = pick_slot(g, ~(g->hslots | g->slots))) >= 0) {
		op(g, ISA_STX_DW, 10, 0, stack_off(slot), 0);
		g->hslots |= 1ull << slot;
		g->slots &= ~(1ull << slot);
	} else {
		op(g, ISA_MOV64_X, 1, 0, 0, 0);
		call_rt(g, RT_RES_RELEASE);
		g->init &= ~SCRATCH;
		bind(g, lnull);
		meet(g, at_null);
		return;
	}
	g->held++;
	g->nest++;
	gen_block(g, sub_budget(g));
	g->nest--;
	for (int use_id = choice_pct(g->c, 50);; use_id = 0) {
		if (slot >= 0)
			op(g, ISA_LDX_DW, 1, 10, stack_off(slot), 0);
		else
			op(g, ISA_MOV64_X, 1, R_HOLD, 0, 0);
		if (!use_id)
			break;
		call_rt(g, RT_RES_ID);
		op(g, ISA_ADD64_X, R_ACC, 0, 0, 0);
	}
	call_rt(g, RT_RES_RELEASE);
	g->held--;
	g->init &= ~SCRATCH;
	if (slot >= 0)
		g->hslots &= ~(1ull << slot);
	else
		g->busy &= ~BIT(R_HOLD);
	bind(g, lnull);
	meet(g, at_null);
}

static void statement(struct gen *g)
{
	enum { ALU, LDDW, CTX_LD, CTX_ST, STK_ST, STK_LD, ATOMIC, IF, LOOP, CALL, TAIL, TRACE, THROW, SCOPE, N };
	static const int full[N] = {30, 2, 8, 6, 6, 6, 3, 8, 3, 12, 10, 3, 4, 7};
	static const int kernel[N] = {30, 2, 8, 6, 6, 6, 3, 8, 3, 12, 0, 0, 4, 0};
	int k = choice_weighted(g->c, kernel_profile(g) ? kernel : full, N);
	if (g->nest >= GEN_MAX_NEST && (k == IF || k == LOOP || k == SCOPE))
		k = ALU;
	switch (k) {
	case ALU: st_alu(g); break;
	case LDDW: st_lddw(g); break;
	case CTX_LD: st_ctx_load(g); break;
	case CTX_ST: st_ctx_store(g); break;
	case STK_ST: st_stack_store(g); break;
	case STK_LD: st_stack_load(g); break;
	case ATOMIC: st_atomic(g); break;
	case IF: st_if(g); break;
	case LOOP: st_loop(g); break;
	case CALL: st_call(g); break;
	case TAIL: st_tail_call(g); break;
	case TRACE: st_trace(g); break;
	case THROW: st_throw(g); break;
	default: st_scope(g, -1); break;
	}
}

static void gen_block(struct gen *g, int n)
{
	int saved_end = g->end, end = g->len + n;
	if (end < g->end)
		g->end = end;
	do
		statement(g);
	while (g->len < g->end && !g->err);
	g->end = saved_end;
}

/* ---- functions and programs ---- */

static void gen_callback(struct gen *g)
{
	/* cb(cookie): r0 = cookie, then a few ALU steps on r0 */
	struct gfunc *f = &g->f[g->fi];
	if (f->depth)
		op(g, ISA_ST_B, 10, 0, -f->depth, 0);
	op(g, ISA_MOV64_X, 0, 1, 0, 0);
	int n = (int)choice_range(g->c, 0, 3);
	for (int i = 0; i < n; i++) {
		static const int rows[] = {ISA_MUL64_K, ISA_ADD64_K, ISA_XOR64_K, ISA_LSH64_K};
		int row = rows[choice_below(g->c, 4)];
		int32_t imm = (int32_t)pick_imm(g);
		if (row == ISA_LSH64_K)
			imm &= 63;
		op(g, row, 0, 0, 0, imm);
	}
	op(g, ISA_EXIT, 0, 0, 0, 0);
}

static void gen_function(struct gen *g, int fi)
{
	struct gfunc *f = &g->f[fi];
	bind(g, f->label);
	g->fi = fi;
	if (f->is_cb)
		return gen_callback(g);
	g->busy = 0;
	g->held = g->nest = g->in_loop = 0;
	g->slots = g->hslots = 0;
	g->nslots = f->depth / 8;
	op(g, ISA_MOV64_X, R_CTX, 1, 0, 0); /* mov r6, r1 */
	if (f->depth)			    /* touch the deepest byte: the frame's depth */
		op(g, ISA_ST_B, 10, 0, -f->depth, (int32_t)choice_below(g->c, 256));
	if (fi)
		op(g, ISA_MOV64_X, R_ACC, 2, 0, 0); /* mov r7, r2 (the scalar argument) */
	else if (mem_len(g) >= 4 && choice_pct(g->c, 50))
		op(g, ISA_LDX_W, R_ACC, R_CTX, (int)choice_range(g->c, 0, mem_len(g) - 4), 0);
	else
		op(g, ISA_MOV64_K, R_ACC, 0, 0, (int32_t)pick_imm(g));
	g->init = BIT(R_ACC);
	g->called = 0;
	memset(g->ncalls, 0, sizeof(g->ncalls));
	g->end = g->len + f->budget;
	gen_block(g, f->budget);
	/* every planned call, once at least: a function that no call names is
	 * no function to the verifier, only unreachable code at the end of the
	 * one before it */
	for (int k = 0; k < f->ncallees; k++) {
		int c = f->callee[k];
		if (g->called & (1u << c))
			continue;
		if (g->f[c].returns_handle) {
			st_scope(g, c);
			continue;
		}
		call_args(g);
		call_local(g, c);
		g->init = (g->init & ~SCRATCH) | BIT(0);
	}
	if (f->returns_handle) {
		op(g, ISA_MOV64_K, 1, 0, 0, (int32_t)choice_below(g->c, RES_KINDS));
		call_rt(g, RT_RES_ACQUIRE);
	} else {
		if (!fi && mem_len(g) >= 16 && choice_pct(g->c, 30))
			op(g, ISA_STX_DW, R_CTX, R_ACC, 8, 0);
		op(g, ISA_MOV64_X, 0, choice_pct(g->c, 80) ? R_ACC : pick_read(g), 0, 0);
	}
	op(g, ISA_EXIT, 0, 0, 0, 0);
}

static int pick_depth(struct gen *g)
{
	static const int w[] = {20, 30, 15, 15, 10, 10};
	static const int near256[] = {232, 240, 241, 248, 255, 256, 257, 264};
	switch (choice_weighted(g->c, w, 6)) {
	case 0: return 0;
	case 1: return (int)choice_range(g->c, 1, 64);
	case 2: return (int)choice_range(g->c, 65, 231);
	case 3: return near256[choice_below(g->c, 8)];
	case 4: return (int)choice_range(g->c, 265, 512);
	default: return 512; /* clamped below to what the chain leaves: the exact bound */
	}
}

/* Call DAG (callees have higher indices: no recursion), depths clamped so
 * every chain fits 512 bytes, and where tail calls may go. */
static void plan_program(struct gen *g, int budget)
{
	static const int wf[] = {15, 25, 20, 15, 10, 6, 5, 4};
	g->nfuncs = 1 + choice_weighted(g->c, wf, 8);
	memset(g->f, 0, sizeof(g->f));
	int has_cb = g->nfuncs > 1 && !kernel_profile(g) && choice_pct(g->c, 30);
	for (int i = 0; i < g->nfuncs; i++) {
		struct gfunc *f = &g->f[i];
		f->is_cb = has_cb && i == g->nfuncs - 1;
		f->depth = f->is_cb ? (int)choice_below(g->c, 2) * (int)choice_range(g->c, 1, 64) : pick_depth(g);
		f->returns_handle = i > 0 && !f->is_cb && !kernel_profile(g) && choice_pct(g->c, 15);
		f->label = new_label(g);
		f->budget = budget / g->nfuncs + 1;
	}
	int last = g->nfuncs - (has_cb ? 1 : 0);
	for (int i = 0; i < last; i++)
		for (int j = i + 1; j < last; j++)
			if (choice_pct(g->c, j == i + 1 ? 70 : 25))
				g->f[i].callee[g->f[i].ncallees++] = j;
	/* every function has a caller: a function no call names is no function
	 * to the verifier, only unreachable code at the end of the one before */
	for (int j = 1; j < last; j++) {
		int called = 0;
		for (int i = 0; i < j && !called; i++)
			for (int k = 0; k < g->f[i].ncallees; k++)
				called |= g->f[i].callee[k] == j;
		if (!called) {
			struct gfunc *f = &g->f[choice_below(g->c, (uint32_t)j)];
			f->callee[f->ncallees++] = j;
		}
	}
	for (int i = 0; i < g->nfuncs; i++) {
		struct gfunc *f = &g->f[i];
		if (f->depth > MAX_BPF_STACK - f->prefix)
			f->depth = MAX_BPF_STACK - f->prefix;
		f->cost = (f->depth + 15) / 16 * 16;
		for (int k = 0; k < f->ncallees; k++) {
			struct gfunc *c = &g->f[f->callee[k]];
			if (c->prefix < f->prefix + f->cost)
				c->prefix = f->prefix + f->cost;
		}
		/* SPEC sec. 4: a subprogram may tail-call only below 256 bytes of callers */
		f->tail_ok = !f->is_cb && (i == 0 || f->prefix < 256) && choice_pct(g->c, 60);
		f->throw_ok = !f->is_cb && choice_pct(g->c, 40);
	}
	for (int i = g->nfuncs - 1; i >= 0; i--) {
		struct gfunc *f = &g->f[i];
		f->reaches_tail = f->tail_ok;
		f->reaches_throw = f->throw_ok;
		for (int k = 0; k < f->ncallees; k++) {
			f->reaches_tail |= g->f[f->callee[k]].reaches_tail;
			f->reaches_throw |= g->f[f->callee[k]].reaches_throw;
		}
		/* a successful tail call in a subprogram returns the target's R0, a
		 * scalar, to the caller: such a function cannot promise a handle */
		if (f->reaches_tail)
			f->returns_handle = 0;
	}
}

static int gen_program(struct gen *g, int pi, int budget)
{
	g->len = g->nlab = g->nfix = 0;
	plan_program(g, budget);
	for (int i = 0; i < g->nfuncs && !g->err; i++)
		gen_function(g, i);
	if (g->err || resolve(g))
		return -1;
	struct prog *p = &g->set->progs[pi];
	snprintf(p->name, sizeof(p->name), "p%d", pi);
	p->insns = malloc((size_t)g->len * sizeof(*p->insns));
	if (!p->insns)
		return -1;
	memcpy(p->insns, g->ins, (size_t)g->len * sizeof(*p->insns));
	p->len = g->len;
	p->exception_cb = g->f[g->nfuncs - 1].is_cb ? g->lab[g->f[g->nfuncs - 1].label] : -1;
	return 0;
}

static void plan_arrays(struct gen *g)
{
	struct prog_set *s = g->set;
	s->narrays = kernel_profile(g) ? 0 : choice_pct(g->c, 85) ? 1 + choice_pct(g->c, 25) : 0;
	for (int a = 0; a < s->narrays; a++) {
		struct prog_array *arr = &s->arrays[a];
		snprintf(arr->name, sizeof(arr->name), "jt%d", a);
		static const int wn[] = {20, 25, 25, 20, 10};
		static const int lo[] = {1, 2, 3, 5, 9}, hi[] = {1, 2, 4, 8, 32};
		int k = choice_weighted(g->c, wn, 5);
		arr->nslots = (int)choice_range(g->c, lo[k], hi[k]);
		static const int wp[] = {40, 20, 15, 10, 15};
		int pattern = choice_weighted(g->c, wp, 5);
		int self = (int)choice_below(g->c, (uint32_t)s->nprogs);
		for (int i = 0; i < arr->nslots; i++) {
			int t;
			switch (pattern) {
			case 1: t = (i + 1) % s->nprogs; break; /* a chain */
			case 2: t = self; break;		/* one program, self cycles */
			case 3: t = choice_pct(g->c, 70) ? -1 : self; break;
			case 4: t = 0; break; /* back to the entry */
			default: t = (int)choice_below(g->c, (uint32_t)s->nprogs); break;
			}
			arr->slot[i] = choice_pct(g->c, 15) ? -1 : t;
		}
	}
}

int gen_set(struct choice *c, const struct gen_opts *o, struct prog_set *set)
{
	group_rows();
	struct gen g = {.c = c, .o = o, .set = set};
	int size = o->size > 0 ? o->size : 200;
	static const int wp[] = {25, 25, 20, 10, 8, 5, 4, 3};
	/* without prog arrays (the kernel profile) only the entry runs */
	set->nprogs = o->profile == GEN_PROFILE_KERNEL ? 1 : 1 + choice_weighted(c, wp, GEN_MAX_PROGS);
	set->mem_len = (size_t)choice_range(c, 1, 8) * 8;
	set->mem = calloc(set->mem_len, 1);
	set->file = strdup("<generated>");
	if (!set->mem || !set->file)
		goto fail;
	if (choice_pct(c, 50))
		for (size_t i = 4; i < set->mem_len; i++)
			set->mem[i] = (uint8_t)choice_below(c, 256);
	if (choice_pct(c, 20))
		for (int k = 0; k < RES_KINDS; k++)
			set->pool[k] = (int)choice_below(c, 5);
	if (o->profile != GEN_PROFILE_KERNEL && choice_pct(c, 8))
		set->budget = (uint64_t)choice_range(c, 20, 5000);
	plan_arrays(&g);
	for (int pi = 0; pi < set->nprogs; pi++)
		if (gen_program(&g, pi, size / set->nprogs + 1))
			goto fail;
	free(g.ins);
	free(g.fix);
	return 0;
fail:
	free(g.ins);
	free(g.fix);
	prog_set_free(set);
	return -1;
}
