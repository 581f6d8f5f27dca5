/* The engines built here: the reference interpreter and the x86-64 JIT. */
#include "engine.h"

int engine_interp_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len)
{
	(void)err;
	(void)len;
	uint64_t t0 = engine_now_ns();
	struct interp_opts o = {.model = e->model ? e->model->interp_model : INTERP_MODEL_NONE};
	int rc = interp_run(set, &o, out);
	e->ns_run += engine_now_ns() - t0;
	return rc ? ENGINE_ERROR : ENGINE_RAN;
}

int engine_jit_run(struct engine *e, const struct prog_set *set, struct outcome *out, char *err, size_t len)
{
	uint64_t t0 = engine_now_ns();
	struct jit_image *img = jit_compile_model(set, e->model ? e->model->jit_model : JIT_MODEL_NONE, err, len);
	uint64_t t1 = engine_now_ns();
	e->ns_compile += t1 - t0;
	if (!img)
		return ENGINE_ERROR;
	int rc = jit_run(img, out);
	jit_free(img);
	e->ns_run += engine_now_ns() - t1;
	return rc ? ENGINE_ERROR : ENGINE_RAN;
}
