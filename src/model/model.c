/*
 * The model: sockets by inode, conversations, and the event stream the
 * outputs consume.  No I/O here; handlers call in, sinks are called out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "socktap/model.h"

#define SOCK_BUCKETS 1024
#define CONV_BUCKETS 4096
#define MAX_SINKS 8

struct st_model {
	struct st_socket *socks[SOCK_BUCKETS];
	struct st_conv *conv_hash[CONV_BUCKETS];
	struct st_conv *convs, *convs_tail;
	uint64_t nconvs;
	uint64_t order;
	struct st_sink sinks[MAX_SINKS];
	int sink_err[MAX_SINKS];
	unsigned nsinks;
	st_select_fn select;
	void *select_arg;
	bool detaching;
	st_sink_error_fn on_error;
	void *on_error_arg;
	st_route_fn route;
	void *route_arg;
	struct st_origin_info ctx;
	char ctx_comm[16];	/* ctx.comm points here: tasks come and go */
	uint64_t *outside;	/* st_model_hold_outside's inodes */
	size_t noutside;
};

static const char *const proto_names[ST_PROTO_COUNT] = {
	[ST_PROTO_OTHER] = "SOCKET",
	[ST_PROTO_TCP] = "TCP",
	[ST_PROTO_UDP] = "UDP",
	[ST_PROTO_UNIX_STREAM] = "UNIX-STREAM",
	[ST_PROTO_UNIX_DGRAM] = "UNIX-DGRAM",
	[ST_PROTO_UNIX_SEQPACKET] = "UNIX-SEQPACKET",
	[ST_PROTO_NETLINK] = "NETLINK",
	[ST_PROTO_RAW] = "RAW",
};

const char *st_proto_name(enum st_proto proto)
{
	if ((unsigned)proto >= ST_PROTO_COUNT)
		return "SOCKET";
	return proto_names[proto];
}

const char *st_origin_name(enum st_origin o)
{
	switch (o) {
	case ST_ORIGIN_CONNECT: return "connect";
	case ST_ORIGIN_ACCEPT: return "accept";
	case ST_ORIGIN_PAIR: return "pair";
	case ST_ORIGIN_MIDSTREAM: return "midstream";
	case ST_ORIGIN_DGRAM: return "dgram";
	}
	return "unknown";
}

const char *st_end_name(enum st_end e)
{
	switch (e) {
	case ST_END_OPEN: return "open";
	case ST_END_FIN: return "fin";
	case ST_END_RESET: return "reset";
	case ST_END_CLOSED: return "closed";
	}
	return "unknown";
}

/* The model counts an event's bytes into the conversation before handing
 * it out: the counters minus this event are where it starts. */
uint64_t st_event_offset(const struct st_event *ev)
{
	const struct st_conv *c = ev->conv;
	uint64_t total = c->bytes[ev->dir] + c->gap_bytes[ev->dir];

	if (ev->type == ST_EV_DATA || ev->type == ST_EV_GAP)
		return total >= ev->len ? total - ev->len : 0;
	return total;
}

enum st_proto st_proto_from(int family, int type, int protocol)
{
	type &= 0xf;	/* SOCK_NONBLOCK / SOCK_CLOEXEC are not the type */
	switch (family) {
	case AF_INET:
	case AF_INET6:
		if (type == SOCK_STREAM &&
		    (protocol == 0 || protocol == IPPROTO_TCP))
			return ST_PROTO_TCP;
		if (type == SOCK_DGRAM &&
		    (protocol == 0 || protocol == IPPROTO_UDP ||
		     protocol == IPPROTO_UDPLITE))
			return ST_PROTO_UDP;
		if (type == SOCK_RAW)
			return ST_PROTO_RAW;
		return ST_PROTO_OTHER;
	case AF_UNIX:
		if (type == SOCK_STREAM)
			return ST_PROTO_UNIX_STREAM;
		if (type == SOCK_DGRAM)
			return ST_PROTO_UNIX_DGRAM;
		if (type == SOCK_SEQPACKET)
			return ST_PROTO_UNIX_SEQPACKET;
		return ST_PROTO_OTHER;
	case AF_NETLINK:
		return ST_PROTO_NETLINK;
	default:
		return ST_PROTO_OTHER;
	}
}

bool st_proto_is_stream(enum st_proto proto)
{
	return proto == ST_PROTO_TCP || proto == ST_PROTO_UNIX_STREAM ||
	       proto == ST_PROTO_UNIX_SEQPACKET;
}

