/*
 * Data calls: read/write and their vector, positional, send/recv, msg and
 * mmsg forms, sendfile and splice.  Bytes come from the return value,
 * read from tracee memory at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "handlers/sys.h"

/* How each data call lays out its arguments. */
enum io_shape {
	IO_PLAIN,	/* fd, buf, count [, offset] */
	IO_VEC,		/* fd, iov, iovcnt [, offset ...] */
	IO_ADDR,	/* sendto/recvfrom: fd, buf, len, flags, addr, alen */
	IO_MSG,		/* fd, msghdr, flags */
	IO_MMSG,	/* fd, mmsghdr, vlen, flags */
};

struct io_kind {
	const char *name;
	enum io_shape shape;
	bool send;
};

static const struct io_kind io_kinds[] = {
	{ "read", IO_PLAIN, false }, { "write", IO_PLAIN, true },
	{ "pread64", IO_PLAIN, false }, { "pwrite64", IO_PLAIN, true },
	{ "readv", IO_VEC, false }, { "writev", IO_VEC, true },
	{ "preadv", IO_VEC, false }, { "pwritev", IO_VEC, true },
	{ "preadv2", IO_VEC, false }, { "pwritev2", IO_VEC, true },
	{ "recvfrom", IO_ADDR, false }, { "sendto", IO_ADDR, true },
	{ "recvmsg", IO_MSG, false }, { "sendmsg", IO_MSG, true },
	{ "recvmmsg", IO_MMSG, false }, { "sendmmsg", IO_MMSG, true },
	{ NULL, IO_PLAIN, false },
};

