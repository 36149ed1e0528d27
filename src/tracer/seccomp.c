/*
 * Seccomp filters.  The launch filter stops the tracee only at the
 * syscalls the handlers want (SECCOMP_RET_TRACE).  Reads and writes are
 * special: they are traced only for the fd numbers known to be sockets,
 * so a program reading files runs at full speed.  That set grows as
 * sockets appear; each growth stacks one more filter (the kernel runs
 * them all and the strictest verdict wins, so a later filter can only add
 * traced fds, which is all we need).  Receives have a set of their own:
 * a socket whose peer is traced too needs no stop for them (the peer's
 * sends record its bytes), so its fd may be left out of that one.
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

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

/* "args[0] is one of fds": TRACE, else ALLOW.  Runs of consecutive fds
 * take one range test. */
static size_t fd_block(struct sock_filter *f, size_t i, const int *fds,
		       size_t nfds, bool all)
{
	/* the fd: the low 32 bits of args[0] (the kernel takes an int) */
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, args[0]));
	if (all) {
		f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
		return i;
	}
	for (size_t k = 0; k < nfds; ) {
		unsigned lo = (unsigned)fds[k], hi = lo;

		while (k + 1 < nfds && (unsigned)fds[k + 1] == hi + 1)
			hi = (unsigned)fds[++k];
		k++;
		if (lo == hi) {
			f[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo, 0, 1);
		} else {
			f[i++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 2);
			f[i++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 1, 0);
		}
		f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	}
	f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return i;
}

/*
 * Every "traced" branch is a conditional jump over one RET TRACE right
 * after it, and the fd calls jump (unconditionally, 32-bit offsets) to
 * one of two fd tests, so no jump offset depends on the program's length
 * (BPF's conditional offsets are 8 bits).  Sends test fds, receives rfds.
 */
int st_seccomp_build(const struct st_filter_spec *spec, bool base,
		     struct sock_filter **out, size_t *outlen)
{
	size_t nj = spec->nfd_nrs + spec->nrfd_nrs;
	size_t cap = 10 + 2 * spec->nnrs + 2 * nj +
		     3 * (spec->nfds + spec->nrfds);
	struct sock_filter *f;
	size_t i = 0, jumps[64], wblock, rblock;

	if (cap > BPF_MAXINSNS || nj > 64)
		return -E2BIG;
	f = calloc(cap, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, arch));
	f[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ST_AUDIT_ARCH, 1, 0);
	/* a foreign ABI stops in the base filter: the tracer says it is
	 * not decoded instead of letting it pass unseen */
	f[i++] = STMT(BPF_RET | BPF_K, base ? SECCOMP_RET_TRACE
					    : SECCOMP_RET_ALLOW);
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, nr));
	for (size_t k = 0; k < spec->nnrs; k++) {
		f[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			      (unsigned)spec->nrs[k], 0, 1);
		f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	}
	for (size_t k = 0; k < nj; k++) {
		long nr = k < spec->nfd_nrs ? spec->fd_nrs[k]
					    : spec->rfd_nrs[k - spec->nfd_nrs];

		f[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
		jumps[k] = i;
		f[i++] = STMT(BPF_JMP | BPF_JA, 0);	/* patched below */
	}
	f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	wblock = i;
	i = fd_block(f, i, spec->fds, spec->nfds, spec->trace_all_fds);
	rblock = i;
	i = fd_block(f, i, spec->rfds, spec->nrfds, spec->trace_all_fds);
	for (size_t k = 0; k < nj; k++)
		f[jumps[k]].k = (unsigned)((k < spec->nfd_nrs ? wblock : rblock) -
					   jumps[k] - 1);
	*out = f;
	*outlen = i;
	return 0;
}

int st_seccomp_install(const struct st_filter_spec *spec)
{
	struct sock_filter *f;
	struct sock_fprog prog;
	size_t len;
	int rc = st_seccomp_build(spec, true, &f, &len);

	if (rc < 0)
		return rc;
	prog.len = (unsigned short)len;
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
