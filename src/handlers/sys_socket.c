/* Socket calls: socket, socketpair, bind, listen, connect, accept,
 * shutdown, getsockname/getpeername, get/setsockopt. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "handlers/handlers.h"
#include "handlers/sys.h"
#include "resolve/resolve.h"

static void arg_family(struct st_hctx *c, unsigned i, int family)
{
	const char *name = st_h_family_name(family);

	if (name) {
		st_h_arg_text(c, i, name);
	} else {
		snprintf(st_h_text(c, i), 512, "%d", family);
		st_h_arg_text(c, i, st_h_text(c, i));
	}
}

enum st_entry_verdict st_sys_socket_entry(struct st_hctx *c)
{
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_socket_exit(struct st_hctx *c)
{
	int family = (int)c->stop->args[0];
	int type = (int)c->stop->args[1];
	int protocol = (int)c->stop->args[2];
	struct st_socket *s = NULL;

	arg_family(c, 0, family);
	st_h_socktype(st_h_text(c, 1), 512, type);
	st_h_arg_text(c, 1, st_h_text(c, 1));
	st_h_arg_int(c, 2, protocol);
	c->task->visible = true;
	if (c->task->call.err)
		return;
	s = st_h_new_fd(c, (int)c->task->call.ret, false);
	if (!s)
		return;
	st_socket_set_type(s, family, type, protocol);
	/* an unbound Unix socket is unnamed; an inet one not known yet */
	memset(&s->local, 0, sizeof(s->local));
	if (family == AF_UNIX)
		s->local.family = AF_UNIX;
	st_h_hold(c, (int)c->task->call.ret, s);
	c->task->call.ret_sock = s;
}

enum st_entry_verdict st_sys_socketpair_entry(struct st_hctx *c)
{
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_socketpair_exit(struct st_hctx *c)
{
	int family = (int)c->stop->args[0];
	int type = (int)c->stop->args[1];
	int sv[2];
	struct st_socket *s[2] = { NULL, NULL };
	struct st_origin_info who;

	arg_family(c, 0, family);
	st_h_socktype(st_h_text(c, 1), 512, type);
	st_h_arg_text(c, 1, st_h_text(c, 1));
	st_h_arg_int(c, 2, (long long)c->stop->args[2]);
	c->task->visible = true;
	if (c->task->call.err ||
	    st_mem_read_exact(c->task->tid, c->stop->args[3], sv,
			      sizeof(sv)) < 0)
		return;
	for (int i = 0; i < 2; i++) {
		s[i] = st_h_new_fd(c, sv[i], false);
		if (!s[i])
			return;
		st_socket_set_type(s[i], family, type,
				   (int)c->stop->args[2]);
		s[i]->local.family = (sa_family_t)family;
		s[i]->peer.family = (sa_family_t)family;
	}
	s[0]->peer_ino = s[1]->ino;
	s[1]->peer_ino = s[0]->ino;
	snprintf(st_h_text(c, 3), 512, "[%d, %d]", sv[0], sv[1]);
	st_h_arg_text(c, 3, st_h_text(c, 3));
	st_h_who(c, sv[0], &who);
	st_model_connected(c->h->model, s[0], ST_ORIGIN_PAIR, &who);
	who.fd = sv[1];
	st_model_connected(c->h->model, s[1], ST_ORIGIN_PAIR, &who);
	/* both ends are ours: what one receives, the other's sends record */
	for (int i = 0; i < 2; i++)
		if (st_h_receives_redundant(c, s[i]))
			st_h_watch_sends_only(c, sv[i]);
	st_h_hold(c, sv[0], s[0]);
}

/* bind/connect: fd, addr, addrlen */
static enum st_entry_verdict addr_call_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	struct st_socket *s = st_h_fd_socket(c, fd);

