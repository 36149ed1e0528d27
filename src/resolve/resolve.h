/*
 * resolve: asks the kernel about the sockets of a traced process.
 *
 * Used by the syscall handlers, which run in the tracer (the target's
 * ptracer, root or the same user).  Nothing here uses ptrace.  Three
 * sources, cheapest first:
 *   - /proc/<tid>/fd/<fd>: is it a socket, and its inode;
 *   - a pidfd_getfd() copy of the fd: getsockname, getpeername,
 *     getsockopt, fstat, exactly as the owner would see them;
 *   - sock_diag over netlink (libnl), by inode, in the process's network
 *     namespace: for when the copy is not allowed, and for AF_UNIX peer
 *     inodes, which no getsockopt reveals.
 *
 * Every fd opened here is close-on-exec, so none leaks into the traced
 * command the tracer forks.  The caches (a pidfd per pid, a netlink socket
 * per network namespace) are process-wide and not locked: call from the
 * tracer thread only.
 *
 * All functions return 0 or a negative errno and never crash on a
 * process that vanished (-ESRCH) or that we may not inspect (-EPERM).
 */
#ifndef ST_RESOLVE_H
#define ST_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "socktap/endpoint.h"

/*
 * /proc/<tid>/fd/<fd>: 0 and *ino for a socket; -ENOTSOCK when fd is
 * something else; -EBADF when fd is not open; -ESRCH when the process is
 * gone (or a zombie); -EPERM when /proc denies access; other -errno.
 */
int st_resolve_fd_inode(pid_t tid, int fd, uint64_t *ino);
/* Calls fn with the inode of each socket this process (socktap) has a
 * descriptor for; 0 or a negative errno. */
int st_resolve_own_sockets(void (*fn)(void *arg, uint64_t ino), void *arg);
/* Calls fn with the inode of each socket the processes pids have a
 * descriptor for that another process (not socktap) has one for too:
 * at an attach, the sockets shared outside the trace.  0 or -errno. */
int st_resolve_shared_sockets(const pid_t *pids, size_t npids,
			      void (*fn)(void *arg, uint64_t ino), void *arg);

/*
 * Family and protocol of socket fd, from the name sockfs gives a socket's
 * file ("TCPv6", "UNIX-STREAM", "NETLINK": the system.sockprotoname
 * xattr, read through /proc/<tid>/fd/<fd>).  As cheap as
 * st_resolve_fd_inode.  0 with *family AF_UNSPEC for a protocol not
 * known here; -ENOTSOCK, -EBADF, -ESRCH, -EPERM as above.
 */
int st_resolve_fd_proto(pid_t tid, int fd, int *family, int *protocol);

struct st_sockinfo {
	int family, type, protocol;	/* SO_DOMAIN, SO_TYPE, SO_PROTOCOL;
					 * 0 if unknown */
	struct st_endpoint local, peer;	/* AF_UNSPEC when unknown or not
					 * connected */
	bool listening;			/* SO_ACCEPTCONN */
	int state;			/* TCP_* numbering, as sock_diag
					 * reports it for TCP, UDP and unix
					 * (TCP_ESTABLISHED, TCP_SYN_SENT,
					 * TCP_LISTEN, TCP_CLOSE...); 0 if
					 * unknown */
	uint64_t ino;			/* inode of the socket */
	unsigned udp_segment;		/* UDP: its UDP_SEGMENT (GSO) size */
	uint64_t peer_ino;		/* AF_UNIX: the peer's inode
					 * (sock_diag), else 0 */
};

/*
 * Everything the kernel will say about fd in process pid (a tid works
 * too), from a pidfd_getfd() copy of the fd that is closed afterwards.
 * For a connected AF_UNIX socket one sock_diag request adds peer_ino.
 * state: TCP from TCP_INFO, AF_UNIX connected from sock_diag, otherwise
 * derived (listening, connected or TCP_CLOSE) the way the kernel sets it.
 *
 * When pidfd_getfd is unavailable or refused (EPERM), falls back to
 * /proc for the inode and protocol and one sock_diag request for the
 * rest; on that path a socket sock_diag does not cover (netlink, raw,
 * ...) still gives 0 with only ino, family and protocol set.
 *
 * Returns 0, -EBADF (fd not open), -ENOTSOCK, -ESRCH, -EPERM or -errno.
 */
int st_resolve_sockinfo(pid_t pid, int fd, struct st_sockinfo *out);

/*
 * A descriptor of socktap's own that reads the pipe at fd in pid
 * (splice's other end): a pidfd_getfd() copy, the very same open pipe;
 * else (a write end, or the copy refused) /proc/PID/fd/N opened for
 * reading, one more reader for as long as the caller keeps it.  The
 * caller closes it.  -EINVAL when fd is not a pipe, or -errno.
 */
int st_resolve_pipe_fd(pid_t pid, int fd);

/* Cheap variant for hot-ish paths: only the local address (getsockname)
 * of fd in pid.  Same errors as st_resolve_sockinfo. */
int st_resolve_local(pid_t pid, int fd, struct st_endpoint *local);

/*
 * sock_diag lookup of a socket by inode, in the network namespace of
 * process pid (entered with setns for the netlink socket's creation only;
 * the socket is then cached per namespace).
 *   AF_INET/AF_INET6 TCP and UDP: family, type, protocol, local and peer
 *     endpoints, listening (state LISTEN).
 *   AF_UNIX: type, bound path or abstract name (unnamed when unbound),
 *     listening, peer_ino (UNIX_DIAG_PEER) and the peer's name as peer.
 * Tries AF_UNIX (one exact request), then TCP/UDP over IPv4/IPv6 (one
 * dump each, matched on the inode).  A TCP dump walks the kernel's whole
 * established hash (milliseconds on a big machine, however few sockets):
 * prefer st_diag_lookup_proto when the protocol is known.  Returns 0,
 * -ENOENT when no family knows the inode, -ESRCH, -EPERM (namespace not
 * enterable) or -errno.
 */
int st_diag_lookup(pid_t pid, uint64_t ino, struct st_sockinfo *out);

/*
 * As st_diag_lookup, but only asks the family/protocol given (AF_UNIX
 * with protocol 0, or AF_INET/AF_INET6 with IPPROTO_TCP/IPPROTO_UDP):
 * exactly one request.  -EINVAL for any other combination.
 */
int st_diag_lookup_proto(pid_t pid, uint64_t ino, int family, int protocol,
			 struct st_sockinfo *out);

/*
 * The inode of the TCP socket in pid's network namespace whose own
 * address is local and whose peer is peer (one exact request, no dump):
 * the other end of a loopback connection.  0, -ENOENT, -EINVAL or -errno.
 */
int st_diag_tcp_inode(pid_t pid, const struct st_endpoint *local,
		      const struct st_endpoint *peer, uint64_t *ino);

/*
 * Turns the pidfd path off (false) or back on; off forces the /proc +
 * sock_diag fallback.  For tests and for kernels known to lack pidfds.
 */
void st_resolve_use_pidfd(bool on);

/*
 * Process-wide caches (pidfds per pid, netlink sockets per namespace).
 * Call st_resolve_forget_pid for every pid or tid that was passed here
 * when it exits (a stale entry is detected and replaced anyway, but only
 * forgetting frees it).
 */
void st_resolve_forget_pid(pid_t pid);	/* a process exited */
void st_resolve_cleanup(void);

/* The local address the kernel would send from to reach peer, asked in
 * pid's network namespace (the port of src is 0).  0 or -errno. */
int st_resolve_route_src(pid_t pid, const struct st_endpoint *peer,
			 struct st_endpoint *src);

#endif
