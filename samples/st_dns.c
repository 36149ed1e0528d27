/*
 * st_dns - a tiny authoritative DNS responder for the fixed zone
 * example.test, on UDP and TCP (2-byte length framing, RFC 1035 4.2.2)
 * of the same ephemeral port of 127.0.0.1.  Answers A, AAAA, CNAME (and
 * follows CNAME chains), MX (with the exchanges' addresses as additional
 * records), TXT and SOA, NXDOMAIN and NODATA with the SOA as authority;
 * answers carry an OPT record when the query had one.  Names in answers
 * are compressed (RFC 1035 4.1.4).
 *
 * Without -s it forks the responder and is its client: five queries over
 * one UDP socket, two pipelined over one TCP connection, with fixed ids,
 * printing the answers.  With -s it only serves (printing "PORT n"), e.g.
 * for dig.  Try: socktap -- samples/st_dns
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "st_dns";

#define MSG_MAX		1232	/* answers stay below this */
#define NAME_MAX_TXT	256	/* dotted name, with the NUL */
#define COMP_MAX	64	/* names remembered for compression */
#define CHAIN_MAX	8	/* CNAMEs followed */

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_MX = 15, T_TXT = 16,
       T_AAAA = 28, T_OPT = 41, T_ANY = 255 };

struct rr {
	const char *name;
	uint16_t type;
	uint32_t ttl;
	const char *s1, *s2;	/* address, target, exchange, SOA names */
	uint16_t pref;		/* MX */
	const char *txt[3];	/* TXT character-strings */
	uint32_t soa[5];
};

/* A record whose data is one string: an address or a name. */
#define RR(n, t, x)	{ .name = n, .type = t, .ttl = 300, .s1 = x }

static const struct rr zone[] = {
	{ .name = "example.test", .type = T_SOA, .ttl = 3600,
	  .s1 = "ns.example.test", .s2 = "hostmaster.example.test",
	  .soa = { 2024010101, 3600, 600, 86400, 300 } },
	RR("example.test", T_NS, "ns.example.test"),
	{ .name = "example.test", .type = T_MX, .ttl = 300,
	  .s1 = "mail.example.test", .pref = 10 },
	{ .name = "example.test", .type = T_MX, .ttl = 300,
	  .s1 = "backup.example.test", .pref = 20 },
	{ .name = "example.test", .type = T_TXT, .ttl = 300,
	  .txt = { "v=spf1 -all" } },
	{ .name = "example.test", .type = T_TXT, .ttl = 300,
	  .txt = { "say \"hi\"", "two\\strings" } },
	RR("ns.example.test", T_A, "192.0.2.1"),
	RR("www.example.test", T_CNAME, "web.example.test"),
	RR("web.example.test", T_CNAME, "host.example.test"),
	RR("host.example.test", T_A, "192.0.2.10"),
	RR("host.example.test", T_A, "192.0.2.11"),
	RR("host.example.test", T_AAAA, "2001:db8::10"),
	RR("mail.example.test", T_A, "192.0.2.25"),
	RR("backup.example.test", T_A, "192.0.2.26"),
	RR("backup.example.test", T_AAAA, "2001:db8::26"),
};

#define NZONE (sizeof(zone) / sizeof(zone[0]))

/* The client's queries: fixed ids, so every run sends the same bytes. */
struct query {
	uint16_t id;
	const char *name;
	uint16_t type;
};

static const struct query udp_queries[] = {
	{ 0x5301, "www.example.test", T_A },
	{ 0x5302, "host.example.test", T_AAAA },
	{ 0x5303, "example.test", T_MX },
	{ 0x5304, "example.test", T_TXT },
	{ 0x5305, "nope.example.test", T_A },
};

static const struct query tcp_queries[] = {
	{ 0x5401, "www.example.test", T_CNAME },
	{ 0x5402, "mail.example.test", T_A },
};

#define N_UDP (sizeof(udp_queries) / sizeof(udp_queries[0]))
#define N_TCP (sizeof(tcp_queries) / sizeof(tcp_queries[0]))

