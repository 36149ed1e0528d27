/*
 * The pcap sink: turns conversation events into packets.
 *
 * TCP conversations (and Unix stream/seqpacket ones, on their synthetic
 * addresses) get a SYN, SYN-ACK, ACK at OPEN, from the client given by
 * the origin; then data segments of at most SEG_MAX bytes (a seqpacket
 * record: one segment), PSH on the last segment of a write, URG for
 * out-of-band data, FIN + ACK at each shutdown, RST|ACK at a reset.
 * Each side keeps its next sequence number; every packet acknowledges
 * everything the peer sent, so Follow Stream sees a clean connection.
 * A GAP advances the sender's sequence number without a packet, which
 * Wireshark shows as "previous segment not captured".
 *
 * Datagram conversations write one UDP packet per datagram.
 *
 * Only per-conversation counters are kept (a hash table by conv id,
 * freed at END); payload bytes are copied into one packet buffer and
 * written out at once.  The exceptions are the calls that deliver their
 * bytes in parts (ST_EVF_PART: writev, sendmsg with several buffers,
 * sendfile): a datagram's parts are held until its last, at most one IP
 * packet, and a stream's parts are gathered into full segments, the
 * rest held for the call's next part, so a writev of a header and a body
 * makes one segment as on the wire, not one per buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap/pcap_int.h"
#include "pcap/pcap_out.h"

#define SEG_MAX 16384u		/* friendlier to Wireshark than 64 KiB */
#define HELD_CAP 65536u		/* at least any conversation's seg_max() */
#define WIN 65535u
#define WSCALE 14		/* so the window is ~1 GiB */
/* A receiver that sends nothing still acknowledges this often (well
 * within the window), or Wireshark would report a full window on long
 * one-way transfers. */
#define ACK_EVERY (1u << 24)
#define SYNTH_PORT_BASE 49152u
#define COMMENT_LEN 512
#define NOTE_LEN 160

struct pconv {
	struct pconv *next;
	uint64_t id;
	struct st_pflow flow;
	bool tcp;
	bool records;		/* seqpacket: one segment per write */
	uint32_t seq[2];	/* next sequence number of side 0 (A), 1 */
	uint32_t acked[2];	/* last ack number side s sent */
	uint16_t ipid[2];
	bool fin[2];
	bool reset;
	uint64_t gap[2];	/* bytes missing, not yet told in a comment */
	const char *gap_why[2];
	/* a datagram arriving in parts */
	uint8_t *dg;
	size_t dg_len;		/* bytes held */
	size_t dg_total;	/* bytes of all parts, held or not */
	size_t dg_orig;		/* TRUNC: the datagram's real length */
	int dg_dir;
};

struct psink {
	struct st_pwriter *w;
	bool pcapng;
	bool live;		/* flush after every event */
	int err;		/* first error: the sink stopped */
	bool finished;
	struct pconv **tab;
	size_t nb, n;
	struct st_pcap_stats stats;
	char comment[COMMENT_LEN];
	/* a stream call's parts that fill no segment yet (see the top);
	 * all parts of a call come before any other event */
	struct pconv *held_conv;	/* NULL: nothing held */
	int held_dir;
	size_t held_len;
	uint8_t *held;			/* HELD_CAP, allocated at first use */
};

/* ------------------------------------------------------------------ */
/* Addresses */

void st_pcap_synth_endpoints(const struct st_conv *conv,
			     struct st_endpoint *a, struct st_endpoint *b)
{
	uint64_t id = conv->id;
	uint32_t low = (uint32_t)(id & 0xffff);
	uint16_t port = (uint16_t)(SYNTH_PORT_BASE + ((id >> 16) & 0x3fff));

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->family = b->family = AF_INET;
	a->port = b->port = port;
	a->v4.s_addr = htonl((198u << 24) | (18u << 16) | low);
	b->v4.s_addr = htonl((198u << 24) | (19u << 16) | low);
}

