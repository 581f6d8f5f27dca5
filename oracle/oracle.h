/* The oracle (issue 4): runs a program set on every engine, compares the
 * outcome records field by field against the first engine's, holds the
 * measured stack figures against the verifier's static bounds, and names
 * each disagreement with a one-line signature. */
#ifndef BPFDIFF_ORACLE_H
#define BPFDIFF_ORACLE_H

#include <stdio.h>

#include "engine.h"

#define ORACLE_MAX_ENGINES 4

/* What a finding is about: a compared field, or a broken claim. */
#define ORACLE_CLASS_LIST(X)                                                                                \
	X(OUTCOME, "outcome")                                                                               \
	X(R0, "r0")                                                                                         \
	X(FAULT, "fault")                                                                                   \
	X(TAIL_CALLS, "tail_calls")                                                                         \
	X(STACK_HWM, "stack_hwm")                                                                           \
	X(DESTRUCTORS, "destructors")                                                                       \
	X(TRACE, "trace")                                                                                   \
	X(CONTEXT, "context")                                                                               \
	X(STACK_BOUND, "stack_bound") X(NATIVE_BOUND, "native_bound") X(VERIFIER_ESCAPE, "verifier_escape") \
	    X(VERIFIER_DISAGREE, "verifier_disagree") X(ENGINE_ERROR, "engine_error")

enum oracle_class {
	ORACLE_NONE = 0,
#define OC_ENUM(e, s) ORACLE_##e,
	ORACLE_CLASS_LIST(OC_ENUM)
#undef OC_ENUM
};
const char *oracle_class_name(enum oracle_class c);

struct oracle {
	int nengines;
	struct engine eng[ORACLE_MAX_ENGINES];
	unsigned fields; /* EXPECT_* bits compared (OUTCOME_ALL_FIELDS) */
	struct outcome out[ORACLE_MAX_ENGINES];
	int status[ORACLE_MAX_ENGINES];	   /* each engine's enum engine_status in the last check */
	char log[ORACLE_MAX_ENGINES][256]; /* and why, when it did not run */
	int have_out;
};

struct oracle_verdict {
	enum oracle_class cls; /* ORACLE_NONE: every engine agreed */
	int a, b;	       /* the engines that disagree (b == a for a broken claim) */
	char signature[160];   /* "CLASS@PROG.fFUNC:PC", the deduplication key */
	char detail[320];      /* what differs, for people */
};

void oracle_init(struct oracle *o);
/* Adds an engine (at most ORACLE_MAX_ENGINES). */
int oracle_add(struct oracle *o, const struct engine *e);
/* The usual pair: the interpreter and the JIT, MODEL (may be NULL) applied
 * to the engine it belongs to. */
void oracle_default(struct oracle *o, const struct engine_model *model);
/* Runs the verified SET on every engine; fills V. The records stay in
 * o->out until the next call or oracle_free. Returns 1 for a finding. */
int oracle_check(struct oracle *o, const struct prog_set *set, struct oracle_verdict *v);
void oracle_free(struct oracle *o);

/* Adds the engines of LIST, comma-separated specs ("interp,jit:MODEL").
 * 0, or -1 with the reason in ERR. */
int oracle_add_list(struct oracle *o, const char *list, char *err, size_t len);

/* Drops the engines this host cannot run, printing `skip: ENGINE: why` to
 * SAY for each. Returns how many are left. */
int oracle_drop_unavailable(struct oracle *o, FILE *say);

/* The engines as a comma-separated list of specs. */
void oracle_engines(const struct oracle *o, char *buf, size_t len);

#endif