__attribute__((noreturn))
static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((noreturn))
static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-s] [-n COUNT]\n"
		"  Without -s: forks a DNS responder for example.test on an"
		" ephemeral port of\n"
		"  127.0.0.1 (UDP and TCP) and queries it, printing the"
		" answers.\n"
		"  -s: only serve; prints \"PORT <n>\" and answers COUNT"
		" messages (default 1).\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_dns: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		fail("bad %s: '%s'", what, s);
	return v;
}

static const char *type_name(uint16_t t)
{
	static char other[16];

	switch (t) {
	case T_A: return "A";
	case T_NS: return "NS";
	case T_CNAME: return "CNAME";
	case T_SOA: return "SOA";
	case T_MX: return "MX";
	case T_TXT: return "TXT";
	case T_AAAA: return "AAAA";
	case T_OPT: return "OPT";
	case T_ANY: return "ANY";
	}
	snprintf(other, sizeof(other), "TYPE%u", t);
	return other;
}

/* ------------------------------------------------------------------ */
/* Building messages                                                   */

struct msg {
	uint8_t b[MSG_MAX];
	size_t len;
	/* names (suffixes) already written, for compression */
	struct {
		char name[NAME_MAX_TXT];
		uint16_t off;
	} comp[COMP_MAX];
	size_t ncomp;
};

static void put(struct msg *m, const void *p, size_t n)
{
	if (n > sizeof(m->b) - m->len)
		fail("message too long");
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(m, &b, 1);
}

static void put16(struct msg *m, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 4);
}

static void set16(struct msg *m, size_t at, unsigned v)
{
	m->b[at] = (uint8_t)(v >> 8);
	m->b[at + 1] = (uint8_t)v;
}

/*
 * A dotted name ("" is the root).  With compression, the longest suffix
 * already in the message becomes a pointer to it; every suffix written
 * here is remembered for the names that follow.
 */
static void put_name(struct msg *m, const char *name, bool compress)
{
	const char *s = name;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t llen = dot ? (size_t)(dot - s) : strlen(s), i;

		if (compress) {
			for (i = 0; i < m->ncomp; i++) {
				if (!strcasecmp(m->comp[i].name, s)) {
					put16(m, 0xc000u | m->comp[i].off);
					return;
				}
			}
			if (m->ncomp < COMP_MAX && m->len < 0x3fff &&
			    strlen(s) < NAME_MAX_TXT) {
				snprintf(m->comp[m->ncomp].name,
					 NAME_MAX_TXT, "%s", s);
				m->comp[m->ncomp++].off = (uint16_t)m->len;
			}
		}
		if (!llen || llen > 63)
			fail("bad name '%s'", name);
		put8(m, (unsigned)llen);
		put(m, s, llen);
		s = dot ? dot + 1 : s + llen;
	}
	put8(m, 0);
}

/* One resource record of the zone. */
static void put_rr(struct msg *m, const struct rr *r)
{
	uint8_t addr[16];
	size_t rdlen_at, i;

	put_name(m, r->name, true);
	put16(m, r->type);
	put16(m, 1);		/* IN */
	put32(m, r->ttl);
	rdlen_at = m->len;
	put16(m, 0);
	switch (r->type) {
	case T_A:
		if (inet_pton(AF_INET, r->s1, addr) != 1)
			fail("bad address %s", r->s1);
		put(m, addr, 4);
		break;
	case T_AAAA:
		if (inet_pton(AF_INET6, r->s1, addr) != 1)
			fail("bad address %s", r->s1);
		put(m, addr, 16);
		break;
	case T_NS:
	case T_CNAME:
		put_name(m, r->s1, true);
		break;
	case T_MX:
		put16(m, r->pref);
		put_name(m, r->s1, true);
		break;
	case T_TXT:
		for (i = 0; i < 3 && r->txt[i]; i++) {
			put8(m, (unsigned)strlen(r->txt[i]));
			put(m, r->txt[i], strlen(r->txt[i]));
		}
		break;
	case T_SOA:
		put_name(m, r->s1, true);
		put_name(m, r->s2, true);
		for (i = 0; i < 5; i++)
			put32(m, r->soa[i]);
		break;
	default:
		fail("no rdata for type %u", r->type);
	}
	set16(m, rdlen_at, (unsigned)(m->len - rdlen_at - 2));
}

