/* Error reports: "file:line: error: message", kept for the caller to print. */
#ifndef BPFDIFF_DIAG_H
#define BPFDIFF_DIAG_H

#define DIAG_MAX 1024

struct diag {
	char msg[DIAG_MAX];
	int line; /* 0 when the error has no line */
};

/* Records the error and returns -1, so callers can `return diag_error(...)`. */
int diag_error(struct diag *d, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
