/* Helpers for tests that run socktap on real programs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace/runner.h"

extern char **environ;

static int shell_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

int st_run(char *const argv[], struct st_run *r)
{
	int out[2], err[2];
	posix_spawn_file_actions_t fa;
	struct buf bo = { 0 }, be = { 0 };
	pid_t pid;
	int ws, open_fds = 2;

	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		return -errno;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	buf_add(&bo, "", 0);
	buf_add(&be, "", 0);
	while (open_fds) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 },
				       { err[0], POLLIN, 0 } };
		char tmp[65536];

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(p[i].fd, tmp, sizeof(tmp));
			if (n > 0) {
				buf_add(i ? &be : &bo, tmp, (size_t)n);
			} else {
				close(i ? err[0] : out[0]);
				if (i)
					err[0] = -1;
				else
					out[0] = -1;
				open_fds--;
			}
		}
	}
	waitpid(pid, &ws, 0);
	r->status = shell_status(ws);
	r->out = bo.p;
	r->err = be.p;
	return 0;
}

void st_run_free(struct st_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

pid_t st_server_start(char *const argv[], int *port)
{
	int out[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char line[128];
	size_t len = 0;

	*port = 0;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	/* the first line is "PORT n" */
	while (len < sizeof(line) - 1) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(out[0], line + len, 1);
		if (n <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(out[0]);
	if (sscanf(line, "PORT %d", port) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

int st_server_wait(pid_t pid, int timeout_ms)
{
	int ws;

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return shell_status(ws);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &ws, 0);
	return -1;
}

const char *st_port_str(int port)
{
	static char buf[8][16];
	static unsigned k;
	char *p = buf[k++ % 8];

	snprintf(p, 16, "%d", port);
	return p;
}

const char *st_sample(const char *name)
{
	static char path[8][512];
	static unsigned k;
	char *p = path[k++ % 8];

	snprintf(p, 512, "%s/%s", ST_SAMPLES_BIN, name);
	return p;
}

const char *st_tmpfile(const char *suffix)
{
	static char path[8][256];
	static unsigned k;
	char *p = path[k % 8];

	snprintf(p, 256, "/tmp/socktap-test-%d-%u%s", (int)getpid(), k,
		 suffix);
	k++;
	unlink(p);
	return p;
}

char *st_slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char tmp[65536];
	size_t n;

	if (!f)
		return NULL;
	buf_add(&b, "", 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	if (lenp)
		*lenp = b.len;
	return b.p;
}

int st_lines_with(const char *text, ...)
{
	int count = 0;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		bool all = true;
		va_list ap;
		const char *s;

		va_start(ap, text);
		while ((s = va_arg(ap, const char *)))
			if (!strstr(copy, s))
				all = false;
		va_end(ap);
		free(copy);
		count += all;
		line = end ? end + 1 : NULL;
	}
	return count;
}
