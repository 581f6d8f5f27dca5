/* The minimiser (issue 4): shrinks a program set while the oracle keeps
 * reporting the same kind of disagreement between the same engines. It
 * drops programs, prog-array slots, whole functions and runs of
 * instructions (jump and call offsets re-aimed), and simplifies constants;
 * every candidate is verified before it is run, so the result is a set the
 * verifier accepts. */
#ifndef BPFDIFF_MINIMIZE_H
#define BPFDIFF_MINIMIZE_H

#include "../core/prog.h"
#include "../oracle/oracle.h"

struct minimize_stats {
	long tries, kept; /* candidates run, and those that kept the verdict */
	int insns_before, insns_after;
	int progs_before, progs_after;
};

/* What must hold: the class of WANT and the engines it names (and, for a
 * verifier disagreement, the kind of rejection). */
int minimize_holds(const struct oracle_verdict *want, const struct oracle_verdict *got);

/* Shrinks SET (verified; replaced by the smaller set, verified) while
 * oracle O reports a verdict that holds against WANT. V receives the last
 * verdict, for the finding's header. MAX_TRIES bounds the work (0: no
 * bound). Returns 0, or -1 when out of memory. */
int minimize_set(struct prog_set *set, struct oracle *o, const struct oracle_verdict *want, struct oracle_verdict *v,
		 long max_tries, struct minimize_stats *st);

/* The set's instruction count, lddw counted once. */
int minimize_count(const struct prog_set *set);

#endif
