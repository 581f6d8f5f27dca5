/* Findings on disk: a program set in the text format that replays a
 * disagreement, with the engines, both records and the signature in its
 * header comments, and the reference engine's record as `-- expect`.
 * Written atomically (a temporary file, then link) and deduplicated by
 * signature: the file's name is the signature's hash, the first one wins. */
#ifndef BPFDIFF_FINDING_H
#define BPFDIFF_FINDING_H

#include <stddef.h>
#include <stdint.h>

#include "oracle.h"

/* 64-bit FNV-1a of the signature and the engines. */
uint64_t finding_hash(const char *signature, const char *engines);

/* Writes the finding to DIR (created if missing); ORIGIN is a free-form
 * line (seed, size). Returns 1 when written, 0 when a finding with this
 * signature is already there, -1 on error (errno). PATH receives the name. */
int finding_write(const char *dir, const struct prog_set *set, const struct oracle *o, const struct oracle_verdict *v,
		  const char *origin, char *path, size_t len);

/* DIR and its missing parents, as mkdir -p. 0, or -1 (errno). */
int finding_mkdirs(const char *dir);

/* Writes SET with O's records and V's signature to F (what finding_write
 * puts in the file). */
void finding_print(FILE *f, const struct prog_set *set, const struct oracle *o, const struct oracle_verdict *v,
		   const char *origin);

/* The value of a header line `# KEY: VALUE` of the file TEXT (before its first
 * section), copied to BUF; 0 if found, -1 if not. */
int finding_header(const char *text, size_t len, const char *key, char *buf, size_t buflen);

#endif
