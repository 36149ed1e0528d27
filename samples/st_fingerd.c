/*
 * st_fingerd - a minimal finger server (RFC 1288) with a fixed, fake user
 * table, so the replies are the same on every machine.
 *
 * Query forms: "" (list users), "name", "/W name", anything with '@'
 * (refused: no forwarding).  One query per connection, then close.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static const char *prog = "st_fingerd";

#define QUERY_MAX 512

struct user {
	const char *login, *name, *tty, *home, *shell, *since, *idle;
};

static const struct user users[] = {
	{ "root", "root", "pts/0", "/root", "/bin/bash",
	  "Mon Jan  1 09:00", "5" },
	{ "alice", "Alice Liddell", "pts/1", "/home/alice", "/bin/zsh",
	  "Mon Jan  1 09:12", "" },
	{ "bob", "Bob Builder", "pts/2", "/home/bob", "/bin/sh",
	  "Mon Jan  1 10:30", "1:02" },
};

#define NUSERS (sizeof(users) / sizeof(users[0]))

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
		"usage: %s [-p PORT] [-6] [-n COUNT]\n"
		"  Finger server on 127.0.0.1 (::1 with -6), port 0 unless -p"
		" is given.\n"
		"  Prints \"PORT <n>\" when listening, answers COUNT queries"
		" (default 1).\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_fingerd: timeout (30 s)\n";

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

/* A growing reply buffer; the reply is sent with a single write loop. */
struct reply {
	char buf[4096];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void add(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->buf) - r->len)
		fail("reply too long");
	r->len += (size_t)n;
}

static void list_users(struct reply *r)
{
	size_t i;

	add(r, "Login     Name               Tty      Idle  Login Time\r\n");
	for (i = 0; i < NUSERS; i++)
		add(r, "%-9s %-18s %-8s %4s  %s\r\n", users[i].login,
		    users[i].name, users[i].tty, users[i].idle,
		    users[i].since + 4);
}

static void describe_user(struct reply *r, const struct user *u)
{
	add(r, "Login: %s    Name: %s\r\n", u->login, u->name);
	add(r, "Directory: %s    Shell: %s\r\n", u->home, u->shell);
	add(r, "On since %s (UTC) on %s", u->since, u->tty);
	if (*u->idle)
		add(r, ", idle %s\r\n", u->idle);
	else
		add(r, "\r\n");
	add(r, "No mail.\r\n");
	add(r, "No Plan.\r\n");
}

static void answer(struct reply *r, char *q)
{
	char *end;
	size_t i;

	r->len = 0;
	/* RFC 1288: an optional "/W" (verbose) token before the user name. */
	while (*q == ' ' || *q == '\t')
		q++;
	if (q[0] == '/' && (q[1] == 'W' || q[1] == 'w') &&
	    (q[2] == 0 || q[2] == ' ' || q[2] == '\t')) {
		q += 2;
		while (*q == ' ' || *q == '\t')
			q++;
	}
	end = q + strlen(q);
	while (end > q && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = 0;

	if (strchr(q, '@')) {
		add(r, "finger: forwarding not allowed\r\n");
		return;
	}
	if (*q == 0) {
		list_users(r);
		return;
	}
	for (i = 0; i < NUSERS; i++) {
		if (!strcmp(q, users[i].login)) {
			describe_user(r, &users[i]);
			return;
		}
	}
	add(r, "finger: %s: no such user.\r\n", q);
}

/*
 * Read one query line (up to CRLF, LF, EOF or QUERY_MAX bytes).  Returns
 * nonzero when the client sent more than the line, see drain().
 */
static int read_query(int fd, char *q, size_t cap)
{
	size_t len = 0;
	int extra = 0;

	for (;;) {
		char *nl;
		ssize_t n = read(fd, q + len, cap - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		len += (size_t)n;
		q[len] = 0;
		nl = memchr(q, '\n', len);
		if (nl) {
			extra = nl + 1 < q + len;
			*nl = 0;
			len = (size_t)(nl - q);
			break;
		}
		if (n == 0)
			break;
		if (len == cap - 1) {
			extra = 1;
			break;
		}
	}
	if (len > 0 && q[len - 1] == '\r')
		q[len - 1] = 0;
	return extra;
}

/*
 * Closing a socket with unread input makes the kernel send RST instead of
 * FIN, which may destroy the reply before the client reads it.  So when
 * the client sent more than one line, consume the rest up to its EOF.
 */
static void drain(int fd)
{
	char buf[1024];
	ssize_t n;

	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno != EINTR)
			die("read");
	}
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
	static struct reply r;
	char q[QUERY_MAX];
	long count = 1, i;
	int port = 0, v6 = 0, opt, lfd, extra;

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
	if (optind != argc)
		usage();
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	lfd = listen_on(v6, port);
	for (i = 0; i < count; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			die("accept4");
		}
		extra = read_query(fd, q, sizeof(q));
		answer(&r, q);
		write_all(fd, r.buf, r.len);
		if (extra)
			drain(fd);
		if (close(fd) < 0)
			die("close");
	}
	if (close(lfd) < 0)
		die("close");
	return 0;
}