static bool is_ip(const struct st_endpoint *ep)
{
	return ep->family == AF_INET || ep->family == AF_INET6;
}

bool st_pcap_conv_is_synthetic(const struct st_conv *conv)
{
	if (conv->proto != ST_PROTO_TCP && conv->proto != ST_PROTO_UDP)
		return true;
	return !is_ip(&conv->a) && !is_ip(&conv->b);
}

/* An endpoint we do not know: the other's family, address 0, port 0. */
static void unknown_like(struct st_endpoint *ep, const struct st_endpoint *k)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = k->family;
}

static void addr_of(uint8_t *out, const struct st_endpoint *ep, bool v6)
{
	if (!v6) {
		memcpy(out, &ep->v4, 4);
	} else if (ep->family == AF_INET6) {
		memcpy(out, &ep->v6, 16);
	} else {
		/* an IPv4 end of an IPv6 conversation: ::ffff:a.b.c.d */
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &ep->v4, 4);
	}
}

void st_pcap_endpoints(const struct st_conv *conv, struct st_endpoint *a,
		       struct st_endpoint *b)
{
	if (st_pcap_conv_is_synthetic(conv)) {
		st_pcap_synth_endpoints(conv, a, b);
		return;
	}
	st_endpoint_unmap(a, &conv->a);
	st_endpoint_unmap(b, &conv->b);
	if (!is_ip(a))
		unknown_like(a, b);
	if (!is_ip(b))
		unknown_like(b, a);
}

static void make_flow(const struct st_conv *conv, struct st_pflow *f)
{
	struct st_endpoint a, b;
	bool v6;

	memset(f, 0, sizeof(*f));
	/* as the -F filter judges them (out/filter.c) */
	f->l4 = st_proto_is_stream(conv->proto) ? IPPROTO_TCP : IPPROTO_UDP;
	st_pcap_endpoints(conv, &a, &b);
	v6 = a.family == AF_INET6 || b.family == AF_INET6;
	f->ipver = v6 ? 6 : 4;
	addr_of(f->addr[0], &a, v6);
	addr_of(f->addr[1], &b, v6);
	f->port[0] = a.port;
	f->port[1] = b.port;
}

/* ------------------------------------------------------------------ */
/* Conversation table */

static size_t bucket(const struct psink *s, uint64_t id)
{
	id ^= id >> 29;
	id *= 0xbf58476d1ce4e5b9ull;
	id ^= id >> 32;
	return (size_t)id & (s->nb - 1);
}

static struct pconv *find(struct psink *s, uint64_t id)
{
	struct pconv *c;

	if (!s->nb)
		return NULL;
	for (c = s->tab[bucket(s, id)]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static int grow(struct psink *s)
{
	size_t onb = s->nb, nb = onb ? onb * 2 : 64;
	struct pconv **otab = s->tab;

	s->tab = calloc(nb, sizeof(*s->tab));
	if (!s->tab) {
		s->tab = otab;
		return -ENOMEM;
	}
	s->nb = nb;
	for (size_t i = 0; i < onb; i++) {
		struct pconv *c = otab[i], *next;

		for (; c; c = next) {
			size_t h = bucket(s, c->id);

			next = c->next;
			c->next = s->tab[h];
			s->tab[h] = c;
		}
	}
	free(otab);
	return 0;
}

static void unlink_conv(struct psink *s, struct pconv *c)
{
	struct pconv **pp = &s->tab[bucket(s, c->id)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			s->n--;
			break;
		}
	}
	free(c->dg);
	free(c);
}

/* Deterministic initial sequence numbers, different per side. */
static uint32_t isn(uint64_t id, int side)
{
	uint64_t z = id * 2 + (uint64_t)side + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

static struct pconv *new_conv(struct psink *s, const struct st_conv *conv)
{
	struct pconv *c;
	size_t h;

	if (s->n + 1 > s->nb && grow(s) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = conv->id;
	make_flow(conv, &c->flow);
	c->tcp = c->flow.l4 == IPPROTO_TCP;
	c->records = conv->proto == ST_PROTO_UNIX_SEQPACKET;
	c->seq[0] = isn(conv->id, 0);
	c->seq[1] = isn(conv->id, 1);
	c->ipid[0] = (uint16_t)isn(conv->id, 2);
	c->ipid[1] = (uint16_t)isn(conv->id, 3);
	h = bucket(s, c->id);
	c->next = s->tab[h];
	s->tab[h] = c;
	s->n++;
	return c;
}

/* ------------------------------------------------------------------ */
/* Writing */

/* Appends s, printable ASCII kept, anything else as \xNN. */
static size_t put_text(char *buf, size_t size, size_t pos, const char *s,
		       size_t max)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; s && s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (pos + 1 >= size)
				break;
			buf[pos++] = (char)ch;
			continue;
		}
		if (pos + 4 >= size)
			break;
		buf[pos++] = '\\';
		buf[pos++] = 'x';
		buf[pos++] = hex[ch >> 4];
		buf[pos++] = hex[ch & 15];
	}
	buf[pos] = '\0';
	return pos;
}

