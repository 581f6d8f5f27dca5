/* The runtime's helpers and kfuncs (SPEC.md sec. 3, docs/semantics.md). */
#include "runtime.h"

#include <string.h>

const struct rt_call_row rt_calls[RT_NUM_CALLS] = {
#define RT_ROW(id, kf, num, nm) [RT_##id] = {.name = nm, .is_kfunc = kf, .number = num},
    RUNTIME_CALL_TABLE(RT_ROW)
#undef RT_ROW
};

int rt_call_lookup(int is_kfunc, int32_t number)
{
	for (int i = 0; i < RT_NUM_CALLS; i++)
		if (rt_calls[i].is_kfunc == is_kfunc && rt_calls[i].number == number)
			return i;
	return RT_UNKNOWN;
}

int rt_call_by_name(const char *name)
{
	for (int i = 0; i < RT_NUM_CALLS; i++)
		if (strcmp(rt_calls[i].name, name) == 0)
			return i;
	return RT_UNKNOWN;
}

void rt_run_init(struct rt_run *rt, const struct prog_set *set, struct outcome *out)
{
	memset(rt->pool_live, 0, sizeof(rt->pool_live));
	rt->set = set;
	rt->out = out;
	rt->next_id = 1;
	rt->nlive = 0;
	rt->bad_handle = 0;
	memset(rt->handles, 0, sizeof(rt->handles));
}

static struct rt_handle *handle_of(struct rt_run *rt, uint64_t h)
{
	uintptr_t base = (uintptr_t)rt->handles;
	if (h < base || h >= base + sizeof(rt->handles) || (h - base) % sizeof(struct rt_handle)) {
		rt->bad_handle = 1;
		return NULL;
	}
	struct rt_handle *hd = (struct rt_handle *)(uintptr_t)h;
	if (hd->id == 0) {
		rt->bad_handle = 1;
		return NULL;
	}
	return hd;
}

static void record_destructor(struct rt_run *rt, const struct rt_handle *h)
{
	struct outcome *o = rt->out;
	if (o->ndestructors < OUTCOME_MAX_DESTRUCTORS)
		o->destructors[o->ndestructors++] = (struct destructor){h->kind, h->id};
	else
		o->destructors_overflow = 1;
}

uint64_t rt_res_acquire(struct rt_run *rt, uint64_t kind)
{
	if (kind >= RES_KINDS || rt->pool_live[kind] >= rt->set->pool[kind])
		return 0;
	for (int i = 0; i < RT_MAX_LIVE; i++) {
		if (rt->handles[i].id)
			continue;
		rt->handles[i].id = rt->next_id++;
		rt->handles[i].kind = (uint8_t)kind;
		rt->pool_live[kind]++;
		rt->nlive++;
		return (uint64_t)(uintptr_t)&rt->handles[i];
	}
	return 0;
}

static void destroy(struct rt_run *rt, struct rt_handle *h)
{
	record_destructor(rt, h);
	rt->pool_live[h->kind]--;
	rt->nlive--;
	h->id = 0;
}

uint64_t rt_res_release(struct rt_run *rt, uint64_t handle)
{
	struct rt_handle *h = handle_of(rt, handle);
	if (h)
		destroy(rt, h);
	return 0;
}

uint64_t rt_res_id(struct rt_run *rt, uint64_t handle)
{
	struct rt_handle *h = handle_of(rt, handle);
	return h ? h->id : 0;
}

uint64_t rt_trace(struct rt_run *rt, uint64_t value)
{
	struct outcome *o = rt->out;
	if (o->ntrace < OUTCOME_MAX_TRACE)
		o->trace[o->ntrace++] = value;
	else
		o->trace_overflow = 1;
	return 0;
}

void rt_throw_cleanup(struct rt_run *rt)
{
	while (rt->nlive > 0) {
		struct rt_handle *top = NULL;
		for (int i = 0; i < RT_MAX_LIVE; i++)
			if (rt->handles[i].id && (!top || rt->handles[i].id > top->id))
				top = &rt->handles[i];
		destroy(rt, top);
	}
}
