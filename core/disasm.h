/* The disassembler: instructions back to the assembler's syntax. */
#ifndef BPFDIFF_DISASM_H
#define BPFDIFF_DISASM_H

#include <stdio.h>

#include "prog.h"

/* Writes P's instructions, one per line, with generated labels "L<pc>" at
 * jump and call targets and ".insn" for words the table cannot name; the
 * output assembles back to the same bytes. */
void disasm_program(FILE *f, const struct prog_set *set, const struct prog *p);
/* One instruction (two slots for lddw) into BUF, targets as labels "L<pc>"
 * when LABELS, else as "+N"/"-N". Returns the number of slots consumed. */
int disasm_insn(char *buf, size_t len, const struct prog_set *set, const struct prog *p, int pc, int labels);

#endif
