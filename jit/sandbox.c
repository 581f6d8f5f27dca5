/* The sandbox: W^X code mappings, the program's own mmap'd stack with a
 * guard page, signals from JITed code caught on an alternate stack (outcome
 * crash), and the runtime calls JITed code makes, bpf_throw's unwinding
 * among them. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "jit_internal.h"

/* Under ASan, C helpers run on the sandbox stack and poison their frames'
 * redzones in the shadow; frames abandoned by bpf_throw's unwinding never
 * unpoison theirs. The whole sandbox stack is unpoisoned before each run and
 * before each unwinding jump, so stale poison cannot meet a later frame. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SANDBOX_STACK (512u << 10)
#define GUARD 4096u
#define PAINT 0xa5

/* One run in progress on this thread. */
struct jit_run_ctx {
	struct jit_state st;
	struct rt_run rt;
	struct jit_image *img;
	sigjmp_buf env;
	volatile sig_atomic_t active;
	volatile int sig;
	volatile uint64_t sig_rip;
};

static __thread struct jit_run_ctx *cur;
static __thread uint8_t *stack_map; /* guard page, then the stack */
static __thread void *altstack;
/* The painted part of the sandbox stack: [top - painted_window, top) was
 * painted, and the last run touched [top - touched, top) of it. */
static __thread size_t painted_window, touched;

/* The code mapping of the last freed image, kept for the next compile: a
 * fresh mapping costs mmap, munmap and a page fault per page, more than
 * compiling a small set does. It is read-execute while cached; the next
 * compile makes it writable (not executable) to copy its code in. */
static __thread void *spare_map;
static __thread size_t spare_len;

int jit_sandbox_map(struct jit_image *img, const uint8_t *code, size_t len, char *err, size_t errlen)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = (len + page - 1) / page * page;
	void *m = NULL;
	if (spare_map && spare_len >= n && spare_len <= 4 * n + 16 * page) {
		m = spare_map;
		n = spare_len;
		spare_map = NULL;
		if (mprotect(m, n, PROT_READ | PROT_WRITE)) {
			munmap(m, n);
			m = NULL;
		}
	}
	if (!m) {
		m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "JIT: mmap failed");
			return -1;
		}
	}
	memcpy(m, code, len);
	/* never writable and executable at once */
	if (mprotect(m, n, PROT_READ | PROT_EXEC)) {
		munmap(m, n);
		snprintf(err, errlen, "JIT: mprotect failed");
		return -1;
	}
	img->code = m;
	img->code_len = len;
	img->map_len = n;
	return 0;
}

void jit_free(struct jit_image *img)
{
	if (!img)
		return;
	if (img->code) {
		if (!spare_map) {
			spare_map = img->code;
			spare_len = img->map_len;
		} else if (spare_len < img->map_len) {
			munmap(spare_map, spare_len);
			spare_map = img->code;
			spare_len = img->map_len;
		} else {
			munmap(img->code, img->map_len);
		}
	}
	for (int i = 0; i < PROG_MAX_PROGS; i++)
		free(img->progs[i].pc_off);
	free(img);
}

size_t jit_code_size(const struct jit_image *img)
{
	return img->code_len;
}
const uint8_t *jit_code(const struct jit_image *img)
{
	return img->code;
}
long jit_pc_offset(const struct jit_image *img, int prog, int pc)
{
	return img->progs[prog].pc_off[pc];
}

/* The function holding native offset OFF, or -1. */
static int find_func(const struct jit_image *img, uint64_t off, int *prog, int *func)
{
	for (int p = 0; p < img->set->nprogs; p++)
		for (int f = 0; f < img->set->progs[p].nfuncs; f++)
			if (off >= img->progs[p].func_entry[f] && off < img->progs[p].func_end[f]) {
				*prog = p;
				*func = f;
				return 0;
			}
	return -1;
}

/* The BPF pc whose code holds native offset OFF. */
static int find_pc(const struct jit_image *img, uint64_t off, int *prog)
{
	int f;
	if (find_func(img, off, prog, &f))
		return -1;
	const struct prog *p = &img->set->progs[*prog];
	int best = -1;
	for (int pc = p->funcs[f].start; pc < p->funcs[f].end; pc++)
		if ((uint64_t)img->progs[*prog].pc_off[pc] <= off)
			best = pc;
	return best;
}

typedef void (*resume_fn)(uint64_t rsp, uint64_t rbp, uint64_t value, uint64_t target, struct jit_state *st);

