/*
 * Reads and writes filtered by fd.  The launch filter traces read, write
 * and their kin only for fds known to be sockets.  When a socket shows up
 * on a new fd number, the stopped thread is made to run one more
 * seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) with a filter covering the
 * grown set, then put back exactly as it was.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "tracer/tracer_int.h"

/* Past these, precision is not worth more filters: every fd is traced. */
#define MAX_FILTERS 12
#define MAX_FDS 192	/* entries of both lists */
#define ST_FILTER_PAGE 8192

struct st_fdset *st_fdset_get(struct st_tracer *t, pid_t tgid, bool create)
{
	struct st_fdset *s;

	for (s = t->fdsets; s; s = s->next)
		if (s->tgid == tgid)
			return s;
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tgid = tgid;
	s->next = t->fdsets;
	t->fdsets = s;
	return s;
}

struct st_fdset *st_fdset_copy(struct st_tracer *t, pid_t tgid,
			       const struct st_fdset *from)
{
	struct st_fdset *s = st_fdset_get(t, tgid, true);

	if (!s || !from || s == from)
		return s;
	s->n = s->rn = 0;
	for (size_t i = 0; i < from->n; i++)
		st_fdset_add(s, from->fds[i], false);
	for (size_t i = 0; i < from->rn; i++)
		st_fdset_add(s, from->rfds[i], true);
	s->filters = from->filters;
	s->all = from->all;
	s->scratch = from->scratch;	/* fork copies the mapping */
	return s;
}

void st_fdset_drop(struct st_tracer *t, pid_t tgid)
{
	struct st_fdset **pp;

	for (pp = &t->fdsets; *pp; pp = &(*pp)->next) {
		if ((*pp)->tgid == tgid) {
			struct st_fdset *s = *pp;

			*pp = s->next;
			free(s->fds);
			free(s->rfds);
			free(s);
			return;
		}
	}
}

static bool sorted_has(const int *v, size_t n, int fd)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] == fd)
			return true;
		if (v[mid] < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* 1 when added, 0 when there already, -ENOMEM */
static int sorted_add(int **v, size_t *n, size_t *cap, int fd)
{
	size_t i;

	if (sorted_has(*v, *n, fd))
		return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		int *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	for (i = *n; i > 0 && (*v)[i - 1] > fd; i--)
		(*v)[i] = (*v)[i - 1];
	(*v)[i] = fd;
	(*n)++;
	return 1;
}

bool st_fdset_receives_stop(const struct st_fdset *s, int fd)
{
	return s->all || sorted_has(s->rfds, s->rn, fd);
}

int st_fdset_add(struct st_fdset *s, int fd, bool reads)
{
	int rc, grown;

	if (fd < 0 || s->all)
		return 0;
	grown = rc = sorted_add(&s->fds, &s->n, &s->cap, fd);
	if (rc >= 0 && reads) {
		rc = sorted_add(&s->rfds, &s->rn, &s->rcap, fd);
		grown |= rc;
	}
	return rc < 0 ? rc : grown > 0;
}

static int poke(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	/* process_vm_writev honours page protections: fall back to ptrace */
	for (size_t off = 0; off < len; off += sizeof(long)) {
		long word = 0;
		size_t n = len - off < sizeof(long) ? len - off : sizeof(long);

		if (n < sizeof(long)) {
			errno = 0;
			word = ptrace(PTRACE_PEEKDATA, tid, addr + off, 0);
			if (errno)
				return -errno;
		}
		memcpy(&word, (const char *)buf + off, n);
		if (ptrace(PTRACE_POKEDATA, tid, addr + off, word) < 0)
			return -errno;
	}
	return 0;
}

/* Runs the thread until the injected call's exit; signals that arrive
 * meanwhile are held and raised again once the thread is restored. */
static int run_injected(pid_t tid, int *held, bool *gone, int *gone_status)
{
	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return -errno;
	for (;;) {
		struct __ptrace_syscall_info info;
		int ws, sig;

		if (waitpid(tid, &ws, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(ws) || WIFSIGNALED(ws)) {
			*gone = true;
			*gone_status = ws;
			return -ESRCH;
		}
		sig = WSTOPSIG(ws);
		if (sig == (SIGTRAP | 0x80)) {
			memset(&info, 0, sizeof(info));
			ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info),
			       &info);
			if (info.op == PTRACE_SYSCALL_INFO_EXIT)
				return 0;
		} else if (((unsigned)ws >> 16) == 0 && sig != SIGTRAP) {
			*held = sig;	/* a signal-delivery-stop: hold it */
		}
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return -errno;
	}
}

