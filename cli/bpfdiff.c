/* bpfdiff: the command line. Subcommands run, check, asm, disasm. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/diag.h"
#include "../core/disasm.h"
#include "../core/outcome.h"
#include "../core/prog.h"
#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../interp/interp.h"
#include "../jit/jit.h"
#include "../oracle/oracle.h"
#include "cli.h"

static const char usage[] =
    "usage: bpfdiff COMMAND [ARGS]\n"
    "\n"
    "Differential testing of eBPF engines (see README.md).\n"
    "\n"
    "commands:\n"
    "  run FILE [--engine interp|jit|both|kernel|...] [--engines LIST] [--model NAME] [--json]\n"
    "                      verify and run a program set, print its outcome record; with\n"
    "                      --engines (e.g. interp,jit,kernel) every engine's and the first\n"
    "                      difference between any pair (exit 1)\n"
    "  check FILE|DIR... [--engine interp|jit|both] [--model NAME] [--isa-shifts]\n"
    "                      run files and check their expectations (-- expect, -- result,\n"
    "                      -- error); one line per failure, then 'N passed, N failed'\n"
    "                      --isa-shifts: mask out-of-range immediate shifts (RFC 9669)\n"
    "                      instead of rejecting them (kernel); for bpf_conformance\n"
    "  replay FILE|DIR... [--engines LIST] [--quiet]\n"
    "                      run findings and corpus files on their engines (a finding's\n"
    "                      '# engines:', else interp,jit); exit 1 on any divergence\n"
    "                      or unmet expectation\n"
    "  fuzz [--jobs N] [--time S] [--seed N] [--model NAME] [--out DIR] ...\n"
    "                      a campaign: generate, verify, run on both engines, compare;\n"
    "                      findings to DIR (default findings/); --help for the rest\n"
    "  minimize FINDING [-o OUT] [--max-tries N]\n"
    "                      shrink a finding while its engines disagree the same way\n"
    "  gen --set-seed N [--size N] [--profile full|kernel]\n"
    "                      print the program set the generator makes from seed N\n"
    "  verify FILE         verify only; print each program's functions and stack figures\n"
    "  jit --disasm FILE   the JIT's native code per function, annotated with BPF pcs\n"
    "  asm FILE            assemble: print the set with each program as -- raw words\n"
    "  disasm FILE         disassemble: print the set in the text format\n"
    "  help                this text\n"
    "\n"
    "models (--model; bpfdiff fuzz --list-models): kernel-interp-stack, jit-per-frame-tail-count,\n"
    "  jit-count-empty-slots, jit-tail-limit-32 (SPEC sec. 9)\n"
    "exit status: 0 ok, 1 a check failed or engines diverged, 2 bad input or usage\n";

struct engine_opts {
	const char *engine;
	unsigned verify_flags;
	struct interp_opts interp;
	enum jit_model jit_model;
};

static int parse_model(const char *name, struct engine_opts *o)
{
	if (strcmp(name, "none") == 0)
		o->interp.model = INTERP_MODEL_NONE;
	else if (strcmp(name, "kernel-interp-stack") == 0)
		o->interp.model = INTERP_MODEL_KERNEL_STACK;
	else if (strcmp(name, "jit-per-frame-tail-count") == 0)
		o->jit_model = JIT_MODEL_PER_FRAME_TCC;
	else if (strcmp(name, "jit-count-empty-slots") == 0)
		o->jit_model = JIT_MODEL_COUNT_EMPTY;
	else if (strcmp(name, "jit-tail-limit-32") == 0)
		o->jit_model = JIT_MODEL_LIMIT_32;
	else
		return -1;
	return 0;
}

/* Loads and verifies; prints the error and returns -1 on failure. */
static int load_verified(const char *path, struct prog_set *set, struct diag *d, int verify)
{
	prog_set_init(set);
	if (textfmt_load(set, path, d))
		return -1;
	if (verify && verifier_check(set, d))
		return -1;
	return 0;
}

static int run_engine(const struct engine_opts *o, const struct prog_set *set, struct outcome *out)
{
	outcome_init(out);
	if (strcmp(o->engine, "interp") == 0)
		return interp_run(set, &o->interp, out);
	if (strcmp(o->engine, "jit") == 0) {
		char err[256];
		struct jit_image *img = jit_compile_model(set, o->jit_model, err, sizeof(err));
		if (!img) {
			fprintf(stderr, "%s: error: %s\n", set->file, err);
			out->kind = OUTCOME_CRASH;
			return -1;
		}
		int rc = jit_run(img, out);
		jit_free(img);
		return rc;
	}
	return -1;
}

