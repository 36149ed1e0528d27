/*
 * st_unix - Unix domain socket conversations between a parent and a forked
 * child: stream/datagram/seqpacket socketpairs, a named and an abstract
 * listening socket, and descriptor passing with SCM_RIGHTS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "st_unix";

static const char ping[] = "ping from child\n";
static const char pong[] = "pong from parent\n";

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
		"usage: %s MODE\n"
		"  MODE: pair | dgrampair | seqpacket | named DIR | abstract |"
		" rights\n"
		"  A parent and a forked child talk over a Unix socket"
		" (socketpair, a\n"
		"  path DIR/sock, an abstract name or an SCM_RIGHTS-passed"
		" socket).\n", prog);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_unix: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

/* Print a line and flush, so parent and child output never interleave. */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	if (n < 0 || fflush(stdout) == EOF)
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

/* Read exactly strlen(want) bytes from a stream and compare. */
static void expect(int fd, const char *want)
{
	size_t len = strlen(want), got = 0;
	char buf[256];

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0)
			fail("EOF after %zu of %zu bytes", got, len);
		got += (size_t)n;
	}
	if (memcmp(buf, want, len) != 0)
		fail("got '%.*s', wanted '%.*s'", (int)len - 1, buf,
		     (int)len - 1, want);
}

/* Read one record (datagram or seqpacket) and require an exact match. */
static void expect_record(int fd, const char *want)
{
	char buf[256];
	ssize_t n;

	do {
		n = recv(fd, buf, sizeof(buf), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("recv");
	if ((size_t)n != strlen(want) || memcmp(buf, want, (size_t)n))
		fail("got record '%.*s', wanted '%s'", (int)n, buf, want);
}

static void send_record(int fd, const char *msg)
{
	ssize_t n = send(fd, msg, strlen(msg), 0);

	if (n < 0)
		die("send");
	if ((size_t)n != strlen(msg))
		fail("short send (%zd of %zu)", n, strlen(msg));
}

/* Wait for a child and fail unless it exited with status 0. */
static void reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("child failed (status 0x%x)", status);
}

static void do_close(int fd)
{
	if (close(fd) < 0)
		die("close");
}

static void child_exit(void)
{
	if (fflush(stdout) == EOF)
		_exit(1);
	_exit(0);
}

/* The stream conversation: child pings, parent pongs. */
static void child_talk(int fd)
{
	write_all(fd, ping, strlen(ping));
	expect(fd, pong);
	say("child got: %s", pong);
}

static void parent_talk(int fd)
{
	expect(fd, ping);
	say("parent got: %s", ping);
	write_all(fd, pong, strlen(pong));
}

static void mode_pair(int type)
{
	int sv[2];
	pid_t pid;
	int i;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		do_close(sv[0]);
		if (type == SOCK_STREAM) {
			child_talk(sv[1]);
		} else if (type == SOCK_SEQPACKET) {
			send_record(sv[1], ping);
			expect_record(sv[1], pong);
			say("child got: %s", pong);
		} else {
			char msg[64];

			for (i = 0; i < 3; i++) {
				snprintf(msg, sizeof(msg), "dgram c2p %d", i);
				send_record(sv[1], msg);
			}
			for (i = 0; i < 3; i++) {
				snprintf(msg, sizeof(msg), "dgram p2c %d", i);
				expect_record(sv[1], msg);
				say("child got: %s\n", msg);
			}
		}
		do_close(sv[1]);
		child_exit();
	}
	do_close(sv[1]);
	if (type == SOCK_STREAM) {
		parent_talk(sv[0]);
	} else if (type == SOCK_SEQPACKET) {
		expect_record(sv[0], ping);
		say("parent got: %s", ping);
		send_record(sv[0], pong);
	} else {
		char msg[64];

		for (i = 0; i < 3; i++) {
			snprintf(msg, sizeof(msg), "dgram c2p %d", i);
			expect_record(sv[0], msg);
			say("parent got: %s\n", msg);
		}
		for (i = 0; i < 3; i++) {
			snprintf(msg, sizeof(msg), "dgram p2c %d", i);
			send_record(sv[0], msg);
		}
	}
	reap(pid);
	do_close(sv[0]);
}

/*
 * A listening socket on a path or an abstract name (leading NUL); the
 * child connects after the parent listens, so there is no race.
 */
static void mode_listen(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int lfd, fd;
	pid_t pid;
	int n;

	if (dir) {
		n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock",
			     dir);
		if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
			fail("path too long: %s/sock", dir);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				  (size_t)n + 1);
		/* A stale socket file from an earlier run blocks bind(). */
		if (unlink(sun.sun_path) < 0 && errno != ENOENT)
			die("unlink");
	} else {
		n = snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
			     "socktap-test-%ld", (long)getpid());
		if (n < 0 || (size_t)n >= sizeof(sun.sun_path) - 1)
			fail("abstract name too long");
		/* Abstract names are not NUL terminated: length is exact. */
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				  (size_t)n);
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)&sun, len) < 0)
		die("bind");
	if (listen(lfd, 4) < 0)
		die("listen");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		do_close(lfd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sun, len) < 0)
			die("connect");
		child_talk(fd);
		do_close(fd);
		child_exit();
	}
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept4");
	parent_talk(fd);
	reap(pid);
	do_close(fd);
	do_close(lfd);
	if (dir && unlink(sun.sun_path) < 0)
		die("unlink");
}

/*
 * rights: the parent makes a second socketpair after the fork (so the
 * child can only get it through SCM_RIGHTS), passes one end to the child,
 * and reads what the child writes into it from the other end.
 */
static void mode_rights(void)
{
	static const char msg[] = "via passed fd\n";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	char byte = 'F', buf[256];
	int sv[2], pv[2], fd;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		do_close(sv[0]);
		iov = (struct iovec){ &byte, 1 };
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		do {
			n = recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			die("recvmsg");
		cm = CMSG_FIRSTHDR(&mh);
		if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)))
			fail("no descriptor received");
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		write_all(fd, msg, strlen(msg));
		do_close(fd);
		do_close(sv[1]);
		child_exit();
	}
	do_close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pv) < 0)
		die("socketpair");

	iov = (struct iovec){ &byte, 1 };
	memset(&mh, 0, sizeof(mh));
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pv[1], sizeof(int));
	do {
		n = sendmsg(sv[0], &mh, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("sendmsg");
	/* Only the child's copy may stay open, so EOF ends the read below. */
	do_close(pv[1]);

	while ((n = read(pv[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			fail("too much data on the passed socket");
	}
	buf[got] = 0;
	if (strcmp(buf, msg) != 0)
		fail("got '%s' on the passed socket", buf);
	say("parent got: %s", buf);
	reap(pid);
	do_close(pv[0]);
	do_close(sv[0]);
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal");
	alarm(30);

	if (!strcmp(mode, "named")) {
		if (argc != 3)
			usage();
		mode_listen(argv[2]);
		return 0;
	}
	if (argc != 2)
		usage();
	if (!strcmp(mode, "pair"))
		mode_pair(SOCK_STREAM);
	else if (!strcmp(mode, "dgrampair"))
		mode_pair(SOCK_DGRAM);
	else if (!strcmp(mode, "seqpacket"))
		mode_pair(SOCK_SEQPACKET);
	else if (!strcmp(mode, "abstract"))
		mode_listen(NULL);
	else if (!strcmp(mode, "rights"))
		mode_rights();
	else
		usage();
	return 0;
}