/* Makes the stopped thread run one syscall, then puts it back. */
static int inject(struct st_thread *th, long nr, const uint64_t args[6],
		  long *ret, bool *gone, int *gone_status)
{
	struct st_arch_regs saved;
	uint64_t unused;
	int held = 0, rc;

	rc = st_arch_inject_prepare(th->tid, &saved, &unused, 0);
	if (!rc)
		rc = st_arch_inject_load(th->tid, &saved, nr, args);
	if (!rc)
		rc = run_injected(th->tid, &held, gone, gone_status);
	if (*gone)
		return -ESRCH;
	if (!rc)
		rc = st_arch_inject_result(th->tid, ret);
	/* put the thread back, whatever happened */
	if (st_arch_restore(th->tid, &saved) < 0 && !rc)
		rc = -EIO;
	if (held)
		syscall(SYS_tgkill, th->tgid, th->tid, held);
	return rc;
}

/*
 * The filter program needs a home in the tracee's memory.  The stack is
 * no place for it (a goroutine's stack may end just below its pointer),
 * so one private page is mapped once per process image and reused.
 */
static int scratch_page(struct st_thread *th, struct st_fdset *set,
			bool *gone, int *gone_status)
{
	uint64_t args[6] = { 0, ST_FILTER_PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	long ret = -1;
	int rc;

	if (set->scratch)
		return 0;
	rc = inject(th, SYS_mmap, args, &ret, gone, gone_status);
	if (rc < 0)
		return rc;
	if (ret < 0 && ret > -4096)
		return (int)ret;
	set->scratch = (uint64_t)ret;
	return 0;
}

void st_fdfilter_spec(const struct st_tracer *t, const struct st_fdset *set,
		      struct st_filter_spec *spec)
{
	spec->fd_nrs = t->hooks.fd_nrs;
	spec->nfd_nrs = t->hooks.nfd_nrs;
	spec->fds = set->fds;
	spec->nfds = set->n;
	spec->rfd_nrs = t->hooks.rfd_nrs;
	spec->nrfd_nrs = t->hooks.nrfd_nrs;
	spec->rfds = set->rfds;
	spec->nrfds = set->rn;
}

int st_fdfilter_inject(struct st_tracer *t, struct st_thread *th,
		       struct st_fdset *set, bool *gone, int *gone_status)
{
	struct st_filter_spec spec = { 0 };
	struct sock_filter *prog;
	struct sock_fprog fprog;
	uint64_t args[6] = { 0 };
	size_t insns;
	long ret = -1;
	int rc;

	*gone = false;
	st_fdfilter_spec(t, set, &spec);
	if (set->filters + 1 >= MAX_FILTERS || set->n + set->rn > MAX_FDS)
		spec.trace_all_fds = true;
	rc = scratch_page(th, set, gone, gone_status);
	if (rc < 0)
		return rc;
	rc = st_seccomp_build(&spec, false, &prog, &insns);
	if (rc < 0)
		return rc;
	if (sizeof(fprog) + insns * sizeof(*prog) > ST_FILTER_PAGE) {
		free(prog);
		return -E2BIG;
	}
	fprog.len = (unsigned short)insns;
	fprog.filter = (struct sock_filter *)(uintptr_t)(set->scratch +
							  sizeof(fprog));
	rc = poke(th->tid, set->scratch, &fprog, sizeof(fprog));
	if (!rc)
		rc = poke(th->tid, set->scratch + sizeof(fprog), prog,
			  insns * sizeof(*prog));
	free(prog);
	if (rc < 0)
		return rc;
	args[0] = SECCOMP_SET_MODE_FILTER;
	args[1] = SECCOMP_FILTER_FLAG_TSYNC;
	args[2] = set->scratch;
	rc = inject(th, SYS_seccomp, args, &ret, gone, gone_status);
	if (rc < 0)
		return rc;
	if (ret != 0)	/* -errno, or the tid TSYNC could not sync */
		return ret < 0 ? (int)ret : -EBUSY;
	set->filters++;
	if (spec.trace_all_fds)
		set->all = true;
	return 0;
}