static size_t put_str(char *buf, size_t size, size_t pos, const char *s)
{
	int n;

	if (pos >= size)
		return pos;
	n = snprintf(buf + pos, size - pos, "%s", s);
	if (n < 0)
		return pos;
	pos += (size_t)n;
	return pos < size ? pos : size - 1;
}

/* "pid=123 comm=curl fd=3 syscall=write; note; note" */
static const char *comment(struct psink *s, const struct st_event *ev,
			   const char *note1, const char *note2)
{
	char *b = s->comment, num[64];
	size_t size = sizeof(s->comment), pos = 0;
	const struct st_origin_info *who = &ev->who;

	b[0] = '\0';
	if (who->pid > 0 || who->syscall) {
		snprintf(num, sizeof(num), "pid=%d", (int)who->pid);
		pos = put_str(b, size, pos, num);
		if (who->tid > 0 && who->tid != who->pid) {
			snprintf(num, sizeof(num), " tid=%d", (int)who->tid);
			pos = put_str(b, size, pos, num);
		}
		if (who->comm) {
			pos = put_str(b, size, pos, " comm=");
			pos = put_text(b, size, pos, who->comm, 64);
		}
		snprintf(num, sizeof(num), " fd=%d", who->fd);
		pos = put_str(b, size, pos, num);
		if (who->syscall) {
			pos = put_str(b, size, pos, " syscall=");
			pos = put_text(b, size, pos, who->syscall, 64);
		}
	}
	for (int i = 0; i < 2; i++) {
		const char *note = i ? note2 : note1;

		if (!note || !note[0])
			continue;
		if (pos)
			pos = put_str(b, size, pos, "; ");
		pos = put_text(b, size, pos, note, NOTE_LEN);
	}
	return b;
}

/* Where the next packet is built (see st_pwriter_reserve). */
static int reserve(struct psink *s, uint8_t **pkt)
{
	return s->err ? s->err : st_pwriter_reserve(s->w, pkt);
}

/* Writes the packet built where reserve said. */
static int emit(struct psink *s, const struct st_event *ev, size_t caplen,
		size_t origlen, const char *note1, const char *note2)
{
	const char *cm = NULL;
	int rc;

	if (s->err)
		return s->err;
	if (s->pcapng)
		cm = comment(s, ev, note1, note2);
	rc = st_pwriter_commit(s->w, &ev->who.ts, caplen, origlen, cm);
	if (rc)
		return rc;
	s->stats.packets++;
	s->stats.bytes += caplen;
	return 0;
}

