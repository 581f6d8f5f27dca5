/* make bench: interpreter and JIT time per execution on three shapes, and
 * JIT compile time per BPF instruction. Prints the figures and writes them
 * to bench/results.md. Timings are wall-clock medians of repeated batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/outcome.h"
#include "../fuzz/campaign.h"
#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../interp/interp.h"
#include "../jit/jit.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct prog_set *load(const char *name, const char *src)
{
	struct prog_set *set = malloc(sizeof(*set));
	struct diag d = {0};
	prog_set_init(set);
	if (textfmt_parse(set, name, src, strlen(src), &d) || verifier_check(set, &d)) {
		fprintf(stderr, "bench: %s\n", d.msg);
		exit(1);
	}
	return set;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* median over 7 batches of ns per run */
static double time_runs(struct prog_set *set, struct jit_image *img, int runs, uint64_t *r0)
{
	double t[7];
	struct outcome *o = malloc(sizeof(*o));
	outcome_init(o);
	for (int k = 0; k < 7; k++) {
		double s = now();
		for (int i = 0; i < runs; i++) {
			if (img)
				jit_run(img, o);
			else
				interp_run(set, NULL, o);
		}
		t[k] = (now() - s) * 1e9 / runs;
	}
	*r0 = o->r0;
	outcome_free(o);
	free(o);
	qsort(t, 7, sizeof(double), cmp_double);
	return t[3];
}

static const char alu_loop[] = "-- asm\n"
			       "mov %r0, 0\nmov %r1, 0\nmov %r2, 7\n"
			       "loop:\n"
			       "add %r0, %r1\nxor %r0, 0x55\nlsh %r0, 3\nrsh %r0, 2\nmul %r2, 3\nadd %r0, %r2\n"
			       "and %r0, 0xffffff\nadd %r1, 1\njlt %r1, 10000, loop\n"
			       "exit\n-- budget\n1000000\n";

/* four independent chains: what an ALU-heavy program with instruction-level
 * parallelism costs (the loop above is one serial dependency chain) */
static const char alu_ilp_loop[] = "-- asm\n"
				   "mov %r0, 1\nmov %r3, 2\nmov %r4, 3\nmov %r5, 4\nmov %r1, 0\n"
				   "loop:\n"
				   "add %r0, 7\nxor %r3, 0x55\nlsh %r4, 1\nadd %r5, %r1\n"
				   "xor %r0, %r1\nadd %r3, 9\nrsh %r4, 1\nxor %r5, 3\n"
				   "and %r0, 0xffff\nor %r3, 1\nadd %r4, 5\nsub %r5, 1\n"
				   "add %r1, 1\njlt %r1, 10000, loop\n"
				   "add %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\nexit\n-- budget\n1000000\n";

static const char call_chain[] =
    "-- asm\n"
    "mov %r6, 0\nmov %r7, 0\n"
    "loop:\ncall local f1\nadd %r7, %r0\nadd %r6, 1\njlt %r6, 200, loop\nmov %r0, %r7\nexit\n"
    "f1:\ncall local f2\nadd %r0, 1\nexit\n"
    "f2:\ncall local f3\nadd %r0, 1\nexit\n"
    "f3:\ncall local f4\nadd %r0, 1\nexit\n"
    "f4:\ncall local f5\nadd %r0, 1\nexit\n"
    "f5:\ncall local f6\nadd %r0, 1\nexit\n"
    "f6:\ncall local f7\nadd %r0, 1\nexit\n"
    "f7:\nmov %r0, 1\nexit\n-- budget\n1000000\n";

static const char tail_chain[] = "-- program P\n"
				 "ldxdw %r2, [%r1+0]\nadd %r2, 1\nstxdw [%r1+0], %r2\n"
				 "lddw %r2, map:jt\nmov %r3, 0\ncall bpf_tail_call\nmov %r0, 99\nexit\n"
				 "-- progarray jt 1\n0 P\n-- mem\n00 00 00 00 00 00 00 00\n";

/* The differential execution of the campaign (fuzz/campaign.c), in this
 * process: N generated sets of about SIZE instructions, with the split. */
