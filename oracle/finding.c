#include "finding.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/textfmt.h"

#define FINDING_HEADER_COLS 240

uint64_t finding_hash(const char *signature, const char *engines)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *s = signature; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	h = (h ^ '|') * 0x100000001b3ull;
	for (const char *s = engines; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The record as comment lines "# NAME: field value" */
static void print_record(FILE *f, const struct prog_set *set, const char *name, const struct outcome *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	outcome_print(m, set, out);
	fclose(m);
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		/* the header is for people: long lists are cut, -- expect has them whole */
		int n = nl ? (int)(nl - line) : (int)strlen(line);
		if (n > FINDING_HEADER_COLS)
			fprintf(f, "# %s: %.*s ... (%d more bytes)\n", name, FINDING_HEADER_COLS, line,
				n - FINDING_HEADER_COLS);
		else
			fprintf(f, "# %s: %.*s\n", name, n, line);
	}
	free(buf);
}

/* The engine whose record is the expectation: the first without a model. */
static int reference(const struct oracle *o)
{
	for (int i = 0; i < o->nengines; i++)
		if (!o->eng[i].model)
			return i;
	return 0;
}

void finding_print(FILE *f, const struct prog_set *set, const struct oracle *o, const struct oracle_verdict *v,
		   const char *origin)
{
	char engines[256];
	oracle_engines(o, engines, sizeof(engines));
	fprintf(f, "# bpfdiff finding\n");
	fprintf(f, "# signature: %s\n", v->signature);
	fprintf(f, "# detail: %s\n", v->detail);
	fprintf(f, "# engines: %s\n", engines);
	if (origin && *origin)
		fprintf(f, "# origin: %s\n", origin);
	for (int i = 0; i < o->have_out; i++)
		print_record(f, set, o->eng[i].name, &o->out[i]);
	int ref = reference(o);
	fprintf(f, "# replay: bpfdiff replay THIS_FILE (exits 1 while the engines disagree)\n");
	fprintf(f, "# the -- expect section is the %s record, as the reference saw it\n\n", o->eng[ref].name);
	textfmt_write(f, set);
	if (ref < o->have_out) {
		fprintf(f, "-- expect\n");
		outcome_print(f, set, &o->out[ref]);
	}
}

int finding_mkdirs(const char *dir)
{
	char buf[4096];
	if (strlen(dir) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, dir);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0777) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(buf, 0777) && errno != EEXIST)
		return -1;
	return 0;
}

int finding_write(const char *dir, const struct prog_set *set, const struct oracle *o, const struct oracle_verdict *v,
		  const char *origin, char *path, size_t len)
{
	char engines[256], tmp[4200];
	oracle_engines(o, engines, sizeof(engines));
	if (finding_mkdirs(dir))
		return -1;
	snprintf(path, len, "%s/%s-%016llx.bpf", dir, oracle_class_name(v->cls),
		 (unsigned long long)finding_hash(v->signature, engines));
	if (access(path, F_OK) == 0)
		return 0;
	static unsigned serial;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%u", dir, (long)getpid(), serial++);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	finding_print(f, set, o, v, origin);
	int bad = ferror(f);
	bad |= fflush(f) != 0;
	bad |= fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad) {
		unlink(tmp);
		return -1;
	}
	/* link, not rename: an existing finding with this signature is kept */
	int rc = link(tmp, path);
	int e = errno;
	unlink(tmp);
	if (rc == 0)
		return 1;
	if (e == EEXIST)
		return 0;
	errno = e;
	return -1;
}

int finding_header(const char *text, size_t len, const char *key, char *buf, size_t buflen)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < len;) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;
		if (n >= 2 && line[0] == '-' && line[1] == '-')
			return -1;
		if (n > klen + 3 && line[0] == '#' && line[1] == ' ' && memcmp(line + 2, key, klen) == 0 &&
		    line[2 + klen] == ':') {
			const char *v = line + 3 + klen;
			size_t vn = n - 3 - klen;
			while (vn && *v == ' ')
				v++, vn--;
			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\r'))
				vn--;
			if (vn >= buflen)
				vn = buflen - 1;
			memcpy(buf, v, vn);
			buf[vn] = 0;
			return 0;
		}
		i += n + 1;
	}
	return -1;
}
