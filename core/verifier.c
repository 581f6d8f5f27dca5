/* The verifier. Three passes per program, as the kernel's:
 *  1. structure (check_subprogs, check_cfg): opcodes from the table, reserved
 *     fields, lddw pairs, jump and call targets, function boundaries;
 *  2. abstract interpretation (do_check): register types, scalar ranges
 *     (unsigned and signed bounds plus a tnum, as the kernel's umin/umax/
 *     smin/smax/var_off), stack slots and spills, references; states are kept
 *     per pruning point and a path stops where an earlier state covers it;
 *     after a few visits states are joined with widening so loops converge
 *     (back-edges are legal here: the run's budget bounds them);
 *  3. the static stack walk (check_max_stack_depth) and the stack bound over
 *     tail-call paths (SPEC sec. 8). */
#include "verifier.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define NREGS 11
#define NSLOTS (MAX_BPF_STACK / 8)
#define MAX_REFS 64
#define JOIN_AFTER 4 /* visits of a pruning point before states are joined */
#define MAX_STATES_PER_PC 64

enum vtype { T_NOT_INIT, T_SCALAR, T_CTX, T_STACK, T_MAP, T_HANDLE };
static const char *const vtype_name[] = {"?", "scalar", "ctx", "fp", "map_ptr", "ptr_or_null_res"};

/* A register's abstract value. For pointers the bounds describe the offset. */
struct vreg {
	uint8_t type;
	uint8_t frameno;  /* T_STACK: which frame */
	uint8_t nullable; /* T_HANDLE: not yet checked against NULL */
	uint16_t id;	  /* T_HANDLE: reference id; T_MAP: prog array index */
	uint64_t umin, umax;
	int64_t smin, smax;
	uint64_t tv, tm; /* tnum: known value bits, unknown mask */
};

/* Slots below lo_slot were never written in this frame and hold garbage:
 * states are copied from lo_slot up only (a frame is mostly unused stack,
 * and copying whole frames was most of the verifier's time), so every loop
 * over the slots starts there. */
struct vframe {
	int func;
	int ret_pc;  /* pc the caller resumes at */
	int lo_slot; /* lowest slot written (NSLOTS: none) */
	struct vreg r[NREGS];
	uint64_t init[MAX_BPF_STACK / 64]; /* bit per stack byte: written */
	struct vreg spill[NSLOTS];	   /* a register spilled with an aligned 8-byte store; last */
};

struct vstate {
	int nframes;
	int in_cb; /* exploring the exception callback */
	int nrefs;
	uint16_t refs[MAX_REFS];
	int ref_pc[MAX_REFS];
	uint16_t next_id;
	struct vframe f[MAX_CALL_FRAMES];
};

struct pending {
	struct vstate *st;
	int pc;
};

struct vctx {
	struct prog_set *set;
	struct prog *p;
	int pi;
	struct diag *d;
	unsigned char *prune;	  /* pruning point */
	struct vstate ***visited; /* per pc list */
	int *nvisited, *visits;
	struct pending *stack;
	int nstack, stack_cap;
	long processed;
};

/* ---- scalars ---- */

static void sc_unknown(struct vreg *r)
{
	*r = (struct vreg){.type = T_SCALAR,
			   .umin = 0,
			   .umax = UINT64_MAX,
			   .smin = INT64_MIN,
			   .smax = INT64_MAX,
			   .tv = 0,
			   .tm = UINT64_MAX};
}

static void sc_const(struct vreg *r, uint64_t v)
{
	*r = (struct vreg){
	    .type = T_SCALAR, .umin = v, .umax = v, .smin = (int64_t)v, .smax = (int64_t)v, .tv = v, .tm = 0};
}

static int sc_is_const(const struct vreg *r)
{
	return r->tm == 0;
}

static void sc_unsigned_range(struct vreg *r, uint64_t lo, uint64_t hi)
{
	sc_unknown(r);
	r->umin = lo;
	r->umax = hi;
}

/* Tightens the three views of a scalar against each other. Returns -1 when
 * they are contradictory (an infeasible branch). */
static int sc_sync(struct vreg *r)
{
	if (r->umin < r->tv)
		r->umin = r->tv;
	if (r->umax > (r->tv | r->tm))
		r->umax = r->tv | r->tm;
	/* signed from unsigned when the unsigned range does not cross the sign */
	if ((int64_t)r->umin <= (int64_t)r->umax) {
		if (r->smin < (int64_t)r->umin)
			r->smin = (int64_t)r->umin;
		if (r->smax > (int64_t)r->umax)
			r->smax = (int64_t)r->umax;
	}
	if ((uint64_t)r->smin <= (uint64_t)r->smax) {
		if (r->umin < (uint64_t)r->smin)
			r->umin = (uint64_t)r->smin;
		if (r->umax > (uint64_t)r->smax)
			r->umax = (uint64_t)r->smax;
	}
	if (r->umin > r->umax || r->smin > r->smax)
		return -1;
	if ((r->tv & ~r->tm) != r->tv)
		return -1;
	if (r->umin == r->umax) {
		if ((r->umin & ~r->tm) != r->tv)
			return -1;
		/* keeps a pointer a pointer: the bounds may describe its offset */
		uint8_t type = r->type, frameno = r->frameno;
		sc_const(r, r->umin);
		r->type = type;
		r->frameno = frameno;
	}
	return 0;
}

/* tnum arithmetic (the kernel's kernel/bpf/tnum.c, written from its definitions) */
static void tn_add(uint64_t av, uint64_t am, uint64_t bv, uint64_t bm, uint64_t *v, uint64_t *m)
{
	uint64_t sm = am + bm, sv = av + bv, sigma = sm + sv, chi = sigma ^ sv, mu = chi | am | bm;
	*v = sv & ~mu;
	*m = mu;
}

static void tn_sub(uint64_t av, uint64_t am, uint64_t bv, uint64_t bm, uint64_t *v, uint64_t *m)
{
	uint64_t dv = av - bv, alpha = dv + am, beta = dv - bm, chi = alpha ^ beta, mu = chi | am | bm;
	*v = dv & ~mu;
	*m = mu;
}

static void sc_from_tnum(struct vreg *r, uint64_t v, uint64_t m)
{
	sc_unknown(r);
	r->tv = v;
	r->tm = m;
	sc_sync(r);
}

/* Truncates to the low 32 bits, zero-extended (an ALU32 result). */
static void sc_zext32(struct vreg *r)
{
	if (r->umax <= UINT32_MAX) {
		sc_sync(r);
		return;
	}
	uint64_t v = r->tv & UINT32_MAX, m = r->tm & UINT32_MAX;
	sc_from_tnum(r, v, m);
}

/* Exact 64- or 32-bit operation on constants (the verifier's own copy:
 * engines must not share arithmetic code). */
static uint64_t const_alu(int opbits, int is64, uint64_t a, uint64_t b, int sx)
{
	if (!is64) {
		a &= UINT32_MAX;
		b &= UINT32_MAX;
	}
	uint64_t r = 0;
	switch (opbits) {
	case 0x00: r = a + b; break;
	case 0x10: r = a - b; break;
	case 0x20: r = a * b; break;
	case 0x30:
		if (sx) {
			if (is64) {
				int64_t x = (int64_t)a, y = (int64_t)b;
				r = y == 0 ? 0 : (x == INT64_MIN && y == -1) ? (uint64_t)x : (uint64_t)(x / y);
			} else {
				int32_t x = (int32_t)a, y = (int32_t)b;
				r = y == 0 ? 0 : (x == INT32_MIN && y == -1) ? (uint32_t)x : (uint32_t)(x / y);
			}
		} else {
			r = b ? a / b : 0;
		}
		break;
	case 0x90:
		if (sx) {
			if (is64) {
				int64_t x = (int64_t)a, y = (int64_t)b;
				r = y == 0 ? (uint64_t)x : y == -1 ? 0 : (uint64_t)(x % y);
			} else {
				int32_t x = (int32_t)a, y = (int32_t)b;
				r = y == 0 ? (uint32_t)x : y == -1 ? 0 : (uint32_t)(x % y);
			}
		} else {
			r = b ? a % b : a;
		}
		break;
	case 0x40: r = a | b; break;
	case 0x50: r = a & b; break;
	case 0xa0: r = a ^ b; break;
	case 0x60: r = is64 ? a << (b & 63) : a << (b & 31); break;
	case 0x70: r = is64 ? a >> (b & 63) : a >> (b & 31); break;
	case 0xc0: r = is64 ? (uint64_t)((int64_t)a >> (b & 63)) : (uint32_t)((int32_t)a >> (b & 31)); break;
	case 0xb0: r = b; break;
	case 0x80: r = 0 - a; break;
	}
	return is64 ? r : r & UINT32_MAX;
}

