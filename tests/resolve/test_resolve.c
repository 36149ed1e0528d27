/*
 * resolve: real sockets, in this process, in forked children and in a
 * child's own network namespace, looked up through /proc, pidfd_getfd
 * and sock_diag.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolve/resolve.h"

static void fini(void)
{
	st_resolve_use_pidfd(true);
	st_resolve_cleanup();
}

TestSuite(resolve, .fini = fini, .timeout = 30);

/* ------------------------------------------------------------------ */
/* helpers */

static uint64_t ino_of(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* listener on loopback port 0, a client connected to it, the accepted fd */
static void tcp_trio(int family, int fds[3])
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	fds[0] = socket(family, SOCK_STREAM, 0);
	cr_assert_geq(fds[0], 0);
	cr_assert_eq(bind(fds[0], (struct sockaddr *)&ss, len), 0,
		     "bind: %s", strerror(errno));
	cr_assert_eq(listen(fds[0], 4), 0);
	len = sizeof(ss);
	cr_assert_eq(getsockname(fds[0], (struct sockaddr *)&ss, &len), 0);
	fds[1] = socket(family, SOCK_STREAM, 0);
	cr_assert_geq(fds[1], 0);
	cr_assert_eq(connect(fds[1], (struct sockaddr *)&ss, len), 0,
		     "connect: %s", strerror(errno));
	fds[2] = accept(fds[0], NULL, NULL);
	cr_assert_geq(fds[2], 0);
}

static int udp_bound(void)
{
	struct sockaddr_in in = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	return fd;
}

/* A unix stream listener at name (abstract when it starts with '@'),
 * a client connected to it and the accepted fd. */
static void unix_trio(const char *name, int fds[3])
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	socklen_t len;

	cr_assert_lt(n, sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@') {
		sun.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		unlink(name);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				  n + 1);
	}
	fds[0] = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fds[0], 0);
	cr_assert_eq(bind(fds[0], (struct sockaddr *)&sun, len), 0,
		     "bind %s: %s", name, strerror(errno));
	cr_assert_eq(listen(fds[0], 4), 0);
	fds[1] = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(connect(fds[1], (struct sockaddr *)&sun, len), 0);
	fds[2] = accept(fds[0], NULL, NULL);
	cr_assert_geq(fds[2], 0);
}

static void close_all(int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
}

static bool is_loop4(const struct st_endpoint *ep)
{
	return ep->family == AF_INET &&
	       ep->v4.s_addr == htonl(INADDR_LOOPBACK);
}

static bool is_loop6(const struct st_endpoint *ep)
{
	return ep->family == AF_INET6 &&
	       memcmp(&ep->v6, &in6addr_loopback, 16) == 0;
}

static bool un_is(const struct st_endpoint *ep, const char *name)
{
	bool abstract = name[0] == '@';
	const char *p = abstract ? name + 1 : name;
	size_t n = strlen(p);

	return ep->family == AF_UNIX && ep->un.abstract == abstract &&
	       ep->un.len == n && memcmp(ep->un.path, p, n) == 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ------------------------------------------------------------------ */
/* /proc */

Test(resolve, fd_inode)
{
	int p[2], tcp[3];
	uint64_t ino = 0;
	int devnull;

	tcp_trio(AF_INET, tcp);
	cr_assert_eq(st_resolve_fd_inode(getpid(), tcp[1], &ino), 0);
	cr_assert_eq(ino, ino_of(tcp[1]));
	/* a thread id works as well as the pid */
	cr_assert_eq(st_resolve_fd_inode(gettid(), tcp[2], &ino), 0);
	cr_assert_eq(ino, ino_of(tcp[2]));

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(st_resolve_fd_inode(getpid(), p[0], &ino), -ENOTSOCK);
	devnull = open("/dev/null", O_RDONLY);
	cr_assert_eq(st_resolve_fd_inode(getpid(), devnull, &ino),
		     -ENOTSOCK);
	close(devnull);
	close(p[1]);
	cr_assert_eq(st_resolve_fd_inode(getpid(), p[1], &ino), -EBADF);
	cr_assert_eq(st_resolve_fd_inode(getpid(), -1, &ino), -EBADF);
	cr_assert_eq(st_resolve_fd_inode(getpid(), 1 << 20, &ino), -EBADF);
	cr_assert_eq(st_resolve_fd_inode(0, 0, &ino), -ESRCH);
	close(p[0]);
	close_all(tcp, 3);
}

Test(resolve, fd_proto)
{
	static const struct {
		int domain, type, family, protocol;
	} cases[] = {
		{ AF_INET, SOCK_STREAM, AF_INET, IPPROTO_TCP },
		{ AF_INET6, SOCK_STREAM, AF_INET6, IPPROTO_TCP },
		{ AF_INET, SOCK_DGRAM, AF_INET, IPPROTO_UDP },
		{ AF_INET6, SOCK_DGRAM, AF_INET6, IPPROTO_UDP },
		{ AF_UNIX, SOCK_STREAM, AF_UNIX, 0 },
		{ AF_UNIX, SOCK_DGRAM, AF_UNIX, 0 },
		{ AF_UNIX, SOCK_SEQPACKET, AF_UNIX, 0 },
		{ AF_NETLINK, SOCK_RAW, AF_NETLINK, 0 },
	};
	int family, protocol, p[2];
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int s = socket(cases[k].domain, cases[k].type, 0);

		cr_assert_geq(s, 0);
		cr_assert_eq(st_resolve_fd_proto(getpid(), s, &family,
						 &protocol), 0);
		cr_expect_eq(family, cases[k].family, "case %zu", k);
		cr_expect_eq(protocol, cases[k].protocol, "case %zu", k);
		close(s);
		cr_expect_eq(st_resolve_fd_proto(getpid(), s, &family,
						 &protocol), -EBADF);
	}
	cr_assert_eq(pipe(p), 0);
	cr_expect_eq(st_resolve_fd_proto(getpid(), p[0], &family, &protocol),
		     -ENOTSOCK);
	cr_expect_eq(family, AF_UNSPEC);
	close_all(p, 2);
}

