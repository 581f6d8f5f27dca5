/* bpfdiff fuzz and bpfdiff gen: campaigns and single generated sets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../fuzz/campaign.h"
#include "cli.h"

int cli_number(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "bpfdiff %s: error: %s wants a number in %lld..%lld, not '%s'\n", cmd, opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_profile(const char *s, enum gen_profile *p)
{
	if (strcmp(s, "full") == 0)
		*p = GEN_PROFILE_FULL;
	else if (strcmp(s, "kernel") == 0)
		*p = GEN_PROFILE_KERNEL;
	else {
		fprintf(stderr, "bpfdiff: error: unknown generator profile '%s' (full, kernel)\n", s);
		return -1;
	}
	return 0;
}

static const char fuzz_usage[] =
    "usage: bpfdiff fuzz [--jobs N] [--time S] [--seed N] [--model NAME] [--out DIR]\n"
    "                    [--engines LIST] [--sets N] [--stop-on-finding] [--size N]\n"
    "                    [--profile full|kernel] [--quiet]\n"
    "       bpfdiff fuzz --list-models\n"
    "Generates program sets, runs each on the interpreter and the JIT, and saves every\n"
    "disagreement to DIR (default findings/) as a replayable file. --model turns on one of\n"
    "the kernel's historical engine bugs (SPEC sec. 9) in the engine it belongs to;\n"
    "--engines LIST (e.g. interp,jit:jit-tail-limit-32) names the engines, every pair compared.\n";

int cmd_fuzz(int argc, char **argv)
{
	struct campaign_opts o = {.jobs = 1, .out = "findings", .status = 1, .gen = {.size = 200}};
	int seeded = 0;
	long long v;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (strcmp(a, "--list-models") == 0) {
			for (int m = 0; m < engine_nmodels; m++)
				printf("%s  (%s engine) %s\n", engine_models[m].name,
				       engine_models[m].engine == ENGINE_INTERP ? "interp" : "jit",
				       engine_models[m].what);
			return 0;
		} else if (strcmp(a, "--jobs") == 0 && more) {
			if (cli_number("fuzz", a, argv[++i], 1, 64, &v))
				return EXIT_ERROR;
			o.jobs = (int)v;
		} else if (strcmp(a, "--time") == 0 && more) {
			if (cli_number("fuzz", a, argv[++i], 1, 100000000, &v))
				return EXIT_ERROR;
			o.time_s = (double)v;
		} else if (strcmp(a, "--seed") == 0 && more) {
			if (cli_number("fuzz", a, argv[++i], 0, 0x7fffffffffffffffll, &v))
				return EXIT_ERROR;
			o.seed = (uint64_t)v;
			seeded = 1;
		} else if (strcmp(a, "--sets") == 0 && more) {
			if (cli_number("fuzz", a, argv[++i], 1, 0x7fffffffffffffffll, &v))
				return EXIT_ERROR;
			o.max_sets = (long)v;
		} else if (strcmp(a, "--size") == 0 && more) {
			if (cli_number("fuzz", a, argv[++i], 1, 20000, &v))
				return EXIT_ERROR;
			o.gen.size = (int)v;
		} else if (strcmp(a, "--engines") == 0 && more) {
			o.engines = argv[++i];
		} else if (strcmp(a, "--model") == 0 && more) {
			if (strcmp(argv[i + 1], "none") && !(o.model = engine_model_find(argv[i + 1]))) {
				fprintf(stderr,
					"bpfdiff fuzz: error: unknown model '%s' (bpfdiff fuzz --list-models)\n",
					argv[i + 1]);
				return EXIT_ERROR;
			}
			i++;
		} else if (strcmp(a, "--profile") == 0 && more) {
			if (parse_profile(argv[++i], &o.gen.profile))
				return EXIT_ERROR;
		} else if (strcmp(a, "--out") == 0 && more)
			o.out = argv[++i];
		else if (strcmp(a, "--stop-on-finding") == 0)
			o.stop_on_finding = 1;
		else if (strcmp(a, "--quiet") == 0)
			o.status = 0;
		else {
			fprintf(stderr, "bpfdiff fuzz: error: unknown or incomplete option '%s'\n%s", a, fuzz_usage);
			return EXIT_ERROR;
		}
	}
	if (!seeded) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		o.seed = ((uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 20) &
			 0x7fffffffffffffffull;
	}
	if (o.status)
		fprintf(stderr, "bpfdiff fuzz: seed %llu, %d job%s, engines %s, findings to %s/\n",
			(unsigned long long)o.seed, o.jobs, o.jobs == 1 ? "" : "s",
			o.engines ? o.engines
			: o.model ? o.model->name
				  : "interp,jit",
			o.out);
	return campaign_run(&o);
}

int cmd_gen(int argc, char **argv)
{
	struct gen_opts g = {.size = 200};
	uint64_t seed = 0;
	int have_seed = 0, verify = 1;
	const char *save = NULL, *from = NULL;
	long long v;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if ((strcmp(a, "--set-seed") == 0 || strcmp(a, "--seed") == 0) && more) {
			char *end;
			errno = 0;
			seed = strtoull(argv[++i], &end, 0);
			if (!*argv[i] || *end || errno) {
				fprintf(stderr, "bpfdiff gen: error: bad seed '%s'\n", argv[i]);
				return EXIT_ERROR;
			}
			have_seed = 1;
		} else if (strcmp(a, "--size") == 0 && more) {
			if (cli_number("gen", a, argv[++i], 1, 20000, &v))
				return EXIT_ERROR;
			g.size = (int)v;
		} else if (strcmp(a, "--profile") == 0 && more) {
			if (parse_profile(argv[++i], &g.profile))
				return EXIT_ERROR;
		} else if (strcmp(a, "--choices") == 0 && more)
			save = argv[++i];
		else if (strcmp(a, "--bytes") == 0 && more)
			from = argv[++i];
		else if (strcmp(a, "--no-verify") == 0)
			verify = 0;
		else {
			fprintf(stderr,
				"usage: bpfdiff gen --set-seed N | --bytes FILE [--size N] [--profile full|kernel]\n"
				"                  [--choices OUT] [--no-verify]\n"
				"  --bytes FILE: the set a libFuzzer input (fuzz_diff) stands for\n"
				"  --choices OUT: write the choice bytes consumed (a fuzz_diff seed)\n");
			return EXIT_ERROR;
		}
	}
	if (have_seed == !!from) {
		fprintf(stderr, "bpfdiff gen: error: --set-seed N or --bytes FILE expected (a finding's origin line "
				"gives it)\n");
		return EXIT_ERROR;
	}
	struct prog_set *set = malloc(sizeof(*set));
	if (!set)
		return EXIT_ERROR;
	struct choice c;
	char *bytes = NULL;
	size_t nbytes = 0;
	if (from) {
		struct diag d = {0};
		if (!(bytes = textfmt_read(from, &nbytes, &d))) {
			fprintf(stderr, "%s\n", d.msg);
			free(set);
			return EXIT_ERROR;
		}
		choice_from_bytes(&c, (const uint8_t *)bytes, nbytes);
	} else
		choice_seed(&c, seed);
	if (save)
		choice_record(&c);
	prog_set_init(set);
	int failed = gen_set(&c, &g, set);
	free(bytes);
	if (!failed && save) {
		FILE *f = fopen(save, "wb");
		if (!f || fwrite(c.log, 1, c.log_len, f) != c.log_len || fclose(f)) {
			perror(save);
			failed = 1;
		}
	}
	choice_free(&c);
	if (failed) {
		fprintf(stderr, "bpfdiff gen: error: the generator failed\n");
		free(set);
		return EXIT_ERROR;
	}
	struct diag d = {0};
	int rc = 0;
	if (verify && verifier_check(set, &d)) {
		fprintf(stderr, "%s\n", d.msg);
		rc = EXIT_FAIL;
	}
	if (from)
		printf("# bpfdiff gen --bytes %s --size %d\n", from, g.size);
	else
		printf("# bpfdiff gen --set-seed 0x%016llx --size %d\n", (unsigned long long)seed, g.size);
	textfmt_write(stdout, set);
	prog_set_free(set);
	free(set);
	return rc;
}
