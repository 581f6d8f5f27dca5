#include "oracle.h"

#include <stdio.h>
#include <string.h>

#include "../core/verifier.h"

static const char *const class_names[] = {[ORACLE_NONE] = "none",
#define OC_NAME(e, s) [ORACLE_##e] = s,
					  ORACLE_CLASS_LIST(OC_NAME)
#undef OC_NAME
};

const char *oracle_class_name(enum oracle_class c)
{
	return class_names[c];
}

void oracle_init(struct oracle *o)
{
	memset(o, 0, sizeof(*o));
	o->fields = OUTCOME_ALL_FIELDS;
}

int oracle_add(struct oracle *o, const struct engine *e)
{
	if (o->nengines == ORACLE_MAX_ENGINES)
		return -1;
	o->eng[o->nengines++] = *e;
	return 0;
}

void oracle_default(struct oracle *o, const struct engine_model *model)
{
	struct engine e;
	engine_make(&e, ENGINE_INTERP, model);
	oracle_add(o, &e);
	engine_make(&e, ENGINE_JIT, model);
	oracle_add(o, &e);
}

int oracle_add_list(struct oracle *o, const char *list, char *err, size_t len)
{
	char spec[96];
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(spec)) {
			snprintf(err, len, "bad engine list '%s'", list);
			return -1;
		}
		memcpy(spec, s, n);
		spec[n] = 0;
		struct engine e;
		if (engine_parse(&e, spec, err, len))
			return -1;
		if (oracle_add(o, &e)) {
			snprintf(err, len, "more than %d engines in '%s'", ORACLE_MAX_ENGINES, list);
			return -1;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	if (o->nengines == 0) {
		snprintf(err, len, "no engine in '%s'", list);
		return -1;
	}
	return 0;
}

int oracle_drop_unavailable(struct oracle *o, FILE *say)
{
	char why[256];
	int n = 0;
	for (int i = 0; i < o->nengines; i++) {
		if (engine_probe(o->eng[i].kind, why, sizeof(why))) {
			fprintf(say, "skip: %s: %s\n", o->eng[i].name, why);
			continue;
		}
		o->eng[n++] = o->eng[i];
	}
	o->nengines = n;
	return n;
}

void oracle_engines(const struct oracle *o, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < o->nengines && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "", o->eng[i].name);
}

static void release(struct oracle *o)
{
	for (int i = 0; i < o->have_out; i++)
		outcome_free(&o->out[i]);
	o->have_out = 0;
}

void oracle_free(struct oracle *o)
{
	release(o);
}

static enum oracle_class class_of_field(unsigned bit)
{
	switch (bit) {
	case EXPECT_OUTCOME: return ORACLE_OUTCOME;
	case EXPECT_R0: return ORACLE_R0;
	case EXPECT_FAULT: return ORACLE_FAULT;
	case EXPECT_TAIL_CALLS: return ORACLE_TAIL_CALLS;
	case EXPECT_STACK_HWM: return ORACLE_STACK_HWM;
	case EXPECT_DESTRUCTORS: return ORACLE_DESTRUCTORS;
	case EXPECT_TRACE: return ORACLE_TRACE;
	default: return ORACLE_CONTEXT;
	}
}

/* Where the disagreement shows: the pc where a record stopped (fault,
 * budget, crash, escape), else the entry program's main function. */
static void locate(const struct prog_set *set, const struct outcome *x, const struct outcome *y, char *buf, size_t len)
{
	const struct outcome *s = x->fault_prog >= 0 ? x : y->fault_prog >= 0 ? y : NULL;
	if (!s || s->fault_prog >= set->nprogs || s->fault_pc < 0 || s->fault_pc >= set->progs[s->fault_prog].len) {
		snprintf(buf, len, "%s.f0", set->progs[0].name);
		return;
	}
	const struct prog *p = &set->progs[s->fault_prog];
	snprintf(buf, len, "%s.f%d:%d", p->name, p->func_of ? p->func_of[s->fault_pc] : 0, s->fault_pc);
}

