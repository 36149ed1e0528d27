/*
 * The sock_diag reply parser against hand-made and random messages:
 * truncated, oversized, missing attributes, stale sequence numbers.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve/resolve_internal.h"

#define SEQ 4242

/* 8-byte aligned scratch, as nl_recv's malloc'd buffers are */
static union {
	uint64_t align;
	unsigned char b[8192];
} buf;
static size_t used;

static void reset(void)
{
	memset(&buf, 0, sizeof(buf));
	used = 0;
}

/* Appends a message; returns it so a test can damage it. */
static struct nlmsghdr *put_msg(uint16_t type, uint16_t flags, uint32_t seq,
				const void *payload, size_t plen)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(buf.b + used);

	cr_assert_leq(used + NLMSG_SPACE(plen), sizeof(buf.b));
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(plen);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	if (plen)
		memcpy(NLMSG_DATA(h), payload, plen);
	used += NLMSG_SPACE(plen);
	return h;
}

/* Appends an attribute to the last message. */
static void put_attr(struct nlmsghdr *h, uint16_t type, const void *d,
		     size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)h +
					     NLMSG_ALIGN(h->nlmsg_len));
	size_t add = NLA_ALIGN(NLA_HDRLEN + len);

	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	a->nla_type = type;
	memcpy((char *)a + NLA_HDRLEN, d, len);
	h->nlmsg_len = (uint32_t)(NLMSG_ALIGN(h->nlmsg_len) + add);
	used = (size_t)((unsigned char *)h - buf.b) + h->nlmsg_len;
}

static void query(struct st_diag_query *q, struct st_sockinfo *out,
		  int family, int protocol, uint32_t ino)
{
	memset(q, 0, sizeof(*q));
	memset(out, 0xa5, sizeof(*out));
	q->family = family;
	q->protocol = protocol;
	q->ino = ino;
	q->seq = SEQ;
	q->out = out;
}

static struct inet_diag_msg inet_msg(uint32_t ino, uint8_t state)
{
	struct inet_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET;
	m.idiag_state = state;
	m.id.idiag_sport = htons(1234);
	m.id.idiag_dport = htons(80);
	m.id.idiag_src[0] = htonl(0x7f000001);
	m.id.idiag_dst[0] = htonl(0x7f000002);
	m.idiag_inode = ino;
	return m;
}

Test(diag_parse, inet_dump)
{
	struct inet_diag_msg m1 = inet_msg(11, 1), m2 = inet_msg(22, 1);
	struct st_diag_query q;
	struct st_sockinfo o;
	int zero = 0;

	reset();
	put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m1, sizeof(m1));
	put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m2, sizeof(m2));
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ, &zero, sizeof(zero));
	query(&q, &o, AF_INET, IPPROTO_TCP, 22);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_assert(q.done);
	cr_assert_eq(q.err, 0);
	cr_expect_eq(o.family, AF_INET);
	cr_expect_eq(o.type, SOCK_STREAM);
	cr_expect_eq(o.protocol, IPPROTO_TCP);
	cr_expect_eq(o.ino, 22);
	cr_expect_eq(o.local.port, 1234);
	cr_expect_eq(o.local.v4.s_addr, htonl(0x7f000001));
	cr_expect_eq(o.peer.port, 80);
	cr_expect_eq(o.peer.v4.s_addr, htonl(0x7f000002));
	cr_expect_not(o.listening);
	cr_expect_eq(o.peer_ino, 0);
}

Test(diag_parse, inet_listener_and_split_batches)
{
	struct inet_diag_msg m = inet_msg(7, 10);
	struct st_diag_query q;
	struct st_sockinfo o;
	int zero = 0;

	m.idiag_family = AF_INET6;
	m.id.idiag_src[0] = 0;
	m.id.idiag_src[3] = htonl(1);	/* ::1 */
	reset();
	put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m, sizeof(m));
	query(&q, &o, AF_INET6, IPPROTO_TCP, 7);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_assert_not(q.done);	/* the dump goes on in the next batch */
	cr_expect(o.listening);
	cr_expect_eq(o.family, AF_INET6);
	cr_expect(IN6_IS_ADDR_LOOPBACK(&o.local.v6));
	cr_expect_eq(o.peer.family, AF_UNSPEC);
	reset();
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ, &zero, sizeof(zero));
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.done);
	cr_expect(q.found);
}

