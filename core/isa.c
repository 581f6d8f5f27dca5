/* The opcode table's rows and the lookups built on them. */
#include "isa.h"

#include <string.h>

const struct isa_row isa_rows[ISA_NUM_OPS] = {
#define ISA_ROW(id_, code_, fmt_, disc_, name_) \
	[ISA_##id_] = {.id = #id_, .mnemonic = name_, .code = (code_), .fmt = (fmt_), .disc = (disc_)},
    BPF_OPCODE_TABLE(ISA_ROW)
#undef ISA_ROW
};

/* The field a row's DISC is compared with. */
static int disc_field(int fmt, const struct bpf_insn *insn)
{
	switch (fmt) {
	case FMT_ALU_SX_K:
	case FMT_ALU_SX_X:
	case FMT_MOVSX: return insn->off;
	case FMT_END:
	case FMT_ATOMIC: return insn->imm;
	case FMT_CALL:
	case FMT_CALL_LOCAL:
	case FMT_CALL_KFUNC: return insn->src;
	default: return -1;
	}
}

/* Rows by opcode byte, built on first use: per code the rows that share it,
 * chained, so decoding looks at one to three rows instead of the table. */
static int16_t decode_first[256], decode_next[ISA_NUM_OPS];
static int decode_ready;

static void decode_build(void)
{
	for (int c = 0; c < 256; c++)
		decode_first[c] = -1;
	for (int op = ISA_NUM_OPS - 1; op >= 0; op--) {
		decode_next[op] = decode_first[isa_rows[op].code];
		decode_first[isa_rows[op].code] = (int16_t)op;
	}
	decode_ready = 1;
}

int isa_decode(const struct bpf_insn *insn)
{
	if (!decode_ready)
		decode_build();
	int fallback = ISA_INVALID;
	for (int op = decode_first[insn->code]; op >= 0; op = decode_next[op]) {
		const struct isa_row *r = &isa_rows[op];
		if (r->disc < 0)
			fallback = op;
		else if (disc_field(r->fmt, insn) == r->disc)
			return op;
	}
	return fallback;
}

int isa_reserved_ok(int op, const struct bpf_insn *i)
{
	switch (isa_rows[op].fmt) {
	case FMT_ALU_K: return i->src == 0 && i->off == 0;
	case FMT_ALU_X: return i->imm == 0 && i->off == 0;
	case FMT_ALU_SX_K: return i->src == 0;
	case FMT_ALU_SX_X: return i->imm == 0;
	case FMT_NEG: return i->src == 0 && i->off == 0 && i->imm == 0;
	case FMT_MOVSX: return i->imm == 0;
	case FMT_END: return i->src == 0 && i->off == 0;
	case FMT_LDDW: return i->off == 0 && (i->src == 0 || i->src == BPF_PSEUDO_MAP);
	case FMT_LDX: return i->imm == 0;
	case FMT_ST: return i->src == 0;
	case FMT_STX: return i->imm == 0;
	case FMT_ATOMIC: return 1;
	case FMT_JA: return i->dst == 0 && i->src == 0 && i->imm == 0;
	case FMT_JA32: return i->dst == 0 && i->src == 0 && i->off == 0;
	case FMT_JMP_K: return i->src == 0;
	case FMT_JMP_X: return i->imm == 0;
	case FMT_CALL:
	case FMT_CALL_LOCAL:
	case FMT_CALL_KFUNC: return i->dst == 0 && i->off == 0;
	case FMT_EXIT: return i->dst == 0 && i->src == 0 && i->off == 0 && i->imm == 0;
	}
	return 0;
}

int isa_find(const char *mnemonic, enum isa_fmt fmt)
{
	for (int op = 0; op < ISA_NUM_OPS; op++)
		if (isa_rows[op].fmt == fmt && strcmp(isa_rows[op].mnemonic, mnemonic) == 0)
			return op;
	return ISA_INVALID;
}

int isa_known_mnemonic(const char *mnemonic)
{
	for (int op = 0; op < ISA_NUM_OPS; op++)
		if (strcmp(isa_rows[op].mnemonic, mnemonic) == 0)
			return 1;
	return 0;
}

struct bpf_insn isa_encode(int op, int dst, int src, int16_t off, int32_t imm)
{
	const struct isa_row *r = &isa_rows[op];
	struct bpf_insn in = {.code = r->code, .dst = (uint8_t)dst, .src = (uint8_t)src, .off = off, .imm = imm};
	switch (r->fmt) {
	case FMT_ALU_SX_K:
	case FMT_ALU_SX_X:
	case FMT_MOVSX: in.off = r->disc; break;
	case FMT_END:
	case FMT_ATOMIC: in.imm = r->disc; break;
	case FMT_CALL:
	case FMT_CALL_LOCAL:
	case FMT_CALL_KFUNC: in.src = (uint8_t)r->disc; break;
	default: break;
	}
	return in;
}
