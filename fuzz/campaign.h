/* The fuzzing campaign (issue 4): worker processes generating program sets,
 * verifying them, running them through the oracle and saving findings; a
 * live status line, a summary on exit or Ctrl-C, and AFL++'s plot_data and
 * fuzzer_stats in the output directory. */
#ifndef BPFDIFF_CAMPAIGN_H
#define BPFDIFF_CAMPAIGN_H

#include <stdint.h>

#include "../oracle/engine.h"
#include "../oracle/oracle.h"
#include "gen.h"

struct campaign_opts {
	int jobs;	     /* worker processes (>= 1) */
	double time_s;	     /* stop after this long; 0: until Ctrl-C or max_sets */
	uint64_t seed;	     /* every set's seed derives from it */
	long max_sets;	     /* stop after this many generated sets in all; 0: no limit */
	int stop_on_finding; /* stop at the first new finding */
	const struct engine_model *model;
	const char *engines; /* --engines LIST; NULL: interp and jit, MODEL applied */
	const char *out;     /* findings directory */
	struct gen_opts gen;
	int status; /* 1: live status line on stderr */
};

/* Nanoseconds spent per stage of an execution, summed. */
struct campaign_times {
	uint64_t gen, verify, interp, compile, jit, other, compare; /* other: engines not built here */
};
enum { CAMPAIGN_GEN_FAIL = -2, CAMPAIGN_REJECT = -1, CAMPAIGN_AGREE = 0, CAMPAIGN_FINDING = 1 };

/* One differential execution: the set of SEED generated into SET, verified,
 * run by ORC (engine 0 the interpreter, engine 1 the JIT, for the split of
 * TIMES) and compared. Returns CAMPAIGN_*; after AGREE and FINDING the set
 * and ORC's records stay for the caller (prog_set_free, oracle_free). */
int campaign_exec(struct oracle *orc, const struct gen_opts *g, uint64_t seed, struct prog_set *set,
		  struct oracle_verdict *v, struct campaign_times *t);

/* Keeps freed heap memory in the process (a campaign's allocations repeat
 * thousands of times a second); called by each worker, bench, fuzz_diff. */
void campaign_tune_heap(void);

/* Seed of set number I of worker W. */
uint64_t campaign_set_seed(uint64_t seed, int worker, uint64_t i);

/* Runs the campaign; returns 0, or 2 when it could not start. */
int campaign_run(const struct campaign_opts *o);

#endif
