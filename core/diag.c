#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

int diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	char text[DIAG_MAX - 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	d->line = line;
	if (line > 0)
		snprintf(d->msg, sizeof(d->msg), "%s:%d: error: %s", file ? file : "<input>", line, text);
	else
		snprintf(d->msg, sizeof(d->msg), "%s: error: %s", file ? file : "<input>", text);
	return -1;
}
