/*
 * The source address the kernel picks for a destination.  An unbound or
 * wildcard-bound UDP socket has no local address of its own; the packets
 * it sends carry the one routing chooses, and that is what a capture
 * (and so socktap's pcap) must show.  A connected UDP probe socket in the
 * tracee's network namespace asks routing without sending anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolve/resolve.h"

/* A UDP socket in pid's network namespace (ours if it is the same). */
static int probe_socket(pid_t pid, int family)
{
	char path[64];
	struct stat mine, theirs;
	int nsfd, self, fd, e;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &theirs) < 0)
		return -errno;
	if (stat("/proc/thread-self/ns/net", &mine) == 0 &&
	    mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) {
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		e = errno;
		if (self >= 0)
			close(self);
		if (nsfd >= 0)
			close(nsfd);
		return -e;
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	e = errno;
	/* back home; a failure here would leave us elsewhere: retry once */
	if (setns(self, CLONE_NEWNET) < 0)
		setns(self, CLONE_NEWNET);
	close(self);
	close(nsfd);
	return fd < 0 ? -e : fd;
}

int st_resolve_route_src(pid_t pid, const struct st_endpoint *peer,
			 struct st_endpoint *src)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc, slen;

	slen = st_endpoint_to_sockaddr(peer, &ss);
	if (slen < 0 || (peer->family != AF_INET && peer->family != AF_INET6))
		return -EINVAL;
	fd = probe_socket(pid, peer->family);
	if (fd < 0)
		return fd;
	rc = connect(fd, (struct sockaddr *)&ss, (socklen_t)slen);
	if (rc == 0) {
		len = sizeof(ss);
		rc = getsockname(fd, (struct sockaddr *)&ss, &len);
		if (rc == 0)
			rc = st_endpoint_from_sockaddr(src, &ss, len);
	} else {
		rc = -errno;
	}
	close(fd);
	return rc;
}
