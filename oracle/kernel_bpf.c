#include "kernel_bpf.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int probed; /* 0: not yet, 1: works, -1: does not */
static char probe_why[256];
static struct btf *vmlinux;

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int kbpf_probe(char *why, size_t len)
{
	if (!probed) {
		libbpf_set_print(silent);
		/* mov r0, 0; exit */
		static const struct bpf_insn ok[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K},
						     {.code = BPF_JMP | BPF_EXIT}};
		LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_SLEEPABLE);
		int fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "bpfdiff_probe", "GPL", ok, 2, &o);
		if (fd < 0) {
			snprintf(probe_why, sizeof(probe_why), "bpf() cannot load a syscall program here: %s",
				 strerror(errno));
			probed = -1;
		} else {
			uint32_t retval = 1;
			uint8_t ctx[8] = {0};
			if (kbpf_test_run(fd, ctx, sizeof(ctx), &retval) || retval != 0) {
				snprintf(probe_why, sizeof(probe_why), "BPF_PROG_TEST_RUN fails here: %s",
					 strerror(errno));
				probed = -1;
			} else
				probed = 1;
			close(fd);
		}
	}
	if (probed < 0)
		snprintf(why, len, "%s", probe_why);
	return probed > 0 ? 0 : -1;
}

int kbpf_kfunc_id(const char *name)
{
	if (!vmlinux) {
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux || libbpf_get_error(vmlinux)) {
			vmlinux = NULL;
			return -1;
		}
	}
	int id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC);
	return id > 0 ? id : -1;
}

int kbpf_prog_array(int nslots)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bpfdiff_pa", 4, 4, (uint32_t)nslots, NULL);
	return fd < 0 ? -errno : fd;
}

int kbpf_array_set(int map_fd, int slot, int prog_fd)
{
	uint32_t key = (uint32_t)slot, val = (uint32_t)prog_fd;
	return bpf_map_update_elem(map_fd, &key, &val, BPF_ANY) ? -errno : 0;
}

/* The least BTF a tail call in a subprogram needs: an int, a prototype
 * returning it, one static FUNC per function, and func_info naming them. */
static int load_btf(const struct kbpf_prog *p, struct bpf_func_info *fi)
{
	struct btf *b = btf__new_empty();
	if (!b)
		return -ENOMEM;
	int rc = -EINVAL;
	int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int proto = int_id > 0 ? btf__add_func_proto(b, int_id) : -1;
	for (int i = 0; proto > 0 && i < p->nfuncs; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		int id = btf__add_func(b, name, BTF_FUNC_STATIC, proto);
		if (id <= 0)
			goto out;
		fi[i].insn_off = (uint32_t)p->func_starts[i];
		fi[i].type_id = (uint32_t)id;
	}
	if (proto <= 0 || btf__load_into_kernel(b))
		goto out;
	rc = dup(btf__fd(b));
	if (rc < 0)
		rc = -errno;
out:
	btf__free(b);
	return rc;
}

/* The verifier's log ends with the reason: keep its last lines. */
static void last_lines(const char *log, char *out, size_t len)
{
	size_t n = strlen(log);
	while (n && (log[n - 1] == '\n' || log[n - 1] == ' '))
		n--;
	size_t start = n;
	for (int lines = 0; start > 0 && lines < 2; start--)
		if (log[start - 1] == '\n' && ++lines == 2)
			break;
	snprintf(out, len, "%.*s", (int)(n - start), log + start);
	for (char *c = out; *c; c++)
		if (*c == '\n')
			*c = ' ';
}

int kbpf_prog_load(const struct kbpf_prog *p, char *log, size_t loglen)
{
	struct bpf_func_info *fi = calloc((size_t)(p->nfuncs ? p->nfuncs : 1), sizeof(*fi));
	char *vlog = malloc(1 << 20);
	if (!fi || !vlog) {
		free(fi);
		free(vlog);
		snprintf(log, loglen, "out of memory");
		return -ENOMEM;
	}
	int btf_fd = load_btf(p, fi);
	if (btf_fd < 0) {
		snprintf(log, loglen, "cannot load the program's BTF: %s", strerror(-btf_fd));
		free(fi);
		free(vlog);
		return btf_fd;
	}
	vlog[0] = 0;
	/* syscall programs must be sleepable (and then cannot use prog arrays) */
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_SLEEPABLE, .prog_btf_fd = (uint32_t)btf_fd,
		    .func_info = fi, .func_info_cnt = (uint32_t)p->nfuncs, .func_info_rec_size = sizeof(*fi),
		    .log_buf = vlog, .log_size = 1 << 20, .log_level = 0);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, p->name, "GPL", p->insns, (size_t)p->len, &o);
	int err = errno;
	if (fd < 0 && !vlog[0]) {
		/* log_level 0 keeps only the error; ask again with the log on */
		o.log_level = 1;
		fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, p->name, "GPL", p->insns, (size_t)p->len, &o);
		err = errno;
	}
	if (fd < 0) {
		if (vlog[0])
			last_lines(vlog, log, loglen);
		else
			snprintf(log, loglen, "%s", strerror(err));
	}
	close(btf_fd);
	free(fi);
	free(vlog);
	return fd < 0 ? -err : fd;
}

int kbpf_test_run(int prog_fd, void *ctx, uint32_t ctx_len, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = ctx, .ctx_size_in = ctx_len);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*retval = o.retval;
	return 0;
}

void kbpf_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
