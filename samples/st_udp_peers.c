/*
 * st_udp_peers - one unconnected UDP socket that talks to two peers:
 * sends "to-1" to PORT1 and "to-2" to PORT2 and receives both echoes.
 * Pairs with two "st_echo_server -u" instances; shows several flows on a
 * single socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

static const char *prog = "st_udp_peers";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

__attribute__((format(printf, 1, 2)))
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

static void usage(void)
{
	fprintf(stderr,
		"usage: %s HOST PORT1 PORT2\n"
		"  From one unconnected UDP socket, send \"to-1\" to PORT1 and"
		" \"to-2\" to\n"
		"  PORT2 on HOST (numeric IPv4/IPv6) and print both echoes.\n",
		prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_udp_peers: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

static struct addrinfo *resolve(const char *host, const char *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *ai;
	char *end;
	long v;
	int err;

	errno = 0;
	v = strtol(port, &end, 10);
	if (errno || end == port || *end || v < 1 || v > 65535)
		fail("bad port: '%s'", port);
	err = getaddrinfo(host, port, &hints, &ai);
	if (err)
		fail("%s: %s", host, gai_strerror(err));
	return ai;
}

static unsigned int port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

int main(int argc, char **argv)
{
	static const char *const msgs[2] = { "to-1", "to-2" };
	struct timeval tv = { .tv_sec = 5 };
	struct addrinfo *peer[2];
	int got[2] = { 0, 0 };
	int fd, i;

	if (argc != 4)
		usage();
	peer[0] = resolve(argv[1], argv[2]);
	peer[1] = resolve(argv[1], argv[3]);
	if (peer[0]->ai_family != peer[1]->ai_family)
		fail("peers of different address families");
	if (port_of(peer[0]->ai_addr) == port_of(peer[1]->ai_addr))
		fail("PORT1 and PORT2 must differ");
	if (signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal");
	alarm(30);

	fd = socket(peer[0]->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	/* A lost datagram must end in an error, not in a hang. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt SO_RCVTIMEO");
	for (i = 0; i < 2; i++) {
		ssize_t n = sendto(fd, msgs[i], strlen(msgs[i]), 0,
				   peer[i]->ai_addr, peer[i]->ai_addrlen);

		if (n < 0)
			die("sendto");
	}
	/* Replies may come in any order; match them by source port. */
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		char buf[256];
		unsigned int port;
		ssize_t n;
		int k;

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &flen);
		if (n < 0 && errno == EAGAIN)
			fail("only %d of 2 replies within 5 s", i);
		if (n < 0)
			die("recvfrom");
		port = port_of((struct sockaddr *)&from);
		k = port == port_of(peer[0]->ai_addr) ? 0 :
		    port == port_of(peer[1]->ai_addr) ? 1 : -1;
		if (k < 0)
			fail("datagram from unexpected port %u", port);
		if (got[k])
			fail("two replies from port %u", port);
		if ((size_t)n != strlen(msgs[k]) || memcmp(buf, msgs[k], 4))
			fail("port %u answered '%.*s', wanted '%s'", port,
			     (int)n, buf, msgs[k]);
		got[k] = 1;
	}
	for (i = 0; i < 2; i++)
		printf("%u %s\n", port_of(peer[i]->ai_addr), msgs[i]);
	if (fflush(stdout) == EOF)
		die("stdout");
	if (close(fd) < 0)
		die("close");
	freeaddrinfo(peer[0]);
	freeaddrinfo(peer[1]);
	return 0;
}
