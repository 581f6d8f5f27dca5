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

int prog_set_copy(struct prog_set *dst, const struct prog_set *src)
{
	prog_set_init(dst);
	dst->nprogs = src->nprogs;
	for (int i = 0; i < src->nprogs; i++) {
		const struct prog *s = &src->progs[i];
		struct prog *d = &dst->progs[i];
		memcpy(d->name, s->name, sizeof(d->name));
		d->len = s->len;
		d->exception_cb = s->exception_cb;
		d->line = s->line;
		d->insns = malloc((size_t)(s->len ? s->len : 1) * sizeof(*d->insns));
		if (!d->insns)
			goto fail;
		memcpy(d->insns, s->insns, (size_t)s->len * sizeof(*d->insns));
		if (s->lines) {
			d->lines = malloc((size_t)(s->len ? s->len : 1) * sizeof(*d->lines));
			if (!d->lines)
				goto fail;
			memcpy(d->lines, s->lines, (size_t)s->len * sizeof(*d->lines));
		}
	}
	dst->narrays = src->narrays;
	memcpy(dst->arrays, src->arrays, sizeof(dst->arrays));
	if (src->mem_len) {
		dst->mem = malloc(src->mem_len);
		if (!dst->mem)
			goto fail;
		memcpy(dst->mem, src->mem, src->mem_len);
	}
	dst->mem_len = src->mem_len;
	memcpy(dst->pool, src->pool, sizeof(dst->pool));
	dst->budget = src->budget;
	dst->verify_flags = src->verify_flags;
	if (src->file && !(dst->file = strdup(src->file)))
		goto fail;
	return 0;
fail:
	prog_set_free(dst);
	return -1;
}