/* ------------------------------------------------------------------ */
/* pidfd_getfd path, in this process */

Test(resolve, sockinfo_tcp4)
{
	struct st_sockinfo l, c, a;
	int t[3];

	tcp_trio(AF_INET, t);
	cr_assert_eq(st_resolve_sockinfo(getpid(), t[0], &l), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), t[1], &c), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), t[2], &a), 0);

	cr_expect_eq(l.family, AF_INET);
	cr_expect_eq(l.type, SOCK_STREAM);
	cr_expect_eq(l.protocol, IPPROTO_TCP);
	cr_expect(l.listening);
	cr_expect(is_loop4(&l.local));
	cr_expect_eq(l.local.port, port_of(t[0]));
	cr_expect_eq(l.peer.family, AF_UNSPEC);
	cr_expect_eq(l.ino, ino_of(t[0]));
	cr_expect_eq(l.peer_ino, 0);
	cr_expect_eq(l.state, TCP_LISTEN);
	cr_expect_eq(c.state, TCP_ESTABLISHED);
	cr_expect_eq(a.state, TCP_ESTABLISHED);

	cr_expect_not(c.listening);
	cr_expect_eq(c.ino, ino_of(t[1]));
	cr_expect(is_loop4(&c.local) && is_loop4(&c.peer));
	cr_expect_eq(c.peer.port, l.local.port);
	cr_expect_neq(c.local.port, 0);

	cr_expect_not(a.listening);
	cr_expect_eq(a.local.port, l.local.port);
	cr_expect_eq(a.peer.port, c.local.port);
	cr_expect_eq(a.ino, ino_of(t[2]));
	close_all(t, 3);
}

Test(resolve, sockinfo_tcp6)
{
	struct st_sockinfo c, a;
	int t[3];

	tcp_trio(AF_INET6, t);
	cr_assert_eq(st_resolve_sockinfo(getpid(), t[1], &c), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), t[2], &a), 0);
	cr_expect_eq(c.family, AF_INET6);
	cr_expect_eq(c.type, SOCK_STREAM);
	cr_expect_eq(c.protocol, IPPROTO_TCP);
	cr_expect(is_loop6(&c.local) && is_loop6(&c.peer));
	cr_expect_eq(c.peer.port, port_of(t[0]));
	cr_expect_eq(a.peer.port, c.local.port);
	cr_expect_eq(a.local.port, c.peer.port);
	close_all(t, 3);
}

/* The other end of a loopback connection, by its 4-tuple: the client's
 * inode from the accepted socket's pair and back, IPv4 and IPv6; an
 * unused pair is not found. */
Test(resolve, tcp_inode_by_tuple)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		struct st_sockinfo a;
		struct st_endpoint none;
		uint64_t ino = 1;
		int t[3];

		tcp_trio(fams[i], t);
		cr_assert_eq(st_resolve_sockinfo(getpid(), t[2], &a), 0);
		/* the client: its own address is the accepted one's peer */
		cr_assert_eq(st_diag_tcp_inode(getpid(), &a.peer, &a.local,
					       &ino), 0);
		cr_expect_eq(ino, ino_of(t[1]), "family %d", fams[i]);
		cr_assert_eq(st_diag_tcp_inode(getpid(), &a.local, &a.peer,
					       &ino), 0);
		cr_expect_eq(ino, ino_of(t[2]), "family %d", fams[i]);
		none = a.peer;
		none.port = (uint16_t)(a.peer.port == 1 ? 2 : 1);
		cr_expect_eq(st_diag_tcp_inode(getpid(), &none, &a.local,
					       &ino), -ENOENT);
		cr_expect_eq(ino, 0);
		close_all(t, 3);
	}
}

