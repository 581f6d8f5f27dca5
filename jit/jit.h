/* The x86-64 JIT (issue 3): compiles a verified program set to native code
 * in an mmap'd image and runs it in a sandbox (jit/sandbox.c). Its mechanics
 * follow arch/x86/net/bpf_jit_comp.c: one native frame per BPF function with
 * rbp as R10, rbx/r13/r14/r15 as R6-R9, tail calls that release the current
 * frame and jump past the target's prologue, one tail-call counter per run
 * reached through a pointer (r12 holds the run state), helpers and kfuncs
 * through the C ABI. */
#ifndef BPFDIFF_JIT_H
#define BPFDIFF_JIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/outcome.h"
#include "../core/prog.h"

struct jit_image;

/* Historical bugs of the kernel's JIT (SPEC sec. 9), off by default. */
enum jit_model {
	JIT_MODEL_NONE = 0,
	JIT_MODEL_PER_FRAME_TCC, /* before v6.12: each frame's counter, copied to callees, lost on return */
	JIT_MODEL_COUNT_EMPTY,	 /* before 3733f4be2870: a tail call into an empty slot counts */
	JIT_MODEL_LIMIT_32,	 /* the limit at 32 instead of 33 */
};

/* Compiles SET (verified). Returns NULL with a message in ERR on failure. */
struct jit_image *jit_compile(const struct prog_set *set, char *err, size_t errlen);
struct jit_image *jit_compile_model(const struct prog_set *set, enum jit_model model, char *err, size_t errlen);
void jit_free(struct jit_image *img);
/* Runs the image once; fills OUT (initialised by the caller). */
int jit_run(struct jit_image *img, struct outcome *out);
/* Native code size of the image, and the native offset where BPF pc of
 * program p starts (for disassembly listings). */
size_t jit_code_size(const struct jit_image *img);
const uint8_t *jit_code(const struct jit_image *img);
long jit_pc_offset(const struct jit_image *img, int prog, int pc);

#include <stdio.h>
/* The native code per function, disassembled with capstone, annotated with
 * the BPF instructions (jit_disasm.c). */
int jit_disasm(FILE *f, const struct jit_image *img);

#endif