	st_h_hold(c, fd, s);
	c->task->addr_ok = st_h_read_sockaddr(c, c->stop->args[1],
					      c->stop->args[2],
					      &c->task->addr) == 0;
	st_h_arg_fd(c, 0, fd, s);
	if (c->task->addr_ok)
		st_h_arg_addr(c, 1, &c->task->addr);
	else
		st_h_arg_hex(c, 1, c->stop->args[1]);
	st_h_arg_int(c, 2, (long long)c->stop->args[2]);
	return ST_ENTRY_WANT_EXIT;
}

enum st_entry_verdict st_sys_bind_entry(struct st_hctx *c)
{
	return addr_call_entry(c);
}

void st_sys_bind_exit(struct st_hctx *c)
{
	struct st_socket *s = c->task->sock;

	if (!s || c->task->call.err)
		return;
	if (c->task->addr_ok)
		s->local = c->task->addr;
	/* port 0 or a wildcard: the kernel's choice is the real name */
	if (s->family == AF_INET || s->family == AF_INET6)
		st_h_refresh(c, s, c->task->fd, false);
	if (s->state < ST_SOCK_BOUND)
		s->state = ST_SOCK_BOUND;
}

enum st_entry_verdict st_sys_listen_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	struct st_socket *s = st_h_fd_socket(c, fd);

	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	st_h_arg_int(c, 1, (long long)(int)c->stop->args[1]);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_listen_exit(struct st_hctx *c)
{
	struct st_socket *s = c->task->sock;

	if (!s || c->task->call.err)
		return;
	s->listening = true;
	s->state = ST_SOCK_LISTENING;
	if (!st_endpoint_known(&s->local) || s->local.port == 0)
		st_h_refresh(c, s, c->task->fd, false);
}

enum st_entry_verdict st_sys_connect_entry(struct st_hctx *c)
{
	return addr_call_entry(c);
}

void st_sys_connect_exit(struct st_hctx *c)
{
	struct st_socket *s = c->task->sock;
	struct st_origin_info who;
	int err = c->task->call.err;

	if (!s || (err && err != EINPROGRESS) || !c->task->addr_ok)
		return;
	if (c->task->addr.family == AF_UNSPEC) {
		/* a datagram socket dissolving its association */
		memset(&s->peer, 0, sizeof(s->peer));
		s->state = ST_SOCK_BOUND;
		return;
	}
	/* the kernel has picked the local address and ephemeral port; the
	 * peer is what connect named (a Unix refresh would report the
	 * server's bound name instead, which is the same or less) */
	st_h_refresh(c, s, c->task->fd, st_proto_is_unix(s->proto));
	s->peer = c->task->addr;
	if (err == EINPROGRESS) {
		/* not a connection yet: SO_ERROR, or the first data, tells */
		s->state = ST_SOCK_CONNECTING;
		return;
	}
	st_h_who(c, c->task->fd, &who);
	st_model_connected(c->h->model, s, ST_ORIGIN_CONNECT, &who);
}

enum st_entry_verdict st_sys_accept_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	struct st_socket *s = st_h_fd_socket(c, fd);

	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_accept_exit(struct st_hctx *c)
{
	struct st_socket *ls = c->task->sock, *s;
	struct st_origin_info who;
	int nfd = (int)c->task->call.ret;

	if (c->task->call.err) {
		st_h_arg_hex(c, 1, c->stop->args[1]);
		return;
	}
	s = st_h_new_fd(c, nfd, true);
	if (!s)
		return;
	if (!s->family && ls)
		st_socket_set_type(s, ls->family, ls->type, ls->protocol);
	/* the kernel wrote the peer's address only where it was asked to */
	if (c->stop->args[1] && st_endpoint_known(&s->peer))
		st_h_arg_addr(c, 1, &s->peer);
	else
		st_h_arg_hex(c, 1, c->stop->args[1]);
	if (!strcmp(c->task->call.name, "accept4")) {
		static const struct st_flag fl[] = {
			{ SOCK_NONBLOCK, "SOCK_NONBLOCK" },
			{ SOCK_CLOEXEC, "SOCK_CLOEXEC" }, { 0, NULL } };

		st_h_flags(st_h_text(c, 2), 512, c->stop->args[3], fl, "0");
		st_h_arg_hex(c, 2, c->stop->args[2]);
		st_h_arg_text(c, 3, st_h_text(c, 2));
	}
	st_h_who(c, nfd, &who);
	st_model_connected(c->h->model, s, ST_ORIGIN_ACCEPT, &who);
	/* a client traced too: its sends record what this socket reads (its
	 * connect may come next, the tracer sees stops in no fixed order) */
	if (st_h_receives_redundant(c, s) || st_h_peer_traced(c, s))
		st_h_watch_sends_only(c, nfd);
	c->task->call.ret_sock = s;
	/* the accepted socket, not the listener, is what the call made */
	if (!c->task->sock)
		st_h_hold(c, nfd, s);
	else
		c->task->visible = true;
}