Test(resolve, sockinfo_udp)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct st_sockinfo u, v;
	int s = udp_bound(), d;

	cr_assert_eq(st_resolve_sockinfo(getpid(), s, &u), 0);
	cr_expect_eq(u.family, AF_INET);
	cr_expect_eq(u.type, SOCK_DGRAM);
	cr_expect_eq(u.protocol, IPPROTO_UDP);
	cr_expect_not(u.listening);
	cr_expect(is_loop4(&u.local));
	cr_expect_eq(u.local.port, port_of(s));
	cr_expect_eq(u.peer.family, AF_UNSPEC);
	cr_expect_eq(u.state, TCP_CLOSE);

	/* a connected UDP socket has a peer */
	d = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(port_of(s));
	cr_assert_eq(connect(d, (struct sockaddr *)&to, sizeof(to)), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), d, &v), 0);
	cr_expect(is_loop4(&v.peer));
	cr_expect_eq(v.peer.port, u.local.port);
	cr_expect_eq(v.state, TCP_ESTABLISHED);
	close(d);
	close(s);
}

Test(resolve, sockinfo_socketpair)
{
	struct st_sockinfo a, b;
	int sp[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), sp[0], &a), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), sp[1], &b), 0);
	cr_expect_eq(a.family, AF_UNIX);
	cr_expect_eq(a.type, SOCK_STREAM);
	cr_expect_eq(a.protocol, 0);
	cr_expect_eq(a.ino, ino_of(sp[0]));
	cr_expect_eq(b.ino, ino_of(sp[1]));
	cr_expect_eq(a.peer_ino, b.ino, "peer %lu, other end %lu",
		     (unsigned long)a.peer_ino, (unsigned long)b.ino);
	cr_expect_eq(b.peer_ino, a.ino);
	/* both ends unnamed */
	cr_expect(a.local.family == AF_UNIX && a.local.un.len == 0);
	cr_expect(a.peer.family == AF_UNIX && a.peer.un.len == 0);
	close_all(sp, 2);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), sp[1], &b), 0);
	cr_expect_eq(b.type, SOCK_SEQPACKET);
	cr_expect_eq(b.peer_ino, ino_of(sp[0]));
	close_all(sp, 2);
}

Test(resolve, sockinfo_unix_named)
{
	char path[64];
	struct st_sockinfo l, c, a;
	int u[3];

	snprintf(path, sizeof(path), "/tmp/st-resolve-%d.sock", getpid());
	unix_trio(path, u);
	cr_assert_eq(st_resolve_sockinfo(getpid(), u[0], &l), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), u[1], &c), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), u[2], &a), 0);
	cr_expect(l.listening);
	cr_expect(un_is(&l.local, path));
	cr_expect_eq(l.peer.family, AF_UNSPEC);
	cr_expect_eq(l.peer_ino, 0);
	/* the client knows the path as its peer; it is itself unnamed */
	cr_expect(un_is(&c.peer, path));
	cr_expect(c.local.family == AF_UNIX && c.local.un.len == 0);
	cr_expect_eq(c.peer_ino, a.ino);
	cr_expect_eq(a.peer_ino, c.ino);
	cr_expect_eq(l.state, TCP_LISTEN);
	cr_expect_eq(c.state, TCP_ESTABLISHED);
	cr_expect(un_is(&a.local, path));
	close_all(u, 3);
	unlink(path);
}

Test(resolve, sockinfo_unix_abstract)
{
	char name[64];
	struct st_sockinfo l, c;
	int u[3];

	snprintf(name, sizeof(name), "@st-resolve-%d", getpid());
	unix_trio(name, u);
	cr_assert_eq(st_resolve_sockinfo(getpid(), u[0], &l), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), u[1], &c), 0);
	cr_expect(l.listening);
	cr_expect(un_is(&l.local, name), "abstract %d len %u",
		  l.local.un.abstract, l.local.un.len);
	cr_expect(un_is(&c.peer, name));
	cr_expect_eq(c.peer_ino, ino_of(u[2]));
	close_all(u, 3);
}

Test(resolve, sockinfo_netlink)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct st_sockinfo n;
	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&nl, sizeof(nl)), 0);
	cr_assert_eq(st_resolve_sockinfo(getpid(), s, &n), 0);
	cr_expect_eq(n.family, AF_NETLINK);
	cr_expect_eq(n.type, SOCK_RAW);
	cr_expect_eq(n.protocol, NETLINK_ROUTE);
	cr_expect_eq(n.local.family, AF_NETLINK);
	cr_expect_neq(n.local.nl.portid, 0);
	cr_expect_eq(n.ino, ino_of(s));
	close(s);
}

