/*
 * DNS (RFC 1035, 3596, 2782, 6891): over UDP one datagram is one message;
 * over TCP each message has a 2-byte length prefix.  Header flags, the
 * questions and every resource record (A, AAAA, CNAME, NS, PTR, MX, TXT,
 * SOA, SRV, OPT decoded; others as TYPEnn and their length).  Names may
 * use compression pointers, which must point strictly before the place
 * the current name part started, so decoding always ends; labels and
 * name length are bounded as RFC 1035 says.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "socktap/decoder.h"

#define DNS_NAME_TEXT	1100	/* 255 wire bytes, escaped */
#define DNS_SHOW_RRS	20	/* resource records given a field */
#define DNS_SUMMARY_RRS	4	/* answers named in the summary */

struct dns_state {
	uint64_t msgs;
};

static const char *type_name(uint16_t t)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 13: return "HINFO";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 35: return "NAPTR";
	case 41: return "OPT";
	case 43: return "DS";
	case 46: return "RRSIG";
	case 47: return "NSEC";
	case 48: return "DNSKEY";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 251: return "IXFR";
	case 252: return "AXFR";
	case 255: return "ANY";
	case 257: return "CAA";
	default: return NULL;
	}
}

static void type_str(char *buf, size_t size, uint16_t t)
{
	const char *n = type_name(t);

	if (n)
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "TYPE%u", t);
}

static void class_str(char *buf, size_t size, uint16_t c)
{
	/* mDNS uses the top bit (unicast-response / cache-flush) */
	uint16_t v = c & 0x7fff;
	const char *n = v == 1 ? "IN" : v == 3 ? "CH" : v == 4 ? "HS" :
			v == 255 ? "ANY" : NULL;

	if (n)
		snprintf(buf, size, "%s%s", n, c & 0x8000 ? "/qu" : "");
	else
		snprintf(buf, size, "CLASS%u", c);
}

static const char *rcode_name(unsigned r)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE",
	};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

static const char *opcode_name(unsigned o)
{
	switch (o) {
	case 0: return "QUERY";
	case 1: return "IQUERY";
	case 2: return "STATUS";
	case 4: return "NOTIFY";
	case 5: return "UPDATE";
	default: return NULL;
	}
}

/*
 * Reads a name at r's position within the whole message r covers.  r ends
 * after the name's bytes at that position (after the first pointer).
 * NEED_MORE: the message ended inside the name.
 */
static enum st_dec_status dns_name(struct st_rd *r, char *buf, size_t size)
{
	struct st_rd w = *r;
	size_t bound = st_rd_pos(r), o = 0, wire = 1, labels = 0;
	bool jumped = false;
	uint8_t len, lo;
	const uint8_t *lab;

	buf[0] = '\0';
	for (;;) {
		if (st_rd_u8(&w, &len) != ST_DEC_OK)
			return ST_DEC_NEED_MORE;
		if ((len & 0xc0) == 0xc0) {
			size_t t;

			if (st_rd_u8(&w, &lo) != ST_DEC_OK)
				return ST_DEC_NEED_MORE;
			t = (size_t)(len & 0x3f) << 8 | lo;
			/* strictly backwards, and further back each time */
			if (t >= bound)
				return ST_DEC_INVALID;
			if (!jumped)
				*r = w;
			jumped = true;
			bound = t;
			if (st_rd_seek(&w, t) != ST_DEC_OK)
				return ST_DEC_INVALID;
			continue;
		}
		if (len & 0xc0)
			return ST_DEC_INVALID;	/* extended label types */
		if (!len)
			break;
		wire += len + 1u;
		if (++labels > 127 || wire > 255)
			return ST_DEC_INVALID;
		if (st_rd_view(&w, len, &lab) != ST_DEC_OK)
			return ST_DEC_NEED_MORE;
		if (o + 1 < size) {
			st_dec_escape(buf + o, size - o, lab, len, false);
			o += strlen(buf + o);
			if (o + 1 < size) {
				buf[o++] = '.';
				buf[o] = '\0';
			}
		}
	}
	if (!jumped)
		*r = w;
	if (!o && size > 1)
		snprintf(buf, size, ".");
	return ST_DEC_OK;
}

/* Appends s to buf at offset at (-1: its end), always terminated. */
static void append(char *buf, size_t size, int at, const char *s)
{
	size_t o = at < 0 ? strlen(buf) : (size_t)at, n = strlen(s);

	if (o >= size)
		return;
	if (n > size - o - 1)
		n = size - o - 1;
	memcpy(buf + o, s, n);
	buf[o + n] = '\0';
}

