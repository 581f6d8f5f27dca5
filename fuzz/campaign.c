#include "campaign.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/verifier.h"
#include "../oracle/finding.h"
#include "../oracle/oracle.h"

#define MAX_JOBS 64
#define FEATURE_BITS (1u << 16)

/* One worker's counters, in memory shared with the parent. Only the worker
 * writes them; the parent reads them for the status line. */
struct worker_stats {
	uint64_t sets, execs, rejects, gen_fail, findings, dups;
	uint64_t max_tail_calls, throws, destructors, max_stack;
	uint64_t ns_gen, ns_verify, ns_interp, ns_compile, ns_jit, ns_other, ns_compare;
	char last_finding[4096];
};

struct shared {
	volatile sig_atomic_t stop;
	struct worker_stats w[MAX_JOBS];
	uint8_t features[FEATURE_BITS / 8]; /* outcome-shape tuples seen: AFL's "edges" column */
	char engines[256];		    /* the engines compared, for the status and summary */
};

static struct shared *g_shared;

static void on_signal(int sig)
{
	(void)sig;
	if (g_shared)
		g_shared->stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t campaign_set_seed(uint64_t seed, int worker, uint64_t i)
{
	uint64_t z = seed ^ ((uint64_t)worker << 48) ^ (i * 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A coarse shape of a run, as a coverage proxy: outcome, tail calls,
 * destructors, stack and trace lengths. */
static void note_features(struct shared *sh, const struct outcome *x)
{
	uint32_t h = 2166136261u;
	uint32_t parts[] = {x->kind,
			    x->tail_calls,
			    x->ndestructors < 16 ? x->ndestructors : 16,
			    x->stack_hwm / 16,
			    x->ntrace < 8 ? x->ntrace : 8,
			    x->fault};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		h = (h ^ parts[i]) * 16777619u;
	h &= FEATURE_BITS - 1;
	__atomic_fetch_or(&sh->features[h / 8], (uint8_t)(1u << (h % 8)), __ATOMIC_RELAXED);
}

void campaign_tune_heap(void)
{
	/* The verifier's states and the engines' records come and go by the
	 * thousand per second: keep the freed heap instead of handing it back
	 * to the kernel and faulting it in again (page faults were half the
	 * time of an exec). */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
}

int campaign_exec(struct oracle *orc, const struct gen_opts *g, uint64_t seed, struct prog_set *set,
		  struct oracle_verdict *v, struct campaign_times *t)
{
	struct choice c;
	choice_seed(&c, seed);
	prog_set_init(set);
	uint64_t t0 = now_ns();
	if (gen_set(&c, g, set))
		return CAMPAIGN_GEN_FAIL;
	uint64_t t1 = now_ns();
	t->gen += t1 - t0;
	struct diag d = {0};
	int ok = verifier_check(set, &d) == 0;
	uint64_t t2 = now_ns();
	t->verify += t2 - t1;
	if (!ok) {
		prog_set_free(set);
		return CAMPAIGN_REJECT;
	}
	uint64_t run0[ORACLE_MAX_ENGINES], comp0[ORACLE_MAX_ENGINES];
	for (int i = 0; i < orc->nengines; i++)
		run0[i] = orc->eng[i].ns_run, comp0[i] = orc->eng[i].ns_compile;
	int found = oracle_check(orc, set, v);
	uint64_t t3 = now_ns(), engines = 0;
	for (int i = 0; i < orc->nengines; i++) {
		uint64_t r = orc->eng[i].ns_run - run0[i], c = orc->eng[i].ns_compile - comp0[i];
		engines += r + c;
		if (orc->eng[i].kind == ENGINE_INTERP)
			t->interp += r;
		else if (orc->eng[i].kind == ENGINE_JIT)
			t->compile += c, t->jit += r;
		else
			t->other += r + c;
	}
	t->compare += (t3 - t2) - engines;
	return found ? CAMPAIGN_FINDING : CAMPAIGN_AGREE;
}

static void worker(const struct campaign_opts *o, int w, long quota)
{
	struct worker_stats *st = &g_shared->w[w];
	struct oracle *orc = malloc(sizeof(*orc));
	struct prog_set *set = malloc(sizeof(*set));
	if (!orc || !set)
		_exit(3);
	campaign_tune_heap();
	oracle_init(orc);
	if (o->engines) {
		char err[256];
		if (oracle_add_list(orc, o->engines, err, sizeof(err)))
			_exit(3); /* checked by campaign_run before the fork */
	} else
		oracle_default(orc, o->model);
	for (uint64_t i = 0; !g_shared->stop && (quota <= 0 || (long)i < quota); i++) {
		uint64_t seed = campaign_set_seed(o->seed, w, i);
		struct campaign_times t = {0};
		struct oracle_verdict v;
		int r = campaign_exec(orc, &o->gen, seed, set, &v, &t);
		st->ns_gen += t.gen;
		st->ns_verify += t.verify;
		st->ns_interp += t.interp;
		st->ns_compile += t.compile;
		st->ns_jit += t.jit;
		st->ns_other += t.other;
		st->ns_compare += t.compare;
		if (r == CAMPAIGN_GEN_FAIL) {
			st->gen_fail++;
			continue;
		}
		st->sets++;
		if (r == CAMPAIGN_REJECT) {
			st->rejects++;
			continue;
		}
		int found = r == CAMPAIGN_FINDING;
		st->execs++;
		const struct outcome *x = &orc->out[0];
		if (x->tail_calls > st->max_tail_calls)
			st->max_tail_calls = x->tail_calls;
		if (x->stack_hwm > st->max_stack)
			st->max_stack = x->stack_hwm;
		st->throws += x->kind == OUTCOME_THROW;
		st->destructors += x->ndestructors;
		note_features(g_shared, x);
		if (found) {
			char path[sizeof(st->last_finding) - 1], origin[128];
			snprintf(origin, sizeof(origin), "bpfdiff gen --set-seed 0x%016llx --size %d",
				 (unsigned long long)seed, o->gen.size);
			int rc = finding_write(o->out, set, orc, &v, origin, path, sizeof(path));
			if (rc > 0) {
				st->findings++;
				snprintf(st->last_finding, sizeof(st->last_finding), "%s", path);
				if (o->stop_on_finding)
					g_shared->stop = 1;
			} else if (rc == 0)
				st->dups++;
			else
				fprintf(stderr, "\nbpfdiff fuzz: error: cannot write a finding to %s: %s\n", o->out,
					strerror(errno));
		}
		oracle_free(orc);
		prog_set_free(set);
	}
	free(orc);
	free(set);
}

struct totals {
	struct worker_stats s;
	uint64_t features;
};

static void sum(struct totals *t, int jobs)
{
	memset(t, 0, sizeof(*t));
	for (int w = 0; w < jobs; w++) {
		const struct worker_stats *x = &g_shared->w[w];
		t->s.sets += x->sets;
		t->s.execs += x->execs;
		t->s.rejects += x->rejects;
		t->s.gen_fail += x->gen_fail;
		t->s.findings += x->findings;
		t->s.dups += x->dups;
		t->s.throws += x->throws;
		t->s.destructors += x->destructors;
		if (x->max_tail_calls > t->s.max_tail_calls)
			t->s.max_tail_calls = x->max_tail_calls;
		if (x->max_stack > t->s.max_stack)
			t->s.max_stack = x->max_stack;
		t->s.ns_gen += x->ns_gen;
		t->s.ns_verify += x->ns_verify;
		t->s.ns_interp += x->ns_interp;
		t->s.ns_compile += x->ns_compile;
		t->s.ns_jit += x->ns_jit;
		t->s.ns_other += x->ns_other;
		t->s.ns_compare += x->ns_compare;
		if (x->last_finding[0])
			memcpy(t->s.last_finding, x->last_finding, sizeof(t->s.last_finding));
	}
	for (size_t i = 0; i < sizeof(g_shared->features); i++)
		t->features += (uint64_t)__builtin_popcount(g_shared->features[i]);
}

static double verified_pct(const struct totals *t)
{
	return t->s.sets ? 100.0 * (double)(t->s.sets - t->s.rejects) / (double)t->s.sets : 100.0;
}

static void status_line(FILE *f, const struct totals *t, double secs, int tty)
{
	fprintf(f,
		"%s[%02d:%02d:%02d] execs %llu (%.0f/s) | sets %llu, verified %.2f%% (%llu rejects) | findings %llu "
		"(%llu dup) | deepest tail-call run %llu, throws %llu, destructors %llu, deepest stack %llu%s",
		tty ? "\r\033[K" : "", (int)secs / 3600, (int)secs / 60 % 60, (int)secs % 60,
		(unsigned long long)t->s.execs, secs > 0 ? (double)t->s.execs / secs : 0.0,
		(unsigned long long)t->s.sets, verified_pct(t), (unsigned long long)t->s.rejects,
		(unsigned long long)t->s.findings, (unsigned long long)t->s.dups,
		(unsigned long long)t->s.max_tail_calls, (unsigned long long)t->s.throws,
		(unsigned long long)t->s.destructors, (unsigned long long)t->s.max_stack, tty ? "" : "\n");
	fflush(f);
}

/* AFL++'s plot_data columns; what bpfdiff puts in each is in docs/fuzzing.md. */
static void plot_line(FILE *f, const struct totals *t, double secs, double rate)
{
	fprintf(f, "%llu, 0, 0, %llu, 0, 0, 0.00%%, %llu, 0, %llu, %.2f, %llu, %llu\n", (unsigned long long)secs,
		(unsigned long long)t->s.findings, (unsigned long long)t->s.findings,
		(unsigned long long)t->s.max_tail_calls, rate, (unsigned long long)t->s.execs,
		(unsigned long long)t->features);
	fflush(f);
}

static void write_stats(const struct campaign_opts *o, const struct totals *t, time_t start, double secs)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/fuzzer_stats", o->out);
	snprintf(tmp, sizeof(tmp), "%s/.fuzzer_stats.tmp", o->out);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "start_time        : %lld\n", (long long)start);
	fprintf(f, "last_update       : %lld\n", (long long)time(NULL));
	fprintf(f, "run_time          : %.0f\n", secs);
	fprintf(f, "fuzzer_pid        : %ld\n", (long)getpid());
	fprintf(f, "execs_done        : %llu\n", (unsigned long long)t->s.execs);
	fprintf(f, "execs_per_sec     : %.2f\n", secs > 0 ? (double)t->s.execs / secs : 0.0);
	fprintf(f, "corpus_count      : %llu\n", (unsigned long long)t->s.sets);
	fprintf(f, "saved_crashes     : %llu\n", (unsigned long long)t->s.findings);
	fprintf(f, "verified_pct      : %.2f\n", verified_pct(t));
	fprintf(f, "afl_banner        : bpfdiff %s\n", o->model ? o->model->name : "reference");
	fprintf(f, "command_line      : bpfdiff fuzz --seed %llu\n", (unsigned long long)o->seed);
	fclose(f);
	rename(tmp, path);
}

static void summary(const struct campaign_opts *o, const struct totals *t, double secs)
{
	double per = t->s.execs ? 1.0 / (double)t->s.execs : 0;
	printf("bpfdiff fuzz: %.1f s, %d job%s, seed %llu, engines %s\n", secs, o->jobs, o->jobs == 1 ? "" : "s",
	       (unsigned long long)o->seed, g_shared->engines);
	printf("  sets %llu, verified %.2f%% (%llu rejected), generator failures %llu\n", (unsigned long long)t->s.sets,
	       verified_pct(t), (unsigned long long)t->s.rejects, (unsigned long long)t->s.gen_fail);
	printf("  execs %llu (%.0f/s, %.0f/s per job)\n", (unsigned long long)t->s.execs,
	       secs > 0 ? (double)t->s.execs / secs : 0.0, secs > 0 ? (double)t->s.execs / secs / o->jobs : 0.0);
	printf("  per exec (us): generate %.2f, verify %.2f, interpret %.2f, jit compile %.2f, jit run %.2f, other "
	       "engines %.2f, compare %.2f\n",
	       (double)t->s.ns_gen * per / 1e3, (double)t->s.ns_verify * per / 1e3, (double)t->s.ns_interp * per / 1e3,
	       (double)t->s.ns_compile * per / 1e3, (double)t->s.ns_jit * per / 1e3, (double)t->s.ns_other * per / 1e3,
	       (double)t->s.ns_compare * per / 1e3);
	printf(
	    "  features: deepest tail-call run %llu, throws %llu, destructors %llu, deepest stack %llu, shapes %llu\n",
	    (unsigned long long)t->s.max_tail_calls, (unsigned long long)t->s.throws,
	    (unsigned long long)t->s.destructors, (unsigned long long)t->s.max_stack, (unsigned long long)t->features);
	printf("  findings %llu new, %llu duplicates, in %s\n", (unsigned long long)t->s.findings,
	       (unsigned long long)t->s.dups, o->out);
	if (t->s.last_finding[0])
		printf("  last finding: %s\n  replay it:    bpfdiff replay %s\n", t->s.last_finding, t->s.last_finding);
}

int campaign_run(const struct campaign_opts *o)
{
	if (o->jobs < 1 || o->jobs > MAX_JOBS) {
		fprintf(stderr, "bpfdiff fuzz: error: --jobs must be 1..%d\n", MAX_JOBS);
		return 2;
	}
	g_shared = mmap(NULL, sizeof(*g_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_shared == MAP_FAILED) {
		g_shared = NULL;
		fprintf(stderr, "bpfdiff fuzz: error: mmap: %s\n", strerror(errno));
		return 2;
	}
	{
		struct oracle *probe = malloc(sizeof(*probe));
		char err[256];
		if (!probe)
			return 2;
		oracle_init(probe);
		int bad = 0;
		if (o->engines)
			bad = oracle_add_list(probe, o->engines, err, sizeof(err));
		else
			oracle_default(probe, o->model);
		for (int i = 0; !bad && i < probe->nengines; i++)
			if (engine_probe(probe->eng[i].kind, err, sizeof(err)))
				bad = 1;
		if (!bad)
			oracle_engines(probe, g_shared->engines, sizeof(g_shared->engines));
		free(probe);
		if (bad) {
			fprintf(stderr, "bpfdiff fuzz: error: %s\n", err);
			munmap(g_shared, sizeof(*g_shared));
			g_shared = NULL;
			return 2;
		}
	}
	if (finding_mkdirs(o->out)) {
		fprintf(stderr, "bpfdiff fuzz: error: cannot create %s: %s\n", o->out, strerror(errno));
		munmap(g_shared, sizeof(*g_shared));
		g_shared = NULL;
		return 2;
	}
	char plot_path[4096];
	snprintf(plot_path, sizeof(plot_path), "%s/plot_data", o->out);
	FILE *plot = fopen(plot_path, "w");
	if (plot)
		fprintf(plot, "# relative_time, cycles_done, cur_item, corpus_count, pending_total, pending_favs, "
			      "map_size, saved_crashes, saved_hangs, max_depth, execs_per_sec, total_execs, "
			      "edges_found\n");
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fflush(stdout);
	fflush(stderr);
	pid_t pids[MAX_JOBS];
	long quota = o->max_sets > 0 ? (o->max_sets + o->jobs - 1) / o->jobs : 0;
	for (int w = 0; w < o->jobs; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			worker(o, w, quota);
			_exit(0);
		}
		if (pids[w] < 0) {
			fprintf(stderr, "bpfdiff fuzz: error: fork: %s\n", strerror(errno));
			g_shared->stop = 1;
			for (int k = 0; k < w; k++)
				waitpid(pids[k], NULL, 0);
			return 2;
		}
	}
	time_t start = time(NULL);
	uint64_t t0 = now_ns(), last_status = 0, last_plot = 0, last_execs = 0;
	int tty = o->status && isatty(2), running = o->jobs;
	struct totals t;
	while (running) {
		struct timespec nap = {0, 50 * 1000 * 1000};
		nanosleep(&nap, NULL);
		double secs = (double)(now_ns() - t0) / 1e9;
		if (o->time_s > 0 && secs >= o->time_s)
			g_shared->stop = 1;
		for (int w = 0; w < o->jobs; w++) {
			int status;
			if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
				pids[w] = 0;
				running--;
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
					fprintf(stderr, "\nbpfdiff fuzz: worker %d died (%s %d)\n", w,
						WIFSIGNALED(status) ? "signal" : "status",
						WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			}
		}
		uint64_t ms = (now_ns() - t0) / 1000000;
		sum(&t, o->jobs);
		if (o->status && ms - last_status >= (tty ? 1000u : 10000u)) {
			status_line(stderr, &t, secs, tty);
			last_status = ms;
		}
		if (plot && ms - last_plot >= 1000) {
			double dt = (double)(ms - last_plot) / 1e3;
			plot_line(plot, &t, secs, (double)(t.s.execs - last_execs) / dt);
			write_stats(o, &t, start, secs);
			last_plot = ms;
			last_execs = t.s.execs;
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	sum(&t, o->jobs);
	if (o->status)
		status_line(stderr, &t, secs, tty);
	if (tty)
		fputc('\n', stderr);
	if (plot) {
		plot_line(plot, &t, secs, secs > 0 ? (double)t.s.execs / secs : 0);
		fclose(plot);
	}
	write_stats(o, &t, start, secs);
	summary(o, &t, secs);
	munmap(g_shared, sizeof(*g_shared));
	g_shared = NULL;
	return 0;
}