Test(resolve, sockinfo_errors)
{
	struct st_sockinfo i;
	struct st_endpoint ep;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_expect_eq(st_resolve_sockinfo(getpid(), p[0], &i), -ENOTSOCK);
	cr_expect_eq(st_resolve_local(getpid(), p[0], &ep), -ENOTSOCK);
	close(p[0]);
	cr_expect_eq(st_resolve_sockinfo(getpid(), p[0], &i), -EBADF);
	cr_expect_eq(st_resolve_local(getpid(), p[0], &ep), -EBADF);
	cr_expect_eq(st_resolve_sockinfo(getpid(), -3, &i), -EBADF);
	cr_expect_eq(st_resolve_sockinfo(-1, 0, &i), -ESRCH);
	close(p[1]);
}

Test(resolve, local_only)
{
	struct st_endpoint ep;
	int t[3];

	tcp_trio(AF_INET, t);
	cr_assert_eq(st_resolve_local(getpid(), t[1], &ep), 0);
	cr_expect(is_loop4(&ep));
	cr_expect_eq(ep.port, port_of(t[1]));
	close_all(t, 3);
}

/* A thread id is accepted where a pid is. */
static void *idle_thread(void *arg)
{
	int *p = arg;
	char c;

	p[2] = gettid();
	if (write(p[1], "x", 1) != 1)
		return NULL;
	/* wait until the main thread closes p[3]'s pipe end */
	if (read(p[3], &c, 1) < 0)
		return NULL;
	return NULL;
}

Test(resolve, sockinfo_by_tid)
{
	int ready[2], stop[2], arg[4], t[3];
	struct st_sockinfo i;
	pthread_t th;
	char c;

	tcp_trio(AF_INET, t);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(stop), 0);
	arg[0] = ready[0];
	arg[1] = ready[1];
	arg[3] = stop[0];
	cr_assert_eq(pthread_create(&th, NULL, idle_thread, arg), 0);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	cr_assert_neq(arg[2], getpid());
	cr_expect_eq(st_resolve_sockinfo(arg[2], t[1], &i), 0);
	cr_expect_eq(i.ino, ino_of(t[1]));
	close(stop[1]);
	pthread_join(th, NULL);
	st_resolve_forget_pid(arg[2]);
	close(stop[0]);
	close_all(ready, 2);
	close_all(t, 3);
}

/* ------------------------------------------------------------------ */
/* sock_diag, in this process's namespace */

Test(resolve, diag_tcp_udp)
{
	struct st_sockinfo d;
	int t[3], u, t6[3];

	tcp_trio(AF_INET, t);
	tcp_trio(AF_INET6, t6);
	u = udp_bound();

	cr_assert_eq(st_diag_lookup(getpid(), ino_of(t[0]), &d), 0);
	cr_expect_eq(d.family, AF_INET);
	cr_expect_eq(d.type, SOCK_STREAM);
	cr_expect_eq(d.protocol, IPPROTO_TCP);
	cr_expect(d.listening);
	cr_expect_eq(d.state, TCP_LISTEN);
	cr_expect(is_loop4(&d.local));
	cr_expect_eq(d.local.port, port_of(t[0]));
	cr_expect_eq(d.peer.family, AF_UNSPEC);
	cr_expect_eq(d.ino, ino_of(t[0]));

	cr_assert_eq(st_diag_lookup(getpid(), ino_of(t[1]), &d), 0);
	cr_expect_not(d.listening);
	cr_expect_eq(d.state, TCP_ESTABLISHED);
	cr_expect_eq(d.local.port, port_of(t[1]));
	cr_expect(is_loop4(&d.peer));
	cr_expect_eq(d.peer.port, port_of(t[0]));

	cr_assert_eq(st_diag_lookup(getpid(), ino_of(t6[2]), &d), 0);
	cr_expect_eq(d.family, AF_INET6);
	cr_expect(is_loop6(&d.local) && is_loop6(&d.peer));
	cr_expect_eq(d.peer.port, port_of(t6[1]));

	cr_assert_eq(st_diag_lookup(getpid(), ino_of(u), &d), 0);
	cr_expect_eq(d.family, AF_INET);
	cr_expect_eq(d.type, SOCK_DGRAM);
	cr_expect_eq(d.protocol, IPPROTO_UDP);
	cr_expect_eq(d.local.port, port_of(u));
	cr_expect_eq(d.peer.family, AF_UNSPEC);

	/* one-request variant, right and wrong protocol */
	cr_assert_eq(st_diag_lookup_proto(getpid(), ino_of(u), AF_INET,
					  IPPROTO_UDP, &d), 0);
	cr_expect_eq(d.local.port, port_of(u));
	cr_expect_eq(st_diag_lookup_proto(getpid(), ino_of(u), AF_INET,
					  IPPROTO_TCP, &d), -ENOENT);
	cr_expect_eq(st_diag_lookup_proto(getpid(), ino_of(u), AF_NETLINK,
					  0, &d), -EINVAL);
	close(u);
	close_all(t, 3);
	close_all(t6, 3);
}

