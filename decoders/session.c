/*
 * Decoder selection (--decode specs) and decoding sessions: one per
 * conversation.  A session picks a decoder (explicit mapping, well-known
 * port, content probe, raw), keeps each direction's unconsumed bytes up to
 * ST_DEC_BUF_MAX, calls the decoder while it makes progress, turns
 * INVALID, overflow and allocation failures into a note plus a switch to
 * raw, and reports what was left undecoded at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dec_internal.h"

#define ST_DECSEL_MAX	32	/* entries in a spec */
#define ST_PROBE_BYTES	512	/* probe window: full = decide */
#define ST_IDLE_MAX	8	/* OK without progress: give up after */

struct st_decsel_entry {
	const struct st_decoder *dec;
	uint16_t port;		/* 0: every conversation */
};

struct st_decsel {
	bool none;
	size_t n;
	struct st_decsel_entry e[ST_DECSEL_MAX];
};

struct dirbuf {
	uint8_t *p;
	size_t len, cap;
};

struct st_decsess {
	const struct st_decsel *sel;
	const struct st_conv *conv;
	st_dec_record_fn cb;
	void *arg;
	const struct st_decoder *dec;	/* NULL: undecided */
	const struct st_decoder *first;	/* the decoder chosen first */
	void *state;
	bool dgram;		/* datagram transport */
	bool fell_back;
	bool ended;
	bool dead;		/* out of memory even for raw */
	bool nomem;		/* an allocation failed in this event */
	int first_dir;		/* first dir with data, or -1 */
	bool eof_done[2];
	struct dirbuf buf[2];
	uint64_t off[2];	/* stream offset of buf[dir].p[0] */
	uint64_t dgrams[2];
	/* a datagram arriving in parts (sendmsg of several buffers): the
	 * parts wait in buf[dir] until the last; cut when over the cap */
	size_t dg_total[2];
	bool dg_cut[2];
	uint64_t records, suppressed;
	bool over_cap_ok;	/* the final "not shown" note */
	uint64_t out_off[2];	/* record offsets (out->offset) */
	struct st_dec_out *out;	/* the scratch builder, during a feed */
};

/*
 * Records are built and delivered within one st_decsess_feed call, so
 * one builder per thread serves every session: sessions stay small.
 */
static __thread struct st_dec_out *st_scratch;

static void deliver(void *arg, struct st_dec_record *r);

static struct st_dec_out *out_get(struct st_decsess *s)
{
	struct st_dec_out *o = st_scratch;

	if (!o) {
		o = malloc(sizeof(*o));
		if (!o)
			return NULL;
		st_dec_out_init(o, NULL, NULL, NULL);
		st_scratch = o;
	}
	/* a builder left busy by an outer session: use a private one */
	if (o->arg && o->arg != s) {
		o = malloc(sizeof(*o));
		if (!o)
			return NULL;
		st_dec_out_init(o, NULL, NULL, NULL);
	}
	o->deliver = deliver;
	o->arg = s;
	o->conv = s->conv;
	o->decoder = s->dec ? s->dec->name : "raw";
	o->open = false;
	o->offset[0] = s->out_off[0];
	o->offset[1] = s->out_off[1];
	return o;
}

static void out_put(struct st_decsess *s, struct st_dec_out *o)
{
	if (o->open)
		st_dec_emit(o);
	s->out_off[0] = o->offset[0];
	s->out_off[1] = o->offset[1];
	o->arg = NULL;
	if (o != st_scratch)
		free(o);
}