bool st_proto_is_unix(enum st_proto proto)
{
	return proto == ST_PROTO_UNIX_STREAM || proto == ST_PROTO_UNIX_DGRAM ||
	       proto == ST_PROTO_UNIX_SEQPACKET;
}

/* Conversations are recorded for these; netlink/raw are only traced. */
static bool proto_has_conv(enum st_proto proto)
{
	return proto == ST_PROTO_TCP || proto == ST_PROTO_UDP ||
	       st_proto_is_unix(proto);
}

struct st_model *st_model_new(void)
{
	return calloc(1, sizeof(struct st_model));
}

void st_model_set_context(struct st_model *m,
			  const struct st_origin_info *who)
{
	m->ctx = *who;
	/* the context outlives the task it came from (END events at
	 * finish): keep our own copy of the name */
	memset(m->ctx_comm, 0, sizeof(m->ctx_comm));
	if (who->comm)
		memcpy(m->ctx_comm, who->comm,
		       strnlen(who->comm, sizeof(m->ctx_comm) - 1));
	m->ctx.comm = m->ctx_comm;
}

int st_model_add_sink(struct st_model *m, const struct st_sink *sink)
{
	if (m->nsinks >= MAX_SINKS)
		return -ENOSPC;
	m->sinks[m->nsinks++] = *sink;
	return (int)m->nsinks - 1;
}

void st_model_set_select(struct st_model *m, st_select_fn fn, void *arg)
{
	m->select = fn;
	m->select_arg = arg;
}

void st_model_set_error_handler(struct st_model *m, st_sink_error_fn fn,
				void *arg)
{
	m->on_error = fn;
	m->on_error_arg = arg;
}

void st_model_set_route(struct st_model *m, st_route_fn fn, void *arg)
{
	m->route = fn;
	m->route_arg = arg;
}

static bool wildcard(const struct st_endpoint *ep)
{
	if (ep->family == AF_INET)
		return ep->v4.s_addr == 0;
	if (ep->family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&ep->v6);
	return false;
}

int st_model_sink_error(const struct st_model *m, const char **sink_name)
{
	for (unsigned i = 0; i < m->nsinks; i++) {
		if (m->sink_err[i]) {
			if (sink_name)
				*sink_name = m->sinks[i].name;
			return m->sink_err[i];
		}
	}
	return 0;
}

const struct st_conv *st_model_convs(const struct st_model *m)
{
	return m->convs;
}

uint64_t st_model_conv_count(const struct st_model *m)
{
	return m->nconvs;
}

/* ------------------------------------------------------------------ */
/* events */

static void emit(struct st_model *m, struct st_event *ev)
{
	ev->order = ++m->order;
	if (!ev->conv->selected)
		return;
	for (unsigned i = 0; i < m->nsinks; i++) {
		int rc;

		if (m->sink_err[i] || !m->sinks[i].on_event)
			continue;
		rc = m->sinks[i].on_event(m->sinks[i].priv, ev);
		if (rc < 0) {
			m->sink_err[i] = rc;
			if (m->on_error)
				m->on_error(m->on_error_arg,
					    m->sinks[i].name, rc);
		}
	}
}

static const struct st_origin_info *who_or_ctx(struct st_model *m,
					       const struct st_origin_info *w)
{
	return w ? w : &m->ctx;
}

static void conv_touch(struct st_conv *c, const struct st_origin_info *who)
{
	unsigned i;

	if (!c->first.tv_sec && !c->first.tv_nsec)
		c->first = who->ts;
	c->last = who->ts;
	for (i = 0; i < c->npids; i++)
		if (c->pids[i] == who->pid)
			return;
	if (c->npids < ST_CONV_MAX_PIDS)
		c->pids[c->npids++] = who->pid;
}

static void conv_event(struct st_model *m, struct st_conv *c,
		       enum st_ev_type type, enum st_dir dir,
		       const struct st_origin_info *who)
{
	struct st_event ev = { .type = type, .conv = c, .dir = dir };

	ev.who = *who_or_ctx(m, who);
	conv_touch(c, &ev.who);
	emit(m, &ev);
}