Test(resolve, diag_unix)
{
	char path[64];
	struct st_sockinfo d;
	int sp[2], u[3], p[2], nl;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	cr_assert_eq(st_diag_lookup(getpid(), ino_of(sp[0]), &d), 0);
	cr_expect_eq(d.family, AF_UNIX);
	cr_expect_eq(d.type, SOCK_DGRAM);
	cr_expect_eq(d.peer_ino, ino_of(sp[1]));
	cr_expect(d.local.family == AF_UNIX && d.local.un.len == 0);
	cr_expect(d.peer.family == AF_UNIX && d.peer.un.len == 0);

	snprintf(path, sizeof(path), "@st-resolve-diag-%d", getpid());
	unix_trio(path, u);
	cr_assert_eq(st_diag_lookup(getpid(), ino_of(u[0]), &d), 0);
	cr_expect(d.listening);
	cr_expect(un_is(&d.local, path));
	cr_expect_eq(d.peer_ino, 0);
	cr_assert_eq(st_diag_lookup(getpid(), ino_of(u[1]), &d), 0);
	cr_expect_not(d.listening);
	cr_expect_eq(d.peer_ino, ino_of(u[2]));
	/* the peer's name, as getpeername() reports it */
	cr_expect(un_is(&d.peer, path));

	/* not a socket inode, and a socket sock_diag does not cover */
	cr_assert_eq(pipe(p), 0);
	cr_expect_eq(st_diag_lookup(getpid(), ino_of(p[0]), &d), -ENOENT);
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	cr_expect_eq(st_diag_lookup(getpid(), ino_of(nl), &d), -ENOENT);
	cr_expect_eq(st_diag_lookup(getpid(), 0, &d), -ENOENT);
	cr_expect_eq(st_diag_lookup(getpid(), 1ull << 40, &d), -ENOENT);
	close(nl);
	close_all(p, 2);
	close_all(u, 3);
	close_all(sp, 2);
}

/* The /proc + sock_diag fallback gives the same answers. */
Test(resolve, fallback_matches_pidfd)
{
	struct st_sockinfo a, b;
	int t[3], sp[2], nl, k;
	int fds[6];

	tcp_trio(AF_INET6, t);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	fds[0] = t[0], fds[1] = t[1], fds[2] = t[2];
	fds[3] = sp[0], fds[4] = sp[1], fds[5] = nl;
	for (k = 0; k < 5; k++) {
		st_resolve_use_pidfd(true);
		cr_assert_eq(st_resolve_sockinfo(getpid(), fds[k], &a), 0);
		st_resolve_use_pidfd(false);
		cr_assert_eq(st_resolve_sockinfo(getpid(), fds[k], &b), 0);
		cr_expect_eq(a.family, b.family, "fd %d", fds[k]);
		cr_expect_eq(a.type, b.type, "fd %d", fds[k]);
		cr_expect_eq(a.protocol, b.protocol, "fd %d", fds[k]);
		cr_expect_eq(a.listening, b.listening, "fd %d", fds[k]);
		cr_expect_eq(a.state, b.state, "fd %d: %d %d", fds[k],
			     a.state, b.state);
		cr_expect_eq(a.ino, b.ino);
		cr_expect_eq(a.peer_ino, b.peer_ino);
		cr_expect(st_endpoint_equal(&a.local, &b.local), "fd %d",
			  fds[k]);
		cr_expect(st_endpoint_equal(&a.peer, &b.peer), "fd %d",
			  fds[k]);
	}
	/* netlink: no sock_diag here, the fallback knows inode and family */
	cr_assert_eq(st_resolve_sockinfo(getpid(), nl, &b), 0);
	cr_expect_eq(b.ino, ino_of(nl));
	cr_expect_eq(b.family, AF_NETLINK);
	struct st_endpoint ep;

	cr_assert_eq(st_resolve_local(getpid(), t[1], &ep), 0);
	cr_expect(is_loop6(&ep) && ep.port == port_of(t[1]));
	cr_expect_eq(st_resolve_sockinfo(getpid(), 999, &b), -EBADF);
	st_resolve_use_pidfd(true);
	close(nl);
	close_all(sp, 2);
	close_all(t, 3);
}

/* ------------------------------------------------------------------ */
/* other processes */

struct child_info {
	int err;			/* errno of a failed setup step */
	int tcp_fd, udp_fd, un_fd, sp_fd;
	uint64_t tcp_ino, udp_ino, un_ino, sp_ino, sp_peer_ino;
	uint16_t tcp_port, udp_port;
	char un_name[64];
};

/*
 * Forks a child that (optionally in a new network namespace) creates a
 * TCP listener, a UDP socket, an abstract unix listener and a socketpair,
 * reports them through a pipe and waits until *stop is closed.
 */
