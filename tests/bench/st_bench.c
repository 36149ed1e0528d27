/*
 * st_bench: the benchmark's workloads, each a whole program that talks to
 * itself over loopback (a forked peer), so one run = one process tree.
 *
 *   st_bench bulk BYTES WRITESIZE     TCP, one way, peer reads and drops
 *   st_bench pingpong ROUNDS SIZE     TCP request/response
 *   st_bench udp ROUNDS SIZE          UDP request/response
 *   st_bench files OPS EVERY          file reads/writes, a round trip
 *                                     every EVERY operations
 *   st_bench threads N ROUNDS         N threads, a connection each
 *   st_bench wait-bulk BYTES WSIZE    bulk, but first prints its pid and
 *                                     waits for a line on stdin (attach)
 *
 * bulk and wait-bulk take an optional last argument, OFFSET: the buffer
 * written from starts OFFSET bytes past a page boundary (by default it
 * is wherever malloc puts it).  Copies out of it may depend on that.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "st_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int listener(int type, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket");
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0)
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)addr, &len) < 0)
		die("getsockname");
	return fd;
}

static int dial(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || connect(fd, (const struct sockaddr *)addr,
			      sizeof(*addr)) < 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void full_write(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static void full_read(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			die("read");
		}
		p += r;
		n -= (size_t)r;
	}
}

/* The peer: echoes (size > 0) or drains (size == 0) each connection. */
static pid_t tcp_peer(int lfd, int conns, size_t size)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid)
		return pid;
	for (int i = 0; i < conns; i++) {
		int c = accept(lfd, NULL, NULL);
		char buf[65536];
		ssize_t r;

		if (c < 0)
			die("accept");
		if (fork() == 0) {
			while ((r = read(c, buf, size ? size : sizeof(buf))) > 0)
				if (size)
					full_write(c, buf, (size_t)r);
			_exit(0);
		}
		close(c);
	}
	while (wait(NULL) > 0)
		;
	_exit(0);
}

static int bulk(size_t bytes, size_t wsize, bool wait_first, long offset)
{
	struct sockaddr_in a;
	int lfd = listener(SOCK_STREAM, &a), fd;
	pid_t peer = tcp_peer(lfd, 1, 0);
	char *mem = offset < 0 ? malloc(wsize) :
		aligned_alloc(4096, (wsize + (size_t)offset + 4095) / 4096 * 4096);
	char *buf = mem + (offset < 0 ? 0 : offset);
	char line[16];

	if (!mem)
		die("malloc");
	memset(buf, 'x', wsize);
	if (wait_first) {
		printf("%d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			die("stdin");
	}
	fd = dial(&a);
	for (size_t done = 0; done < bytes; done += wsize)
		full_write(fd, buf, wsize < bytes - done ? wsize : bytes - done);
	close(fd);
	waitpid(peer, NULL, 0);
	free(mem);
	return 0;
}

static int pingpong(long rounds, size_t size)
{
	struct sockaddr_in a;
	int lfd = listener(SOCK_STREAM, &a), fd;
	pid_t peer = tcp_peer(lfd, 1, size);
	char buf[65536];

	fd = dial(&a);
	memset(buf, 'p', size);
	for (long i = 0; i < rounds; i++) {
		full_write(fd, buf, size);
		full_read(fd, buf, size);
	}
	close(fd);
	waitpid(peer, NULL, 0);
	return 0;
}

static int udp(long rounds, size_t size)
{
	struct sockaddr_in a;
	int sfd = listener(SOCK_DGRAM, &a), fd;
	char buf[65536];
	pid_t peer = fork();

	if (peer == 0) {
		for (long i = 0; i < rounds; i++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(sfd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);

			if (r < 0)
				die("recvfrom");
			sendto(sfd, buf, (size_t)r, 0, (struct sockaddr *)&from,
			       fl);
		}
		_exit(0);
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(buf, 'u', size);
	for (long i = 0; i < rounds; i++) {
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&a,
			   sizeof(a)) < 0)
			die("sendto");
		if (recv(fd, buf, sizeof(buf), 0) < 0)
			die("recv");
	}
	waitpid(peer, NULL, 0);
	return 0;
}

static int files(long ops, long every)
{
	struct sockaddr_in a;
	int lfd = listener(SOCK_STREAM, &a), fd, ffd;
	pid_t peer = tcp_peer(lfd, 1, 64);
	char path[] = "/tmp/st_bench_XXXXXX", buf[4096];

	ffd = mkstemp(path);
	if (ffd < 0)
		die("mkstemp");
	unlink(path);
	fd = dial(&a);
	memset(buf, 'f', sizeof(buf));
	for (long i = 0; i < ops; i++) {
		if (i % 2 == 0) {
			if (pwrite(ffd, buf, 512, (i % 64) * 512) < 0)
				die("pwrite");
		} else if (read(ffd, buf, 512) < 0) {
			die("read");
		}
		if (i % 64 == 63)
			lseek(ffd, 0, SEEK_SET);
		if (every && i % every == 0) {
			full_write(fd, buf, 64);
			full_read(fd, buf, 64);
		}
	}
	close(fd);
	close(ffd);
	waitpid(peer, NULL, 0);
	return 0;
}

struct thr {
	struct sockaddr_in a;
	long rounds;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	int fd = dial(&t->a);
	char buf[64];

	memset(buf, 't', sizeof(buf));
	for (long i = 0; i < t->rounds; i++) {
		full_write(fd, buf, sizeof(buf));
		full_read(fd, buf, sizeof(buf));
	}
	close(fd);
	return NULL;
}

static int threads(int n, long rounds)
{
	struct thr t;
	int lfd = listener(SOCK_STREAM, &t.a);
	pid_t peer = tcp_peer(lfd, n, 64);
	pthread_t tid[64];

	if (n > 64)
		n = 64;
	t.rounds = rounds;
	for (int i = 0; i < n; i++)
		pthread_create(&tid[i], NULL, thread_main, &t);
	for (int i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	waitpid(peer, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	long offset = argc == 5 ? strtol(argv[4], NULL, 0) : -1;

	if (argc != 4 && !(argc == 5 && strstr(argv[1], "bulk") &&
			   offset >= 0 && offset < 4096)) {
		fprintf(stderr, "usage: st_bench bulk|wait-bulk|pingpong|udp|"
			"files|threads A B [OFFSET]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "bulk"))
		return bulk(strtoull(argv[2], NULL, 0),
			    strtoull(argv[3], NULL, 0), false, offset);
	if (!strcmp(argv[1], "wait-bulk"))
		return bulk(strtoull(argv[2], NULL, 0),
			    strtoull(argv[3], NULL, 0), true, offset);
	if (!strcmp(argv[1], "pingpong"))
		return pingpong(atol(argv[2]), strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "udp"))
		return udp(atol(argv[2]), strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "files"))
		return files(atol(argv[2]), atol(argv[3]));
	if (!strcmp(argv[1], "threads"))
		return threads(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "st_bench: unknown workload '%s'\n", argv[1]);
	return 2;
}