static int verdict(struct oracle *o, const struct prog_set *set, struct oracle_verdict *v, enum oracle_class cls, int a,
		   int b, const char *detail)
{
	char where[96];
	locate(set, &o->out[a], &o->out[b], where, sizeof(where));
	v->cls = cls;
	v->a = a;
	v->b = b;
	snprintf(v->signature, sizeof(v->signature), "%s@%s", oracle_class_name(cls), where);
	if (a == b)
		snprintf(v->detail, sizeof(v->detail), "%s: %s", o->eng[a].name, detail);
	else
		snprintf(v->detail, sizeof(v->detail), "%s vs %s: %s", o->eng[a].name, o->eng[b].name, detail);
	return 1;
}

int oracle_check(struct oracle *o, const struct prog_set *set, struct oracle_verdict *v)
{
	char err[256], why[256];
	release(o);
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < o->nengines; i++) {
		err[0] = 0;
		int rc = engine_run(&o->eng[i], set, &o->out[i], err, sizeof(err));
		o->have_out = i + 1;
		o->status[i] = rc;
		snprintf(o->log[i], sizeof(o->log[i]), "%s", err);
		if (rc == ENGINE_ERROR)
			return verdict(o, set, v, ORACLE_ENGINE_ERROR, i, i, err[0] ? err : "the engine did not run");
		if (rc == ENGINE_REJECTED) {
			/* the set passed our verifier: the other engine's loader disagrees */
			snprintf(why, sizeof(why), "our verifier accepts, %s rejects: %.180s", o->eng[i].name,
				 err[0] ? err : "(no log)");
			verdict(o, set, v, ORACLE_VERIFIER_DISAGREE, 0, i, why);
			/* one finding per kind of rejection: the log's words, numbers aside */
			uint32_t h = 2166136261u;
			for (const char *c = err; *c && c < err + 60; c++)
				if (!(*c >= '0' && *c <= '9'))
					h = (h ^ (uint8_t)*c) * 16777619u;
			size_t n = strlen(v->signature);
			snprintf(v->signature + n, sizeof(v->signature) - n, "#%08x", h);
			return 1;
		}
	}
	for (int i = 0; i < o->nengines; i++) {
		struct outcome *x = &o->out[i];
		if (o->status[i] != ENGINE_RAN)
			continue;
		if (x->kind == OUTCOME_VERIFIER_ESCAPE)
			return verdict(o, set, v, ORACLE_VERIFIER_ESCAPE, i, i, "a verified program broke a bound");
		if (x->stack_hwm > set->static_stack_bound) {
			snprintf(why, sizeof(why), "stack_hwm %u > static bound %llu", x->stack_hwm,
				 (unsigned long long)set->static_stack_bound);
			return verdict(o, set, v, ORACLE_STACK_BOUND, i, i, why);
		}
		/* the native bound is at least the BPF bound: walk it only when needed */
		if (o->eng[i].kind == ENGINE_JIT && x->kind != OUTCOME_CRASH &&
		    x->native_stack_hwm > set->static_stack_bound + ENGINE_JIT_RUNTIME_BYTES) {
			int64_t nb = verifier_stack_bound(set, ENGINE_JIT_FRAME_BYTES);
			if (nb >= 0 && x->native_stack_hwm > (uint64_t)nb + ENGINE_JIT_RUNTIME_BYTES) {
				snprintf(why, sizeof(why), "native_stack_hwm %llu > native bound %llu + %d",
					 (unsigned long long)x->native_stack_hwm, (unsigned long long)nb,
					 ENGINE_JIT_RUNTIME_BYTES);
				return verdict(o, set, v, ORACLE_NATIVE_BOUND, i, i, why);
			}
		}
	}
	/* every pair, on the fields both of its engines observe */
	for (int a = 0; a < o->nengines; a++)
		for (int b = a + 1; b < o->nengines; b++) {
			if (o->status[a] != ENGINE_RAN || o->status[b] != ENGINE_RAN)
				continue; /* unsupported by one of the pair: nothing to compare */
			unsigned fa = engine_kinds[o->eng[a].kind].fields, fb = engine_kinds[o->eng[b].kind].fields;
			int budget = o->out[a].kind == OUTCOME_BUDGET || o->out[b].kind == OUTCOME_BUDGET;
			if (budget && !(fa & fb & ENGINE_HAS_BUDGET))
				continue; /* SPEC's budget: the other engine has none */
			unsigned fields = o->fields & fa & fb;
			unsigned bit = outcome_diff(set, &o->out[a], &o->out[b], fields, why, sizeof(why));
			if (bit)
				return verdict(o, set, v, class_of_field(bit), a, b, why);
		}
	return 0;
}
