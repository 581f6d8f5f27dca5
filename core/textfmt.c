/* The text format reader: sections first, then assembly, so that prog array
 * and program names used anywhere in the file resolve (docs/format.md). */
#include "textfmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asm.h"
#include "disasm.h"
#include "outcome.h"

/* A program's source collected while the file is read. */
struct src_prog {
	struct asm_line *asm_lines;
	int nasm, asm_cap;
	uint64_t *raw;
	int *raw_line;
	int nraw, raw_cap;
	int has_asm, has_raw;
	char cb_label[PROG_NAME_MAX];
};

enum section {
	SEC_NONE,
	SEC_PROGRAM,
	SEC_RAW,
	SEC_MEM,
	SEC_PROGARRAY,
	SEC_POOL,
	SEC_BUDGET,
	SEC_RESULT,
	SEC_ERROR,
	SEC_EXPECT,
	SEC_IGNORED,
};

struct reader {
	struct prog_set *set;
	const char *file;
	struct diag *d;
	struct src_prog src[PROG_MAX_PROGS];
	enum section sec;
	int cur_prog; /* program the asm/raw lines go to */
	int cur_array;
	int budget_seen, result_seen;
	/* expect lines are kept and parsed once program names are known */
	struct asm_line *expect_lines;
	int nexpect, expect_cap;
	size_t mem_cap;
};

