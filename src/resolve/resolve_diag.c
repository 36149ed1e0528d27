/*
 * sock_diag lookups by inode, through libnl.
 *
 * A netlink socket answers for the network namespace it was created in,
 * so there is one per namespace, created after a setns() into it (and
 * straight back), and cached: later lookups in that namespace need no
 * setns at all.  Cached sockets keep their namespace alive until evicted
 * or st_resolve_cleanup().
 *
 * AF_UNIX has an exact lookup by inode (one request, one reply).  inet_diag
 * has none (its exact lookup wants the 4-tuple), so TCP and UDP are one
 * dump per family and protocol, matched on idiag_inode; idiag_ext is 0 to
 * keep each record small.  A TCP dump walks the whole established hash
 * whatever the family asked, so when the family is unknown we use the
 * legacy TCPDIAG_GETSOCK request, whose dump covers IPv4 and IPv6 in one
 * walk (libnl-idiag's idiagnl_send_simple sends the same request but
 * hides its sequence number, which our receive loop checks).  We receive with our own loop over nl_recv()
 * rather than nl_recvmsgs() so that stale replies (other sequence numbers)
 * and malformed messages are skipped instead of failing the lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/idiag/idiagnl.h>
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>

#include "resolve/resolve_internal.h"

#define ST_TCP_LISTEN	10	/* TCP_LISTEN, the state of listeners */
#define NS_CACHE_SIZE	8
#define DIAG_TIMEOUT_S	2	/* the kernel answers at once; this only
				 * bounds a wedged socket */

struct ns_ent {
	dev_t dev;
	ino_t ino;
	struct nl_sock *sk;	/* NULL: free slot */
	uint64_t stamp;		/* last use, for LRU eviction */
};

static struct ns_ent ns_cache[NS_CACHE_SIZE];
static uint64_t ns_clock;
static int self_nsfd = -1;	/* the namespace we return to after setns */
static dev_t self_dev;
static ino_t self_ino;

/* libnl error (negative NLE_*) to a negative errno. */
static int nlerr_to_errno(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
	case NLE_NOACCESS:
		return -EPERM;
	case NLE_AGAIN:
		return -ETIMEDOUT;
	case NLE_AF_NOSUPPORT:
	case NLE_PROTO_MISMATCH:
	case NLE_OPNOTSUPP:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

static int self_ns_init(void)
{
	struct stat st;

	if (self_nsfd >= 0)
		return 0;
	/* thread-self: setns() acts on the calling thread only */
	self_nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_nsfd < 0)
		self_nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_nsfd < 0)
		return -errno;
	if (fstat(self_nsfd, &st) < 0) {
		int e = -errno;

		close(self_nsfd);
		self_nsfd = -1;
		return e;
	}
	self_dev = st.st_dev;
	self_ino = st.st_ino;
	return 0;
}

/* A sock_diag socket in the current namespace. */
static int nl_open_here(struct nl_sock **out)
{
	struct timeval tv = { .tv_sec = DIAG_TIMEOUT_S };
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	/* our receive loop checks sequence numbers itself; no ACKs, so an
	 * exact request gets exactly one reply (message or error) */
	nl_socket_disable_auto_ack(sk);
	/* peek first, so a big dump record is never truncated */
	nl_socket_enable_msg_peek(sk);
	r = idiagnl_connect(sk);	/* SOCK_CLOEXEC, NETLINK_SOCK_DIAG */
	if (r < 0) {
		nl_socket_free(sk);
		return nlerr_to_errno(r);
	}
	if (setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0) {
		r = -errno;
		nl_socket_free(sk);
		return r;
	}
	*out = sk;
	return 0;
}

static void ns_drop(struct nl_sock *sk)
{
	unsigned i;

	for (i = 0; i < NS_CACHE_SIZE; i++) {
		if (ns_cache[i].sk == sk) {
			nl_socket_free(sk);
			memset(&ns_cache[i], 0, sizeof(ns_cache[i]));
			return;
		}
	}
}

