/* The running kernel's BPF, through libbpf, behind plain types: libbpf's
 * headers bring linux/bpf.h, whose macros (BPF_LD, BPF_PSEUDO_CALL...) clash
 * with core/isa.h, so only kernel_bpf.c includes them. */
#ifndef BPFDIFF_KERNEL_BPF_H
#define BPFDIFF_KERNEL_BPF_H

#include <stddef.h>
#include <stdint.h>

/* 0 when bpf() loads and runs a sleepable BPF_PROG_TYPE_SYSCALL program
 * here; else -1 and WHY (one line). The answer is kept. */
int kbpf_probe(char *why, size_t len);

/* The vmlinux BTF id of kfunc NAME, or -1. */
int kbpf_kfunc_id(const char *name);

/* A BPF_MAP_TYPE_PROG_ARRAY of NSLOTS slots: its fd, or -errno. */
int kbpf_prog_array(int nslots);
/* Puts program PROG_FD in SLOT of the prog array MAP_FD: 0 or -errno. */
int kbpf_array_set(int map_fd, int slot, int prog_fd);

/* A program to load: raw 8-byte instructions (the kernel's struct bpf_insn
 * layout), and where each of its functions starts (for BTF func_info,
 * which a tail call in a subprogram needs). */
struct kbpf_prog {
	const char *name;
	const void *insns;
	int len;
	const int *func_starts;
	int nfuncs;
};
/* Loads P as a sleepable BPF_PROG_TYPE_SYSCALL program (license GPL; the
 * kernel requires sleepable for the type, and then refuses prog arrays): its
 * fd, or -errno with the verifier's log, last lines first, in LOG. */
int kbpf_prog_load(const struct kbpf_prog *p, char *log, size_t loglen);

/* BPF_PROG_TEST_RUN with CTX as ctx_in (the kernel writes it back):
 * 0 and the 32-bit RETVAL, or -errno. */
int kbpf_test_run(int prog_fd, void *ctx, uint32_t ctx_len, uint32_t *retval);

void kbpf_close(int fd);

#endif
