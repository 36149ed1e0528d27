/* Endpoint decoding and printing: lengths never overread, names escaped. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "socktap/endpoint.h"

Test(endpoint, ipv4_and_short_length)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(79) };
	struct st_endpoint ep;
	char buf[64];

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &in, sizeof(in)), 0);
	st_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "127.0.0.1:79");
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &in, 4), -EINVAL);
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &in, 1), -EINVAL);
}

Test(endpoint, ipv6_and_mapped)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(8080) };
	struct st_endpoint ep, v4;
	char buf[64];

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &in6, sizeof(in6)), 0);
	st_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[::ffff:127.0.0.1]:8080");
	st_endpoint_unmap(&v4, &ep);
	cr_assert_eq(v4.family, AF_INET);
	st_endpoint_format(&v4, buf, sizeof(buf));
	cr_assert_str_eq(buf, "127.0.0.1:8080");
	cr_assert(st_endpoint_same_inet(&ep, &v4));
}

Test(endpoint, unix_path_abstract_unnamed)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct st_endpoint ep;
	char buf[200];
	size_t base = offsetof(struct sockaddr_un, sun_path);

	strcpy(un.sun_path, "/run/x.sock");
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &un, sizeof(un)), 0);
	st_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "/run/x.sock");

	memset(un.sun_path, 0, sizeof(un.sun_path));
	memcpy(un.sun_path, "\0name\n", 6);
	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &un, base + 6), 0);
	cr_assert(ep.un.abstract);
	st_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "@name\\x0a", "control bytes escaped");

	cr_assert_eq(st_endpoint_from_sockaddr(&ep, &un, base), 0);
	st_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "(unnamed)");
}

Test(endpoint, roundtrip_and_tiny_buffers)
{
	struct sockaddr_storage ss;
	struct st_endpoint ep = { .family = AF_INET, .port = 53 }, back;
	char small[4];
	int len;

	inet_pton(AF_INET, "10.1.2.3", &ep.v4);
	len = st_endpoint_to_sockaddr(&ep, &ss);
	cr_assert_gt(len, 0);
	cr_assert_eq(st_endpoint_from_sockaddr(&back, &ss, (size_t)len), 0);
	cr_assert(st_endpoint_equal(&ep, &back));
	cr_assert_eq(st_endpoint_format(&ep, small, sizeof(small)), 3);
	cr_assert_eq(small[3], '\0');
}