/* run --engines LIST: each engine's record, then the first difference
 * between any pair (exit 1) or none. */
static int run_engines(const char *file, const char *list)
{
	struct oracle *o = malloc(sizeof(*o));
	struct prog_set *set = malloc(sizeof(*set));
	struct diag d = {0};
	char why[320];
	int rc = EXIT_ERROR;
	if (!o || !set) {
		fprintf(stderr, "bpfdiff: error: out of memory\n");
		goto end;
	}
	oracle_init(o);
	if (oracle_add_list(o, list, why, sizeof(why))) {
		fprintf(stderr, "bpfdiff run: error: %s\n", why);
		goto end;
	}
	oracle_drop_unavailable(o, stdout);
	if (load_verified(file, set, &d, 1)) {
		fprintf(stderr, "%s\n", d.msg);
		prog_set_free(set);
		goto end;
	}
	struct oracle_verdict v;
	int diverged = oracle_check(o, set, &v);
	for (int i = 0; i < o->have_out; i++) {
		printf("# %s\n", o->eng[i].name);
		if (o->status[i] == ENGINE_RAN)
			outcome_print(stdout, set, &o->out[i]);
		else
			printf("# %s: %s\n", o->status[i] == ENGINE_UNSUPPORTED ? "not run" : "did not run", o->log[i]);
	}
	if (diverged)
		printf("# first difference: %s (%s)\n", v.signature, v.detail);
	else
		printf("# no difference\n");
	rc = diverged ? EXIT_FAIL : 0;
	oracle_free(o);
	prog_set_free(set);
end:
	free(o);
	free(set);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	const char *engines = NULL;
	struct engine_opts o = {.engine = "interp"};
	const char *file = NULL;
	int json = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
			o.engine = argv[++i];
		else if (strcmp(argv[i], "--engines") == 0 && i + 1 < argc)
			engines = argv[++i];
		else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
			if (parse_model(argv[++i], &o)) {
				fprintf(stderr, "bpfdiff: error: unknown model '%s'\n", argv[i]);
				return EXIT_ERROR;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "bpfdiff run: error: unknown option '%s'\n%s", argv[i], usage);
			return EXIT_ERROR;
		} else if (!file)
			file = argv[i];
		else {
			fprintf(stderr, "bpfdiff run: error: one FILE expected\n");
			return EXIT_ERROR;
		}
	}
	if (!file) {
		fprintf(stderr, "bpfdiff run: error: FILE expected\n%s", usage);
		return EXIT_ERROR;
	}
	if (!engines && strcmp(o.engine, "interp") != 0 && strcmp(o.engine, "jit") != 0 &&
	    strcmp(o.engine, "both") != 0)
		engines = o.engine; /* kernel, dpdk-...: through the oracle */
	if (engines)
		return run_engines(file, engines);
	struct prog_set *set = malloc(sizeof(*set));
	struct outcome *out = malloc(sizeof(*out));
	struct diag d = {0};
	int rc = EXIT_ERROR;
	if (!set || !out) {
		fprintf(stderr, "bpfdiff: error: out of memory\n");
		goto end;
	}
	if (load_verified(file, set, &d, 1)) {
		fprintf(stderr, "%s\n", d.msg);
		prog_set_free(set);
		goto end;
	}
	if (strcmp(o.engine, "both") == 0) {
		struct outcome *jo = malloc(sizeof(*jo));
		struct engine_opts e = o;
		e.engine = "interp";
		run_engine(&e, set, out);
		e.engine = "jit";
		if (!jo || run_engine(&e, set, jo)) {
			free(jo);
			outcome_free(out);
			prog_set_free(set);
			goto end;
		}
		char why[256];
		unsigned bit = outcome_diff(set, out, jo, OUTCOME_ALL_FIELDS, why, sizeof(why));
		printf("# interp\n");
		outcome_print(stdout, set, out);
		printf("# jit\n");
		outcome_print(stdout, set, jo);
		printf(bit ? "# first difference (interp vs jit): %s\n" : "# no difference\n", why);
		outcome_free(jo);
		free(jo);
		outcome_free(out);
		prog_set_free(set);
		rc = bit ? EXIT_FAIL : 0;
		goto end;
	}
	run_engine(&o, set, out);
	if (json)
		outcome_print_json(stdout, set, out);
	else
		outcome_print(stdout, set, out);
	outcome_free(out);
	prog_set_free(set);
	rc = 0;
