/* Socket endpoints: what socktap knows of one end of a socket. */
#ifndef SOCKTAP_ENDPOINT_H
#define SOCKTAP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ST_UNIX_PATH_MAX 108

/* One endpoint.  family == AF_UNSPEC means "not known (yet)". */
struct st_endpoint {
	sa_family_t family;
	uint16_t port;			/* host order; AF_INET/AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		struct {
			/* path bytes; for abstract names path[0] is the
			 * first byte after the leading NUL */
			char path[ST_UNIX_PATH_MAX];
			uint8_t len;	/* bytes used in path */
			bool abstract;
		} un;
		struct {
			uint32_t portid;
			uint32_t groups;
		} nl;
	};
};

/*
 * Decodes a kernel sockaddr of len bytes.  Returns 0, or -EINVAL when len
 * is shorter than the family needs (never reads past len).  An unnamed
 * AF_UNIX address (len == sizeof(sa_family_t)) decodes to family AF_UNIX
 * with un.len == 0.
 */
int st_endpoint_from_sockaddr(struct st_endpoint *ep, const void *sa,
			      size_t len);

/* Builds a kernel sockaddr from ep; returns its length or -EINVAL. */
int st_endpoint_to_sockaddr(const struct st_endpoint *ep,
			    struct sockaddr_storage *ss);

bool st_endpoint_known(const struct st_endpoint *ep);
bool st_endpoint_equal(const struct st_endpoint *a,
		       const struct st_endpoint *b);
/* Same address and port, treating ::ffff:a.b.c.d and a.b.c.d as one. */
bool st_endpoint_same_inet(const struct st_endpoint *a,
			   const struct st_endpoint *b);
/* a.b.c.d for an IPv4-mapped IPv6 endpoint; otherwise a copy. */
void st_endpoint_unmap(struct st_endpoint *out, const struct st_endpoint *ep);

/*
 * Writes a printable form, always NUL-terminated and free of control
 * characters: "127.0.0.1:79", "[::1]:8080", "/run/x.sock", "@abstract",
 * "(unnamed)", "netlink:0".  Returns the length written (truncated to
 * size - 1) .
 */
int st_endpoint_format(const struct st_endpoint *ep, char *buf, size_t size);
/* Address only, no port: "127.0.0.1", "::1". */
int st_endpoint_format_addr(const struct st_endpoint *ep, char *buf,
			    size_t size);

#endif
