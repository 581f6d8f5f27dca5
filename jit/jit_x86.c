/* x86-64 code generation. Register mapping as the kernel's JIT:
 *   R0 rax, R1 rdi, R2 rsi, R3 rdx, R4 rcx, R5 r8 (the C ABI's argument
 *   registers, so helpers are called directly), R6 rbx, R7 r13, R8 r14,
 *   R9 r15 (callee-saved), R10 rbp; r10 and r11 are scratch, r9 holds the
 *   budget count (spilled to the run state around C calls),
 *   scratch, r12 points at the run state (struct jit_state).
 * Frame of a function with cost S (round_up(depth, 16), SPEC sec. 4):
 *   [rbp+8] return address, [rbp] caller's rbp, [rbp-S, rbp) the BPF stack,
 *   then the caller's rbx, r13, r14, r15 pushed below it.
 * Every emitted sequence has its assembly in a comment. Jumps are resolved
 * through a pc-to-offset table and fixups patched after emission; errors are
 * sticky in the buffer (as uBPF's JIT). */
#include "jit_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../core/runtime.h"

enum {
	RAX = 0,
	RCX = 1,
	RDX = 2,
	RBX = 3,
	RSP = 4,
	RBP = 5,
	RSI = 6,
	RDI = 7,
	R8 = 8,
	R9 = 9,
	R10 = 10,
	R11 = 11,
	R12 = 12,
	R13 = 13,
	R14 = 14,
	R15 = 15
};

static const uint8_t bpf2x86[11] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
#define AX R10 /* scratch */
#define BX R11 /* scratch */
#define ST R12 /* run state */

/* ---- the buffer ---- */

static void emit1(struct jit_buf *b, uint8_t x)
{
	if (b->err)
		return;
	if (b->len == b->cap) {
		size_t n = b->cap ? b->cap * 2 : 4096;
		uint8_t *p = realloc(b->p, n);
		if (!p) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = n;
	}
	b->p[b->len++] = x;
}

static void emit4(struct jit_buf *b, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		emit1(b, (uint8_t)(x >> (8 * i)));
}

static void emit8(struct jit_buf *b, uint64_t x)
{
	emit4(b, (uint32_t)x);
	emit4(b, (uint32_t)(x >> 32));
}

static void patch4(struct jit_buf *b, size_t at, uint32_t x)
{
	if (b->err || at + 4 > b->len)
		return;
	for (int i = 0; i < 4; i++)
		b->p[at + i] = (uint8_t)(x >> (8 * i));
}

/* REX prefix; FORCE for byte registers sil/dil/spl/bpl */
static void rex(struct jit_buf *b, int w, int r, int x, int rm, int force)
{
	uint8_t v = (uint8_t)(0x40 | (w << 3) | ((r & 8) >> 1) | ((x & 8) >> 2) | ((rm & 8) >> 3));
	if (v != 0x40 || force)
		emit1(b, v);
}

static void modrm(struct jit_buf *b, int mod, int reg, int rm)
{
	emit1(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
}

/* [base + disp32], with the SIB byte rsp/r12 need */
static void mem_operand(struct jit_buf *b, int reg, int base, int32_t disp)
{
	modrm(b, 2, reg, base);
	if ((base & 7) == RSP)
		emit1(b, 0x24);
	emit4(b, (uint32_t)disp);
}

/* OP dst, src (register form, "op r/m, r" encodings: 01 add, 29 sub, ...) */
static void alu_rr(struct jit_buf *b, uint8_t op, int w, int dst, int src)
{
	rex(b, w, src, 0, dst, 0);
	emit1(b, op);
	modrm(b, 3, src, dst);
}

/* OP dst, imm32 (81 /digit id, or 83 /digit ib) */
static void alu_ri(struct jit_buf *b, int digit, int w, int dst, int32_t imm)
{
	rex(b, w, 0, 0, dst, 0);
	if (imm >= -128 && imm <= 127) {
		emit1(b, 0x83);
		modrm(b, 3, digit, dst);
		emit1(b, (uint8_t)imm);
	} else {
		emit1(b, 0x81);
		modrm(b, 3, digit, dst);
		emit4(b, (uint32_t)imm);
	}
}

/* mov dst, src (64: REX.W 89 /r; 32: 89 /r, zero-extending) */
static void mov_rr(struct jit_buf *b, int w, int dst, int src)
{
	alu_rr(b, 0x89, w, dst, src);
}

/* dst = imm64 with the shortest encoding */
static void mov_ri64(struct jit_buf *b, int dst, uint64_t imm)
{
	if (imm <= UINT32_MAX) {
		rex(b, 0, 0, 0, dst, 0); /* mov r32, imm32 (B8+r id), zero-extends */
		emit1(b, (uint8_t)(0xb8 + (dst & 7)));
		emit4(b, (uint32_t)imm);
	} else if ((int64_t)imm >= INT32_MIN && (int64_t)imm <= INT32_MAX) {
		rex(b, 1, 0, 0, dst, 0); /* mov r64, simm32 (REX.W C7 /0 id) */
		emit1(b, 0xc7);
		modrm(b, 3, 0, dst);
		emit4(b, (uint32_t)imm);
	} else {
		rex(b, 1, 0, 0, dst, 0); /* movabs r64, imm64 (REX.W B8+r io) */
		emit1(b, (uint8_t)(0xb8 + (dst & 7)));
		emit8(b, imm);
	}
}

/* OP reg, [base+disp] ("op r, r/m" encodings: 8B mov, 3B cmp, 2B sub, 03 add) */
static void op_rm(struct jit_buf *b, uint8_t op, int w, int reg, int base, int32_t disp)
{
	rex(b, w, reg, 0, base, 0);
	emit1(b, op);
	mem_operand(b, reg, base, disp);
}

/* OP [base+disp], reg ("op r/m, r": 89 mov, 01 add, 29 sub) */
static void op_mr(struct jit_buf *b, uint8_t op, int w, int base, int32_t disp, int reg)
{
	rex(b, w, reg, 0, base, 0);
	emit1(b, op);
	mem_operand(b, reg, base, disp);
}

/* OP dword/qword [base+disp], imm32 (81 /digit id) */
static void op_mi(struct jit_buf *b, int digit, int w, int base, int32_t disp, int32_t imm)
{
	rex(b, w, 0, 0, base, 0);
	emit1(b, 0x81);
	mem_operand(b, digit, base, disp);
	emit4(b, (uint32_t)imm);
}

/* mov dword [base+disp], imm32 (C7 /0 id) */
static void mov_mi32(struct jit_buf *b, int base, int32_t disp, int32_t imm)
{
	rex(b, 0, 0, 0, base, 0);
	emit1(b, 0xc7);
	mem_operand(b, 0, base, disp);
	emit4(b, (uint32_t)imm);
}

/* jcc rel32 (0F 8x) or jmp rel32 (E9) to image offset TARGET; returns where
 * the rel32 field is, for forward targets patched later */
static size_t jcc(struct jit_buf *b, int cc, size_t target)
{
	if (cc < 0) {
		emit1(b, 0xe9);
	} else {
		emit1(b, 0x0f);
		emit1(b, (uint8_t)(0x80 | cc));
	}
	size_t at = b->len;
	emit4(b, (uint32_t)(target - (at + 4)));
	return at;
}

static void patch_here(struct jit_buf *b, size_t at)
{
	patch4(b, at, (uint32_t)(b->len - (at + 4)));
}

enum {
	CC_B = 2,
	CC_AE = 3,
	CC_E = 4,
	CC_NE = 5,
	CC_BE = 6,
	CC_A = 7,
	CC_S = 8,
	CC_L = 0xc,
	CC_GE = 0xd,
	CC_LE = 0xe,
	CC_G = 0xf
};
#define JMP (-1)

/* ---- run-state sequences ---- */

#define STATE(f) ((int32_t)offsetof(struct jit_state, f))

/* Room for one more element of a growing array (doubling); on failure the
 * buffer's sticky error is set and 0 returned. */
static int reserve(struct jit_ctx *j, void **arr, int *cap, int n, size_t elem)
{
	if (n < *cap)
		return 1;
	int ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p) {
		j->b.err = 1;
		return 0;
	}
	*arr = p;
	*cap = ncap;
	return 1;
}

