/*
 * Socket details from a pidfd_getfd() copy of the tracee's fd: the copy
 * is the very same open file, so getsockname/getpeername/getsockopt answer
 * exactly as they would in the tracee, in whatever namespace the socket
 * lives.  The copy is closed at once (the tracee's reference keeps the
 * socket alive).  pidfd_getfd needs PTRACE_MODE_ATTACH rights, which the
 * tracer has; when it is refused or missing we fall back to /proc and
 * sock_diag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include "resolve/resolve_internal.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* Linux 6.9: a pidfd for one thread */
#endif

#define PIDFD_CACHE_SIZE 32

struct pidfd_ent {
	pid_t pid;		/* 0: free slot */
	int fd;
	uint64_t stamp;		/* last use, for LRU eviction */
};

static struct pidfd_ent pidfd_cache[PIDFD_CACHE_SIZE];
static uint64_t pidfd_clock;
static bool pidfd_off;		/* st_resolve_use_pidfd(false) */
static bool pidfd_missing;	/* the kernel said ENOSYS */

void st_resolve_use_pidfd(bool on)
{
	pidfd_off = !on;
}

static int sys_pidfd_open(pid_t pid, unsigned flags)
{
	/* pidfds are always close-on-exec */
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/* A new pidfd for pid, which may be a thread id. */
static int open_pidfd(pid_t pid)
{
	pid_t tgid;
	int fd;

	fd = sys_pidfd_open(pid, 0);
	if (fd >= 0)
		return fd;
	/* EINVAL (older kernels) or ENOENT (6.9+): not a thread-group
	 * leader.  Then a thread pidfd (6.9+), else the leader, whose fd
	 * table the thread almost always shares. */
	if (errno != EINVAL && errno != ENOENT)
		return -errno;
	fd = sys_pidfd_open(pid, PIDFD_THREAD);
	if (fd >= 0)
		return fd;
	tgid = st_resolve_proc_tgid(pid);
	if (tgid < 0)
		return tgid;
	if (tgid == pid)
		return -EINVAL;
	fd = sys_pidfd_open(tgid, 0);
	return fd >= 0 ? fd : -errno;
}

static void cache_drop(struct pidfd_ent *e)
{
	close(e->fd);
	memset(e, 0, sizeof(*e));
}

/* The cached pidfd of pid, opened if needed. */
static int get_pidfd(pid_t pid)
{
	struct pidfd_ent *slot = NULL;
	unsigned i;
	int fd;

	for (i = 0; i < PIDFD_CACHE_SIZE; i++) {
		struct pidfd_ent *e = &pidfd_cache[i];

		if (e->pid == pid) {
			e->stamp = ++pidfd_clock;
			return e->fd;
		}
		if (!slot || (slot->pid && (!e->pid || e->stamp < slot->stamp)))
			slot = e;
	}
	fd = open_pidfd(pid);
	if (fd < 0)
		return fd;
	if (slot->pid)
		cache_drop(slot);
	slot->pid = pid;
	slot->fd = fd;
	slot->stamp = ++pidfd_clock;
	return fd;
}

void st_resolve_forget_pid(pid_t pid)
{
	unsigned i;

	if (pid <= 0)
		return;
	for (i = 0; i < PIDFD_CACHE_SIZE; i++)
		if (pidfd_cache[i].pid == pid)
			cache_drop(&pidfd_cache[i]);
}

void st_resolve_cleanup(void)
{
	unsigned i;

	for (i = 0; i < PIDFD_CACHE_SIZE; i++)
		if (pidfd_cache[i].pid)
			cache_drop(&pidfd_cache[i]);
	pidfd_clock = 0;
	st_diag_cleanup();
}

/*
 * A close-on-exec copy of fd from pid, or -errno.  -ENOSYS and -EPERM
 * mean "use the fallback".
 */
static int copy_fd(pid_t pid, int fd)
{
	int pidfd, c, tries;

	if (pid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	if (pidfd_off || pidfd_missing)
		return -ENOSYS;
	for (tries = 0; tries < 2; tries++) {
		pidfd = get_pidfd(pid);
		if (pidfd < 0) {
			if (pidfd == -ENOSYS)
				pidfd_missing = true;
			return pidfd;
		}
		c = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (c >= 0)
			return c;
		switch (errno) {
		case ESRCH:
			/* The cached pidfd may be of a process that died
			 * and whose pid was reused: try a fresh one. */
			st_resolve_forget_pid(pid);
			continue;
		case ENOSYS:
			pidfd_missing = true;
			return -ENOSYS;
		case EBADF:
			/* also what a zombie (no fd table) answers */
			return st_resolve_proc_gone(pid) ? -ESRCH : -EBADF;
		case EACCES:
			return -EPERM;
		default:
			return -errno;
		}
	}
	return -ESRCH;
}

static int sockopt_int(int s, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(s, SOL_SOCKET, opt, &v, &len) < 0 ||
	    len != sizeof(v))
		return 0;
	return v;
}

/* name: getsockname (peer false) or getpeername; AF_UNSPEC on failure. */
static int get_name(int s, bool peer, struct st_endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r;

	memset(ep, 0, sizeof(*ep));
	memset(&ss, 0, sizeof(ss));
	r = peer ? getpeername(s, (struct sockaddr *)&ss, &len) :
		   getsockname(s, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return -errno;
	/* the kernel reports the full length even when it truncated */
	if (len > sizeof(ss))
		len = sizeof(ss);
	r = st_endpoint_from_sockaddr(ep, &ss, len);
	if (r < 0)
		memset(ep, 0, sizeof(*ep));
	return r;
}

/* AF_UNIX peer inode: sock_diag in the socket's own namespace. */
static void unix_peer_ino(pid_t pid, int s, struct st_sockinfo *out)
{
	struct st_sockinfo d;
	char path[64];
	int nsfd;

	/* SIOCGSKNS wants CAP_NET_ADMIN over the socket's namespace;
	 * without it, the process's namespace is the best guess. */
	nsfd = ioctl(s, SIOCGSKNS);
	if (nsfd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			return;
	} else {
		/* the ioctl's fd comes without close-on-exec */
		fcntl(nsfd, F_SETFD, FD_CLOEXEC);
	}
	if (st_diag_lookup_nsfd(nsfd, out->ino, AF_UNIX, 0, false, &d) == 0) {
		out->peer_ino = d.peer_ino;
		out->state = d.state;
	}
	close(nsfd);
}

/* The sock_diag state: exact for TCP, else as the kernel keeps it. */
static int guess_state(int s, const struct st_sockinfo *info)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (info->family != AF_INET && info->family != AF_INET6 &&
	    info->family != AF_UNIX)
		return 0;
	if (info->protocol == IPPROTO_TCP &&
	    info->family != AF_UNIX) {
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
		    len >= 1)
			return ti.tcpi_state;
		return 0;
	}
	if (info->listening)
		return TCP_LISTEN;
	return info->peer.family != AF_UNSPEC ? TCP_ESTABLISHED : TCP_CLOSE;
}

