/* The eBPF instruction set as one table (SPEC.md sec. 1, RFC 9669).
 *
 * BPF_OPCODE_TABLE is the single list of instructions. Each row is
 *   X(ID, CODE, FMT, DISC, MNEMONIC)
 * ID        the row's name, giving the enum isa_op value ISA_<ID>;
 * CODE      the 8-bit opcode byte;
 * FMT       the operand format (enum isa_fmt): which fields carry operands and
 *           which are reserved (must be zero), and the assembler syntax;
 * DISC      for rows that share an opcode byte, the value of the field that
 *           tells them apart (off for SDIV/SMOD/MOVSX, imm for END/atomics,
 *           src for CALL); -1 when the byte alone decides;
 * MNEMONIC  the assembler's spelling (the disassembler prints it).
 * The assembler, disassembler, verifier whitelist, interpreter dispatch, the
 * JIT dispatch and the generator all expand this table: adding an opcode is
 * one row here plus its semantics in each engine (a missing label or emitter
 * is a build error).
 */
#ifndef BPFDIFF_ISA_H
#define BPFDIFF_ISA_H

#include <stdint.h>

/* Classes, sources, ALU/JMP operations and sizes (RFC 9669 sec. 3-5). */
enum {
	BPF_LD = 0x00,
	BPF_LDX = 0x01,
	BPF_ST = 0x02,
	BPF_STX = 0x03,
	BPF_ALU = 0x04,
	BPF_JMP = 0x05,
	BPF_JMP32 = 0x06,
	BPF_ALU64 = 0x07,
	BPF_K = 0x00,
	BPF_X = 0x08,
	BPF_W = 0x00,
	BPF_H = 0x08,
	BPF_B = 0x10,
	BPF_DW = 0x18,
	BPF_IMM = 0x00,
	BPF_MEM = 0x60,
	BPF_MEMSX = 0x80,
	BPF_ATOMIC = 0xc0,
};

enum {
	BPF_ATOMIC_FETCH = 0x01,
	BPF_ATOMIC_ADD = 0x00,
	BPF_ATOMIC_OR = 0x40,
	BPF_ATOMIC_AND = 0x50,
	BPF_ATOMIC_XOR = 0xa0,
	BPF_ATOMIC_XCHG = 0xe0 | BPF_ATOMIC_FETCH,
	BPF_ATOMIC_CMPXCHG = 0xf0 | BPF_ATOMIC_FETCH,
};

enum {
	BPF_PSEUDO_MAP = 1,	   /* lddw src: imm is a prog array's index */
	BPF_PSEUDO_CALL = 1,	   /* call src: bpf-to-bpf, imm PC-relative */
	BPF_PSEUDO_KFUNC_CALL = 2, /* call src: kfunc by id */
};

/* Operand formats. The comment gives the assembler syntax; fields not named
 * there are reserved and must be zero (the verifier's structural check). */
enum isa_fmt {
	FMT_ALU_K,	/* op dst, imm */
	FMT_ALU_X,	/* op dst, src */
	FMT_ALU_SX_K,	/* sdiv/smod dst, imm (off = 1) */
	FMT_ALU_SX_X,	/* sdiv/smod dst, src (off = 1) */
	FMT_NEG,	/* neg dst */
	FMT_MOVSX,	/* movsxNM dst, src (off = 8/16/32) */
	FMT_END,	/* be16 dst (imm = 16/32/64) */
	FMT_LDDW,	/* lddw dst, imm64 | lddw dst, map:NAME */
	FMT_LDX,	/* ldxw dst, [src+off] */
	FMT_ST,		/* stw [dst+off], imm */
	FMT_STX,	/* stxw [dst+off], src */
	FMT_ATOMIC,	/* lock add [dst+off], src (imm = atomic op) */
	FMT_JA,		/* ja target (off) */
	FMT_JA32,	/* ja32 target (imm) */
	FMT_JMP_K,	/* jeq dst, imm, target */
	FMT_JMP_X,	/* jeq dst, src, target */
	FMT_CALL,	/* call helper (src = 0, imm = id) */
	FMT_CALL_LOCAL, /* call local label (src = 1, imm PC-relative) */
	FMT_CALL_KFUNC, /* call kfunc (src = 2, imm = id) */
	FMT_EXIT,	/* exit */
};

