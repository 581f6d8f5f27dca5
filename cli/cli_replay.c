/* bpfdiff replay FILE|DIR...: runs findings and corpus files through the
 * oracle again. A file's engines come from --engines, else its `# engines:`
 * header (a finding names the pair that disagreed), else interp,jit. Every
 * engine's record must match the file's expectations where it has any
 * (except engines under a bug model, whose records are what is on trial) and
 * every engine must agree with the first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/outcome.h"
#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../oracle/finding.h"
#include "../oracle/oracle.h"
#include "cli.h"

struct replay {
	const char *engines; /* --engines, or NULL */
	int quiet;
	int files, agreed, diverged, unmet, errors, reproduced, skipped;
	char engines_ok[256]; /* --engines without the ones this host cannot run */
	struct prog_set set;
	struct oracle orc;
};

static void replay_error(struct replay *r, const char *fmt, const char *path, const char *msg)
{
	printf(fmt, path, msg);
	r->errors++;
}

/* The file's expected verifier error, checked like `bpfdiff check` does. */
static void replay_expect_error(struct replay *r, const char *path, int verified, const char *msg)
{
	const char *want = r->set.expect_error ? r->set.expect_error : "";
	if (verified)
		printf("FAIL %s: expected an error containing '%s', but it verified\n", path, want);
	else if (!strstr(msg, want))
		printf("FAIL %s: expected an error containing '%s', got: %s\n", path, want, msg);
	else {
		r->agreed++;
		if (!r->quiet)
			printf("ok   %s (rejected as expected)\n", path);
		return;
	}
	r->unmet++;
}

static void replay_file(const char *path, const char *err, void *ctx)
{
	struct replay *r = ctx;
	r->files++;
	if (err)
		return replay_error(r, "FAIL %s: error: %s\n", path, err);
	struct diag d = {0};
	size_t len;
	char *text = textfmt_read(path, &len, &d);
	if (!text)
		return replay_error(r, "FAIL %s%s\n", "", d.msg);
	char engines[256] = "interp,jit", want_sig[160] = "";
	if (r->engines)
		snprintf(engines, sizeof(engines), "%s", r->engines_ok);
	else
		finding_header(text, len, "engines", engines, sizeof(engines));
	finding_header(text, len, "signature", want_sig, sizeof(want_sig));
	prog_set_init(&r->set);
	int loaded = textfmt_parse(&r->set, path, text, len, &d) == 0;
	free(text);
	if (!loaded) {
		prog_set_free(&r->set);
		return replay_error(r, "FAIL %s%s\n", "", d.msg);
	}
	int verified = verifier_check(&r->set, &d) == 0;
	if (r->set.expect_mask & EXPECT_ERROR) {
		replay_expect_error(r, path, verified, d.msg);
		prog_set_free(&r->set);
		return;
	}
	if (!verified) {
		printf("FAIL %s\n", d.msg);
		r->unmet++;
		prog_set_free(&r->set);
		return;
	}
	char why[320];
	oracle_init(&r->orc);
	if (oracle_add_list(&r->orc, engines, why, sizeof(why))) {
		prog_set_free(&r->set);
		return replay_error(r, "FAIL %s: error: %s\n", path, why);
	}
	struct oracle_verdict v;
	int diverged = oracle_check(&r->orc, &r->set, &v);
	for (int i = 0; i < r->orc.have_out; i++)
		if (r->orc.status[i] == ENGINE_UNSUPPORTED) {
			r->skipped++;
			if (!r->quiet)
				printf("skip %s: %s: %s\n", path, r->orc.eng[i].name, r->orc.log[i]);
		}
	int unmet = 0;
	if (r->set.expect_mask & ~EXPECT_ERROR) {
		for (int i = 0; i < r->orc.have_out && !unmet; i++) {
			if (r->orc.eng[i].model || r->orc.status[i] != ENGINE_RAN)
				continue;
			if (r->set.expect->kind == OUTCOME_BUDGET &&
			    !(engine_kinds[r->orc.eng[i].kind].fields & ENGINE_HAS_BUDGET))
				continue; /* SPEC's budget: this engine has none */
			unsigned mask = r->set.expect_mask & engine_kinds[r->orc.eng[i].kind].fields;
			if (outcome_diff(&r->set, r->set.expect, &r->orc.out[i], mask, why, sizeof(why))) {
				printf("FAIL %s: %s: expected vs got: %s\n", path, r->orc.eng[i].name, why);
				unmet = 1;
			}
		}
	}
	if (diverged) {
		int same = want_sig[0] && strcmp(want_sig, v.signature) == 0;
		printf("DIVERGES %s: %s (%s)%s\n", path, v.signature, v.detail, same ? ", as the finding says" : "");
		r->diverged++;
		r->reproduced += same;
	} else if (want_sig[0])
		printf("FIXED %s: the engines %s agree now (the finding said %s)\n", path, engines, want_sig);
	r->unmet += unmet;
	if (!diverged && !unmet) {
		r->agreed++;
		if (!r->quiet && !want_sig[0])
			printf("ok   %s\n", path);
	}
	oracle_free(&r->orc);
	prog_set_free(&r->set);
}

int cmd_replay(int argc, char **argv)
{
	struct replay *r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "bpfdiff replay: error: out of memory\n");
		return EXIT_ERROR;
	}
	int nfiles = 0, rc = EXIT_ERROR;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--engines") == 0 && i + 1 < argc)
			r->engines = argv[++i];
		else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			r->quiet = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr,
				"bpfdiff replay: error: unknown option '%s'\n"
				"usage: bpfdiff replay [--engines LIST] [--quiet] FILE|DIR...\n",
				argv[i]);
			goto out;
		} else
			nfiles++;
	}
	if (!nfiles) {
		fprintf(stderr, "usage: bpfdiff replay [--engines LIST] [--quiet] FILE|DIR...\n");
		goto out;
	}
	if (r->engines) {
		/* a bad list is a usage error, not one failure per file */
		char why[256];
		oracle_init(&r->orc);
		int bad = oracle_add_list(&r->orc, r->engines, why, sizeof(why));
		if (bad) {
			fprintf(stderr, "bpfdiff replay: error: %s\n", why);
			goto out;
		}
		/* an engine this host cannot run: one line, and the others go on */
		int n = oracle_drop_unavailable(&r->orc, stdout);
		oracle_engines(&r->orc, r->engines_ok, sizeof(r->engines_ok));
		oracle_free(&r->orc);
		if (!n) {
			printf("replay: no engine of '%s' can run here\n", r->engines);
			rc = 0;
			goto out;
		}
	}
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--engines") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		cli_walk(argv[i], replay_file, r);
	}
	printf("replayed %d: %d agree, %d diverge (%d as their finding says), %d unmet expectations, %d errors; "
	       "%d engine runs skipped (unsupported)\n",
	       r->files, r->agreed, r->diverged, r->reproduced, r->unmet, r->errors, r->skipped);
	rc = r->diverged || r->unmet ? EXIT_FAIL : r->errors ? EXIT_ERROR : 0;
out:
	free(r);
	return rc;
}
