/* What the code generator (jit_x86.c) and the sandbox (sandbox.c) share. */
#ifndef BPFDIFF_JIT_INTERNAL_H
#define BPFDIFF_JIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/runtime.h"
#include "jit.h"

#define RT_MAX_FRAMES_MODEL 300

enum { JIT_RUNNING = 0, JIT_STOP_BUDGET, JIT_STOP_CTX_READ, JIT_STOP_CTX_WRITE, JIT_STOP_ESCAPE };

/* The run state; r12 points here while JITed code runs. */
struct jit_state {
	uint64_t harness_rsp;
	uint64_t budget_used, budget;
	uint64_t ctx, ctx_len;
	uint64_t stack_lo, stack_hi;
	uint32_t tail_calls;
	uint32_t cur_stack, stack_hwm;
	uint32_t status;
	int32_t stop_prog, stop_pc;
	int32_t thrown;	      /* the bottom frame's boundary was unwound */
	uint32_t tcc;	      /* the tail-call counter (SPEC sec. 5: one per run) */
	uint32_t depth, pass; /* per-frame-counter model: frame depth, count handed to the next frame */
	uint32_t frame_tcc[RT_MAX_FRAMES_MODEL];
	uint64_t bodies[PROG_MAX_PROGS]; /* each program's main body, for tail calls */
};

struct jit_prog {
	long *pc_off; /* native offset of each pc */
	size_t func_entry[PROG_MAX_FUNCS], func_body[PROG_MAX_FUNCS], func_epilogue[PROG_MAX_FUNCS],
	    func_end[PROG_MAX_FUNCS];
	size_t cb_landing;
};

struct jit_image {
	const struct prog_set *set;
	uint8_t *code; /* mmap'd, read + execute */
	size_t code_len, map_len;
	size_t ret_point_off, stop_off, resume_off;
	int model;
	struct jit_prog progs[PROG_MAX_PROGS];
};

struct jit_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

struct jit_fixup {
	size_t at;
	int prog, pc;
	int is_call;
};

struct jit_ctx {
	const struct prog_set *set;
	struct jit_image *img;
	const struct prog *p;
	struct jit_buf b;
	int prog, func, pc, cost;
	struct jit_fixup *fix;
	int nfix, fix_cap;
	/* stops emitted out of line at the function's end: the hot path only
	 * has a not-taken jump to them */
	struct jit_deferred {
		size_t at;
		int status, pc;
	} * def;
	int ndef, def_cap;
};

/* Helpers and kfuncs as JITed code calls them (C ABI, BPF R1-R5 = args). */
uint64_t jit_helper_trace(uint64_t v);
uint64_t jit_helper_acquire(uint64_t kind);
uint64_t jit_helper_release(uint64_t h);
uint64_t jit_helper_id(uint64_t h);
void jit_helper_throw(uint64_t cookie, uint64_t rbp, uint64_t func);

/* Maps the emitted code W^X: written while read-write, then read + execute. */
int jit_sandbox_map(struct jit_image *img, const uint8_t *code, size_t len, char *err, size_t errlen);

#endif
