/* The verifier (SPEC.md sec. 4): structural checks, then an abstract
 * interpretation of every program with the kernel's rules and error texts,
 * then the kernel's static stack walk (check_max_stack_depth) and the static
 * stack bound over tail-call paths that the oracle holds runs against. */
#ifndef BPFDIFF_VERIFIER_H
#define BPFDIFF_VERIFIER_H

#include <stdint.h>

#include "diag.h"
#include "prog.h"

/* Limits of the exploration, as the kernel's BPF_COMPLEXITY_LIMIT_INSNS. */
#define VERIFIER_MAX_PROCESSED 1000000

/* Verifies every program of SET. On success fills each program's ops,
 * funcs, func_of, tc_arrays and depth_bound, and set->static_stack_bound,
 * and sets set->verified. Returns 0, or -1 with the error (file:line of the
 * offending instruction) in D. */
int verifier_check(struct prog_set *set, struct diag *d);

/* The static stack bound of a verified SET with PER_FRAME bytes added to
 * every frame's cost: 0 gives set->static_stack_bound; an engine's fixed
 * frame overhead gives its native bound. -1 when out of memory. */
int64_t verifier_stack_bound(const struct prog_set *set, int per_frame);

#endif
