/* `bpfdiff jit --disasm`: the native code of each function, disassembled
 * with capstone, each block under the BPF instruction it came from. Offsets
 * are from the image's start, so listings are stable from run to run (only
 * absolute addresses that the code embeds, helpers and prog arrays, vary). */
#include <capstone/capstone.h>
#include <stdio.h>

#include "../core/disasm.h"
#include "jit_internal.h"

int jit_disasm(FILE *f, const struct jit_image *img)
{
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -1;
	const struct prog_set *set = img->set;
	for (int pi = 0; pi < set->nprogs; pi++) {
		const struct prog *p = &set->progs[pi];
		const struct jit_prog *jp = &img->progs[pi];
		for (int fn = 0; fn < p->nfuncs; fn++) {
			fprintf(f, "; program %s, function %d (BPF %d..%d), frame %d bytes\n", p->name, fn,
				p->funcs[fn].start, p->funcs[fn].end - 1, p->funcs[fn].cost);
			size_t from = jp->func_entry[fn];
			for (int pc = p->funcs[fn].start - 1; pc < p->funcs[fn].end; pc++) {
				size_t to;
				if (pc < p->funcs[fn].start) {
					fprintf(f, ";   prologue\n");
					to = (size_t)jp->pc_off[p->funcs[fn].start];
				} else {
					if (p->ops[pc] == ISA_OP_NONE)
						continue;
					char text[160];
					disasm_insn(text, sizeof(text), set, p, pc, 0);
					fprintf(f, ";   %d: %s\n", pc, text);
					int next = pc + 1;
					while (next < p->funcs[fn].end && p->ops[next] == ISA_OP_NONE)
						next++;
					to = next < p->funcs[fn].end ? (size_t)jp->pc_off[next] : jp->func_epilogue[fn];
				}
				cs_insn *insn;
				size_t n = cs_disasm(cs, img->code + from, to - from, from, 0, &insn);
				for (size_t k = 0; k < n; k++)
					fprintf(f, "  %5llx: %s %s\n", (unsigned long long)insn[k].address,
						insn[k].mnemonic, insn[k].op_str);
				if (n)
					cs_free(insn, n);
				from = to;
			}
		}
	}
	cs_close(&cs);
	return 0;
}