static int info_from_copy(pid_t pid, int s, struct st_sockinfo *out)
{
	struct stat st;

	if (fstat(s, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	out->ino = st.st_ino;
	out->family = sockopt_int(s, SO_DOMAIN);
	out->type = sockopt_int(s, SO_TYPE);
	out->protocol = sockopt_int(s, SO_PROTOCOL);
	out->listening = sockopt_int(s, SO_ACCEPTCONN) != 0;
	get_name(s, false, &out->local);
	/* ENOTCONN leaves the peer AF_UNSPEC */
	get_name(s, true, &out->peer);
	out->state = guess_state(s, out);
	if (out->protocol == IPPROTO_UDP) {
		int v = 0;
		socklen_t len = sizeof(v);

		if (getsockopt(s, SOL_UDP, UDP_SEGMENT, &v, &len) == 0 &&
		    v > 0)
			out->udp_segment = (unsigned)v;
	}
	if (out->family == AF_UNIX && out->peer.family != AF_UNSPEC)
		unix_peer_ino(pid, s, out);
	return 0;
}

/*
 * No copy allowed: /proc for the inode and the protocol, then one
 * sock_diag request for that protocol (a TCP/UDP dump walks the kernel's
 * whole hash table, so never try the families in turn when /proc can
 * name the right one).
 */
static int info_fallback(pid_t pid, int fd, struct st_sockinfo *out)
{
	int family, protocol, r;
	uint64_t ino;

	r = st_resolve_fd_inode(pid, fd, &ino);
	if (r < 0)
		return r;
	r = st_resolve_fd_proto(pid, fd, &family, &protocol);
	if (r == -ESRCH || r == -EBADF)
		return r;
	if (r < 0 || family == AF_UNSPEC)
		r = st_diag_lookup(pid, ino, out);	/* try them all */
	else if (family == AF_UNIX ||
		 ((family == AF_INET || family == AF_INET6) &&
		  (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP)))
		r = st_diag_lookup_proto(pid, ino, family, protocol, out);
	else
		r = -ENOENT;	/* no sock_diag for it here */
	if (r == -ESRCH || r == -ENOMEM)
		return r;
	if (r < 0) {
		/* what we know without sock_diag */
		memset(out, 0, sizeof(*out));
		out->family = family;
		out->protocol = protocol;
	}
	out->ino = ino;
	return 0;
}

int st_resolve_sockinfo(pid_t pid, int fd, struct st_sockinfo *out)
{
	int s, r;

	memset(out, 0, sizeof(*out));
	s = copy_fd(pid, fd);
	if (s == -ENOSYS || s == -EPERM)
		return info_fallback(pid, fd, out);
	if (s < 0)
		return s;
	r = info_from_copy(pid, s, out);
	close(s);
	return r;
}

int st_resolve_pipe_fd(pid_t pid, int fd)
{
	struct stat st;
	char path[64];
	int c = copy_fd(pid, fd);

	if (c >= 0 && (fcntl(c, F_GETFL) & O_ACCMODE) == O_WRONLY) {
		close(c);	/* a write end: no use to tee */
		c = -EPERM;
	}
	if (c == -ENOSYS || c == -EPERM) {
		/* a reader of its own on the same pipe, for a moment */
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		c = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (c < 0)
			return -errno;
	}
	if (c < 0)
		return c;
	if (fstat(c, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(c);
		return -EINVAL;
	}
	return c;
}

int st_resolve_local(pid_t pid, int fd, struct st_endpoint *local)
{
	struct st_sockinfo info;
	int s, r;

	memset(local, 0, sizeof(*local));
	s = copy_fd(pid, fd);
	if (s == -ENOSYS || s == -EPERM) {
		r = info_fallback(pid, fd, &info);
		if (r == 0)
			*local = info.local;
		return r;
	}
	if (s < 0)
		return s;
	r = get_name(s, false, local);
	close(s);
	return r;
}