/* The legacy TCP dump (type TCPDIAG_GETSOCK) answers for both families. */
Test(diag_parse, legacy_tcp_both_families)
{
	struct inet_diag_msg m4 = inet_msg(40, 1), m6 = inet_msg(60, 1);
	struct st_diag_query q;
	struct st_sockinfo o;
	int zero = 0;

	m6.idiag_family = AF_INET6;
	reset();
	put_msg(TCPDIAG_GETSOCK, NLM_F_MULTI, SEQ, &m4, sizeof(m4));
	put_msg(TCPDIAG_GETSOCK, NLM_F_MULTI, SEQ, &m6, sizeof(m6));
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ, &zero, sizeof(zero));
	query(&q, &o, AF_UNSPEC, IPPROTO_TCP, 60);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found && q.done);
	cr_expect_eq(o.family, AF_INET6);
	cr_expect_eq(o.protocol, IPPROTO_TCP);
	cr_expect_eq(o.type, SOCK_STREAM);
	cr_expect_eq(o.state, 1);

	/* a unix query ignores inet records */
	query(&q, &o, AF_UNIX, 0, 40);
	st_diag_parse(&q, buf.b, used);
	cr_expect_not(q.found);
	cr_expect(q.done);
}

Test(diag_parse, stale_seq_and_truncation)
{
	struct inet_diag_msg m = inet_msg(5, 1);
	struct st_diag_query q;
	struct st_sockinfo o;
	struct nlmsghdr *h;
	int zero = 0;

	reset();
	/* an old request's reply, and its DONE: ignored */
	put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ - 1, &m, sizeof(m));
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ - 1, &zero, sizeof(zero));
	/* a record too short for inet_diag_msg: ignored */
	h = put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m, sizeof(m));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(m) - 8);
	query(&q, &o, AF_INET, IPPROTO_UDP, 5);
	st_diag_parse(&q, buf.b, used);
	cr_expect_not(q.found);
	cr_expect_not(q.done);

	/* a message claiming more bytes than were received */
	reset();
	h = put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m, sizeof(m));
	h->nlmsg_len += 1000;
	st_diag_parse(&q, buf.b, used);
	cr_expect_not(q.found);

	/* a header cut in the middle, and a length below the header */
	reset();
	h = put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, &m, sizeof(m));
	st_diag_parse(&q, buf.b, 10);
	h->nlmsg_len = 4;
	st_diag_parse(&q, buf.b, used);
	cr_expect_not(q.found);
	cr_expect_not(q.done);
	st_diag_parse(&q, buf.b, 0);
	st_diag_parse(&q, NULL, 0);
}

Test(diag_parse, errors)
{
	struct st_diag_query q;
	struct st_sockinfo o;
	struct nlmsgerr e;
	short tiny = 1;
	int derr = -EBUSY;

	memset(&e, 0, sizeof(e));
	e.error = -ENOENT;
	reset();
	put_msg(NLMSG_ERROR, 0, SEQ, &e, sizeof(e));
	query(&q, &o, AF_UNIX, 0, 9);
	st_diag_parse(&q, buf.b, used);
	cr_expect(q.done);
	cr_expect_eq(q.err, -ENOENT);
	cr_expect_not(q.found);

	/* an error message too short to hold the code */
	reset();
	put_msg(NLMSG_ERROR, 0, SEQ, &tiny, sizeof(tiny));
	query(&q, &o, AF_UNIX, 0, 9);
	st_diag_parse(&q, buf.b, used);
	cr_expect(q.done);
	cr_expect_eq(q.err, -EIO);

	/* DONE carrying an error */
	reset();
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ, &derr, sizeof(derr));
	query(&q, &o, AF_INET, IPPROTO_TCP, 9);
	st_diag_parse(&q, buf.b, used);
	cr_expect(q.done);
	cr_expect_eq(q.err, -EBUSY);

	/* DONE without payload */
	reset();
	put_msg(NLMSG_DONE, NLM_F_MULTI, SEQ, NULL, 0);
	query(&q, &o, AF_INET, IPPROTO_TCP, 9);
	st_diag_parse(&q, buf.b, used);
	cr_expect(q.done);
	cr_expect_eq(q.err, 0);
}

static struct unix_diag_msg unix_msg(uint32_t ino)
{
	struct unix_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.udiag_family = AF_UNIX;
	m.udiag_type = SOCK_STREAM;
	m.udiag_state = 1;
	m.udiag_ino = ino;
	return m;
}

