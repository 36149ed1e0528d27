/*
 * st_client - a client that exercises one family of socket calls per MODE,
 * so socktap's tests can check that each of them is traced correctly.
 * It talks to st_echo_server (or any server that answers, e.g. st_fingerd
 * or st_sendfile_server for the stream modes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *prog = "st_client";

#define MIB (1024UL * 1024UL)
#define UDP_MAX_COUNT 1024

struct opts {
	const char *mode;
	const char *msg;
	size_t bytes;
	size_t wsize;
	long count;
	long conns;
	int verbose;
	struct addrinfo *ai;
};

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
		"usage: %s MODE HOST PORT [-m TEXT] [-b BYTES] [-w WRITESIZE]"
		" [-c COUNT] [-k N] [-v]\n"
		"  MODE: tcp writev sendmsg peek  (send TEXT, shut down, print"
		" the reply;\n"
		"                                   -k N repeats over N"
		" connections)\n"
		"        nonblock bulk            (send BYTES of a pattern,"
		" verify the echo,\n"
		"                                   print \"OK <bytes>\")\n"
		"        udp udpc mmsg            (COUNT datagrams"
		" \"ping <i>\", print\n"
		"                                   the replies)\n"
		"  HOST is a numeric IPv4 or IPv6 address.  Defaults: -m"
		" 'hello\\n' -b 4M\n"
		"  -w 65536 -c 3 -k 1.  BYTES accept a k or m suffix (KiB,"
		" MiB).\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_client: timeout (30 s)\n";

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

/* A byte count with an optional k/K (KiB) or m/M (MiB) suffix. */
static size_t parse_size(const char *s, size_t min, const char *what)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		fail("bad %s: '%s'", what, s);
	if (*end == 'k' || *end == 'K') {
		mul = 1024;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		mul = MIB;
		end++;
	}
	if (*end || v > (1ULL << 40) / mul || v * mul < min)
		fail("bad %s: '%s'", what, s);
	return (size_t)(v * mul);
}

static inline unsigned char pattern(uint64_t i)
{
	return (unsigned char)((i * 7 + i / 251) & 0xff);
}

/*
 * The pattern repeats every 251 * 256 bytes (both terms wrap to the same
 * value), so one precomputed buffer of a period plus the largest transfer
 * unit serves every offset: the bytes for offset off start at
 * pat_at(off).  No per-write pattern computation, memcmp() to verify.
 */
#define PAT_PERIOD (251UL * 256UL)

static unsigned char *pat_buf;

static void pat_init(size_t max_len)
{
	size_t i, len = max_len + PAT_PERIOD;

	pat_buf = malloc(len);
	if (!pat_buf)
		die("malloc");
	for (i = 0; i < len; i++)
		pat_buf[i] = pattern(i);
}

static inline const unsigned char *pat_at(uint64_t off)
{
	return pat_buf + off % PAT_PERIOD;
}

/* Check received bytes against the pattern; stop at the first mismatch. */
static void check_pattern(const unsigned char *buf, uint64_t off, size_t len)
{
	size_t i;

	if (memcmp(buf, pat_at(off), len) == 0)
		return;
	for (i = 0; buf[i] == pattern(off + i); i++)
		;
	fail("echo differs at byte %llu (got 0x%02x, want 0x%02x)",
	     (unsigned long long)(off + i), buf[i], pattern(off + i));
}

static void out(const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len)
		die("stdout");
}

static void out_flush(void)
{
	if (fflush(stdout) == EOF)
		die("stdout");
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

static int tcp_connect(const struct opts *o, int flags)
{
	int fd = socket(o->ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | flags,
			0);

	if (fd < 0)
		die("socket");
	if (connect(fd, o->ai->ai_addr, o->ai->ai_addrlen) < 0) {
		if (!(flags & SOCK_NONBLOCK) || errno != EINPROGRESS)
			die("connect");
	}
	return fd;
}

static void do_shutdown(int fd)
{
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
}

static void do_close(int fd)
{
	if (close(fd) < 0)
		die("close");
}

/* tcp: write(), shutdown, read() until EOF. */
static void mode_tcp(const struct opts *o, int fd)
{
	char buf[4096];
	ssize_t n;

	write_all(fd, o->msg, strlen(o->msg));
	do_shutdown(fd);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		out(buf, (size_t)n);
	}
}

