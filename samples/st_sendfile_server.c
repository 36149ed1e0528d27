/*
 * st_sendfile_server - per connection: read a request line, send FILE with
 * sendfile(), close.  The first half goes out with an explicit offset
 * pointer (the file position does not move), the rest from the file
 * position (NULL offset), so a tracer sees both forms of the call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char *prog = "st_sendfile_server";

/* Small enough that files of a few hundred KiB need several calls. */
#define CHUNK 65536

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
		"usage: %s [-p PORT] [-6] [-n COUNT] FILE\n"
		"  TCP server on 127.0.0.1 (::1 with -6), port 0 unless -p is"
		" given.\n"
		"  Prints \"PORT <n>\"; per connection reads one request line"
		" and sends\n"
		"  FILE with sendfile(); serves COUNT connections (default 1)."
		"\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_sendfile_server: timeout (30 s)\n";

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

/*
 * Read the request up to its newline (or EOF).  Returns nonzero when the
 * client sent bytes past the newline.
 */
static int read_request(int fd)
{
	char buf[1024];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			return 0;
		nl = memchr(buf, '\n', (size_t)n);
		if (nl)
			return nl + 1 < buf + n;
	}
}

static void send_file(int sock, int file, off_t size)
{
	off_t half = size / 2, off = 0, pos;

	/* First half: explicit offset; the file position stays at 0. */
	while (off < half) {
		size_t len = half - off > CHUNK ? CHUNK : (size_t)(half - off);
		ssize_t n = sendfile(sock, file, &off, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("sendfile (offset)");
		}
		if (n == 0)
			fail("file shrank while sending");
	}
	pos = lseek(file, half, SEEK_SET);
	if (pos < 0)
		die("lseek");
	/* Second half: NULL offset, sendfile advances the file position. */
	while (pos < size) {
		size_t len = size - pos > CHUNK ? CHUNK : (size_t)(size - pos);
		ssize_t n = sendfile(sock, file, NULL, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("sendfile");
		}
		if (n == 0)
			fail("file shrank while sending");
		pos += n;
	}
}

static int listen_on(int v6, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

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
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (listen(fd, 16) < 0)
		die("listen");

	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			: ((struct sockaddr_in *)&ss)->sin_port);
	if (printf("PORT %d\n", port) < 0 || fflush(stdout) == EOF)
		die("stdout");
	return fd;
}

int main(int argc, char **argv)
{
	long count = 1, i;
	int port = 0, v6 = 0, opt, lfd, file;
	struct stat st;

	opterr = 0;	/* one-line complaint below, then usage */
	while ((opt = getopt(argc, argv, "p:6n:h")) != -1) {
		switch (opt) {
		case 'p':
			port = (int)parse_num(optarg, 0, 65535, "port");
			break;
		case '6':
			v6 = 1;
			break;
		case 'n':
			count = parse_num(optarg, 1, 1000000, "count");
			break;
		default:
			if (opt == '?')
				fprintf(stderr, "%s: option -%c is unknown or"
					" lacks its argument\n", prog, optopt);
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	/* Open the file first, so a bad path fails before PORT is printed. */
	file = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (file < 0) {
		fprintf(stderr, "%s: open %s: %s\n", prog, argv[optind],
			strerror(errno));
		return 1;
	}
	if (fstat(file, &st) < 0)
		die("fstat");
	if (!S_ISREG(st.st_mode))
		fail("%s: not a regular file", argv[optind]);

	lfd = listen_on(v6, port);
	for (i = 0; i < count; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		int extra;

		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			die("accept4");
		}
		extra = read_request(fd);
		send_file(fd, file, st.st_size);
		/*
		 * Unread input would turn close() into a RST that can destroy
		 * the data in flight; take the rest of the request first.
		 */
		if (extra) {
			char buf[1024];
			ssize_t n;

			if (shutdown(fd, SHUT_WR) < 0)
				die("shutdown");
			while ((n = read(fd, buf, sizeof(buf))) != 0)
				if (n < 0 && errno != EINTR)
					die("read");
		}
		if (close(fd) < 0)
			die("close");
	}
	if (close(lfd) < 0)
		die("close");
	if (close(file) < 0)
		die("close");
	return 0;
}