static void resume(uint64_t rsp, uint64_t rbp, uint64_t value, uint64_t target)
{
	resume_fn fn = (resume_fn)(void *)(cur->img->code + cur->img->resume_off);
	UNPOISON(stack_map + GUARD, SANDBOX_STACK);
	fn(rsp, rbp, value, target, &cur->st); /* does not come back */
}

/* The run must stop: something the verifier should have excluded happened. */
static void stop_escape(void)
{
	cur->st.status = JIT_STOP_ESCAPE;
	resume(0, 0, 0, (uint64_t)(uintptr_t)(cur->img->code + cur->img->stop_off));
	abort();
}

uint64_t jit_helper_trace(uint64_t v)
{
	return rt_trace(&cur->rt, v);
}
uint64_t jit_helper_acquire(uint64_t kind)
{
	return rt_res_acquire(&cur->rt, kind);
}

uint64_t jit_helper_release(uint64_t h)
{
	uint64_t r = rt_res_release(&cur->rt, h);
	if (cur->rt.bad_handle)
		stop_escape();
	return r;
}

uint64_t jit_helper_id(uint64_t h)
{
	uint64_t r = rt_res_id(&cur->rt, h);
	if (cur->rt.bad_handle)
		stop_escape();
	return r;
}

/* bpf_throw (SPEC sec. 6): walks the JIT's own frames through the rbp chain
 * to the boundary (the frame of the running program's main), destroys the
 * held resources, then lands either in the boundary's epilogue with
 * rax = cookie, or in its exception callback in place of the boundary frame.
 * Callee-saved registers come back from the boundary frame's save area. */
void jit_helper_throw(uint64_t cookie, uint64_t rbp, uint64_t desc)
{
	const struct jit_image *img = cur->img;
	const struct prog_set *set = img->set;
	int prog = (int)(desc / PROG_MAX_FUNCS), func = (int)(desc % PROG_MAX_FUNCS);
	while (func != 0) {
		cur->st.cur_stack -= (uint32_t)set->progs[prog].funcs[func].cost;
		cur->st.depth--;
		uint64_t ret = *(uint64_t *)(uintptr_t)(rbp + 8);
		rbp = *(uint64_t *)(uintptr_t)rbp;
		if (ret < (uint64_t)(uintptr_t)img->code ||
		    find_func(img, ret - (uint64_t)(uintptr_t)img->code, &prog, &func)) {
			stop_escape();
			abort();
		}
	}
	uint64_t ret = *(uint64_t *)(uintptr_t)(rbp + 8);
	if (ret == (uint64_t)(uintptr_t)(img->code + img->ret_point_off))
		cur->st.thrown = 1;
	rt_throw_cleanup(&cur->rt);
	const struct prog *p = &set->progs[prog];
	uint64_t save_area = rbp - (uint64_t)p->funcs[0].cost - 32;
	if (p->exception_cb >= 0) {
		cur->st.cur_stack -= (uint32_t)p->funcs[0].cost;
		if (cur->st.depth < RT_MAX_FRAMES_MODEL)
			cur->st.pass = cur->st.frame_tcc[cur->st.depth];
		cur->st.depth--;
		resume(save_area, rbp, cookie, (uint64_t)(uintptr_t)(img->code + img->progs[prog].cb_landing));
		abort();
	}
	resume(save_area, rbp, cookie, (uint64_t)(uintptr_t)(img->code + img->progs[prog].func_epilogue[0]));
	abort();
}

static void on_signal(int sig, siginfo_t *si, void *uc_)
{
	(void)si;
	if (!cur || !cur->active) {
		/* not ours: the default action */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	ucontext_t *uc = uc_;
	cur->sig = sig;
	cur->sig_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	cur->active = 0;
	siglongjmp(cur->env, 1);
}

static int sandbox_init(char *err, size_t errlen)
{
	if (stack_map)
		return 0;
	void *m = mmap(NULL, SANDBOX_STACK + GUARD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "sandbox: mmap failed");
		return -1;
	}
	mprotect(m, GUARD, PROT_NONE); /* the guard page below the stack */
	stack_map = m;
	altstack = malloc(1 << 16);
	stack_t ss = {.ss_sp = altstack, .ss_size = 1 << 16};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	return 0;
}

/* Bytes below the stack's top that the run touched: the lowest unpainted
 * byte of the painted window (a page at a time, then byte by byte). */
static __attribute__((noinline)) uint64_t scan_paint(const uint8_t *lo, const uint8_t *top)
{
	static uint8_t painted_page[4096];
	if (!painted_page[0])
		memset(painted_page, PAINT, sizeof(painted_page));
	const uint8_t *s = lo;
	while (s + sizeof(painted_page) <= top && memcmp(s, painted_page, sizeof(painted_page)) == 0)
		s += sizeof(painted_page);
	for (; s < top; s++)
		if (*s != PAINT)
			return (uint64_t)(top - s);
	return 0;
}

