/* bpfdiff minimize FINDING [-o OUT] [--max-tries N]: shrinks a finding
 * while its engines keep disagreeing in the same way (the class of its
 * signature, between the same engines; the pc in the signature may move as
 * instructions go) and writes the smaller finding, atomically, to OUT
 * (default: FINDING with .min.bpf for .bpf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../fuzz/minimize.h"
#include "../oracle/finding.h"
#include "../oracle/oracle.h"
#include "cli.h"

static const char minimize_usage[] = "usage: bpfdiff minimize FINDING [-o OUT] [--engines LIST] [--max-tries N]\n";

/* OUT, written through a temporary file and a rename. */
static int write_finding(const char *out, const struct prog_set *set, const struct oracle *o,
			 const struct oracle_verdict *v, const char *origin)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	finding_print(f, set, o, v, origin);
	if (fflush(f) || ferror(f) || fsync(fileno(f))) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, out)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_minimize(int argc, char **argv)
{
	const char *file = NULL, *out = NULL, *engines_opt = NULL;
	long long max_tries = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--engines") == 0 && i + 1 < argc)
			engines_opt = argv[++i];
		else if (strcmp(argv[i], "--max-tries") == 0 && i + 1 < argc) {
			if (cli_number("minimize", "--max-tries", argv[++i], 1, 1000000000, &max_tries))
				return EXIT_ERROR;
		} else if ((argv[i][0] == '-' && argv[i][1]) || file) {
			fprintf(stderr, "bpfdiff minimize: error: unexpected '%s'\n%s", argv[i], minimize_usage);
			return EXIT_ERROR;
		} else
			file = argv[i];
	}
	if (!file) {
		fprintf(stderr, "%s", minimize_usage);
		return EXIT_ERROR;
	}
	char outbuf[4096];
	if (!out) {
		size_t n = strlen(file);
		if (n > 4 && strcmp(file + n - 4, ".bpf") == 0)
			snprintf(outbuf, sizeof(outbuf), "%.*s.min.bpf", (int)(n - 4), file);
		else
			snprintf(outbuf, sizeof(outbuf), "%s.min.bpf", file);
		out = outbuf;
	}
	int rc = EXIT_ERROR;
	struct diag d = {0};
	struct prog_set *set = malloc(sizeof(*set));
	struct oracle *o = malloc(sizeof(*o));
	size_t len;
	char *text = set && o ? textfmt_read(file, &len, &d) : NULL;
	if (!text) {
		fprintf(stderr, "%s\n", set && o ? d.msg : "bpfdiff minimize: error: out of memory");
		goto out;
	}
	char engines[256] = "interp,jit", origin[512] = "", want_sig[160] = "";
	if (engines_opt)
		snprintf(engines, sizeof(engines), "%s", engines_opt);
	else
		finding_header(text, len, "engines", engines, sizeof(engines));
	finding_header(text, len, "signature", want_sig, sizeof(want_sig));
	finding_header(text, len, "origin", origin, sizeof(origin));
	prog_set_init(set);
	int ok = textfmt_parse(set, file, text, len, &d) == 0 && verifier_check(set, &d) == 0;
	free(text);
	if (!ok) {
		fprintf(stderr, "%s\n", d.msg);
		prog_set_free(set);
		goto out;
	}
	char why[256];
	oracle_init(o);
	if (oracle_add_list(o, engines, why, sizeof(why))) {
		fprintf(stderr, "bpfdiff minimize: error: %s\n", why);
		prog_set_free(set);
		goto out;
	}
	struct oracle_verdict want, v;
	if (!oracle_check(o, set, &want)) {
		fprintf(stderr, "bpfdiff minimize: %s: the engines %s agree: nothing to minimize%s%s\n", file, engines,
			want_sig[0] ? "; the finding said " : "", want_sig);
		rc = EXIT_FAIL;
		oracle_free(o);
		prog_set_free(set);
		goto out;
	}
	struct minimize_stats st;
	if (minimize_set(set, o, &want, &v, (long)max_tries, &st))
		fprintf(stderr, "bpfdiff minimize: warning: out of memory; the result is what was reached\n");
	char from[sizeof(origin) + 4200];
	snprintf(from, sizeof(from), "bpfdiff minimize %s%s%s%s", file, origin[0] ? " (from: " : "", origin,
		 origin[0] ? ")" : "");
	if (write_finding(out, set, o, &v, from)) {
		perror(out);
	} else {
		printf("bpfdiff minimize: %d -> %d instructions, %d -> %d programs, %ld runs\n", st.insns_before,
		       st.insns_after, st.progs_before, st.progs_after, st.tries);
		printf("  signature %s (was %s)\n", v.signature, want.signature);
		printf("  written to %s\n  replay it: bpfdiff replay %s\n", out, out);
		rc = 0;
	}
	oracle_free(o);
	prog_set_free(set);
out:
	free(set);
	free(o);
	return rc;
}
