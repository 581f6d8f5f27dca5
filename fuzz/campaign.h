/* The fuzzing campaign (issue 4): worker processes generating program sets,
 * verifying them, running them through the oracle and saving findings; a
 * live status line, a summary on exit or Ctrl-C, and AFL++'s plot_data and
 * fuzzer_stats in the output directory. */
#ifndef BPFDIFF_CAMPAIGN_H
#define BPFDIFF_CAMPAIGN_H

#include <stdint.h>

#include "../oracle/engine.h"
#include "gen.h"

struct campaign_opts {
	int jobs;	     /* worker processes (>= 1) */
	double time_s;	     /* stop after this long; 0: until Ctrl-C or max_sets */
	uint64_t seed;	     /* every set's seed derives from it */
	long max_sets;	     /* stop after this many generated sets in all; 0: no limit */
	int stop_on_finding; /* stop at the first new finding */
	const struct engine_model *model;
	const char *out; /* findings directory */
	struct gen_opts gen;
	int status; /* 1: live status line on stderr */
};

/* Seed of set number I of worker W. */
uint64_t campaign_set_seed(uint64_t seed, int worker, uint64_t i);

/* Runs the campaign; returns 0, or 2 when it could not start. */
int campaign_run(const struct campaign_opts *o);

#endif