/* The part of the sandbox stack a run can reach: its BPF frames (the static
 * bound), the JIT's 48 bytes per frame for at most 8 + 33 * 7 live frames,
 * and the C helpers' frames; painted before the run, scanned after. */
static size_t paint_window(const struct prog_set *set)
{
	size_t w = (size_t)set->static_stack_bound + (MAX_CALL_FRAMES + MAX_TAIL_CALL_CNT * 7) * 64 + (16u << 10);
	w = (w + 4095) / 4096 * 4096;
	return w < SANDBOX_STACK ? w : SANDBOX_STACK;
}

typedef uint64_t (*enter_fn)(struct jit_state *st, void *ctx, uint64_t len, void *entry, void *stack_top);

int jit_run(struct jit_image *img, struct outcome *out)
{
	char err[64];
	if (sandbox_init(err, sizeof(err))) {
		out->kind = OUTCOME_CRASH;
		return -1;
	}
	const struct prog_set *set = img->set;
	struct jit_run_ctx *c = calloc(1, sizeof(*c));
	uint8_t *ctx = calloc(1, set->mem_len ? set->mem_len : 1);
	if (!c || !ctx) {
		free(c);
		free(ctx);
		out->kind = OUTCOME_CRASH;
		return -1;
	}
	if (set->mem_len)
		memcpy(ctx, set->mem, set->mem_len);
	outcome_free(out);
	outcome_init(out);
	c->img = img;
	rt_run_init(&c->rt, set, out);
	uint8_t *lo = stack_map + GUARD, *top = lo + SANDBOX_STACK;
	c->st.budget = set->budget;
	c->st.ctx = (uint64_t)(uintptr_t)ctx;
	c->st.ctx_len = set->mem_len;
	c->st.stack_lo = (uint64_t)(uintptr_t)lo;
	c->st.stack_hi = (uint64_t)(uintptr_t)top;
	for (int i = 0; i < set->nprogs; i++)
		c->st.bodies[i] = (uint64_t)(uintptr_t)(img->code + img->progs[i].func_body[0]);
	UNPOISON(lo, SANDBOX_STACK);
	size_t window = paint_window(set);
	/* painted, scanned after the run; below what the last run touched the
	 * last window is still paint, so only the touched part is repainted */
	if (window <= painted_window)
		memset(top - touched, PAINT, touched);
	else
		memset(top - window, PAINT, window);
	painted_window = window;
	touched = window;
	cur = c;
	enter_fn enter = (enter_fn)(void *)img->code;
	uint64_t r0 = 0;
	if (sigsetjmp(c->env, 1) == 0) {
		c->active = 1;
		r0 = enter(&c->st, ctx, set->mem_len, img->code + img->progs[0].func_entry[0], top);
		c->active = 0;
		switch (c->st.status) {
		case JIT_RUNNING:
			out->kind = c->st.thrown ? OUTCOME_THROW : OUTCOME_EXIT;
			out->r0 = r0;
			break;
		case JIT_STOP_BUDGET:
			out->kind = OUTCOME_BUDGET;
			out->fault_prog = c->st.stop_prog;
			out->fault_pc = c->st.stop_pc;
			break;
		case JIT_STOP_CTX_READ:
		case JIT_STOP_CTX_WRITE:
			out->kind = OUTCOME_FAULT;
			out->fault = c->st.status == JIT_STOP_CTX_READ ? FAULT_CTX_READ : FAULT_CTX_WRITE;
			out->fault_prog = c->st.stop_prog;
			out->fault_pc = c->st.stop_pc;
			break;
		default:
			out->kind = OUTCOME_VERIFIER_ESCAPE;
			out->fault = FAULT_BAD_POINTER;
			break;
		}
	} else {
		out->kind = OUTCOME_CRASH;
		out->fault = FAULT_SIGNAL;
		uint64_t rip = c->sig_rip, base = (uint64_t)(uintptr_t)img->code;
		int prog = -1, pc = -1;
		if (rip >= base && rip < base + img->code_len)
			pc = find_pc(img, rip - base, &prog);
		out->fault_prog = prog;
		out->fault_pc = pc;
	}
	cur = NULL;
	out->tail_calls = c->st.tail_calls;
	out->stack_hwm = c->st.stack_hwm;
	UNPOISON(lo, SANDBOX_STACK);
	out->native_stack_hwm = scan_paint(top - window, top);
	touched = out->native_stack_hwm;
	out->context = ctx;
	out->context_len = set->mem_len;
	free(c);
	return 0;
}
