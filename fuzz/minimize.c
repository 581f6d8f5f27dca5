#include "minimize.h"

#include <stdlib.h>
#include <string.h>

#include "../core/verifier.h"

int minimize_holds(const struct oracle_verdict *want, const struct oracle_verdict *got)
{
	if (got->cls != want->cls || got->a != want->a || got->b != want->b)
		return 0;
	/* a verifier disagreement holds only for the same kind of rejection
	 * (the signature's #hash of the other verifier's words), not any */
	const char *hw = strchr(want->signature, '#'), *hg = strchr(got->signature, '#');
	return !hw || (hg && strcmp(hw, hg) == 0);
}

static int fmt_of(const struct bpf_insn *in)
{
	int op = isa_decode(in);
	return op == ISA_INVALID ? -1 : isa_rows[op].fmt;
}

/* 1 at the second slot of each lddw. */
static unsigned char *lddw_tails(const struct prog *p)
{
	unsigned char *t = calloc((size_t)p->len + 1, 1);
	if (!t)
		return NULL;
	for (int pc = 0; pc + 1 < p->len; pc++)
		if (fmt_of(&p->insns[pc]) == FMT_LDDW)
			t[++pc] = 1;
	return t;
}

int minimize_count(const struct prog_set *set)
{
	int n = 0;
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		for (int pc = 0; pc < p->len; pc++, n++)
			if (fmt_of(&p->insns[pc]) == FMT_LDDW)
				pc++;
	}
	return n;
}

/* Where old pc T lands once [start, start + n) is gone: the first kept
 * instruction at or after it. */
static int moved(int t, int start, int n)
{
	return t < start ? t : t < start + n ? start : t - n;
}

/* Deletes instructions [start, start + n) of program PI, re-aiming every
 * jump and local call of the rest. -1 when the cut splits an lddw, takes the
 * exception callback's first instruction or the whole program, or an offset
 * no longer fits. */
static int delete_range(struct prog_set *set, int pi, int start, int n)
{
	struct prog *p = &set->progs[pi];
	if (n <= 0 || start < 0 || start + n > p->len || n == p->len)
		return -1;
	unsigned char *tail = lddw_tails(p);
	if (!tail)
		return -1;
	/* a cut that ends inside an lddw takes all of it; one that starts
	 * inside is left to the cut one earlier */
	if (start + n < p->len && tail[start + n])
		n++;
	int splits = tail[start];
	free(tail);
	if (splits || n == p->len)
		return -1;
	if (p->exception_cb >= start && p->exception_cb < start + n)
		return -1;
	struct bpf_insn *ins = p->insns;
	for (int j = 0; j < p->len; j++) {
		if (j >= start && j < start + n)
			continue;
		int f = fmt_of(&ins[j]);
		int64_t rel;
		if (f == FMT_JA || f == FMT_JMP_K || f == FMT_JMP_X)
			rel = ins[j].off;
		else if (f == FMT_JA32 || f == FMT_CALL_LOCAL)
			rel = ins[j].imm;
		else
			continue;
		int t = j + (int)rel + 1;
		int64_t nrel = (int64_t)moved(t, start, n) - moved(j, start, n) - 1;
		if (f == FMT_JA32 || f == FMT_CALL_LOCAL)
			ins[j].imm = (int32_t)nrel;
		else if (nrel < INT16_MIN || nrel > INT16_MAX)
			return -1;
		else
			ins[j].off = (int16_t)nrel;
	}
	memmove(&ins[start], &ins[start + n], (size_t)(p->len - start - n) * sizeof(*ins));
	if (p->exception_cb > start)
		p->exception_cb -= n;
	p->len -= n;
	free(p->lines); /* the source lines no longer mean anything */
	p->lines = NULL;
	return 0;
}

