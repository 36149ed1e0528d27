/*
 * st_http - an HTTP/1.1 conversation with fixed bytes.  Listens on
 * 127.0.0.1 (ephemeral port), forks a tiny server that answers one
 * keep-alive connection, then as the client sends "GET /" (answered with
 * a Content-Length body) and "POST /echo" with a small form body
 * (answered with a chunked body, a chunk extension and a trailer) on the
 * same connection, prints both bodies and waits for the server.  Every
 * header, date included, is fixed, so decoders render it the same way on
 * every run.  The client reads the last answer only once the server has
 * closed the connection (as a slow client would), so the end of the
 * conversation happens in the same order every time.
 * Try: socktap -- samples/st_http
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "st_http";

#define HEAD_MAX	4096	/* request or response head */
#define BODY_MAX	4096	/* bodies are small here */
#define DATE		"Mon, 01 Jan 2024 00:00:00 GMT"

static const char req_get[] =
	"GET / HTTP/1.1\r\n"
	"Host: st-http.test\r\n"
	"User-Agent: st_http/1.0\r\n"
	"Accept: */*\r\n"
	"\r\n";

static const char post_body[] = "name=golden&lang=C";

__attribute__((noreturn))
static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

__attribute__((format(printf, 1, 2), noreturn))
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

static void on_alarm(int sig)
{
	static const char msg[] = "st_http: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * A connection's input: bytes read but not used yet.  Both sides parse
 * through it, so a read that brings more than one message loses nothing.
 */
struct conn {
	int fd;
	char buf[HEAD_MAX + BODY_MAX];
	size_t len;
};

/* Reads more bytes; returns 0 at EOF. */
static size_t fill(struct conn *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		fail("message too long");
	do {
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read");
	c->len += (size_t)n;
	return (size_t)n;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/*
 * Reads a head up to its empty line into head (NUL-terminated, CRLFs
 * kept) and consumes it.  Returns 0 when the peer closed before any byte
 * of a new head, 1 otherwise.
 */
static int read_head(struct conn *c, char *head, size_t cap)
{
	char *end;
	size_t n;

	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end)
			break;
		if (!fill(c)) {
			if (!c->len)
				return 0;
			fail("connection closed inside a head");
		}
	}
	n = (size_t)(end - c->buf) + 4;
	if (n >= cap)
		fail("head too long");
	memcpy(head, c->buf, n);
	head[n] = 0;
	consume(c, n);
	return 1;
}

/* The value of header field name in head (trimmed), or NULL. */
static const char *field(const char *head, const char *name, char *val,
			 size_t cap)
{
	const char *line = strstr(head, "\r\n");
	size_t nl = strlen(name);

	while (line && line[2] != '\r') {
		const char *s = line + 2, *e = strstr(s, "\r\n");

		if (!strncasecmp(s, name, nl) && s[nl] == ':') {
			size_t len;

			s += nl + 1;
			while (*s == ' ' || *s == '\t')
				s++;
			len = (size_t)(e - s);
			while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len >= cap)
				fail("field %s too long", name);
			memcpy(val, s, len);
			val[len] = 0;
			return val;
		}
		line = e;
	}
	return NULL;
}

/* Reads exactly n body bytes into body (NUL-terminated). */
static void read_body(struct conn *c, char *body, size_t n)
{
	if (n >= BODY_MAX)
		fail("body too long");
	while (c->len < n)
		if (!fill(c))
			fail("connection closed inside a body");
	memcpy(body, c->buf, n);
	body[n] = 0;
	consume(c, n);
}

/* One CRLF-terminated line (without it) into line; consumed. */
static void read_line(struct conn *c, char *line, size_t cap)
{
	char *e;
	size_t n;

	while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
		if (!fill(c))
			fail("connection closed inside a line");
	n = (size_t)(e - c->buf);
	if (n >= cap)
		fail("line too long");
	memcpy(line, c->buf, n);
	line[n] = 0;
	consume(c, n + 2);
}

/* A chunked body, decoded into body; trailer fields are skipped. */
static size_t read_chunked(struct conn *c, char *body)
{
	char line[128], *end, crlf[3];
	size_t len = 0;
	unsigned long sz;

	for (;;) {
		read_line(c, line, sizeof(line));
		errno = 0;
		sz = strtoul(line, &end, 16);
		if (errno || end == line || (*end && *end != ';'))
			fail("bad chunk size line '%s'", line);
		if (!sz)
			break;
		if (sz >= BODY_MAX - len)
			fail("chunked body too long");
		read_body(c, body + len, sz);
		len += sz;
		read_body(c, crlf, 2);
		if (strcmp(crlf, "\r\n"))
			fail("chunk data not followed by CRLF");
	}
	do {
		read_line(c, line, sizeof(line));
	} while (line[0]);
	body[len] = 0;
	return len;
}

/* ------------------------------------------------------------------ */
/* The server                                                          */

static void respond_get(int fd)
{
	static const char body[] = "Hello from st_http!\n";
	char resp[512];
	int n;

	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 200 OK\r\n"
		     "Date: " DATE "\r\n"
		     "Server: st_http/1.0\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\n"
		     "\r\n%s", sizeof(body) - 1, body);
	if (n < 0 || (size_t)n >= sizeof(resp))
		fail("response too long");
	write_all(fd, resp, (size_t)n);
}

/*
 * The answer to the POST: chunked, each piece in its own write so the
 * body crosses several reads; one chunk carries an extension, and a
 * trailer field follows the last chunk.
 */
