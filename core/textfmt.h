/* The bpfdiff text format (docs/format.md): files to program sets, and back. */
#ifndef BPFDIFF_TEXTFMT_H
#define BPFDIFF_TEXTFMT_H

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "prog.h"

#define TEXTFMT_MAX_FILE (16u << 20)

/* Parses TEXT (LEN bytes, need not be NUL-terminated) named FILE into SET,
 * which must be freshly initialised. Returns 0, or -1 with D set. */
int textfmt_parse(struct prog_set *set, const char *file, const char *text, size_t len, struct diag *d);
/* The whole of PATH (at most TEXTFMT_MAX_FILE bytes), NUL-terminated, in
 * memory the caller frees; NULL with D set on error. */
char *textfmt_read(const char *path, size_t *len, struct diag *d);
/* Reads and parses PATH. */
int textfmt_load(struct prog_set *set, const char *path, struct diag *d);
/* Writes SET (programs disassembled, arrays, mem, pool, budget) in the text
 * format; a reader gets the same set back. Expectations are not written. */
void textfmt_write(FILE *f, const struct prog_set *set);

#endif