/* The gap note of side `from`, told once, on its next packet. */
static const char *gap_note(struct pconv *c, int from, char *buf,
			    size_t size)
{
	if (!c->gap[from])
		return NULL;
	snprintf(buf, size,
		 "gap: %llu bytes of this direction not captured%s%s",
		 (unsigned long long)c->gap[from],
		 c->gap_why[from] ? ": " : "",
		 c->gap_why[from] ? c->gap_why[from] : "");
	c->gap[from] = 0;
	c->gap_why[from] = NULL;
	return buf;
}

static int send_tcp(struct psink *s, struct pconv *c,
		    const struct st_event *ev, int from, uint8_t flags,
		    const uint8_t *data, size_t len, uint16_t urp,
		    const char *note)
{
	struct st_ptcp t;
	char gbuf[NOTE_LEN];
	const char *gap;
	uint8_t *pkt;
	size_t n;
	int rc;

	memset(&t, 0, sizeof(t));
	t.seq = c->seq[from];
	t.ack = (flags & ST_TH_ACK) ? c->seq[!from] : 0;
	t.flags = flags;
	t.win = WIN;
	t.urp = urp;
	t.mss = (uint16_t)st_pcap_l4_max(&c->flow);
	t.wscale = WSCALE;
	gap = gap_note(c, from, gbuf, sizeof(gbuf));
	rc = reserve(s, &pkt);
	if (!rc) {
		n = st_pcap_build(pkt, &c->flow, from, &t, c->ipid[from]++,
				  data, len, len);
		rc = emit(s, ev, n, n, gap, note);
	}
	c->seq[from] += (uint32_t)len;
	if (flags & (ST_TH_SYN | ST_TH_FIN))
		c->seq[from]++;
	if (flags & ST_TH_ACK)
		c->acked[from] = t.ack;
	if (!rc)
		s->stats.payload += len;
	return rc;
}

static int handshake(struct psink *s, struct pconv *c,
		     const struct st_event *ev, bool seen_open)
{
	const char *note;
	int cl = 0, rc;

	switch (ev->conv->origin) {
	case ST_ORIGIN_ACCEPT:
		cl = 1;
		note = "handshake synthesized (accept)";
		break;
	case ST_ORIGIN_CONNECT:
		note = "handshake synthesized (connect)";
		break;
	case ST_ORIGIN_PAIR:
		note = "handshake synthesized (socketpair)";
		break;
	case ST_ORIGIN_MIDSTREAM:
		note = "handshake synthesized: "
		       "already connected when first seen";
		break;
	default:
		note = "handshake synthesized";
		break;
	}
	if (!seen_open)
		note = "handshake synthesized: start of conversation not seen";
	rc = send_tcp(s, c, ev, cl, ST_TH_SYN, NULL, 0, 0, note);
	if (!rc)
		rc = send_tcp(s, c, ev, !cl, ST_TH_SYN | ST_TH_ACK, NULL, 0, 0,
			      note);
	if (!rc)
		rc = send_tcp(s, c, ev, cl, ST_TH_ACK, NULL, 0, 0, note);
	return rc;
}

/* The largest segment of a conversation. */
static size_t seg_max(const struct pconv *c)
{
	size_t max = st_pcap_l4_max(&c->flow);

	return !c->records && max > SEG_MAX ? SEG_MAX : max;
}

/* One data segment of side `from`; `last` when it ends the call's
 * bytes: PSH, and URG for an out-of-band send. */
static int data_segment(struct psink *s, struct pconv *c,
			const struct st_event *ev, int from,
			const uint8_t *data, size_t n, bool last)
{
	uint8_t flags = ST_TH_ACK;
	uint16_t urp = 0;
	int rc = 0;

	if (last)
		flags |= ST_TH_PSH;
	if (last && (ev->flags & ST_EVF_OOB)) {
		/* the urgent pointer points past the last byte of the
		 * send(MSG_OOB) call, which is the urgent one */
		flags |= ST_TH_URG;
		urp = (uint16_t)n;
	}
	if (c->seq[from] + (uint32_t)n - c->acked[!from] > ACK_EVERY)
		rc = send_tcp(s, c, ev, !from, ST_TH_ACK, NULL, 0, 0,
			      "ACK synthesized");
	if (!rc)
		rc = send_tcp(s, c, ev, from, flags, data, n, urp, NULL);
	return rc;
}