/* ------------------------------------------------------------------ */
/* conversation lookup by endpoints (both-ends dedup, datagram peers) */

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t ep_hash(uint64_t h, const struct st_endpoint *ep)
{
	struct st_endpoint u;

	st_endpoint_unmap(&u, ep);
	h = mix(h, &u.family, sizeof(u.family));
	switch (u.family) {
	case AF_INET:
		h = mix(h, &u.v4, sizeof(u.v4));
		return mix(h, &u.port, sizeof(u.port));
	case AF_INET6:
		h = mix(h, &u.v6, sizeof(u.v6));
		return mix(h, &u.port, sizeof(u.port));
	case AF_UNIX:
		return mix(h, u.un.path, u.un.len);
	default:
		return h;
	}
}

static unsigned conv_bucket(enum st_proto proto, const struct st_endpoint *a,
			    const struct st_endpoint *b)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = mix(h, &proto, sizeof(proto));
	h = ep_hash(h, a);
	h = ep_hash(h, b);
	return (unsigned)(h % CONV_BUCKETS);
}

static bool ep_match(const struct st_endpoint *x, const struct st_endpoint *y)
{
	if (x->family == AF_UNIX || y->family == AF_UNIX)
		return st_endpoint_equal(x, y);
	return st_endpoint_same_inet(x, y);
}

static bool inet_keyable(const struct st_conv *c)
{
	return (c->proto == ST_PROTO_TCP || c->proto == ST_PROTO_UDP) &&
	       st_endpoint_known(&c->a) && st_endpoint_known(&c->b);
}

static void conv_hash_add(struct st_model *m, struct st_conv *c)
{
	unsigned b;

	if (!inet_keyable(c))
		return;
	b = conv_bucket(c->proto, &c->a, &c->b);
	c->hnext = m->conv_hash[b];
	m->conv_hash[b] = c;
}