/* The cached sock_diag socket of the namespace nsfd refers to. */
static int ns_sock(int nsfd, struct nl_sock **skp)
{
	struct ns_ent *slot = NULL;
	struct nl_sock *sk = NULL;
	struct stat st;
	unsigned i;
	int r;

	if (fstat(nsfd, &st) < 0)
		return -errno;
	for (i = 0; i < NS_CACHE_SIZE; i++) {
		struct ns_ent *e = &ns_cache[i];

		if (e->sk && e->dev == st.st_dev && e->ino == st.st_ino) {
			e->stamp = ++ns_clock;
			*skp = e->sk;
			return 0;
		}
		if (!slot || (slot->sk && (!e->sk || e->stamp < slot->stamp)))
			slot = e;
	}

	r = self_ns_init();
	if (r < 0)
		return r;
	if (st.st_dev == self_dev && st.st_ino == self_ino) {
		r = nl_open_here(&sk);
	} else {
		if (setns(nsfd, CLONE_NEWNET) < 0)
			return errno == EACCES ? -EPERM : -errno;
		r = nl_open_here(&sk);
		if (setns(self_nsfd, CLONE_NEWNET) < 0 &&
		    setns(self_nsfd, CLONE_NEWNET) < 0) {
			/* Stuck in the tracee's namespace: nothing here
			 * can fix that; at least do not hide it. */
			int e = -errno;

			if (sk)
				nl_socket_free(sk);
			return e;
		}
	}
	if (r < 0)
		return r;
	if (slot->sk)
		nl_socket_free(slot->sk);
	slot->dev = st.st_dev;
	slot->ino = st.st_ino;
	slot->sk = sk;
	slot->stamp = ++ns_clock;
	*skp = sk;
	return 0;
}

void st_diag_cleanup(void)
{
	unsigned i;

	for (i = 0; i < NS_CACHE_SIZE; i++)
		if (ns_cache[i].sk)
			nl_socket_free(ns_cache[i].sk);
	memset(ns_cache, 0, sizeof(ns_cache));
	if (self_nsfd >= 0)
		close(self_nsfd);
	self_nsfd = -1;
}

/* ------------------------------------------------------------------ */
/* Reply parsing. */

static void fill_inet(struct st_diag_query *q, const struct inet_diag_msg *m)
{
	struct st_sockinfo *o = q->out;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa;
	socklen_t len;
	bool v6 = m->idiag_family == AF_INET6;

	memset(o, 0, sizeof(*o));
	o->family = m->idiag_family;
	o->type = q->protocol == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	o->protocol = q->protocol;
	o->ino = m->idiag_inode;
	o->state = m->idiag_state;
	o->listening = q->protocol == IPPROTO_TCP &&
		       m->idiag_state == ST_TCP_LISTEN;

	memset(&sa, 0, sizeof(sa));
	if (v6) {
		sa.v6.sin6_family = AF_INET6;
		sa.v6.sin6_port = m->id.idiag_sport;
		memcpy(&sa.v6.sin6_addr, m->id.idiag_src, 16);
		len = sizeof(sa.v6);
	} else {
		sa.v4.sin_family = AF_INET;
		sa.v4.sin_port = m->id.idiag_sport;
		memcpy(&sa.v4.sin_addr, m->id.idiag_src, 4);
		len = sizeof(sa.v4);
	}
	if (st_endpoint_from_sockaddr(&o->local, &sa, len) < 0)
		memset(&o->local, 0, sizeof(o->local));

	/* No peer for listeners and unconnected sockets (port 0). */
	if (o->listening || m->id.idiag_dport == 0)
		return;
	if (v6) {
		sa.v6.sin6_port = m->id.idiag_dport;
		memcpy(&sa.v6.sin6_addr, m->id.idiag_dst, 16);
	} else {
		sa.v4.sin_port = m->id.idiag_dport;
		memcpy(&sa.v4.sin_addr, m->id.idiag_dst, 4);
	}
	if (st_endpoint_from_sockaddr(&o->peer, &sa, len) < 0)
		memset(&o->peer, 0, sizeof(o->peer));
}