/* Writes what a call's parts left held; `last`: the call ended. */
static int flush_held(struct psink *s, const struct st_event *ev, bool last)
{
	struct pconv *c = s->held_conv;
	size_t n = s->held_len;

	if (!c)
		return 0;
	s->held_conv = NULL;
	s->held_len = 0;
	if (c->reset)
		return 0;
	return data_segment(s, c, ev, s->held_dir, s->held, n, last);
}

static int tcp_data(struct psink *s, struct pconv *c,
		    const struct st_event *ev)
{
	int from = ev->dir == ST_DIR_B_TO_A;
	bool part = ev->flags & ST_EVF_PART;
	size_t max = seg_max(c), off = 0;
	int rc = 0;

	if (c->reset) {
		s->stats.dropped++;
		return 0;
	}
	if (s->held_conv && s->held_dir != from)
		rc = flush_held(s, ev, true);
	if (!rc && s->held_conv) {
		/* the same call goes on: fill the held segment first */
		size_t take = max - s->held_len < ev->len ?
			max - s->held_len : ev->len;

		memcpy(s->held + s->held_len, ev->data, take);
		s->held_len += take;
		off = take;
		if (part && s->held_len < max)
			return 0;
		rc = flush_held(s, ev, !part && off == ev->len);
	}
	while (off < ev->len && !rc) {
		size_t n = ev->len - off < max ? ev->len - off : max;

		if (part && n < max) {
			/* the call's next part may fill this segment */
			if (!s->held) {
				s->held = malloc(HELD_CAP);
				if (!s->held)
					return -ENOMEM;
			}
			memcpy(s->held, ev->data + off, n);
			s->held_conv = c;
			s->held_dir = from;
			s->held_len = n;
			return 0;
		}
		rc = data_segment(s, c, ev, from, ev->data + off, n,
				  !part && off + n == ev->len);
		off += n;
	}
	return rc;
}

static int send_udp(struct psink *s, struct pconv *c,
		    const struct st_event *ev, int from, const uint8_t *data,
		    size_t len, size_t total, size_t orig)
{
	size_t max = st_pcap_l4_max(&c->flow), cap = len, wire, n;
	char note[NOTE_LEN], gbuf[NOTE_LEN];
	const char *gap;
	uint8_t *pkt;
	int rc;

	note[0] = '\0';
	if (total > max) {
		cap = len < max ? len : max;
		snprintf(note, sizeof(note),
			 "datagram of %zu bytes cut to %zu to fit one IP packet",
			 total, max);
		s->stats.dgrams_cut++;
		wire = max;
	} else if (orig > total) {
		/* read short: the record says how long it really was */
		snprintf(note, sizeof(note),
			 "datagram of %zu bytes, %zu read", orig, total);
		wire = orig < max ? orig : max;
	} else {
		wire = total;
	}
	if (cap > total)
		cap = total;
	gap = gap_note(c, from, gbuf, sizeof(gbuf));
	rc = reserve(s, &pkt);
	if (rc)
		return rc;
	n = st_pcap_build(pkt, &c->flow, from, NULL, c->ipid[from]++, data,
			  cap, wire);
	rc = emit(s, ev, n, n + (wire - cap), gap, note);
	if (!rc)
		s->stats.payload += cap;
	return rc;
}

static int flush_dgram(struct psink *s, struct pconv *c,
		       const struct st_event *ev)
{
	int rc;

	if (!c->dg_total)
		return 0;
	rc = send_udp(s, c, ev, c->dg_dir, c->dg, c->dg_len, c->dg_total,
		      c->dg_orig);
	c->dg_len = c->dg_total = c->dg_orig = 0;
	free(c->dg);
	c->dg = NULL;
	return rc;
}