static void conv_hash_del(struct st_model *m, struct st_conv *c)
{
	struct st_conv **pp;

	if (!inet_keyable(c))
		return;
	pp = &m->conv_hash[conv_bucket(c->proto, &c->a, &c->b)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

/* A live conversation with a == x and b == y. */
static struct st_conv *conv_find(struct st_model *m, enum st_proto proto,
				 const struct st_endpoint *x,
				 const struct st_endpoint *y)
{
	struct st_conv *c;

	if (!st_endpoint_known(x) || !st_endpoint_known(y))
		return NULL;
	c = m->conv_hash[conv_bucket(proto, x, y)];
	for (; c; c = c->hnext)
		if (c->proto == proto && !c->ended && ep_match(&c->a, x) &&
		    ep_match(&c->b, y))
			return c;
	return NULL;
}

static struct st_conv *conv_new(struct st_model *m, struct st_socket *s,
				enum st_origin origin,
				const struct st_endpoint *local,
				const struct st_endpoint *peer,
				const struct st_origin_info *who)
{
	struct st_conv *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	who = who_or_ctx(m, who);
	c->id = ++m->nconvs;
	c->proto = s->proto;
	c->origin = origin;
	c->a = local ? *local : s->local;
	c->b = *peer;
	c->traced_sides = 1;
	c->sock[0] = s;
	c->end = ST_END_OPEN;
	if (who->comm)
		memcpy(c->comm, who->comm,
		       strnlen(who->comm, sizeof(c->comm) - 1));
	c->selected = m->select ? m->select(m->select_arg, c) : true;
	if (m->convs_tail)
		m->convs_tail->next = c;
	else
		m->convs = c;
	m->convs_tail = c;
	conv_hash_add(m, c);
	conv_event(m, c, ST_EV_OPEN, ST_DIR_A_TO_B, who);
	return c;
}

static void conv_end(struct st_model *m, struct st_conv *c,
		     const struct st_origin_info *who)
{
	if (c->ended)
		return;
	if (c->reset)
		c->end = ST_END_RESET;
	else if (c->fin[0] || c->fin[1])
		c->end = ST_END_FIN;
	else if (!st_proto_is_stream(c->proto))
		c->end = ST_END_CLOSED;
	conv_event(m, c, ST_EV_END, ST_DIR_A_TO_B, who);
	c->ended = true;
	conv_hash_del(m, c);
}

static enum st_dir dir_of(unsigned side, bool send)
{
	if (side == 0)
		return send ? ST_DIR_A_TO_B : ST_DIR_B_TO_A;
	return send ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
}

static void conv_fin(struct st_model *m, struct st_conv *c, enum st_dir dir,
		     const struct st_origin_info *who)
{
	if (c->fin[dir] || c->reset || !st_proto_is_stream(c->proto))
		return;
	c->fin[dir] = true;
	conv_event(m, c, ST_EV_FIN, dir, who);
}

/* The socket leaves its conversation (closed, or re-connected). */
static void sock_leave_conv(struct st_model *m, struct st_socket *s,
			    const struct st_origin_info *who)
{
	struct st_conv *c = s->conv;
	unsigned side = s->conv_side;

	if (!c)
		return;
	s->conv = NULL;
	c->sock[side] = NULL;
	c->traced_sides &= ~(1u << side);
	if (c->ended || m->detaching)
		return;
	if (st_proto_is_stream(c->proto) && !s->held_outside) {
		/* closing the last fd sends FIN (unless already shut) */
		conv_fin(m, c, dir_of(side, true), who);
	}
	/* the conversation is over when no traced side is left */
	if (!c->traced_sides)
		conv_end(m, c, who);
}

static void sock_end_dgram_convs(struct st_model *m, struct st_socket *s,
				 const struct st_origin_info *who)
{
	struct st_conv *c = s->dgram_convs, *next;

	for (; c; c = next) {
		unsigned side = c->sock[0] == s ? 0 : 1;

		next = c->snext[side];
		c->snext[side] = NULL;
		c->sock[side] = NULL;
		c->traced_sides &= ~(1u << side);
		if (!c->traced_sides && !m->detaching)
			conv_end(m, c, who);
	}
	s->dgram_convs = NULL;
}

/* ------------------------------------------------------------------ */
/* sockets */

static unsigned sock_bucket(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 54) % SOCK_BUCKETS;
}

struct st_socket *st_model_socket_find(struct st_model *m, uint64_t ino)
{
	struct st_socket *s;

	if (!ino)
		return NULL;
	for (s = m->socks[sock_bucket(ino)]; s; s = s->next)
		if (s->ino == ino)
			return s;
	return NULL;
}

int st_model_hold_outside(struct st_model *m, uint64_t ino)
{
	uint64_t *p = realloc(m->outside, (m->noutside + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	p[m->noutside++] = ino;
	m->outside = p;
	return 0;
}

struct st_socket *st_model_socket(struct st_model *m, uint64_t ino)
{
	struct st_socket *s = st_model_socket_find(m, ino);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ino = ino;
	/* first seen by descriptor: maybe one socktap holds too */
	for (size_t i = 0; ino && i < m->noutside; i++)
		if (m->outside[i] == ino)
			s->held_outside = true;
	if (ino) {
		unsigned b = sock_bucket(ino);

		s->next = m->socks[b];
		m->socks[b] = s;
	}
	return s;
}

static void sock_unlink(struct st_model *m, struct st_socket *s);

struct st_socket *st_model_socket_new(struct st_model *m, uint64_t ino)
{
	struct st_socket *old = st_model_socket_find(m, ino);

	if (old) {
		sock_unlink(m, old);
		old->ino = 0;	/* anonymous now: freed by its last unref */
	}
	return st_model_socket(m, ino);
}

void st_socket_set_type(struct st_socket *s, int family, int type,
			int protocol)
{
	s->family = family;
	s->type = type & 0xf;
	s->protocol = protocol;
	s->proto = st_proto_from(family, type, protocol);
}

void st_socket_ref(struct st_socket *s)
{
	s->refs++;
}

static void sock_unlink(struct st_model *m, struct st_socket *s)
{
	struct st_socket **pp;

	if (!s->ino)
		return;
	for (pp = &m->socks[sock_bucket(s->ino)]; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			return;
		}
	}
}

void st_socket_unref(struct st_model *m, struct st_socket *s,
		     const struct st_origin_info *who)
{
	if (!s || !s->refs || --s->refs > 0)
		return;
	s->state = ST_SOCK_CLOSED;
	if (m) {
		sock_leave_conv(m, s, who);
		sock_end_dgram_convs(m, s, who);
		sock_unlink(m, s);
	}
	free(s);
}

/* ------------------------------------------------------------------ */
/* connections */

/* The socket this one is connected to, if it is traced. */
static struct st_socket *traced_peer(struct st_model *m, struct st_socket *s)
{
	if (st_proto_is_unix(s->proto) && s->peer_ino)
		return st_model_socket_find(m, s->peer_ino);
	return NULL;
}

void st_model_connected(struct st_model *m, struct st_socket *s,
			enum st_origin origin, const struct st_origin_info *who)
{
	struct st_socket *ps;
	struct st_conv *c = NULL;

	if (!proto_has_conv(s->proto))
		return;
	s->state = ST_SOCK_CONNECTED;
	if (s->conv) {
		/* a datagram socket connected again: a new conversation */
		if (ep_match(&s->conv->b, &s->peer) && !s->conv->ended)
			return;
		sock_leave_conv(m, s, who);
	}

	/* both ends traced: join the peer's conversation as side B */
	ps = traced_peer(m, s);
	if (ps && ps->conv && !ps->conv->ended && ps->conv->sock[0] == ps &&
	    !(ps->conv->traced_sides & 2))
		c = ps->conv;
	if (!c && !st_proto_is_unix(s->proto)) {
		c = conv_find(m, s->proto, &s->peer, &s->local);
		if (c && (c->traced_sides & 2))
			c = NULL;
	}
	if (c) {
		c->traced_sides |= 2;
		c->sock[1] = s;
		c->both_traced = true;
		s->conv = c;
		s->conv_side = 1;
		conv_touch(c, who_or_ctx(m, who));
		return;
	}
	s->conv = conv_new(m, s, origin, NULL, &s->peer, who);
	s->conv_side = 0;
}

void st_model_shutdown(struct st_model *m, struct st_socket *s, int how,
		       const struct st_origin_info *who)
{
	if (how == SHUT_RD || how == SHUT_RDWR)
		s->shut_rd = true;
	if (how == SHUT_WR || how == SHUT_RDWR) {
		s->shut_wr = true;
		if (s->conv)
			conv_fin(m, s->conv, dir_of(s->conv_side, true), who);
	}
}

void st_model_peer_fin(struct st_model *m, struct st_socket *s,
		       const struct st_origin_info *who)
{
	if (s->conv)
		conv_fin(m, s->conv, dir_of(s->conv_side, false), who);
}

void st_model_reset(struct st_model *m, struct st_socket *s,
		    const struct st_origin_info *who)
{
	struct st_conv *c = s->conv;

	if (!c || c->reset || c->ended)
		return;
	c->reset = true;
	/* the peer reset the connection: RST travels towards us */
	conv_event(m, c, ST_EV_RESET, dir_of(s->conv_side, false), who);
}

/* The conversation a datagram to/from peer belongs to, made if new. */
static struct st_conv *dgram_conv(struct st_model *m, struct st_socket *s,
				  const struct st_endpoint *peer,
				  const struct st_origin_info *who,
				  unsigned *side)
{
	struct st_endpoint local;
	struct st_conv *c;

	for (c = s->dgram_convs; c; c = c->snext[c->sock[0] == s ? 0 : 1]) {
		unsigned sd = c->sock[0] == s ? 0 : 1;

		if (ep_match(sd == 0 ? &c->b : &c->a, peer)) {
			*side = sd;
			return c;
		}
	}
	/* a wildcard-bound socket: its packets carry the routed address */
	local = s->local;
	if (wildcard(&local) && m->route) {
		struct st_endpoint src;

		if (m->route(m->route_arg, who_or_ctx(m, who)->pid, s, peer,
			     &src) == 0 && src.family == local.family) {
			src.port = local.port;
			local = src;
		}
	}
	/* the peer socket is traced too and already has this pair */
	c = conv_find(m, s->proto, peer, &local);
	/* (or its connected socket: a connected client, an unconnected
	 * server) */
	if (c && !(c->traced_sides & 2) && c->sock[0] != s &&
	    (c->origin == ST_ORIGIN_DGRAM || c->origin == ST_ORIGIN_CONNECT)) {
		c->traced_sides |= 2;
		c->sock[1] = s;
		c->both_traced = true;
		c->snext[1] = s->dgram_convs;
		s->dgram_convs = c;
		*side = 1;
		return c;
	}
	c = conv_new(m, s, ST_ORIGIN_DGRAM, &local, peer, who);
	if (!c)
		return NULL;
	c->snext[0] = s->dgram_convs;
	s->dgram_convs = c;
	*side = 0;
	return c;
}

static struct st_conv *data_conv(struct st_model *m, struct st_socket *s,
				 const struct st_endpoint *peer,
				 const struct st_origin_info *who,
				 unsigned *side)
{
	if (!proto_has_conv(s->proto))
		return NULL;
	if (s->conv) {
		*side = s->conv_side;
		return s->conv;
	}
	if (peer && st_endpoint_known(peer) &&
	    !st_proto_is_stream(s->proto) && s->state != ST_SOCK_CONNECTED)
		return dgram_conv(m, s, peer, who, side);
	/* a nonblocking connect that completed, or first seen already
	 * connected (attach, inherited, passed fd) */
	st_model_connected(m, s, s->state == ST_SOCK_CONNECTING ?
			   ST_ORIGIN_CONNECT : ST_ORIGIN_MIDSTREAM, who);
	*side = s->conv_side;
	return s->conv;
}

static int record(struct st_model *m, struct st_socket *s, bool send,
		  enum st_ev_type type, const uint8_t *data, size_t len,
		  unsigned flags, size_t orig_len, const char *why,
		  const struct st_endpoint *peer,
		  const struct st_origin_info *who)
{
	unsigned side = 0;
	struct st_conv *c = data_conv(m, s, peer, who, &side);
	struct st_event ev = { .type = type };

	if (!c)
		return 0;
	/* Both ends traced: every byte is recorded once, by its sender (also
	 * after the sender closed: what it wrote was recorded then). */
	if (!send && ((c->traced_sides & (side ? 1u : 2u)) || c->both_traced))
		return 0;
	ev.conv = c;
	ev.dir = dir_of(side, send);
	ev.who = *who_or_ctx(m, who);
	ev.data = data;
	ev.len = len;
	ev.flags = flags;
	ev.orig_len = orig_len;
	ev.note = why;
	if (type == ST_EV_DATA) {
		c->bytes[ev.dir] += len;
		if (!(flags & ST_EVF_PART))
			c->chunks[ev.dir]++;
	} else {
		c->gap_bytes[ev.dir] += len;
	}
	conv_touch(c, &ev.who);
	emit(m, &ev);
	return 0;
}

bool st_model_wants_data(const struct st_model *m, const struct st_socket *s,
			 bool send)
{
	const struct st_conv *c = s->conv;

	/* unconnected datagrams: which conversation depends on the peer */
	if (!c || c->ended)
		return true;
	if (!c->selected)
		return false;
	return send || !(c->both_traced ||
			 (c->traced_sides & (s->conv_side ? 1u : 2u)));
}

int st_model_data(struct st_model *m, struct st_socket *s, bool send,
		  const uint8_t *data, size_t len, unsigned flags,
		  size_t orig_len, const struct st_endpoint *peer,
		  const struct st_origin_info *who)
{
	return record(m, s, send, ST_EV_DATA, data, len, flags, orig_len,
		      NULL, peer, who);
}

int st_model_gap(struct st_model *m, struct st_socket *s, bool send,
		 size_t len, const char *why, const struct st_endpoint *peer,
		 const struct st_origin_info *who)
{
	return record(m, s, send, ST_EV_GAP, NULL, len, 0, 0, why, peer, who);
}

void st_model_set_detaching(struct st_model *m)
{
	m->detaching = true;
}

size_t st_model_spare(struct st_model *m, size_t piece)
{
	size_t done = 0;

	for (unsigned i = 0; i < m->nsinks; i++)
		if (m->sinks[i].spare && !m->sink_err[i])
			done += m->sinks[i].spare(m->sinks[i].priv, piece);
	return done;
}

int st_model_finish(struct st_model *m, const struct timespec *now)
{
	struct st_origin_info who = m->ctx;
	int rc = 0;

	if (now)
		who.ts = *now;
	who.syscall = "(end of trace)";
	for (struct st_conv *c = m->convs; c; c = c->next)
		conv_end(m, c, &who);
	for (unsigned i = 0; i < m->nsinks; i++) {
		int r;

		if (!m->sinks[i].finish)
			continue;
		r = m->sinks[i].finish(m->sinks[i].priv);
		if (r < 0 && !m->sink_err[i]) {
			m->sink_err[i] = r;
			if (m->on_error)
				m->on_error(m->on_error_arg,
					    m->sinks[i].name, r);
		}
	}
	for (unsigned i = 0; i < m->nsinks; i++)
		if (m->sink_err[i])
			rc = m->sink_err[i];
	return rc;
}

void st_model_free(struct st_model *m)
{
	struct st_conv *c, *next;

	if (!m)
		return;
	for (unsigned i = 0; i < m->nsinks; i++)
		if (m->sinks[i].destroy)
			m->sinks[i].destroy(m->sinks[i].priv);
	/* sockets still referenced by fd tables are freed with them */
	for (unsigned b = 0; b < SOCK_BUCKETS; b++) {
		struct st_socket *s = m->socks[b], *sn;

		for (; s; s = sn) {
			sn = s->next;
			free(s);
		}
	}
	for (c = m->convs; c; c = next) {
		next = c->next;
		free(c);
	}
	free(m->outside);
	free(m);
}
