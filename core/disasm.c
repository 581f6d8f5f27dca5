/* The disassembler, driven by the opcode table's formats (core/isa.h). */
#include "disasm.h"

#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static int raw_word(char *buf, size_t len, const struct bpf_insn *i)
{
	uint64_t w;
	memcpy(&w, i, sizeof(w));
	snprintf(buf, len, ".insn 0x%016llx", (unsigned long long)w);
	return 1;
}

/* Whether pc+1+rel is a pc where a label can stand (not inside an lddw). */
static int target_ok(const struct prog *p, const unsigned char *inner, int pc, int64_t rel)
{
	int64_t t = pc + 1 + rel;
	return t >= 0 && t < p->len && !inner[t];
}

static void fmt_target(char *out, size_t len, int pc, int64_t rel, int as_label)
{
	if (as_label)
		snprintf(out, len, "L%lld", (long long)(pc + 1 + rel));
	else
		snprintf(out, len, "%+lld", (long long)rel);
}

static int insn_text(char *buf, size_t len, const struct prog_set *set, const struct prog *p, int pc,
		     const unsigned char *inner)
{
	const struct bpf_insn *i = &p->insns[pc];
	int op = isa_decode(i);
	if (op == ISA_INVALID || !isa_reserved_ok(op, i) || i->dst > 10 || i->src > 10)
		return raw_word(buf, len, i); /* nothing the assembler can spell */
	const struct isa_row *r = &isa_rows[op];
	char tgt[32];
	switch ((enum isa_fmt)r->fmt) {
	case FMT_ALU_K:
	case FMT_ALU_SX_K: snprintf(buf, len, "%s %%r%d, %d", r->mnemonic, i->dst, i->imm); break;
	case FMT_ALU_X:
	case FMT_ALU_SX_X:
	case FMT_MOVSX: snprintf(buf, len, "%s %%r%d, %%r%d", r->mnemonic, i->dst, i->src); break;
	case FMT_NEG:
	case FMT_END: snprintf(buf, len, "%s %%r%d", r->mnemonic, i->dst); break;
	case FMT_LDDW: {
		const struct bpf_insn *h = pc + 1 < p->len ? &p->insns[pc + 1] : NULL;
		if (!h || h->code || h->dst || h->src || h->off)
			return raw_word(buf, len, i);
		if (i->src == BPF_PSEUDO_MAP) {
			if (i->imm < 0 || i->imm >= set->narrays || h->imm)
				return raw_word(buf, len, i);
			snprintf(buf, len, "lddw %%r%d, map:%s", i->dst, set->arrays[i->imm].name);
		} else {
			uint64_t v = (uint32_t)i->imm | (uint64_t)(uint32_t)h->imm << 32;
			snprintf(buf, len, "lddw %%r%d, 0x%llx", i->dst, (unsigned long long)v);
		}
		return 2;
	}
	case FMT_LDX: snprintf(buf, len, "%s %%r%d, [%%r%d%+d]", r->mnemonic, i->dst, i->src, i->off); break;
	case FMT_ST: snprintf(buf, len, "%s [%%r%d%+d], %d", r->mnemonic, i->dst, i->off, i->imm); break;
	case FMT_STX:
	case FMT_ATOMIC: snprintf(buf, len, "%s [%%r%d%+d], %%r%d", r->mnemonic, i->dst, i->off, i->src); break;
	case FMT_JA:
		fmt_target(tgt, sizeof(tgt), pc, i->off, inner && target_ok(p, inner, pc, i->off));
		snprintf(buf, len, "ja %s", tgt);
		break;
	case FMT_JA32:
		fmt_target(tgt, sizeof(tgt), pc, i->imm, inner && target_ok(p, inner, pc, i->imm));
		snprintf(buf, len, "ja32 %s", tgt);
		break;
	case FMT_JMP_K:
		fmt_target(tgt, sizeof(tgt), pc, i->off, inner && target_ok(p, inner, pc, i->off));
		snprintf(buf, len, "%s %%r%d, %d, %s", r->mnemonic, i->dst, i->imm, tgt);
		break;
	case FMT_JMP_X:
		fmt_target(tgt, sizeof(tgt), pc, i->off, inner && target_ok(p, inner, pc, i->off));
		snprintf(buf, len, "%s %%r%d, %%r%d, %s", r->mnemonic, i->dst, i->src, tgt);
		break;
	case FMT_CALL:
	case FMT_CALL_KFUNC: {
		int kf = r->fmt == FMT_CALL_KFUNC;
		int rt = rt_call_lookup(kf, i->imm);
		if (rt != RT_UNKNOWN)
			snprintf(buf, len, "call %s", rt_calls[rt].name);
		else
			snprintf(buf, len, "call %s%d", kf ? "kfunc " : "", i->imm);
		break;
	}
	case FMT_CALL_LOCAL:
		fmt_target(tgt, sizeof(tgt), pc, i->imm, inner && target_ok(p, inner, pc, i->imm));
		snprintf(buf, len, "call local %s", tgt);
		break;
	case FMT_EXIT: snprintf(buf, len, "exit"); break;
	}
	return 1;
}

int disasm_insn(char *buf, size_t len, const struct prog_set *set, const struct prog *p, int pc, int labels)
{
	(void)labels;
	return insn_text(buf, len, set, p, pc, NULL);
}

/* Marks second slots of lddw (no label may stand there) and jump targets. */
static void scan(const struct prog_set *set, const struct prog *p, unsigned char *inner, unsigned char *target)
{
	char tmp[128];
	for (int pc = 0; pc < p->len;) {
		int n = insn_text(tmp, sizeof(tmp), set, p, pc, NULL);
		if (n == 2)
			inner[pc + 1] = 1;
		pc += n;
	}
	for (int pc = 0; pc < p->len; pc++) {
		if (inner[pc])
			continue;
		const struct bpf_insn *i = &p->insns[pc];
		int op = isa_decode(i);
		if (op == ISA_INVALID || !isa_reserved_ok(op, i))
			continue;
		int fmt = isa_rows[op].fmt;
		int64_t rel;
		if (fmt == FMT_JA || fmt == FMT_JMP_K || fmt == FMT_JMP_X)
			rel = i->off;
		else if (fmt == FMT_JA32 || fmt == FMT_CALL_LOCAL)
			rel = i->imm;
		else
			continue;
		if (target_ok(p, inner, pc, rel))
			target[pc + 1 + rel] = 1;
	}
	if (p->exception_cb >= 0 && p->exception_cb < p->len && !inner[p->exception_cb])
		target[p->exception_cb] = 1;
}

void disasm_program(FILE *f, const struct prog_set *set, const struct prog *p)
{
	unsigned char *inner = calloc((size_t)p->len + 1, 1);
	unsigned char *target = calloc((size_t)p->len + 1, 1);
	if (!inner || !target) {
		free(inner);
		free(target);
		fprintf(f, "# out of memory\n");
		return;
	}
	scan(set, p, inner, target);
	if (p->exception_cb >= 0 && target[p->exception_cb])
		fprintf(f, ".exception_callback L%d\n", p->exception_cb);
	char buf[160];
	for (int pc = 0; pc < p->len;) {
		if (target[pc])
			fprintf(f, "L%d:\n", pc);
		int n = insn_text(buf, sizeof(buf), set, p, pc, inner);
		fprintf(f, "%s\n", buf);
		pc += n;
	}
	free(inner);
	free(target);
}