/* Drop the first `done` bytes from an iovec array (after a short write). */
static int iov_advance(struct iovec *iov, int cnt, size_t done)
{
	int i = 0;

	while (i < cnt && done >= iov[i].iov_len) {
		done -= iov[i].iov_len;
		i++;
	}
	if (i < cnt) {
		iov[i].iov_base = (char *)iov[i].iov_base + done;
		iov[i].iov_len -= done;
	}
	return i;
}

/* Split the message into three pieces (some may be empty). */
static void split3(const char *msg, struct iovec iov[3])
{
	size_t len = strlen(msg), a = len / 3, b = len / 3;

	iov[0].iov_base = (void *)msg;
	iov[0].iov_len = a;
	iov[1].iov_base = (void *)(msg + a);
	iov[1].iov_len = b;
	iov[2].iov_base = (void *)(msg + a + b);
	iov[2].iov_len = len - a - b;
}

/* writev: the message as three iovecs, the reply read with readv(). */
static void mode_writev(const struct opts *o, int fd)
{
	char a[4], b[8], c[4096];
	struct iovec iov[3];
	int first = 0;
	ssize_t n;

	split3(o->msg, iov);
	while (first < 3) {
		n = writev(fd, iov + first, 3 - first);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("writev");
		}
		first += iov_advance(iov + first, 3 - first, (size_t)n);
	}
	do_shutdown(fd);
	for (;;) {
		size_t left;

		iov[0] = (struct iovec){ a, sizeof(a) };
		iov[1] = (struct iovec){ b, sizeof(b) };
		iov[2] = (struct iovec){ c, sizeof(c) };
		n = readv(fd, iov, 3);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("readv");
		}
		if (n == 0)
			break;
		left = (size_t)n;
		for (int i = 0; i < 3 && left; i++) {
			size_t k = iov[i].iov_len;

			if (k > left)
				k = left;

			out(iov[i].iov_base, k);
			left -= k;
		}
	}
}

/* sendmsg: the message as two iovecs via sendmsg, reply via recvmsg. */
static void mode_sendmsg(const struct opts *o, int fd)
{
	size_t len = strlen(o->msg);
	struct iovec iov[2] = {
		{ (void *)o->msg, len / 2 },
		{ (void *)(o->msg + len / 2), len - len / 2 },
	};
	struct msghdr mh;
	char a[5], b[4096];
	int first = 0;
	ssize_t n;

	while (first < 2) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov + first;
		mh.msg_iovlen = (size_t)(2 - first);
		n = sendmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("sendmsg");
		}
		first += iov_advance(iov + first, 2 - first, (size_t)n);
	}
	do_shutdown(fd);
	for (;;) {
		size_t left;

		iov[0] = (struct iovec){ a, sizeof(a) };
		iov[1] = (struct iovec){ b, sizeof(b) };
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 2;
		n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmsg");
		}
		if (n == 0)
			break;
		left = (size_t)n;
		for (int i = 0; i < 2 && left; i++) {
			size_t k = iov[i].iov_len;

			if (k > left)
				k = left;

			out(iov[i].iov_base, k);
			left -= k;
		}
	}
}

/*
 * peek: look at the first reply bytes with MSG_PEEK, then read() the very
 * same bytes (they must match), then read normally until EOF.
 */
static void mode_peek(const struct opts *o, int fd)
{
	char peeked[4096], buf[4096];
	ssize_t np, n;
	size_t got = 0;

	write_all(fd, o->msg, strlen(o->msg));
	do_shutdown(fd);
	do {
		np = recv(fd, peeked, sizeof(peeked), MSG_PEEK);
	} while (np < 0 && errno == EINTR);
	if (np < 0)
		die("recv MSG_PEEK");
	while (got < (size_t)np) {
		n = read(fd, buf + got, (size_t)np - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			fail("EOF after peeking %zd bytes", np);
		got += (size_t)n;
	}
	if (memcmp(peeked, buf, got) != 0)
		fail("peeked bytes differ from the bytes read");
	out(buf, got);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		out(buf, (size_t)n);
	}
}