/* dst = dst OP src on scalars; is64 selects ALU64. */
static void sc_alu(struct vreg *dst, const struct vreg *src_in, int opbits, int is64, int sx)
{
	struct vreg a = *dst, b = *src_in;
	if (!is64) {
		sc_zext32(&a);
		sc_zext32(&b);
	}
	if (sc_is_const(&a) && sc_is_const(&b)) {
		sc_const(dst, const_alu(opbits, is64, a.tv, b.tv, sx));
		return;
	}
	struct vreg r;
	sc_unknown(&r);
	uint64_t v, m;
	switch (opbits) {
	case 0x00: /* add */
		tn_add(a.tv, a.tm, b.tv, b.tm, &v, &m);
		r.tv = v;
		r.tm = m;
		if (!__builtin_add_overflow(a.umax, b.umax, &r.umax))
			r.umin = a.umin + b.umin;
		else
			r.umin = 0, r.umax = UINT64_MAX;
		if (__builtin_add_overflow(a.smin, b.smin, &r.smin) || __builtin_add_overflow(a.smax, b.smax, &r.smax))
			r.smin = INT64_MIN, r.smax = INT64_MAX;
		break;
	case 0x10: /* sub */
		tn_sub(a.tv, a.tm, b.tv, b.tm, &v, &m);
		r.tv = v;
		r.tm = m;
		if (a.umin >= b.umax)
			r.umin = a.umin - b.umax, r.umax = a.umax - b.umin;
		if (__builtin_sub_overflow(a.smin, b.smax, &r.smin) || __builtin_sub_overflow(a.smax, b.smin, &r.smax))
			r.smin = INT64_MIN, r.smax = INT64_MAX;
		break;
	case 0x20: /* mul */
		if (a.umax <= UINT32_MAX && b.umax <= UINT32_MAX)
			r.umin = a.umin * b.umin, r.umax = a.umax * b.umax;
		break;
	case 0x30: /* div: the result is at most the dividend (0 when dividing by 0) */
		if (!sx)
			r.umax = b.umin ? a.umax / b.umin : a.umax;
		break;
	case 0x90: /* mod: at most the dividend, and below the divisor if it is nonzero */
		if (!sx) {
			r.umax = a.umax;
			if (b.umin > 0 && b.umax - 1 < r.umax)
				r.umax = b.umax - 1;
		}
		break;
	case 0x50: /* and */
		r.tv = a.tv & b.tv;
		r.tm = ((a.tv | a.tm) & (b.tv | b.tm)) & ~r.tv;
		r.umax = a.umax < b.umax ? a.umax : b.umax;
		break;
	case 0x40: /* or */
		r.tv = a.tv | b.tv;
		r.tm = (a.tm | b.tm) & ~r.tv;
		r.umin = a.umin > b.umin ? a.umin : b.umin;
		break;
	case 0xa0: /* xor */
		r.tv = (a.tv ^ b.tv) & ~(a.tm | b.tm);
		r.tm = a.tm | b.tm;
		break;
	case 0x60: /* lsh */
		if (sc_is_const(&b) && b.tv < (is64 ? 64u : 32u)) {
			r.tv = a.tv << b.tv;
			r.tm = a.tm << b.tv;
			if (b.tv == 0 || a.umax <= (UINT64_MAX >> b.tv))
				r.umin = a.umin << b.tv, r.umax = a.umax << b.tv;
		}
		break;
	case 0x70: /* rsh */
		if (sc_is_const(&b) && b.tv < (is64 ? 64u : 32u)) {
			r.tv = a.tv >> b.tv;
			r.tm = a.tm >> b.tv;
			r.umin = a.umin >> b.tv;
			r.umax = a.umax >> b.tv;
		} else {
			r.umax = a.umax;
		}
		break;
	case 0xc0: /* arsh */
		if (sc_is_const(&b) && is64 && b.tv < 64) {
			r.smin = a.smin >> b.tv;
			r.smax = a.smax >> b.tv;
		}
		break;
	case 0xb0: /* mov */ r = b; break;
	default: break;
	}
	if (!is64) {
		/* the 64-bit bounds above came from zero-extended operands; a
		 * result beyond 32 bits wraps, which sc_zext32 accounts for */
		if (r.umin > r.umax || sc_sync(&r))
			sc_unknown(&r);
		sc_zext32(&r);
	} else if (sc_sync(&r)) {
		sc_unknown(&r);
	}
	*dst = r;
}

/* ---- branch refinement ---- */

/* Restricts a (and b) so that a < b (strict) or a <= b, unsigned or signed.
 * Returns -1 when impossible. */
static int refine_lt(struct vreg *a, struct vreg *b, int strict, int sgn)
{
	if (sgn) {
		int64_t bmax = b->smax, amin = a->smin;
		if (strict) {
			if (bmax == INT64_MIN || amin == INT64_MAX)
				return -1;
			bmax--, amin++;
		}
		if (a->smax > bmax)
			a->smax = bmax;
		if (b->smin < amin)
			b->smin = amin;
	} else {
		uint64_t bmax = b->umax, amin = a->umin;
		if (strict) {
			if (bmax == 0 || amin == UINT64_MAX)
				return -1;
			bmax--, amin++;
		}
		if (a->umax > bmax)
			a->umax = bmax;
		if (b->umin < amin)
			b->umin = amin;
	}
	if (sc_sync(a) || sc_sync(b))
		return -1;
	return 0;
}

static int refine_eq(struct vreg *a, struct vreg *b)
{
	struct vreg r = *a;
	if (b->umin > r.umin)
		r.umin = b->umin;
	if (b->umax < r.umax)
		r.umax = b->umax;
	if (b->smin > r.smin)
		r.smin = b->smin;
	if (b->smax < r.smax)
		r.smax = b->smax;
	/* tnum intersection */
	uint64_t known_both = ~r.tm & ~b->tm;
	if ((r.tv & known_both) != (b->tv & known_both))
		return -1;
	uint64_t v = r.tv | b->tv, m = r.tm & b->tm;
	r.tv = v & ~m;
	r.tm = m;
	if (sc_sync(&r))
		return -1;
	*a = r;
	*b = r;
	return 0;
}

static int refine_ne(struct vreg *a, struct vreg *b)
{
	if (!sc_is_const(b) && !sc_is_const(a))
		return 0;
	struct vreg *x = sc_is_const(b) ? a : b, *c = sc_is_const(b) ? b : a;
	if (sc_is_const(x) && x->tv == c->tv)
		return -1;
	if (x->umin == c->tv)
		x->umin++;
	else if (x->umax == c->tv)
		x->umax--;
	if ((uint64_t)x->smin == c->tv)
		x->smin++;
	else if ((uint64_t)x->smax == c->tv)
		x->smax--;
	return sc_sync(x);
}

/* Applies "a OP b is TAKEN" to a and b. op is the JMP op bits. Returns -1 when
 * that outcome is impossible. */
static int refine(struct vreg *a, struct vreg *b, int op, int taken, int is32)
{
	if (is32) {
		/* refine only when both fit in 32 bits unsigned (and signed), so the
		 * 32-bit comparison is the 64-bit one */
		int fit = a->umax <= INT32_MAX && b->umax <= INT32_MAX;
		if (!fit) {
			if (sc_is_const(a) && sc_is_const(b)) {
				uint32_t x = (uint32_t)a->tv, y = (uint32_t)b->tv;
				int r = 0;
				switch (op) {
				case 0x10: r = x == y; break;
				case 0x50: r = x != y; break;
				case 0x20: r = x > y; break;
				case 0x30: r = x >= y; break;
				case 0xa0: r = x < y; break;
				case 0xb0: r = x <= y; break;
				case 0x60: r = (int32_t)x > (int32_t)y; break;
				case 0x70: r = (int32_t)x >= (int32_t)y; break;
				case 0xc0: r = (int32_t)x < (int32_t)y; break;
				case 0xd0: r = (int32_t)x <= (int32_t)y; break;
				case 0x40: r = (x & y) != 0; break;
				}
				return r == taken ? 0 : -1;
			}
			return 0;
		}
	}
	switch (op) {
	case 0x10: return taken ? refine_eq(a, b) : refine_ne(a, b);
	case 0x50: return taken ? refine_ne(a, b) : refine_eq(a, b);
	case 0x20: return taken ? refine_lt(b, a, 1, 0) : refine_lt(a, b, 0, 0);
	case 0x30: return taken ? refine_lt(b, a, 0, 0) : refine_lt(a, b, 1, 0);
	case 0xa0: return taken ? refine_lt(a, b, 1, 0) : refine_lt(b, a, 0, 0);
	case 0xb0: return taken ? refine_lt(a, b, 0, 0) : refine_lt(b, a, 1, 0);
	case 0x60: return taken ? refine_lt(b, a, 1, 1) : refine_lt(a, b, 0, 1);
	case 0x70: return taken ? refine_lt(b, a, 0, 1) : refine_lt(a, b, 1, 1);
	case 0xc0: return taken ? refine_lt(a, b, 1, 1) : refine_lt(b, a, 0, 1);
	case 0xd0: return taken ? refine_lt(a, b, 0, 1) : refine_lt(b, a, 1, 1);
	case 0x40: /* jset */
		if (sc_is_const(b)) {
			uint64_t mask = is32 ? b->tv & UINT32_MAX : b->tv;
			if (taken) {
				if (((a->tv | a->tm) & mask) == 0)
					return -1;
			} else {
				if (a->tv & mask)
					return -1;
				a->tm &= ~mask;
				return sc_sync(a);
			}
		}
		return 0;
	}
	return 0;
}

/* ---- errors ---- */

