/* The outcome record's text and JSON forms, and its field-by-field diff. */
#include "outcome.h"

#include <stdlib.h>
#include <string.h>

#include "prog.h"

static const char *const kind_names[] = {
#define OK_NAME(e, s) s,
    OUTCOME_KIND_LIST(OK_NAME)
#undef OK_NAME
};
static const char *const fault_names[] = {
#define FK_NAME(e, s) s,
    FAULT_KIND_LIST(FK_NAME)
#undef FK_NAME
};

void outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->fault_prog = -1;
	o->fault_pc = -1;
}

void outcome_free(struct outcome *o)
{
	free(o->context);
	o->context = NULL;
	o->context_len = 0;
}

const char *outcome_kind_name(enum outcome_kind k)
{
	return (unsigned)k < OUTCOME_NUM_KINDS ? kind_names[k] : "?";
}

const char *fault_kind_name(enum fault_kind k)
{
	return (unsigned)k < FAULT_NUM_KINDS ? fault_names[k] : "?";
}

int outcome_kind_parse(const char *s)
{
	for (int k = 0; k < OUTCOME_NUM_KINDS; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

int fault_kind_parse(const char *s)
{
	for (int k = 0; k < FAULT_NUM_KINDS; k++)
		if (strcmp(s, fault_names[k]) == 0)
			return k;
	return -1;
}

static const char *prog_name(const struct prog_set *set, int p)
{
	return set && p >= 0 && p < set->nprogs ? set->progs[p].name : "?";
}

void outcome_print(FILE *f, const struct prog_set *set, const struct outcome *o)
{
	fprintf(f, "outcome %s\n", outcome_kind_name(o->kind));
	fprintf(f, "r0 0x%llx\n", (unsigned long long)o->r0);
	if (o->fault != FAULT_NONE)
		fprintf(f, "fault %s:%d %s\n", prog_name(set, o->fault_prog), o->fault_pc, fault_kind_name(o->fault));
	fprintf(f, "tail_calls %u\n", o->tail_calls);
	fprintf(f, "stack_hwm %u\n", o->stack_hwm);
	if (o->native_stack_hwm)
		fprintf(f, "native_stack_hwm %llu\n", (unsigned long long)o->native_stack_hwm);
	fprintf(f, "destructors");
	if (!o->ndestructors)
		fprintf(f, " none");
	for (uint32_t i = 0; i < o->ndestructors; i++)
		fprintf(f, " %u:%u", o->destructors[i].kind, o->destructors[i].id);
	fprintf(f, "\ntrace");
	if (!o->ntrace)
		fprintf(f, " none");
	for (uint32_t i = 0; i < o->ntrace; i++)
		fprintf(f, " 0x%llx", (unsigned long long)o->trace[i]);
	fprintf(f, "\ncontext");
	if (!o->context_len)
		fprintf(f, " none");
	for (size_t i = 0; i < o->context_len; i++)
		fprintf(f, " %02x", o->context[i]);
	fprintf(f, "\n");
}

void outcome_print_json(FILE *f, const struct prog_set *set, const struct outcome *o)
{
	fprintf(f, "{\"outcome\":\"%s\",\"r0\":\"0x%llx\"", outcome_kind_name(o->kind), (unsigned long long)o->r0);
	if (o->fault != FAULT_NONE)
		fprintf(f, ",\"fault\":{\"prog\":\"%s\",\"pc\":%d,\"kind\":\"%s\"}", prog_name(set, o->fault_prog),
			o->fault_pc, fault_kind_name(o->fault));
	fprintf(f, ",\"tail_calls\":%u,\"stack_hwm\":%u", o->tail_calls, o->stack_hwm);
	if (o->native_stack_hwm)
		fprintf(f, ",\"native_stack_hwm\":%llu", (unsigned long long)o->native_stack_hwm);
	fprintf(f, ",\"destructors\":[");
	for (uint32_t i = 0; i < o->ndestructors; i++)
		fprintf(f, "%s{\"kind\":%u,\"id\":%u}", i ? "," : "", o->destructors[i].kind, o->destructors[i].id);
	fprintf(f, "],\"trace\":[");
	for (uint32_t i = 0; i < o->ntrace; i++)
		fprintf(f, "%s\"0x%llx\"", i ? "," : "", (unsigned long long)o->trace[i]);
	fprintf(f, "],\"context\":\"");
	for (size_t i = 0; i < o->context_len; i++)
		fprintf(f, "%02x", o->context[i]);
	fprintf(f, "\"}\n");
}

unsigned outcome_diff(const struct prog_set *set, const struct outcome *a, const struct outcome *b, unsigned mask,
		      char *buf, size_t len)
{
	if ((mask & EXPECT_OUTCOME) && a->kind != b->kind) {
		snprintf(buf, len, "outcome %s vs %s", outcome_kind_name(a->kind), outcome_kind_name(b->kind));
		return EXPECT_OUTCOME;
	}
	uint64_t r0_bits = a->r0_low32 || b->r0_low32 ? 0xffffffffu : UINT64_MAX;
	if ((mask & EXPECT_R0) && ((a->r0 ^ b->r0) & r0_bits)) {
		snprintf(buf, len, "r0 0x%llx vs 0x%llx", (unsigned long long)a->r0, (unsigned long long)b->r0);
		return EXPECT_R0;
	}
	if ((mask & EXPECT_FAULT) &&
	    (a->fault != b->fault || a->fault_prog != b->fault_prog || a->fault_pc != b->fault_pc)) {
		snprintf(buf, len, "fault %s:%d %s vs %s:%d %s", prog_name(set, a->fault_prog), a->fault_pc,
			 fault_kind_name(a->fault), prog_name(set, b->fault_prog), b->fault_pc,
			 fault_kind_name(b->fault));
		return EXPECT_FAULT;
	}
	if ((mask & EXPECT_TAIL_CALLS) && a->tail_calls != b->tail_calls) {
		snprintf(buf, len, "tail_calls %u vs %u", a->tail_calls, b->tail_calls);
		return EXPECT_TAIL_CALLS;
	}
	if ((mask & EXPECT_STACK_HWM) && a->stack_hwm != b->stack_hwm) {
		snprintf(buf, len, "stack_hwm %u vs %u", a->stack_hwm, b->stack_hwm);
		return EXPECT_STACK_HWM;
	}
	if (mask & EXPECT_DESTRUCTORS) {
		uint32_t n = a->ndestructors < b->ndestructors ? a->ndestructors : b->ndestructors;
		for (uint32_t i = 0; i <= n; i++) {
			if (i == n && a->ndestructors == b->ndestructors)
				break;
			if (i < n && a->destructors[i].kind == b->destructors[i].kind &&
			    a->destructors[i].id == b->destructors[i].id)
				continue;
			snprintf(buf, len, "destructors differ at entry %u (%u vs %u entries)", i, a->ndestructors,
				 b->ndestructors);
			return EXPECT_DESTRUCTORS;
		}
	}
	if (mask & EXPECT_TRACE) {
		uint32_t n = a->ntrace < b->ntrace ? a->ntrace : b->ntrace;
		for (uint32_t i = 0; i <= n; i++) {
			if (i == n && a->ntrace == b->ntrace)
				break;
			if (i < n && a->trace[i] == b->trace[i])
				continue;
			if (i < n)
				snprintf(buf, len, "trace[%u] 0x%llx vs 0x%llx", i, (unsigned long long)a->trace[i],
					 (unsigned long long)b->trace[i]);
			else
				snprintf(buf, len, "trace has %u vs %u values", a->ntrace, b->ntrace);
			return EXPECT_TRACE;
		}
	}
	if (mask & EXPECT_CONTEXT) {
		if (a->context_len != b->context_len) {
			snprintf(buf, len, "context %zu vs %zu bytes", a->context_len, b->context_len);
			return EXPECT_CONTEXT;
		}
		for (size_t i = 0; i < a->context_len; i++)
			if (a->context[i] != b->context[i]) {
				snprintf(buf, len, "context[%zu] %02x vs %02x", i, a->context[i], b->context[i]);
				return EXPECT_CONTEXT;
			}
	}
	return 0;
}