/* rdata in text form; msg is the whole message (for names). */
static enum st_dec_status rdata_str(const struct st_rd *msg, size_t rs,
				    size_t rdlen, uint16_t type, char *buf,
				    size_t size)
{
	struct st_rd w = *msg, rd;
	char n1[DNS_NAME_TEXT], n2[DNS_NAME_TEXT];
	const uint8_t *p;
	uint16_t a16 = 0, b16 = 0, c16 = 0;
	uint32_t v[5];
	int k;
	enum st_dec_status s;
	size_t o, i;

	if (st_rd_seek(&w, rs) != ST_DEC_OK)
		return ST_DEC_INVALID;
	rd = w;
	if (st_rd_sub(&rd, rdlen, &rd) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	switch (type) {
	case 1:
	case 28: {
		char a[INET6_ADDRSTRLEN];
		size_t want = type == 1 ? 4 : 16;

		if (rdlen != want || st_rd_view(&rd, want, &p) != ST_DEC_OK)
			return ST_DEC_INVALID;
		inet_ntop(type == 1 ? AF_INET : AF_INET6, p, a, sizeof(a));
		snprintf(buf, size, "%s", a);
		return ST_DEC_OK;
	}
	case 2:
	case 5:
	case 12:
	case 15:
	case 33:
		if (type == 15 || type == 33) {
			if (st_rd_be16(&w, &a16) != ST_DEC_OK)
				return ST_DEC_INVALID;
		}
		if (type == 33 && (st_rd_be16(&w, &b16) != ST_DEC_OK ||
				   st_rd_be16(&w, &c16) != ST_DEC_OK))
			return ST_DEC_INVALID;
		s = dns_name(&w, n1, sizeof(n1));
		if (s != ST_DEC_OK)
			return st_dec_complete(s);
		if (st_rd_pos(&w) != rs + rdlen)
			return ST_DEC_INVALID;
		if (type == 15)
			k = snprintf(buf, size, "%u ", a16);
		else if (type == 33)
			k = snprintf(buf, size, "%u %u %u ", a16, b16, c16);
		else
			k = 0;
		append(buf, size, k, n1);
		return ST_DEC_OK;
	case 6:
		s = dns_name(&w, n1, sizeof(n1));
		if (s == ST_DEC_OK)
			s = dns_name(&w, n2, sizeof(n2));
		if (s != ST_DEC_OK)
			return st_dec_complete(s);
		for (i = 0; i < 5; i++)
			if (st_rd_be32(&w, &v[i]) != ST_DEC_OK)
				return ST_DEC_INVALID;
		if (st_rd_pos(&w) != rs + rdlen)
			return ST_DEC_INVALID;
		buf[0] = '\0';
		append(buf, size, 0, n1);
		append(buf, size, -1, " ");
		append(buf, size, -1, n2);
		snprintf(n1, sizeof(n1), " %u %u %u %u %u", v[0], v[1], v[2],
			 v[3], v[4]);
		append(buf, size, -1, n1);
		return ST_DEC_OK;
	case 16:
		o = 0;
		buf[0] = '\0';
		while (st_rd_left(&rd)) {
			uint8_t l;

			if (st_rd_u8(&rd, &l) != ST_DEC_OK ||
			    st_rd_view(&rd, l, &p) != ST_DEC_OK)
				return ST_DEC_INVALID;
			if (o + 4 < size) {
				if (o)
					buf[o++] = ' ';
				buf[o++] = '"';
				st_dec_escape(buf + o, size - o - 1, p, l,
					      true);
				o += strlen(buf + o);
				buf[o++] = '"';
				buf[o] = '\0';
			}
		}
		return ST_DEC_OK;
	default:
		if (st_rd_view(&rd, rdlen, &p) != ST_DEC_OK)
			return ST_DEC_INVALID;
		o = (size_t)snprintf(buf, size, "rdlength %zu", rdlen);
		for (i = 0; i < rdlen && i < 16 && o + 4 < size; i++)
			o += (size_t)snprintf(buf + o, size - o, "%s%02x",
					      i ? "" : " ", p[i]);
		if (rdlen > 16 && o + 4 < size)
			snprintf(buf + o, size - o, "...");
		return ST_DEC_OK;
	}
}

static const char *const section_key[] = { "answer", "authority",
					   "additional" };

/*
 * Decodes one message (r covers exactly it).  Records go to out as they
 * are read; a record left open on INVALID is dropped by the session.
 */
static enum st_dec_status dns_msg(struct st_rd *r, enum st_dir dir,
				  bool trunc, size_t orig_len,
				  struct st_dec_out *out)
{
	uint16_t id, fl, cnt[4], type, cls, rdlen;
	uint32_t ttl;
	char name[DNS_NAME_TEXT], ts[16], cs[16], rdata[512];
	enum st_dec_status s = ST_DEC_OK;
	unsigned i, sec, shown = 0, in_sum = 0;
	const char *rc;
	bool qr;

	if (st_rd_be16(r, &id) != ST_DEC_OK ||
	    st_rd_be16(r, &fl) != ST_DEC_OK)
		return ST_DEC_INVALID;
	for (i = 0; i < 4; i++)
		if (st_rd_be16(r, &cnt[i]) != ST_DEC_OK)
			return ST_DEC_INVALID;
	qr = fl & 0x8000;
	st_dec_begin(out, dir, qr ? "answer" : "query");
	st_dec_summary(out, "%s 0x%04x", qr ? "answer" : "query", id);
	if ((fl >> 11 & 15) != 0) {
		const char *on = opcode_name(fl >> 11 & 15);

		if (on)
			st_dec_summary_add(out, " %s", on);
		else
			st_dec_summary_add(out, " OPCODE%u", fl >> 11 & 15);
	}
	rc = rcode_name(fl & 15);
	if (qr) {
		if (rc)
			st_dec_summary_add(out, " %s", rc);
		else
			st_dec_summary_add(out, " RCODE%u", fl & 15);
	}
	st_dec_field(out, "id", "0x%04x", id);
	snprintf(rdata, sizeof(rdata), "%s%s%s%s%s%s%s%s",
		 qr ? " qr" : "", fl & 0x400 ? " aa" : "",
		 fl & 0x200 ? " tc" : "", fl & 0x100 ? " rd" : "",
		 fl & 0x80 ? " ra" : "", fl & 0x40 ? " z" : "",
		 fl & 0x20 ? " ad" : "", fl & 0x10 ? " cd" : "");
	st_dec_field(out, "flags", "%s", rdata[0] ? rdata + 1 : "none");
	st_dec_field(out, "counts", "qd %u, an %u, ns %u, ar %u", cnt[0],
		     cnt[1], cnt[2], cnt[3]);
	if (qr)
		st_dec_field(out, "rcode", "%s", rc ? rc : "other");

	for (i = 0; i < cnt[0]; i++) {
		s = dns_name(r, name, sizeof(name));
		if (s == ST_DEC_OK && (st_rd_be16(r, &type) != ST_DEC_OK ||
				       st_rd_be16(r, &cls) != ST_DEC_OK))
			s = ST_DEC_NEED_MORE;
		if (s != ST_DEC_OK)
			goto short_msg;
		type_str(ts, sizeof(ts), type);
		class_str(cs, sizeof(cs), cls);
		if (i == 0)
			st_dec_summary_add(out, " %s %s", ts, name);
		if (shown++ < DNS_SHOW_RRS)
			st_dec_field(out, "question", "%s %s %s", name, cs, ts);
	}
	for (sec = 0; sec < 3; sec++) {
		for (i = 0; i < cnt[sec + 1]; i++) {
			size_t rs;

			s = dns_name(r, name, sizeof(name));
			if (s == ST_DEC_OK &&
			    (st_rd_be16(r, &type) != ST_DEC_OK ||
			     st_rd_be16(r, &cls) != ST_DEC_OK ||
			     st_rd_be32(r, &ttl) != ST_DEC_OK ||
			     st_rd_be16(r, &rdlen) != ST_DEC_OK))
				s = ST_DEC_NEED_MORE;
			if (s != ST_DEC_OK)
				goto short_msg;
			rs = st_rd_pos(r);
			if (type == 41) {
				/* OPT: class is the UDP size, ttl flags */
				if (st_rd_skip(r, rdlen) != ST_DEC_OK) {
					s = ST_DEC_NEED_MORE;
					goto short_msg;
				}
				if (shown++ < DNS_SHOW_RRS)
					st_dec_field(out, "edns", "version %u, "
						     "udp %u%s, %u option bytes",
						     ttl >> 16 & 0xff, cls,
						     ttl & 0x8000 ? ", do" : "",
						     rdlen);
				continue;
			}
			s = rdata_str(r, rs, rdlen, type, rdata, sizeof(rdata));
			if (s != ST_DEC_OK)
				goto short_msg;
			if (st_rd_skip(r, rdlen) != ST_DEC_OK)
				return ST_DEC_INVALID;
			type_str(ts, sizeof(ts), type);
			class_str(cs, sizeof(cs), cls);
			if (sec == 0 && in_sum < DNS_SUMMARY_RRS)
				st_dec_summary_add(out, "%s%s", in_sum++ ?
						   ", " : " -> ", rdata);
			else if (sec == 0 && in_sum++ == DNS_SUMMARY_RRS)
				st_dec_summary_add(out, ", ...");
			if (shown++ < DNS_SHOW_RRS)
				st_dec_field(out, section_key[sec],
					     "%s %u %s %s %s", name, ttl, cs,
					     ts, rdata);
		}
	}
	if (shown > DNS_SHOW_RRS)
		st_dec_field(out, "more", "%u records not shown",
			     shown - DNS_SHOW_RRS);
	if (st_rd_left(r))
		st_dec_field(out, "trailing", "%zu bytes", st_rd_left(r));
	if (trunc)
		st_dec_field(out, "truncated", "datagram of %zu bytes, %zu "
			     "read", orig_len, st_rd_size(r));
	st_dec_emit(out);
	return ST_DEC_OK;

short_msg:
	/* a datagram cut by the reader's buffer: show what was there */
	if (s == ST_DEC_NEED_MORE && trunc) {
		st_dec_field(out, "truncated", "datagram of %zu bytes, %zu "
			     "read", orig_len, st_rd_size(r));
		st_dec_emit(out);
		return ST_DEC_OK;
	}
	return ST_DEC_INVALID;
}

static enum st_dec_status dns_feed(void *state, struct st_dec_input *in,
				   struct st_dec_out *out)
{
	struct dns_state *st = state;
	struct st_rd r = in->rd, msg;
	uint16_t len;
	enum st_dec_status s;

	if (in->flags & ST_DEC_F_DGRAM) {
		if (!st_rd_left(&r))
			return ST_DEC_INVALID;
		st->msgs++;
		return dns_msg(&r, in->dir, in->flags & ST_DEC_F_TRUNC,
			       in->orig_len, out);
	}
	if (in->flags & ST_DEC_F_GAP)
		return ST_DEC_INVALID;	/* framing lost */
	if (!st_rd_left(&r))
		return ST_DEC_NEED_MORE;
	s = st_rd_be16(&r, &len);
	if (s != ST_DEC_OK)
		return s;
	if (len < 12)
		return ST_DEC_INVALID;
	s = st_rd_sub(&r, len, &msg);
	if (s != ST_DEC_OK)
		return s;
	s = dns_msg(&msg, in->dir, false, 0, out);
	if (s != ST_DEC_OK)
		return s;
	st->msgs++;
	in->rd = r;
	return ST_DEC_OK;
}

/* Plausible header and a first question that parses. */
static int dns_probe(const uint8_t *p, size_t n, enum st_dir dir,
		     unsigned flags)
{
	struct st_rd r;
	uint16_t len, id, fl, qd, an, ns, ar, type, cls;
	char name[DNS_NAME_TEXT];
	unsigned op;

	st_rd_init(&r, p, n);
	if (!(flags & ST_DEC_F_DGRAM)) {
		if (st_rd_be16(&r, &len) != ST_DEC_OK || len < 12 ||
		    len > n - 2)
			return ST_PROBE_NO;
		st_rd_init(&r, p + 2, len);
	}
	if (st_rd_be16(&r, &id) != ST_DEC_OK ||
	    st_rd_be16(&r, &fl) != ST_DEC_OK ||
	    st_rd_be16(&r, &qd) != ST_DEC_OK ||
	    st_rd_be16(&r, &an) != ST_DEC_OK ||
	    st_rd_be16(&r, &ns) != ST_DEC_OK ||
	    st_rd_be16(&r, &ar) != ST_DEC_OK)
		return ST_PROBE_NO;
	op = fl >> 11 & 15;
	if (qd != 1 || !opcode_name(op) || (fl & 15) > 10)
		return ST_PROBE_NO;
	if (!(fl & 0x8000) && (an || ns > 1 || ar > 2))
		return ST_PROBE_NO;
	if (dns_name(&r, name, sizeof(name)) != ST_DEC_OK ||
	    st_rd_be16(&r, &type) != ST_DEC_OK ||
	    st_rd_be16(&r, &cls) != ST_DEC_OK)
		return ST_PROBE_NO;
	cls &= 0x7fff;
	if (cls != 1 && cls != 3 && cls != 255)
		return ST_PROBE_NO;
	if (!type || (!type_name(type) && type > 260))
		return ST_PROBE_WEAK;
	return 85;
}

static const uint16_t dns_ports[] = { 53, 5353 };

const struct st_decoder st_dec_dns = {
	.name = "dns",
	.summary = "DNS messages over UDP (datagrams) or TCP (length-framed)",
	.transports = ST_DEC_STREAMS | ST_DEC_UDP | ST_DEC_UNIX_DGRAM,
	.ports = dns_ports,
	.nports = sizeof(dns_ports) / sizeof(dns_ports[0]),
	.probe = dns_probe,
	.state_size = sizeof(struct dns_state),
	.feed = dns_feed,
};
