/* Engines behind one interface (issue 4): each runs a verified program set
 * and fills an outcome record. An engine is named by a spec: its kind, and
 * optionally one model of SPEC sec. 9 ("interp", "jit",
 * "jit:jit-tail-limit-32"). */
#ifndef BPFDIFF_ENGINE_H
#define BPFDIFF_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/outcome.h"
#include "../core/prog.h"
#include "../interp/interp.h"
#include "../jit/jit.h"

struct engine;

/* An engine's run: fills OUT for the verified SET. Returns an engine_status;
 * ERR says why for anything but ENGINE_RAN. */
typedef int engine_run_fn(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len);
/* 0 when the engine can run on this host, else -1 with the reason in WHY
 * (one line: the CLI prints it and skips the engine). */
typedef int engine_probe_fn(char *why, size_t len);

enum engine_status {
	ENGINE_RAN = 0,		/* OUT holds its record */
	ENGINE_ERROR = -1,	/* the engine failed to run (a bug in it, or in our glue) */
	ENGINE_REJECTED = 1,	/* the engine's own loader or verifier refused the set (ERR: its log) */
	ENGINE_UNSUPPORTED = 2, /* the set uses what the engine lacks (calls, tail calls...): not compared */
};

/* X(ID, NAME, RUN, PROBE, FIELDS, WHAT): every engine kind. FIELDS are the
 * EXPECT_* bits of the record the engine can observe; the oracle compares
 * the fields both engines of a pair observe. A row is an engine: its run
 * function lives in its own file (oracle/engine_NAME.c). */
#define ENGINE_KIND_LIST(X)                                                                                      \
	X(INTERP, "interp", engine_interp_run, NULL, OUTCOME_ALL_FIELDS | ENGINE_HAS_BUDGET,                     \
	  "the reference interpreter (interp/)")                                                                 \
	X(JIT, "jit", engine_jit_run, NULL, OUTCOME_ALL_FIELDS | ENGINE_HAS_BUDGET,                              \
	  "the x86-64 JIT in its sandbox (jit/)")                                                                \
	X(KERNEL, "kernel", engine_kernel_run, engine_kernel_probe, EXPECT_OUTCOME | EXPECT_R0 | EXPECT_CONTEXT, \
	  "the running Linux kernel, through libbpf and BPF_PROG_TEST_RUN")

/* In FIELDS: the engine counts SPEC's instruction budget. A run that ends in
 * `budget` is not compared with an engine that has none (it would run on). */
#define ENGINE_HAS_BUDGET (1u << 16)

enum engine_kind {
#define EK_ENUM(id, name, run, probe, fields, what) ENGINE_##id,
	ENGINE_KIND_LIST(EK_ENUM)
#undef EK_ENUM
	    ENGINE_NUM_KINDS
};

#define EK_DECL(id, name, run, probe, fields, what) engine_run_fn run;
ENGINE_KIND_LIST(EK_DECL)
#undef EK_DECL
engine_probe_fn engine_kernel_probe;

struct engine_kind_row {
	const char *name;
	engine_run_fn *run;
	engine_probe_fn *probe; /* NULL: always available */
	unsigned fields;
	const char *what;
};
extern const struct engine_kind_row engine_kinds[ENGINE_NUM_KINDS];

/* 0 when engine kind K can run here; else -1 and WHY. */
int engine_probe(enum engine_kind k, char *why, size_t len);

/* X(NAME, ENGINE, INTERP_MODEL, JIT_MODEL, WHAT): the models of SPEC sec. 9. */
#define ENGINE_MODEL_LIST(X)                                                                                       \
	X("kernel-interp-stack", ENGINE_INTERP, INTERP_MODEL_KERNEL_STACK, JIT_MODEL_NONE,                         \
	  "the kernel's interpreter: a stack buffer per call, reused by tail calls; a tail-call counter per call") \
	X("jit-per-frame-tail-count", ENGINE_JIT, INTERP_MODEL_NONE, JIT_MODEL_PER_FRAME_TCC,                      \
	  "the x86-64 JIT before v6.12 (116e04ba1459): a tail-call counter per frame")                             \
	X("jit-count-empty-slots", ENGINE_JIT, INTERP_MODEL_NONE, JIT_MODEL_COUNT_EMPTY,                           \
	  "before 3733f4be2870: a tail call into an empty slot counts")                                            \
	X("jit-tail-limit-32", ENGINE_JIT, INTERP_MODEL_NONE, JIT_MODEL_LIMIT_32,                                  \
	  "the tail-call limit at 32 instead of MAX_TAIL_CALL_CNT = 33")

struct engine_model {
	const char *name;
	enum engine_kind engine;
	enum interp_model interp_model;
	enum jit_model jit_model;
	const char *what;
};
extern const struct engine_model engine_models[];
extern const int engine_nmodels;
const struct engine_model *engine_model_find(const char *name);

struct engine {
	enum engine_kind kind;
	const struct engine_model *model; /* NULL: the reference semantics */
	char name[64];			  /* its spec, as written back */
	uint64_t ns_compile, ns_run;	  /* time spent, summed over runs */
};

/* "interp" | "jit", optionally ":MODEL". 0, or -1 with a message in ERR. */
int engine_parse(struct engine *e, const char *spec, char *err, size_t len);
/* An engine of KIND with MODEL if the model belongs to that kind. */
void engine_make(struct engine *e, enum engine_kind kind, const struct engine_model *model);
/* Runs SET (verified) once. OUT is initialised here; the caller frees it
 * with outcome_free. Returns an engine_status (ERR says why when not
 * ENGINE_RAN). */
int engine_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len);

/* CLOCK_MONOTONIC in nanoseconds, for the engines' timings. */
uint64_t engine_now_ns(void);

/* The JIT's native stack: per frame the return address, rbp and four
 * callee-saved registers beside the BPF frame; and what the runtime's C
 * functions called from JITed code may use below the deepest frame. */
#define ENGINE_JIT_FRAME_BYTES 48
#define ENGINE_JIT_RUNTIME_BYTES 8192

#endif