/* A rel32 at AT (a jump or call) to BPF pc TARGET of this program: patched
 * once every pc has its native offset. */
static void add_fixup(struct jit_ctx *j, size_t at, int target, int is_call)
{
	if (reserve(j, (void **)&j->fix, &j->fix_cap, j->nfix, sizeof(*j->fix)))
		j->fix[j->nfix++] = (struct jit_fixup){.at = at, .prog = j->prog, .pc = target, .is_call = is_call};
}

/* Stops the run at (prog, pc) with STATUS: records where, then leaves
 * through the stop stub. */
static void emit_stop(struct jit_ctx *j, int status)
{
	struct jit_buf *b = &j->b;
	mov_mi32(b, ST, STATE(stop_prog), j->prog); /* mov dword [r12+stop_prog], prog */
	mov_mi32(b, ST, STATE(stop_pc), j->pc);	    /* mov dword [r12+stop_pc], pc */
	mov_mi32(b, ST, STATE(status), status);	    /* mov dword [r12+status], status */
	jcc(b, JMP, j->img->stop_off);		    /* jmp stop_stub */
}

/* jcc to an out-of-line stop of this pc, emitted at the function's end */
static void jcc_stop(struct jit_ctx *j, int cc, int status)
{
	size_t at = jcc(&j->b, cc, 0);
	if (!reserve(j, (void **)&j->def, &j->def_cap, j->ndef, sizeof(*j->def)))
		return;
	j->def[j->ndef++] = (struct jit_deferred){.at = at, .status = status, .pc = j->pc};
}

static void emit_deferred_stops(struct jit_ctx *j)
{
	for (int i = 0; i < j->ndef; i++) {
		patch_here(&j->b, j->def[i].at);
		j->pc = j->def[i].pc;
		emit_stop(j, j->def[i].status);
	}
	j->ndef = 0;
}

/* One unit of budget (SPEC sec. 7); stops here when it is past the budget.
 * The count lives in r9 while JITed code runs (kept in memory across C calls),
 * so that a loop's budget check carries no dependency through memory.
 *   inc r9 ; cmp r9, [r12+budget] ; ja stop(budget) (out of line) */
static void emit_budget(struct jit_ctx *j)
{
	struct jit_buf *b = &j->b;
	rex(b, 1, 0, 0, R9, 0); /* inc r9 (REX.W FF /0) */
	emit1(b, 0xff);
	modrm(b, 3, 0, R9);
	op_rm(b, 0x3b, 1, R9, ST, STATE(budget));
	jcc_stop(j, CC_A, JIT_STOP_BUDGET);
}

/* The frame's cost joins the live frames' sum, and the high-water mark.
 *   add dword [r12+cur_stack], S
 *   mov r11d, [r12+cur_stack]
 *   cmp r11d, [r12+stack_hwm]
 *   jbe skip ; mov [r12+stack_hwm], r11d ; skip: */
static void emit_stack_enter(struct jit_ctx *j, int cost)
{
	struct jit_buf *b = &j->b;
	op_mi(b, 0, 0, ST, STATE(cur_stack), cost);
	op_rm(b, 0x8b, 0, BX, ST, STATE(cur_stack));
	op_rm(b, 0x3b, 0, BX, ST, STATE(stack_hwm));
	size_t skip = jcc(b, CC_BE, 0);
	op_mr(b, 0x89, 0, ST, STATE(stack_hwm), BX);
	patch_here(b, skip);
}

/* sub dword [r12+cur_stack], S */
static void emit_stack_leave(struct jit_ctx *j, int cost)
{
	op_mi(&j->b, 5, 0, ST, STATE(cur_stack), cost);
}

/* The body's start: what a tail call jumps to, past push rbp; mov rbp, rsp.
 *   sub rsp, S ; push rbx ; push r13 ; push r14 ; push r15 ; account */
static void emit_body_prologue(struct jit_ctx *j, int cost)
{
	struct jit_buf *b = &j->b;
	if (cost)
		alu_ri(b, 5, 1, RSP, cost); /* sub rsp, S */
	emit1(b, 0x53);			    /* push rbx */
	emit1(b, 0x41);
	emit1(b, 0x55); /* push r13 */
	emit1(b, 0x41);
	emit1(b, 0x56); /* push r14 */
	emit1(b, 0x41);
	emit1(b, 0x57); /* push r15 */
	emit_stack_enter(j, cost);
	if (j->img->model == JIT_MODEL_PER_FRAME_TCC) {
		/* inc dword [r12+depth] ; mov r10d, [r12+depth] ; mov r11d, [r12+pass] ;
		 * mov [r12+r10*4+frame_tcc], r11d */
		rex(b, 0, 0, 0, ST, 0);
		emit1(b, 0xff);
		mem_operand(b, 0, ST, STATE(depth));
		op_rm(b, 0x8b, 0, AX, ST, STATE(depth));
		op_rm(b, 0x8b, 0, BX, ST, STATE(pass));
		emit1(b, 0x47);
		emit1(b, 0x89);
		emit1(b, 0x9c);
		emit1(b, 0x94);
		emit4(b, (uint32_t)STATE(frame_tcc));
	}
}