static void parse_inet(struct st_diag_query *q, const struct nlmsghdr *h)
{
	size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
	struct inet_diag_msg m;

	if (h->nlmsg_len < NLMSG_HDRLEN || plen < sizeof(m))
		return;		/* truncated record: not usable */
	memcpy(&m, (const char *)h + NLMSG_HDRLEN, sizeof(m));
	if (q->found || (q->ino && m.idiag_inode != q->ino) ||
	    (m.idiag_family != AF_INET && m.idiag_family != AF_INET6))
		return;
	fill_inet(q, &m);
	q->found = true;
}

static void parse_unix(struct st_diag_query *q, const struct nlmsghdr *h)
{
	size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
	const size_t fixed = NLMSG_ALIGN(sizeof(struct unix_diag_msg));
	struct st_sockinfo *o = q->out;
	struct unix_diag_msg m;
	struct sockaddr_un sun;
	size_t namelen = 0;
	struct nlattr *a;
	int rem;

	if (h->nlmsg_len < NLMSG_HDRLEN || plen < sizeof(m))
		return;
	memcpy(&m, (const char *)h + NLMSG_HDRLEN, sizeof(m));
	if (q->found || m.udiag_ino != q->ino || m.udiag_family != AF_UNIX)
		return;

	memset(o, 0, sizeof(*o));
	o->family = AF_UNIX;
	o->type = m.udiag_type;
	o->ino = m.udiag_ino;
	o->state = m.udiag_state;
	o->listening = m.udiag_state == ST_TCP_LISTEN;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen > fixed) {
		nla_for_each_attr(a, (struct nlattr *)((char *)h +
				  NLMSG_HDRLEN + fixed),
				  (int)(plen - fixed), rem) {
			const void *d = nla_data(a);
			size_t n = (size_t)nla_len(a);
			uint32_t peer;

			switch (nla_type(a)) {
			case UNIX_DIAG_NAME:
				namelen = n < sizeof(sun.sun_path) ?
					  n : sizeof(sun.sun_path);
				memcpy(sun.sun_path, d, namelen);
				break;
			case UNIX_DIAG_PEER:
				if (n >= sizeof(peer)) {
					memcpy(&peer, d, sizeof(peer));
					o->peer_ino = peer;
				}
				break;
			}
		}
	}
	/* No name attribute: unbound, which decodes as "unnamed", the way
	 * getsockname() reports it. */
	if (st_endpoint_from_sockaddr(&o->local, &sun,
				      offsetof(struct sockaddr_un, sun_path) +
				      namelen) < 0)
		memset(&o->local, 0, sizeof(o->local));
	q->found = true;
}