static pid_t spawn(bool newnet, struct child_info *ci, int *stop)
{
	int info[2], st[2];
	pid_t pid;

	cr_assert_eq(pipe2(info, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(st, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct child_info c;
		struct sockaddr_in in = { .sin_family = AF_INET };
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int sp[2], n;
		char x;

		memset(&c, 0, sizeof(c));
		/* drop what we inherited (other children's pipes too) */
		for (n = 3; n < 1024; n++)
			if (n != info[1] && n != st[0])
				close(n);
		if (newnet && unshare(CLONE_NEWNET) < 0) {
			c.err = errno;
			goto report;
		}
		/* any address: in a new namespace lo is still down */
		c.tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(c.tcp_fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
		    listen(c.tcp_fd, 1) < 0) {
			c.err = errno;
			goto report;
		}
		c.udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(c.udp_fd, (struct sockaddr *)&in, sizeof(in)) < 0) {
			c.err = errno;
			goto report;
		}
		n = snprintf(c.un_name, sizeof(c.un_name), "@st-child-%d",
			     getpid());
		memcpy(sun.sun_path + 1, c.un_name + 1, (size_t)n - 1);
		c.un_fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(c.un_fd, (struct sockaddr *)&sun,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				     (size_t)n)) < 0 ||
		    listen(c.un_fd, 1) < 0) {
			c.err = errno;
			goto report;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) {
			c.err = errno;
			goto report;
		}
		c.sp_fd = sp[0];
		c.tcp_ino = ino_of(c.tcp_fd);
		c.udp_ino = ino_of(c.udp_fd);
		c.un_ino = ino_of(c.un_fd);
		c.sp_ino = ino_of(sp[0]);
		c.sp_peer_ino = ino_of(sp[1]);
		c.tcp_port = port_of(c.tcp_fd);
		c.udp_port = port_of(c.udp_fd);
report:
		if (write(info[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		/* EOF when the parent is done */
		if (read(st[0], &x, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(info[1]);
	close(st[0]);
	cr_assert_eq(read(info[0], ci, sizeof(*ci)), (ssize_t)sizeof(*ci));
	close(info[0]);
	*stop = st[1];
	return pid;
}

static void reap(pid_t pid, int stop)
{
	int status;

	close(stop);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st_resolve_forget_pid(pid);
}

static void check_child(pid_t pid, const struct child_info *c)
{
	struct st_sockinfo i;
	uint64_t ino;

	cr_assert_eq(st_resolve_fd_inode(pid, c->tcp_fd, &ino), 0);
	cr_expect_eq(ino, c->tcp_ino);

	/* pidfd path */
	cr_assert_eq(st_resolve_sockinfo(pid, c->tcp_fd, &i), 0);
	cr_expect_eq(i.ino, c->tcp_ino);
	cr_expect(i.listening);
	cr_expect_eq(i.local.port, c->tcp_port);
	cr_assert_eq(st_resolve_sockinfo(pid, c->un_fd, &i), 0);
	cr_expect(un_is(&i.local, c->un_name));
	cr_assert_eq(st_resolve_sockinfo(pid, c->sp_fd, &i), 0);
	cr_expect_eq(i.peer_ino, c->sp_peer_ino);

	/* sock_diag path, in the child's namespace */
	cr_assert_eq(st_diag_lookup(pid, c->tcp_ino, &i), 0);
	cr_expect_eq(i.family, AF_INET);
	cr_expect(i.listening);
	cr_expect_eq(i.local.port, c->tcp_port);
	cr_assert_eq(st_diag_lookup(pid, c->udp_ino, &i), 0);
	cr_expect_eq(i.type, SOCK_DGRAM);
	cr_expect_eq(i.local.port, c->udp_port);
	cr_assert_eq(st_diag_lookup(pid, c->un_ino, &i), 0);
	cr_expect(un_is(&i.local, c->un_name));
	cr_expect(i.listening);
	cr_assert_eq(st_diag_lookup(pid, c->sp_ino, &i), 0);
	cr_expect_eq(i.peer_ino, c->sp_peer_ino);

	/* forced fallback */
	st_resolve_use_pidfd(false);
	cr_assert_eq(st_resolve_sockinfo(pid, c->tcp_fd, &i), 0);
	cr_expect_eq(i.family, AF_INET);
	cr_expect_eq(i.local.port, c->tcp_port);
	cr_expect(i.listening);
	cr_assert_eq(st_resolve_sockinfo(pid, c->sp_fd, &i), 0);
	cr_expect_eq(i.peer_ino, c->sp_peer_ino);
	st_resolve_use_pidfd(true);
}

Test(resolve, child_process)
{
	struct child_info c;
	struct st_sockinfo i;
	int stop;
	pid_t pid = spawn(false, &c, &stop);

	cr_assert_eq(c.err, 0, "child setup: %s", strerror(c.err));
	check_child(pid, &c);
	reap(pid, stop);

	/* the process is gone */
	cr_expect_eq(st_resolve_sockinfo(pid, c.tcp_fd, &i), -ESRCH);
	cr_expect_eq(st_diag_lookup(pid, c.tcp_ino, &i), -ESRCH);
	uint64_t ino;

	cr_expect_eq(st_resolve_fd_inode(pid, c.tcp_fd, &ino), -ESRCH);
	struct st_endpoint ep;

	cr_expect_eq(st_resolve_local(pid, c.tcp_fd, &ep), -ESRCH);
}

/* The cached pidfd of a process that then dies still gives -ESRCH. */
Test(resolve, dead_after_cached)
{
	struct child_info c;
	struct st_sockinfo i;
	int stop;
	pid_t pid = spawn(false, &c, &stop);
	int status;

	cr_assert_eq(c.err, 0);
	cr_assert_eq(st_resolve_sockinfo(pid, c.tcp_fd, &i), 0);
	close(stop);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	/* no st_resolve_forget_pid(): the cache must cope */
	cr_expect_eq(st_resolve_sockinfo(pid, c.tcp_fd, &i), -ESRCH);
}

Test(resolve, zombie)
{
	struct st_sockinfo i;
	uint64_t ino;
	char path[64], buf[256];
	pid_t pid = fork();
	int k, fd;

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	/* wait until it is a zombie, without reaping it */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (k = 0; k < 500; k++) {
		ssize_t n;
		char *p;

		fd = open(path, O_RDONLY);
		cr_assert_geq(fd, 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[2] == 'Z')
			break;
		usleep(2000);
	}
	cr_assert_lt(k, 500, "child never became a zombie");
	cr_expect_eq(st_resolve_fd_inode(pid, 0, &ino), -ESRCH);
	cr_expect_eq(st_resolve_sockinfo(pid, 0, &i), -ESRCH);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	st_resolve_forget_pid(pid);
}

/* A socket that exists only in the child's own network namespace. */
Test(resolve, other_netns)
{
	char before[64], after[64];
	struct child_info c;
	struct st_sockinfo i;
	ssize_t n;
	int stop;
	pid_t pid;

	n = readlink("/proc/thread-self/ns/net", before, sizeof(before) - 1);
	cr_assert_gt(n, 0);
	before[n] = '\0';
	pid = spawn(true, &c, &stop);
	if (c.err == EPERM || c.err == ENOSYS || c.err == EINVAL) {
		reap(pid, stop);
		cr_skip_test("unshare(CLONE_NEWNET) refused: %s",
			     strerror(c.err));
	}
	cr_assert_eq(c.err, 0, "child setup: %s", strerror(c.err));

	check_child(pid, &c);
	/* not visible from our namespace */
	cr_expect_eq(st_diag_lookup(getpid(), c.tcp_ino, &i), -ENOENT);
	cr_expect_eq(st_diag_lookup(getpid(), c.un_ino, &i), -ENOENT);
	/* and we are back in our own namespace */
	n = readlink("/proc/thread-self/ns/net", after, sizeof(after) - 1);
	cr_assert_gt(n, 0);
	after[n] = '\0';
	cr_expect_str_eq(before, after);
	reap(pid, stop);
}

/* Without privileges: -EPERM, no crash. */
Test(resolve, permission_denied)
{
	int t[3], res[2];
	pid_t parent = getpid(), pid;
	int got[4], status;

	if (geteuid() != 0)
		cr_skip_test("needs root to drop to another user");
	tcp_trio(AF_INET, t);
	cr_assert_eq(pipe(res), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct st_sockinfo i;
		struct st_endpoint ep;
		uint64_t ino;
		int r[4];

		close(res[0]);
		st_resolve_cleanup();
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		r[0] = st_resolve_sockinfo(parent, t[1], &i);
		r[1] = st_resolve_fd_inode(parent, t[1], &ino);
		r[2] = st_diag_lookup(parent, ino_of(t[1]), &i);
		r[3] = st_resolve_local(parent, t[1], &ep);
		if (write(res[1], r, sizeof(r)) != sizeof(r))
			_exit(1);
		st_resolve_cleanup();
		_exit(0);
	}
	close(res[1]);
	cr_assert_eq(read(res[0], got, sizeof(got)), (ssize_t)sizeof(got));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_eq(got[0], -EPERM, "sockinfo: %d", got[0]);
	cr_expect_eq(got[1], -EPERM, "fd_inode: %d", got[1]);
	cr_expect_eq(got[2], -EPERM, "diag: %d", got[2]);
	cr_expect_eq(got[3], -EPERM, "local: %d", got[3]);
	close(res[0]);
	close_all(t, 3);
}

/* ------------------------------------------------------------------ */
/* fds: none leaks, every one is close-on-exec */

static int list_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, dfd;

	cr_assert_not_null(d);
	dfd = dirfd(d);
	while ((e = readdir(d)) && n < max) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dfd)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

static bool in_list(const int *fds, int n, int fd)
{
	while (n-- > 0)
		if (fds[n] == fd)
			return true;
	return false;
}

Test(resolve, fds_cloexec_and_released)
{
	int before[256], after[256], nb, na, k, t[3], sp[2], stop, stop2;
	struct child_info c, c2;
	struct st_sockinfo i;
	pid_t pid, pid2;

	tcp_trio(AF_INET, t);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = spawn(false, &c, &stop);
	pid2 = spawn(true, &c2, &stop2);
	st_resolve_cleanup();
	nb = list_fds(before, 256);

	for (k = 0; k < 50; k++) {
		cr_assert_eq(st_resolve_sockinfo(getpid(), t[1], &i), 0);
		cr_assert_eq(st_resolve_sockinfo(getpid(), sp[0], &i), 0);
		cr_assert_eq(st_resolve_sockinfo(pid, c.sp_fd, &i), 0);
		cr_assert_eq(st_diag_lookup(pid, c.tcp_ino, &i), 0);
		if (c2.err == 0)
			cr_assert_eq(st_diag_lookup(pid2, c2.tcp_ino, &i), 0);
	}
	na = list_fds(after, 256);
	/* the caches: a pidfd each for us and the children, a netlink
	 * socket per namespace, our namespace's fd; nothing per call */
	cr_expect_leq(na - nb, 6, "%d new fds", na - nb);
	for (k = 0; k < na; k++) {
		if (in_list(before, nb, after[k]))
			continue;
		cr_expect_eq(fcntl(after[k], F_GETFD) & FD_CLOEXEC,
			     FD_CLOEXEC, "fd %d not close-on-exec", after[k]);
	}
	st_resolve_cleanup();
	na = list_fds(after, 256);
	cr_expect_eq(na, nb, "cleanup left %d fds", na - nb);

	reap(pid, stop);
	reap(pid2, stop2);
	close_all(sp, 2);
	close_all(t, 3);
}

/* ------------------------------------------------------------------ */
/* costs */

#define ROUNDS 2000

Test(resolve, timing)
{
	struct st_sockinfo i;
	struct st_endpoint ep;
	int t[3], sp[2], k;
	uint64_t ino;
	double t0, c_ino, c_local, c_info, c_info_un, c_diag_tcp, c_diag_un;
	double c_diag_tcp1, c_fallback, c_diag_udp1;
	int u = udp_bound();

	tcp_trio(AF_INET, t);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	/* warm the caches */
	cr_assert_eq(st_resolve_sockinfo(getpid(), sp[0], &i), 0);
	cr_assert_eq(st_diag_lookup(getpid(), ino_of(t[1]), &i), 0);

	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_resolve_fd_inode(getpid(), t[1], &ino), 0);
	c_ino = (now_us() - t0) / ROUNDS;

	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_resolve_local(getpid(), t[1], &ep), 0);
	c_local = (now_us() - t0) / ROUNDS;

	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_resolve_sockinfo(getpid(), t[1], &i), 0);
	c_info = (now_us() - t0) / ROUNDS;

	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_resolve_sockinfo(getpid(), sp[0], &i), 0);
	c_info_un = (now_us() - t0) / ROUNDS;

	t0 = now_us();
	for (k = 0; k < ROUNDS / 10; k++)
		cr_assert_eq(st_diag_lookup(getpid(), ino_of(t[1]), &i), 0);
	c_diag_tcp = (now_us() - t0) / (ROUNDS / 10);

	t0 = now_us();
	for (k = 0; k < ROUNDS / 10; k++)
		cr_assert_eq(st_diag_lookup_proto(getpid(), ino_of(t[1]),
						  AF_INET, IPPROTO_TCP, &i), 0);
	c_diag_tcp1 = (now_us() - t0) / (ROUNDS / 10);

	t0 = now_us();
	for (k = 0; k < ROUNDS / 10; k++)
		cr_assert_eq(st_diag_lookup_proto(getpid(), ino_of(u),
						  AF_INET, IPPROTO_UDP, &i), 0);
	c_diag_udp1 = (now_us() - t0) / (ROUNDS / 10);

	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_diag_lookup(getpid(), ino_of(sp[1]), &i), 0);
	c_diag_un = (now_us() - t0) / ROUNDS;

	st_resolve_use_pidfd(false);
	t0 = now_us();
	for (k = 0; k < ROUNDS; k++)
		cr_assert_eq(st_resolve_sockinfo(getpid(), sp[0], &i), 0);
	c_fallback = (now_us() - t0) / ROUNDS;
	st_resolve_use_pidfd(true);

	cr_log_info("cost per call (us): fd_inode %.1f, local %.1f, "
		    "sockinfo tcp %.1f, sockinfo unix %.1f, "
		    "sockinfo unix without pidfd %.1f, diag tcp %.1f "
		    "(tcp only %.1f), diag udp only %.1f, diag unix %.1f",
		    c_ino, c_local, c_info, c_info_un, c_fallback, c_diag_tcp,
		    c_diag_tcp1, c_diag_udp1, c_diag_un);
	/* hot paths must stay far below a millisecond */
	cr_expect_lt(c_ino, 1000.0);
	cr_expect_lt(c_local, 1000.0);
	close(u);
	close_all(sp, 2);
	close_all(t, 3);
}