enum st_entry_verdict st_sys_shutdown_entry(struct st_hctx *c)
{
	static const char *const how[] = { "SHUT_RD", "SHUT_WR", "SHUT_RDWR" };
	int fd = (int)c->stop->args[0];
	unsigned h = (unsigned)c->stop->args[1];
	struct st_socket *s = st_h_fd_socket(c, fd);

	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	if (h < 3)
		st_h_arg_text(c, 1, how[h]);
	else
		st_h_arg_int(c, 1, h);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_shutdown_exit(struct st_hctx *c)
{
	struct st_origin_info who;

	if (!c->task->sock || c->task->call.err)
		return;
	st_h_who(c, c->task->fd, &who);
	st_model_shutdown(c->h->model, c->task->sock, (int)c->stop->args[1],
			  &who);
}

/* getsockname/getpeername: the trace shows the kernel's answer */
enum st_entry_verdict st_sys_getname_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	struct st_socket *s = st_h_fd_socket(c, fd);

	if (!s)
		return ST_ENTRY_SKIP;
	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_getname_exit(struct st_hctx *c)
{
	struct st_endpoint ep;
	uint32_t len = 0;

	if (c->task->call.err ||
	    st_mem_read_exact(c->task->tid, c->stop->args[2], &len,
			      sizeof(len)) < 0 ||
	    st_h_read_sockaddr(c, c->stop->args[1], len, &ep) < 0) {
		st_h_arg_hex(c, 1, c->stop->args[1]);
		return;
	}
	st_h_arg_addr(c, 1, &ep);
	snprintf(st_h_text(c, 2), 512, "[%u]", len);
	st_h_arg_text(c, 2, st_h_text(c, 2));
}

/* An option's value of len bytes at addr, as strace shows the common
 * ones: [int], a linger or timeval, peer credentials, a name; else the
 * address.  True when it is an int, then in *ival. */
static bool sockopt_value(struct st_hctx *c, int level, int name,
			  uint64_t addr, uint32_t len, int *ival)
{
	char *text = st_h_text(c, 3);
	union {
		int i;
		struct linger l;
		struct timeval tv;
		struct ucred cr;
		char name[64];
	} v;
	size_t n = len < sizeof(v) ? len : sizeof(v);

	memset(&v, 0, sizeof(v));
	if (!addr || !len ||
	    st_mem_read_exact(c->task->tid, addr, &v, n) < 0) {
		st_h_arg_hex(c, 3, addr);
		return false;
	}
	*ival = v.i;
	if ((level == IPPROTO_TCP && (name == TCP_CONGESTION ||
				      name == TCP_ULP)) ||
	    (level == SOL_SOCKET && name == SO_BINDTODEVICE)) {
		size_t sl = strnlen(v.name, n);

		memcpy(text, v.name, sl);
		st_h_arg_buf(c, 3, (const uint8_t *)text, sl, sl);
	} else if (level == SOL_SOCKET && name == SO_LINGER &&
		   len == sizeof(v.l)) {
		snprintf(text, 512, "{l_onoff=%d, l_linger=%d}", v.l.l_onoff,
			 v.l.l_linger);
		st_h_arg_text(c, 3, text);
	} else if (level == SOL_SOCKET &&
		   (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
		   len == sizeof(v.tv)) {
		snprintf(text, 512, "{tv_sec=%lld, tv_usec=%lld}",
			 (long long)v.tv.tv_sec, (long long)v.tv.tv_usec);
		st_h_arg_text(c, 3, text);
	} else if (level == SOL_SOCKET && name == SO_PEERCRED &&
		   len == sizeof(v.cr)) {
		snprintf(text, 512, "{pid=%d, uid=%u, gid=%u}", (int)v.cr.pid,
			 (unsigned)v.cr.uid, (unsigned)v.cr.gid);
		st_h_arg_text(c, 3, text);
	} else if (len == sizeof(int)) {
		snprintf(text, 512, "[%d]", v.i);
		st_h_arg_text(c, 3, text);
	} else {
		st_h_arg_hex(c, 3, addr);
	}
	return len >= sizeof(int);
}

/* setsockopt(SOL_UDP, UDP_SEGMENT, [v]) went through: the socket's sends
 * are cut into datagrams of v bytes from now on (0: no more). */
static void udp_segment_set(struct st_hctx *c, struct st_socket *s, int v)
{
	if (!s || c->task->call.err || c->stop->args[1] != SOL_UDP ||
	    c->stop->args[2] != UDP_SEGMENT || v < 0)
		return;
	s->udp_segment = (unsigned)v;
}

/* setsockopt/getsockopt: level and name by name, the value decoded at
 * exit where it has a common shape (getsockopt's once written; text
 * slots are filled at exit, when no other task's call comes between). */
enum st_entry_verdict st_sys_sockopt_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	int level = (int)c->stop->args[1], name = (int)c->stop->args[2];
	struct st_socket *s = st_h_fd_socket(c, fd);
	const char *lname = st_h_sockopt_level(level);
	const char *oname = st_h_sockopt_name(level, name);

	if (!s)
		return ST_ENTRY_SKIP;
	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	if (lname)
		st_h_arg_text(c, 1, lname);
	else
		st_h_arg_int(c, 1, level);
	if (oname)
		st_h_arg_text(c, 2, oname);
	else
		st_h_arg_int(c, 2, name);
	st_h_arg_hex(c, 3, c->stop->args[3]);
	if (!strcmp(c->task->call.name, "setsockopt"))
		st_h_arg_int(c, 4, (long long)(uint32_t)c->stop->args[4]);
	else
		st_h_arg_hex(c, 4, c->stop->args[4]);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_sockopt_exit(struct st_hctx *c)
{
	struct st_socket *s = c->task->sock;
	struct st_origin_info who;
	uint32_t len;
	int soerr = -1, ival;

	if (!strcmp(c->task->call.name, "setsockopt")) {
		if (sockopt_value(c, (int)c->stop->args[1],
				  (int)c->stop->args[2], c->stop->args[3],
				  (uint32_t)c->stop->args[4], &ival))
			udp_segment_set(c, s, ival);
	} else if (!c->task->call.err &&
		   st_mem_read_exact(c->task->tid, c->stop->args[4], &len,
				     sizeof(len)) == 0) {
		sockopt_value(c, (int)c->stop->args[1], (int)c->stop->args[2],
			      c->stop->args[3], len, &ival);
		snprintf(st_h_text(c, 2), 512, "[%u]", len);
		st_h_arg_text(c, 4, st_h_text(c, 2));
	}
	/* getsockopt(SO_ERROR) ends a nonblocking connect: 0 is success */
	if (!s || c->task->call.err || s->state != ST_SOCK_CONNECTING ||
	    strcmp(c->task->call.name, "getsockopt") ||
	    c->stop->args[1] != SOL_SOCKET || c->stop->args[2] != SO_ERROR ||
	    st_mem_read_exact(c->task->tid, c->stop->args[3], &soerr,
			      sizeof(soerr)) < 0)
		return;
	if (soerr) {
		s->state = ST_SOCK_CREATED;	/* the attempt failed */
		return;
	}
	st_h_who(c, c->task->fd, &who);
	st_model_connected(c->h->model, s, ST_ORIGIN_CONNECT, &who);
}