end:
	free(set);
	free(out);
	return rc;
}

static int ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return 1;
	for (const char *h = hay; *h; h++) {
		size_t i = 0;
		while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

struct check_stats {
	int passed, failed;
	struct engine_opts o;
};

static void check_file(const char *path, struct check_stats *st)
{
	struct prog_set *set = malloc(sizeof(*set));
	struct outcome *out = malloc(sizeof(*out));
	struct diag d = {0};
	if (!set || !out) {
		printf("FAIL %s: out of memory\n", path);
		st->failed++;
		free(set);
		free(out);
		return;
	}
	prog_set_init(set);
	int loaded = textfmt_load(set, path, &d) == 0;
	set->verify_flags = st->o.verify_flags;
	int verified = loaded && verifier_check(set, &d) == 0;
	if (loaded && (set->expect_mask & EXPECT_ERROR)) {
		if (verified) {
			printf("FAIL %s: expected an error%s%s%s, but it verified\n", path,
			       set->expect_error[0] ? " containing '" : "", set->expect_error,
			       set->expect_error[0] ? "'" : "");
			st->failed++;
		} else if (!ci_contains(d.msg, set->expect_error)) {
			printf("FAIL %s: expected an error containing '%s', got: %s\n", path, set->expect_error, d.msg);
			st->failed++;
		} else
			st->passed++;
		goto end;
	}
	if (!verified) {
		printf("FAIL %s\n", d.msg);
		st->failed++;
		goto end;
	}
	int both = strcmp(st->o.engine, "both") == 0;
	struct engine_opts one = st->o;
	if (both)
		one.engine = "interp";
	run_engine(&one, set, out);
	char why[256];
	unsigned bit = outcome_diff(set, set->expect, out, set->expect_mask, why, sizeof(why));
	if (bit) {
		printf("FAIL %s: expected vs got: %s\n", path, why);
		st->failed++;
	} else if (both) {
		/* the JIT must report the same record, every field */
		struct outcome *jo = malloc(sizeof(*jo));
		struct engine_opts jit = st->o;
		jit.engine = "jit";
		if (jo && run_engine(&jit, set, jo) == 0 &&
		    !outcome_diff(set, out, jo, OUTCOME_ALL_FIELDS, why, sizeof(why)))
			st->passed++;
		else {
			printf("FAIL %s: interp vs jit: %s\n", path, jo ? why : "out of memory");
			st->failed++;
		}
		if (jo)
			outcome_free(jo);
		free(jo);
	} else
		st->passed++;
	outcome_free(out);
end:
	prog_set_free(set);
	free(set);
	free(out);
}

static void check_one(const char *path, const char *err, void *ctx)
{
	struct check_stats *st = ctx;
	if (err) {
		printf("FAIL %s: error: %s\n", path, err);
		st->failed++;
		return;
	}
	check_file(path, st);
}

static int cmd_check(int argc, char **argv)
{
	struct check_stats st = {.o = {.engine = "interp"}};
	int nfiles = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc) {
			st.o.engine = argv[++i];
			if (strcmp(st.o.engine, "interp") != 0 && strcmp(st.o.engine, "jit") != 0 &&
			    strcmp(st.o.engine, "both") != 0) {
				fprintf(stderr,
					"bpfdiff check: error: unknown engine '%s' (available: interp, jit, both)\n",
					st.o.engine);
				return EXIT_ERROR;
			}
		} else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
			if (parse_model(argv[++i], &st.o)) {
				fprintf(stderr, "bpfdiff: error: unknown model '%s'\n", argv[i]);
				return EXIT_ERROR;
			}
		} else if (strcmp(argv[i], "--isa-shifts") == 0) {
			st.o.verify_flags |= VERIFY_ISA_SHIFTS;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "bpfdiff check: error: unknown option '%s'\n", argv[i]);
			return EXIT_ERROR;
		}
	}
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--engine") == 0 || strcmp(argv[i], "--model") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		cli_walk(argv[i], check_one, &st);
		nfiles++;
	}
	if (!nfiles) {
		fprintf(stderr, "bpfdiff check: error: FILE or DIR expected\n");
		return EXIT_ERROR;
	}
	printf("%d passed, %d failed\n", st.passed, st.failed);
	return st.failed ? EXIT_FAIL : 0;
}