/* One ALU operation in both widths and both sources. */
#define ISA_ALU(X, ID, OP, NAME)                                      \
	X(ID##64_K, BPF_ALU64 | BPF_K | (OP), FMT_ALU_K, -1, NAME)    \
	X(ID##64_X, BPF_ALU64 | BPF_X | (OP), FMT_ALU_X, -1, NAME)    \
	X(ID##32_K, BPF_ALU | BPF_K | (OP), FMT_ALU_K, -1, NAME "32") \
	X(ID##32_X, BPF_ALU | BPF_X | (OP), FMT_ALU_X, -1, NAME "32")
/* Signed division shares the opcode of the unsigned one, with off = 1. */
#define ISA_ALU_SIGNED(X, ID, OP, NAME)                                 \
	X(ID##64_K, BPF_ALU64 | BPF_K | (OP), FMT_ALU_SX_K, 1, NAME)    \
	X(ID##64_X, BPF_ALU64 | BPF_X | (OP), FMT_ALU_SX_X, 1, NAME)    \
	X(ID##32_K, BPF_ALU | BPF_K | (OP), FMT_ALU_SX_K, 1, NAME "32") \
	X(ID##32_X, BPF_ALU | BPF_X | (OP), FMT_ALU_SX_X, 1, NAME "32")
#define ISA_JMP(X, ID, OP, NAME)                                        \
	X(ID##_K, BPF_JMP | BPF_K | (OP), FMT_JMP_K, -1, NAME)          \
	X(ID##_X, BPF_JMP | BPF_X | (OP), FMT_JMP_X, -1, NAME)          \
	X(ID##32_K, BPF_JMP32 | BPF_K | (OP), FMT_JMP_K, -1, NAME "32") \
	X(ID##32_X, BPF_JMP32 | BPF_X | (OP), FMT_JMP_X, -1, NAME "32")
#define ISA_LDST(X, SZ, CODE, NAME)                                      \
	X(LDX_##SZ, BPF_LDX | BPF_MEM | (CODE), FMT_LDX, -1, "ldx" NAME) \
	X(ST_##SZ, BPF_ST | BPF_MEM | (CODE), FMT_ST, -1, "st" NAME)     \
	X(STX_##SZ, BPF_STX | BPF_MEM | (CODE), FMT_STX, -1, "stx" NAME)
#define ISA_ATOMIC(X, ID, OP, NAME)                                                     \
	X(ATOMIC64_##ID, BPF_STX | BPF_ATOMIC | BPF_DW, FMT_ATOMIC, (OP), "lock " NAME) \
	X(ATOMIC32_##ID, BPF_STX | BPF_ATOMIC | BPF_W, FMT_ATOMIC, (OP), "lock " NAME "32")

#define BPF_OPCODE_TABLE(X)                                                      \
	ISA_ALU(X, ADD, 0x00, "add")                                             \
	ISA_ALU(X, SUB, 0x10, "sub")                                             \
	ISA_ALU(X, MUL, 0x20, "mul")                                             \
	ISA_ALU(X, DIV, 0x30, "div")                                             \
	ISA_ALU_SIGNED(X, SDIV, 0x30, "sdiv")                                    \
	ISA_ALU(X, OR, 0x40, "or")                                               \
	ISA_ALU(X, AND, 0x50, "and")                                             \
	ISA_ALU(X, LSH, 0x60, "lsh")                                             \
	ISA_ALU(X, RSH, 0x70, "rsh")                                             \
	ISA_ALU(X, MOD, 0x90, "mod")                                             \
	ISA_ALU_SIGNED(X, SMOD, 0x90, "smod")                                    \
	ISA_ALU(X, XOR, 0xa0, "xor")                                             \
	ISA_ALU(X, MOV, 0xb0, "mov")                                             \
	ISA_ALU(X, ARSH, 0xc0, "arsh")                                           \
	X(NEG64, BPF_ALU64 | 0x80, FMT_NEG, -1, "neg")                           \
	X(NEG32, BPF_ALU | 0x80, FMT_NEG, -1, "neg32")                           \
	X(MOVSX64_8, BPF_ALU64 | BPF_X | 0xb0, FMT_MOVSX, 8, "movsx864")         \
	X(MOVSX64_16, BPF_ALU64 | BPF_X | 0xb0, FMT_MOVSX, 16, "movsx1664")      \
	X(MOVSX64_32, BPF_ALU64 | BPF_X | 0xb0, FMT_MOVSX, 32, "movsx3264")      \
	X(MOVSX32_8, BPF_ALU | BPF_X | 0xb0, FMT_MOVSX, 8, "movsx832")           \
	X(MOVSX32_16, BPF_ALU | BPF_X | 0xb0, FMT_MOVSX, 16, "movsx1632")        \
	X(LE16, BPF_ALU | BPF_K | 0xd0, FMT_END, 16, "le16")                     \
	X(LE32, BPF_ALU | BPF_K | 0xd0, FMT_END, 32, "le32")                     \
	X(LE64, BPF_ALU | BPF_K | 0xd0, FMT_END, 64, "le64")                     \
	X(BE16, BPF_ALU | BPF_X | 0xd0, FMT_END, 16, "be16")                     \
	X(BE32, BPF_ALU | BPF_X | 0xd0, FMT_END, 32, "be32")                     \
	X(BE64, BPF_ALU | BPF_X | 0xd0, FMT_END, 64, "be64")                     \
	X(BSWAP16, BPF_ALU64 | BPF_K | 0xd0, FMT_END, 16, "bswap16")             \
	X(BSWAP32, BPF_ALU64 | BPF_K | 0xd0, FMT_END, 32, "bswap32")             \
	X(BSWAP64, BPF_ALU64 | BPF_K | 0xd0, FMT_END, 64, "bswap64")             \
	X(LDDW, BPF_LD | BPF_IMM | BPF_DW, FMT_LDDW, -1, "lddw")                 \
	ISA_LDST(X, B, BPF_B, "b")                                               \
	ISA_LDST(X, H, BPF_H, "h")                                               \
	ISA_LDST(X, W, BPF_W, "w")                                               \
	ISA_LDST(X, DW, BPF_DW, "dw")                                            \
	X(LDXS_B, BPF_LDX | BPF_MEMSX | BPF_B, FMT_LDX, -1, "ldxsb")             \
	X(LDXS_H, BPF_LDX | BPF_MEMSX | BPF_H, FMT_LDX, -1, "ldxsh")             \
	X(LDXS_W, BPF_LDX | BPF_MEMSX | BPF_W, FMT_LDX, -1, "ldxsw")             \
	ISA_ATOMIC(X, ADD, BPF_ATOMIC_ADD, "add")                                \
	ISA_ATOMIC(X, OR, BPF_ATOMIC_OR, "or")                                   \
	ISA_ATOMIC(X, AND, BPF_ATOMIC_AND, "and")                                \
	ISA_ATOMIC(X, XOR, BPF_ATOMIC_XOR, "xor")                                \
	ISA_ATOMIC(X, FETCH_ADD, BPF_ATOMIC_ADD | BPF_ATOMIC_FETCH, "fetch add") \
	ISA_ATOMIC(X, FETCH_OR, BPF_ATOMIC_OR | BPF_ATOMIC_FETCH, "fetch or")    \
	ISA_ATOMIC(X, FETCH_AND, BPF_ATOMIC_AND | BPF_ATOMIC_FETCH, "fetch and") \
	ISA_ATOMIC(X, FETCH_XOR, BPF_ATOMIC_XOR | BPF_ATOMIC_FETCH, "fetch xor") \
	ISA_ATOMIC(X, XCHG, BPF_ATOMIC_XCHG, "xchg")                             \
	ISA_ATOMIC(X, CMPXCHG, BPF_ATOMIC_CMPXCHG, "cmpxchg")                    \
	X(JA, BPF_JMP | 0x00, FMT_JA, -1, "ja")                                  \
	X(JA32, BPF_JMP32 | 0x00, FMT_JA32, -1, "ja32")                          \
	ISA_JMP(X, JEQ, 0x10, "jeq")                                             \
	ISA_JMP(X, JGT, 0x20, "jgt")                                             \
	ISA_JMP(X, JGE, 0x30, "jge")                                             \
	ISA_JMP(X, JSET, 0x40, "jset")                                           \
	ISA_JMP(X, JNE, 0x50, "jne")                                             \
	ISA_JMP(X, JSGT, 0x60, "jsgt")                                           \
	ISA_JMP(X, JSGE, 0x70, "jsge")                                           \
	ISA_JMP(X, JLT, 0xa0, "jlt")                                             \
	ISA_JMP(X, JLE, 0xb0, "jle")                                             \
	ISA_JMP(X, JSLT, 0xc0, "jslt")                                           \
	ISA_JMP(X, JSLE, 0xd0, "jsle")                                           \
	X(CALL, BPF_JMP | 0x80, FMT_CALL, 0, "call")                             \
	X(CALL_LOCAL, BPF_JMP | 0x80, FMT_CALL_LOCAL, 1, "call local")           \
	X(CALL_KFUNC, BPF_JMP | 0x80, FMT_CALL_KFUNC, 2, "call kfunc")           \
	X(EXIT, BPF_JMP | 0x90, FMT_EXIT, -1, "exit")

enum isa_op {
#define ISA_ENUM(id, code, fmt, disc, name) ISA_##id,
	BPF_OPCODE_TABLE(ISA_ENUM)
#undef ISA_ENUM
	    ISA_NUM_OPS,
	ISA_INVALID = -1,
};

struct isa_row {
	const char *id;
	const char *mnemonic;
	uint8_t code;
	uint8_t fmt;
	int16_t disc;
};

extern const struct isa_row isa_rows[ISA_NUM_OPS];

/* A raw instruction as it is encoded (8 bytes, little-endian fields). */
struct bpf_insn {
	uint8_t code;
	uint8_t dst : 4;
	uint8_t src : 4;
	int16_t off;
	int32_t imm;
};

/* The row an encoded instruction belongs to, or ISA_INVALID. Reserved fields
 * are not checked here (that is isa_reserved_ok's job). */
int isa_decode(const struct bpf_insn *insn);
/* Whether the fields that FMT does not use are zero. */
int isa_reserved_ok(int op, const struct bpf_insn *insn);
/* Row lookup by mnemonic and format, for the assembler; ISA_INVALID if none. */
int isa_find(const char *mnemonic, enum isa_fmt fmt);
/* An instruction of row OP: the row's opcode byte, its discriminating field
 * set from the row (the other operands as given). */
struct bpf_insn isa_encode(int op, int dst, int src, int16_t off, int32_t imm);
/* Whether any row has this mnemonic. */
int isa_known_mnemonic(const char *mnemonic);

static inline int isa_class(uint8_t code)
{
	return code & 0x07;
}
static inline int isa_is_alu64(uint8_t code)
{
	return isa_class(code) == BPF_ALU64;
}
/* Access size in bytes of a load, store or atomic. */
static inline int isa_size(uint8_t code)
{
	switch (code & 0x18) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}
static inline int isa_is_jump(int fmt)
{
	return fmt == FMT_JA || fmt == FMT_JA32 || fmt == FMT_JMP_K || fmt == FMT_JMP_X;
}

#endif
