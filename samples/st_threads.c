/*
 * st_threads - N threads, each with its own TCP connection to an echo
 * server ("st_echo_server -t -n N"), each sending "thread <i>\n" ten times
 * and checking every echo.  Exercises per-thread syscall tracing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static const char *prog = "st_threads";

#define ROUNDS 10
#define MAX_THREADS 256

static struct addrinfo *target;

struct worker {
	pthread_t tid;
	int idx;
	int err;		/* errno of the failed call, or 0 */
	const char *what;	/* failed call, or NULL when all went well */
};

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
		"usage: %s [N] HOST PORT\n"
		"  N threads (default 8, at most %d) each connect to the echo"
		" server at\n"
		"  HOST PORT (start it with: st_echo_server -t -n N) and"
		" exchange\n"
		"  \"thread <i>\\n\" %d times.  Prints \"OK <N>\".\n",
		prog, MAX_THREADS, ROUNDS);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "st_threads: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

static int worker_fail(struct worker *w, const char *what, int err)
{
	w->what = what;
	w->err = err;
	return -1;
}

static int exchange(struct worker *w, int fd, const char *msg, size_t len)
{
	char buf[64];
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, msg + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return worker_fail(w, "write", errno);
		}
		off += (size_t)n;
	}
	off = 0;
	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return worker_fail(w, "read", errno);
		}
		if (n == 0)
			return worker_fail(w, "read: early EOF", 0);
		off += (size_t)n;
	}
	if (memcmp(buf, msg, len) != 0)
		return worker_fail(w, "echo differs", 0);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char msg[32];
	size_t len;
	int fd, r;

	len = (size_t)snprintf(msg, sizeof(msg), "thread %d\n", w->idx);
	fd = socket(target->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		worker_fail(w, "socket", errno);
		return NULL;
	}
	if (connect(fd, target->ai_addr, target->ai_addrlen) < 0) {
		worker_fail(w, "connect", errno);
		close(fd);
		return NULL;
	}
	for (r = 0; r < ROUNDS; r++)
		if (exchange(w, fd, msg, len) < 0)
			break;
	if (close(fd) < 0 && !w->what)
		worker_fail(w, "close", errno);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	const char *host, *port;
	long nthreads = 8, v;
	int i, err, failed = 0;
	char *end;

	if (argc == 4) {
		errno = 0;
		nthreads = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || nthreads < 1 ||
		    nthreads > MAX_THREADS)
			fail("bad thread count: '%s'", argv[1]);
	} else if (argc != 3) {
		usage();
	}
	host = argv[argc - 2];
	port = argv[argc - 1];
	errno = 0;
	v = strtol(port, &end, 10);
	if (errno || end == port || *end || v < 1 || v > 65535)
		fail("bad port: '%s'", port);
	err = getaddrinfo(host, port, &hints, &target);
	if (err)
		fail("%s: %s", host, gai_strerror(err));
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	for (i = 0; i < nthreads; i++) {
		workers[i].idx = i;
		err = pthread_create(&workers[i].tid, NULL, worker_main,
				     &workers[i]);
		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	for (i = 0; i < nthreads; i++) {
		err = pthread_join(workers[i].tid, NULL);
		if (err) {
			errno = err;
			die("pthread_join");
		}
	}
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		/* One line of error, for the first thread that failed. */
		if (!w->what || failed++)
			continue;
		if (w->err)
			fprintf(stderr, "%s: thread %d: %s: %s\n", prog, i,
				w->what, strerror(w->err));
		else
			fprintf(stderr, "%s: thread %d: %s\n", prog, i,
				w->what);
	}
	freeaddrinfo(target);
	if (failed)
		return 1;
	printf("OK %ld\n", nthreads);
	if (fflush(stdout) == EOF)
		die("stdout");
	return 0;
}