/* ------------------------------------------------------------------ */
/* Reading messages                                                    */

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static bool get16(struct rd *r, unsigned *v)
{
	if (r->len - r->off < 2)
		return false;
	*v = (unsigned)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	return true;
}

static bool get32(struct rd *r, uint32_t *v)
{
	unsigned hi, lo;

	if (!get16(r, &hi) || !get16(r, &lo))
		return false;
	*v = (uint32_t)hi << 16 | lo;
	return true;
}

/*
 * A name at r's offset into buf (dotted, lowercase, "" for the root);
 * r moves past it.  Pointers must go strictly backwards, which bounds
 * the walk.
 */
static bool get_name(struct rd *r, char *buf, size_t cap)
{
	size_t at = r->off, o = 0, bound = r->off;
	bool jumped = false;

	buf[0] = 0;
	for (;;) {
		unsigned len;

		if (at >= r->len)
			return false;
		len = r->p[at++];
		if ((len & 0xc0) == 0xc0) {
			size_t t;

			if (at >= r->len)
				return false;
			t = (size_t)(len & 0x3f) << 8 | r->p[at++];
			if (t >= bound)
				return false;
			if (!jumped)
				r->off = at;
			jumped = true;
			bound = at = t;
			continue;
		}
		if (len & 0xc0)
			return false;
		if (!len)
			break;
		if (len > r->len - at || o + len + 2 > cap)
			return false;
		if (o)
			buf[o++] = '.';
		for (unsigned i = 0; i < len; i++)
			buf[o++] = (char)tolower(r->p[at + i]);
		buf[o] = 0;
		at += len;
	}
	if (!jumped)
		r->off = at;
	return true;
}

/* ------------------------------------------------------------------ */
/* The responder                                                       */

static bool name_exists(const char *name)
{
	for (size_t i = 0; i < NZONE; i++)
		if (!strcasecmp(zone[i].name, name))
			return true;
	return false;
}

static const struct rr *find(const char *name, uint16_t type)
{
	for (size_t i = 0; i < NZONE; i++)
		if (zone[i].type == type && !strcasecmp(zone[i].name, name))
			return &zone[i];
	return NULL;
}

