/* Endpoints: decoding, comparing and printing socket addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "socktap/endpoint.h"

/* The shortest sockaddr each family may be decoded from. */
static size_t min_len(sa_family_t family)
{
	switch (family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		/* sin6_scope_id is optional (RFC 2133 layout) */
		return offsetof(struct sockaddr_in6, sin6_scope_id);
	case AF_UNIX:
		return offsetof(struct sockaddr_un, sun_path);
	case AF_NETLINK:
		return sizeof(struct sockaddr_nl);
	default:
		return sizeof(sa_family_t);
	}
}

int st_endpoint_from_sockaddr(struct st_endpoint *ep, const void *sa,
			      size_t len)
{
	sa_family_t family;

	memset(ep, 0, sizeof(*ep));
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	memcpy(&family, sa, sizeof(family));
	if (len < min_len(family))
		return -EINVAL;

	switch (family) {
	case AF_INET: {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		ep->v4 = in.sin_addr;
		ep->port = ntohs(in.sin_port);
		break;
	}
	case AF_INET6: {
		struct sockaddr_in6 in6;

		memset(&in6, 0, sizeof(in6));
		memcpy(&in6, sa, len < sizeof(in6) ? len : sizeof(in6));
		ep->v6 = in6.sin6_addr;
		ep->port = ntohs(in6.sin6_port);
		break;
	}
	case AF_UNIX: {
		const char *path = (const char *)sa +
				   offsetof(struct sockaddr_un, sun_path);
		size_t n = len - offsetof(struct sockaddr_un, sun_path);

		if (n > ST_UNIX_PATH_MAX)
			n = ST_UNIX_PATH_MAX;
		if (n > 0 && path[0] == '\0') {
			ep->un.abstract = true;
			path++;
			n--;
		} else {
			/* a filesystem path ends at its first NUL */
			n = strnlen(path, n);
		}
		memcpy(ep->un.path, path, n);
		ep->un.len = (uint8_t)n;
		break;
	}
	case AF_NETLINK: {
		struct sockaddr_nl nl;

		memcpy(&nl, sa, sizeof(nl));
		ep->nl.portid = nl.nl_pid;
		ep->nl.groups = nl.nl_groups;
		break;
	}
	default:
		break;
	}
	ep->family = family;
	return 0;
}

int st_endpoint_to_sockaddr(const struct st_endpoint *ep,
			    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	switch (ep->family) {
	case AF_INET: {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr = ep->v4;
		in->sin_port = htons(ep->port);
		return sizeof(*in);
	}
	case AF_INET6: {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = ep->v6;
		in6->sin6_port = htons(ep->port);
		return sizeof(*in6);
	}
	case AF_UNIX: {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		size_t off = ep->un.abstract ? 1 : 0;

		un->sun_family = AF_UNIX;
		memcpy(un->sun_path + off, ep->un.path, ep->un.len);
		return (int)(offsetof(struct sockaddr_un, sun_path) + off +
			     ep->un.len + (ep->un.abstract ? 0 : 1));
	}
	default:
		return -EINVAL;
	}
}

bool st_endpoint_known(const struct st_endpoint *ep)
{
	return ep->family != AF_UNSPEC;
}

bool st_endpoint_equal(const struct st_endpoint *a,
		       const struct st_endpoint *b)
{
	if (a->family != b->family)
		return false;
	switch (a->family) {
	case AF_INET:
		return a->port == b->port && a->v4.s_addr == b->v4.s_addr;
	case AF_INET6:
		return a->port == b->port &&
		       !memcmp(&a->v6, &b->v6, sizeof(a->v6));
	case AF_UNIX:
		return a->un.abstract == b->un.abstract &&
		       a->un.len == b->un.len &&
		       !memcmp(a->un.path, b->un.path, a->un.len);
	case AF_NETLINK:
		return a->nl.portid == b->nl.portid;
	default:
		return true;
	}
}

void st_endpoint_unmap(struct st_endpoint *out, const struct st_endpoint *ep)
{
	*out = *ep;
	if (ep->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep->v6)) {
		memset(out, 0, sizeof(*out));
		out->family = AF_INET;
		out->port = ep->port;
		memcpy(&out->v4, &ep->v6.s6_addr[12], 4);
	}
}

bool st_endpoint_same_inet(const struct st_endpoint *a,
			   const struct st_endpoint *b)
{
	struct st_endpoint ua, ub;

	st_endpoint_unmap(&ua, a);
	st_endpoint_unmap(&ub, b);
	return st_endpoint_equal(&ua, &ub);
}

/* Appends printable bytes, escaping anything else as \xNN. */
static size_t put_escaped(char *buf, size_t size, size_t pos,
			  const char *s, size_t n)
{
	for (size_t i = 0; i < n && pos + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[pos++] = (char)c;
		} else {
			int w = snprintf(buf + pos, size - pos, "\\x%02x", c);

			if (w < 0 || (size_t)w >= size - pos)
				break;
			pos += (size_t)w;
		}
	}
	buf[pos < size ? pos : size - 1] = '\0';
	return pos;
}

int st_endpoint_format_addr(const struct st_endpoint *ep, char *buf,
			    size_t size)
{
	char tmp[INET6_ADDRSTRLEN];
	int n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	switch (ep->family) {
	case AF_INET:
		inet_ntop(AF_INET, &ep->v4, tmp, sizeof(tmp));
		n = snprintf(buf, size, "%s", tmp);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &ep->v6, tmp, sizeof(tmp));
		n = snprintf(buf, size, "%s", tmp);
		break;
	case AF_UNIX: {
		size_t pos = 0;

		if (ep->un.len == 0 && !ep->un.abstract)
			return snprintf(buf, size, "(unnamed)");
		if (ep->un.abstract)
			pos = put_escaped(buf, size, 0, "@", 1);
		return (int)put_escaped(buf, size, pos, ep->un.path,
					ep->un.len);
	}
	case AF_NETLINK:
		n = snprintf(buf, size, "netlink:%u", ep->nl.portid);
		break;
	case AF_UNSPEC:
		n = snprintf(buf, size, "?");
		break;
	default:
		n = snprintf(buf, size, "family%u", ep->family);
		break;
	}
	return n < 0 ? 0 : (n >= (int)size ? (int)size - 1 : n);
}

int st_endpoint_format(const struct st_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (size == 0)
		return 0;
	switch (ep->family) {
	case AF_INET:
		st_endpoint_format_addr(ep, addr, sizeof(addr));
		n = snprintf(buf, size, "%s:%u", addr, ep->port);
		break;
	case AF_INET6:
		st_endpoint_format_addr(ep, addr, sizeof(addr));
		n = snprintf(buf, size, "[%s]:%u", addr, ep->port);
		break;
	default:
		return st_endpoint_format_addr(ep, buf, size);
	}
	return n < 0 ? 0 : (n >= (int)size ? (int)size - 1 : n);
}