Test(diag_parse, unix_attrs)
{
	struct unix_diag_msg m = unix_msg(31);
	struct st_diag_query q;
	struct st_sockinfo o;
	struct nlmsghdr *h;
	uint32_t peer = 32;
	const char name[] = "\0abs-name";

	reset();
	h = put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &m, sizeof(m));
	put_attr(h, UNIX_DIAG_NAME, name, sizeof(name) - 1);
	put_attr(h, UNIX_DIAG_PEER, &peer, sizeof(peer));
	query(&q, &o, AF_UNIX, 0, 31);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_assert(q.done);	/* single reply to an exact request */
	cr_expect_eq(o.family, AF_UNIX);
	cr_expect_eq(o.type, SOCK_STREAM);
	cr_expect_eq(o.peer_ino, 32);
	cr_expect(o.local.un.abstract);
	cr_expect_eq(o.local.un.len, 8);
	cr_expect_eq(memcmp(o.local.un.path, "abs-name", 8), 0);

	/* no attributes at all: unnamed, no peer */
	reset();
	put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &m, sizeof(m));
	query(&q, &o, AF_UNIX, 0, 31);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_expect_eq(o.local.family, AF_UNIX);
	cr_expect_eq(o.local.un.len, 0);
	cr_expect_eq(o.peer_ino, 0);

	/* a peer attribute too short, a name attribute overrunning */
	reset();
	h = put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &m, sizeof(m));
	put_attr(h, UNIX_DIAG_PEER, &peer, 2);
	put_attr(h, UNIX_DIAG_NAME, "/x", 2);
	((struct nlattr *)((char *)h + h->nlmsg_len - NLA_ALIGN(6)))->nla_len =
		200;
	query(&q, &o, AF_UNIX, 0, 31);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_expect_eq(o.peer_ino, 0);
	cr_expect_eq(o.local.un.len, 0);

	/* a name longer than any sun_path is cut, not overflowed */
	char longname[300];

	memset(longname, 'n', sizeof(longname));
	reset();
	h = put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &m, sizeof(m));
	put_attr(h, UNIX_DIAG_NAME, longname, sizeof(longname));
	query(&q, &o, AF_UNIX, 0, 31);
	st_diag_parse(&q, buf.b, used);
	cr_assert(q.found);
	cr_expect_leq(o.local.un.len, 108);

	/* another inode's reply does not match */
	reset();
	put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &m, sizeof(m));
	query(&q, &o, AF_UNIX, 0, 99);
	st_diag_parse(&q, buf.b, used);
	cr_expect_not(q.found);
	cr_expect(q.done);
}

/* Random bytes, random damage to valid messages: must never crash
 * (run under ASan/UBSan to make that meaningful). */
Test(diag_parse, random)
{
	struct st_diag_query q;
	struct st_sockinfo o;
	unsigned seed = 12345;
	int round;

	for (round = 0; round < 20000; round++) {
		size_t len = (size_t)rand_r(&seed) % 600, k;
		int fam = round & 1 ? AF_UNIX : AF_INET;

		reset();
		if (round % 3 == 0) {
			struct unix_diag_msg um = unix_msg(77);
			struct inet_diag_msg im = inet_msg(77, 1);
			struct nlmsghdr *h;
			uint32_t peer = 78;

			h = fam == AF_UNIX ?
			    put_msg(SOCK_DIAG_BY_FAMILY, 0, SEQ, &um,
				    sizeof(um)) :
			    put_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ,
				    &im, sizeof(im));
			put_attr(h, UNIX_DIAG_NAME, "/tmp/s", 7);
			put_attr(h, UNIX_DIAG_PEER, &peer, 4);
			for (k = 0; k < 4; k++)
				buf.b[(size_t)rand_r(&seed) % used] =
					(unsigned char)rand_r(&seed);
			len = used;
		} else {
			for (k = 0; k < len; k++)
				buf.b[k] = (unsigned char)rand_r(&seed);
			/* often make the header plausible */
			if (len >= 16 && round % 2 == 0) {
				struct nlmsghdr *h = (void *)buf.b;

				h->nlmsg_len %= (uint32_t)len + 8;
				h->nlmsg_seq = SEQ;
				h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
			}
		}
		query(&q, &o, fam, fam == AF_UNIX ? 0 : IPPROTO_TCP, 77);
		st_diag_parse(&q, buf.b, len);
		if (q.found)
			cr_assert_eq(o.ino, 77);
	}
}
