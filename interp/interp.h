/* The reference interpreter (SPEC.md, docs/semantics.md): runs a verified
 * program set and fills the outcome record. */
#ifndef BPFDIFF_INTERP_H
#define BPFDIFF_INTERP_H

#include "../core/outcome.h"
#include "../core/prog.h"

/* Models of the kernel's own engines (SPEC sec. 9), off by default. */
enum interp_model {
	INTERP_MODEL_NONE = 0,
	/* the kernel interpreter: per-call stack buffers of
	 * round_up(max(depth,1),32) bytes reused by tail calls, and a tail-call
	 * counter per bpf-to-bpf call */
	INTERP_MODEL_KERNEL_STACK = 1,
};

struct interp_opts {
	enum interp_model model;
};

/* Runs SET (which verifier_check accepted) once. OUT must be initialised;
 * its context is allocated here (outcome_free releases it). Returns 0. */
int interp_run(const struct prog_set *set, const struct interp_opts *opts, struct outcome *out);

#endif