/* A part of a datagram: held (up to one IP packet) until the last. */
static int hold_part(struct psink *s, struct pconv *c,
		     const struct st_event *ev, int from)
{
	size_t max = st_pcap_l4_max(&c->flow), n;
	int rc = 0;

	if (c->dg_total && c->dg_dir != from)
		rc = flush_dgram(s, c, ev);
	if (!c->dg) {
		c->dg = malloc(max);
		if (!c->dg)
			return -ENOMEM;
	}
	c->dg_dir = from;
	n = max - c->dg_len < ev->len ? max - c->dg_len : ev->len;
	memcpy(c->dg + c->dg_len, ev->data, n);
	c->dg_len += n;
	c->dg_total += ev->len;
	if ((ev->flags & ST_EVF_TRUNC) && ev->orig_len > c->dg_orig)
		c->dg_orig = ev->orig_len;
	return rc;
}

static int udp_data(struct psink *s, struct pconv *c,
		    const struct st_event *ev)
{
	int from = ev->dir == ST_DIR_B_TO_A;
	size_t orig = (ev->flags & ST_EVF_TRUNC) ? ev->orig_len : 0;

	if ((ev->flags & ST_EVF_PART) || (c->dg_total && c->dg_dir == from)) {
		int rc = hold_part(s, c, ev, from);

		if (rc || (ev->flags & ST_EVF_PART))
			return rc;
		return flush_dgram(s, c, ev);
	}
	if (c->dg_total) {
		int rc = flush_dgram(s, c, ev);

		if (rc)
			return rc;
	}
	return send_udp(s, c, ev, from, ev->data, ev->len, ev->len, orig);
}

static int on_fin(struct psink *s, struct pconv *c, const struct st_event *ev)
{
	int from = ev->dir == ST_DIR_B_TO_A;
	int rc;

	if (!c->tcp || c->reset || c->fin[from])
		return 0;
	c->fin[from] = true;
	rc = send_tcp(s, c, ev, from, ST_TH_FIN | ST_TH_ACK, NULL, 0, 0, NULL);
	if (!rc)
		rc = send_tcp(s, c, ev, !from, ST_TH_ACK, NULL, 0, 0,
			      "ACK of the FIN synthesized");
	return rc;
}

static int on_reset(struct psink *s, struct pconv *c,
		    const struct st_event *ev)
{
	int from = ev->dir == ST_DIR_B_TO_A;

	if (!c->tcp || c->reset)
		return 0;
	c->reset = true;
	return send_tcp(s, c, ev, from, ST_TH_RST | ST_TH_ACK, NULL, 0, 0,
			NULL);
}

static void on_gap(struct psink *s, struct pconv *c, const struct st_event *ev)
{
	int from = ev->dir == ST_DIR_B_TO_A;

	s->stats.gaps++;
	if (c->reset)
		return;
	if (c->tcp)
		c->seq[from] += (uint32_t)ev->len;
	c->gap[from] += ev->len;
	if (ev->note)
		c->gap_why[from] = ev->note;
}