static void bench_differential(FILE *md)
{
	static const int sizes[] = {50, 200, 1000};
	struct oracle *orc = malloc(sizeof(*orc));
	struct prog_set *set = malloc(sizeof(*set));
	if (!orc || !set)
		exit(1);
	campaign_tune_heap();
	oracle_init(orc);
	oracle_default(orc, NULL);
	printf("\n%-8s %10s %9s %9s %9s %9s %9s %9s %9s %9s\n", "size", "execs/s", "insns", "gen us", "verify",
	       "interp", "compile", "jit run", "compare", "verified");
	if (md)
		fprintf(md, "\n## Differential executions (generate, verify, interpret, JIT, compare)\n\n"
			    "One core, in-process (the campaign's loop without its bookkeeping), 2000 sets per size. "
			    "Columns after execs/s: mean instructions per set, then microseconds per execution "
			    "per stage.\n\n| aimed size | execs/s | insns/set | generate | verify | interpret | JIT "
			    "compile | JIT run | compare | verified |\n|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct gen_opts g = {.size = sizes[k]};
		struct campaign_times t = {0};
		int n = 2000, execs = 0;
		long insns = 0;
		double s = now();
		for (int i = 0; i < n; i++) {
			struct oracle_verdict v;
			int r = campaign_exec(orc, &g, 0xbe9c40000ull + (uint64_t)i, set, &v, &t);
			if (r >= 0) {
				execs++;
				for (int p = 0; p < set->nprogs; p++)
					insns += set->progs[p].len;
				oracle_free(orc);
				prog_set_free(set);
			}
		}
		double secs = now() - s, e = execs ? execs : 1;
		double rate = execs / secs;
		printf("%-8d %10.0f %9.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %8.1f%%\n", sizes[k], rate, insns / e,
		       t.gen / e / 1e3, t.verify / e / 1e3, t.interp / e / 1e3, t.compile / e / 1e3, t.jit / e / 1e3,
		       t.compare / e / 1e3, 100.0 * execs / n);
		if (md)
			fprintf(md, "| %d | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f%% |\n",
				sizes[k], rate, insns / e, t.gen / e / 1e3, t.verify / e / 1e3, t.interp / e / 1e3,
				t.compile / e / 1e3, t.jit / e / 1e3, t.compare / e / 1e3, 100.0 * execs / n);
	}
	if (md)
		fprintf(md, "\nTarget (issue 4): >= 20,000 differential executions per second per core at about 200 "
			    "instructions.\n");
	free(orc);
	free(set);
}

int main(void)
{
	struct {
		const char *name, *src;
		int runs;
	} cases[] = {
	    {"ALU loop, one dependency chain (10000 x 9 insns)", alu_loop, 50},
	    {"ALU loop, four chains (10000 x 14 insns)", alu_ilp_loop, 50},
	    {"call chain (200 x 7 nested calls)", call_chain, 200},
	    {"tail-call chain (34 programs)", tail_chain, 20000},
	};
	FILE *md = fopen("bench/results.md", "w");
	if (md)
		fprintf(md, "# Benchmarks\n\nWritten by `make bench` (bench/bench.c): wall-clock medians of 7 batches, "
			    "this machine, one core.\n\n| shape | interpreter ns/run | JIT ns/run | speed-up "
			    "|\n|---|---|---|---|\n");
	printf("%-50s %14s %12s %9s\n", "shape", "interp ns/run", "jit ns/run", "speed-up");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct prog_set *set = load(cases[c].name, cases[c].src);
		char err[128];
		struct jit_image *img = jit_compile(set, err, sizeof(err));
		if (!img) {
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
		uint64_t r_i, r_j;
		double ti = time_runs(set, NULL, cases[c].runs, &r_i);
		double tj = time_runs(set, img, cases[c].runs * 5, &r_j);
		if (r_i != r_j) {
			fprintf(stderr, "bench: engines disagree on %s\n", cases[c].name);
			return 1;
		}
		printf("%-50s %14.0f %12.0f %8.1fx\n", cases[c].name, ti, tj, ti / tj);
		if (md)
			fprintf(md, "| %s | %.0f | %.0f | %.1fx |\n", cases[c].name, ti, tj, ti / tj);
		jit_free(img);
		prog_set_free(set);
		free(set);
	}
	/* compile time: a straight-line program of 10000 ALU instructions */
	size_t cap = 400000;
	char *src = malloc(cap);
	size_t n = (size_t)snprintf(src, cap, "-- asm\nmov %%r0, 0\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(src + n, cap - n, "%s %%r0, %d\n", i % 3 ? "add" : "xor", i);
	snprintf(src + n, cap - n, "exit\n");
	struct prog_set *set = load("compile", src);
	int insns = set->progs[0].len;
	double t[7];
	for (int k = 0; k < 7; k++) {
		double s = now();
		for (int i = 0; i < 20; i++) {
			char err[128];
			jit_free(jit_compile(set, err, sizeof(err)));
		}
		t[k] = (now() - s) * 1e9 / (20.0 * insns);
	}
	qsort(t, 7, sizeof(double), cmp_double);
	printf("JIT compile: %.1f ns per BPF instruction (%d instructions, mapping included)\n", t[3], insns);
	if (md) {
		fprintf(md,
			"\nJIT compile time: %.1f ns per BPF instruction (a %d-instruction program, "
			"mmap and mprotect included).\n",
			t[3], insns);
		fprintf(md, "\nTargets (issue 3): JIT >= 10x the interpreter on the ALU loop; compile <= 30 ns per "
			    "instruction.\n");
	}
	bench_differential(md);
	if (md)
		fclose(md);
	prog_set_free(set);
	free(set);
	free(src);
	return 0;
}