static int verr(struct vctx *v, int pc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int verr(struct vctx *v, int pc, const char *fmt, ...)
{
	char text[DIAG_MAX - 200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return diag_error(v->d, v->set->file, prog_line(v->p, pc), "%s (program %s, insn %d)", text, v->p->name, pc);
}

/* ---- stack ---- */

static int byte_init(const struct vframe *f, int b)
{
	return (int)(f->init[b / 64] >> (b % 64)) & 1;
}
static void set_init(struct vframe *f, int b, int on)
{
	if (on)
		f->init[b / 64] |= 1ull << (b % 64);
	else
		f->init[b / 64] &= ~(1ull << (b % 64));
}

static int is_ptr(const struct vreg *r)
{
	return r->type >= T_CTX;
}

/* Records that the function of frame fr touched byte offset off (negative). */
static void note_depth(struct vctx *v, struct vstate *st, int fr, int64_t off)
{
	struct prog_func *fn = &v->p->funcs[st->f[fr].func];
	if (-off > fn->depth)
		fn->depth = (int)-off;
}

/* A write of SIZE bytes at [lo, hi] (fp-relative start offsets) in frame fr.
 * VAL is the written register (NULL for an immediate). */
static int stack_write(struct vctx *v, struct vstate *st, int pc, int fr, int64_t lo, int64_t hi, int size,
		       const struct vreg *val, int regno)
{
	struct vframe *f = &st->f[fr];
	if (lo < -MAX_BPF_STACK || hi + size > 0)
		return verr(v, pc, "invalid write to stack R%d off=%lld size=%d", regno, (long long)lo, size);
	note_depth(v, st, fr, lo);
	int fixed = lo == hi;
	if (val && is_ptr(val) && !(fixed && size == 8 && (lo % 8) == 0))
		return verr(v, pc, "invalid size of register spill");
	int b0 = (int)(lo + MAX_BPF_STACK), b1 = (int)(hi + MAX_BPF_STACK) + size; /* [b0, b1) */
	for (; f->lo_slot > b0 / 8; f->lo_slot--)
		f->spill[f->lo_slot - 1].type = T_NOT_INIT;
	for (int s = b0 / 8; s <= (b1 - 1) / 8; s++) {
		struct vreg *sp = &f->spill[s];
		if (fixed && size == 8 && b0 == s * 8) {
			if (val)
				*sp = *val; /* a spill: the register comes back on a fill */
			else
				sp->type = T_NOT_INIT; /* an immediate store: plain data */
			continue;
		}
		if (sp->type != T_NOT_INIT && sp->type != T_SCALAR) {
			if (!fixed)
				return verr(v, pc, "invalid variable-offset write to stack R%d over a spilled pointer",
					    regno);
			/* a partial overwrite of a spilled pointer: the other
			 * bytes still hold pointer bits, so they become unreadable */
			for (int b = s * 8; b < s * 8 + 8; b++)
				set_init(f, b, 0);
		}
		sp->type = T_NOT_INIT;
	}
	if (fixed) {
		for (int b = b0; b < b1; b++)
			set_init(f, b, 1);
		if (val && size == 8 && (lo % 8) == 0 && val->type == T_NOT_INIT)
			f->spill[b0 / 8].type = T_NOT_INIT;
	}
	return 0;
}

static int stack_read(struct vctx *v, struct vstate *st, int pc, int fr, int64_t lo, int64_t hi, int size,
		      struct vreg *out, int regno, int sext)
{
	struct vframe *f = &st->f[fr];
	if (lo < -MAX_BPF_STACK || hi + size > 0)
		return verr(v, pc, "invalid read from stack R%d off=%lld size=%d", regno, (long long)lo, size);
	note_depth(v, st, fr, lo);
	int b0 = (int)(lo + MAX_BPF_STACK), b1 = (int)(hi + MAX_BPF_STACK) + size;
	for (int b = b0; b < b1; b++)
		if (!byte_init(f, b))
			return verr(v, pc, "invalid read from stack off %lld+%d size %d", (long long)lo, b - b0, size);
	if (lo == hi && size == 8 && (lo % 8) == 0 && f->spill[b0 / 8].type != T_NOT_INIT) {
		*out = f->spill[b0 / 8];
		return 0;
	}
	for (int s = b0 / 8; s <= (b1 - 1) / 8; s++)
		if (f->spill[s].type != T_NOT_INIT && f->spill[s].type != T_SCALAR)
			return verr(v, pc, "invalid size of register fill");
	if (size == 8)
		sc_unknown(out);
	else if (sext) {
		int64_t lim = (int64_t)1 << (8 * size - 1);
		sc_unknown(out);
		out->smin = -lim;
		out->smax = lim - 1;
		sc_sync(out);
	} else
		sc_unsigned_range(out, 0, (1ull << (8 * size)) - 1), sc_sync(out);
	return 0;
}

/* ---- state helpers ---- */

static void init_frame(struct vframe *f, int func, int ret_pc, int frameno)
{
	memset(f, 0, offsetof(struct vframe, spill));
	f->lo_slot = NSLOTS;
	f->func = func;
	f->ret_pc = ret_pc;
	f->r[10] = (struct vreg){.type = T_STACK, .frameno = (uint8_t)frameno};
	f->r[10].umin = f->r[10].umax = 0;
	f->r[10].smin = f->r[10].smax = 0;
}

static int ref_index(const struct vstate *st, uint16_t id)
{
	for (int i = 0; i < st->nrefs; i++)
		if (st->refs[i] == id)
			return i;
	return -1;
}

/* Every copy of handle ID (in registers and spills of all frames) becomes
 * FN's result: released (not init), known NULL (scalar 0) or non-NULL. */
enum { H_RELEASE, H_NULL, H_NONNULL };
static void mark_handles(struct vstate *st, uint16_t id, int how)
{
	for (int fr = 0; fr < st->nframes; fr++) {
		struct vframe *f = &st->f[fr];
		for (int i = 0; i < NREGS + NSLOTS; i++) {
			if (i == NREGS)
				i += f->lo_slot;
			if (i >= NREGS + NSLOTS)
				break;
			struct vreg *r = i < NREGS ? &f->r[i] : &f->spill[i - NREGS];
			if (r->type != T_HANDLE || r->id != id)
				continue;
			if (how == H_RELEASE) {
				if (i >= NREGS) {
					int s = i - NREGS;
					for (int b = s * 8; b < s * 8 + 8; b++)
						set_init(f, b, 0);
				}
				r->type = T_NOT_INIT;
			} else if (how == H_NULL)
				sc_const(r, 0);
			else
				r->nullable = 0;
		}
	}
	if (how != H_NONNULL) {
		int k = ref_index(st, id);
		if (k >= 0) {
			memmove(&st->refs[k], &st->refs[k + 1], (size_t)(st->nrefs - k - 1) * sizeof(st->refs[0]));
			memmove(&st->ref_pc[k], &st->ref_pc[k + 1],
				(size_t)(st->nrefs - k - 1) * sizeof(st->ref_pc[0]));
			st->nrefs--;
		}
	}
}

/* DST = SRC: the header, and per frame all but the slots below lo_slot. */
static void state_assign(struct vstate *dst, const struct vstate *src)
{
	memcpy(dst, src, offsetof(struct vstate, f));
	for (int fr = 0; fr < src->nframes; fr++) {
		const struct vframe *sf = &src->f[fr];
		struct vframe *df = &dst->f[fr];
		memcpy(df, sf, offsetof(struct vframe, spill));
		memcpy(&df->spill[sf->lo_slot], &sf->spill[sf->lo_slot],
		       (size_t)(NSLOTS - sf->lo_slot) * sizeof(struct vreg));
	}
}

static struct vstate *state_copy(const struct vstate *st)
{
	struct vstate *c = malloc(sizeof(*c));
	if (c)
		state_assign(c, st);
	return c;
}

/* ---- pruning: does OLD cover NEW? ---- */

static int reg_covers(const struct vstate *os, const struct vreg *o, const struct vstate *ns, const struct vreg *n)
{
	if (o->type == T_NOT_INIT)
		return 1;
	if (o->type != n->type)
		return 0;
	switch (o->type) {
	case T_SCALAR:
	case T_STACK:
		if (o->type == T_STACK && o->frameno != n->frameno)
			return 0;
		return n->umin >= o->umin && n->umax <= o->umax && n->smin >= o->smin && n->smax <= o->smax &&
		       (n->tm & ~o->tm) == 0 && (n->tv & ~o->tm) == o->tv;
	case T_CTX: return 1; /* context accesses are checked at run time */
	case T_MAP: return o->id == n->id;
	case T_HANDLE: {
		int oi = ref_index(os, o->id), ni = ref_index(ns, n->id);
		return oi >= 0 && oi == ni && (o->nullable || !n->nullable);
	}
	}
	return 0;
}

static int state_covers(const struct vstate *o, const struct vstate *n)
{
	if (o->nframes != n->nframes || o->nrefs != n->nrefs || o->in_cb != n->in_cb)
		return 0;
	for (int fr = 0; fr < o->nframes; fr++)
		if (o->f[fr].func != n->f[fr].func || o->f[fr].ret_pc != n->f[fr].ret_pc)
			return 0;
	/* innermost frame first: the callers' frames are most often the same */
	for (int fr = o->nframes - 1; fr >= 0; fr--) {
		const struct vframe *a = &o->f[fr], *b = &n->f[fr];
		for (int i = 0; i < NREGS; i++)
			if (!reg_covers(o, &a->r[i], n, &b->r[i]))
				return 0;
		for (int w = 0; w < MAX_BPF_STACK / 64; w++)
			if (a->init[w] & ~b->init[w])
				return 0;
		for (int s = a->lo_slot; s < NSLOTS; s++) {
			/* a slot matters where the old state wrote any of its bytes;
			 * most words of the bitmap are empty (shallow frames) */
			if (!a->init[s / 8]) {
				s |= 7;
				continue;
			}
			if (!((a->init[s / 8] >> ((s % 8) * 8)) & 0xff))
				continue;
			const struct vreg *os = &a->spill[s], *ns = &b->spill[s];
			if (os->type == T_NOT_INIT) {
				/* plain data: the new slot must not hide a pointer */
				if (ns->type != T_NOT_INIT && ns->type != T_SCALAR)
					return 0;
				continue;
			}
			if (ns->type == T_NOT_INIT && os->type == T_SCALAR) {
				/* old slot is a spilled scalar, new is plain data */
				if (!(os->umin == 0 && os->umax == UINT64_MAX && os->smin == INT64_MIN &&
				      os->smax == INT64_MAX))
					return 0;
				continue;
			}
			if (!reg_covers(o, os, n, ns))
				return 0;
		}
	}
	return 1;
}

/* ---- joining with widening ---- */

static void reg_join(const struct vstate *os, struct vreg *o, const struct vstate *ns, const struct vreg *n)
{
	if (o->type == T_NOT_INIT)
		return;
	if (o->type != n->type) {
		o->type = T_NOT_INIT;
		return;
	}
	switch (o->type) {
	case T_SCALAR:
	case T_STACK:
		if (o->type == T_STACK && o->frameno != n->frameno) {
			o->type = T_NOT_INIT;
			return;
		}
		/* widening: a bound that moved goes to its extreme */
		if (n->umin < o->umin)
			o->umin = 0;
		if (n->umax > o->umax)
			o->umax = UINT64_MAX;
		if (n->smin < o->smin)
			o->smin = INT64_MIN;
		if (n->smax > o->smax)
			o->smax = INT64_MAX;
		{
			uint64_t mu = o->tm | n->tm | (o->tv ^ n->tv);
			o->tv &= ~mu;
			o->tm = mu;
		}
		sc_sync(o);
		return;
	case T_CTX: return;
	case T_MAP:
		if (o->id != n->id)
			o->type = T_NOT_INIT;
		return;
	case T_HANDLE:
		if (ref_index(os, o->id) != ref_index(ns, n->id) || ref_index(os, o->id) < 0)
			o->type = T_NOT_INIT;
		else
			o->nullable |= n->nullable;
		return;
	}
}

static int state_joinable(const struct vstate *o, const struct vstate *n)
{
	if (o->nframes != n->nframes || o->nrefs != n->nrefs || o->in_cb != n->in_cb)
		return 0;
	for (int fr = 0; fr < o->nframes; fr++)
		if (o->f[fr].func != n->f[fr].func || o->f[fr].ret_pc != n->f[fr].ret_pc)
			return 0;
	return 1;
}

static void state_join(struct vstate *o, const struct vstate *n)
{
	for (int fr = 0; fr < o->nframes; fr++) {
		struct vframe *a = &o->f[fr];
		const struct vframe *b = &n->f[fr];
		for (int i = 0; i < NREGS; i++)
			reg_join(o, &a->r[i], n, &b->r[i]);
		for (int w = 0; w < MAX_BPF_STACK / 64; w++)
			a->init[w] &= b->init[w];
		for (int s = a->lo_slot; s < NSLOTS; s++) {
			struct vreg *os = &a->spill[s];
			const struct vreg *ns = &b->spill[s];
			if (s < b->lo_slot) {
				os->type = T_NOT_INIT; /* never written on the new path */
				continue;
			}
			int ptr = (os->type >= T_CTX) || (ns->type >= T_CTX);
			if (os->type == ns->type && os->type != T_NOT_INIT) {
				reg_join(o, os, n, ns);
				if (os->type == T_NOT_INIT && ptr)
					for (int k = s * 8; k < s * 8 + 8; k++)
						set_init(a, k, 0);
			} else if (ptr) {
				os->type = T_NOT_INIT;
				for (int k = s * 8; k < s * 8 + 8; k++)
					set_init(a, k, 0);
			} else {
				os->type = T_NOT_INIT; /* scalar spill vs data: plain data */
			}
		}
	}
}

/* ---- the exploration ---- */

static int push(struct vctx *v, const struct vstate *st, int pc)
{
	if (v->nstack == v->stack_cap) {
		int n = v->stack_cap ? v->stack_cap * 2 : 64;
		struct pending *p = realloc(v->stack, (size_t)n * sizeof(*p));
		if (!p)
			return verr(v, pc, "out of memory");
		v->stack = p;
		v->stack_cap = n;
	}
	struct vstate *c = state_copy(st);
	if (!c)
		return verr(v, pc, "out of memory");
	v->stack[v->nstack++] = (struct pending){c, pc};
	return 0;
}

/* At a pruning point: 1 when the path can stop, 0 to go on (ST may have been
 * widened), -1 on error. */
static int visit(struct vctx *v, struct vstate *st, int pc)
{
	int n = v->nvisited[pc];
	struct vstate **list = v->visited[pc];
	for (int i = 0; i < n; i++)
		if (state_covers(list[i], st))
			return 1;
	v->visits[pc]++;
	if (v->visits[pc] > JOIN_AFTER) {
		for (int i = n - 1; i >= 0; i--)
			if (state_joinable(list[i], st)) {
				state_join(list[i], st);
				state_assign(st, list[i]);
				return 0;
			}
	}
	if (n >= MAX_STATES_PER_PC)
		return verr(v, pc, "BPF program is too complex");
	if ((n & (n - 1)) == 0) {
		struct vstate **nl = realloc(list, (size_t)(n ? n * 2 : 1) * sizeof(*nl));
		if (!nl)
			return verr(v, pc, "out of memory");
		v->visited[pc] = list = nl;
	}
	if (!(list[n] = state_copy(st)))
		return verr(v, pc, "out of memory");
	v->nvisited[pc] = n + 1;
	return 0;
}

static int check_read(struct vctx *v, const struct vstate *st, int pc, int r)
{
	if (st->f[st->nframes - 1].r[r].type == T_NOT_INIT)
		return verr(v, pc, "R%d !read_ok", r);
	return 0;
}

static int check_write(struct vctx *v, int pc, int r)
{
	if (r == 10)
		return verr(v, pc, "frame pointer is read only");
	return 0;
}

static void clobber_caller_saved(struct vframe *f)
{
	for (int r = 0; r <= 5; r++)
		f->r[r].type = T_NOT_INIT;
}

/* A pointer register plus an offset: the address range of an access. */
static int mem_range(const struct vreg *base, int16_t off, int64_t *lo, int64_t *hi)
{
	if (__builtin_add_overflow(base->smin, (int64_t)off, lo) ||
	    __builtin_add_overflow(base->smax, (int64_t)off, hi))
		return -1;
	return 0;
}

static int do_alu(struct vctx *v, struct vstate *st, int pc, const struct bpf_insn *in, int fmt)
{
	struct vframe *f = &st->f[st->nframes - 1];
	int is64 = isa_is_alu64(in->code);
	int opbits = in->code & 0xf0;
	int sx = (fmt == FMT_ALU_SX_K || fmt == FMT_ALU_SX_X);
	int is_x = (fmt == FMT_ALU_X || fmt == FMT_ALU_SX_X);
	struct vreg *d = &f->r[in->dst];
	struct vreg srcv;
	if (check_write(v, pc, in->dst))
		return -1;
	if (fmt == FMT_NEG) {
		if (check_read(v, st, pc, in->dst))
			return -1;
		if (is_ptr(d))
			return verr(v, pc, "R%d pointer arithmetic with neg operator prohibited", in->dst);
		struct vreg zero;
		sc_const(&zero, 0);
		if (sc_is_const(d))
			sc_const(d, const_alu(0x80, is64, d->tv, 0, 0));
		else
			sc_unknown(d), is64 ? (void)0 : sc_zext32(d);
		(void)zero;
		return 0;
	}
	if (fmt == FMT_END || fmt == FMT_MOVSX) {
		int src = fmt == FMT_MOVSX ? in->src : in->dst;
		if (check_read(v, st, pc, src))
			return -1;
		struct vreg *s = &f->r[src];
		if (is_ptr(s))
			return verr(v, pc, "R%d pointer arithmetic prohibited", src);
		int bits = fmt == FMT_MOVSX ? in->off : in->imm;
		if (fmt == FMT_MOVSX) {
			struct vreg r;
			sc_unknown(&r);
			int64_t lim = (int64_t)1 << (bits - 1);
			if (sc_is_const(s)) {
				uint64_t x = s->tv;
				int64_t y = bits == 8 ? (int8_t)x : bits == 16 ? (int16_t)x : (int32_t)x;
				sc_const(&r, is64 ? (uint64_t)y : (uint32_t)y);
			} else if (is64) {
				r.smin = -lim, r.smax = lim - 1;
				sc_sync(&r);
			} else {
				sc_zext32(&r);
			}
			*d = r;
		} else {
			/* byte swaps: exact on constants, else a value of the width */
			if (sc_is_const(d)) {
				uint64_t x = d->tv, y = x;
				int swap =
				    (in->code & 0x08) || isa_class(in->code) == BPF_ALU64; /* be on LE host, bswap */
				if (swap) {
					y = 0;
					for (int i = 0; i < bits / 8; i++)
						y |= ((x >> (8 * i)) & 0xff) << (bits - 8 - 8 * i);
				} else {
					y = bits == 64 ? x : x & ((1ull << bits) - 1);
				}
				sc_const(d, y);
			} else {
				sc_unsigned_range(d, 0, bits == 64 ? UINT64_MAX : (1ull << bits) - 1);
				sc_sync(d);
			}
		}
		return 0;
	}
	if (is_x) {
		if (check_read(v, st, pc, in->src))
			return -1;
		srcv = f->r[in->src];
	} else {
		sc_const(&srcv, is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
		if ((opbits == 0x30 || opbits == 0x90) && in->imm == 0)
			return verr(v, pc, "div by zero");
		if ((opbits == 0x60 || opbits == 0x70 || opbits == 0xc0) && (uint32_t)in->imm >= (is64 ? 64u : 32u)) {
			if (!(v->set->verify_flags & VERIFY_ISA_SHIFTS))
				return verr(v, pc, "invalid shift %d", in->imm);
			sc_const(&srcv, (uint32_t)in->imm & (is64 ? 63u : 31u));
		}
	}
	if (opbits == 0xb0) { /* mov */
		if (is_ptr(&srcv) && !is64)
			return verr(v, pc, "R%d partial copy of pointer", in->src);
		if (is64 || !is_x)
			*d = srcv;
		else {
			*d = srcv;
			sc_zext32(d);
		}
		return 0;
	}
	if (check_read(v, st, pc, in->dst))
		return -1;
	if (is_ptr(d) || is_ptr(&srcv)) {
		if (!is64)
			return verr(v, pc, "R%d 32-bit pointer arithmetic prohibited", is_ptr(d) ? in->dst : in->src);
		struct vreg *ptr = is_ptr(d) ? d : &srcv;
		struct vreg *sc = is_ptr(d) ? &srcv : d;
		if (is_ptr(d) && is_ptr(&srcv))
			return verr(v, pc, "R%d pointer %s pointer prohibited", in->dst, opbits == 0x10 ? "-=" : "op");
		if (opbits != 0x00 && !(opbits == 0x10 && is_ptr(d)))
			return verr(v, pc, "R%d pointer arithmetic with %s operator prohibited", in->dst,
				    isa_rows[isa_decode(in)].mnemonic);
		if (ptr->type != T_CTX && ptr->type != T_STACK)
			return verr(v, pc, "R%d pointer arithmetic on %s prohibited", in->dst, vtype_name[ptr->type]);
		struct vreg off = *ptr, r;
		off.type = T_SCALAR;
		sc_alu(&off, sc, opbits, 1, 0);
		r = off;
		r.type = ptr->type;
		r.frameno = ptr->frameno;
		*d = r;
		return 0;
	}
	if (d->type != T_SCALAR)
		return verr(v, pc, "R%d !read_ok", in->dst);
	sc_alu(d, &srcv, opbits, is64, sx);
	return 0;
}

static int do_mem(struct vctx *v, struct vstate *st, int pc, const struct bpf_insn *in, int fmt)
{
	struct vframe *f = &st->f[st->nframes - 1];
	int size = isa_size(in->code);
	int basereg = fmt == FMT_LDX ? in->src : in->dst;
	if (check_read(v, st, pc, basereg))
		return -1;
	struct vreg base = f->r[basereg];
	const struct vreg *val = NULL;
	struct vreg imm;
	if (fmt == FMT_STX || fmt == FMT_ATOMIC) {
		if (check_read(v, st, pc, in->src))
			return -1;
		val = &f->r[in->src];
	}
	if (fmt == FMT_LDX && check_write(v, pc, in->dst))
		return -1;
	int64_t lo, hi;
	/* what the JIT must check at run time here: context accesses */
	v->p->mem_kind[pc] |= base.type == T_CTX ? MEM_KIND_CTX : base.type == T_STACK ? MEM_KIND_STACK : 0;
	if (base.type == T_CTX) {
		if (val && is_ptr(val))
			return verr(v, pc, "R%d leaks addr into ctx", in->src);
		if (fmt == FMT_ATOMIC) {
			int aop = in->imm;
			if (aop & BPF_ATOMIC_FETCH) {
				if (aop == BPF_ATOMIC_CMPXCHG) {
					if (check_read(v, st, pc, 0))
						return -1;
					if (is_ptr(&f->r[0]))
						return verr(v, pc, "R0 leaks addr into ctx");
					sc_unknown(&f->r[0]);
					if (size == 4)
						sc_zext32(&f->r[0]);
				} else {
					sc_unknown(&f->r[in->src]);
					if (size == 4)
						sc_zext32(&f->r[in->src]);
				}
			}
			return 0;
		}
		if (fmt == FMT_LDX) {
			struct vreg *d = &f->r[in->dst];
			if ((in->code & 0xe0) == BPF_MEMSX) {
				int64_t lim = (int64_t)1 << (8 * size - 1);
				sc_unknown(d);
				d->smin = -lim, d->smax = lim - 1;
				sc_sync(d);
			} else if (size == 8)
				sc_unknown(d);
			else
				sc_unsigned_range(d, 0, (1ull << (8 * size)) - 1), sc_sync(d);
		}
		return 0;
	}
	if (base.type != T_STACK)
		return verr(v, pc, "R%d invalid mem access '%s'", basereg, vtype_name[base.type]);
	if (mem_range(&base, in->off, &lo, &hi))
		return verr(v, pc, "R%d invalid stack access: offset out of range", basereg);
	/* The kernel's check_ptr_alignment: stack accesses are always strict
	 * (its spill tracking relies on it); SPEC is silent, the kernel decides. */
	if (base.tm == 0 && ((int64_t)base.tv + in->off) % size)
		return verr(v, pc, "misaligned stack access off 0+%lld+%d size %d", (long long)(int64_t)base.tv,
			    in->off, size);
	if (base.tm && (((base.tv + (uint64_t)(int64_t)in->off) | base.tm) & (uint64_t)(size - 1)))
		return verr(v, pc, "misaligned stack access off (0x%llx; 0x%llx)+0+%d size %d",
			    (unsigned long long)base.tv, (unsigned long long)base.tm, in->off, size);
	int fr = base.frameno;
	if (fmt == FMT_ST) {
		sc_const(&imm, (uint64_t)(int64_t)in->imm);
		return stack_write(v, st, pc, fr, lo, hi, size, NULL, basereg);
	}
	if (fmt == FMT_STX) {
		struct vreg tmp = *val;
		if (size != 8 && tmp.type == T_SCALAR)
			return stack_write(v, st, pc, fr, lo, hi, size, NULL, basereg);
		return stack_write(v, st, pc, fr, lo, hi, size, &tmp, basereg);
	}
	if (fmt == FMT_ATOMIC) {
		struct vreg old;
		if (is_ptr(val))
			return verr(v, pc, "R%d leaks addr into mem", in->src);
		if (stack_read(v, st, pc, fr, lo, hi, size, &old, basereg, 0))
			return -1;
		if (old.type != T_SCALAR)
			return verr(v, pc, "BPF_ATOMIC stores into R%d stack is not allowed", basereg);
		int aop = in->imm;
		if (aop == BPF_ATOMIC_CMPXCHG) {
			if (check_read(v, st, pc, 0))
				return -1;
			if (is_ptr(&f->r[0]))
				return verr(v, pc, "R0 leaks addr into mem");
		}
		if (stack_write(v, st, pc, fr, lo, hi, size, NULL, basereg))
			return -1;
		if (aop & BPF_ATOMIC_FETCH) {
			int dst = aop == BPF_ATOMIC_CMPXCHG ? 0 : in->src;
			sc_unknown(&f->r[dst]);
			if (size == 4)
				sc_zext32(&f->r[dst]);
		}
		return 0;
	}
	/* LDX */
	struct vreg out;
	if (stack_read(v, st, pc, fr, lo, hi, size, &out, basereg, (in->code & 0xe0) == BPF_MEMSX))
		return -1;
	f->r[in->dst] = out;
	return 0;
}

static const char *rt_name(int rt)
{
	return rt >= 0 ? rt_calls[rt].name : "?";
}

static int want_scalar(struct vctx *v, const struct vstate *st, int pc, int r, int rt)
{
	const struct vreg *x = &st->f[st->nframes - 1].r[r];
	if (x->type == T_NOT_INIT)
		return verr(v, pc, "R%d !read_ok", r);
	if (x->type != T_SCALAR)
		return verr(v, pc, "R%d type=%s expected=scalar (argument of %s)", r, vtype_name[x->type], rt_name(rt));
	return 0;
}

/* Helper and kfunc calls. Returns 1 when the path ends (bpf_throw). */
static void pop_frame(struct vstate *st);

static int do_runtime_call(struct vctx *v, struct vstate *st, int pc, const struct bpf_insn *in)
{
	struct vframe *f = &st->f[st->nframes - 1];
	int kf = in->src == BPF_PSEUDO_KFUNC_CALL;
	int rt = rt_call_lookup(kf, in->imm);
	if (rt == RT_UNKNOWN)
		return kf ? verr(v, pc, "calling kernel function %d is not allowed", in->imm)
			  : verr(v, pc, "invalid func unknown#%d", in->imm);
	switch ((enum rt_call)rt) {
	case RT_TAIL_CALL: {
		if (st->in_cb)
			return verr(v, pc, "tail_call is not allowed in an exception callback");
		for (int r = 1; r <= 3; r++)
			if (check_read(v, st, pc, r))
				return -1;
		if (f->r[1].type != T_CTX)
			return verr(v, pc, "R1 type=%s expected=ctx", vtype_name[f->r[1].type]);
		if (f->r[2].type != T_MAP || f->r[2].umin != 0 || f->r[2].umax != 0)
			return verr(v, pc, "R2 type=%s expected=map_ptr", vtype_name[f->r[2].type]);
		if (want_scalar(v, st, pc, 3, rt))
			return -1;
		if (st->nrefs)
			return verr(v, pc, "tail_call would lead to reference leak");
		if (st->nframes > 1) {
			/* a successful tail call replaces this frame: the target's R0
			 * (a scalar: its return value or its throw's cookie) comes
			 * back to the caller, now */
			struct vstate *c = state_copy(st);
			if (!c)
				return verr(v, pc, "out of memory");
			int ret = c->f[c->nframes - 1].ret_pc;
			pop_frame(c);
			struct vframe *cf = &c->f[c->nframes - 1];
			clobber_caller_saved(cf);
			sc_unknown(&cf->r[0]);
			int rc = push(v, c, ret);
			free(c);
			if (rc)
				return -1;
		}
		v->p->tc_arrays[pc] |= (uint16_t)(1u << f->r[2].id);
		{
			/* a constant index below the slot count names one slot */
			const struct vreg *ix = &f->r[3];
			int16_t slot =
			    sc_is_const(ix) && (uint32_t)ix->tv < PROG_MAX_SLOTS ? (int16_t)(uint32_t)ix->tv : -1;
			int16_t *t = &v->p->tc_slot[pc];
			if (*t == -2)
				*t = slot;
			else if (*t != slot)
				*t = -1;
		}
		v->p->funcs[f->func].has_tail_call = 1;
		clobber_caller_saved(f);
		return 0;
	}
	case RT_TRACE:
		if (want_scalar(v, st, pc, 1, rt))
			return -1;
		clobber_caller_saved(f);
		sc_const(&f->r[0], 0);
		return 0;
	case RT_THROW:
		if (st->in_cb)
			return verr(v, pc, "bpf_throw is not allowed in an exception callback");
		if (want_scalar(v, st, pc, 1, rt))
			return -1;
		return 1; /* held references are destroyed by the runtime (SPEC sec. 6) */
	case RT_RES_ACQUIRE:
		if (want_scalar(v, st, pc, 1, rt))
			return -1;
		if (st->nrefs >= MAX_REFS)
			return verr(v, pc, "too many references held");
		clobber_caller_saved(f);
		st->next_id++;
		if (st->next_id == 0)
			st->next_id = 1;
		st->refs[st->nrefs] = st->next_id;
		st->ref_pc[st->nrefs++] = pc;
		f->r[0] = (struct vreg){.type = T_HANDLE, .nullable = 1, .id = st->next_id};
		return 0;
	case RT_RES_RELEASE:
	case RT_RES_ID: {
		if (check_read(v, st, pc, 1))
			return -1;
		struct vreg h = f->r[1];
		if (h.type != T_HANDLE)
			return verr(v, pc, "R1 must be referenced (type=%s expected=res handle, argument of %s)",
				    vtype_name[h.type], rt_name(rt));
		if (h.nullable)
			return verr(v, pc, "Possibly NULL pointer passed to trusted arg0 of %s", rt_name(rt));
		if (h.umin != 0 || h.umax != 0)
			return verr(v, pc, "R1 must have zero offset when passed to %s", rt_name(rt));
		if (rt == RT_RES_RELEASE)
			mark_handles(st, h.id, H_RELEASE);
		clobber_caller_saved(f);
		if (rt == RT_RES_RELEASE)
			sc_const(&f->r[0], 0);
		else
			sc_unsigned_range(&f->r[0], 1, UINT32_MAX), sc_sync(&f->r[0]);
		return 0;
	}
	case RT_NUM_CALLS:
	case RT_UNKNOWN: break;
	}
	return verr(v, pc, "invalid call");
}

static int check_exit_r0(struct vctx *v, struct vstate *st, int pc)
{
	const struct vreg *r0 = &st->f[st->nframes - 1].r[0];
	if (r0->type == T_NOT_INIT)
		return verr(v, pc, "R0 !read_ok");
	if (r0->type != T_SCALAR)
		return verr(v, pc, "At program exit the register R0 is not a known value (%s)", vtype_name[r0->type]);
	return 0;
}

/* Pops a frame: pointers into it die with it. */
static void pop_frame(struct vstate *st)
{
	int gone = st->nframes - 1;
	st->nframes--;
	for (int fr = 0; fr < st->nframes; fr++) {
		struct vframe *f = &st->f[fr];
		for (int i = 0; i < NREGS; i++)
			if (f->r[i].type == T_STACK && f->r[i].frameno >= gone)
				f->r[i].type = T_NOT_INIT;
		for (int s = f->lo_slot; s < NSLOTS; s++)
			if (f->spill[s].type == T_STACK && f->spill[s].frameno >= gone) {
				f->spill[s].type = T_NOT_INIT;
				for (int b = s * 8; b < s * 8 + 8; b++)
					set_init(f, b, 0);
			}
	}
}

/* Explores every path from (st, pc). */
static int explore(struct vctx *v, struct vstate *st, int pc)
{
	struct prog *p = v->p;
	for (;;) {
		if (++v->processed > VERIFIER_MAX_PROCESSED)
			return verr(v, pc, "BPF program is too large. Processed %ld insn", v->processed - 1);
		if (v->prune[pc]) {
			int r = visit(v, st, pc);
			if (r < 0)
				return -1;
			if (r > 0)
				return 0;
		}
		const struct bpf_insn *in = &p->insns[pc];
		int op = p->ops[pc];
		int fmt = isa_rows[op].fmt;
		struct vframe *f = &st->f[st->nframes - 1];
		switch ((enum isa_fmt)fmt) {
		case FMT_ALU_K:
		case FMT_ALU_X:
		case FMT_ALU_SX_K:
		case FMT_ALU_SX_X:
		case FMT_NEG:
		case FMT_MOVSX:
		case FMT_END:
			if (do_alu(v, st, pc, in, fmt))
				return -1;
			pc++;
			break;
		case FMT_LDDW:
			if (check_write(v, pc, in->dst))
				return -1;
			if (in->src == BPF_PSEUDO_MAP)
				f->r[in->dst] = (struct vreg){.type = T_MAP, .id = (uint16_t)in->imm};
			else
				sc_const(&f->r[in->dst], (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
			pc += 2;
			break;
		case FMT_LDX:
		case FMT_ST:
		case FMT_STX:
		case FMT_ATOMIC:
			if (do_mem(v, st, pc, in, fmt))
				return -1;
			pc++;
			break;
		case FMT_JA: pc += 1 + in->off; break;
		case FMT_JA32: pc += 1 + in->imm; break;
		case FMT_JMP_K:
		case FMT_JMP_X: {
			int is32 = isa_class(in->code) == BPF_JMP32;
			int jop = in->code & 0xf0;
			int target = pc + 1 + in->off;
			if (check_read(v, st, pc, in->dst))
				return -1;
			struct vreg *a = &f->r[in->dst], bk, *b;
			sc_const(&bk, 0);
			if (fmt == FMT_JMP_X) {
				if (check_read(v, st, pc, in->src))
					return -1;
				b = &f->r[in->src];
			} else {
				sc_const(&bk, is32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
				b = &bk;
			}
			if (a->type == T_HANDLE || b->type == T_HANDLE) {
				/* only a handle against NULL */
				struct vreg *h = a->type == T_HANDLE ? a : b, *z = a->type == T_HANDLE ? b : a;
				if (is32 || (jop != 0x10 && jop != 0x50) || z->type != T_SCALAR || !sc_is_const(z) ||
				    z->tv != 0 || h->umin || h->umax)
					return verr(v, pc, "R%d pointer comparison prohibited",
						    a->type == T_HANDLE ? in->dst : in->src);
				uint16_t id = h->id;
				int nullable = h->nullable;
				/* the branch where the handle is NULL */
				int null_pc = jop == 0x10 ? target : pc + 1, nonnull_pc = jop == 0x10 ? pc + 1 : target;
				if (nullable) {
					struct vstate *c = state_copy(st);
					if (!c)
						return verr(v, pc, "out of memory");
					mark_handles(c, id, H_NULL);
					int rc = push(v, c, null_pc);
					free(c);
					if (rc)
						return -1;
				}
				mark_handles(st, id, H_NONNULL);
				pc = nonnull_pc;
				break;
			}
			if (is_ptr(a) || is_ptr(b))
				return verr(v, pc, "R%d pointer comparison prohibited", is_ptr(a) ? in->dst : in->src);
			if (fmt == FMT_JMP_X && in->src == in->dst) {
				/* a register against itself: both outcomes, unrefined */
				if (push(v, st, target))
					return -1;
				pc++;
				break;
			}
			/* both scalars: explore the feasible outcomes */
			struct vstate *c = state_copy(st);
			if (!c)
				return verr(v, pc, "out of memory");
			struct vframe *cf = &c->f[c->nframes - 1];
			struct vreg *ca = &cf->r[in->dst], cbk = bk, *cb = fmt == FMT_JMP_X ? &cf->r[in->src] : &cbk;
			int taken_ok = refine(ca, cb, jop, 1, is32) == 0;
			int fall_ok = refine(a, b, jop, 0, is32) == 0;
			if (taken_ok && fall_ok) {
				int rc = push(v, c, target);
				free(c);
				if (rc)
					return -1;
				pc++;
			} else if (taken_ok) {
				state_assign(st, c);
				free(c);
				pc = target;
			} else {
				free(c);
				if (!fall_ok)
					return 0; /* neither: this path is infeasible */
				pc++;
			}
			break;
		}
		case FMT_CALL:
		case FMT_CALL_KFUNC: {
			int r = do_runtime_call(v, st, pc, in);
			if (r < 0)
				return -1;
			if (r > 0)
				return 0;
			pc++;
			break;
		}
		case FMT_CALL_LOCAL: {
			int target = pc + 1 + in->imm;
			if (st->nframes >= MAX_CALL_FRAMES)
				return verr(v, pc, "the call stack of %d frames is too deep", st->nframes + 1);
			struct vframe *nf = &st->f[st->nframes];
			init_frame(nf, p->func_of[target], pc + 1, st->nframes);
			for (int r = 1; r <= 5; r++)
				nf->r[r] = f->r[r];
			st->nframes++;
			pc = target;
			break;
		}
		case FMT_EXIT:
			if (st->nframes == 1) {
				if (check_exit_r0(v, st, pc))
					return -1;
				if (st->nrefs)
					return verr(v, pc, "Unreleased reference id=%d alloc_insn=%d", st->refs[0],
						    st->ref_pc[0]);
				return 0;
			}
			if (check_read(v, st, pc, 0))
				return -1;
			if (f->r[0].type == T_STACK && f->r[0].frameno == st->nframes - 1)
				return verr(v, pc, "cannot return stack pointer to the caller frame");
			{
				struct vreg r0 = f->r[0];
				int ret = f->ret_pc;
				pop_frame(st);
				struct vframe *cf = &st->f[st->nframes - 1];
				clobber_caller_saved(cf);
				cf->r[0] = r0;
				pc = ret;
			}
			break;
		}
	}
}

static int run_paths(struct vctx *v, struct vstate *init, int pc)
{
	if (push(v, init, pc))
		return -1;
	int rc = 0;
	while (v->nstack > 0 && rc == 0) {
		struct pending pe = v->stack[--v->nstack];
		rc = explore(v, pe.st, pe.pc);
		free(pe.st);
	}
	while (v->nstack > 0)
		free(v->stack[--v->nstack].st);
	return rc;
}

/* ---- structure ---- */

static int structure(struct vctx *v)
{
	struct prog *p = v->p;
	struct prog_set *set = v->set;
	p->ops = malloc((size_t)p->len);
	p->func_of = calloc((size_t)p->len, sizeof(int));
	p->tc_arrays = calloc((size_t)p->len, sizeof(uint16_t));
	p->tc_slot = malloc((size_t)p->len * sizeof(int16_t));
	p->mem_kind = calloc((size_t)p->len, 1);
	unsigned char *start = calloc((size_t)p->len + 1, 1);
	if (!p->ops || !p->func_of || !p->tc_arrays || !p->tc_slot || !p->mem_kind || !start) {
		free(start);
		return verr(v, 0, "out of memory");
	}
	int rc = -1;
	for (int pc = 0; pc < p->len; pc++)
		p->tc_slot[pc] = -2; /* no tail call seen here yet */
	for (int pc = 0; pc < p->len; pc++) {
		const struct bpf_insn *in = &p->insns[pc];
		int op = isa_decode(in);
		if (op == ISA_INVALID) {
			verr(v, pc, "unknown opcode %02x", in->code);
			goto out;
		}
		if (!isa_reserved_ok(op, in)) {
			verr(v, pc, "%s uses reserved fields", isa_rows[op].mnemonic);
			goto out;
		}
		if (in->dst > 10 ||
		    (in->src > 10 && isa_rows[op].fmt != FMT_CALL && isa_rows[op].fmt != FMT_CALL_LOCAL &&
		     isa_rows[op].fmt != FMT_CALL_KFUNC && isa_rows[op].fmt != FMT_LDDW)) {
			verr(v, pc, "invalid register R%d", in->dst > 10 ? in->dst : in->src);
			goto out;
		}
		p->ops[pc] = (uint8_t)op;
		if (isa_rows[op].fmt == FMT_LDDW) {
			const struct bpf_insn *h = pc + 1 < p->len ? &p->insns[pc + 1] : NULL;
			if (!h || h->code || h->dst || h->src || h->off || (in->src == BPF_PSEUDO_MAP && h->imm)) {
				verr(v, pc, "invalid bpf_ld_imm64 insn");
				goto out;
			}
			if (in->src == BPF_PSEUDO_MAP && (in->imm < 0 || in->imm >= set->narrays)) {
				verr(v, pc, "fd %d is not pointing to valid bpf_map", in->imm);
				goto out;
			}
			p->ops[++pc] = ISA_OP_NONE;
		}
	}
	/* functions start at 0, at every bpf-to-bpf call target and at the
	 * exception callback */
	start[0] = 1;
	for (int pc = 0; pc < p->len; pc++) {
		if (p->ops[pc] == ISA_OP_NONE)
			continue;
		int fmt = isa_rows[p->ops[pc]].fmt;
		if (fmt == FMT_CALL_LOCAL) {
			int64_t t = (int64_t)pc + 1 + p->insns[pc].imm;
			if (t < 0 || t >= p->len || p->ops[t] == ISA_OP_NONE) {
				verr(v, pc, "call to invalid destination");
				goto out;
			}
			start[t] = 1;
		}
	}
	if (p->exception_cb >= 0) {
		if (p->exception_cb >= p->len || p->ops[p->exception_cb] == ISA_OP_NONE || p->exception_cb == 0) {
			verr(v, 0, "invalid exception callback");
			goto out;
		}
		start[p->exception_cb] = 1;
	}
	p->nfuncs = 0;
	for (int pc = 0; pc < p->len; pc++) {
		if (start[pc]) {
			if (p->nfuncs >= PROG_MAX_FUNCS) {
				verr(v, pc, "too many subprograms (at most %d)", PROG_MAX_FUNCS);
				goto out;
			}
			p->funcs[p->nfuncs] = (struct prog_func){.start = pc};
			if (p->nfuncs)
				p->funcs[p->nfuncs - 1].end = pc;
			p->nfuncs++;
		}
		p->func_of[pc] = p->nfuncs - 1;
	}
	p->funcs[p->nfuncs - 1].end = p->len;
	if (p->exception_cb >= 0)
		p->funcs[p->func_of[p->exception_cb]].is_exception_cb = 1;
	/* jumps stay in their function; each function ends in exit or ja */
	for (int pc = 0; pc < p->len; pc++) {
		if (p->ops[pc] == ISA_OP_NONE)
			continue;
		const struct bpf_insn *in = &p->insns[pc];
		int fmt = isa_rows[p->ops[pc]].fmt;
		const struct prog_func *fn = &p->funcs[p->func_of[pc]];
		if (isa_is_jump(fmt)) {
			int64_t t = (int64_t)pc + 1 + (fmt == FMT_JA32 ? in->imm : in->off);
			if (t < fn->start || t >= fn->end) {
				verr(v, pc, "jump out of range from insn %d to %lld", pc, (long long)t);
				goto out;
			}
			if (p->ops[t] == ISA_OP_NONE) {
				verr(v, pc, "jump into the middle of ldimm64 insn %lld", (long long)t);
				goto out;
			}
			v->prune[t] = 1;
			if (fmt == FMT_JMP_K || fmt == FMT_JMP_X)
				v->prune[pc + 1] = 1;
		}
		if (fmt == FMT_CALL_LOCAL)
			v->prune[pc + 1 < p->len ? pc + 1 : pc] = 1;
	}
	for (int i = 0; i < p->nfuncs; i++) {
		int last = p->funcs[i].end - 1;
		if (p->ops[last] == ISA_OP_NONE)
			last--;
		int fmt = last >= 0 ? isa_rows[p->ops[last]].fmt : -1;
		if (fmt != FMT_EXIT && fmt != FMT_JA && fmt != FMT_JA32) {
			verr(v, p->funcs[i].end - 1, "last insn is not an exit or jmp");
			goto out;
		}
	}
	/* the kernel's check_cfg: a walk over the control flow from the entry
	 * (and the exception callback), both edges of every branch, into every
	 * callee; an instruction it never reaches is refused. SPEC is silent,
	 * the kernel decides (measured: "unreachable insn 3" on 6.18). */
	int *todo = malloc((size_t)p->len * sizeof(int)), n = 0;
	if (!todo) {
		verr(v, 0, "out of memory");
		goto out;
	}
	memset(start, 0, (size_t)p->len + 1); /* now: reached */
	todo[n++] = 0;
	start[0] = 1;
	if (p->exception_cb > 0 && !start[p->exception_cb])
		start[p->exception_cb] = 1, todo[n++] = p->exception_cb;
	while (n) {
		int pc = todo[--n];
		const struct bpf_insn *in = &p->insns[pc];
		int fmt = isa_rows[p->ops[pc]].fmt;
		int next[2], k = 0;
		if (fmt == FMT_EXIT) {
		} else if (fmt == FMT_JA || fmt == FMT_JA32)
			next[k++] = pc + 1 + (fmt == FMT_JA32 ? in->imm : in->off);
		else {
			next[k++] = pc + (fmt == FMT_LDDW ? 2 : 1);
			if (isa_is_jump(fmt))
				next[k++] = pc + 1 + in->off;
			else if (fmt == FMT_CALL_LOCAL)
				next[k++] = pc + 1 + in->imm;
		}
		for (int i = 0; i < k; i++)
			if (next[i] < p->len && !start[next[i]])
				start[next[i]] = 1, todo[n++] = next[i];
	}
	free(todo);
	for (int pc = 0; pc < p->len; pc++)
		if (p->ops[pc] != ISA_OP_NONE && !start[pc]) {
			verr(v, pc, "unreachable insn %d", pc);
			goto out;
		}
	rc = 0;
out:
	free(start);
	return rc;
}

/* ---- the kernel's static stack walk (check_max_stack_depth) ---- */

static int stack_walk(struct vctx *v, int idx, int frame, int depth, int *chain_max)
{
	struct prog *p = v->p;
	struct prog_func *fn = &p->funcs[idx];
	int root = idx == 0 || fn->is_exception_cb;
	if (!root && fn->has_tail_call && depth >= 256)
		return verr(v, fn->start,
			    "tail_calls are not allowed when call stack of previous frames is %d bytes. Too large",
			    depth);
	depth += fn->cost;
	if (depth > MAX_BPF_STACK)
		return verr(v, fn->start, "combined stack size of %d calls is %d. Too large", frame + 1, depth);
	if (depth > *chain_max)
		*chain_max = depth;
	for (int pc = fn->start; pc < fn->end; pc++) {
		if (p->ops[pc] == ISA_OP_NONE || isa_rows[p->ops[pc]].fmt != FMT_CALL_LOCAL)
			continue;
		int callee = p->func_of[pc + 1 + p->insns[pc].imm];
		if (frame + 1 >= MAX_CALL_FRAMES)
			return verr(v, pc, "the call stack of %d frames is too deep !", frame + 1);
		if (stack_walk(v, callee, frame + 1, depth, chain_max))
			return -1;
	}
	return 0;
}

/* ---- the static bound over tail-call paths (SPEC sec. 8) ----
 * bound(f, S, t) = S + H(f, t): the callers' sum only shifts the result, so
 * H is memoised per (program, function, tail calls left). */
struct bound_ctx {
	const struct prog_set *set;
	int32_t per_frame; /* added to every frame's cost (a JIT's fixed overhead) */
	int32_t *memo;	   /* [prog][func][t], -1 unknown, -2 in progress */
};

static int32_t *memo_at(struct bound_ctx *b, int prog, int func, int t)
{
	return &b->memo[((size_t)prog * PROG_MAX_FUNCS + (size_t)func) * (MAX_TAIL_CALL_CNT + 1) + (size_t)t];
}

static int32_t bound_h(struct bound_ctx *b, int prog, int func, int t);

/* A program entered at a frame: its main's chains, or its exception
 * callback's, which runs in place of that frame. */
static int32_t prog_h(struct bound_ctx *b, int prog, int t)
{
	int32_t h = bound_h(b, prog, 0, t);
	const struct prog *p = &b->set->progs[prog];
	if (p->exception_cb >= 0) {
		int32_t c = bound_h(b, prog, p->func_of[p->exception_cb], 0);
		if (c > h)
			h = c;
	}
	return h;
}

static int32_t bound_h(struct bound_ctx *b, int prog, int func, int t)
{
	int32_t *m = memo_at(b, prog, func, t);
	if (*m >= 0)
		return *m;
	if (*m == -2)
		return 0; /* cannot happen in a verified set (no recursion); be safe */
	*m = -2;
	const struct prog *p = &b->set->progs[prog];
	const struct prog_func *fn = &p->funcs[func];
	int32_t cost = fn->cost + b->per_frame;
	int32_t best = cost;
	for (int pc = fn->start; pc < fn->end; pc++) {
		if (p->ops[pc] == ISA_OP_NONE)
			continue;
		int fmt = isa_rows[p->ops[pc]].fmt;
		if (fmt == FMT_CALL_LOCAL) {
			int32_t h = cost + bound_h(b, prog, p->func_of[pc + 1 + p->insns[pc].imm], t);
			if (h > best)
				best = h;
		} else if (fmt == FMT_CALL && p->insns[pc].imm == 12 && t > 0 && p->tc_arrays) {
			for (int a = 0; a < b->set->narrays; a++) {
				if (!(p->tc_arrays[pc] & (1u << a)))
					continue;
				const struct prog_array *arr = &b->set->arrays[a];
				int only = p->tc_slot[pc];
				for (int s = 0; s < arr->nslots; s++)
					if (arr->slot[s] >= 0 && (only < 0 || only == s)) {
						/* the target replaces this frame */
						int32_t h = prog_h(b, arr->slot[s], t - 1);
						if (h > best)
							best = h;
					}
			}
		}
	}
	*m = best;
	return best;
}

/* ---- driver ---- */

static int verify_prog(struct prog_set *set, int pi, struct diag *d)
{
	struct prog *p = &set->progs[pi];
	struct vctx v = {.set = set, .p = p, .pi = pi, .d = d};
	int rc = -1;
	v.prune = calloc((size_t)p->len + 1, 1);
	v.visited = calloc((size_t)p->len + 1, sizeof(*v.visited));
	v.nvisited = calloc((size_t)p->len + 1, sizeof(int));
	v.visits = calloc((size_t)p->len + 1, sizeof(int));
	struct vstate *st = malloc(sizeof(*st));
	if (!v.prune || !v.visited || !v.nvisited || !v.visits || !st) {
		diag_error(d, set->file, p->line, "out of memory");
		goto out;
	}
	free(p->ops);
	free(p->func_of);
	free(p->tc_arrays);
	free(p->tc_slot);
	free(p->mem_kind);
	p->mem_kind = NULL;
	p->ops = NULL;
	p->func_of = NULL;
	p->tc_arrays = NULL;
	p->tc_slot = NULL;
	if (structure(&v))
		goto out;
	/* the main function: R1 ctx, R2 its length, R10 fp */
	memset(st, 0, offsetof(struct vstate, f));
	st->nframes = 1;
	init_frame(&st->f[0], 0, -1, 0);
	st->f[0].r[1] = (struct vreg){.type = T_CTX};
	/* R2 holds the context's length when the run enters here, but a tail
	 * call enters with R2 = the prog array: then it is unreadable */
	int tail_target = 0;
	for (int a = 0; a < set->narrays; a++)
		for (int s = 0; s < set->arrays[a].nslots; s++)
			tail_target |= set->arrays[a].slot[s] == pi;
	if (pi == 0 && !tail_target) {
		sc_unsigned_range(&st->f[0].r[2], 0, PROG_MAX_MEM);
		sc_sync(&st->f[0].r[2]);
	}
	if (run_paths(&v, st, 0))
		goto out;
	if (p->exception_cb >= 0) {
		for (int pc = 0; pc <= p->len; pc++) {
			for (int i = 0; i < v.nvisited[pc]; i++)
				free(v.visited[pc][i]);
			v.nvisited[pc] = 0;
			v.visits[pc] = 0;
		}
		memset(st, 0, offsetof(struct vstate, f));
		st->nframes = 1;
		st->in_cb = 1;
		init_frame(&st->f[0], p->func_of[p->exception_cb], -1, 0);
		sc_unknown(&st->f[0].r[1]);
		if (run_paths(&v, st, p->exception_cb))
			goto out;
	}
	for (int i = 0; i < p->nfuncs; i++) {
		struct prog_func *fn = &p->funcs[i];
		fn->cost = (fn->depth + 15) / 16 * 16;
		/* the kernel sets has_tail_call from the instructions, reachable or not */
		for (int pc = fn->start; pc < fn->end; pc++)
			if (p->ops[pc] != ISA_OP_NONE && isa_rows[p->ops[pc]].fmt == FMT_CALL && p->insns[pc].imm == 12)
				fn->has_tail_call = 1;
	}
	int chain = 0;
	if (stack_walk(&v, 0, 0, 0, &chain))
		goto out;
	for (int i = 1; i < p->nfuncs; i++)
		if (p->funcs[i].is_exception_cb && stack_walk(&v, i, 0, 0, &chain))
			goto out;
	p->depth_bound = chain;
	rc = 0;
out:
	p->processed = v.processed;
	if (v.visited)
		for (int pc = 0; pc <= p->len; pc++) {
			for (int i = 0; v.nvisited && i < v.nvisited[pc]; i++)
				free(v.visited[pc][i]);
			free(v.visited[pc]);
		}
	free(v.visited);
	free(v.nvisited);
	free(v.visits);
	free(v.prune);
	free(v.stack);
	free(st);
	return rc;
}

int64_t verifier_stack_bound(const struct prog_set *set, int per_frame)
{
	struct bound_ctx b = {.set = set, .per_frame = per_frame};
	size_t n = (size_t)set->nprogs * PROG_MAX_FUNCS * (MAX_TAIL_CALL_CNT + 1);
	b.memo = malloc(n * sizeof(int32_t));
	if (!b.memo)
		return -1;
	memset(b.memo, 0xff, n * sizeof(int32_t)); /* -1: unknown */
	int32_t bound = prog_h(&b, 0, MAX_TAIL_CALL_CNT);
	free(b.memo);
	return bound;
}

int verifier_check(struct prog_set *set, struct diag *d)
{
	set->verified = 0;
	for (int i = 0; i < set->nprogs; i++)
		if (verify_prog(set, i, d))
			return -1;
	int64_t bound = verifier_stack_bound(set, 0);
	if (bound < 0)
		return diag_error(d, set->file, 0, "out of memory");
	set->static_stack_bound = (uint64_t)bound;
	set->verified = 1;
	return 0;
}