static const struct io_kind *kind_of(const char *name)
{
	for (const struct io_kind *k = io_kinds; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

static bool is_dgram(const struct st_socket *s)
{
	return s->type == SOCK_DGRAM || s->type == SOCK_SEQPACKET ||
	       s->type == SOCK_RAW;
}

/* The first send of an unbound datagram socket binds it implicitly. */
static void learn_local(struct st_hctx *c, struct st_socket *s)
{
	if ((s->family == AF_INET || s->family == AF_INET6) &&
	    (!st_endpoint_known(&s->local) || s->local.port == 0))
		st_h_refresh(c, s, c->task->fd, false);
}

/* A send with MSG_FASTOPEN and an address connects a TCP socket that
 * was not connected (TCP Fast Open, the connect folded into the first
 * send): the address is its peer, as connect's would be.  A send that
 * went through makes the conversation; EINPROGRESS leaves it
 * connecting, as a nonblocking connect does. */
static void fastopen(struct st_hctx *c, struct st_socket *s, int msgflags,
		     const struct st_endpoint *to)
{
	int err = c->task->call.err;

	if (!(msgflags & MSG_FASTOPEN) || !to || !st_endpoint_known(to) ||
	    s->proto != ST_PROTO_TCP || s->conv ||
	    (s->state != ST_SOCK_CREATED && s->state != ST_SOCK_BOUND) ||
	    (err && err != EINPROGRESS))
		return;
	st_h_refresh(c, s, c->task->fd, false);
	s->peer = *to;
	s->state = ST_SOCK_CONNECTING;
}

/* A receive that takes nothing from the stream: MSG_PEEK leaves the
 * bytes to be read again; MSG_ERRQUEUE returns the socket's error queue
 * (a datagram of ours an ICMP error came back for, or zerocopy
 * notices, with 0 bytes), which is neither data nor an end. */
static const char *not_taken(int msgflags)
{
	if (msgflags & MSG_ERRQUEUE)
		return "error queue, not recorded";
	if (msgflags & MSG_PEEK)
		return "peeked, not recorded";
	return NULL;
}

static unsigned io_flags(int msgflags, const struct st_socket *s)
{
	unsigned f = 0;

	if (msgflags & MSG_OOB)
		f |= ST_EVF_OOB;
	if (is_dgram(s))
		f |= ST_EVF_DGRAM;
	return f;
}

static void arg_msgflags(struct st_hctx *c, unsigned i, unsigned long v)
{
	st_h_flags(st_h_text(c, i), 512, v, st_msg_flags, "0");
	st_h_arg_text(c, i, st_h_text(c, i));
}

/*
 * A receive on a stream whose peer socket is traced too: the peer's
 * sends already gave these bytes, and its shutdown or close the end of
 * the stream.  When no call line is printed either, the exit stop would
 * tell nothing new, so the call is let run without one (half the stops
 * of a process talking to itself).  recvmsg is never skipped: it may
 * carry descriptors.
 */
static bool receive_is_redundant(struct st_hctx *c, const struct io_kind *k,
				 const struct st_socket *s)
{
	/* recvmsg may carry fds: it always stops */
	return k->shape != IO_MSG && k->shape != IO_MMSG &&
	       st_h_receives_redundant(c, s);
}

enum st_entry_verdict st_sys_io_entry(struct st_hctx *c)
{
	const struct io_kind *k = kind_of(c->task->call.name);
	int fd = (int)c->stop->args[0];
	struct st_socket *s;

	if (!k)
		return ST_ENTRY_SKIP;
	s = st_h_fd_socket(c, fd);
	if (!s)
		return ST_ENTRY_SKIP;	/* files, pipes, ttys: not ours */
	if (!k->send && receive_is_redundant(c, k, s)) {
		c->h->receives_unstopped++;
		return ST_ENTRY_SKIP;
	}
	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	if (k->shape == IO_ADDR && k->send && c->stop->args[4])
		c->task->addr_ok = st_h_read_sockaddr(c, c->stop->args[4],
						      c->stop->args[5],
						      &c->task->addr) == 0;
	return ST_ENTRY_WANT_EXIT;
}

/* A send on a conversation that is recorded: its payload is read while
 * the call runs, so that its exit can let the tracee go at once. */
void st_sys_io_running(struct st_hctx *c)
{
	const struct io_kind *k = kind_of(c->task->call.name);
	struct st_socket *s = c->task->sock;

	if (!k || !k->send || (k->shape != IO_PLAIN && k->shape != IO_ADDR) ||
	    !s || !s->conv || s->conv->ended ||
	    !st_model_wants_data(c->h->model, s, true))
		return;
	st_h_prefetch(c, c->stop->args[1], (size_t)c->stop->args[2]);
}

/* A receive's end-of-stream, error, or payload. */
static bool io_prelude(struct st_hctx *c, struct st_socket *s, bool send,
		       size_t ret)
{
	struct st_origin_info who;

	if (c->task->call.err) {
		st_h_data_error(c, s);
		return false;
	}
	if (!send && ret == 0 && !is_dgram(s)) {
		st_h_who(c, c->task->fd, &who);
		st_model_peer_fin(c->h->model, s, &who);
		return false;
	}
	if (send)
		learn_local(c, s);
	return true;
}

/* A message's control data, at most size bytes of it copied from the
 * tracee into ctl, and m made to describe the copy; false when there is
 * none or it cannot be read. */
static bool read_control(struct st_hctx *c, const struct msghdr *mh,
			 uint8_t *ctl, size_t size, struct msghdr *m)
{
	size_t n = mh->msg_controllen < size ? mh->msg_controllen : size;

	memset(m, 0, sizeof(*m));
	if (!mh->msg_control || n < CMSG_LEN(0) ||
	    st_mem_read_exact(c->task->tid,
			      (uint64_t)(uintptr_t)mh->msg_control, ctl,
			      n) < 0)
		return false;
	m->msg_control = ctl;
	m->msg_controllen = n;
	return true;
}

/* The cmsg after cm in the copy m describes (NULL: its first), whole;
 * NULL at the end, or at one that runs past the copy. */
static struct cmsghdr *next_cmsg(struct msghdr *m, struct cmsghdr *cm)
{
	cm = cm ? CMSG_NXTHDR(m, cm) : CMSG_FIRSTHDR(m);
	if (cm && (cm->cmsg_len < CMSG_LEN(0) ||
		   (uint8_t *)cm + cm->cmsg_len >
		   (uint8_t *)m->msg_control + m->msg_controllen))
		return NULL;
	return cm;
}

/* A message's control data: the first cmsg of level and type with at
 * least len bytes, copied to out; false when there is none. */
static bool find_cmsg(struct st_hctx *c, const struct msghdr *mh, int level,
		      int type, void *out, size_t len)
{
	uint8_t ctl[1024];	/* UDP's own come first, if at all */
	struct msghdr m;

	if (!read_control(c, mh, ctl, sizeof(ctl), &m))
		return false;
	for (struct cmsghdr *cm = next_cmsg(&m, NULL); cm;
	     cm = next_cmsg(&m, cm))
		if (cm->cmsg_level == level && cm->cmsg_type == type &&
		    cm->cmsg_len >= CMSG_LEN(len)) {
			memcpy(out, CMSG_DATA(cm), len);
			return true;
		}
	return false;
}

/*
 * UDP GSO and GRO: the datagram size one message's bytes are cut into.
 * A send's UDP_SEGMENT cmsg (a u16), else the socket's option; a
 * receive's UDP_GRO cmsg (an int), which the kernel adds when it handed
 * over several datagrams at once.  0: one datagram, as usual.
 */
static size_t udp_segments(struct st_hctx *c, const struct st_socket *s,
			   bool send, const struct msghdr *mh)
{
	uint16_t gso;
	int gro;

	if (s->proto != ST_PROTO_UDP)
		return 0;
	if (send)
		return mh && find_cmsg(c, mh, SOL_UDP, UDP_SEGMENT, &gso,
				       sizeof(gso)) ? gso : s->udp_segment;
	return mh && find_cmsg(c, mh, SOL_UDP, UDP_GRO, &gro, sizeof(gro)) &&
	       gro > 0 ? (size_t)gro : 0;
}

/* Starts cutting this call's (or message's) bytes into datagrams. */
static void segments_begin(struct st_hctx *c, const struct st_socket *s,
			   bool send, const struct msghdr *mh, size_t len,
			   bool note)
{
	size_t seg = udp_segments(c, s, send, mh);

	c->task->seg_size = seg;
	c->task->seg_fill = 0;
	if (note && seg && len > seg) {
		snprintf(c->h->note, sizeof(c->h->note),
			 "%s: %zu datagrams of %zu byte%s",
			 send ? "UDP_SEGMENT" : "UDP_GRO", (len + seg - 1) / seg,
			 seg, seg == 1 ? "" : "s");
		c->task->call.note = c->h->note;
	}
}

static void segments_end(struct st_hctx *c)
{
	c->task->seg_size = c->task->seg_fill = 0;
}

static void exit_plain(struct st_hctx *c, const struct io_kind *k,
		       struct st_socket *s)
{
	size_t ret = (size_t)c->task->call.ret;
	size_t plen = 0;

	if (io_prelude(c, s, k->send, ret)) {
		segments_begin(c, s, k->send, NULL, ret, true);
		plen = st_h_data(c, s, k->send, c->stop->args[1], ret,
				 io_flags(0, s), 0, NULL, true);
		segments_end(c);
	}
	if (c->task->call.err)
		st_h_arg_hex(c, 1, c->stop->args[1]);
	else
		st_h_arg_buf(c, 1, c->h->preview, plen, ret);
	st_h_arg_int(c, 2, (long long)c->stop->args[2]);
	if (!strncmp(k->name, "p", 1))
		st_h_arg_int(c, 3, (long long)c->stop->args[3]);
}

static void exit_vec(struct st_hctx *c, const struct io_kind *k,
		     struct st_socket *s)
{
	size_t ret = (size_t)c->task->call.ret;
	size_t plen = 0;

	if (io_prelude(c, s, k->send, ret)) {
		segments_begin(c, s, k->send, NULL, ret, true);
		plen = st_h_data_iov(c, s, k->send, c->stop->args[1],
				     c->stop->args[2], ret, io_flags(0, s), 0,
				     NULL, true);
		segments_end(c);
	}
	if (c->task->call.err)
		st_h_arg_hex(c, 1, c->stop->args[1]);
	else
		st_h_arg_buf(c, 1, c->h->preview, plen, ret);
	st_h_arg_int(c, 2, (long long)c->stop->args[2]);
}

static void exit_addr(struct st_hctx *c, const struct io_kind *k,
		      struct st_socket *s)
{
	size_t ret = (size_t)c->task->call.ret;
	int flags = (int)c->stop->args[3];
	size_t buflen = (size_t)c->stop->args[2], take = ret, plen = 0;
	unsigned evf = io_flags(flags, s);
	struct st_endpoint peer;
	bool have_peer = false;

	if (k->send) {
		have_peer = c->task->addr_ok;
		peer = c->task->addr;
		fastopen(c, s, flags, have_peer ? &peer : NULL);
	} else if (!c->task->call.err && c->stop->args[4] && c->stop->args[5]) {
		uint32_t alen = 0;

		if (st_mem_read_exact(c->task->tid, c->stop->args[5], &alen,
				      sizeof(alen)) == 0)
			have_peer = st_h_read_sockaddr(c, c->stop->args[4],
						       alen, &peer) == 0;
	}
	if (!k->send && (flags & MSG_TRUNC) && take > buflen) {
		/* a datagram longer than the buffer: only buflen exist */
		take = buflen;
		evf |= ST_EVF_TRUNC;
	}
	if (!k->send && not_taken(flags)) {
		c->task->call.note = not_taken(flags);
		if (!c->task->call.err) {
			ssize_t n = st_mem_read(c->task->tid, c->stop->args[1],
						c->h->preview,
						take < sizeof(c->h->preview)
						? take : sizeof(c->h->preview));
			plen = n > 0 ? (size_t)n : 0;
		}
	} else if (!k->send && (flags & MSG_TRUNC) && !is_dgram(s) &&
		   !c->task->call.err) {
		/* TCP with MSG_TRUNC discards the bytes without copying */
		struct st_origin_info who;

		st_h_who(c, c->task->fd, &who);
		st_model_gap(c->h->model, s, false, ret,
			     "discarded with MSG_TRUNC", NULL, &who);
	} else if (io_prelude(c, s, k->send, ret)) {
		segments_begin(c, s, k->send, NULL, take, true);
		plen = st_h_data(c, s, k->send, c->stop->args[1], take, evf,
				 ret, have_peer ? &peer : NULL, true);
		segments_end(c);
	}
	if (c->task->call.err)
		st_h_arg_hex(c, 1, c->stop->args[1]);
	else
		st_h_arg_buf(c, 1, c->h->preview, plen, take);
	st_h_arg_int(c, 2, (long long)buflen);
	arg_msgflags(c, 3, (unsigned)flags);
	if (have_peer)
		st_h_arg_addr(c, 4, &peer);
	else if (c->stop->args[4])
		st_h_arg_hex(c, 4, c->stop->args[4]);
	else
		st_h_arg_text(c, 4, "NULL");
}

/* Forgets the fds that arrive with SCM_RIGHTS: they resolve lazily.
 * Only Unix sockets carry them (one whose family is not known yet is
 * looked at all the same); a UDP receive's control data, read for its
 * GRO size, is not read twice. */
static void scan_rights(struct st_hctx *c, const struct st_socket *s,
			const struct msghdr *mh)
{
	size_t size = mh->msg_controllen < 65536 ? mh->msg_controllen : 65536;
	struct msghdr m;
	uint8_t *ctl;

	if ((s->family != AF_UNIX && s->family != AF_UNSPEC) ||
	    !mh->msg_control || size < CMSG_LEN(0))
		return;
	ctl = malloc(size);
	if (!ctl)
		return;
	if (!read_control(c, mh, ctl, size, &m)) {
		free(ctl);
		return;
	}
	for (struct cmsghdr *cm = next_cmsg(&m, NULL); cm;
	     cm = next_cmsg(&m, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			st_fdtable_forget(c->task->fdt, fd);
			/* a socket arriving here must be watched now: its
			 * reads would not stop otherwise */
			st_h_fd_socket(c, fd);
		}
	}
	free(ctl);
}

/* One message of sendmsg, recvmsg or the mmsg calls: len bytes of its iovecs. */
static size_t msg_data(struct st_hctx *c, struct st_socket *s, bool send,
		       const struct msghdr *mh, size_t len, int callflags,
		       bool preview)
{
	struct st_endpoint peer;
	bool have_peer = false;
	unsigned evf = io_flags(callflags, s);
	size_t orig = len, take = len, total = 0;
	uint64_t iov = (uint64_t)(uintptr_t)mh->msg_iov;

	if (mh->msg_name && mh->msg_namelen)
		have_peer = st_h_read_sockaddr(c,
				(uint64_t)(uintptr_t)mh->msg_name,
				mh->msg_namelen, &peer) == 0;
	if (!send && (mh->msg_flags & MSG_TRUNC) && is_dgram(s)) {
		struct iovec v[64];
		size_t n = mh->msg_iovlen < 64 ? mh->msg_iovlen : 64;

		/* what fits in the iovecs is what exists */
		if (st_mem_read_exact(c->task->tid, iov, v,
				      n * sizeof(v[0])) == 0) {
			for (size_t i = 0; i < n; i++)
				total += v[i].iov_len;
			if (take > total)
				take = total;
		}
		evf |= ST_EVF_TRUNC;
	}
	if (send)
		learn_local(c, s);
	/* the note is the line's: for the message it shows */
	segments_begin(c, s, send, mh, take, preview);
	total = st_h_data_iov(c, s, send, iov, mh->msg_iovlen, take, evf, orig,
			      have_peer ? &peer : NULL, preview);
	segments_end(c);
	return total;
}

static void exit_msg(struct st_hctx *c, const struct io_kind *k,
		     struct st_socket *s)
{
	size_t ret = (size_t)c->task->call.ret;
	int flags = (int)c->stop->args[2];
	struct msghdr mh;
	size_t plen = 0;

	st_h_arg_hex(c, 1, c->stop->args[1]);
	arg_msgflags(c, 2, (unsigned)flags);
	if (st_mem_read_exact(c->task->tid, c->stop->args[1], &mh,
			      sizeof(mh)) < 0) {
		if (!c->task->call.err) {
			struct st_origin_info who;

			st_h_who(c, c->task->fd, &who);
			st_model_gap(c->h->model, s, k->send, ret,
				     "msghdr unreadable", NULL, &who);
		}
		return;
	}
	/* a peek installs the passed descriptors too */
	if (!k->send && !c->task->call.err && !(flags & MSG_ERRQUEUE))
		scan_rights(c, s, &mh);
	if (!k->send && not_taken(flags)) {
		c->task->call.note = not_taken(flags);
		return;
	}
	if (k->send && (flags & MSG_FASTOPEN) && mh.msg_name) {
		struct st_endpoint to;

		if (st_h_read_sockaddr(c, (uint64_t)(uintptr_t)mh.msg_name,
				       mh.msg_namelen, &to) == 0)
			fastopen(c, s, flags, &to);
	}
	if (!io_prelude(c, s, k->send, ret))
		return;
	plen = msg_data(c, s, k->send, &mh, ret, flags, true);
	st_h_arg_buf(c, 1, c->h->preview, plen, ret);
}

#define MMSG_MAX 1024	/* UIO_MAXIOV bounds vlen in the kernel too */

static void exit_mmsg(struct st_hctx *c, const struct io_kind *k,
		      struct st_socket *s)
{
	long ret = c->task->call.ret;
	int flags = (int)c->stop->args[3];
	struct mmsghdr mm;

	st_h_arg_hex(c, 1, c->stop->args[1]);
	st_h_arg_int(c, 2, (long long)(unsigned)c->stop->args[2]);
	arg_msgflags(c, 3, (unsigned)flags);
	if (c->task->call.err) {
		st_h_data_error(c, s);
		return;
	}
	if (!k->send && not_taken(flags)) {
		c->task->call.note = not_taken(flags);
		return;
	}
	for (long i = 0; i < ret && i < MMSG_MAX; i++) {
		size_t plen;

		if (st_mem_read_exact(c->task->tid,
				      c->stop->args[1] + (uint64_t)i * sizeof(mm),
				      &mm, sizeof(mm)) < 0)
			break;
		if (!k->send && mm.msg_len == 0 && !is_dgram(s)) {
			struct st_origin_info who;

			st_h_who(c, c->task->fd, &who);
			st_model_peer_fin(c->h->model, s, &who);
			break;
		}
		if (!k->send)
			scan_rights(c, s, &mm.msg_hdr);
		/* the line shows the first message's bytes, as sendmsg's
		 * shows its message's */
		plen = msg_data(c, s, k->send, &mm.msg_hdr, mm.msg_len, flags,
				i == 0);
		if (i == 0)
			st_h_arg_buf(c, 1, c->h->preview, plen, mm.msg_len);
	}
	if (ret > 1)
		c->task->call.note = "the first message shown";
}

void st_sys_io_exit(struct st_hctx *c)
{
	const struct io_kind *k = kind_of(c->task->call.name);
	struct st_socket *s = c->task->sock;

	if (!k || !s)
		return;
	/* recvmsg and kin read their control data after the payload */
	c->payload_last = k->shape == IO_PLAIN || k->shape == IO_VEC ||
			  k->shape == IO_ADDR;
	switch (k->shape) {
	case IO_PLAIN:
		exit_plain(c, k, s);
		break;
	case IO_VEC:
		exit_vec(c, k, s);
		break;
	case IO_ADDR:
		exit_addr(c, k, s);
		break;
	case IO_MSG:
		exit_msg(c, k, s);
		break;
	case IO_MMSG:
		exit_mmsg(c, k, s);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* sendfile: the payload is read back from the source file */

static int fd_position(pid_t tid, int fd, uint64_t *pos)
{
	char path[64], line[128];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)tid, fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "pos: %llu", &v) == 1) {
			*pos = v;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

enum st_entry_verdict st_sys_sendfile_entry(struct st_hctx *c)
{
	int out = (int)c->stop->args[0], in = (int)c->stop->args[1];
	struct st_socket *s = st_h_fd_socket(c, out);
	uint64_t off = 0;

	if (!s)
		return ST_ENTRY_SKIP;
	st_h_hold(c, out, s);
	st_h_arg_fd(c, 0, out, s);
	st_h_arg_fd(c, 1, in, NULL);
	c->task->saved[1] = 0;
	if (c->stop->args[2]) {
		int64_t o;

		if (st_mem_read_exact(c->task->tid, c->stop->args[2], &o,
				      sizeof(o)) == 0 && o >= 0) {
			off = (uint64_t)o;
			c->task->saved[1] = 1;
		}
		snprintf(st_h_text(c, 2), 512, "[%llu]",
			 (unsigned long long)off);
		st_h_arg_text(c, 2, st_h_text(c, 2));
	} else {
		if (fd_position(c->task->tid, in, &off) == 0)
			c->task->saved[1] = 1;
		st_h_arg_text(c, 2, "NULL");
	}
	c->task->saved[0] = off;
	st_h_arg_int(c, 3, (long long)c->stop->args[3]);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_sendfile_exit(struct st_hctx *c)
{
	struct st_handlers *h = c->h;
	struct st_socket *s = c->task->sock;
	size_t ret = (size_t)c->task->call.ret, done = 0;
	struct st_origin_info who;
	uint8_t *land;
	char path[64];
	int fd = -1;

	if (!s || !io_prelude(c, s, true, ret) || ret == 0)
		return;
	st_h_who(c, c->task->fd, &who);
	if (c->task->saved[1]) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d",
			 (int)c->task->tid, (int)c->stop->args[1]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	while (fd >= 0 && done < ret) {
		size_t want = ret - done;
		ssize_t n;

		if (want > h->bufsize)
			want = h->bufsize;
		land = st_h_landing(h->buf, c->task->saved[0] + done);
		n = pread(fd, land, want, (off_t)(c->task->saved[0] + done));
		if (n <= 0)
			break;
		st_model_data(h->model, s, true, land, (size_t)n,
			      done + (size_t)n < ret ? ST_EVF_PART : 0, 0,
			      NULL, &who);
		done += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (done < ret)
		st_model_gap(h->model, s, true, ret - done,
			     "sendfile source could not be read back", NULL,
			     &who);
	c->task->call.note = done == ret ? "payload read back from the file"
					 : NULL;
}

/*
 * splice: bytes move between a pipe and a socket inside the kernel.  They
 * are seen in the pipe (st_h_pipe_peek): into a socket, at the pipe's
 * head before the call; out of one, behind what the pipe held before.
 */
enum st_entry_verdict st_sys_splice_entry(struct st_hctx *c)
{
	int in = (int)c->stop->args[0], out = (int)c->stop->args[2];
	struct st_socket *si = st_h_fd_socket(c, in);
	struct st_socket *so = st_h_fd_socket(c, out);
	size_t len = (size_t)c->stop->args[4], before = 0;

	if (!si && !so)
		return ST_ENTRY_SKIP;
	st_h_hold(c, so ? out : in, so ? so : si);
	c->task->saved[0] = so ? 1 : 0;
	c->task->saved[1] = 0;	/* the pipe could be looked at */
	st_h_arg_fd(c, 0, in, si);
	st_h_arg_hex(c, 1, c->stop->args[1]);
	st_h_arg_fd(c, 2, out, so);
	st_h_arg_hex(c, 3, c->stop->args[3]);
	st_h_arg_int(c, 4, (long long)len);
	st_h_arg_hex(c, 5, c->stop->args[5]);
	if (len > ST_PIPE_PEEK_MAX)
		len = ST_PIPE_PEEK_MAX;
	if (so && !si && st_model_wants_data(c->h->model, so, true)) {
		uint8_t *buf = st_h_task_buffer(c, len);
		ssize_t n = buf ? st_h_pipe_peek(c, in, 0, buf, len) : -ENOMEM;

		c->task->pre_len = n > 0 ? (size_t)n : 0;
		c->task->saved[1] = n >= 0;
	} else if (si && !so && st_model_wants_data(c->h->model, si, false) &&
		   st_h_pipe_pending(c, out, &before) == 0) {
		c->task->saved[1] = 1;
		c->task->saved[2] = before;
	}
	return ST_ENTRY_WANT_EXIT;
}

/* The bytes a splice moved, as far as they were seen in the pipe. */
static size_t splice_seen(struct st_hctx *c, bool send, size_t ret,
			  const uint8_t **bytes)
{
	struct st_task *t = c->task;
	size_t want = ret < ST_PIPE_PEEK_MAX ? ret : ST_PIPE_PEEK_MAX;
	uint8_t *buf;
	ssize_t n;

	*bytes = t->pre;
	if (!t->saved[1])
		return 0;
	if (send)
		return t->pre_len < ret ? t->pre_len : ret;
	buf = st_h_task_buffer(c, want);
	n = buf ? st_h_pipe_peek(c, (int)c->stop->args[2], t->saved[2], buf,
				 want) : -ENOMEM;
	*bytes = buf;
	return n > 0 ? (size_t)n : 0;
}

void st_sys_splice_exit(struct st_hctx *c)
{
	static const struct st_flag fl[] = {
		{ SPLICE_F_MOVE, "SPLICE_F_MOVE" },
		{ SPLICE_F_NONBLOCK, "SPLICE_F_NONBLOCK" },
		{ SPLICE_F_MORE, "SPLICE_F_MORE" },
		{ SPLICE_F_GIFT, "SPLICE_F_GIFT" }, { 0, NULL } };
	struct st_handlers *h = c->h;
	struct st_socket *s = c->task->sock;
	bool send = c->task->saved[0];
	size_t ret = (size_t)c->task->call.ret, seen, done = 0;
	struct st_origin_info who;
	const uint8_t *bytes;

	st_h_flags(st_h_text(c, 2), 512, (unsigned)c->stop->args[5], fl, "0");
	st_h_arg_text(c, 5, st_h_text(c, 2));
	if (!s || !io_prelude(c, s, send, ret) || ret == 0 ||
	    !st_model_wants_data(h->model, s, send)) {
		c->task->pre_len = 0;
		return;
	}
	st_h_who(c, c->task->fd, &who);
	seen = splice_seen(c, send, ret, &bytes);
	c->task->pre_len = 0;
	while (done < seen) {
		size_t n = seen - done < h->bufsize ? seen - done : h->bufsize;

		st_model_data(h->model, s, send, bytes + done, n,
			      done + n < ret ? ST_EVF_PART : 0, 0, NULL, &who);
		done += n;
	}
	if (done < ret)
		st_model_gap(h->model, s, send, ret - done,
			     "spliced through a pipe: bytes not seen there",
			     NULL, &who);
	c->task->call.note = done == ret ? "payload seen in the pipe"
		: "bytes not all seen in the pipe: the rest is a gap";
}