void st_diag_parse(struct st_diag_query *q, const void *buf, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len;

	for (; !q->done && nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
		size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
		int e;

		if (h->nlmsg_seq != q->seq)
			continue;	/* left over from an older request */
		switch (h->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_DONE:
			/* a dump may end with an error code */
			if (plen >= sizeof(e)) {
				memcpy(&e, nlmsg_data(h), sizeof(e));
				if (e < 0 && !q->found)
					q->err = e;
			}
			q->done = true;
			break;
		case NLMSG_ERROR:
			if (plen >= sizeof(e)) {
				memcpy(&e, nlmsg_data(h), sizeof(e));
				if (e < 0)
					q->err = e;
				else if (e > 0)
					q->err = -EIO;
			} else {
				q->err = -EIO;
			}
			q->done = true;
			break;
		case NLMSG_OVERRUN:
			q->err = -EIO;
			q->done = true;
			break;
		case TCPDIAG_GETSOCK:	/* legacy TCP dump replies */
			if (q->family == AF_UNIX)
				break;
			/* fall through */
		case SOCK_DIAG_BY_FAMILY:
			if (q->family == AF_UNIX)
				parse_unix(q, h);
			else
				parse_inet(q, h);
			/* an exact request's reply is a single message */
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				q->done = true;
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Requests. */

/*
 * One request on sk, replies read to the end.  0 when found, -ENOENT when
 * not.  *broken is set when the socket may hold unread replies (it must
 * not be reused).
 */
static int diag_run(struct nl_sock *sk, struct st_diag_query *q,
		    bool *broken)
{
	union {
		struct unix_diag_req u;
		struct inet_diag_req_v2 i;
		struct inet_diag_req legacy;
	} req;
	struct nl_msg *msg;
	size_t rlen;
	int type = SOCK_DIAG_BY_FAMILY, flags, r;

	*broken = false;
	memset(&req, 0, sizeof(req));
	if (q->family == AF_UNIX) {
		req.u.sdiag_family = AF_UNIX;
		req.u.udiag_states = ~0u;
		req.u.udiag_ino = q->ino;
		req.u.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
		req.u.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req.u.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
		rlen = sizeof(req.u);
		flags = 0;
	} else if (q->family == AF_UNSPEC) {
		/* TCP over both families: the legacy dump (see above) */
		type = TCPDIAG_GETSOCK;
		req.legacy.idiag_family = AF_INET;	/* ignored by dumps */
		req.legacy.idiag_states = ~0u;
		req.legacy.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req.legacy.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
		rlen = sizeof(req.legacy);
		flags = NLM_F_DUMP;
	} else {
		req.i.sdiag_family = (uint8_t)q->family;
		req.i.sdiag_protocol = (uint8_t)q->protocol;
		req.i.idiag_states = ~0u;
		req.i.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req.i.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
		rlen = sizeof(req.i);
		flags = NLM_F_DUMP;
		if (q->src && q->dst) {
			bool v4 = q->family == AF_INET;

			req.i.id.idiag_sport = htons(q->src->port);
			req.i.id.idiag_dport = htons(q->dst->port);
			memcpy(req.i.id.idiag_src, v4 ? (const void *)&q->src->v4
						      : &q->src->v6, v4 ? 4 : 16);
			memcpy(req.i.id.idiag_dst, v4 ? (const void *)&q->dst->v4
						      : &q->dst->v6, v4 ? 4 : 16);
			flags = 0;
		}
	}

	msg = nlmsg_alloc_simple(type, flags);
	if (!msg)
		return -ENOMEM;
	r = nlmsg_append(msg, &req, rlen, NLMSG_ALIGNTO);
	if (r < 0) {
		nlmsg_free(msg);
		return nlerr_to_errno(r);
	}
	r = nl_send_auto(sk, msg);
	q->seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (r < 0) {
		*broken = true;
		return nlerr_to_errno(r);
	}

	q->found = q->done = false;
	q->err = 0;
	while (!q->done) {
		struct sockaddr_nl from;
		unsigned char *buf = NULL;

		memset(&from, 0, sizeof(from));
		r = nl_recv(sk, &from, &buf, NULL);
		if (r <= 0) {
			free(buf);
			*broken = true;	/* a dump may be half read */
			return r == 0 ? -ETIMEDOUT : nlerr_to_errno(r);
		}
		if (from.nl_pid == 0)	/* only the kernel answers */
			st_diag_parse(q, buf, (size_t)r);
		free(buf);
	}
	if (q->found)
		return 0;
	return q->err ? q->err : -ENOENT;
}

/* ino, or (ino 0) the socket whose own endpoint is src and peer dst. */
static int diag_one(struct nl_sock **skp, int nsfd, uint64_t ino,
		    int family, int protocol, const struct st_endpoint *src,
		    const struct st_endpoint *dst, struct st_sockinfo *out)
{
	struct st_diag_query q;
	bool broken;
	int r, tries;

	/* A socket found broken (e.g. a timed out dump) is replaced once. */
	for (tries = 0; tries < 2; tries++) {
		memset(&q, 0, sizeof(q));
		q.family = family;
		q.protocol = protocol;
		q.ino = (uint32_t)ino;
		q.src = src;
		q.dst = dst;
		q.out = out;
		r = diag_run(*skp, &q, &broken);
		if (!broken)
			return r;
		ns_drop(*skp);
		*skp = NULL;
		if (ns_sock(nsfd, skp) < 0)
			return r;
	}
	return r;
}

int st_diag_lookup_nsfd(int nsfd, uint64_t ino, int family, int protocol,
			bool peer_name, struct st_sockinfo *out)
{
	/* family unknown: the cheapest first; AF_UNSPEC/TCP is the one
	 * legacy dump covering IPv4 and IPv6 */
	static const struct {
		int family, protocol;
	} order[] = {
		{ AF_UNIX, 0 },
		{ AF_UNSPEC, IPPROTO_TCP },
		{ AF_INET, IPPROTO_UDP },
		{ AF_INET6, IPPROTO_UDP },
	};
	struct st_sockinfo tmp;
	struct nl_sock *sk;
	unsigned i, n = sizeof(order) / sizeof(order[0]);
	int r;

	memset(out, 0, sizeof(*out));
	/* sock_diag inodes are 32 bits wide */
	if (ino == 0 || ino > UINT32_MAX)
		return -ENOENT;
	r = ns_sock(nsfd, &sk);
	if (r < 0)
		return r;

	if (family) {
		r = diag_one(&sk, nsfd, ino, family, protocol, NULL, NULL,
			     &tmp);
	} else {
		for (i = 0, r = -ENOENT; i < n && r == -ENOENT && sk; i++) {
			r = diag_one(&sk, nsfd, ino, order[i].family,
				     order[i].protocol, NULL, NULL, &tmp);
			/* a kernel without the legacy request: per family */
			if (order[i].family == AF_UNSPEC && sk &&
			    (r == -EOPNOTSUPP || r == -EINVAL)) {
				r = diag_one(&sk, nsfd, ino, AF_INET,
					     IPPROTO_TCP, NULL, NULL, &tmp);
				if (r == -ENOENT && sk)
					r = diag_one(&sk, nsfd, ino, AF_INET6,
						     IPPROTO_TCP, NULL, NULL,
						     &tmp);
			}
		}
	}
	if (r < 0)
		return r;
	*out = tmp;

	/* The peer's name (what getpeername() would say) is the peer
	 * socket's own bound name: one more exact request. */
	if (peer_name && sk && out->family == AF_UNIX && out->peer_ino &&
	    diag_one(&sk, nsfd, out->peer_ino, AF_UNIX, 0, NULL, NULL,
		     &tmp) == 0)
		out->peer = tmp.local;
	return 0;
}

static int open_pid_netns(pid_t pid)
{
	char path[64];
	int fd;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -ESRCH;
	if (errno == EACCES)
		return -EPERM;
	return -errno;
}

int st_diag_lookup_proto(pid_t pid, uint64_t ino, int family, int protocol,
			 struct st_sockinfo *out)
{
	int nsfd, r;

	if (family == AF_UNIX) {
		if (protocol != 0)
			return -EINVAL;
	} else if (family == AF_INET || family == AF_INET6) {
		if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	nsfd = open_pid_netns(pid);
	if (nsfd < 0) {
		memset(out, 0, sizeof(*out));
		return nsfd;
	}
	r = st_diag_lookup_nsfd(nsfd, ino, family, protocol, true, out);
	close(nsfd);
	return r;
}

int st_diag_tcp_inode(pid_t pid, const struct st_endpoint *local,
		      const struct st_endpoint *peer, uint64_t *ino)
{
	struct st_sockinfo tmp;
	struct nl_sock *sk;
	int nsfd, r;

	*ino = 0;
	if ((local->family != AF_INET && local->family != AF_INET6) ||
	    peer->family != local->family || !local->port || !peer->port)
		return -EINVAL;
	nsfd = open_pid_netns(pid);
	if (nsfd < 0)
		return nsfd;
	r = ns_sock(nsfd, &sk);
	if (r == 0)
		r = diag_one(&sk, nsfd, 0, local->family, IPPROTO_TCP, local,
			     peer, &tmp);
	if (r == 0)
		*ino = tmp.ino;
	close(nsfd);
	return r;
}

int st_diag_lookup(pid_t pid, uint64_t ino, struct st_sockinfo *out)
{
	int nsfd, r;

	nsfd = open_pid_netns(pid);
	if (nsfd < 0) {
		memset(out, 0, sizeof(*out));
		return nsfd;
	}
	r = st_diag_lookup_nsfd(nsfd, ino, 0, 0, true, out);
	close(nsfd);
	return r;
}