/*
 * nonblock: nonblocking connect, then pump the pattern through the echo
 * server with poll().  Writing until EAGAIN (instead of once per POLLOUT)
 * makes sure the trace contains short writes and EAGAIN results.
 */
static void mode_nonblock(const struct opts *o)
{
	unsigned char *rbuf;
	size_t sent = 0, rcvd = 0, chunk = MIB;
	unsigned long nshort = 0, nagain = 0, nwrites = 0;
	int fd, err, wr_shut = 0, bufsize = 65536;
	socklen_t elen = sizeof(err);
	struct pollfd pfd;

	fd = tcp_connect(o, SOCK_NONBLOCK);
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	/*
	 * Loopback socket buffers grow to several MiB, enough to swallow the
	 * whole transfer.  Small fixed ones make every 1 MiB write short and
	 * let the echo, which is not read while writing, push back until
	 * write() fails with EAGAIN.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)))
		die("setsockopt SO_SNDBUF");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)))
		die("setsockopt SO_RCVBUF");
	for (;;) {
		int r = poll(&pfd, 1, 10000);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (r == 0)
			fail("connect: timed out");
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		die("getsockopt SO_ERROR");
	if (err) {
		errno = err;
		die("connect");
	}

	pat_init(chunk);
	rbuf = malloc(chunk);
	if (!rbuf)
		die("malloc");
	if (o->bytes == 0) {
		do_shutdown(fd);
		wr_shut = 1;
	}
	while (!wr_shut || rcvd < o->bytes) {
		int r;

		pfd.events = POLLIN | (wr_shut ? 0 : POLLOUT);
		r = poll(&pfd, 1, 10000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (r == 0)
			fail("poll: no progress for 10 s (sent %zu, received"
			     " %zu)", sent, rcvd);
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			for (;;) {
				ssize_t n = read(fd, rbuf, chunk);

				if (n < 0) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					die("read");
				}
				if (n == 0) {
					if (rcvd < o->bytes)
						fail("EOF after %zu of %zu"
						     " bytes", rcvd, o->bytes);
					break;
				}
				if (rcvd + (size_t)n > o->bytes)
					fail("more bytes echoed than sent");
				check_pattern(rbuf, rcvd, (size_t)n);
				rcvd += (size_t)n;
			}
		}
		if (!wr_shut && (pfd.revents & POLLOUT)) {
			while (sent < o->bytes) {
				size_t len = o->bytes - sent;
				ssize_t n;

				if (len > chunk)
					len = chunk;
				n = write(fd, pat_at(sent), len);
				nwrites++;
				if (n < 0) {
					if (errno == EAGAIN) {
						nagain++;
						break;
					}
					if (errno == EINTR)
						continue;
					die("write");
				}
				if ((size_t)n < len)
					nshort++;
				sent += (size_t)n;
			}
			if (sent == o->bytes) {
				do_shutdown(fd);
				wr_shut = 1;
			}
		}
	}
	/* Everything came back; the server must now close without extras. */
	for (;;) {
		ssize_t n = read(fd, rbuf, chunk);

		if (n == 0)
			break;
		if (n > 0)
			fail("more bytes echoed than sent");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			die("read");
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) < 0 && errno != EINTR)
			die("poll");
	}
	do_close(fd);
	free(rbuf);
	free(pat_buf);
	if (o->verbose)
		fprintf(stderr, "%s: %lu writes, %lu short, %lu EAGAIN\n",
			prog, nwrites, nshort, nagain);
	printf("OK %zu\n", rcvd);
}

struct bulk_writer {
	int fd;
	size_t bytes, wsize;
	int err;
	const char *what;
};

static void *bulk_write_thread(void *arg)
{
	struct bulk_writer *w = arg;
	size_t sent = 0;

	while (sent < w->bytes) {
		size_t len = w->bytes - sent, off = 0;
		const unsigned char *buf = pat_at(sent);

		if (len > w->wsize)
			len = w->wsize;
		/* One write of WRITESIZE, continued if the kernel cuts it. */
		while (off < len) {
			ssize_t n = write(w->fd, buf + off, len - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				w->err = errno;
				w->what = "write";
				return NULL;
			}
			off += (size_t)n;
		}
		sent += len;
	}
	if (shutdown(w->fd, SHUT_WR) < 0) {
		w->err = errno;
		w->what = "shutdown";
	}
	return NULL;
}

