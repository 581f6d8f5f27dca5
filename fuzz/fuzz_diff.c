/* libFuzzer target (issue 4): the input's bytes are the generator's choices
 * (fuzz/choice.h), so libFuzzer's mutations are mutations of program sets.
 * Each input becomes a set, is verified (a reject is counted, never run),
 * and runs on the interpreter and the JIT; a disagreement is written as a
 * finding and the target aborts, so libFuzzer saves the input as a crash.
 *
 *   BPFDIFF_MODEL=NAME     run with one bug model of SPEC sec. 9 on
 *   BPFDIFF_FINDINGS=DIR   where findings go (default findings/)
 *   BPFDIFF_PROFILE=kernel the kernel-compatible generator profile
 *   BPFDIFF_SIZE=N         aimed-at instructions per set (default 200) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/verifier.h"
#include "../oracle/finding.h"
#include "../oracle/oracle.h"
#include "campaign.h"
#include "choice.h"
#include "gen.h"

static struct oracle orc;
static struct gen_opts gopts = {.size = 200};
static const char *findings_dir = "findings";
static struct prog_set set;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const struct engine_model *model = NULL;
	const char *name = getenv("BPFDIFF_MODEL");
	if (name && *name && strcmp(name, "none") != 0 && !(model = engine_model_find(name))) {
		fprintf(stderr, "fuzz_diff: error: unknown model '%s' (bpfdiff fuzz --list-models)\n", name);
		exit(2);
	}
	const char *dir = getenv("BPFDIFF_FINDINGS");
	if (dir && *dir)
		findings_dir = dir;
	const char *prof = getenv("BPFDIFF_PROFILE");
	if (prof && strcmp(prof, "kernel") == 0)
		gopts.profile = GEN_PROFILE_KERNEL;
	const char *size = getenv("BPFDIFF_SIZE");
	if (size && atoi(size) > 0)
		gopts.size = atoi(size);
	campaign_tune_heap();
	oracle_init(&orc);
	oracle_default(&orc, model);
	fprintf(stderr, "fuzz_diff: model %s, findings to %s/\n", model ? model->name : "none", findings_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct choice c;
	choice_from_bytes(&c, data, size);
	prog_set_init(&set);
	if (gen_set(&c, &gopts, &set))
		return 0;
	struct diag d = {0};
	if (verifier_check(&set, &d) == 0) {
		struct oracle_verdict v;
		if (oracle_check(&orc, &set, &v)) {
			char path[4200], origin[64];
			snprintf(origin, sizeof(origin), "libFuzzer input of %zu bytes", size);
			int w = finding_write(findings_dir, &set, &orc, &v, origin, path, sizeof(path));
			fprintf(stderr, "fuzz_diff: finding %s (%s)%s%s\n", v.signature, v.detail,
				w > 0	 ? ", written to "
				: w == 0 ? ", already in "
					 : ", could not be written",
				w >= 0 ? path : "");
			abort();
		}
	}
	prog_set_free(&set);
	return 0;
}
