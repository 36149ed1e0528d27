/* -F: pcap-filter expressions judged on conversation endpoints. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "out/filter.h"

static struct st_conv conv(enum st_proto proto, const char *a, int ap,
			   const char *b, int bp)
{
	struct st_conv c;
	int fam = strchr(a, ':') ? AF_INET6 : AF_INET;

	memset(&c, 0, sizeof(c));
	c.proto = proto;
	c.a.family = c.b.family = (sa_family_t)fam;
	inet_pton(fam, a, fam == AF_INET ? (void *)&c.a.v4 : (void *)&c.a.v6);
	inet_pton(fam, b, fam == AF_INET ? (void *)&c.b.v4 : (void *)&c.b.v6);
	c.a.port = (uint16_t)ap;
	c.b.port = (uint16_t)bp;
	return c;
}

static bool sel(const char *expr, const struct st_conv *c)
{
	struct st_filter *f;
	char err[256];
	bool r;

	cr_assert_eq(st_filter_new(expr, &f, err, sizeof(err)), 0, "%s", err);
	r = st_filter_match(f, c, NULL, NULL);
	st_filter_free(f);
	return r;
}

Test(filter, ports_hosts_protocols)
{
	struct st_conv finger = conv(ST_PROTO_TCP, "127.0.0.1", 41234, "127.0.0.1", 79);
	struct st_conv dns = conv(ST_PROTO_UDP, "127.0.0.1", 5353, "127.0.0.53", 53);
	struct st_conv v6 = conv(ST_PROTO_TCP, "::1", 40000, "::1", 8080);

	cr_assert(sel("tcp port 79", &finger));
	cr_assert(sel("port 41234", &finger), "either end's port");
	cr_assert(sel("dst port 79", &finger), "A to B direction");
	cr_assert(sel("src port 79", &finger), "B to A direction");
	cr_assert_not(sel("udp", &finger));
	cr_assert_not(sel("port 80", &finger));
	cr_assert(sel("udp and host 127.0.0.53", &dns));
	cr_assert_not(sel("tcp port 53", &dns));
	cr_assert(sel("ip6 and port 8080", &v6));
	cr_assert_not(sel("ip and port 8080", &v6));
	cr_assert(sel("not port 22", &v6));
}

Test(filter, mapped_ipv6_is_ipv4)
{
	struct st_conv c = conv(ST_PROTO_TCP, "::ffff:127.0.0.1", 1234, "::ffff:127.0.0.1", 80);

	cr_assert(sel("ip and host 127.0.0.1 and port 80", &c));
}

Test(filter, bad_expression_is_an_error)
{
	struct st_filter *f = NULL;
	char err[256] = "";

	cr_assert_eq(st_filter_new("tcp port", &f, err, sizeof(err)), -EINVAL);
	cr_assert_null(f);
	cr_assert(strstr(err, "bad filter expression 'tcp port'"), "%s", err);
}

Test(filter, unix_needs_synthetic_addresses)
{
	struct st_conv c;
	struct st_endpoint sa = { .family = AF_INET, .port = 1 },
			   sb = { .family = AF_INET, .port = 2 };

	memset(&c, 0, sizeof(c));
	c.proto = ST_PROTO_UNIX_STREAM;
	c.a.family = c.b.family = AF_UNIX;
	inet_pton(AF_INET, "198.18.0.1", &sa.v4);
	inet_pton(AF_INET, "198.19.0.1", &sb.v4);
	{
		struct st_filter *f;
		char err[64];

		cr_assert_eq(st_filter_new("net 198.18.0.0/15", &f, err, sizeof(err)), 0);
		cr_assert(st_filter_match(f, &c, &sa, &sb));
		cr_assert_not(st_filter_match(f, &c, NULL, NULL));
		st_filter_free(f);
	}
}
