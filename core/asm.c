/* The assembler: one program's lines (docs/format.md) to instructions. Two
 * passes: the first places labels (lddw takes two slots), the second encodes,
 * looking each mnemonic up in the opcode table. */
#include "asm.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define MAX_OPERANDS 4
#define MAX_LABELS 4096

struct label {
	char name[64];
	int pc;
};

struct asm_ctx {
	const struct prog_set *set;
	const char *file;
	struct diag *d;
	struct label *labels;
	int nlabels;
	int line;
	int len; /* instructions in the program (known in pass 2) */
};

/* See asm.h. */
char *asm_trim(char *s, const char *marks)
{
	for (char *p = s; marks && *p; p++) {
		if (strchr(marks, *p) || (p[0] == '/' && p[1] == '/')) {
			*p = 0;
			break;
		}
	}
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* An assembly line's text: `#`, `;` and `//` start comments. */
static char *strip(char *s)
{
	return asm_trim(s, "#;");
}

static int is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$';
}

/* If the line starts with "name:", returns the name's length, else 0. */
static size_t label_prefix(const char *s)
{
	size_t n = 0;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '.'))
		return 0;
	while (is_ident_char((unsigned char)s[n]))
		n++;
	return s[n] == ':' ? n : 0;
}

int asm_parse_int(const char *s, int64_t *out, int *is_hex)
{
	int neg = 0;
	const char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return -1;
	int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, hex ? 16 : 10);
	if (errno || end == p + (hex ? 2 : 0))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -1;
	if (neg && v > (unsigned long long)INT64_MAX + 1)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	if (is_hex)
		*is_hex = hex && !neg;
	return 0;
}

/* An immediate for a 32-bit field: decimal in int32 range, or hex up to
 * 0xffffffff (the conformance suite's rule; 0x100000000 is an error). */
static int parse_imm32(struct asm_ctx *c, const char *s, int32_t *out)
{
	int64_t v;
	int hex;
	if (asm_parse_int(s, &v, &hex))
		return diag_error(c->d, c->file, c->line, "invalid immediate '%s'", s);
	if (hex ? (uint64_t)v > 0xffffffffu : (v < INT32_MIN || v > INT32_MAX))
		return diag_error(c->d, c->file, c->line, "immediate '%s' out of the 32-bit range", s);
	*out = (int32_t)(uint32_t)v;
	return 0;
}

static int parse_off16(struct asm_ctx *c, const char *s, int16_t *out)
{
	int64_t v;
	int hex;
	if (asm_parse_int(s, &v, &hex))
		return diag_error(c->d, c->file, c->line, "invalid offset '%s'", s);
	if (hex ? (uint64_t)v > 0xffffu : (v < INT16_MIN || v > INT16_MAX))
		return diag_error(c->d, c->file, c->line, "offset '%s' out of the 16-bit range", s);
	*out = (int16_t)(uint16_t)v;
	return 0;
}

static int parse_reg(struct asm_ctx *c, const char *s, uint8_t *out)
{
	const char *p = s;
	if (*p == '%')
		p++;
	if (*p != 'r' || !isdigit((unsigned char)p[1]))
		return diag_error(c->d, c->file, c->line, "invalid register '%s'", s);
	char *end;
	long n = strtol(p + 1, &end, 10);
	if (*end || n < 0 || n > 10)
		return diag_error(c->d, c->file, c->line, "invalid register '%s'", s);
	*out = (uint8_t)n;
	return 0;
}

static int is_reg(const char *s)
{
	const char *p = s[0] == '%' ? s + 1 : s;
	return p[0] == 'r' && isdigit((unsigned char)p[1]);
}

/* "[%r1+2]", "[%r10-8]", "[%r1]" */
static int parse_mem(struct asm_ctx *c, const char *s, uint8_t *reg, int16_t *off)
{
	size_t n = strlen(s);
	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return diag_error(c->d, c->file, c->line, "invalid memory operand '%s' (expected [%%rN+off])", s);
	char buf[128];
	if (n - 2 >= sizeof(buf))
		return diag_error(c->d, c->file, c->line, "invalid memory operand");
	memcpy(buf, s + 1, n - 2);
	buf[n - 2] = 0;
	char *sign = strpbrk(buf, "+-");
	*off = 0;
	if (sign) {
		char offs[64];
		snprintf(offs, sizeof(offs), "%s", sign);
		*sign = 0;
		if (parse_off16(c, offs, off))
			return -1;
	}
	return parse_reg(c, strip(buf), reg);
}