static void respond_post(int fd, const char *body, size_t blen, int last)
{
	char chunk[256];
	int n;

	n = snprintf(chunk, sizeof(chunk),
		     "HTTP/1.1 200 OK\r\n"
		     "Date: " DATE "\r\n"
		     "Server: st_http/1.0\r\n"
		     "Content-Type: text/plain\r\n"
		     "Transfer-Encoding: chunked\r\n"
		     "Trailer: X-Body-Bytes\r\n"
		     "%s"
		     "\r\n", last ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(chunk))
		fail("response too long");
	write_all(fd, chunk, (size_t)n);
	write_all(fd, "9\r\nreceived:\r\n", 14);
	n = snprintf(chunk, sizeof(chunk), "%zx;src=form\r\n %s\r\n",
		     blen + 1, body);
	if (n < 0 || (size_t)n >= sizeof(chunk))
		fail("chunk too long");
	write_all(fd, chunk, (size_t)n);
	write_all(fd, "1\r\n\n\r\n", 6);
	n = snprintf(chunk, sizeof(chunk), "0\r\nX-Body-Bytes: %zu\r\n\r\n",
		     9 + blen + 1 + 1);
	if (n < 0 || (size_t)n >= sizeof(chunk))
		fail("chunk too long");
	write_all(fd, chunk, (size_t)n);
}

static void respond_404(int fd)
{
	static const char resp[] =
		"HTTP/1.1 404 Not Found\r\n"
		"Date: " DATE "\r\n"
		"Content-Length: 0\r\n"
		"\r\n";

	write_all(fd, resp, sizeof(resp) - 1);
}

/* Answers requests on one connection until the client closes it or asks
 * for "Connection: close". */
static void serve(int lfd, int closed_fd)
{
	static struct conn c;
	char head[HEAD_MAX], val[64], body[BODY_MAX];
	int fd;

	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept4");
	if (close(lfd) < 0)
		die("close");
	c.fd = fd;
	while (read_head(&c, head, sizeof(head))) {
		size_t blen = 0;
		int close_after;

		body[0] = 0;
		if (field(head, "Content-Length", val, sizeof(val))) {
			blen = strtoul(val, NULL, 10);
			read_body(&c, body, blen);
		}
		close_after = field(head, "Connection", val, sizeof(val)) &&
			      !strcasecmp(val, "close");
		if (!strncmp(head, "GET / ", 6))
			respond_get(fd);
		else if (!strncmp(head, "POST /echo ", 11))
			respond_post(fd, body, blen, close_after);
		else
			respond_404(fd);
		if (close_after)
			break;
	}
	if (close(fd) < 0)
		die("close");
	/* the client may read the rest now: tell it by closing the pipe */
	if (close(closed_fd) < 0)
		die("close");
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

/* Reads one response and prints its body. */
static void read_response(struct conn *c, const char *what)
{
	char head[HEAD_MAX], val[64], body[BODY_MAX];
	size_t blen;

	if (!read_head(c, head, sizeof(head)))
		fail("%s: no response", what);
	if (strncmp(head, "HTTP/1.1 200 ", 13))
		fail("%s: unexpected status line", what);
	if (field(head, "Transfer-Encoding", val, sizeof(val)) &&
	    !strcasecmp(val, "chunked")) {
		blen = read_chunked(c, body);
	} else if (field(head, "Content-Length", val, sizeof(val))) {
		blen = strtoul(val, NULL, 10);
		read_body(c, body, blen);
	} else {
		fail("%s: response without a length", what);
	}
	if (fwrite(body, 1, blen, stdout) != blen || fflush(stdout) == EOF)
		die("stdout");
}

/* Waits until the server closed its pipe end (EOF). */
static void await_close(int closed_fd)
{
	char b;
	ssize_t n;

	do {
		n = read(closed_fd, &b, 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read");
	if (n)
		fail("unexpected byte from the server's pipe");
}

static void client(int port, int closed_fd)
{
	static struct conn c;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	char req[512];
	int n;

	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0)
		die("socket");
	if (connect(c.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect");
	write_all(c.fd, req_get, sizeof(req_get) - 1);
	read_response(&c, "GET /");

	n = snprintf(req, sizeof(req),
		     "POST /echo HTTP/1.1\r\n"
		     "Host: st-http.test\r\n"
		     "User-Agent: st_http/1.0\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "\r\n%s", sizeof(post_body) - 1, post_body);
	if (n < 0 || (size_t)n >= sizeof(req))
		fail("request too long");
	write_all(c.fd, req, (size_t)n);
	await_close(closed_fd);
	read_response(&c, "POST /echo");
	/* the server closes after "Connection: close" */
	if (c.len || fill(&c))
		fail("bytes after the last response");
	if (close(c.fd) < 0)
		die("close");
}

/* A listening socket on an ephemeral port of 127.0.0.1. */
static int listen_any(int *port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	if (listen(fd, 4) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		die("getsockname");
	*port = ntohs(sin.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	pid_t pid;
	int lfd, port, status, closed[2];

	if (argc != 1) {
		fprintf(stderr,
			"usage: %s\n"
			"  Forks an HTTP/1.1 server on an ephemeral port of"
			" 127.0.0.1, sends it\n"
			"  GET / and POST /echo on one keep-alive connection"
			" and prints both bodies.\n", argv[0]);
		return 2;
	}
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	/* listening before the fork: the client cannot connect too early */
	lfd = listen_any(&port);
	/* the server closes its end of this pipe after the connection */
	if (pipe2(closed, O_CLOEXEC) < 0)
		die("pipe2");
	if (fflush(stdout) == EOF)
		die("stdout");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prog = "st_http (server)";
		if (close(closed[0]) < 0)
			die("close");
		serve(lfd, closed[1]);
		_exit(0);
	}
	if (close(lfd) < 0 || close(closed[1]) < 0)
		die("close");
	client(port, closed[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("server failed (status 0x%x)", status);
	return 0;
}
