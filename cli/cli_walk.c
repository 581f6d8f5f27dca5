/* Walking the FILE|DIR... arguments of check and replay: a directory gives
 * its .bpf and .data files, recursively, in name order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *path, int top, cli_file_fn fn, void *ctx)
{
	struct stat sb;
	if (stat(path, &sb)) {
		char err[128];
		snprintf(err, sizeof(err), "cannot open: %s", strerror(errno));
		fn(path, err, ctx);
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (top || has_suffix(path, ".bpf") || has_suffix(path, ".data"))
			fn(path, NULL, ctx);
		return;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		fn(path, "cannot open directory", ctx);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[n] = malloc(len)))
			break;
		snprintf(names[n++], len, "%s/%s", path, e->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		walk(names[i], 0, fn, ctx);
		free(names[i]);
	}
	free(names);
}

void cli_walk(const char *path, cli_file_fn fn, void *ctx)
{
	walk(path, 1, fn, ctx);
}
