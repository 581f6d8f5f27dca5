/* The assembler (docs/format.md): one program's source lines to instructions. */
#ifndef BPFDIFF_ASM_H
#define BPFDIFF_ASM_H

#include <stdint.h>

#include "diag.h"
#include "prog.h"

/* One source line and where it came from (for file:line errors). */
struct asm_line {
	char *text;
	int line;
};

/* Cuts S at the first comment (any char of MARKS, or `//`; MARKS NULL: no
 * comments) and trims white space; returns the trimmed start, in place. */
char *asm_trim(char *s, const char *marks);

/* Decimal or 0x hex, optionally signed, the whole string. 0 on success. */
int asm_parse_int(const char *s, int64_t *out, int *is_hex);

/* Assembles LINES into P (insns, lines, len, exception_cb). Prog array names
 * resolve against SET, so arrays must be known before programs assemble.
 * Returns 0, or -1 with the error in D. */
int asm_program(const struct prog_set *set, struct prog *p, const struct asm_line *lines, int nlines, const char *file,
		struct diag *d);

#endif