/* Drops program PI (not the entry); slots that named it become empty. */
static int delete_program(struct prog_set *set, int pi)
{
	if (pi <= 0 || pi >= set->nprogs)
		return -1;
	free(set->progs[pi].insns);
	free(set->progs[pi].lines);
	memmove(&set->progs[pi], &set->progs[pi + 1], (size_t)(set->nprogs - pi - 1) * sizeof(set->progs[0]));
	set->nprogs--;
	memset(&set->progs[set->nprogs], 0, sizeof(set->progs[0]));
	for (int a = 0; a < set->narrays; a++)
		for (int s = 0; s < set->arrays[a].nslots; s++) {
			int *slot = &set->arrays[a].slot[s];
			if (*slot == pi)
				*slot = -1;
			else if (*slot > pi)
				(*slot)--;
		}
	return 0;
}

/* Drops function FI of program PI (of the verified CUR): its calls become
 * `mov r0, 0`, then its instructions go. */
static int delete_function(struct prog_set *set, const struct prog_set *cur, int pi, int fi)
{
	const struct prog_func *fn = &cur->progs[pi].funcs[fi];
	if (fi == 0 || fn->is_exception_cb)
		return -1;
	struct prog *p = &set->progs[pi];
	for (int j = 0; j < p->len; j++) {
		if (fmt_of(&p->insns[j]) != FMT_CALL_LOCAL || j + p->insns[j].imm + 1 != fn->start)
			continue;
		p->insns[j] = isa_encode(ISA_MOV64_K, 0, 0, 0, 0);
	}
	return delete_range(set, pi, fn->start, fn->end - fn->start);
}

struct mctx {
	struct prog_set *cur, *cand;
	struct oracle *o;
	const struct oracle_verdict *want;
	struct oracle_verdict *v;
	long max_tries;
	struct minimize_stats *st;
	int oom;
};

static int out_of_tries(const struct mctx *m)
{
	return m->oom || (m->max_tries > 0 && m->st->tries >= m->max_tries);
}

static int start_candidate(struct mctx *m)
{
	if (out_of_tries(m))
		return -1;
	if (prog_set_copy(m->cand, m->cur)) {
		m->oom = 1;
		return -1;
	}
	return 0;
}

/* Runs the edited candidate; keeps it when it verifies and the verdict
 * holds. EDIT_RC is the edit's result (-1: not applicable). */
static int finish_candidate(struct mctx *m, int edit_rc)
{
	int keep = 0;
	if (edit_rc == 0) {
		struct diag d = {0};
		m->st->tries++;
		struct oracle_verdict v;
		if (verifier_check(m->cand, &d) == 0 && oracle_check(m->o, m->cand, &v) &&
		    minimize_holds(m->want, &v)) {
			keep = 1;
			*m->v = v;
		}
	}
	if (keep) {
		prog_set_free(m->cur);
		memcpy(m->cur, m->cand, sizeof(*m->cur));
		memset(m->cand, 0, sizeof(*m->cand));
		m->st->kept++;
	} else
		prog_set_free(m->cand);
	return keep;
}

static int pass_programs(struct mctx *m)
{
	int progress = 0;
	for (int pi = m->cur->nprogs - 1; pi >= 1; pi--) {
		if (start_candidate(m))
			break;
		progress |= finish_candidate(m, delete_program(m->cand, pi));
	}
	return progress;
}

static int pass_slots(struct mctx *m)
{
	int progress = 0;
	for (int a = 0; a < m->cur->narrays; a++) {
		for (int s = m->cur->arrays[a].nslots - 1; s >= 0; s--) {
			if (m->cur->arrays[a].slot[s] < 0 || start_candidate(m))
				continue;
			m->cand->arrays[a].slot[s] = -1;
			progress |= finish_candidate(m, 0);
		}
		/* fewer slots: the ones past the last program, then all but one */
		int last = -1;
		for (int s = 0; s < m->cur->arrays[a].nslots; s++)
			if (m->cur->arrays[a].slot[s] >= 0)
				last = s;
		int want[2] = {last + 1, 1};
		for (int k = 0; k < 2; k++) {
			if (want[k] < 1 || want[k] >= m->cur->arrays[a].nslots || start_candidate(m))
				continue;
			m->cand->arrays[a].nslots = want[k];
			for (int s = want[k]; s < PROG_MAX_SLOTS; s++)
				m->cand->arrays[a].slot[s] = -1;
			progress |= finish_candidate(m, 0);
		}
	}
	return progress;
}

