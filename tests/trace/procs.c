/*
 * Process shapes that are hard on a tracer, each talking over UDP to a
 * port given on the command line (nothing needs to listen):
 *   procs leader-exits PORT   main thread exits, threads keep talking
 *   procs nonleader-exec PORT a thread (not the leader) calls execve
 *   procs vfork PORT          vfork + exec of a child that talks
 *   procs forks N PORT        N children, each talking, then reaped
 * Prints "OK" when its own part succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
	return 2;
}
