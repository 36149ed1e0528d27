/*
 * /proc based answers: is fd a socket (and which inode, which protocol),
 * is a task gone, which thread group a tid belongs to.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/xattr.h>

#include "resolve/resolve_internal.h"

#define SOCK_PREFIX "socket:["

/* Reads up to size - 1 bytes of a small /proc file, NUL-terminated. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd, e;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return n;
}

bool st_resolve_proc_gone(pid_t tid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	n = read_small(path, buf, sizeof(buf));
	if (n == -ENOENT || n == -ESRCH)
		return true;
	if (n < 0)
		return false;	/* cannot tell: assume alive */
	/* "pid (comm) S ...": comm may hold ')' and spaces, so the state
	 * follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return false;
	return p[2] == 'Z' || p[2] == 'X' || p[2] == 'x';
}

pid_t st_resolve_proc_tgid(pid_t tid)
{
	char path[64], buf[2048];
	const char *p;
	ssize_t n;
	long v;
	char *end;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (pid_t)n;
	p = strstr(buf, "\nTgid:");
	if (!p)
		return -EIO;
	errno = 0;
	v = strtol(p + 6, &end, 10);
	if (errno || end == p + 6 || v <= 0 || v > INT_MAX)
		return -EIO;
	return (pid_t)v;
}

/* Parses "socket:[N]" exactly; false for anything else. */
static bool parse_socket_link(const char *s, size_t len, uint64_t *ino)
{
	const size_t plen = sizeof(SOCK_PREFIX) - 1;
	uint64_t v = 0;
	size_t i;

	if (len < plen + 2 || memcmp(s, SOCK_PREFIX, plen) != 0 ||
	    s[len - 1] != ']')
		return false;
	for (i = plen; i < len - 1; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ino = v;
	return true;
}

int st_resolve_fd_inode(pid_t tid, int fd, uint64_t *ino)
{
	char path[64], link[64];
	ssize_t n;
	int e;

	if (tid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)tid, fd);
	n = readlink(path, link, sizeof(link));
	if (n < 0) {
		e = errno;
		if (e == ENOENT)
			return st_resolve_proc_gone(tid) ? -ESRCH : -EBADF;
		if (e == EACCES)
			return -EPERM;
		return -e;
	}
	/* A socket link is short; one that fills the buffer is a path. */
	if ((size_t)n >= sizeof(link) ||
	    !parse_socket_link(link, (size_t)n, ino))
		return -ENOTSOCK;
	return 0;
}

/* Calls fn with the inode of each socket in the descriptor directory
 * dir (/proc/N/fd); -errno when it cannot be read. */
static int each_socket_fd(const char *dir,
			  void (*fn)(void *arg, uint64_t ino), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[320], link[64];
		uint64_t ino;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link));
		if (n > 0 && (size_t)n < sizeof(link) &&
		    parse_socket_link(link, (size_t)n, &ino))
			fn(arg, ino);
	}
	closedir(d);
	return 0;
}

int st_resolve_own_sockets(void (*fn)(void *arg, uint64_t ino), void *arg)
{
	return each_socket_fd("/proc/self/fd", fn, arg);
}

/* The traced processes' socket inodes (sorted, once each after the
 * first pass), and which of them some other process holds too: a pass
 * over every process's descriptors looks each one up, so a server with
 * many connections on a busy host costs n log n, not n times m. */
struct shared_scan {
	uint64_t *ino;
	bool *outside;
	size_t n, cap;
	bool nomem;
};

static void add_traced(void *arg, uint64_t ino)
{
	struct shared_scan *sc = arg;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		uint64_t *p = realloc(sc->ino, cap * sizeof(*p));

		if (!p) {
			sc->nomem = true;
			return;
		}
		sc->ino = p;
		sc->cap = cap;
	}
	sc->ino[sc->n++] = ino;
}