/* bulk: a writer thread sends, this thread reads and verifies the echo. */
static void mode_bulk(const struct opts *o)
{
	struct bulk_writer w = { .bytes = o->bytes, .wsize = o->wsize };
	size_t rcvd = 0, cap = 65536;
	unsigned char *buf;
	pthread_t tid;
	int err;

	w.fd = tcp_connect(o, 0);
	pat_init(o->wsize > cap ? o->wsize : cap);
	buf = malloc(cap);
	if (!buf)
		die("malloc");
	err = pthread_create(&tid, NULL, bulk_write_thread, &w);
	if (err) {
		errno = err;
		die("pthread_create");
	}
	for (;;) {
		ssize_t n = read(w.fd, buf, cap);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			break;
		if (rcvd + (size_t)n > o->bytes)
			fail("more bytes echoed than sent");
		check_pattern(buf, rcvd, (size_t)n);
		rcvd += (size_t)n;
	}
	err = pthread_join(tid, NULL);
	if (err) {
		errno = err;
		die("pthread_join");
	}
	if (w.err) {
		errno = w.err;
		die(w.what);
	}
	if (rcvd != o->bytes)
		fail("EOF after %zu of %zu bytes", rcvd, o->bytes);
	do_close(w.fd);
	free(buf);
	free(pat_buf);
	printf("OK %zu\n", rcvd);
}

static int udp_socket(const struct opts *o, int connected)
{
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(o->ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	/* A lost datagram must end in an error, not in a hang. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt SO_RCVTIMEO");
	if (connected && connect(fd, o->ai->ai_addr, o->ai->ai_addrlen) < 0)
		die("connect");
	return fd;
}

static void check_reply(const char *want, const char *got, ssize_t n)
{
	if ((size_t)n != strlen(want) || memcmp(want, got, (size_t)n) != 0)
		fail("unexpected reply '%.*s' (wanted '%s')", (int)n, got,
		     want);
	printf("%s\n", want);
}

/* udp / udpc: one "ping <i>" datagram at a time, wait for its echo. */
static void mode_udp(const struct opts *o, int connected)
{
	int fd = udp_socket(o, connected);
	char msg[64], buf[2048];
	long i;

	for (i = 0; i < o->count; i++) {
		int len = snprintf(msg, sizeof(msg), "ping %ld", i);
		ssize_t n;

		if (connected)
			n = send(fd, msg, (size_t)len, 0);
		else
			n = sendto(fd, msg, (size_t)len, 0, o->ai->ai_addr,
				   o->ai->ai_addrlen);
		if (n < 0)
			die(connected ? "send" : "sendto");
		if (connected) {
			n = recv(fd, buf, sizeof(buf), 0);
		} else {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);

			n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen);
		}
		if (n < 0 && errno == EAGAIN)
			fail("no reply to '%s' within 5 s", msg);
		if (n < 0)
			die(connected ? "recv" : "recvfrom");
		check_reply(msg, buf, n);
	}
	do_close(fd);
}

