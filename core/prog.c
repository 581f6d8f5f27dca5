#include "prog.h"

#include <stdlib.h>
#include <string.h>

#include "outcome.h"

void prog_set_init(struct prog_set *set)
{
	memset(set, 0, sizeof(*set));
	for (int k = 0; k < RES_KINDS; k++)
		set->pool[k] = RES_DEFAULT_POOL;
	set->budget = BUDGET_DEFAULT;
}

void prog_set_free(struct prog_set *set)
{
	for (int i = 0; i < set->nprogs; i++) {
		free(set->progs[i].insns);
		free(set->progs[i].lines);
		free(set->progs[i].func_of);
		free(set->progs[i].ops);
		free(set->progs[i].tc_arrays);
		free(set->progs[i].tc_slot);
		free(set->progs[i].mem_kind);
	}
	free(set->mem);
	free(set->file);
	free(set->expect_error);
	if (set->expect) {
		outcome_free(set->expect);
		free(set->expect);
	}
	memset(set, 0, sizeof(*set));
}

int prog_find(const struct prog_set *set, const char *name)
{
	for (int i = 0; i < set->nprogs; i++)
		if (strcmp(set->progs[i].name, name) == 0)
			return i;
	return -1;
}

int prog_array_find(const struct prog_set *set, const char *name)
{
	for (int i = 0; i < set->narrays; i++)
		if (strcmp(set->arrays[i].name, name) == 0)
			return i;
	return -1;
}

int prog_line(const struct prog *p, int pc)
{
	if (p->lines && pc >= 0 && pc < p->len && p->lines[pc] > 0)
		return p->lines[pc];
	return p->line;
}
