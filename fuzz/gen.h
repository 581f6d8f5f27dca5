/* The structure-aware generator (issue 4): program sets heavy in
 * bpf-to-bpf calls, tail calls, exceptions with held resources and stack
 * depths near the verifier's bounds. Every decision is a choice
 * (fuzz/choice.h). What it emits is meant to verify, but is never trusted:
 * the caller runs the verifier and counts rejects. */
#ifndef BPFDIFF_GEN_H
#define BPFDIFF_GEN_H

#include "../core/prog.h"
#include "choice.h"

enum gen_profile {
	GEN_PROFILE_FULL = 0, /* everything SPEC.md defines */
	GEN_PROFILE_KERNEL,   /* what the kernel engine runs: no prog arrays, bpfdiff-only calls, callbacks, faults */
};

struct gen_opts {
	int size; /* aimed-at instructions in the whole set (about; 0: 200) */
	enum gen_profile profile;
};

/* Fills SET (freshly initialised) from C. Returns 0, or -1 when out of
 * memory or past a limit (the set is then freed). */
int gen_set(struct choice *c, const struct gen_opts *o, struct prog_set *set);

#endif
