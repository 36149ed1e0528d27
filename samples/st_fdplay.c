/*
 * st_fdplay - descriptor games on one TCP connection to an echo server
 * ("st_echo_server -n 1"): dup, dup2 onto 10, F_DUPFD_CLOEXEC to >= 20,
 * close the original, talk through the copies, then reuse fd 10 for a
 * regular file (whose writes are not socket traffic) and close_range().
 * A tracer must keep following the connection through all of it.
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

static const char *prog = "st_fdplay";

#define FD_DUP2 10
#define FD_CLOEXEC_MIN 20

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
		"  Connect to the echo server at HOST PORT (st_echo_server -n"
		" 1), move the\n"
		"  socket around with dup/dup2/F_DUPFD_CLOEXEC, exchange"
		" \"via dup2\\n\",\n"
		"  reuse fd %d for a file and close_range(%d, 30).\n",
		prog, FD_DUP2, FD_CLOEXEC_MIN);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_fdplay: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

static void write_all(int fd, const char *buf, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(what);
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* A regular file with no name: nothing to clean up afterwards. */
static int open_scratch_file(void)
{
	char path[] = "/tmp/st_fdplay.XXXXXX";
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		die("open /tmp O_TMPFILE");
	/* Old kernel or odd /tmp file system: a named file, unlinked now. */
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		die("mkostemp");
	if (unlink(path) < 0)
		die("unlink");
	return fd;
}

int main(int argc, char **argv)
{
	static const char msg[] = "via dup2\n";
	static const char note[] = "file data, not socket traffic\n";
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *ai;
	int s, d, hi, file, err;
	char buf[64];
	size_t got = 0, len = strlen(msg);
	char *end;
	long v;

	if (argc != 3)
		usage();
	errno = 0;
	v = strtol(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || v < 1 || v > 65535)
		fail("bad port: '%s'", argv[2]);
	err = getaddrinfo(argv[1], argv[2], &hints, &ai);
	if (err)
		fail("%s: %s", argv[1], gai_strerror(err));
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	freeaddrinfo(ai);

	d = dup(s);
	if (d < 0)
		die("dup");
	if (dup2(s, FD_DUP2) != FD_DUP2)
		die("dup2");
	hi = fcntl(s, F_DUPFD_CLOEXEC, FD_CLOEXEC_MIN);
	if (hi < 0)
		die("fcntl F_DUPFD_CLOEXEC");
	/* Normally 20; anything up to 30 is still covered by close_range. */
	if (hi > 30)
		fail("F_DUPFD_CLOEXEC gave fd %d; fds 20-30 are in use", hi);
	if (close(s) < 0)
		die("close");

	/* Send through one copy, receive through another. */
	write_all(FD_DUP2, msg, len, "write fd 10");
	while (got < len) {
		ssize_t n = read(hi, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read fd 20+");
		}
		if (n == 0)
			fail("EOF after %zu bytes", got);
		got += (size_t)n;
	}
	if (memcmp(buf, msg, len) != 0)
		fail("echo differs: '%.*s'", (int)got, buf);
	if (printf("%.*s", (int)got, buf) < 0 || fflush(stdout) == EOF)
		die("stdout");

	/* fd 10 now becomes a regular file: its writes are not traffic. */
	if (close(FD_DUP2) < 0)
		die("close fd 10");
	file = open_scratch_file();
	if (dup2(file, FD_DUP2) != FD_DUP2)
		die("dup2 file");
	if (close(file) < 0)
		die("close");
	write_all(FD_DUP2, note, strlen(note), "write file");

	if (close_range(FD_CLOEXEC_MIN, 30, 0) < 0)
		die("close_range");
	/*
	 * The dup()ed copy d stays open on purpose: the connection ends only
	 * when the process exits, and the tracer must notice that too.
	 */
	(void)d;
	return 0;
}
