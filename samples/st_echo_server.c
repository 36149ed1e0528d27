/*
 * st_echo_server - TCP or UDP echo server used by socktap's tests.
 *
 * Binds 127.0.0.1 (or ::1 with -6) on port 0 unless -p is given, prints
 * "PORT <n>" once it is ready and serves COUNT connections (TCP) or COUNT
 * datagrams (UDP) before exiting, so a test never has to kill it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "st_echo_server";

/*
 * Report a failed call and stop.  _exit() rather than exit() because worker
 * threads may call this while others are still running.
 */
static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	_exit(1);
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
	_exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-p PORT] [-6] [-u] [-n COUNT] [-f | -t]\n"
		"  TCP (default) or UDP (-u) echo server on 127.0.0.1 (::1 with"
		" -6).\n"
		"  Prints \"PORT <n>\" when listening; serves COUNT connections"
		" (TCP)\n"
		"  or datagrams (UDP), default 1, then exits.  -f forks and -t"
		" starts\n"
		"  a thread per TCP connection.\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_echo_server: timeout (30 s)\n";

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

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Echo everything until the peer shuts down its side, then close. */
static void echo_conn(int fd)
{
	static __thread char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			break;
		write_all(fd, buf, (size_t)n);
	}
	if (close(fd) < 0)
		die("close");
}

static void *echo_thread(void *arg)
{
	echo_conn((int)(long)arg);
	return NULL;
}

static void print_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned int port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (printf("PORT %u\n", port) < 0 || fflush(stdout) == EOF)
		die("stdout");
}

static int make_socket(int v6, int udp, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, bufsize = 131072;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((unsigned short)port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons((unsigned short)port);
		len = sizeof(*s4);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEADDR");
	/*
	 * Small fixed buffers (inherited by accepted sockets) keep the echo
	 * pipeline short: a client that writes without reading runs into
	 * back-pressure (short writes, EAGAIN) after a few hundred KiB,
	 * instead of after the many MiB loopback autotuning would allow.
	 */
	if (!udp && (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
				sizeof(bufsize)) < 0 ||
		     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
				sizeof(bufsize)) < 0))
		die("setsockopt SO_SNDBUF/SO_RCVBUF");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (!udp && listen(fd, 64) < 0)
		die("listen");
	return fd;
}

static void serve_udp(int fd, long count)
{
	static char buf[65536];
	long i;

	for (i = 0; i < count; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n, m;

		n = recvfrom(fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&peer, &plen);
		if (n < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			die("recvfrom");
		}
		m = sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer,
			   plen);
		if (m < 0)
			die("sendto");
		if (m != n)
			fail("sendto: short datagram (%zd of %zd)", m, n);
	}
}

static int accept_one(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			return fd;
		if (errno != EINTR)
			die("accept4");
	}
}

static void serve_tcp(int lfd, long count, char mode)
{
	pthread_t *tids = NULL;
	long i, nchild = 0;
	int failed = 0;

	if (mode == 't') {
		tids = calloc((size_t)count, sizeof(*tids));
		if (!tids)
			die("calloc");
	}
	for (i = 0; i < count; i++) {
		int fd = accept_one(lfd);
		pid_t pid;
		int err;

		switch (mode) {
		case 'f':
			pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				/* fork() cancels the parent's alarm. */
				alarm(30);
				if (close(lfd) < 0)
					die("close");
				echo_conn(fd);
				_exit(0);
			}
			nchild++;
			if (close(fd) < 0)
				die("close");
			break;
		case 't':
			err = pthread_create(&tids[i], NULL, echo_thread,
					     (void *)(long)fd);
			if (err) {
				errno = err;
				die("pthread_create");
			}
			break;
		default:
			echo_conn(fd);
			break;
		}
	}
	if (close(lfd) < 0)
		die("close");
	/* Wait for all workers so the server exits only when they are done. */
	if (mode == 't') {
		for (i = 0; i < count; i++) {
			int err = pthread_join(tids[i], NULL);

			if (err) {
				errno = err;
				die("pthread_join");
			}
		}
		free(tids);
	}
	while (nchild > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			die("waitpid");
		}
		nchild--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed)
		fail("a child exited with an error");
}

int main(int argc, char **argv)
{
	long count = 1;
	int port = 0, v6 = 0, udp = 0;
	char mode = 0;
	int opt, fd;

	opterr = 0;	/* one-line complaint below, then usage */
	while ((opt = getopt(argc, argv, "p:6un:fth")) != -1) {
		switch (opt) {
		case 'p':
			port = (int)parse_num(optarg, 0, 65535, "port");
			break;
		case '6':
			v6 = 1;
			break;
		case 'u':
			udp = 1;
			break;
		case 'n':
			count = parse_num(optarg, 1, 1000000, "count");
			break;
		case 'f':
		case 't':
			if (mode && mode != opt)
				usage();
			mode = (char)opt;
			break;
		default:
			if (opt == '?')
				fprintf(stderr, "%s: option -%c is unknown or"
					" lacks its argument\n", prog, optopt);
			usage();
		}
	}
	if (optind != argc || (udp && mode))
		usage();
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	fd = make_socket(v6, udp, port);
	print_port(fd);
	if (udp) {
		serve_udp(fd, count);
		if (close(fd) < 0)
			die("close");
	} else {
		serve_tcp(fd, count, mode);
	}
	return 0;
}
