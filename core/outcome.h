/* The outcome record (SPEC.md sec. 8): what every engine reports for a run,
 * and what the oracle compares field by field. */
#ifndef BPFDIFF_OUTCOME_H
#define BPFDIFF_OUTCOME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OUTCOME_MAX_DESTRUCTORS 1024
#define OUTCOME_MAX_TRACE 1024

#define OUTCOME_KIND_LIST(X)                  \
	X(EXIT, "exit")                       \
	X(THROW, "throw")                     \
	X(FAULT, "fault")                     \
	X(BUDGET, "budget")                   \
	X(VERIFIER_ESCAPE, "verifier_escape") \
	X(CRASH, "cras"                       \
		 "h")

enum outcome_kind {
#define OK_ENUM(e, s) OUTCOME_##e,
	OUTCOME_KIND_LIST(OK_ENUM)
#undef OK_ENUM
	    OUTCOME_NUM_KINDS
};

#define FAULT_KIND_LIST(X)                  \
	X(NONE, "none")                     \
	X(CTX_READ, "ctx_read")             \
	X(CTX_WRITE, "ctx_write")           \
	X(STACK_OVERFLOW, "stack_overflow") \
	X(STACK_BOUNDS, "stack_bounds") X(BAD_POINTER, "bad_pointer") X(SIGNAL, "signal")

enum fault_kind {
#define FK_ENUM(e, s) FAULT_##e,
	FAULT_KIND_LIST(FK_ENUM)
#undef FK_ENUM
	    FAULT_NUM_KINDS
};

struct destructor {
	uint8_t kind;
	uint32_t id;
};

struct outcome {
	enum outcome_kind kind;
	uint64_t r0;
	uint8_t r0_low32; /* only the low 32 bits of r0 were observed (the kernel's test_run retval) */
	enum fault_kind fault;
	int fault_prog, fault_pc; /* -1 when unknown */
	uint32_t tail_calls;
	uint32_t stack_hwm;
	uint64_t native_stack_hwm; /* JIT only, not compared */
	uint32_t ndestructors;
	struct destructor destructors[OUTCOME_MAX_DESTRUCTORS];
	uint32_t ntrace;
	uint64_t trace[OUTCOME_MAX_TRACE];
	int destructors_overflow, trace_overflow;
	uint8_t *context;
	size_t context_len;
};

struct prog_set;

/* Every compared field (EXPECT_* bits; native_stack_hwm is engine-specific). */
#define OUTCOME_ALL_FIELDS 0xffu

void outcome_init(struct outcome *o);
void outcome_free(struct outcome *o);
const char *outcome_kind_name(enum outcome_kind k);
const char *fault_kind_name(enum fault_kind k);
int outcome_kind_parse(const char *s);
int fault_kind_parse(const char *s);
/* The record in the text format of an `-- expect` section. */
void outcome_print(FILE *f, const struct prog_set *set, const struct outcome *o);
void outcome_print_json(FILE *f, const struct prog_set *set, const struct outcome *o);
/* The first field in MASK (EXPECT_*) where a and b differ: writes a short
 * description to buf and returns the EXPECT_ bit, or 0 when they agree. */
unsigned outcome_diff(const struct prog_set *set, const struct outcome *a, const struct outcome *b, unsigned mask,
		      char *buf, size_t len);

#endif