/* mmsg: all datagrams in sendmmsg() calls, the echoes via recvmmsg(). */
static void mode_mmsg(const struct opts *o)
{
	static struct mmsghdr hdr[UDP_MAX_COUNT];
	static struct iovec iov[UDP_MAX_COUNT];
	static char msgs[UDP_MAX_COUNT][32], bufs[UDP_MAX_COUNT][64];
	static struct sockaddr_storage from[UDP_MAX_COUNT];
	unsigned int n = (unsigned int)o->count, done = 0;
	int fd = udp_socket(o, 0);
	unsigned int i;

	for (i = 0; i < n; i++) {
		int len = snprintf(msgs[i], sizeof(msgs[i]), "ping %u", i);

		iov[i] = (struct iovec){ msgs[i], (size_t)len };
		memset(&hdr[i], 0, sizeof(hdr[i]));
		hdr[i].msg_hdr.msg_name = o->ai->ai_addr;
		hdr[i].msg_hdr.msg_namelen = o->ai->ai_addrlen;
		hdr[i].msg_hdr.msg_iov = &iov[i];
		hdr[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int r = sendmmsg(fd, hdr + done, n - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("sendmmsg");
		}
		done += (unsigned int)r;
	}
	for (i = 0; i < n; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&hdr[i], 0, sizeof(hdr[i]));
		hdr[i].msg_hdr.msg_name = &from[i];
		hdr[i].msg_hdr.msg_namelen = sizeof(from[i]);
		hdr[i].msg_hdr.msg_iov = &iov[i];
		hdr[i].msg_hdr.msg_iovlen = 1;
	}
	done = 0;
	while (done < n) {
		/* MSG_WAITFORONE: block for the first, take what is queued. */
		int r = recvmmsg(fd, hdr + done, n - done, MSG_WAITFORONE,
				 NULL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				fail("only %u of %u replies within 5 s", done,
				     n);
			die("recvmmsg");
		}
		done += (unsigned int)r;
	}
	for (i = 0; i < n; i++)
		check_reply(msgs[i], bufs[i], (ssize_t)hdr[i].msg_len);
	do_close(fd);
}

static void resolve(struct opts *o, const char *host, const char *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	int err;

	parse_num(port, 1, 65535, "port");
	err = getaddrinfo(host, port, &hints, &o->ai);
	if (err)
		fail("%s: %s", host, gai_strerror(err));
}

int main(int argc, char **argv)
{
	struct opts o = {
		.msg = "hello\n",
		.bytes = 4 * MIB,
		.wsize = 65536,
		.count = 3,
		.conns = 1,
	};
	int opt;

	opterr = 0;	/* one-line complaint below, then usage */
	while ((opt = getopt(argc, argv, "m:b:w:c:k:vh")) != -1) {
		switch (opt) {
		case 'm':
			o.msg = optarg;
			break;
		case 'b':
			o.bytes = parse_size(optarg, 0, "byte count");
			break;
		case 'w':
			o.wsize = parse_size(optarg, 1, "write size");
			if (o.wsize > 64 * MIB)
				fail("write size above 64 MiB");
			break;
		case 'c':
			o.count = parse_num(optarg, 1, UDP_MAX_COUNT, "count");
			break;
		case 'k':
			o.conns = parse_num(optarg, 1, 100000, "connections");
			break;
		case 'v':
			o.verbose = 1;
			break;
		default:
			if (opt == '?')
				fprintf(stderr, "%s: option -%c is unknown or"
					" lacks its argument\n", prog, optopt);
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	o.mode = argv[optind];
	resolve(&o, argv[optind + 1], argv[optind + 2]);
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	if (!strcmp(o.mode, "tcp") || !strcmp(o.mode, "writev") ||
	    !strcmp(o.mode, "sendmsg") || !strcmp(o.mode, "peek")) {
		for (long k = 0; k < o.conns; k++) {
			int fd = tcp_connect(&o, 0);

			switch (o.mode[0]) {
			case 't':
				mode_tcp(&o, fd);
				break;
			case 'w':
				mode_writev(&o, fd);
				break;
			case 's':
				mode_sendmsg(&o, fd);
				break;
			default:
				mode_peek(&o, fd);
				break;
			}
			do_close(fd);
			out_flush();
		}
	} else if (!strcmp(o.mode, "nonblock")) {
		mode_nonblock(&o);
	} else if (!strcmp(o.mode, "bulk")) {
		mode_bulk(&o);
	} else if (!strcmp(o.mode, "udp")) {
		mode_udp(&o, 0);
	} else if (!strcmp(o.mode, "udpc")) {
		mode_udp(&o, 1);
	} else if (!strcmp(o.mode, "mmsg")) {
		mode_mmsg(&o);
	} else {
		fprintf(stderr, "%s: unknown mode '%s'\n", prog, o.mode);
		usage();
	}
	out_flush();
	freeaddrinfo(o.ai);
	return 0;
}
