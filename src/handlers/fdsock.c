/*
 * Which socket an fd is: resolved at first sight through /proc and the
 * kernel (pidfd_getfd, sock_diag), then kept in the fd table.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "handlers/handlers.h"
#include "resolve/resolve.h"

static void apply_info(struct st_socket *s, const struct st_sockinfo *in)
{
	if (in->family && !s->family)
		st_socket_set_type(s, in->family, in->type, in->protocol);
	if (st_endpoint_known(&in->local))
		s->local = in->local;
	if (st_endpoint_known(&in->peer))
		s->peer = in->peer;
	if (in->peer_ino)
		s->peer_ino = in->peer_ino;
	if (in->udp_segment)
		s->udp_segment = in->udp_segment;
	if (in->listening) {
		s->listening = true;
		s->state = ST_SOCK_LISTENING;
	} else if (st_endpoint_known(&in->peer) &&
		   s->state < ST_SOCK_CONNECTED) {
		s->state = ST_SOCK_CONNECTED;
	}
	s->local_resolved = true;
}

void st_h_refresh(struct st_hctx *c, struct st_socket *s, int fd, bool full)
{
	struct st_sockinfo in;

	memset(&in, 0, sizeof(in));
	if (full) {
		if (st_resolve_sockinfo(c->task->tgid, fd, &in) == 0)
			apply_info(s, &in);
		return;
	}
	if (st_resolve_local(c->task->tgid, fd, &in.local) == 0 &&
	    st_endpoint_known(&in.local)) {
		s->local = in.local;
		s->local_resolved = true;
	}
}

void st_h_watch(struct st_hctx *c, int fd)
{
	if (c->stop->watch_fd)
		c->stop->watch_fd(c->stop, fd, true);
}

void st_h_watch_sends_only(struct st_hctx *c, int fd)
{
	if (c->stop->watch_fd)
		c->stop->watch_fd(c->stop, fd, false);
}

bool st_h_receives_redundant(const struct st_hctx *c,
			     const struct st_socket *s)
{
	/* Under -q no call line needs them, and on a stream whose peer
	 * socket is traced too the peer's sends recorded every byte (not
	 * wanted from this side implies a conversation not yet ended). */
	return !c->h->calls.on_call && s->type == SOCK_STREAM && s->conv &&
	       !st_model_wants_data(c->h->model, s, false) &&
	       s->conv->both_traced;
}

/* The peer is on this host: a loopback address, or the socket's own. */
static bool peer_is_local(const struct st_socket *s)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a6 = s->peer.v6.s6_addr;

	if (s->peer.family == AF_INET)
		return (ntohl(s->peer.v4.s_addr) >> 24) == 127 ||
		       s->peer.v4.s_addr == s->local.v4.s_addr;
	if (s->peer.family != AF_INET6)
		return false;
	if (!memcmp(a6, v4mapped, 12) && a6[12] == 127)
		return true;
	return IN6_IS_ADDR_LOOPBACK(&s->peer.v6) ||
	       !memcmp(a6, s->local.v6.s6_addr, 16);
}

bool st_h_peer_traced(const struct st_hctx *c, const struct st_socket *s)
{
	uint64_t ino = 0;

	if (c->h->calls.on_call || s->type != SOCK_STREAM)
		return false;
	if (s->family == AF_UNIX)
		ino = s->peer_ino;
	else if (st_endpoint_known(&s->peer) && st_endpoint_known(&s->local) &&
		 peer_is_local(s) &&
		 st_diag_tcp_inode(c->task->tgid, &s->peer, &s->local,
				   &ino) < 0)
		ino = 0;
	return ino && st_model_socket_find(c->h->model, ino);
}

struct st_socket *st_h_new_fd(struct st_hctx *c, int fd, bool full)
{
	uint64_t ino = 0;
	struct st_socket *s;

	if (st_resolve_fd_inode(c->task->tid, fd, &ino) < 0)
		ino = 0;
	s = st_model_socket_new(c->h->model, ino);
	if (!s)
		return NULL;
	st_h_watch(c, fd);
	if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0) {
		/* fd beyond the cache: keep the socket for this call */
		st_socket_ref(s);
		st_socket_unref(c->h->model, s, NULL);
		return NULL;
	}
	if (full)
		st_h_refresh(c, s, fd, true);
	return s;
}

struct st_socket *st_h_fd_socket(struct st_hctx *c, int fd)
{
	struct st_socket *s;
	uint64_t ino;
	int rc;

	switch (st_fdtable_lookup(c->task->fdt, fd, &s)) {
	case ST_FD_SOCKET:
		return s;
	case ST_FD_OTHER:
		return NULL;
	default:
		break;
	}
	if (fd < 0)
		return NULL;
	rc = st_resolve_fd_inode(c->task->tid, fd, &ino);
	if (rc == -ENOTSOCK) {
		st_fdtable_set_other(c->task->fdt, fd);
		return NULL;
	}
	if (rc < 0)
		return NULL;	/* not open (EBADF) or gone: do not cache */
	st_h_watch(c, fd);
	s = st_model_socket_find(c->h->model, ino);
	if (!s) {
		s = st_model_socket(c->h->model, ino);
		if (!s)
			return NULL;
		/* first sight (inherited, attached, passed): ask the kernel */
		st_socket_ref(s);
		st_h_refresh(c, s, fd, true);
		if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0) {
			st_socket_unref(c->h->model, s, NULL);
			return NULL;
		}
		st_socket_unref(c->h->model, s, NULL);
		return s;
	}
	if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0)
		return NULL;
	return s;
}

void st_h_hold(struct st_hctx *c, int fd, struct st_socket *sock)
{
	struct st_task *t = c->task;

	if (sock && !t->sock) {
		st_socket_ref(sock);
		t->sock = sock;
	}
	t->fd = fd;
	t->visible = true;
}

void st_h_who(const struct st_hctx *c, int fd, struct st_origin_info *who)
{
	memset(who, 0, sizeof(*who));
	who->pid = c->task->tgid;
	who->tid = c->task->tid;
	who->fd = fd;
	who->syscall = c->task->call.name;
	who->comm = c->task->comm;
	who->ts = c->stop->ts;
}

int st_h_read_sockaddr(struct st_hctx *c, uint64_t addr, uint64_t len,
		       struct st_endpoint *ep)
{
	struct sockaddr_storage ss;
	ssize_t n;

	memset(ep, 0, sizeof(*ep));
	if (!addr || len == 0)
		return -EINVAL;
	if (len > sizeof(ss))
		len = sizeof(ss);
	n = st_mem_read(c->task->tid, addr, &ss, (size_t)len);
	if (n < 0)
		return (int)n;
	return st_endpoint_from_sockaddr(ep, &ss, (size_t)n);
}