/* Builds the answer to the query q[0..n) into m; false: no answer. */
static bool answer(const uint8_t *q, size_t n, struct msg *m)
{
	struct rd r = { q, n, 0 };
	unsigned id, fl, qd, an, ns, ar, qtype, qclass, t, opcode;
	unsigned nan = 0, nns = 0, nar = 0, rcode = 0;
	char qname[NAME_MAX_TXT], name[NAME_MAX_TXT], root[NAME_MAX_TXT];
	bool edns = false;
	size_t i, k;

	m->len = 0;
	m->ncomp = 0;
	if (!get16(&r, &id) || !get16(&r, &fl) || !get16(&r, &qd) ||
	    !get16(&r, &an) || !get16(&r, &ns) || !get16(&r, &ar))
		return false;
	if (fl & 0x8000)
		return false;		/* not a query */
	opcode = fl >> 11 & 15;
	if (qd != 1 || !get_name(&r, qname, sizeof(qname)) ||
	    !get16(&r, &qtype) || !get16(&r, &qclass))
		return false;
	/* an OPT record as the first additional record: EDNS */
	if (!an && !ns && ar && get_name(&r, root, sizeof(root)) &&
	    !root[0] && get16(&r, &t) && t == T_OPT)
		edns = true;

	put16(m, id);
	put16(m, 0);		/* flags, set below */
	for (i = 0; i < 4; i++)
		put16(m, 0);
	put_name(m, qname, true);
	put16(m, qtype);
	put16(m, qclass);

	snprintf(name, sizeof(name), "%s", qname);
	if (opcode != 0) {
		rcode = 4;	/* NOTIMP */
	} else if (qclass != 1) {
		rcode = 5;	/* REFUSED */
	} else {
		const struct rr *c;

		/* follow the CNAME chain (not when CNAME itself is asked) */
		for (k = 0; k < CHAIN_MAX && qtype != T_CNAME &&
		     (c = find(name, T_CNAME)); k++) {
			put_rr(m, c);
			nan++;
			snprintf(name, sizeof(name), "%s", c->s1);
		}
		for (i = 0, k = 0; i < NZONE; i++) {
			if (strcasecmp(zone[i].name, name) ||
			    (qtype != T_ANY && zone[i].type != qtype))
				continue;
			put_rr(m, &zone[i]);
			k++;
		}
		nan += (unsigned)k;
		if (!k) {
			if (!name_exists(name))
				rcode = 3;	/* NXDOMAIN */
			put_rr(m, find("example.test", T_SOA));
			nns++;
		} else if (qtype == T_MX) {
			/* the exchanges' addresses, as additional data */
			for (i = 0; i < NZONE; i++) {
				if (zone[i].type != T_MX ||
				    strcasecmp(zone[i].name, name))
					continue;
				for (k = 0; k < NZONE; k++) {
					if (strcasecmp(zone[k].name,
						       zone[i].s1) ||
					    (zone[k].type != T_A &&
					     zone[k].type != T_AAAA))
						continue;
					put_rr(m, &zone[k]);
					nar++;
				}
			}
		}
	}
	if (edns) {
		put8(m, 0);		/* root */
		put16(m, T_OPT);
		put16(m, MSG_MAX);	/* our UDP payload size */
		put32(m, 0);		/* rcode, version 0, no DO */
		put16(m, 0);
		nar++;
	}
	/* QR, the opcode, AA, RD copied; no recursion available */
	set16(m, 2, 0x8000u | opcode << 11 | 0x0400u | (fl & 0x0100u) |
		    rcode);
	set16(m, 4, 1);
	set16(m, 6, nan);
	set16(m, 8, nns);
	set16(m, 10, nar);
	return true;
}