/* ------------------------------------------------------------------ */
/* Selection */

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int parse_entry(struct st_decsel *sel, const char *tok, size_t len,
		       char *err, size_t errlen)
{
	char name[64], known[256];
	const char *colon = memchr(tok, ':', len);
	size_t nlen = colon ? (size_t)(colon - tok) : len;
	const struct st_decoder *d;
	unsigned long port = 0;

	if (nlen == 0 || nlen >= sizeof(name)) {
		char what[80];

		st_dec_escape(what, sizeof(what), tok, len, false);
		set_err(err, errlen, "bad decoder entry '%s'", what);
		return -EINVAL;
	}
	memcpy(name, tok, nlen);
	name[nlen] = '\0';
	if (!colon && !strcasecmp(name, "auto"))
		return 0;
	if (!strcasecmp(name, "none") || !strcasecmp(name, "auto")) {
		set_err(err, errlen, "'%s' cannot be combined with other "
			"decoders or a port", name);
		return -EINVAL;
	}
	d = st_decoder_find(name);
	if (!d) {
		char what[80];

		st_decoder_list(known, sizeof(known));
		st_dec_escape(what, sizeof(what), name, nlen, false);
		set_err(err, errlen, "unknown decoder '%s'; known: %s", what,
			known);
		return -EINVAL;
	}
	if (colon) {
		const char *p = colon + 1, *end = tok + len;
		char what[80];

		for (; p < end && port <= 65535; p++) {
			if (*p < '0' || *p > '9')
				break;
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (p != end || colon + 1 == end || port == 0 || port > 65535) {
			st_dec_escape(what, sizeof(what), tok, len, false);
			set_err(err, errlen,
				"bad port in '%s': want PROTO:1..65535",
				what);
			return -EINVAL;
		}
	}
	if (sel->n >= ST_DECSEL_MAX) {
		set_err(err, errlen, "too many decoder entries (max %d)",
			ST_DECSEL_MAX);
		return -EINVAL;
	}
	sel->e[sel->n].dec = d;
	sel->e[sel->n].port = (uint16_t)port;
	sel->n++;
	return 0;
}

int st_decsel_new(const char *spec, char *err, size_t errlen,
		  struct st_decsel **out)
{
	struct st_decsel *sel;
	const char *p, *end;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	sel = calloc(1, sizeof(*sel));
	if (!sel) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (spec && !strcasecmp(spec, "none")) {
		sel->none = true;
		*out = sel;
		return 0;
	}
	if (!spec)
		spec = "";
	end = spec + strlen(spec);
	for (p = spec; *spec && p <= end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *tend = comma ? comma : end;

		r = parse_entry(sel, p, (size_t)(tend - p), err, errlen);
		if (r < 0) {
			free(sel);
			return r;
		}
		p = tend + 1;
	}
	*out = sel;
	return 0;
}

void st_decsel_free(struct st_decsel *sel)
{
	free(sel);
}

bool st_decsel_enabled(const struct st_decsel *sel)
{
	return sel && !sel->none;
}

static bool supports(const struct st_decoder *d, enum st_proto proto)
{
	return (unsigned)proto < 32 && (d->transports & (1u << proto));
}

/* The conversation's ports in the order they count: server first. */
static size_t conv_ports(const struct st_conv *c, uint16_t ports[2])
{
	uint16_t pa = 0, pb = 0, t;
	size_t n = 0;

	if (c->a.family == AF_INET || c->a.family == AF_INET6)
		pa = c->a.port;
	if (c->b.family == AF_INET || c->b.family == AF_INET6)
		pb = c->b.port;
	switch (st_dec_client_dir(c)) {
	case ST_DIR_A_TO_B:	/* A is the client: B's port first */
		t = pa, pa = pb, pb = t;
		break;
	case ST_DIR_B_TO_A:
		break;
	default:
		if (pb && (!pa || pb < pa))
			t = pa, pa = pb, pb = t;
	}
	if (pa)
		ports[n++] = pa;
	if (pb && pb != pa)
		ports[n++] = pb;
	return n;
}

static bool has_port(const struct st_decoder *d, uint16_t port)
{
	size_t i;

	for (i = 0; i < d->nports; i++)
		if (d->ports[i] == port)
			return true;
	return false;
}

/* Portless explicit entries that fit the transport, into c[]. */
static size_t explicit_any(const struct st_decsel *sel, enum st_proto proto,
			   const struct st_decoder **c)
{
	size_t i, n = 0;

	for (i = 0; i < sel->n; i++)
		if (!sel->e[i].port && supports(sel->e[i].dec, proto))
			c[n++] = sel->e[i].dec;
	return n;
}

/*
 * The decision that needs no bytes: explicit ports, then portless entries,
 * then well-known ports.  NULL: the probes decide.
 */
static const struct st_decoder *choose_static(const struct st_decsel *sel,
					      const struct st_conv *c)
{
	const struct st_decoder *cand[ST_DECSEL_MAX];
	uint16_t ports[2];
	size_t np = conv_ports(c, ports), nc, i, j;

	for (i = 0; i < np; i++)
		for (j = 0; j < sel->n; j++)
			if (sel->e[j].port == ports[i] &&
			    supports(sel->e[j].dec, c->proto))
				return sel->e[j].dec;
	nc = explicit_any(sel, c->proto, cand);
	if (nc == 1)
		return cand[0];
	for (i = 0; i < np; i++) {
		if (nc) {
			for (j = 0; j < nc; j++)
				if (has_port(cand[j], ports[i]))
					return cand[j];
			continue;
		}
		for (j = 0; j < st_decoder_count(); j++) {
			const struct st_decoder *d = st_decoder_at(j);

			if (d != st_decoder_raw() && supports(d, c->proto) &&
			    has_port(d, ports[i]))
				return d;
		}
	}
	return NULL;
}

/* The probes' verdict on the first bytes; NULL: not yet. */
static const struct st_decoder *choose_probe(const struct st_decsel *sel,
					     const struct st_conv *c,
					     const uint8_t *p, size_t n,
					     enum st_dir dir, unsigned flags,
					     bool final)
{
	const struct st_decoder *cand[ST_DECSEL_MAX], *best = NULL;
	size_t nc = explicit_any(sel, c->proto, cand), i, total;
	int conf, bconf = 0;

	total = nc ? nc : st_decoder_count();
	for (i = 0; i < total; i++) {
		const struct st_decoder *d = nc ? cand[i] : st_decoder_at(i);

		if (!d->probe || !supports(d, c->proto))
			continue;
		conf = d->probe(p, n, dir, flags);
		if (conf > bconf) {
			bconf = conf;
			best = d;
		}
	}
	if (best && bconf >= ST_PROBE_SURE)
		return best;
	if (!final)
		return NULL;
	if (best && bconf >= ST_PROBE_WEAK)
		return best;
	return nc ? cand[0] : st_decoder_raw();
}

/* ------------------------------------------------------------------ */
/* Sessions */

static void deliver(void *arg, struct st_dec_record *r)
{
	struct st_decsess *s = arg;

	if (s->records >= ST_DEC_MAX_RECORDS && !s->over_cap_ok) {
		s->suppressed++;
		return;
	}
	r->seq = s->records++;
	if (s->cb)
		s->cb(s->arg, s->conv, r);
}

static void flush_out(struct st_decsess *s)
{
	if (s->out->open)
		st_dec_emit(s->out);
}

static void drop_state(struct st_decsess *s)
{
	if (s->dec && s->dec->cleanup && s->state)
		s->dec->cleanup(s->state);
	free(s->state);
	s->state = NULL;
	s->dec = NULL;
}

/* Makes d the session's decoder; on failure raw, or dead. */
static void use_decoder(struct st_decsess *s, const struct st_decoder *d)
{
	for (;;) {
		size_t sz = d->state_size ? d->state_size : 1;

		s->state = calloc(1, sz);
		if (s->state && (!d->init || d->init(s->state) == 0))
			break;
		free(s->state);
		s->state = NULL;
		s->nomem = true;
		if (d == st_decoder_raw()) {
			s->dead = true;
			return;
		}
		d = st_decoder_raw();
	}
	s->dec = d;
	if (!s->first)
		s->first = d;
	if (s->out)
		s->out->decoder = d->name;
}

int st_decsess_new(const struct st_decsel *sel, const struct st_conv *conv,
		   st_dec_record_fn on_record, void *arg,
		   struct st_decsess **out)
{
	static const struct st_decsel autosel;
	const struct st_decoder *d;
	struct st_decsess *s;

	*out = NULL;
	if (!conv)
		return -EINVAL;
	if (sel && sel->none)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sel = sel ? sel : &autosel;
	s->conv = conv;
	s->cb = on_record;
	s->arg = arg;
	s->first_dir = -1;
	s->dgram = conv->proto == ST_PROTO_UDP ||
		   conv->proto == ST_PROTO_UNIX_DGRAM ||
		   conv->proto == ST_PROTO_UNIX_SEQPACKET;
	d = choose_static(s->sel, conv);
	if (d) {
		use_decoder(s, d);
		if (s->dead) {
			free(s);
			return -ENOMEM;
		}
	}
	*out = s;
	return 0;
}

/* Appends to a direction's buffer; false if over the cap or no memory. */
static bool buf_append(struct st_decsess *s, enum st_dir dir,
		       const uint8_t *p, size_t n)
{
	struct dirbuf *b = &s->buf[dir];
	size_t need = b->len + n;

	if (!n)
		return true;
	if (need > ST_DEC_BUF_MAX)
		return false;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < need)
			cap *= 2;
		if (cap > ST_DEC_BUF_MAX)
			cap = ST_DEC_BUF_MAX;
		np = realloc(b->p, cap);
		if (!np) {
			s->nomem = true;
			return false;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len = need;
	return true;
}

static void buf_drop(struct dirbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static size_t process(struct st_decsess *s, enum st_dir dir,
		      const uint8_t *p, size_t n, unsigned flags, uint64_t gap);

static enum st_dir other_dir(enum st_dir dir)
{
	return dir == ST_DIR_A_TO_B ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
}

/*
 * The decoder gave up (or cannot go on): flush it, note why, and decode
 * the rest as raw, starting with what the other direction kept.
 */
static void fall_back(struct st_decsess *s, enum st_dir dir, const char *why)
{
	const struct st_decoder *old = s->dec;
	enum st_dir other = other_dir(dir);
	struct dirbuf *ob = &s->buf[other];

	if (!old || old == st_decoder_raw())
		return;
	if (old->end) {
		s->out->offset[dir] = s->off[dir];
		old->end(s->state, s->out);
		flush_out(s);
	}
	st_dec_note(s->out, dir, "%s at offset %llu; decoding the rest "
		    "as raw", why, (unsigned long long)s->off[dir]);
	drop_state(s);
	s->fell_back = true;
	use_decoder(s, st_decoder_raw());
	if (s->dead || s->dgram)
		return;
	if (ob->len) {
		size_t used = process(s, other, ob->p, ob->len, 0, 0);

		buf_drop(ob, used);
	}
}

/*
 * Runs the decoder over p[0..n) of dir (stream) while it makes progress;
 * returns the bytes consumed.
 */
static size_t process(struct st_decsess *s, enum st_dir dir,
		      const uint8_t *p, size_t n, unsigned flags, uint64_t gap)
{
	size_t off = 0, used;
	unsigned idle = 0;
	enum st_dec_status st;
	struct st_dec_input in;
	char why[64];

	while (s->dec) {
		memset(&in, 0, sizeof(in));
		in.dir = dir;
		in.flags = flags;
		st_rd_init(&in.rd, p ? p + off : NULL, n - off);
		in.offset = s->off[dir];
		in.gap = gap;
		in.conv = s->conv;
		s->out->offset[dir] = s->off[dir];
		st = s->dec->feed(s->state, &in, s->out);
		/* a record left open by a decoder that gave up is dropped */
		if (st == ST_DEC_INVALID)
			s->out->open = false;
		flush_out(s);
		used = st_rd_pos(&in.rd);
		off += used;
		s->off[dir] += used;
		flags &= ~ST_DEC_F_GAP;
		gap = 0;
		if (st == ST_DEC_INVALID) {
			if (s->dec == st_decoder_raw()) {
				/* raw never fails; should it, drop */
				s->off[dir] += n - off;
				return n;
			}
			snprintf(why, sizeof(why), "invalid %s data",
				 s->dec->name);
			fall_back(s, dir, why);
			continue;
		}
		if (st == ST_DEC_NEED_MORE || off == n)
			break;
		if (used)
			idle = 0;
		else if (++idle >= ST_IDLE_MAX)
			break;
	}
	return off;
}

/* Processes what dir kept; the rest stays kept.  flags: 0, or
 * ST_DEC_F_FLUSH when dir's bytes stop here for now. */
static void flush_dir(struct st_decsess *s, enum st_dir dir, unsigned flags)
{
	struct dirbuf *b = &s->buf[dir];
	size_t used;

	if (!b->len || !s->dec)
		return;
	used = process(s, dir, b->p, b->len, flags, 0);
	buf_drop(b, used);
}

/* Keeps unconsumed stream bytes; beyond the cap, raw takes over. */
static void keep(struct st_decsess *s, enum st_dir dir, const uint8_t *p,
		 size_t n)
{
	size_t used;

	if (!n || buf_append(s, dir, p, n))
		return;
	fall_back(s, dir, s->nomem ? "out of memory" :
		  "message larger than the decoder's buffer");
	/* raw consumes what was kept, then the new bytes */
	flush_dir(s, dir, ST_DEC_F_FLUSH);
	used = process(s, dir, p, n, 0, 0);
	if (used < n && !buf_append(s, dir, p + used, n - used))
		s->off[dir] += n - used;	/* cannot happen with raw */
}

static void stream_data(struct st_decsess *s, enum st_dir dir,
			const uint8_t *p, size_t n)
{
	struct dirbuf *b = &s->buf[dir];
	enum st_dir other = other_dir(dir);
	size_t used;

	if (!s->dec)
		return;
	/* the other side spoke: what it held back is complete */
	flush_dir(s, other, ST_DEC_F_FLUSH);
	if (!b->len) {
		used = process(s, dir, p, n, 0, 0);
		keep(s, dir, p + used, n - used);
		return;
	}
	keep(s, dir, p, n);
	flush_dir(s, dir, 0);
}

/* Decides from the first direction's bytes (plus more of them). */
static void decide(struct st_decsess *s, const uint8_t *more, size_t n,
		   unsigned flags, bool final)
{
	uint8_t win[ST_PROBE_BYTES];
	struct dirbuf *b;
	size_t k = 0, m;
	const struct st_decoder *d;

	if (s->dec || s->first_dir < 0)
		return;
	b = &s->buf[s->first_dir];
	if (b->len) {
		k = b->len < sizeof(win) ? b->len : sizeof(win);
		memcpy(win, b->p, k);
	}
	m = n < sizeof(win) - k ? n : sizeof(win) - k;
	if (m)
		memcpy(win + k, more, m);
	k += m;
	if (k == sizeof(win))
		final = true;
	d = choose_probe(s->sel, s->conv, win, k, (enum st_dir)s->first_dir,
			 flags, final);
	if (d)
		use_decoder(s, d);
}

static void on_stream_data(struct st_decsess *s, enum st_dir dir,
			   const uint8_t *p, size_t n)
{
	if (s->dec) {
		stream_data(s, dir, p, n);
		return;
	}
	if (s->first_dir < 0)
		s->first_dir = dir;
	if (dir == (enum st_dir)s->first_dir) {
		decide(s, p, n, 0, false);
		if (!s->dec) {
			/* undecided: less than a probe window, keep it */
			if (!buf_append(s, dir, p, n)) {
				decide(s, p, n, 0, true);
				flush_dir(s, dir, 0);
				stream_data(s, dir, p, n);
			}
			return;
		}
		flush_dir(s, dir, 0);
		stream_data(s, dir, p, n);
		return;
	}
	/* the other side answers: decide on what the first side sent */
	decide(s, NULL, 0, 0, true);
	flush_dir(s, (enum st_dir)s->first_dir, ST_DEC_F_FLUSH);
	stream_data(s, dir, p, n);
}

static void on_dgram(struct st_decsess *s, const struct st_event *ev)
{
	struct st_dec_input in;
	enum st_dec_status st;
	unsigned flags = ST_DEC_F_DGRAM;
	enum st_dir dir = ev->dir;
	char why[64];

	if (ev->flags & ST_EVF_TRUNC)
		flags |= ST_DEC_F_TRUNC;
	/* a datagram is complete: probe it alone, and decide */
	if (!s->dec)
		decide(s, ev->data, ev->len, flags, true);
	while (s->dec) {
		memset(&in, 0, sizeof(in));
		in.dir = dir;
		in.flags = flags;
		st_rd_init(&in.rd, ev->data, ev->len);
		in.offset = s->dgrams[dir];
		in.orig_len = ev->orig_len;
		in.conv = s->conv;
		s->out->offset[dir] = s->dgrams[dir];
		st = s->dec->feed(s->state, &in, s->out);
		if (st == ST_DEC_INVALID)
			s->out->open = false;
		flush_out(s);
		if (st != ST_DEC_INVALID || s->dec == st_decoder_raw())
			break;
		snprintf(why, sizeof(why), "invalid %s datagram",
			 s->dec->name);
		s->off[dir] = s->dgrams[dir];
		fall_back(s, dir, why);
	}
	s->dgrams[dir]++;
}

/* Decodes the datagram held in parts for dir, whole, as if it had come
 * in one event like `last` (its flags, its orig_len); `missing` bytes of
 * it were never seen (a gap), which makes it cut. */
static void dgram_flush(struct st_decsess *s, enum st_dir dir,
			const struct st_event *last, size_t missing)
{
	struct dirbuf *b = &s->buf[dir];
	struct st_event whole;
	size_t total = s->dg_total[dir] + missing;

	if (!s->dg_total[dir])
		return;
	memset(&whole, 0, sizeof(whole));
	if (last)
		whole = *last;
	whole.type = ST_EV_DATA;
	whole.dir = dir;
	whole.data = b->p;
	whole.len = b->len;
	whole.flags &= ~ST_EVF_PART;
	if (s->dg_cut[dir] || missing || !last || b->len < total) {
		whole.flags |= ST_EVF_TRUNC;
		if (whole.orig_len < total)
			whole.orig_len = total;
	}
	s->dg_total[dir] = 0;
	s->dg_cut[dir] = false;
	on_dgram(s, &whole);
	b->len = 0;
}

/* A datagram's bytes: whole, or a part of one to hold. */
static void on_dgram_data(struct st_decsess *s, const struct st_event *ev)
{
	enum st_dir dir = ev->dir;
	enum st_dir other = other_dir(dir);

	/* a call's parts come before anything else it did */
	dgram_flush(s, other, NULL, 0);
	if (!(ev->flags & ST_EVF_PART) && !s->dg_total[dir]) {
		on_dgram(s, ev);
		return;
	}
	s->dg_total[dir] += ev->len;
	if (!s->dg_cut[dir] && !buf_append(s, dir, ev->data, ev->len))
		s->dg_cut[dir] = true;
	if (!(ev->flags & ST_EVF_PART))
		dgram_flush(s, dir, ev, 0);
}

/* The sender of dir is done: last call for its bytes. */
static void do_eof(struct st_decsess *s, enum st_dir dir)
{
	struct dirbuf *b = &s->buf[dir];
	size_t used;

	if (s->eof_done[dir])
		return;
	s->eof_done[dir] = true;
	if (!s->dec || s->dgram)
		return;
	used = process(s, dir, b->len ? b->p : NULL, b->len, ST_DEC_F_EOF, 0);
	buf_drop(b, used);
	if (b->len) {
		s->out->offset[dir] = s->off[dir];
		st_dec_begin(s->out, dir, "note");
		st_dec_summary(s->out, "%zu bytes of an incomplete %s message "
			       "at end of stream", b->len, s->dec->name);
		st_dec_field_bytes(s->out, "bytes", b->p, b->len,
				   ST_DEC_PREVIEW);
		st_dec_emit(s->out);
		s->off[dir] += b->len;
		b->len = 0;
	}
}

static void on_gap(struct st_decsess *s, const struct st_event *ev)
{
	enum st_dir dir = ev->dir;
	struct dirbuf *b = &s->buf[dir];

	if (s->dg_total[dir])
		dgram_flush(s, dir, NULL, ev->len);

	if (!s->dec)
		decide(s, NULL, 0, 0, true);
	if (s->dec && !s->dgram) {
		flush_dir(s, dir, ST_DEC_F_FLUSH);
		if (b->len) {
			s->out->offset[dir] = s->off[dir];
			st_dec_note(s->out, dir, "%zu bytes of an incomplete "
				    "message discarded before a gap", b->len);
			s->off[dir] += b->len;
			b->len = 0;
		}
	}
	s->out->offset[dir] = s->dgram ? s->dgrams[dir] : s->off[dir];
	st_dec_note(s->out, dir, "gap: %zu bytes lost (%s)", ev->len,
		    ev->note ? ev->note : "unreadable");
	if (s->dec && !s->dgram) {
		process(s, dir, NULL, 0, ST_DEC_F_GAP, ev->len);
		s->off[dir] += ev->len;
	}
}

static void on_end(struct st_decsess *s)
{
	int d0 = s->first_dir < 0 ? 0 : s->first_dir;
	enum st_dir a = (enum st_dir)d0, b = (enum st_dir)!d0;

	dgram_flush(s, a, NULL, 0);
	dgram_flush(s, b, NULL, 0);
	if (!s->dec)
		decide(s, NULL, 0, 0, true);
	flush_dir(s, a, ST_DEC_F_FLUSH);
	flush_dir(s, b, ST_DEC_F_FLUSH);
	do_eof(s, a);
	do_eof(s, b);
	if (s->dec && s->dec->end) {
		s->dec->end(s->state, s->out);
		flush_out(s);
	}
	if (s->suppressed) {
		uint64_t n = s->suppressed;

		/* past the cap on purpose: say what was left out */
		s->over_cap_ok = true;
		st_dec_note(s->out, a, "%llu more records not shown (limit "
			    "%d per conversation)", (unsigned long long)n,
			    ST_DEC_MAX_RECORDS);
		s->over_cap_ok = false;
	}
	s->ended = true;
}

int st_decsess_feed(struct st_decsess *s, const struct st_event *ev)
{
	enum st_dir dir;

	if (!s || !ev || s->ended || s->dead)
		return s && s->dead ? -ENOMEM : 0;
	dir = ev->dir == ST_DIR_B_TO_A ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
	s->nomem = false;
	s->out = out_get(s);
	if (!s->out)
		return -ENOMEM;
	switch (ev->type) {
	case ST_EV_DATA:
		if (ev->flags & ST_EVF_OOB) {
			s->out->offset[dir] = s->off[dir];
			st_dec_begin(s->out, dir, "note");
			st_dec_summary(s->out, "out-of-band data, %zu bytes",
				       ev->len);
			st_dec_field_bytes(s->out, "bytes", ev->data,
					   ev->data ? ev->len : 0,
					   ST_DEC_PREVIEW);
			st_dec_emit(s->out);
			break;
		}
		if (!ev->data && ev->len)
			break;
		if (s->first_dir < 0)
			s->first_dir = dir;
		if (s->dgram || (ev->flags & ST_EVF_DGRAM))
			on_dgram_data(s, ev);
		else
			on_stream_data(s, dir, ev->data, ev->len);
		break;
	case ST_EV_GAP:
		on_gap(s, ev);
		break;
	case ST_EV_FIN:
		if (!s->dec)
			decide(s, NULL, 0, 0, true);
		if (s->dec) {
			flush_dir(s, dir, ST_DEC_F_FLUSH);
			do_eof(s, dir);
		}
		break;
	case ST_EV_END:
		on_end(s);
		break;
	default:
		break;
	}
	out_put(s, s->out);
	s->out = NULL;
	return s->nomem ? -ENOMEM : 0;
}

void st_decsess_free(struct st_decsess *s)
{
	if (!s)
		return;
	drop_state(s);
	free(s->buf[0].p);
	free(s->buf[1].p);
	free(s);
}

const char *st_decsess_name(const struct st_decsess *s)
{
	if (!s)
		return "none";
	return s->first ? s->first->name : "undecided";
}

bool st_decsess_fell_back(const struct st_decsess *s)
{
	return s && s->fell_back;
}

uint64_t st_decsess_records(const struct st_decsess *s)
{
	return s ? s->records : 0;
}