static int find_label(struct asm_ctx *c, const char *name)
{
	for (int i = 0; i < c->nlabels; i++)
		if (strcmp(c->labels[i].name, name) == 0)
			return c->labels[i].pc;
	return -1;
}

/* A jump or call target: a label or +N/-N. Gives the offset from pc + 1. */
static int parse_target(struct asm_ctx *c, const char *s, int pc, int64_t *rel)
{
	int64_t v;
	if ((s[0] == '+' || s[0] == '-') && asm_parse_int(s, &v, NULL) == 0) {
		*rel = v;
		return 0;
	}
	int t = find_label(c, s);
	if (t < 0 && strcmp(s, "exit") == 0 && c->len > 0)
		t = c->len - 1; /* the conformance suite's implicit label: the last instruction */
	if (t < 0)
		return diag_error(c->d, c->file, c->line, "unknown label '%s'", s);
	*rel = (int64_t)t - (pc + 1);
	return 0;
}

static int split_operands(char *s, char **ops)
{
	int n = 0;
	if (!*s)
		return 0;
	while (n < MAX_OPERANDS + 1) {
		char *comma = strchr(s, ',');
		if (comma)
			*comma = 0;
		ops[n++] = strip(s);
		if (!comma)
			break;
		s = comma + 1;
	}
	return n;
}