static int cmd_verify(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "bpfdiff verify: error: one FILE expected\n");
		return EXIT_ERROR;
	}
	struct prog_set *set = malloc(sizeof(*set));
	struct diag d = {0};
	if (!set)
		return EXIT_ERROR;
	if (load_verified(argv[0], set, &d, 1)) {
		fprintf(stderr, "%s\n", d.msg);
		prog_set_free(set);
		free(set);
		return EXIT_ERROR;
	}
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		printf("program %s: %d insns, chain %d bytes, processed %ld insns\n", p->name, p->len, p->depth_bound,
		       p->processed);
		for (int f = 0; f < p->nfuncs; f++)
			printf("  func %d [%d,%d): depth %d cost %d%s%s\n", f, p->funcs[f].start, p->funcs[f].end,
			       p->funcs[f].depth, p->funcs[f].cost, p->funcs[f].has_tail_call ? " tail_call" : "",
			       p->funcs[f].is_exception_cb ? " exception_callback" : "");
	}
	printf("static_stack_bound %llu\n", (unsigned long long)set->static_stack_bound);
	prog_set_free(set);
	free(set);
	return 0;
}

static int cmd_jit(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "--disasm") != 0) {
		fprintf(stderr, "usage: bpfdiff jit --disasm FILE\n");
		return EXIT_ERROR;
	}
	struct prog_set *set = malloc(sizeof(*set));
	struct diag d = {0};
	if (!set)
		return EXIT_ERROR;
	int rc = EXIT_ERROR;
	if (load_verified(argv[1], set, &d, 1)) {
		fprintf(stderr, "%s\n", d.msg);
	} else {
		char err[256];
		struct jit_image *img = jit_compile(set, err, sizeof(err));
		if (!img)
			fprintf(stderr, "%s: error: %s\n", argv[1], err);
		else {
			rc = jit_disasm(stdout, img) ? EXIT_ERROR : 0;
			jit_free(img);
		}
	}
	prog_set_free(set);
	free(set);
	return rc;
}

static int cmd_asm_disasm(int argc, char **argv, int is_asm)
{
	if (argc != 1) {
		fprintf(stderr, "bpfdiff %s: error: one FILE expected\n", is_asm ? "asm" : "disasm");
		return EXIT_ERROR;
	}
	struct prog_set *set = malloc(sizeof(*set));
	struct diag d = {0};
	if (!set)
		return EXIT_ERROR;
	if (load_verified(argv[0], set, &d, 0)) {
		fprintf(stderr, "%s\n", d.msg);
		prog_set_free(set);
		free(set);
		return EXIT_ERROR;
	}
	if (is_asm) {
		struct prog_set copy = *set;
		(void)copy;
		for (int i = 0; i < set->nprogs; i++) {
			const struct prog *p = &set->progs[i];
			printf("-- program %s\n-- raw\n", p->name);
			for (int k = 0; k < p->len; k++) {
				uint64_t w;
				memcpy(&w, &p->insns[k], 8);
				printf("0x%016llx\n", (unsigned long long)w);
			}
		}
		/* arrays, mem and the rest as the disassembler writes them */
		for (int a = 0; a < set->narrays; a++) {
			printf("-- progarray %s %d\n", set->arrays[a].name, set->arrays[a].nslots);
			for (int s = 0; s < set->arrays[a].nslots; s++)
				if (set->arrays[a].slot[s] >= 0)
					printf("%d %s\n", s, set->progs[set->arrays[a].slot[s]].name);
		}
		if (set->mem_len) {
			printf("-- mem\n");
			for (size_t i = 0; i < set->mem_len; i++)
				printf("%02x%s", set->mem[i], (i % 16 == 15 || i + 1 == set->mem_len) ? "\n" : " ");
		}
	} else {
		textfmt_write(stdout, set);
	}
	prog_set_free(set);
	free(set);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_ERROR;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 2, argv + 2);
	if (strcmp(cmd, "jit") == 0)
		return cmd_jit(argc - 2, argv + 2);
	if (strcmp(cmd, "asm") == 0)
		return cmd_asm_disasm(argc - 2, argv + 2, 1);
	if (strcmp(cmd, "disasm") == 0)
		return cmd_asm_disasm(argc - 2, argv + 2, 0);
	if (strcmp(cmd, "fuzz") == 0)
		return cmd_fuzz(argc - 2, argv + 2);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 2, argv + 2);
	if (strcmp(cmd, "minimize") == 0)
		return cmd_minimize(argc - 2, argv + 2);
	if (strcmp(cmd, "gen") == 0)
		return cmd_gen(argc - 2, argv + 2);
	fprintf(stderr, "bpfdiff: error: unknown command '%s'\n%s", cmd, usage);
	return EXIT_ERROR;
}