/* pop r15 ; pop r14 ; pop r13 ; pop rbx */
static void emit_pop_callee_saved(struct jit_buf *b)
{
	emit1(b, 0x41);
	emit1(b, 0x5f);
	emit1(b, 0x41);
	emit1(b, 0x5e);
	emit1(b, 0x41);
	emit1(b, 0x5d);
	emit1(b, 0x5b);
}

/* ---- instruction emitters ---- */

#define DST bpf2x86[in->dst]
#define SRC bpf2x86[in->src]

static void emit_alu(struct jit_ctx *j, const struct bpf_insn *in, uint8_t rr_op, int digit)
{
	int w = isa_is_alu64(in->code);
	if (in->code & BPF_X)
		alu_rr(&j->b, rr_op, w, DST, SRC); /* op dst, src */
	else
		alu_ri(&j->b, digit, w, DST, in->imm); /* op dst, imm */
}

static void emit_mov(struct jit_ctx *j, const struct bpf_insn *in)
{
	int w = isa_is_alu64(in->code);
	if (in->code & BPF_X)
		mov_rr(&j->b, w, DST, SRC);
	else if (w)
		mov_ri64(&j->b, DST, (uint64_t)(int64_t)in->imm);
	else
		mov_ri64(&j->b, DST, (uint32_t)in->imm);
}

static void emit_mul(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int w = isa_is_alu64(in->code);
	if (in->code & BPF_X) {
		rex(b, w, DST, 0, SRC, 0); /* imul dst, src (0F AF /r) */
		emit1(b, 0x0f);
		emit1(b, 0xaf);
		modrm(b, 3, DST, SRC);
	} else {
		rex(b, w, DST, 0, DST, 0); /* imul dst, dst, imm32 (69 /r id) */
		emit1(b, 0x69);
		modrm(b, 3, DST, DST);
		emit4(b, (uint32_t)in->imm);
	}
	if (!w)
		mov_rr(b, 0, DST, DST); /* mov dst32, dst32: zero-extend */
}

/* div/mod, unsigned or signed (off = 1), through rax:rdx which are R0 and R3:
 *   push rax ; push rdx ; mov r11, src ; mov rax, dst
 *   test r11, r11 ; jz by_zero
 *   [signed: cmp r11, -1 ; je by_minus_one]
 *   xor edx, edx | cqo ; div r11 | idiv r11
 *   mov r10, rax (div) | rdx (mod) ; jmp done
 *   by_zero: div: xor r10d, r10d | mod: mov r10, rax (32: mov r10d, eax)
 *   by_minus_one: div: mov r10, rax ; neg r10 | mod: xor r10d, r10d
 *   done: pop rdx ; pop rax ; mov dst, r10 */
