/*
 * st_execer - two TCP connections to an echo server ("st_echo_server -n
 * 2"), one opened with SOCK_CLOEXEC and one without; the CLOEXEC one
 * says hello, then the program execs itself.  The new image checks that
 * only the non-CLOEXEC socket survived and uses it.  A tracer must drop
 * the CLOEXEC connection at exec and keep the other one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static const char *prog = "st_execer";

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
		"usage: %s HOST PORT\n"
		"  Open two connections to the echo server at HOST PORT"
		" (st_echo_server\n"
		"  -n 2), one with SOCK_CLOEXEC, exchange a line on that one,"
		" exec itself\n"
		"  and use the surviving one.  (%s --child FD_NOCLOEXEC"
		" FD_CLOEXEC is\n"
		"  the internal second stage.)\n", prog, prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_execer: timeout (30 s)\n";

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

/* Send a line, read back its echo, print it. */
static void exchange(int fd, const char *msg)
{
	size_t len = strlen(msg), off = 0;
	char buf[128];

	while (off < len) {
		ssize_t n = write(fd, msg + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		off += (size_t)n;
	}
	off = 0;
	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			fail("EOF after %zu of %zu bytes", off, len);
		off += (size_t)n;
	}
	if (memcmp(buf, msg, len) != 0)
		fail("echo differs: '%.*s'", (int)len, buf);
	if (printf("%s", msg) < 0 || fflush(stdout) == EOF)
		die("stdout");
}

static int child(const char *keep_s, const char *gone_s)
{
	int keep = (int)parse_num(keep_s, 0, 1 << 20, "fd");
	int gone = (int)parse_num(gone_s, 0, 1 << 20, "fd");
	int flags;

	if (fcntl(gone, F_GETFD) != -1)
		fail("fd %d (SOCK_CLOEXEC) survived exec", gone);
	if (errno != EBADF)
		die("fcntl F_GETFD");
	flags = fcntl(keep, F_GETFD);
	if (flags < 0)
		die("fcntl F_GETFD (inherited fd)");
	if (flags & FD_CLOEXEC)
		fail("fd %d has FD_CLOEXEC set", keep);
	exchange(keep, "after exec\n");
	if (close(keep) < 0)
		die("close");
	return 0;
}

static int tcp_connect(const struct addrinfo *ai, int flags)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | flags, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	return fd;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *ai;
	char keep_s[16], gone_s[16];
	int keep, gone, err;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal");
	/* The alarm survives exec, so one timer covers both stages. */
	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3]);
	if (argc != 3)
		usage();
	parse_num(argv[2], 1, 65535, "port");
	err = getaddrinfo(argv[1], argv[2], &hints, &ai);
	if (err)
		fail("%s: %s", argv[1], gai_strerror(err));
	alarm(30);

	gone = tcp_connect(ai, SOCK_CLOEXEC);
	keep = tcp_connect(ai, 0);
	freeaddrinfo(ai);
	/*
	 * Only the CLOEXEC socket talks before exec: a sequential echo
	 * server serves one connection at a time and gets to the second
	 * only once exec has closed the first.
	 */
	exchange(gone, "before exec (cloexec)\n");

	snprintf(keep_s, sizeof(keep_s), "%d", keep);
	snprintf(gone_s, sizeof(gone_s), "%d", gone);
	execl("/proc/self/exe", argv[0], "--child", keep_s, gone_s,
	      (char *)NULL);
	die("execl /proc/self/exe");
	return 1;
}