static int on_end(struct psink *s, struct pconv *c, const struct st_event *ev)
{
	int rc = flush_dgram(s, c, ev);

	/* a gap nothing followed: one empty segment shows it */
	for (int side = 0; side < 2 && !rc; side++)
		if (c->tcp && c->gap[side] && !c->reset)
			rc = send_tcp(s, c, ev, side, ST_TH_ACK, NULL, 0, 0,
				      NULL);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The sink */

static int stop(struct psink *s, int rc)
{
	if (!rc || s->err)
		return 0;
	s->err = rc;	/* told once; then nothing more is written */
	return rc;
}

static int pcap_on_event(void *priv, const struct st_event *ev)
{
	struct psink *s = priv;
	struct pconv *c;
	int rc = 0;

	if (!ev || !ev->conv)
		return 0;
	c = find(s, ev->conv->id);
	/* a call's held parts end with its last part; anything else
	 * first (a gap, another conversation) ends them too */
	if (s->held_conv && (ev->type != ST_EV_DATA || s->held_conv != c) &&
	    !s->finished) {
		rc = flush_held(s, ev, true);
		if (rc)
			return stop(s, rc);
	}
	if (ev->type == ST_EV_END) {
		if (c) {
			if (!s->err && !s->finished)
				rc = on_end(s, c, ev);
			if (!rc && s->live)
				rc = st_pwriter_flush(s->w);
			unlink_conv(s, c);
		}
		return stop(s, rc);
	}
	if (s->err || s->finished)
		return 0;
	if (!c) {
		c = new_conv(s, ev->conv);
		if (!c)
			return stop(s, -ENOMEM);
		if (c->tcp)
			rc = handshake(s, c, ev, ev->type == ST_EV_OPEN);
		if (!rc && s->live && ev->type == ST_EV_OPEN)
			rc = st_pwriter_flush(s->w);
		if (rc || ev->type == ST_EV_OPEN)
			return stop(s, rc);
	}
	switch (ev->type) {
	case ST_EV_DATA:
		if (ev->len && !ev->data)
			break;
		rc = c->tcp ? tcp_data(s, c, ev) : udp_data(s, c, ev);
		break;
	case ST_EV_GAP:
		on_gap(s, c, ev);
		break;
	case ST_EV_FIN:
		rc = on_fin(s, c, ev);
		break;
	case ST_EV_RESET:
		rc = on_reset(s, c, ev);
		break;
	default:
		break;
	}
	/* live: the packets of one event leave together, at once */
	if (!rc && s->live)
		rc = st_pwriter_flush(s->w);
	return stop(s, rc);
}

static size_t pcap_spare(void *priv, size_t piece)
{
	struct psink *s = priv;

	return s->finished ? 0 : st_pwriter_spare(s->w, piece);
}

static int pcap_finish(void *priv)
{
	struct psink *s = priv;
	int rc;

	if (s->finished)
		return s->err;
	s->finished = true;
	rc = st_pwriter_close(s->w);
	if (!s->err)
		s->err = rc;
	return s->err;
}

static void pcap_destroy(void *priv)
{
	struct psink *s = priv;

	if (!s)
		return;
	for (size_t i = 0; i < s->nb; i++) {
		struct pconv *c = s->tab[i], *next;

		for (; c; c = next) {
			next = c->next;
			free(c->dg);
			free(c);
		}
	}
	free(s->tab);
	free(s->held);
	st_pwriter_free(s->w);
	free(s);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int st_pcap_sink_new(const struct st_pcap_opts *opts, struct st_sink *sink)
{
	struct psink *s;
	bool live;
	int rc;

	if (!opts || !opts->path || !opts->path[0] || !sink)
		return -EINVAL;
	if (opts->errbuf && opts->errbuf_size)
		opts->errbuf[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pcapng = opts->pcapng || ends_with(opts->path, ".pcapng");
	live = opts->live || strcmp(opts->path, "-") == 0;
	s->live = live;
	rc = st_pwriter_open(&s->w, opts->path, s->pcapng, live, opts->opened,
			     opts->errbuf, opts->errbuf_size);
	if (rc) {
		free(s);
		return rc;
	}
	memset(sink, 0, sizeof(*sink));
	sink->name = "pcap";
	sink->priv = s;
	sink->on_event = pcap_on_event;
	sink->finish = pcap_finish;
	sink->spare = pcap_spare;
	sink->destroy = pcap_destroy;
	return 0;
}

int st_pcap_sink_stats(const struct st_sink *sink,
		       struct st_pcap_stats *stats)
{
	const struct psink *s;

	if (!sink || sink->on_event != pcap_on_event || !sink->priv)
		return -EINVAL;
	s = sink->priv;
	*stats = s->stats;
	return 0;
}
