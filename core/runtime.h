/* Calls into the runtime (SPEC.md sec. 3): the helper and kfunc table, and
 * the per-run state behind them (resource pools, handles, destructor log,
 * trace). Both engines call these same functions: they are the machine's
 * runtime, not engine arithmetic. */
#ifndef BPFDIFF_RUNTIME_H
#define BPFDIFF_RUNTIME_H

#include <stdint.h>

#include "outcome.h"
#include "prog.h"

/* X(ID, KFUNC?, NUMBER, NAME) */
#define RUNTIME_CALL_TABLE(X)                   \
	X(TAIL_CALL, 0, 12, "bpf_tail_call")    \
	X(TRACE, 0, 200, "bpf_trace")           \
	X(THROW, 1, 1, "bpf_throw")             \
	X(RES_ACQUIRE, 1, 2, "bpf_res_acquire") \
	X(RES_RELEASE, 1, 3, "bpf_res_release") \
	X(RES_ID, 1, 4, "bpf_res_id")

enum rt_call {
#define RT_ENUM(id, kf, num, name) RT_##id,
	RUNTIME_CALL_TABLE(RT_ENUM)
#undef RT_ENUM
	    RT_NUM_CALLS,
	RT_UNKNOWN = -1,
};

struct rt_call_row {
	const char *name;
	int is_kfunc;
	int32_t number;
};
extern const struct rt_call_row rt_calls[RT_NUM_CALLS];

/* The call an instruction names (kfunc: src == 2), or RT_UNKNOWN. */
int rt_call_lookup(int is_kfunc, int32_t number);
int rt_call_by_name(const char *name);

#define RT_MAX_LIVE (RES_KINDS * RES_MAX_POOL)

struct rt_handle {
	uint32_t id; /* 0: slot free */
	uint8_t kind;
};

/* One run's runtime state. */
struct rt_run {
	const struct prog_set *set;
	struct outcome *out;
	int pool_live[RES_KINDS];
	uint32_t next_id;
	int nlive;
	struct rt_handle handles[RT_MAX_LIVE];
	int bad_handle; /* set when an engine passed something that is no live handle */
};

void rt_run_init(struct rt_run *rt, const struct prog_set *set, struct outcome *out);
/* Kfuncs and helpers. Handles are addresses of rt->handles entries. */
uint64_t rt_res_acquire(struct rt_run *rt, uint64_t kind);
uint64_t rt_res_release(struct rt_run *rt, uint64_t handle);
uint64_t rt_res_id(struct rt_run *rt, uint64_t handle);
uint64_t rt_trace(struct rt_run *rt, uint64_t value);
/* bpf_throw's cleanup: destroy every live handle, highest id first. */
void rt_throw_cleanup(struct rt_run *rt);

#endif