static const char *alias(const char *m)
{
	static const char *const pairs[][2] = {
	    {"swap16", "bswap16"}, {"swap32", "bswap32"}, {"swap64", "bswap64"}, {"mov64", "mov"},  {"add64", "add"},
	    {"sub64", "sub"},	   {"mul64", "mul"},	  {"div64", "div"},	 {"or64", "or"},    {"and64", "and"},
	    {"lsh64", "lsh"},	   {"rsh64", "rsh"},	  {"neg64", "neg"},	 {"mod64", "mod"},  {"xor64", "xor"},
	    {"arsh64", "arsh"},	   {"sdiv64", "sdiv"},	  {"smod64", "smod"},	 {"gotol", "ja32"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (strcmp(m, pairs[i][0]) == 0)
			return pairs[i][1];
	return m;
}

static int want_ops(struct asm_ctx *c, const char *m, int n, int want)
{
	if (n != want)
		return diag_error(c->d, c->file, c->line, "invalid number of operands for %s: %d, expected %d", m, n,
				  want);
	return 0;
}

/* Encodes one instruction line at pc; writes 1 or 2 slots to out. */
static int encode(struct asm_ctx *c, char *text, int pc, struct bpf_insn *out, int *nslots)
{
	char mn[64];
	char *p = text;
	size_t n = 0;
	while (*p && !isspace((unsigned char)*p) && n < sizeof(mn) - 1)
		mn[n++] = *p++;
	mn[n] = 0;
	memset(out, 0, 2 * sizeof(*out));
	*nslots = 1;

	if (strcmp(mn, ".insn") == 0) {
		/* one raw 64-bit word: the disassembler's spelling of anything the
		 * table cannot name, so that every program round-trips */
		int64_t w;
		if (asm_parse_int(strip(p), &w, NULL))
			return diag_error(c->d, c->file, c->line, ".insn needs one 64-bit number");
		memcpy(out, &w, sizeof(*out));
		return 0;
	}
	if (strcmp(mn, "lock") == 0) {
		/* "lock fetch add32 [..], %rN": the words before '[' name the op */
		char *bracket = strchr(p, '[');
		if (!bracket)
			return diag_error(c->d, c->file, c->line, "invalid number of operands for lock");
		char words[64];
		size_t wl = (size_t)(bracket - p);
		if (wl >= sizeof(words))
			return diag_error(c->d, c->file, c->line, "invalid lock instruction");
		memcpy(words, p, wl);
		words[wl] = 0;
		snprintf(mn, sizeof(mn), "lock %s", strip(words));
		/* collapse inner blanks to one space */
		char *w = mn, *r = mn;
		int sp = 0;
		for (; *r; r++) {
			if (isspace((unsigned char)*r)) {
				sp = 1;
				continue;
			}
			if (sp && w != mn)
				*w++ = ' ';
			sp = 0;
			*w++ = *r;
		}
		*w = 0;
		p = bracket;
	}
	if (strcmp(mn, "call") == 0) {
		char *arg = strip(p);
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", arg);
		char *sp = buf;
		while (*sp && !isspace((unsigned char)*sp))
			sp++;
		char *rest = *sp ? strip(sp + 1) : sp;
		*sp = 0;
		out->code = BPF_JMP | 0x80;
		if (!buf[0])
			return diag_error(c->d, c->file, c->line, "invalid number of operands for call");
		if (strcmp(buf, "local") == 0) {
			int64_t rel;
			if (!*rest)
				return diag_error(c->d, c->file, c->line, "call local needs a label");
			if (parse_target(c, rest, pc, &rel))
				return -1;
			out->src = BPF_PSEUDO_CALL;
			out->imm = (int32_t)rel;
			return 0;
		}
		int kfunc = 0;
		if (strcmp(buf, "kfunc") == 0 || strcmp(buf, "helper") == 0) {
			kfunc = buf[0] == 'k';
			snprintf(buf, sizeof(buf), "%s", rest);
			rest = "";
		}
		if (*rest)
			return diag_error(c->d, c->file, c->line, "invalid number of operands for call");
		if (is_reg(buf))
			return diag_error(c->d, c->file, c->line, "callx (call by register) is not supported");
		int rt = rt_call_by_name(buf);
		if (rt != RT_UNKNOWN) {
			out->src = rt_calls[rt].is_kfunc ? BPF_PSEUDO_KFUNC_CALL : 0;
			out->imm = rt_calls[rt].number;
			return 0;
		}
		int32_t imm;
		if (isdigit((unsigned char)buf[0]) || buf[0] == '-') {
			if (parse_imm32(c, buf, &imm))
				return -1;
			out->src = kfunc ? BPF_PSEUDO_KFUNC_CALL : 0;
			out->imm = imm;
			return 0;
		}
		return diag_error(c->d, c->file, c->line, "unknown helper or kfunc '%s'", buf);
	}

	const char *m = alias(mn);
	if (!isa_known_mnemonic(m))
		return diag_error(c->d, c->file, c->line, "invalid mnemonic '%s'", mn);
	char *ops[MAX_OPERANDS + 1];
	char opbuf[512];
	snprintf(opbuf, sizeof(opbuf), "%s", p);
	int nops = split_operands(strip(opbuf), ops);
	for (int i = 0; i < nops; i++)
		if (!*ops[i])
			return diag_error(c->d, c->file, c->line, "empty operand in %s", mn);

	int op;
	/* Find the row by mnemonic and operand shape. */
#define TRY(fmt) (op = isa_find(m, (fmt))) != ISA_INVALID
	if (TRY(FMT_EXIT)) {
		if (want_ops(c, mn, nops, 0))
			return -1;
	} else if (TRY(FMT_NEG) || TRY(FMT_END)) {
		if (want_ops(c, mn, nops, 1))
			return -1;
		uint8_t r;
		if (parse_reg(c, ops[0], &r))
			return -1;
		out->dst = r;
	} else if (TRY(FMT_MOVSX)) {
		if (want_ops(c, mn, nops, 2))
			return -1;
		uint8_t d, s;
		if (parse_reg(c, ops[0], &d) || parse_reg(c, ops[1], &s))
			return -1;
		out->dst = d;
		out->src = s;
	} else if (isa_find(m, FMT_ALU_K) != ISA_INVALID || isa_find(m, FMT_ALU_SX_K) != ISA_INVALID) {
		if (want_ops(c, mn, nops, 2))
			return -1;
		int sx = isa_find(m, FMT_ALU_SX_K) != ISA_INVALID;
		uint8_t d;
		if (parse_reg(c, ops[0], &d))
			return -1;
		out->dst = d;
		if (is_reg(ops[1])) {
			uint8_t s;
			op = isa_find(m, sx ? FMT_ALU_SX_X : FMT_ALU_X);
			if (parse_reg(c, ops[1], &s))
				return -1;
			out->src = s;
		} else {
			op = isa_find(m, sx ? FMT_ALU_SX_K : FMT_ALU_K);
			if (parse_imm32(c, ops[1], &out->imm))
				return -1;
		}
	} else if (TRY(FMT_LDDW)) {
		if (want_ops(c, mn, nops, 2))
			return -1;
		uint8_t d;
		if (parse_reg(c, ops[0], &d))
			return -1;
		out[0].dst = d;
		*nslots = 2;
		if (strncmp(ops[1], "map:", 4) == 0) {
			int a = prog_array_find(c->set, ops[1] + 4);
			if (a < 0)
				return diag_error(c->d, c->file, c->line, "unknown prog array '%s'", ops[1] + 4);
			out[0].src = BPF_PSEUDO_MAP;
			out[0].imm = a;
		} else {
			int64_t v;
			if (asm_parse_int(ops[1], &v, NULL))
				return diag_error(c->d, c->file, c->line, "invalid immediate '%s'", ops[1]);
			out[0].imm = (int32_t)(uint32_t)(uint64_t)v;
			out[1].imm = (int32_t)(uint32_t)((uint64_t)v >> 32);
		}
	} else if (TRY(FMT_LDX)) {
		if (want_ops(c, mn, nops, 2))
			return -1;
		uint8_t d, s;
		if (parse_reg(c, ops[0], &d) || parse_mem(c, ops[1], &s, &out->off))
			return -1;
		out->dst = d;
		out->src = s;
	} else if (TRY(FMT_ST)) {
		if (want_ops(c, mn, nops, 2))
			return -1;
		uint8_t d;
		if (parse_mem(c, ops[0], &d, &out->off) || parse_imm32(c, ops[1], &out->imm))
			return -1;
		out->dst = d;
	} else if (TRY(FMT_STX) || TRY(FMT_ATOMIC)) {
		if (want_ops(c, m[0] == 'l' ? "lock" : mn, nops, 2))
			return -1;
		uint8_t d, s;
		if (parse_mem(c, ops[0], &d, &out->off) || parse_reg(c, ops[1], &s))
			return -1;
		out->dst = d;
		out->src = s;
	} else if (TRY(FMT_JA)) {
		int64_t rel;
		if (want_ops(c, mn, nops, 1) || parse_target(c, ops[0], pc, &rel))
			return -1;
		if (rel < INT16_MIN || rel > INT16_MAX)
			return diag_error(c->d, c->file, c->line, "jump offset %lld out of range (use ja32)",
					  (long long)rel);
		out->off = (int16_t)rel;
	} else if (TRY(FMT_JA32)) {
		int64_t rel;
		if (want_ops(c, mn, nops, 1) || parse_target(c, ops[0], pc, &rel))
			return -1;
		out->imm = (int32_t)rel;
	} else if (isa_find(m, FMT_JMP_K) != ISA_INVALID) {
		if (want_ops(c, mn, nops, 3))
			return -1;
		uint8_t d;
		int64_t rel;
		if (parse_reg(c, ops[0], &d))
			return -1;
		out->dst = d;
		if (is_reg(ops[1])) {
			uint8_t s;
			op = isa_find(m, FMT_JMP_X);
			if (parse_reg(c, ops[1], &s))
				return -1;
			out->src = s;
		} else {
			op = isa_find(m, FMT_JMP_K);
			if (parse_imm32(c, ops[1], &out->imm))
				return -1;
		}
		if (parse_target(c, ops[2], pc, &rel))
			return -1;
		if (rel < INT16_MIN || rel > INT16_MAX)
			return diag_error(c->d, c->file, c->line, "jump offset %lld out of range", (long long)rel);
		out->off = (int16_t)rel;
	} else {
		return diag_error(c->d, c->file, c->line, "invalid mnemonic '%s'", mn);
	}
#undef TRY
	const struct isa_row *row = &isa_rows[op];
	out->code = row->code;
	switch (row->fmt) {
	case FMT_ALU_SX_K:
	case FMT_ALU_SX_X:
	case FMT_MOVSX: out->off = row->disc; break;
	case FMT_END:
	case FMT_ATOMIC: out->imm = row->disc; break;
	default: break;
	}
	return 0;
}

int asm_program(const struct prog_set *set, struct prog *p, const struct asm_line *lines, int nlines, const char *file,
		struct diag *d)
{
	struct asm_ctx c = {.set = set, .file = file, .d = d};
	c.labels = calloc(MAX_LABELS, sizeof(*c.labels));
	char **texts = calloc((size_t)nlines + 1, sizeof(char *));
	int *tline = calloc((size_t)nlines + 1, sizeof(int));
	int ntexts = 0, pc = 0, rc = -1;
	const char *cb_label = NULL;
	int cb_line = 0;
	char *cb_copy = NULL;
	if (!c.labels || !texts || !tline)
		goto out;

	/* pass 1: labels and slot counts */
	for (int i = 0; i < nlines; i++) {
		char *buf = strdup(lines[i].text);
		if (!buf)
			goto out;
		char *s = strip(buf);
		c.line = lines[i].line;
		size_t ln;
		while ((ln = label_prefix(s)) > 0) {
			if (ln >= sizeof(c.labels[0].name)) {
				free(buf);
				diag_error(d, file, c.line, "label too long");
				goto out;
			}
			s[ln] = 0;
			if (find_label(&c, s) >= 0) {
				diag_error(d, file, c.line, "duplicate label '%s'", s);
				free(buf);
				goto out;
			}
			if (c.nlabels >= MAX_LABELS) {
				diag_error(d, file, c.line, "too many labels");
				free(buf);
				goto out;
			}
			snprintf(c.labels[c.nlabels].name, sizeof(c.labels[0].name), "%s", s);
			c.labels[c.nlabels++].pc = pc;
			s = strip(s + ln + 1);
		}
		if (!*s) {
			free(buf);
			continue;
		}
		if (strncmp(s, ".exception_callback", 19) == 0 && (s[19] == 0 || isspace((unsigned char)s[19]))) {
			free(cb_copy);
			cb_copy = strdup(strip(s + 19));
			cb_label = cb_copy;
			cb_line = c.line;
			free(buf);
			if (!cb_copy || !*cb_copy) {
				diag_error(d, file, cb_line, ".exception_callback needs a label");
				goto out;
			}
			continue;
		}
		if (s[0] == '.' && !(strncmp(s, ".insn", 5) == 0 && isspace((unsigned char)s[5]))) {
			diag_error(d, file, c.line, "unknown directive '%s'", s);
			free(buf);
			goto out;
		}
		texts[ntexts] = buf;
		memmove(buf, s, strlen(s) + 1);
		tline[ntexts++] = c.line;
		pc += strncmp(buf, "lddw", 4) == 0 && (buf[4] == 0 || isspace((unsigned char)buf[4])) ? 2 : 1;
		if (pc > PROG_MAX_INSNS) {
			diag_error(d, file, c.line, "program too large (more than %d instructions)", PROG_MAX_INSNS);
			goto out;
		}
	}
	if (pc == 0) {
		diag_error(d, file, nlines ? lines[0].line : p->line, "program '%s' has no instructions", p->name);
		goto out;
	}
	p->insns = calloc((size_t)pc, sizeof(struct bpf_insn));
	p->lines = calloc((size_t)pc, sizeof(int));
	if (!p->insns || !p->lines)
		goto out;
	p->len = pc;
	c.len = pc;
	/* pass 2: encode */
	pc = 0;
	for (int i = 0; i < ntexts; i++) {
		int n;
		c.line = tline[i];
		struct bpf_insn two[2];
		if (encode(&c, texts[i], pc, two, &n))
			goto out;
		for (int k = 0; k < n; k++) {
			p->insns[pc + k] = two[k];
			p->lines[pc + k] = c.line;
		}
		pc += n;
	}
	p->exception_cb = -1;
	if (cb_label) {
		int t = find_label(&c, cb_label);
		int64_t v;
		if (t < 0 && asm_parse_int(cb_label, &v, NULL) == 0 && v >= 0 && v < p->len)
			t = (int)v;
		if (t < 0) {
			diag_error(d, file, cb_line, "unknown label '%s' for .exception_callback", cb_label);
			goto out;
		}
		p->exception_cb = t;
	}
	rc = 0;
out:
	for (int i = 0; i < ntexts; i++)
		free(texts[i]);
	free(texts);
	free(tline);
	free(c.labels);
	free(cb_copy);
	return rc;
}
