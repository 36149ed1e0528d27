/*
 * The launch filter: only the syscalls the handlers want stop the tracee
 * (SECCOMP_RET_TRACE); everything else runs at full speed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch/arch.h"
#include "tracer/tracer_int.h"

int st_seccomp_install(const long *nrs, size_t n)
{
	/* 4 header insns + one compare per syscall + 2 returns */
	size_t len = 6 + n, i = 0;
	struct sock_filter *f = calloc(len, sizeof(*f));
	struct sock_fprog prog;
	int rc = 0;

	if (!f)
		return -ENOMEM;
	if (n > 250) {
		free(f);
		return -E2BIG;	/* jump offsets are 8 bits */
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, arch));
	/* A foreign ABI is always traced: the tracer says it is not
	 * decoded instead of letting it pass unseen. */
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		ST_AUDIT_ARCH, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_TRACE);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
	for (size_t k = 0; k < n; k++) {
		/* on a match jump to the TRACE return after the list */
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			(unsigned)nrs[k], (unsigned char)(n - k), 0);
		i++;
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ALLOW);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_TRACE);
	prog.len = (unsigned short)i;
	prog.filter = f;
	/* Without CAP_SYS_ADMIN the kernel requires no_new_privs; root
	 * goes without, so setuid and file-capability programs still work. */
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		free(f);
		return rc;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		rc = -errno;
	free(f);
	return rc;
}
