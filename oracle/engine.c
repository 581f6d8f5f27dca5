#include "engine.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const struct engine_model engine_models[] = {
#define MODEL_ROW(name_, eng_, im_, jm_, what_) \
	{.name = name_, .engine = eng_, .interp_model = im_, .jit_model = jm_, .what = what_},
    ENGINE_MODEL_LIST(MODEL_ROW)
#undef MODEL_ROW
};
const int engine_nmodels = sizeof(engine_models) / sizeof(engine_models[0]);

const struct engine_kind_row engine_kinds[ENGINE_NUM_KINDS] = {
#define EK_ROW(id, name_, run_, probe_, fields_, what_) \
	[ENGINE_##id] = {.name = name_, .run = run_, .probe = probe_, .fields = fields_, .what = what_},
    ENGINE_KIND_LIST(EK_ROW)
#undef EK_ROW
};

int engine_probe(enum engine_kind k, char *why, size_t len)
{
	if (!engine_kinds[k].probe)
		return 0;
	return engine_kinds[k].probe(why, len);
}

const struct engine_model *engine_model_find(const char *name)
{
	for (int i = 0; i < engine_nmodels; i++)
		if (strcmp(engine_models[i].name, name) == 0)
			return &engine_models[i];
	return NULL;
}

void engine_make(struct engine *e, enum engine_kind kind, const struct engine_model *model)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->model = model && model->engine == kind ? model : NULL;
	snprintf(e->name, sizeof(e->name), "%s%s%s", engine_kinds[kind].name, e->model ? ":" : "",
		 e->model ? e->model->name : "");
}

int engine_parse(struct engine *e, const char *spec, char *err, size_t len)
{
	char kind[32];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n >= sizeof(kind))
		n = sizeof(kind) - 1; /* no such engine: the lookup below says so */
	memcpy(kind, spec, n);
	kind[n] = 0;
	int k = 0;
	while (k < ENGINE_NUM_KINDS && strcmp(kind, engine_kinds[k].name) != 0)
		k++;
	if (k == ENGINE_NUM_KINDS) {
		char names[256];
		size_t n = 0;
		names[0] = 0;
		for (int i = 0; i < ENGINE_NUM_KINDS && n < sizeof(names); i++)
			n +=
			    (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", engine_kinds[i].name);
		snprintf(err, len, "unknown engine '%s' (engines: %s)", spec, names);
		return -1;
	}
	const struct engine_model *m = NULL;
	if (colon && !(m = engine_model_find(colon + 1))) {
		snprintf(err, len, "unknown model '%s' (bpfdiff fuzz --list-models)", colon + 1);
		return -1;
	}
	if (m && (int)m->engine != k) {
		snprintf(err, len, "model '%s' is a model of the %s engine", m->name, engine_kinds[m->engine].name);
		return -1;
	}
	engine_make(e, (enum engine_kind)k, m);
	return 0;
}

int engine_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len)
{
	outcome_init(out);
	return engine_kinds[e->kind].run(e, set, out, err, len);
}

uint64_t engine_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
