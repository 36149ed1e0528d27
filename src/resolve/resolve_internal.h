/*
 * Private interfaces between the resolve files, and the netlink reply
 * parser (exposed so tests can feed it hostile input).
 */
#ifndef ST_RESOLVE_INTERNAL_H
#define ST_RESOLVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "resolve/resolve.h"

/* resolve_proc.c */

/* The thread group of tid, from /proc/<tid>/status: > 0 or -errno. */
pid_t st_resolve_proc_tgid(pid_t tid);
/* True when tid no longer exists or is a zombie (fd table gone). */
bool st_resolve_proc_gone(pid_t tid);

/* resolve_diag.c */

/* One sock_diag request and what its replies told. */
struct st_diag_query {
	/* in */
	int family;		/* AF_UNIX, AF_INET, AF_INET6 */
	int protocol;		/* IPPROTO_TCP/UDP; 0 for AF_UNIX */
	uint32_t ino;		/* the inode looked for (0: the one found
				 * by the exact request below) */
	/* AF_INET/AF_INET6: an exact request for the socket whose local
	 * endpoint is src and peer dst (no dump) */
	const struct st_endpoint *src, *dst;
	uint32_t seq;		/* sequence number of the request */
	struct st_sockinfo *out;
	/* out */
	bool found;		/* out filled from a matching message */
	bool done;		/* the reply is complete */
	int err;		/* negative errno reported by the kernel */
};

/*
 * Feeds len bytes of netlink messages (as received) to q.  Tolerates
 * anything: truncated or oversized messages, short payloads, bad or
 * missing attributes, other sequence numbers (all ignored).
 */
void st_diag_parse(struct st_diag_query *q, const void *buf, size_t len);

/*
 * Looks ino up in the network namespace nsfd refers to (an nsfs fd, as
 * from /proc/PID/ns/net or SIOCGSKNS).  family 0 tries every family.
 * peer_name: for AF_UNIX, also fetch the peer's name into out->peer.
 */
int st_diag_lookup_nsfd(int nsfd, uint64_t ino, int family, int protocol,
			bool peer_name, struct st_sockinfo *out);

/* Frees the netlink sockets and the namespace fd. */
void st_diag_cleanup(void);

#endif
