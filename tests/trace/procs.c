/*
 * Process shapes that are hard on a tracer, each talking over UDP to a
 * port given on the command line (nothing needs to listen):
 *   procs leader-exits PORT   main thread exits, threads keep talking
 *   procs nonleader-exec PORT a thread (not the leader) calls execve
 *   procs vfork PORT          vfork + exec of a child that talks
 *   procs forks N PORT        N children, each talking, then reaped
 * and one that talks TCP to itself instead (its argument is not a port):
 *   procs unmap-race MS       for MS ms, a thread sends from a buffer that
 *                             another thread keeps unmapping and mapping
 *                             back; a forked child receives.  Prints
 *                             "SENT n RECEIVED n EFAULT n REMAPS n"
 * Prints "OK" when its own part succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;

static int say(const char *what)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	if (s < 0)
		return -1;
	n = sendto(s, what, strlen(what), 0, (struct sockaddr *)&dst,
		   sizeof(dst));
	close(s);
	return n == (ssize_t)strlen(what) ? 0 : -1;
}

static void *talker(void *arg)
{
	usleep(100 * 1000);	/* after the leader is gone */
	say(arg);
	return NULL;
}

static void *execer(void *arg)
{
	char port[16];

	say("before exec");
	snprintf(port, sizeof(port), "%d", ntohs(dst.sin_port));
	execl("/proc/self/exe", "procs", "said", "after exec", port,
	      (char *)NULL);
	return arg;
}

/* unmap-race: two pages, so that a read of the buffer can also stop
 * half-way (one page gone, the other there) */
static char *race_buf;
static size_t race_page;
static atomic_bool race_stop;
static atomic_ulong race_calls;	/* the sender's, done */
static unsigned long race_remaps;

/* Waits until the sender has finished n more calls. */
static void race_wait_calls(unsigned long n)
{
	unsigned long c = atomic_load(&race_calls);

	while (atomic_load(&race_calls) < c + n && !atomic_load(&race_stop))
		sched_yield();
}

static void *remapper(void *arg)
{
	while (!atomic_load(&race_stop)) {
		unsigned k = race_remaps % 3;	/* first, second, both */
		char *at = race_buf + (k == 1 ? race_page : 0);
		size_t len = k == 2 ? 2 * race_page : race_page;

		/* paced by the sender's calls, so neither thread starves the
		 * other: one call in full, then unmapped in the middle of the
		 * next (kept so until it has returned: a tracer that reads
		 * the buffer at its exit finds it gone) */
		race_wait_calls(2);
		if (munmap(at, len) < 0)
			return "munmap";
		race_wait_calls(1);
		if (mmap(at, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != at)
			return "mmap";
		memset(at, 'a' + (int)(race_remaps % 26), len);
		race_remaps++;
	}
	return arg;
}

/* Reads the connection to its end; the byte count goes to fd out. */
static int race_receive(int ls, int out)
{
	static char buf[65536];
	unsigned long long got = 0;
	int s = accept(ls, NULL, NULL);
	ssize_t n;

	if (s < 0)
		return 1;
	while ((n = read(s, buf, sizeof(buf))) > 0)
		got += (unsigned long long)n;
	if (n < 0 || write(out, &got, sizeof(got)) != sizeof(got))
		return 1;
	return 0;
}

static int unmap_race(long ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	unsigned long long sent = 0, got = 0;
	unsigned long efault = 0;
	struct timespec now, end;
	pthread_t t;
	void *why;
	int ls, s, p[2], st;
	pid_t pid;

	race_page = (size_t)sysconf(_SC_PAGESIZE);
	race_buf = mmap(NULL, 2 * race_page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race_buf == MAP_FAILED)
		return 1;
	memset(race_buf, 'z', 2 * race_page);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) < 0 || pipe(p) < 0)
		return 1;
	/* the receiver is a process of its own: the unmapping is not its */
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(race_receive(ls, p[1]));
	}
	close(p[1]);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (pid < 0 || s < 0 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	close(ls);
	if (pthread_create(&t, NULL, remapper, NULL))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += ms % 1000 * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (unsigned i = 0;; i++) {
		/* most calls cross from the first page into the second */
		size_t off = (i * 97) % race_page;
		ssize_t n;

		if (i % 2) {
			struct iovec v[2] = {
				{ race_buf + off, race_page - off },
				{ race_buf + race_page + off % 512, 1000 },
			};

			n = writev(s, v, 2);
		} else {
			n = write(s, race_buf + off, race_page);
		}
		if (n > 0)
			sent += (unsigned long long)n;
		else if (n < 0 && errno == EFAULT)
			efault++;
		else
			return 1;
		atomic_fetch_add(&race_calls, 1);
		if (n < 0)
			sched_yield();	/* the remapper may share this CPU */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
	}
	atomic_store(&race_stop, true);
	pthread_join(t, &why);
	if (why) {
		printf("FAILED %s\n", (char *)why);
		return 1;
	}
	close(s);
	if (read(p[0], &got, sizeof(got)) != sizeof(got) ||
	    waitpid(pid, &st, 0) < 0 || st != 0)
		return 1;
	printf("SENT %llu RECEIVED %llu EFAULT %lu REMAPS %lu\n", sent, got,
	       efault, race_remaps);
	puts(sent && sent == got ? "OK" : "FAILED");
	return sent && sent == got ? 0 : 1;
}

int main(int argc, char **argv)
{
	pthread_t t[2];

	if (argc < 3)
		return 2;
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons((unsigned short)atoi(argv[argc - 1]));
	if (!strcmp(argv[1], "said")) {		/* after an exec */
		if (say(argv[2]) < 0)
			return 1;
		puts("OK");
		return 0;
	}
	if (!strcmp(argv[1], "leader-exits")) {
		pthread_create(&t[0], NULL, talker, "thread one");
		pthread_create(&t[1], NULL, talker, "thread two");
		puts("OK");
		fflush(stdout);
		pthread_exit(NULL);	/* the process lives on in t[] */
	}
	if (!strcmp(argv[1], "nonleader-exec")) {
		pthread_create(&t[0], NULL, execer, NULL);
		pthread_join(t[0], NULL);	/* never returns: exec */
		return 1;
	}
	if (!strcmp(argv[1], "vfork")) {
		pid_t pid = vfork();
		int st;

		if (pid == 0) {
			execl("/proc/self/exe", "procs", "said", "vforked",
			      argv[argc - 1], (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || st != 0)
			return 1;
		return say("parent after vfork") < 0;
	}
	if (!strcmp(argv[1], "forks") && argc == 4) {
		int n = atoi(argv[2]), bad = 0;

		for (int i = 0; i < n; i++) {
			pid_t pid = fork();

			if (pid == 0) {
				char msg[32];

				snprintf(msg, sizeof(msg), "child %d", i);
				_exit(say(msg) < 0);
			}
		}
		for (int i = 0; i < n; i++) {
			int st;

			if (wait(&st) < 0 || st != 0)
				bad++;
		}
		puts(bad ? "FAILED" : "OK");
		return bad != 0;
	}
	if (!strcmp(argv[1], "unmap-race"))
		return unmap_race(atol(argv[2]));
	return 2;
}
