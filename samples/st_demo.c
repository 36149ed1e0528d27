/*
 * st_demo - the sample conversation of socktap's README.  Starts
 * st_fingerd (found next to this program) in a child on an ephemeral port,
 * asks it for "root" and then "/W alice", prints both replies and waits
 * for the server to finish.  Try: socktap -- samples/st_demo
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "st_demo";

static const char *const queries[] = { "root\r\n", "/W alice\r\n" };

#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

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

static void on_alarm(int sig)
{
	static const char msg[] = "st_demo: timeout (30 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing sensible left to do */
	}
	_exit(3);
}

/* Path of st_fingerd in the directory this program was started from. */
static void fingerd_path(char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int len;

	if (n < 0)
		die("readlink /proc/self/exe");
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		fail("odd executable path '%s'", self);
	*slash = 0;
	len = snprintf(buf, cap, "%s/st_fingerd", self);
	if (len < 0 || (size_t)len >= cap)
		fail("path too long");
}

/*
 * Start the server with its stdout on a pipe and read its "PORT <n>" line:
 * once that arrives the server is listening, so connecting cannot race.
 */
static int start_server(pid_t *pidp)
{
	char path[PATH_MAX], count[16], line[64];
	size_t len = 0;
	int pfd[2], port;
	pid_t pid;

	fingerd_path(path, sizeof(path));
	snprintf(count, sizeof(count), "%zu", NQUERIES);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe2");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(pfd[1], 1) < 0)
			die("dup2");
		execl(path, "st_fingerd", "-n", count, (char *)NULL);
		fprintf(stderr, "%s: exec %s: %s\n", prog, path,
			strerror(errno));
		_exit(127);
	}
	if (close(pfd[1]) < 0)
		die("close");
	while (len < sizeof(line) - 1) {
		ssize_t n = read(pfd[0], line + len, 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (n == 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
	if (close(pfd[0]) < 0)
		die("close");
	if (sscanf(line, "PORT %d", &port) != 1 || port < 1 || port > 65535)
		fail("st_fingerd did not start (got '%s')", line);
	*pidp = pid;
	return port;
}

static void query(int port, const char *q)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	size_t len = strlen(q), off = 0;
	char buf[4096];
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect");
	while (off < len) {
		n = write(fd, q + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		off += (size_t)n;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			die("stdout");
	}
	if (fflush(stdout) == EOF)
		die("stdout");
	if (close(fd) < 0)
		die("close");
}

int main(int argc, char **argv)
{
	pid_t pid;
	int port, status;
	size_t i;

	if (argc != 1) {
		fprintf(stderr,
			"usage: %s\n"
			"  Starts st_fingerd (from the same directory) on an"
			" ephemeral port,\n"
			"  fingers \"root\" and \"/W alice\" and prints the"
			" replies.\n", prog);
		return 2;
	}
	if (signal(SIGALRM, on_alarm) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	alarm(30);

	port = start_server(&pid);
	for (i = 0; i < NQUERIES; i++)
		query(port, queries[i]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("st_fingerd failed (status 0x%x)", status);
	return 0;
}