static int cmp_ino(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void mark_outside(void *arg, uint64_t ino)
{
	struct shared_scan *sc = arg;
	uint64_t *hit = bsearch(&ino, sc->ino, sc->n, sizeof(ino), cmp_ino);

	if (hit)
		sc->outside[hit - sc->ino] = true;
}

static bool is_traced(const pid_t *tgids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (tgids[i] == pid)
			return true;
	return false;
}

int st_resolve_shared_sockets(const pid_t *pids, size_t npids,
			      void (*fn)(void *arg, uint64_t ino), void *arg)
{
	struct shared_scan sc = { 0 };
	pid_t *tgids = calloc(npids ? npids : 1, sizeof(*tgids));
	char dir[64];
	DIR *proc;
	struct dirent *e;
	size_t kept = 1;
	int rc = 0;

	if (!tgids)
		return -ENOMEM;
	for (size_t i = 0; i < npids; i++) {
		pid_t t = st_resolve_proc_tgid(pids[i]);

		tgids[i] = t > 0 ? t : pids[i];
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)tgids[i]);
		each_socket_fd(dir, add_traced, &sc);
	}
	if (sc.nomem) {
		rc = -ENOMEM;
		goto out;
	}
	if (!sc.n)
		goto out;	/* no sockets: nothing to look for */
	qsort(sc.ino, sc.n, sizeof(*sc.ino), cmp_ino);
	for (size_t i = 1; i < sc.n; i++)
		if (sc.ino[i] != sc.ino[kept - 1])
			sc.ino[kept++] = sc.ino[i];
	sc.n = kept;
	sc.outside = calloc(sc.n, sizeof(*sc.outside));
	if (!sc.outside) {
		rc = -ENOMEM;
		goto out;
	}
	proc = opendir("/proc");
	if (!proc) {
		rc = -errno;
		goto out;
	}
	/* every other process: one that cannot be read is left out */
	while ((e = readdir(proc))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == (long)getpid() ||
		    is_traced(tgids, npids, (pid_t)pid))
			continue;
		snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
		each_socket_fd(dir, mark_outside, &sc);
	}
	closedir(proc);
	for (size_t i = 0; i < sc.n; i++)
		if (sc.outside[i])
			fn(arg, sc.ino[i]);
out:
	free(sc.ino);
	free(sc.outside);
	free(tgids);
	return rc;
}

static const struct {
	const char *name;
	int family, protocol;
} proto_names[] = {
	{ "TCP", AF_INET, IPPROTO_TCP },
	{ "TCPv6", AF_INET6, IPPROTO_TCP },
	{ "UDP", AF_INET, IPPROTO_UDP },
	{ "UDPv6", AF_INET6, IPPROTO_UDP },
	{ "UDP-Lite", AF_INET, IPPROTO_UDPLITE },
	{ "UDPLITEv6", AF_INET6, IPPROTO_UDPLITE },
	{ "MPTCP", AF_INET, IPPROTO_MPTCP },
	{ "MPTCPv6", AF_INET6, IPPROTO_MPTCP },
	{ "PING", AF_INET, IPPROTO_ICMP },
	{ "PINGv6", AF_INET6, IPPROTO_ICMPV6 },
	{ "RAW", AF_INET, 0 },
	{ "RAWv6", AF_INET6, 0 },
	{ "UNIX", AF_UNIX, 0 },
	{ "UNIX-STREAM", AF_UNIX, 0 },
	{ "NETLINK", AF_NETLINK, 0 },
	{ "PACKET", AF_PACKET, 0 },
};

int st_resolve_fd_proto(pid_t tid, int fd, int *family, int *protocol)
{
	char path[64], name[64];
	ssize_t n;
	size_t i;

	*family = AF_UNSPEC;
	*protocol = 0;
	if (tid <= 0)
		return -ESRCH;
	if (fd < 0)
		return -EBADF;
	/* getxattr follows the magic link to the socket's own dentry,
	 * which sockfs names after the protocol */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)tid, fd);
	n = getxattr(path, "system.sockprotoname", name, sizeof(name) - 1);
	if (n < 0) {
		switch (errno) {
		case ENOENT:
			return st_resolve_proc_gone(tid) ? -ESRCH : -EBADF;
		case EACCES:
			return -EPERM;
		case ENODATA:
		case EOPNOTSUPP:
			return -ENOTSOCK;
		default:
			return -errno;
		}
	}
	name[n] = '\0';		/* usually there already */
	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strcmp(name, proto_names[i].name) == 0) {
			*family = proto_names[i].family;
			*protocol = proto_names[i].protocol;
			break;
		}
	}
	return 0;
}
