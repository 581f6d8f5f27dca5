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

static const char *const kind_names[] = {[ENGINE_INTERP] = "interp", [ENGINE_JIT] = "jit"};

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
	snprintf(e->name, sizeof(e->name), "%s%s%s", kind_names[kind], e->model ? ":" : "",
		 e->model ? e->model->name : "");
}

int engine_parse(struct engine *e, const char *spec, char *err, size_t len)
{
	char kind[16];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n >= sizeof(kind)) {
		snprintf(err, len, "unknown engine '%s' (engines: interp, jit)", spec);
		return -1;
	}
	memcpy(kind, spec, n);
	kind[n] = 0;
	int k;
	if (strcmp(kind, "interp") == 0)
		k = ENGINE_INTERP;
	else if (strcmp(kind, "jit") == 0)
		k = ENGINE_JIT;
	else {
		snprintf(err, len, "unknown engine '%s' (engines: interp, jit)", spec);
		return -1;
	}
	const struct engine_model *m = NULL;
	if (colon && !(m = engine_model_find(colon + 1))) {
		snprintf(err, len, "unknown model '%s' (bpfdiff fuzz --list-models)", colon + 1);
		return -1;
	}
	if (m && (int)m->engine != k) {
		snprintf(err, len, "model '%s' is a model of the %s engine", m->name, kind_names[m->engine]);
		return -1;
	}
	engine_make(e, (enum engine_kind)k, m);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int engine_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len)
{
	outcome_init(out);
	uint64_t t0 = now_ns();
	if (e->kind == ENGINE_INTERP) {
		struct interp_opts o = {.model = e->model ? e->model->interp_model : INTERP_MODEL_NONE};
		int rc = interp_run(set, &o, out);
		e->ns_run += now_ns() - t0;
		return rc;
	}
	struct jit_image *img = jit_compile_model(set, e->model ? e->model->jit_model : JIT_MODEL_NONE, err, len);
	uint64_t t1 = now_ns();
	e->ns_compile += t1 - t0;
	if (!img)
		return -1;
	int rc = jit_run(img, out);
	jit_free(img);
	e->ns_run += now_ns() - t1;
	return rc;
}
