/* The program set (SPEC.md sec. 2): what one run executes, shared by every
 * engine, the verifier, the text format and the oracle. */
#ifndef BPFDIFF_PROG_H
#define BPFDIFF_PROG_H

#include <stddef.h>
#include <stdint.h>

#include "isa.h"

#define PROG_MAX_PROGS 64
#define PROG_MAX_ARRAYS 16
#define PROG_MAX_SLOTS 256
#define PROG_MAX_INSNS 100000
#define PROG_MAX_FUNCS 64
#define PROG_MAX_MEM 65536
#define PROG_NAME_MAX 48
#define RES_KINDS 8
#define RES_DEFAULT_POOL 4
#define RES_MAX_POOL 64
#define BUDGET_DEFAULT 65536

#define MAX_BPF_STACK 512
#define MAX_CALL_FRAMES 8
#define MAX_TAIL_CALL_CNT 33

/* A function of a program as the verifier found it. */
struct prog_func {
	int start, end; /* instruction range [start, end) */
	int depth;	/* deepest byte below R10 touched */
	int cost;	/* round_up(depth, 16) */
	int has_tail_call;
	int is_exception_cb;
};

struct prog {
	char name[PROG_NAME_MAX];
	struct bpf_insn *insns;
	int len;
	int *lines;	  /* source line of each instruction, or NULL */
	int exception_cb; /* pc of the exception callback, or -1 */
	int line;	  /* line of the program's header */
	/* Filled by the verifier. */
	int nfuncs;
	struct prog_func funcs[PROG_MAX_FUNCS];
	int *func_of;	     /* function index of each pc */
	uint8_t *ops;	     /* opcode table row of each pc (ISA_OP_NONE: lddw's second slot) */
	uint16_t *tc_arrays; /* per pc: bit a set when a tail call there may use prog array a */
	uint8_t *mem_kind;   /* per pc: MEM_KIND_* bits of the pointers a load or store there uses */
	int16_t *tc_slot;    /* per pc: the tail call's index when always the same constant, -1 if not */
	int depth_bound;     /* verifier: deepest summed frame cost of one call chain */
	long processed;	     /* verifier: instructions explored, as the kernel's log says */
};

#define ISA_OP_NONE 0xff
enum { MEM_KIND_STACK = 1, MEM_KIND_CTX = 2 };

struct prog_array {
	char name[PROG_NAME_MAX];
	int nslots;
	int slot[PROG_MAX_SLOTS]; /* program index, or -1 for empty */
};

/* What the file says a run must report (each field optional). */
enum {
	EXPECT_OUTCOME = 1 << 0,
	EXPECT_R0 = 1 << 1,
	EXPECT_FAULT = 1 << 2,
	EXPECT_TAIL_CALLS = 1 << 3,
	EXPECT_STACK_HWM = 1 << 4,
	EXPECT_DESTRUCTORS = 1 << 5,
	EXPECT_TRACE = 1 << 6,
	EXPECT_CONTEXT = 1 << 7,
	EXPECT_ERROR = 1 << 8,
};

/* Verifier options. ISA_SHIFTS: an immediate shift count out of range is
 * masked, as RFC 9669 defines, instead of rejected as the kernel does (the
 * bpf_conformance suite tests the masking). */
enum { VERIFY_ISA_SHIFTS = 1 << 0 };

struct outcome; /* core/outcome.h */

struct prog_set {
	char *file;
	int nprogs;
	struct prog progs[PROG_MAX_PROGS];
	int narrays;
	struct prog_array arrays[PROG_MAX_ARRAYS];
	uint8_t *mem;
	size_t mem_len;
	int pool[RES_KINDS];
	uint64_t budget;
	/* expectations */
	unsigned expect_mask;
	struct outcome *expect;
	char *expect_error; /* substring for EXPECT_ERROR, may be "" */
	int expect_line;
	/* verifier options and results */
	unsigned verify_flags; /* VERIFY_* */
	int verified;
	uint64_t static_stack_bound;
};

void prog_set_init(struct prog_set *set);
void prog_set_free(struct prog_set *set);
/* DST = the programs, arrays, memory, pools and budget of SRC, unverified
 * and without expectations (DST need not be initialised). 0, or -1 when out
 * of memory. */
int prog_set_copy(struct prog_set *dst, const struct prog_set *src);
int prog_find(const struct prog_set *set, const char *name);
int prog_array_find(const struct prog_set *set, const char *name);
/* Source line of pc in program p, or the program header's line. */
int prog_line(const struct prog *p, int pc);

#endif