static int grow(void **p, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return 0;
	int n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Removes '#' and '//' comments and surrounding blanks, in place. */
static int valid_name(const char *s)
{
	if (!*s || strlen(s) >= PROG_NAME_MAX)
		return 0;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	int64_t x;
	if (asm_parse_int(s, &x, NULL))
		return -1;
	*v = (uint64_t)x;
	return 0;
}

static int new_prog(struct reader *r, const char *name, int line)
{
	struct prog_set *set = r->set;
	if (!valid_name(name))
		return diag_error(r->d, r->file, line, "invalid program name '%s'", name);
	if (prog_find(set, name) >= 0)
		return diag_error(r->d, r->file, line, "duplicate program '%s'", name);
	if (set->nprogs >= PROG_MAX_PROGS)
		return diag_error(r->d, r->file, line, "too many programs (at most %d)", PROG_MAX_PROGS);
	struct prog *p = &set->progs[set->nprogs];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = line;
	p->exception_cb = -1;
	r->cur_prog = set->nprogs++;
	return 0;
}

static int start_section(struct reader *r, char *hdr, int line)
{
	char *words[4] = {0};
	int n = 0;
	for (char *t = strtok(hdr, " \t"); t; t = strtok(NULL, " \t")) {
		if (n == 4)
			return diag_error(r->d, r->file, line, "too many words in section header");
		words[n++] = t;
	}
	if (n == 0)
		return diag_error(r->d, r->file, line, "empty section header");
	const char *w = words[0];
	if (strcmp(w, "asm") == 0 && n == 1) {
		int p = prog_find(r->set, "main");
		if (p < 0 && new_prog(r, "main", line))
			return -1;
		if (p >= 0)
			r->cur_prog = p;
		if (r->src[r->cur_prog].has_asm)
			return diag_error(r->d, r->file, line, "program 'main' has two asm sections");
		r->src[r->cur_prog].has_asm = 1;
		r->sec = SEC_PROGRAM;
	} else if (strcmp(w, "program") == 0) {
		if (n < 2 || n > 3)
			return diag_error(r->d, r->file, line, "usage: -- program NAME [exception_callback=LABEL]");
		if (new_prog(r, words[1], line))
			return -1;
		r->src[r->cur_prog].has_asm = 1;
		if (n == 3) {
			if (strncmp(words[2], "exception_callback=", 19) || !words[2][19])
				return diag_error(r->d, r->file, line, "unknown program option '%s'", words[2]);
			snprintf(r->src[r->cur_prog].cb_label, PROG_NAME_MAX, "%s", words[2] + 19);
		}
		r->sec = SEC_PROGRAM;
	} else if (strcmp(w, "raw") == 0 && n == 1) {
		if (r->cur_prog < 0 && new_prog(r, "main", line))
			return -1;
		if (r->src[r->cur_prog].has_raw)
			return diag_error(r->d, r->file, line, "program '%s' has two raw sections",
					  r->set->progs[r->cur_prog].name);
		r->src[r->cur_prog].has_raw = 1;
		r->sec = SEC_RAW;
	} else if (strcmp(w, "mem") == 0 && n == 1) {
		if (r->set->mem)
			return diag_error(r->d, r->file, line, "duplicate mem section");
		r->set->mem = calloc(1, 1);
		if (!r->set->mem)
			return diag_error(r->d, r->file, line, "out of memory");
		r->sec = SEC_MEM;
	} else if (strcmp(w, "progarray") == 0) {
		uint64_t slots;
		if (n != 3 || parse_u64(words[2], &slots) || slots < 1 || slots > PROG_MAX_SLOTS)
			return diag_error(r->d, r->file, line, "usage: -- progarray NAME SLOTS (SLOTS 1..%d)",
					  PROG_MAX_SLOTS);
		if (!valid_name(words[1]))
			return diag_error(r->d, r->file, line, "invalid prog array name '%s'", words[1]);
		if (prog_array_find(r->set, words[1]) >= 0)
			return diag_error(r->d, r->file, line, "duplicate prog array '%s'", words[1]);
		if (r->set->narrays >= PROG_MAX_ARRAYS)
			return diag_error(r->d, r->file, line, "too many prog arrays (at most %d)", PROG_MAX_ARRAYS);
		struct prog_array *a = &r->set->arrays[r->set->narrays];
		snprintf(a->name, sizeof(a->name), "%s", words[1]);
		a->nslots = (int)slots;
		for (int i = 0; i < PROG_MAX_SLOTS; i++)
			a->slot[i] = -1;
		r->cur_array = r->set->narrays++;
		r->sec = SEC_PROGARRAY;
	} else if (strcmp(w, "pool") == 0 && n == 1) {
		r->sec = SEC_POOL;
	} else if (strcmp(w, "budget") == 0 && n == 1) {
		r->sec = SEC_BUDGET;
	} else if (strcmp(w, "result") == 0 && n == 1) {
		r->sec = SEC_RESULT;
	} else if (strcmp(w, "error") == 0 && n == 1) {
		r->set->expect_mask |= EXPECT_ERROR;
		r->set->expect_line = line;
		if (!r->set->expect_error && !(r->set->expect_error = strdup("")))
			return diag_error(r->d, r->file, line, "out of memory");
		r->sec = SEC_ERROR;
	} else if (strcmp(w, "expect") == 0 && n == 1) {
		r->sec = SEC_EXPECT;
		r->set->expect_line = line;
	} else if ((strcmp(w, "c") == 0 && n == 1) ||
		   (n == 3 && strcmp(w, "no") == 0 && strcmp(words[1], "register") == 0 &&
		    strcmp(words[2], "offset") == 0)) {
		r->sec = SEC_IGNORED;
	} else {
		return diag_error(r->d, r->file, line, "unknown section '-- %s'", w);
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int add_mem(struct reader *r, char *s, int line)
{
	struct prog_set *set = r->set;
	for (char *t = strtok(s, " \t,"); t; t = strtok(NULL, " \t,")) {
		if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
			t += 2;
		size_t n = strlen(t);
		if (n == 0 || n % 2)
			return diag_error(r->d, r->file, line, "invalid hex bytes '%s' in mem", t);
		for (size_t i = 0; i < n; i += 2) {
			int hi = hexval((unsigned char)t[i]), lo = hexval((unsigned char)t[i + 1]);
			if (hi < 0 || lo < 0)
				return diag_error(r->d, r->file, line, "invalid hex bytes '%s' in mem", t);
			if (set->mem_len >= PROG_MAX_MEM)
				return diag_error(r->d, r->file, line, "mem larger than %d bytes", PROG_MAX_MEM);
			if (set->mem_len + 1 > r->mem_cap) {
				size_t nc = r->mem_cap ? r->mem_cap * 2 : 64;
				uint8_t *m = realloc(set->mem, nc);
				if (!m)
					return diag_error(r->d, r->file, line, "out of memory");
				set->mem = m;
				r->mem_cap = nc;
			}
			set->mem[set->mem_len++] = (uint8_t)(hi << 4 | lo);
		}
	}
	return 0;
}

static int add_raw(struct reader *r, char *s, int line)
{
	struct src_prog *sp = &r->src[r->cur_prog];
	uint64_t word = 0;
	char *toks[9];
	int n = 0;
	for (char *t = strtok(s, " \t"); t; t = strtok(NULL, " \t")) {
		if (n == 9)
			break;
		toks[n++] = t;
	}
	if (n == 1) {
		if (parse_u64(toks[0], &word))
			return diag_error(r->d, r->file, line, "invalid raw instruction '%s'", toks[0]);
	} else if (n == 8) {
		for (int i = 0; i < 8; i++) {
			int hi = strlen(toks[i]) == 2 ? hexval((unsigned char)toks[i][0]) : -1;
			int lo = hi >= 0 ? hexval((unsigned char)toks[i][1]) : -1;
			if (lo < 0)
				return diag_error(r->d, r->file, line, "invalid raw byte '%s'", toks[i]);
			word |= (uint64_t)(hi << 4 | lo) << (8 * i);
		}
	} else {
		return diag_error(r->d, r->file, line, "raw: one 64-bit word or 8 hex bytes per line");
	}
	if (sp->nraw >= PROG_MAX_INSNS)
		return diag_error(r->d, r->file, line, "program too large (more than %d instructions)", PROG_MAX_INSNS);
	if (grow((void **)&sp->raw, &sp->raw_cap, sp->nraw + 1, sizeof(uint64_t)))
		return diag_error(r->d, r->file, line, "out of memory");
	int cap = sp->raw_cap;
	int *nl = realloc(sp->raw_line, (size_t)cap * sizeof(int));
	if (!nl)
		return diag_error(r->d, r->file, line, "out of memory");
	sp->raw_line = nl;
	sp->raw_line[sp->nraw] = line;
	sp->raw[sp->nraw++] = word;
	return 0;
}

static int add_line(struct asm_line **v, int *n, int *cap, const char *text, int line)
{
	if (grow((void **)v, cap, *n + 1, sizeof(**v)))
		return -1;
	(*v)[*n].text = strdup(text);
	if (!(*v)[*n].text)
		return -1;
	(*v)[(*n)++].line = line;
	return 0;
}

static int body_line(struct reader *r, char *raw_text, int line)
{
	struct prog_set *set = r->set;
	if (r->sec == SEC_PROGRAM) {
		struct src_prog *sp = &r->src[r->cur_prog];
		if (sp->nasm > PROG_MAX_INSNS + 1024)
			return diag_error(r->d, r->file, line, "program too large");
		if (add_line(&sp->asm_lines, &sp->nasm, &sp->asm_cap, raw_text, line))
			return diag_error(r->d, r->file, line, "out of memory");
		return 0;
	}
	if (r->sec == SEC_IGNORED)
		return 0;
	if (r->sec == SEC_ERROR) {
		char *s = asm_trim(raw_text, NULL);
		if (!*s)
			return 0;
		if (set->expect_error[0])
			return 0; /* the first non-blank line is the substring */
		free(set->expect_error);
		set->expect_error = strdup(s);
		return set->expect_error ? 0 : diag_error(r->d, r->file, line, "out of memory");
	}
	char *s = asm_trim(raw_text, "#");
	if (!*s)
		return 0;
	switch (r->sec) {
	case SEC_NONE:
	case SEC_PROGRAM:
	case SEC_IGNORED:
	case SEC_ERROR: return 0;
	case SEC_RAW: return add_raw(r, s, line);
	case SEC_MEM: return add_mem(r, s, line);
	case SEC_PROGARRAY: {
		char idx[32], name[128], extra[8];
		int k = sscanf(s, "%31s %127s %7s", idx, name, extra);
		uint64_t i;
		if (k != 2 || parse_u64(idx, &i))
			return diag_error(r->d, r->file, line, "progarray: expected 'INDEX PROGRAM' or 'INDEX -'");
		struct prog_array *a = &set->arrays[r->cur_array];
		if (i >= (uint64_t)a->nslots)
			return diag_error(r->d, r->file, line, "slot %llu out of range (prog array '%s' has %d slots)",
					  (unsigned long long)i, a->name, a->nslots);
		if (strcmp(name, "-") == 0) {
			a->slot[i] = -1;
			return 0;
		}
		/* program names resolve at the end: store the line for now */
		a->slot[i] = -2 - line;
		return add_line(&r->expect_lines, &r->nexpect, &r->expect_cap, name, -line) ? -1 : 0;
	}
	case SEC_POOL: {
		char ks[32], vs[32], extra[8];
		uint64_t k, v;
		if (sscanf(s, "%31s %31s %7s", ks, vs, extra) != 2 || parse_u64(ks, &k) || parse_u64(vs, &v))
			return diag_error(r->d, r->file, line, "pool: expected 'KIND SIZE'");
		if (k >= RES_KINDS || v > RES_MAX_POOL)
			return diag_error(r->d, r->file, line, "pool: kind must be 0..%d and size 0..%d", RES_KINDS - 1,
					  RES_MAX_POOL);
		set->pool[k] = (int)v;
		return 0;
	}
	case SEC_BUDGET: {
		uint64_t v;
		if (r->budget_seen || parse_u64(s, &v) || v > (1ull << 40))
			return diag_error(r->d, r->file, line, "budget: one number up to 2^40");
		r->budget_seen = 1;
		set->budget = v;
		return 0;
	}
	case SEC_RESULT: {
		uint64_t v;
		if (r->result_seen || parse_u64(s, &v))
			return diag_error(r->d, r->file, line, "result: one number expected");
		r->result_seen = 1;
		set->expect->r0 = v;
		set->expect->kind = OUTCOME_EXIT;
		set->expect_mask |= EXPECT_R0 | EXPECT_OUTCOME;
		return 0;
	}
	case SEC_EXPECT:
		return add_line(&r->expect_lines, &r->nexpect, &r->expect_cap, s, line)
			   ? diag_error(r->d, r->file, line, "out of memory")
			   : 0;
	}
	return 0;
}

static int set_bit(struct reader *r, unsigned bit, int line, const char *field)
{
	if (r->set->expect_mask & bit & ~(EXPECT_OUTCOME | EXPECT_R0))
		return diag_error(r->d, r->file, line, "expect: '%s' given twice", field);
	r->set->expect_mask |= bit;
	return 0;
}

static int parse_expect_line(struct reader *r, char *s, int line)
{
	struct outcome *o = r->set->expect;
	char *field = s;
	char *rest = s;
	while (*rest && !isspace((unsigned char)*rest))
		rest++;
	if (*rest)
		*rest++ = 0;
	rest = asm_trim(rest, NULL);
	if (strcmp(field, "outcome") == 0) {
		int k = outcome_kind_parse(rest);
		if (k < 0)
			return diag_error(r->d, r->file, line, "expect: unknown outcome '%s'", rest);
		o->kind = (enum outcome_kind)k;
		return set_bit(r, EXPECT_OUTCOME, line, field);
	}
	if (strcmp(field, "r0") == 0) {
		if (parse_u64(rest, &o->r0))
			return diag_error(r->d, r->file, line, "expect: invalid r0 '%s'", rest);
		return set_bit(r, EXPECT_R0, line, field);
	}
	if (strcmp(field, "tail_calls") == 0 || strcmp(field, "stack_hwm") == 0) {
		uint64_t v;
		if (parse_u64(rest, &v) || v > UINT32_MAX)
			return diag_error(r->d, r->file, line, "expect: invalid %s '%s'", field, rest);
		if (field[0] == 't') {
			o->tail_calls = (uint32_t)v;
			return set_bit(r, EXPECT_TAIL_CALLS, line, field);
		}
		o->stack_hwm = (uint32_t)v;
		return set_bit(r, EXPECT_STACK_HWM, line, field);
	}
	if (strcmp(field, "fault") == 0) {
		char where[128], kind[64], extra[8];
		if (sscanf(rest, "%127s %63s %7s", where, kind, extra) != 2)
			return diag_error(r->d, r->file, line, "expect: usage 'fault PROGRAM:PC KIND'");
		char *colon = strrchr(where, ':');
		int64_t pc;
		if (!colon || asm_parse_int(colon + 1, &pc, NULL) || pc < 0)
			return diag_error(r->d, r->file, line, "expect: usage 'fault PROGRAM:PC KIND'");
		*colon = 0;
		int p = prog_find(r->set, where);
		if (p < 0)
			return diag_error(r->d, r->file, line, "expect: unknown program '%s'", where);
		int fk = fault_kind_parse(kind);
		if (fk < 0)
			return diag_error(r->d, r->file, line, "expect: unknown fault kind '%s'", kind);
		o->fault_prog = p;
		o->fault_pc = (int)pc;
		o->fault = (enum fault_kind)fk;
		return set_bit(r, EXPECT_FAULT, line, field);
	}
	if (strcmp(field, "destructors") == 0) {
		if (strcmp(rest, "none") != 0)
			for (char *t = strtok(rest, " \t"); t; t = strtok(NULL, " \t")) {
				unsigned kind, id;
				char c;
				if (sscanf(t, "%u:%u%c", &kind, &id, &c) != 2 || kind >= RES_KINDS)
					return diag_error(r->d, r->file, line, "expect: destructor '%s' is not KIND:ID",
							  t);
				if (o->ndestructors >= OUTCOME_MAX_DESTRUCTORS)
					return diag_error(r->d, r->file, line, "expect: too many destructors");
				o->destructors[o->ndestructors].kind = (uint8_t)kind;
				o->destructors[o->ndestructors++].id = id;
			}
		return set_bit(r, EXPECT_DESTRUCTORS, line, field);
	}
	if (strcmp(field, "trace") == 0) {
		if (strcmp(rest, "none") != 0)
			for (char *t = strtok(rest, " \t"); t; t = strtok(NULL, " \t")) {
				uint64_t v;
				if (parse_u64(t, &v))
					return diag_error(r->d, r->file, line, "expect: invalid trace value '%s'", t);
				if (o->ntrace >= OUTCOME_MAX_TRACE)
					return diag_error(r->d, r->file, line, "expect: too many trace values");
				o->trace[o->ntrace++] = v;
			}
		return set_bit(r, EXPECT_TRACE, line, field);
	}
	if (strcmp(field, "context") == 0) {
		size_t cap = 0;
		for (char *t = strtok(rest, " \t"); t; t = strtok(NULL, " \t")) {
			if (strcmp(t, "none") == 0)
				continue;
			int hi = strlen(t) == 2 ? hexval((unsigned char)t[0]) : -1;
			int lo = hi >= 0 ? hexval((unsigned char)t[1]) : -1;
			if (lo < 0)
				return diag_error(r->d, r->file, line, "expect: invalid context byte '%s'", t);
			if (o->context_len >= PROG_MAX_MEM)
				return diag_error(r->d, r->file, line, "expect: context too long");
			if (o->context_len + 1 > cap) {
				cap = cap ? cap * 2 : 64;
				uint8_t *m = realloc(o->context, cap);
				if (!m)
					return diag_error(r->d, r->file, line, "out of memory");
				o->context = m;
			}
			o->context[o->context_len++] = (uint8_t)(hi << 4 | lo);
		}
		return set_bit(r, EXPECT_CONTEXT, line, field);
	}
	if (strcmp(field, "native_stack_hwm") == 0)
		return 0; /* engine-specific, never compared */
	return diag_error(r->d, r->file, line, "expect: unknown field '%s'", field);
}

/* Assembles, decodes raw words, and checks that both agree. */
static int build_prog(struct reader *r, int i)
{
	struct prog *p = &r->set->progs[i];
	struct src_prog *sp = &r->src[i];
	if (sp->nasm || (sp->has_asm && !sp->has_raw)) {
		struct asm_line *lines = sp->asm_lines;
		int n = sp->nasm;
		char cb[PROG_NAME_MAX + 32];
		if (sp->cb_label[0]) {
			/* the header option is the directive's other spelling */
			snprintf(cb, sizeof(cb), ".exception_callback %s", sp->cb_label);
			if (add_line(&sp->asm_lines, &sp->nasm, &sp->asm_cap, cb, p->line))
				return diag_error(r->d, r->file, p->line, "out of memory");
			lines = sp->asm_lines;
			n = sp->nasm;
		}
		if (asm_program(r->set, p, lines, n, r->file, r->d))
			return -1;
	}
	if (sp->has_raw) {
		if (sp->nraw == 0)
			return diag_error(r->d, r->file, p->line, "program '%s' has an empty raw section", p->name);
		if (p->insns) {
			if (p->len != sp->nraw)
				return diag_error(r->d, r->file, sp->raw_line[0],
						  "raw section of '%s' has %d instructions, its asm %d", p->name,
						  sp->nraw, p->len);
			for (int k = 0; k < p->len; k++) {
				uint64_t w;
				memcpy(&w, &p->insns[k], 8);
				if (w != sp->raw[k])
					return diag_error(r->d, r->file, sp->raw_line[k],
							  "raw instruction %d of '%s' (0x%016llx) differs from its asm "
							  "(0x%016llx)",
							  k, p->name, (unsigned long long)sp->raw[k],
							  (unsigned long long)w);
			}
		} else {
			p->insns = calloc((size_t)sp->nraw, sizeof(struct bpf_insn));
			p->lines = calloc((size_t)sp->nraw, sizeof(int));
			if (!p->insns || !p->lines)
				return diag_error(r->d, r->file, p->line, "out of memory");
			p->len = sp->nraw;
			for (int k = 0; k < p->len; k++) {
				memcpy(&p->insns[k], &sp->raw[k], 8);
				p->lines[k] = sp->raw_line[k];
			}
			p->exception_cb = -1;
		}
	}
	if (!p->insns)
		return diag_error(r->d, r->file, p->line, "program '%s' has no instructions", p->name);
	return 0;
}

int textfmt_parse(struct prog_set *set, const char *file, const char *text, size_t len, struct diag *d)
{
	if (len > TEXTFMT_MAX_FILE)
		return diag_error(d, file, 0, "file larger than %u bytes", TEXTFMT_MAX_FILE);
	struct reader *r = calloc(1, sizeof(*r));
	char *buf = malloc(len + 1);
	int rc = -1;
	if (!r || !buf) {
		diag_error(d, file, 0, "out of memory");
		goto out;
	}
	set->file = strdup(file);
	set->expect = calloc(1, sizeof(*set->expect));
	if (!set->file || !set->expect) {
		diag_error(d, file, 0, "out of memory");
		goto out;
	}
	outcome_init(set->expect);
	r->set = set;
	r->file = file;
	r->d = d;
	r->cur_prog = -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	if (memchr(buf, 0, len)) {
		diag_error(d, file, 0, "file contains a NUL byte (not a text file)");
		goto out;
	}

	int line = 0;
	for (char *s = buf; s && *s;) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		line++;
		size_t n = strlen(s);
		if (n && s[n - 1] == '\r')
			s[n - 1] = 0;
		char *t = s;
		while (*t == ' ' || *t == '\t')
			t++;
		if (t[0] == '-' && t[1] == '-' && (t[2] == ' ' || t[2] == '\t' || t[2] == 0)) {
			char *hdr = asm_trim(t + 2, "#");
			if (start_section(r, hdr, line))
				goto out;
		} else if (body_line(r, s, line)) {
			goto out;
		}
		s = nl ? nl + 1 : NULL;
	}
	if (set->nprogs == 0) {
		diag_error(d, file, line ? line : 0,
			   "no program in file (expected '-- asm', '-- program' or '-- raw')");
		goto out;
	}
	/* prog array slots name programs: resolve them now */
	for (int a = 0; a < set->narrays; a++)
		for (int i = 0; i < set->arrays[a].nslots; i++) {
			int v = set->arrays[a].slot[i];
			if (v > -2)
				continue;
			int ln = -2 - v;
			const char *name = NULL;
			for (int k = 0; k < r->nexpect; k++)
				if (r->expect_lines[k].line == -ln)
					name = r->expect_lines[k].text;
			int p = name ? prog_find(set, name) : -1;
			if (p < 0) {
				diag_error(d, file, ln, "unknown program '%s' in prog array '%s'", name ? name : "?",
					   set->arrays[a].name);
				goto out;
			}
			set->arrays[a].slot[i] = p;
		}
	for (int i = 0; i < set->nprogs; i++)
		if (build_prog(r, i))
			goto out;
	for (int k = 0; k < r->nexpect; k++)
		if (r->expect_lines[k].line > 0 &&
		    parse_expect_line(r, r->expect_lines[k].text, r->expect_lines[k].line))
			goto out;
	rc = 0;
out:
	if (r) {
		for (int i = 0; i < PROG_MAX_PROGS; i++) {
			for (int k = 0; k < r->src[i].nasm; k++)
				free(r->src[i].asm_lines[k].text);
			free(r->src[i].asm_lines);
			free(r->src[i].raw);
			free(r->src[i].raw_line);
		}
		for (int k = 0; k < r->nexpect; k++)
			free(r->expect_lines[k].text);
		free(r->expect_lines);
	}
	free(r);
	free(buf);
	return rc;
}

char *textfmt_read(const char *path, size_t *lenp, struct diag *d)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		diag_error(d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 65536;
			const char *why = cap > TEXTFMT_MAX_FILE + 65536u ? "file larger than the limit" : NULL;
			char *t = why ? NULL : realloc(text, cap + 1);
			if (!t) {
				free(text);
				fclose(f);
				if (why)
					diag_error(d, path, 0, "file larger than %u bytes", TEXTFMT_MAX_FILE);
				else
					diag_error(d, path, 0, "out of memory");
				return NULL;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(text);
		diag_error(d, path, 0, "read error");
		return NULL;
	}
	text[len] = 0;
	*lenp = len;
	return text;
}

int textfmt_load(struct prog_set *set, const char *path, struct diag *d)
{
	size_t len;
	char *text = textfmt_read(path, &len, d);
	if (!text)
		return -1;
	int rc = textfmt_parse(set, path, text, len, d);
	free(text);
	return rc;
}

void textfmt_write(FILE *f, const struct prog_set *set)
{
	for (int i = 0; i < set->nprogs; i++) {
		const struct prog *p = &set->progs[i];
		fprintf(f, "-- program %s\n", p->name);
		disasm_program(f, set, p);
	}
	for (int a = 0; a < set->narrays; a++) {
		const struct prog_array *arr = &set->arrays[a];
		fprintf(f, "-- progarray %s %d\n", arr->name, arr->nslots);
		for (int s = 0; s < arr->nslots; s++)
			if (arr->slot[s] >= 0)
				fprintf(f, "%d %s\n", s, set->progs[arr->slot[s]].name);
	}
	if (set->mem_len) {
		fprintf(f, "-- mem\n");
		for (size_t i = 0; i < set->mem_len; i++)
			fprintf(f, "%02x%s", set->mem[i], (i % 16 == 15 || i + 1 == set->mem_len) ? "\n" : " ");
	}
	int pool_default = 1;
	for (int k = 0; k < RES_KINDS; k++)
		pool_default &= set->pool[k] == RES_DEFAULT_POOL;
	if (!pool_default) {
		fprintf(f, "-- pool\n");
		for (int k = 0; k < RES_KINDS; k++)
			if (set->pool[k] != RES_DEFAULT_POOL)
				fprintf(f, "%d %d\n", k, set->pool[k]);
	}
	if (set->budget != BUDGET_DEFAULT)
		fprintf(f, "-- budget\n%llu\n", (unsigned long long)set->budget);
}