static int pass_functions(struct mctx *m)
{
	int progress = 0;
	for (int pi = 0; pi < m->cur->nprogs; pi++)
		for (int fi = m->cur->progs[pi].nfuncs - 1; fi >= 1; fi--) {
			if (fi >= m->cur->progs[pi].nfuncs || start_candidate(m))
				continue;
			progress |= finish_candidate(m, delete_function(m->cand, m->cur, pi, fi));
		}
	return progress;
}

/* Runs of instructions, halving the run length, from each program's end. */
static int pass_insns(struct mctx *m)
{
	int progress = 0;
	for (int pi = 0; pi < m->cur->nprogs; pi++) {
		for (int chunk = m->cur->progs[pi].len / 2; chunk >= 1; chunk /= 2) {
			for (int start = m->cur->progs[pi].len - chunk; start >= 0; start--) {
				if (start + chunk > m->cur->progs[pi].len)
					continue;
				if (start_candidate(m))
					return progress;
				int kept = finish_candidate(m, delete_range(m->cand, pi, start, chunk));
				progress |= kept;
				/* past a failed cut, move by the run length: fine steps only at 1 */
				if (!kept && chunk > 1)
					start -= chunk - 1;
			}
		}
	}
	return progress;
}

/* Constants towards 0 and 1: immediates of ALU, store and compare rows and
 * plain lddw values. */
static int pass_constants(struct mctx *m)
{
	int progress = 0;
	for (int pi = 0; pi < m->cur->nprogs; pi++)
		for (int pc = 0; pc < m->cur->progs[pi].len; pc++) {
			const struct bpf_insn *in = &m->cur->progs[pi].insns[pc];
			int f = fmt_of(in);
			int lddw = f == FMT_LDDW && in->src == 0 && pc + 1 < m->cur->progs[pi].len;
			if (f != FMT_ALU_K && f != FMT_ST && f != FMT_JMP_K && !lddw)
				continue;
			static const int32_t simpler[] = {0, 1};
			for (int k = 0; k < 2; k++) {
				const struct bpf_insn *now = &m->cur->progs[pi].insns[pc];
				if (now->imm == simpler[k] && (!lddw || now[1].imm == 0))
					break;
				if (start_candidate(m))
					return progress;
				struct bpf_insn *c = &m->cand->progs[pi].insns[pc];
				c->imm = simpler[k];
				if (lddw)
					c[1].imm = 0;
				if (finish_candidate(m, 0)) {
					progress = 1;
					break;
				}
			}
			if (lddw)
				pc++;
		}
	return progress;
}

static int pass_mem(struct mctx *m)
{
	int progress = 0;
	while (m->cur->mem_len > 0) {
		if (start_candidate(m))
			break;
		m->cand->mem_len = m->cur->mem_len / 2;
		if (!finish_candidate(m, 0))
			break;
		progress = 1;
	}
	return progress;
}

int minimize_set(struct prog_set *set, struct oracle *o, const struct oracle_verdict *want, struct oracle_verdict *v,
		 long max_tries, struct minimize_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->insns_before = minimize_count(set);
	st->progs_before = set->nprogs;
	*v = *want;
	struct mctx m = {.cur = set, .o = o, .want = want, .v = v, .max_tries = max_tries, .st = st};
	m.cand = malloc(sizeof(*m.cand));
	if (!m.cand)
		return -1;
	prog_set_init(m.cand);
	for (int progress = 1; progress && !out_of_tries(&m);) {
		progress = pass_programs(&m);
		progress |= pass_slots(&m);
		progress |= pass_functions(&m);
		progress |= pass_insns(&m);
		progress |= pass_constants(&m);
		progress |= pass_mem(&m);
	}
	free(m.cand);
	/* the records of the last candidate are in O: run the result again */
	struct oracle_verdict last;
	if (oracle_check(o, set, &last))
		*v = last;
	st->insns_after = minimize_count(set);
	st->progs_after = set->nprogs;
	return m.oom ? -1 : 0;
}