static void emit_div(struct jit_ctx *j, const struct bpf_insn *in, int is_mod)
{
	struct jit_buf *b = &j->b;
	int w = isa_is_alu64(in->code);
	int sx = in->off == 1;
	emit1(b, 0x50); /* push rax */
	emit1(b, 0x52); /* push rdx */
	if (in->code & BPF_X)
		mov_rr(b, w, BX, SRC);
	else
		mov_ri64(b, BX, w ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
	mov_rr(b, w, RAX, DST);
	alu_rr(b, 0x85, w, BX, BX); /* test r11, r11 */
	size_t by_zero = jcc(b, CC_E, 0);
	size_t by_m1 = 0;
	if (sx) {
		alu_ri(b, 7, w, BX, -1); /* cmp r11, -1 */
		by_m1 = jcc(b, CC_E, 0);
		rex(b, w, 0, 0, 0, 0); /* cqo / cdq (99) */
		emit1(b, 0x99);
	} else {
		alu_rr(b, 0x31, 0, RDX, RDX); /* xor edx, edx */
	}
	rex(b, w, 0, 0, BX, 0); /* div r11 (F7 /6) or idiv r11 (F7 /7) */
	emit1(b, 0xf7);
	modrm(b, 3, sx ? 7 : 6, BX);
	mov_rr(b, w, AX, is_mod ? RDX : RAX);
	size_t done1 = jcc(b, JMP, 0);
	patch_here(b, by_zero);
	if (is_mod)
		mov_rr(b, w, AX, RAX); /* mod by 0: dst (zero-extended for 32) */
	else
		alu_rr(b, 0x31, 0, AX, AX); /* div by 0: 0 */
	size_t done2 = jcc(b, JMP, 0);
	if (sx) {
		patch_here(b, by_m1);
		if (is_mod) {
			alu_rr(b, 0x31, 0, AX, AX); /* x % -1 = 0 */
		} else {
			mov_rr(b, w, AX, RAX); /* x / -1 = -x (INT_MIN stays) */
			rex(b, w, 0, 0, AX, 0);
			emit1(b, 0xf7);
			modrm(b, 3, 3, AX); /* neg r10 */
		}
	}
	patch_here(b, done1);
	patch_here(b, done2);
	emit1(b, 0x5a); /* pop rdx */
	emit1(b, 0x58); /* pop rax */
	mov_rr(b, w, DST, AX);
}

/* shifts: by imm (C1 /digit ib), by register through cl:
 *   mov r11, rcx ; mov r10, dst ; mov rcx, src ; shl/shr/sar r10, cl ;
 *   mov rcx, r11 ; mov dst, r10 (the hardware masks the count by 63 / 31) */
static void emit_shift(struct jit_ctx *j, const struct bpf_insn *in, int digit)
{
	struct jit_buf *b = &j->b;
	int w = isa_is_alu64(in->code);
	if (!(in->code & BPF_X)) {
		rex(b, w, 0, 0, DST, 0);
		emit1(b, 0xc1);
		modrm(b, 3, digit, DST);
		emit1(b, (uint8_t)(in->imm & (w ? 63 : 31)));
		return;
	}
	mov_rr(b, 1, BX, RCX);
	mov_rr(b, 1, AX, DST);
	mov_rr(b, 1, RCX, in->src == 4 ? BX : SRC);
	rex(b, w, 0, 0, AX, 0); /* shift r10, cl (D3 /digit) */
	emit1(b, 0xd3);
	modrm(b, 3, digit, AX);
	mov_rr(b, 1, RCX, BX);
	mov_rr(b, w, DST, AX);
}

static void emit_neg(struct jit_ctx *j, const struct bpf_insn *in)
{
	int w = isa_is_alu64(in->code);
	rex(&j->b, w, 0, 0, DST, 0); /* neg dst (F7 /3) */
	emit1(&j->b, 0xf7);
	modrm(&j->b, 3, 3, DST);
}

/* movsx dst, src8/16/32 (REX.W 0F BE, 0F BF, 63; the 32-bit forms without W) */
static void emit_movsx(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int w = isa_is_alu64(in->code);
	rex(b, w, DST, 0, SRC, in->off == 8);
	if (in->off == 32) {
		emit1(b, 0x63);
	} else {
		emit1(b, 0x0f);
		emit1(b, in->off == 8 ? 0xbe : 0xbf);
	}
	modrm(b, 3, DST, SRC);
}

/* le16: movzx dst32, dst16 ; le32: mov dst32, dst32 ; le64: nothing
 * be16/bswap16: rol dst16, 8 ; movzx dst32, dst16
 * be32/bswap32: bswap dst32 ; be64/bswap64: bswap dst64 */
static void emit_end(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int swap = (in->code & BPF_X) || isa_class(in->code) == BPF_ALU64;
	if (in->imm == 16) {
		if (swap) {
			emit1(b, 0x66); /* rol dst16, 8 (66 C1 /0 08) */
			rex(b, 0, 0, 0, DST, 0);
			emit1(b, 0xc1);
			modrm(b, 3, 0, DST);
			emit1(b, 8);
		}
		rex(b, 0, DST, 0, DST, 0); /* movzx dst32, dst16 (0F B7) */
		emit1(b, 0x0f);
		emit1(b, 0xb7);
		modrm(b, 3, DST, DST);
	} else if (!swap) {
		if (in->imm == 32)
			mov_rr(b, 0, DST, DST);
	} else {
		rex(b, in->imm == 64, 0, 0, DST, 0); /* bswap (0F C8+r) */
		emit1(b, 0x0f);
		emit1(b, (uint8_t)(0xc8 + (DST & 7)));
	}
}

/* A context access is checked at run time (SPEC sec. 4):
 *   lea r10, [base+off] ; sub r10, [r12+ctx]
 *   cmp r10, [r12+ctx_len] ; jae fault
 *   lea r11, [r10+size] ; cmp r11, [r12+ctx_len] ; ja fault
 * (fault: a stop out of line). Where the pc also sees stack pointers, an
 * address outside the context must lie in the sandbox stack instead:
 *   jae/ja bad ; jmp ok ; bad: lea r10, [base+off] ;
 *   cmp r10, [r12+stack_lo] ; jb fault ; cmp r10, [r12+stack_hi] ; jae fault ; ok: */
static void emit_ctx_check(struct jit_ctx *j, int base, int16_t off, int size, int write)
{
	struct jit_buf *b = &j->b;
	uint8_t kind = j->p->mem_kind[j->pc];
	int status = write ? JIT_STOP_CTX_WRITE : JIT_STOP_CTX_READ;
	if (!(kind & MEM_KIND_CTX))
		return;
	op_rm(b, 0x8d, 1, AX, base, off); /* lea r10, [base+off] */
	op_rm(b, 0x2b, 1, AX, ST, STATE(ctx));
	op_rm(b, 0x3b, 1, AX, ST, STATE(ctx_len));
	if (!(kind & MEM_KIND_STACK)) {
		/* only context pointers reach here: the faults out of line */
		jcc_stop(j, CC_AE, status);
		op_rm(b, 0x8d, 1, BX, AX, size); /* lea r11, [r10+size] */
		op_rm(b, 0x3b, 1, BX, ST, STATE(ctx_len));
		jcc_stop(j, CC_A, status);
		return;
	}
	size_t bad1 = jcc(b, CC_AE, 0);
	op_rm(b, 0x8d, 1, BX, AX, size); /* lea r11, [r10+size] */
	op_rm(b, 0x3b, 1, BX, ST, STATE(ctx_len));
	size_t bad2 = jcc(b, CC_A, 0);
	size_t ok1 = jcc(b, JMP, 0);
	patch_here(b, bad1);
	patch_here(b, bad2);
	op_rm(b, 0x8d, 1, AX, base, off);
	op_rm(b, 0x3b, 1, AX, ST, STATE(stack_lo));
	jcc_stop(j, CC_B, status);
	op_rm(b, 0x3b, 1, AX, ST, STATE(stack_hi));
	jcc_stop(j, CC_AE, status);
	patch_here(b, ok1);
}

/* loads: movzx r32, byte/word [m] (0F B6/B7) ; mov r32/r64, [m] (8B) ;
 * movsx r64, byte/word [m] (REX.W 0F BE/BF) ; movsxd r64, dword [m] (63) */
static void emit_ldx(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int size = isa_size(in->code), sx = (in->code & 0xe0) == BPF_MEMSX;
	emit_ctx_check(j, SRC, in->off, size, 0);
	if (sx) {
		rex(b, 1, DST, 0, SRC, 0);
		if (size == 4) {
			emit1(b, 0x63);
		} else {
			emit1(b, 0x0f);
			emit1(b, size == 1 ? 0xbe : 0xbf);
		}
	} else if (size <= 2) {
		rex(b, 0, DST, 0, SRC, 0);
		emit1(b, 0x0f);
		emit1(b, size == 1 ? 0xb6 : 0xb7);
	} else {
		rex(b, size == 8, DST, 0, SRC, 0);
		emit1(b, 0x8b);
	}
	mem_operand(b, DST, SRC, in->off);
}

/* stores: mov [m], r8/r16/r32/r64 (88, 66 89, 89, REX.W 89);
 * mov [m], imm (C6 /0 ib, 66 C7 /0 iw, C7 /0 id, REX.W C7 /0 id) */
static void emit_st(struct jit_ctx *j, const struct bpf_insn *in, int from_reg)
{
	struct jit_buf *b = &j->b;
	int size = isa_size(in->code);
	emit_ctx_check(j, DST, in->off, size, 1);
	if (size == 2)
		emit1(b, 0x66);
	if (from_reg) {
		rex(b, size == 8, SRC, 0, DST, size == 1);
		emit1(b, size == 1 ? 0x88 : 0x89);
		mem_operand(b, SRC, DST, in->off);
	} else {
		rex(b, size == 8, 0, 0, DST, 0);
		emit1(b, size == 1 ? 0xc6 : 0xc7);
		mem_operand(b, 0, DST, in->off);
		if (size == 1)
			emit1(b, (uint8_t)in->imm);
		else if (size == 2) {
			emit1(b, (uint8_t)in->imm);
			emit1(b, (uint8_t)(in->imm >> 8));
		} else
			emit4(b, (uint32_t)in->imm);
	}
}

/* atomics. add/or/and/xor without fetch: lock op [m], src (F0 01/09/21/31)
 * fetch add: lock xadd [m], src (F0 0F C1) ; xchg: xchg [m], src (87)
 * cmpxchg: lock cmpxchg [m], src (F0 0F B1; compares with rax = R0)
 * fetch or/and/xor, as the kernel does, a cmpxchg loop:
 *   mov [r12+budget_used], r9 ; mov r9, rax ; mov rax, [m]
 *   retry: mov r11, rax ; op r11, src ; lock cmpxchg [m], r11 ; jne retry
 *   mov src, rax ; mov rax, r9 (R0 back, unless src is R0) ; mov r9, [r12+budget_used] */
static void emit_atomic(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int w = isa_size(in->code) == 8;
	int base = DST, src = SRC;
	emit_ctx_check(j, base, in->off, w ? 8 : 4, 1);
	int aop = in->imm;
	int plain = aop & ~BPF_ATOMIC_FETCH;
	uint8_t rmw = plain == BPF_ATOMIC_ADD	? 0x01
		      : plain == BPF_ATOMIC_OR	? 0x09
		      : plain == BPF_ATOMIC_AND ? 0x21
						: 0x31;
	if (aop == BPF_ATOMIC_ADD || aop == BPF_ATOMIC_OR || aop == BPF_ATOMIC_AND || aop == BPF_ATOMIC_XOR) {
		emit1(b, 0xf0);
		op_mr(b, rmw, w, base, in->off, src);
		return;
	}
	if (aop == (BPF_ATOMIC_ADD | BPF_ATOMIC_FETCH)) {
		emit1(b, 0xf0);
		rex(b, w, src, 0, base, 0);
		emit1(b, 0x0f);
		emit1(b, 0xc1);
		mem_operand(b, src, base, in->off);
		return;
	}
	if (aop == BPF_ATOMIC_XCHG) {
		op_mr(b, 0x87, w, base, in->off, src);
		return;
	}
	if (aop == BPF_ATOMIC_CMPXCHG) {
		emit1(b, 0xf0);
		rex(b, w, src, 0, base, 0);
		emit1(b, 0x0f);
		emit1(b, 0xb1);
		mem_operand(b, src, base, in->off);
		if (!w)
			mov_rr(b, 0, RAX, RAX); /* R0 gets the old value, zero-extended */
		return;
	}
	/* fetch or/and/xor; r9 (the budget count) is spilled meanwhile */
	op_mr(b, 0x89, 1, ST, STATE(budget_used), R9);
	mov_rr(b, 1, R9, RAX);
	int mbase = base == RAX ? R9 : base, msrc = src == RAX ? R9 : src;
	op_rm(b, 0x8b, w, RAX, mbase, in->off);
	size_t retry = b->len;
	mov_rr(b, 1, BX, RAX);
	alu_rr(b, rmw, w, BX, msrc);
	emit1(b, 0xf0);
	rex(b, w, BX, 0, mbase, 0);
	emit1(b, 0x0f);
	emit1(b, 0xb1);
	mem_operand(b, BX, mbase, in->off);
	jcc(b, CC_NE, retry);
	if (src == RAX) {
		if (!w)
			mov_rr(b, 0, RAX, RAX);
	} else {
		mov_rr(b, w, src, RAX);
		mov_rr(b, 1, RAX, R9);
	}
	op_rm(b, 0x8b, 1, R9, ST, STATE(budget_used));
}

static int jmp_cc(int op, int *is_test)
{
	*is_test = 0;
	switch (op) {
	case 0x10: return CC_E;
	case 0x50: return CC_NE;
	case 0x20: return CC_A;
	case 0x30: return CC_AE;
	case 0xa0: return CC_B;
	case 0xb0: return CC_BE;
	case 0x60: return CC_G;
	case 0x70: return CC_GE;
	case 0xc0: return CC_L;
	case 0xd0: return CC_LE;
	case 0x40: *is_test = 1; return CC_NE;
	}
	return CC_E;
}

/* A jump to BPF pc TARGET of this program: recorded, patched later. */
static void jump_to(struct jit_ctx *j, int cc, int target)
{
	add_fixup(j, jcc(&j->b, cc, 0), target, 0);
}

/* Conditional jumps: cmp dst, src (39 /r) | cmp dst, imm (81 /7) |
 * test dst, src (85 /r) | test dst, imm (F7 /0 id); then jcc. A taken
 * backward jump spends budget first: jNcc skip ; budget ; jmp target ; skip: */
static void emit_jcond(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int w = isa_class(in->code) == BPF_JMP;
	int is_test;
	int cc = jmp_cc(in->code & 0xf0, &is_test);
	if (in->code & BPF_X) {
		alu_rr(b, is_test ? 0x85 : 0x39, w, DST, SRC);
	} else if (is_test) {
		rex(b, w, 0, 0, DST, 0);
		emit1(b, 0xf7);
		modrm(b, 3, 0, DST);
		emit4(b, (uint32_t)in->imm);
	} else {
		rex(b, w, 0, 0, DST, 0);
		emit1(b, 0x81);
		modrm(b, 3, 7, DST);
		emit4(b, (uint32_t)in->imm);
	}
	int target = j->pc + 1 + in->off;
	if (in->off < 0) {
		/* jNcc skip ; inc r9 ; cmp r9, [r12+budget] ; ja stop ; jmp target ; skip: */
		size_t skip = jcc(b, cc ^ 1, 0);
		emit_budget(j);
		jump_to(j, JMP, target);
		patch_here(b, skip);
	} else {
		jump_to(j, cc, target);
	}
}

static void emit_ja(struct jit_ctx *j, int32_t off)
{
	if (off < 0)
		emit_budget(j);
	jump_to(j, JMP, j->pc + 1 + off);
}

/* call a C function, the budget count kept in memory meanwhile:
 *   mov [r12+budget_used], r9 ; mov rax, imm64 ; call rax (FF D0) ; mov r9, [r12+budget_used] */
static void emit_call_abs(struct jit_buf *b, const void *fn)
{
	op_mr(b, 0x89, 1, ST, STATE(budget_used), R9);
	mov_ri64(b, RAX, (uint64_t)(uintptr_t)fn);
	emit1(b, 0xff);
	emit1(b, 0xd0);
	op_rm(b, 0x8b, 1, R9, ST, STATE(budget_used));
}

/* bpf_tail_call(ctx, array = rsi, index = rdx), SPEC sec. 5:
 *   mov r10d, edx                              ; index = (u32)R3
 *   cmp r10d, [rsi+nslots] ; jae out
 *   lea r11, [r12+tcc]                         ; the run's counter
 *       (per-frame model: mov r11d, [r12+depth] ; lea r11, [r12+r11*4+frame_tcc])
 *   cmp dword [r11], 33 ; jae out              ; (32 under the limit-32 model)
 *   [count-empty model: inc dword [r11]]
 *   mov r10d, [rsi+r10*4+slot] ; test r10d, r10d ; js out   ; empty
 *   budget ; inc dword [r11] ; inc dword [r12+tail_calls]
 *   [per-frame model: mov r11d, [r11] ; mov [r12+pass], r11d ; dec dword [r12+depth]]
 *   mov r11, [r12+r10*8+bodies]
 *   sub [r12+cur_stack], S ; pop r15..rbx ; mov rsp, rbp ; jmp r11
 * out: */
static void emit_tail_call(struct jit_ctx *j)
{
	struct jit_buf *b = &j->b;
	int model = j->img->model;
	mov_rr(b, 0, AX, RDX);
	op_rm(b, 0x3b, 0, AX, RSI, (int32_t)offsetof(struct prog_array, nslots));
	size_t out1 = jcc(b, CC_AE, 0);
	if (model == JIT_MODEL_PER_FRAME_TCC) {
		op_rm(b, 0x8b, 0, BX, ST, STATE(depth));
		emit1(b, 0x4f); /* lea r11, [r12 + r11*4 + frame_tcc] */
		emit1(b, 0x8d);
		emit1(b, 0x9c);
		emit1(b, 0x9c);
		emit4(b, (uint32_t)STATE(frame_tcc));
	} else {
		op_rm(b, 0x8d, 1, BX, ST, STATE(tcc));
	}
	rex(b, 0, 0, 0, BX, 0); /* cmp dword [r11], limit (83 /7 ib) */
	emit1(b, 0x83);
	mem_operand(b, 7, BX, 0);
	emit1(b, model == JIT_MODEL_LIMIT_32 ? 32 : MAX_TAIL_CALL_CNT);
	size_t out3 = jcc(b, CC_AE, 0);
	if (model == JIT_MODEL_COUNT_EMPTY) {
		rex(b, 0, 0, 0, BX, 0); /* inc dword [r11] */
		emit1(b, 0xff);
		mem_operand(b, 0, BX, 0);
	}
	/* mov r10d, [rsi + r10*4 + slot] */
	emit1(b, 0x46);
	emit1(b, 0x8b);
	emit1(b, 0x94);
	emit1(b, 0x96);
	emit4(b, (uint32_t)offsetof(struct prog_array, slot));
	alu_rr(b, 0x85, 0, AX, AX);
	size_t out2 = jcc(b, CC_S, 0);
	emit_budget(j);
	if (model != JIT_MODEL_COUNT_EMPTY) {
		rex(b, 0, 0, 0, BX, 0); /* inc dword [r11] */
		emit1(b, 0xff);
		mem_operand(b, 0, BX, 0);
	}
	rex(b, 0, 0, 0, ST, 0); /* inc dword [r12+tail_calls] (FF /0) */
	emit1(b, 0xff);
	mem_operand(b, 0, ST, STATE(tail_calls));
	if (model == JIT_MODEL_PER_FRAME_TCC) {
		op_rm(b, 0x8b, 0, BX, BX, 0);
		op_mr(b, 0x89, 0, ST, STATE(pass), BX);
		rex(b, 0, 0, 0, ST, 0); /* dec dword [r12+depth] (FF /1) */
		emit1(b, 0xff);
		mem_operand(b, 1, ST, STATE(depth));
	}
	/* mov r11, [r12 + r10*8 + bodies] */
	emit1(b, 0x4f);
	emit1(b, 0x8b);
	emit1(b, 0x9c);
	emit1(b, 0xd4);
	emit4(b, (uint32_t)STATE(bodies));
	emit_stack_leave(j, j->cost);
	emit_pop_callee_saved(b);
	mov_rr(b, 1, RSP, RBP);
	emit1(b, 0x41); /* jmp r11 (41 FF E3) */
	emit1(b, 0xff);
	emit1(b, 0xe3);
	patch_here(b, out1);
	patch_here(b, out2);
	patch_here(b, out3);
}

static void emit_call(struct jit_ctx *j, const struct bpf_insn *in)
{
	struct jit_buf *b = &j->b;
	int rt = rt_call_lookup(in->src == BPF_PSEUDO_KFUNC_CALL, in->imm);
	switch (rt) {
	case RT_TAIL_CALL: emit_tail_call(j); return;
	case RT_TRACE: emit_call_abs(b, (const void *)jit_helper_trace); return;
	case RT_RES_ACQUIRE: emit_call_abs(b, (const void *)jit_helper_acquire); return;
	case RT_RES_RELEASE: emit_call_abs(b, (const void *)jit_helper_release); return;
	case RT_RES_ID: emit_call_abs(b, (const void *)jit_helper_id); return;
	case RT_THROW:
		/* mov rsi, rbp ; mov edx, function ; call jit_helper_throw */
		mov_rr(b, 1, RSI, RBP);
		mov_ri64(b, RDX, (uint32_t)(j->prog * PROG_MAX_FUNCS + j->func));
		emit_call_abs(b, (const void *)jit_helper_throw);
		return;
	default: b->err = 1; return;
	}
}

/* The table's rows, each to its emitter (a row without one does not build). */
#define E(ID) static void jit_emit_##ID(struct jit_ctx *j, const struct bpf_insn *in)
#define ALU_ROWS(ID, RR, DIGIT)             \
	E(ID##64_K)                         \
	{                                   \
		emit_alu(j, in, RR, DIGIT); \
	}                                   \
	E(ID##64_X)                         \
	{                                   \
		emit_alu(j, in, RR, DIGIT); \
	}                                   \
	E(ID##32_K)                         \
	{                                   \
		emit_alu(j, in, RR, DIGIT); \
	}                                   \
	E(ID##32_X)                         \
	{                                   \
		emit_alu(j, in, RR, DIGIT); \
	}
ALU_ROWS(ADD, 0x01, 0)
ALU_ROWS(SUB, 0x29, 5)
ALU_ROWS(OR, 0x09, 1)
ALU_ROWS(AND, 0x21, 4)
ALU_ROWS(XOR, 0x31, 6)
#define FOUR(ID, BODY) \
	E(ID##64_K)    \
	{              \
		BODY;  \
	}              \
	E(ID##64_X)    \
	{              \
		BODY;  \
	}              \
	E(ID##32_K)    \
	{              \
		BODY;  \
	}              \
	E(ID##32_X)    \
	{              \
		BODY;  \
	}
FOUR(MUL, emit_mul(j, in))
FOUR(DIV, emit_div(j, in, 0))
FOUR(SDIV, emit_div(j, in, 0))
FOUR(MOD, emit_div(j, in, 1))
FOUR(SMOD, emit_div(j, in, 1))
FOUR(LSH, emit_shift(j, in, 4))
FOUR(RSH, emit_shift(j, in, 5))
FOUR(ARSH, emit_shift(j, in, 7))
FOUR(MOV, emit_mov(j, in))
E(NEG64)
{
	emit_neg(j, in);
}
E(NEG32)
{
	emit_neg(j, in);
}
E(MOVSX64_8)
{
	emit_movsx(j, in);
}
E(MOVSX64_16)
{
	emit_movsx(j, in);
}
E(MOVSX64_32)
{
	emit_movsx(j, in);
}
E(MOVSX32_8)
{
	emit_movsx(j, in);
}
E(MOVSX32_16)
{
	emit_movsx(j, in);
}
E(LE16)
{
	emit_end(j, in);
}
E(LE32)
{
	emit_end(j, in);
}
E(LE64)
{
	emit_end(j, in);
}
E(BE16)
{
	emit_end(j, in);
}
E(BE32)
{
	emit_end(j, in);
}
E(BE64)
{
	emit_end(j, in);
}
E(BSWAP16)
{
	emit_end(j, in);
}
E(BSWAP32)
{
	emit_end(j, in);
}
E(BSWAP64)
{
	emit_end(j, in);
}
E(LDDW)
{
	uint64_t v = in->src == BPF_PSEUDO_MAP ? (uint64_t)(uintptr_t)&j->set->arrays[in->imm]
					       : ((uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
	mov_ri64(&j->b, DST, v);
}
#define LDST_ROWS(SZ)              \
	E(LDX_##SZ)                \
	{                          \
		emit_ldx(j, in);   \
	}                          \
	E(ST_##SZ)                 \
	{                          \
		emit_st(j, in, 0); \
	}                          \
	E(STX_##SZ)                \
	{                          \
		emit_st(j, in, 1); \
	}
LDST_ROWS(B)
LDST_ROWS(H)
LDST_ROWS(W)
LDST_ROWS(DW)
E(LDXS_B)
{
	emit_ldx(j, in);
}
E(LDXS_H)
{
	emit_ldx(j, in);
}
E(LDXS_W)
{
	emit_ldx(j, in);
}
#define ATOMIC_ROWS(ID)             \
	E(ATOMIC64_##ID)            \
	{                           \
		emit_atomic(j, in); \
	}                           \
	E(ATOMIC32_##ID)            \
	{                           \
		emit_atomic(j, in); \
	}
ATOMIC_ROWS(ADD)
ATOMIC_ROWS(OR)
ATOMIC_ROWS(AND)
ATOMIC_ROWS(XOR)
ATOMIC_ROWS(FETCH_ADD)
ATOMIC_ROWS(FETCH_OR)
ATOMIC_ROWS(FETCH_AND)
ATOMIC_ROWS(FETCH_XOR)
ATOMIC_ROWS(XCHG)
ATOMIC_ROWS(CMPXCHG)
#define JFOUR(ID)                  \
	E(ID##_K)                  \
	{                          \
		emit_jcond(j, in); \
	}                          \
	E(ID##_X)                  \
	{                          \
		emit_jcond(j, in); \
	}                          \
	E(ID##32_K)                \
	{                          \
		emit_jcond(j, in); \
	}                          \
	E(ID##32_X)                \
	{                          \
		emit_jcond(j, in); \
	}
E(JA)
{
	emit_ja(j, in->off);
}
E(JA32)
{
	emit_ja(j, in->imm);
}
JFOUR(JEQ)
JFOUR(JGT)
JFOUR(JGE)
JFOUR(JSET)
JFOUR(JNE)
JFOUR(JSGT)
JFOUR(JSGE)
JFOUR(JLT)
JFOUR(JLE)
JFOUR(JSLT)
JFOUR(JSLE)
E(CALL)
{
	emit_call(j, in);
}
E(CALL_KFUNC)
{
	emit_call(j, in);
}
E(CALL_LOCAL)
{
	/* budget ; call rel32 (E8) to the callee's entry */
	emit_budget(j);
	if (j->img->model == JIT_MODEL_PER_FRAME_TCC) {
		/* the callee starts with this frame's count:
		 * mov r10d, [r12+depth] ; mov r11d, [r12+r10*4+frame_tcc] ; mov [r12+pass], r11d */
		op_rm(&j->b, 0x8b, 0, AX, ST, STATE(depth));
		emit1(&j->b, 0x47);
		emit1(&j->b, 0x8b);
		emit1(&j->b, 0x9c);
		emit1(&j->b, 0x94);
		emit4(&j->b, (uint32_t)STATE(frame_tcc));
		op_mr(&j->b, 0x89, 0, ST, STATE(pass), BX);
	}
	emit1(&j->b, 0xe8);
	size_t at = j->b.len;
	emit4(&j->b, 0);
	add_fixup(j, at, j->pc + 1 + in->imm, 1);
}
E(EXIT)
{
	/* epilogue: sub [r12+cur_stack], S ; pop r15..rbx ; leave ; ret */
	(void)in;
	emit_stack_leave(j, j->cost);
	if (j->img->model == JIT_MODEL_PER_FRAME_TCC) {
		rex(&j->b, 0, 0, 0, ST, 0); /* dec dword [r12+depth] */
		emit1(&j->b, 0xff);
		mem_operand(&j->b, 1, ST, STATE(depth));
	}
	emit_pop_callee_saved(&j->b);
	emit1(&j->b, 0xc9);
	emit1(&j->b, 0xc3);
}

typedef void (*jit_emitter)(struct jit_ctx *, const struct bpf_insn *);
static const jit_emitter jit_emitters[ISA_NUM_OPS] = {
#define JIT_ROW(id, code, fmt, disc, name) [ISA_##id] = jit_emit_##id,
    BPF_OPCODE_TABLE(JIT_ROW)
#undef JIT_ROW
};

/* ---- stubs and programs ---- */

/* jit_enter(state = rdi, ctx = rsi, len = rdx, entry = rcx, stack_top = r8):
 *   push rbp ; push rbx ; push r12 ; push r13 ; push r14 ; push r15
 *   mov r12, rdi ; mov [r12+harness_rsp], rsp ; mov r9, [r12+budget_used] ; mov rsp, r8
 *   mov rdi, rsi ; mov rsi, rdx ; call rcx
 * ret_point:
 *   mov rsp, [r12+harness_rsp] ; pop r15 ; pop r14 ; pop r13 ; pop r12 ;
 *   pop rbx ; pop rbp ; ret
 * stop: xor eax, eax ; jmp ret_point
 * resume(rsp = rdi, rbp = rsi, value = rdx, target = rcx, state = r8):
 *   mov r12, r8 ; mov r9, [r12+budget_used] ; mov rsp, rdi ; mov rbp, rsi ; mov rax, rdx ; mov rdi, rdx ; jmp rcx */
static void emit_stubs(struct jit_image *img, struct jit_buf *b)
{
	emit1(b, 0x55);
	emit1(b, 0x53);
	emit1(b, 0x41);
	emit1(b, 0x54);
	emit1(b, 0x41);
	emit1(b, 0x55);
	emit1(b, 0x41);
	emit1(b, 0x56);
	emit1(b, 0x41);
	emit1(b, 0x57);
	mov_rr(b, 1, R12, RDI);
	op_mr(b, 0x89, 1, R12, STATE(harness_rsp), RSP);
	op_rm(b, 0x8b, 1, R9, R12, STATE(budget_used)); /* mov r9, [r12+budget_used] */
	mov_rr(b, 1, RSP, R8);
	mov_rr(b, 1, RDI, RSI);
	mov_rr(b, 1, RSI, RDX);
	emit1(b, 0xff); /* call rcx */
	emit1(b, 0xd1);
	img->ret_point_off = b->len;
	op_rm(b, 0x8b, 1, RSP, R12, STATE(harness_rsp));
	emit1(b, 0x41);
	emit1(b, 0x5f);
	emit1(b, 0x41);
	emit1(b, 0x5e);
	emit1(b, 0x41);
	emit1(b, 0x5d);
	emit1(b, 0x41);
	emit1(b, 0x5c);
	emit1(b, 0x5b);
	emit1(b, 0x5d);
	emit1(b, 0xc3);
	img->stop_off = b->len;
	alu_rr(b, 0x31, 0, RAX, RAX);
	jcc(b, JMP, img->ret_point_off);
	img->resume_off = b->len;
	mov_rr(b, 1, R12, R8);
	op_rm(b, 0x8b, 1, R9, R12, STATE(budget_used)); /* mov r9, [r12+budget_used] */
	mov_rr(b, 1, RSP, RDI);
	mov_rr(b, 1, RBP, RSI);
	mov_rr(b, 1, RAX, RDX);
	mov_rr(b, 1, RDI, RDX);
	emit1(b, 0xff); /* jmp rcx */
	emit1(b, 0xe1);
}

/* Emits every function of program pi. */
static void emit_prog(struct jit_image *img, struct jit_ctx *j, int pi)
{
	const struct prog *p = &j->set->progs[pi];
	struct jit_prog *jp = &img->progs[pi];
	struct jit_buf *b = &j->b;
	j->prog = pi;
	j->p = p;
	for (int f = 0; f < p->nfuncs; f++) {
		j->func = f;
		j->cost = p->funcs[f].cost;
		jp->func_entry[f] = b->len;
		emit1(b, 0x55); /* push rbp ; mov rbp, rsp */
		mov_rr(b, 1, RBP, RSP);
		jp->func_body[f] = b->len;
		emit_body_prologue(j, j->cost);
		for (int pc = p->funcs[f].start; pc < p->funcs[f].end; pc++) {
			jp->pc_off[pc] = (long)b->len;
			if (p->ops[pc] == ISA_OP_NONE)
				continue;
			j->pc = pc;
			jit_emitters[p->ops[pc]](j, &p->insns[pc]);
		}
		/* where bpf_throw lands when this function is the boundary and no
		 * callback runs: the epilogue, with rax = the cookie */
		jp->func_epilogue[f] = b->len;
		jit_emit_EXIT(j, NULL);
		emit_deferred_stops(j);
		jp->func_end[f] = b->len;
	}
	if (p->exception_cb >= 0) {
		/* the callback replaces the boundary frame (SPEC sec. 6):
		 *   pop r15..rbx ; mov rsp, rbp ; jmp cb_body */
		jp->cb_landing = b->len;
		emit_pop_callee_saved(b);
		mov_rr(b, 1, RSP, RBP);
		jcc(b, JMP, jp->func_body[p->func_of[p->exception_cb]]);
	}
}

struct jit_image *jit_compile(const struct prog_set *set, char *err, size_t errlen)
{
	return jit_compile_model(set, JIT_MODEL_NONE, err, errlen);
}

struct jit_image *jit_compile_model(const struct prog_set *set, enum jit_model model, char *err, size_t errlen)
{
	struct jit_image *img = calloc(1, sizeof(*img));
	struct jit_ctx j = {.set = set, .img = img};
	if (!img) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	img->set = set;
	img->model = model;
	for (int i = 0; i < set->nprogs; i++) {
		img->progs[i].pc_off = malloc(((size_t)set->progs[i].len + 1) * sizeof(long));
		if (!img->progs[i].pc_off) {
			snprintf(err, errlen, "out of memory");
			jit_free(img);
			return NULL;
		}
	}
	emit_stubs(img, &j.b);
	for (int i = 0; i < set->nprogs; i++)
		emit_prog(img, &j, i);
	for (int k = 0; k < j.nfix && !j.b.err; k++) {
		const struct jit_fixup *f = &j.fix[k];
		const struct jit_prog *jp = &img->progs[f->prog];
		size_t target =
		    f->is_call ? jp->func_entry[set->progs[f->prog].func_of[f->pc]] : (size_t)jp->pc_off[f->pc];
		patch4(&j.b, f->at, (uint32_t)(target - (f->at + 4)));
	}
	free(j.fix);
	free(j.def);
	if (j.b.err) {
		snprintf(err, errlen, "JIT: out of memory or unsupported instruction");
		free(j.b.p);
		jit_free(img);
		return NULL;
	}
	if (jit_sandbox_map(img, j.b.p, j.b.len, err, errlen)) {
		free(j.b.p);
		jit_free(img);
		return NULL;
	}
	free(j.b.p);
	return img;
}
