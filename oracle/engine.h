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

enum engine_kind { ENGINE_INTERP, ENGINE_JIT };

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
 * with outcome_free. 0, or -1 when the engine could not run (ERR says why). */
int engine_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len);

/* The JIT's native stack: per frame the return address, rbp and four
 * callee-saved registers beside the BPF frame; and what the runtime's C
 * functions called from JITed code may use below the deepest frame. */
#define ENGINE_JIT_FRAME_BYTES 48
#define ENGINE_JIT_RUNTIME_BYTES 8192

#endif