static bool read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t k = read(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (k == 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Answers length-framed queries on one connection until EOF. */
static long serve_tcp(int fd)
{
	static struct msg m;
	uint8_t q[65535], hdr[2];
	long served = 0;

	while (read_full(fd, hdr, 2)) {
		size_t n = (size_t)hdr[0] << 8 | hdr[1];

		if (!read_full(fd, q, n))
			fail("TCP connection closed inside a message");
		if (!answer(q, n, &m))
			continue;
		hdr[0] = (uint8_t)(m.len >> 8);
		hdr[1] = (uint8_t)m.len;
		/* length and message in one write: one segment */
		{
			uint8_t out[2 + MSG_MAX];

			memcpy(out, hdr, 2);
			memcpy(out + 2, m.b, m.len);
			write_all(fd, out, 2 + m.len);
		}
		served++;
	}
	return served;
}

static void serve(int ufd, int tfd, long count)
{
	static struct msg m;
	uint8_t q[MSG_MAX];
	long served = 0;

	while (served < count) {
		struct pollfd p[2] = { { ufd, POLLIN, 0 }, { tfd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t n = recvfrom(ufd, q, sizeof(q), 0,
					     (struct sockaddr *)&from, &flen);

			if (n < 0 && errno != EINTR)
				die("recvfrom");
			if (n > 0 && answer(q, (size_t)n, &m)) {
				if (sendto(ufd, m.b, m.len, 0,
					   (struct sockaddr *)&from, flen) < 0)
					die("sendto");
				served++;
			}
		}
		if (p[1].revents & POLLIN) {
			int fd = accept4(tfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EINTR)
					continue;
				die("accept4");
			}
			served += serve_tcp(fd);
			if (close(fd) < 0)
				die("close");
		}
	}
}

/*
 * A UDP socket and a TCP listener on the same ephemeral port of
 * 127.0.0.1; the TCP port may be taken, then try another one.
 */
static int bind_both(int *ufd, int *tfd)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sin = {
			.sin_family = AF_INET,
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		};
		socklen_t len = sizeof(sin);

		*ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		*tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (*ufd < 0 || *tfd < 0)
			die("socket");
		if (bind(*ufd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			die("bind UDP");
		if (getsockname(*ufd, (struct sockaddr *)&sin, &len) < 0)
			die("getsockname");
		if (bind(*tfd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			if (listen(*tfd, 8) < 0)
				die("listen");
			return ntohs(sin.sin_port);
		}
		if (errno != EADDRINUSE)
			die("bind TCP");
		if (close(*ufd) < 0 || close(*tfd) < 0)
			die("close");
	}
	fail("no port free for both UDP and TCP");
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

static void build_query(struct msg *m, const struct query *q)
{
	m->len = 0;
	m->ncomp = 0;
	put16(m, q->id);
	put16(m, 0);		/* a plain query, no recursion desired */
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put_name(m, q->name, false);
	put16(m, q->type);
	put16(m, 1);
}

/* One resource record as text ("name. ttl IN TYPE rdata"). */
static void print_rr(struct rd *r)
{
	char name[NAME_MAX_TXT], n1[NAME_MAX_TXT], n2[NAME_MAX_TXT];
	char addr[INET6_ADDRSTRLEN];
	unsigned type, cls, rdlen, pref;
	uint32_t ttl, v[5];
	size_t end;
	int i;

	if (!get_name(r, name, sizeof(name)) || !get16(r, &type) ||
	    !get16(r, &cls) || !get32(r, &ttl) || !get16(r, &rdlen) ||
	    rdlen > r->len - r->off)
		fail("malformed resource record");
	end = r->off + rdlen;
	if (type == T_OPT) {
		printf(";; OPT udp %u\n", cls);
		r->off = end;
		return;
	}
	printf("%s.\t%u\tIN\t%s\t", name, ttl, type_name((uint16_t)type));
	switch (type) {
	case T_A:
	case T_AAAA:
		if (rdlen != (type == T_A ? 4u : 16u))
			fail("bad address length");
		inet_ntop(type == T_A ? AF_INET : AF_INET6, r->p + r->off,
			  addr, sizeof(addr));
		printf("%s\n", addr);
		break;
	case T_NS:
	case T_CNAME:
		if (!get_name(r, n1, sizeof(n1)))
			fail("bad name in rdata");
		printf("%s.\n", n1);
		break;
	case T_MX:
		if (!get16(r, &pref) || !get_name(r, n1, sizeof(n1)))
			fail("bad MX rdata");
		printf("%u %s.\n", pref, n1);
		break;
	case T_SOA:
		if (!get_name(r, n1, sizeof(n1)) ||
		    !get_name(r, n2, sizeof(n2)))
			fail("bad SOA rdata");
		for (i = 0; i < 5; i++)
			if (!get32(r, &v[i]))
				fail("bad SOA rdata");
		printf("%s. %s. %u %u %u %u %u\n", n1, n2, v[0], v[1], v[2],
		       v[3], v[4]);
		break;
	case T_TXT:
		while (r->off < end) {
			unsigned l = r->p[r->off++];

			if (l > end - r->off)
				fail("bad TXT rdata");
			putchar('"');
			for (; l; l--) {
				int ch = r->p[r->off++];

				if (ch == '"' || ch == '\\')
					printf("\\%c", ch);
				else if (ch < 0x20 || ch > 0x7e)
					printf("\\%03u", ch);
				else
					putchar(ch);
			}
			printf("\"%s", r->off < end ? " " : "\n");
		}
		break;
	default:
		printf("(%u bytes)\n", rdlen);
	}
	r->off = end;
}

static void print_answer(const struct query *q, const uint8_t *p, size_t n)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR",
		"SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
	struct rd r = { p, n, 0 };
	unsigned id, fl, cnt[4], i, k;
	char name[NAME_MAX_TXT];

	if (!get16(&r, &id) || !get16(&r, &fl))
		fail("short answer");
	for (i = 0; i < 4; i++)
		if (!get16(&r, &cnt[i]))
			fail("short answer");
	if (id != q->id || !(fl & 0x8000))
		fail("answer 0x%04x does not match query 0x%04x", id, q->id);
	printf(";; %s %s: %s\n", type_name(q->type), q->name,
	       (fl & 15) < 6 ? rcodes[fl & 15] : "other");
	for (i = 0; i < cnt[0]; i++) {
		unsigned t, c;

		if (!get_name(&r, name, sizeof(name)) || !get16(&r, &t) ||
		    !get16(&r, &c))
			fail("bad question");
	}
	for (k = 1; k < 4; k++) {
		if (k > 1 && cnt[k])
			printf(";; %s\n", k == 2 ? "authority" : "additional");
		for (i = 0; i < cnt[k]; i++)
			print_rr(&r);
	}
	if (fflush(stdout) == EOF)
		die("stdout");
}

static int connect_to(int type, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect");
	return fd;
}

static void client(int port)
{
	static struct msg m;
	uint8_t buf[65535], hdr[2];
	size_t i, off = 0;
	int fd;

	/* one connected UDP socket: one query, one answer at a time */
	fd = connect_to(SOCK_DGRAM, port);
	for (i = 0; i < N_UDP; i++) {
		ssize_t n;

		build_query(&m, &udp_queries[i]);
		if (send(fd, m.b, m.len, 0) < 0)
			die("send");
		do {
			n = recv(fd, buf, sizeof(buf), 0);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			die("recv");
		print_answer(&udp_queries[i], buf, (size_t)n);
	}
	if (close(fd) < 0)
		die("close");

	/* TCP: both queries framed and sent in one write (pipelined) */
	fd = connect_to(SOCK_STREAM, port);
	for (i = 0; i < N_TCP; i++) {
		build_query(&m, &tcp_queries[i]);
		buf[off] = (uint8_t)(m.len >> 8);
		buf[off + 1] = (uint8_t)m.len;
		memcpy(buf + off + 2, m.b, m.len);
		off += 2 + m.len;
	}
	write_all(fd, buf, off);
	for (i = 0; i < N_TCP; i++) {
		size_t n;

		if (!read_full(fd, hdr, 2))
			fail("TCP answer missing");
		n = (size_t)hdr[0] << 8 | hdr[1];
		if (!read_full(fd, buf, n))
			fail("TCP answer cut short");
		print_answer(&tcp_queries[i], buf, n);
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	if (read_full(fd, hdr, 1))
		fail("bytes after the last TCP answer");
	if (close(fd) < 0)
		die("close");
}

int main(int argc, char **argv)
{
	long count = 1;
	int opt, ufd, tfd, port, status;
	bool server_only = false;
	pid_t pid;

	opterr = 0;	/* one-line complaint below, then usage */
	while ((opt = getopt(argc, argv, "sn:h")) != -1) {
		switch (opt) {
		case 's':
			server_only = true;
			break;
		case 'n':
			count = parse_num(optarg, 1, 1000000, "count");
			break;
		default:
			if (opt == '?')
				fprintf(stderr, "%s: option -%c is unknown or"
					" lacks its argument\n", prog, optopt);
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	port = bind_both(&ufd, &tfd);
	if (server_only) {
		if (printf("PORT %d\n", port) < 0 || fflush(stdout) == EOF)
			die("stdout");
		serve(ufd, tfd, count);
		return 0;
	}
	if (fflush(stdout) == EOF)
		die("stdout");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prog = "st_dns (server)";
		serve(ufd, tfd, (long)(N_UDP + N_TCP));
		_exit(0);
	}
	if (close(ufd) < 0 || close(tfd) < 0)
		die("close");
	client(port);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("responder failed (status 0x%x)", status);
	return 0;
}
