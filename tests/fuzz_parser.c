/* libFuzzer target: bytes -> text format -> assembler -> verifier ->
 * interpreter, plus the disassembler round trip. Any crash or sanitizer
 * report is a bug; so is a disassembly that does not assemble back to the
 * same instructions (the target aborts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/outcome.h"
#include "../core/textfmt.h"
#include "../core/verifier.h"
#include "../interp/interp.h"
#include "../jit/jit.h"

static void round_trip(const struct prog_set *set)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	textfmt_write(f, set);
	fclose(f);
	struct prog_set *again = malloc(sizeof(*again));
	struct diag d = {0};
	if (!again) {
		free(buf);
		return;
	}
	prog_set_init(again);
	if (textfmt_parse(again, "roundtrip", buf, len, &d)) {
		fprintf(stderr, "disassembly does not assemble: %s\n%s", d.msg, buf);
		abort();
	}
	if (again->nprogs != set->nprogs)
		abort();
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *a = &set->progs[i], *b = &again->progs[i];
		if (a->len != b->len || memcmp(a->insns, b->insns, (size_t)a->len * sizeof(*a->insns))) {
			fprintf(stderr, "disassembly of '%s' assembles to different bytes:\n%s", a->name, buf);
			abort();
		}
	}
	prog_set_free(again);
	free(again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prog_set *set = malloc(sizeof(*set));
	struct outcome *out = malloc(sizeof(*out));
	struct diag d = {0};
	if (!set || !out) {
		free(set);
		free(out);
		return 0;
	}
	prog_set_init(set);
	if (textfmt_parse(set, "fuzz", (const char *)data, size, &d) == 0) {
		round_trip(set);
		if (verifier_check(set, &d) == 0) {
			if (set->budget > 20000)
				set->budget = 20000; /* keep each input fast */
			outcome_init(out);
			interp_run(set, NULL, out);
			/* and differentially: the JIT must report the same record */
			char err[128];
			struct jit_image *img = jit_compile(set, err, sizeof(err));
			struct outcome *jo = malloc(sizeof(*jo));
			if (img && jo) {
				char why[256];
				outcome_init(jo);
				jit_run(img, jo);
				if (outcome_diff(set, out, jo, OUTCOME_ALL_FIELDS, why, sizeof(why))) {
					fprintf(stderr, "interp vs jit: %s\n", why);
					abort();
				}
				outcome_free(jo);
			}
			free(jo);
			jit_free(img);
			outcome_free(out);
		}
	}
	prog_set_free(set);
	free(set);
	free(out);
	return 0;
}
