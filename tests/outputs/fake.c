/* Hand-made conversations for the output tests (see fake.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outputs/fake.h"

extern char **environ;

void fk_init(struct fk *f)
{
	memset(f, 0, sizeof(*f));
	f->now.tv_sec = FK_T0;
	f->pid = 4242;
	f->comm = "client";
	f->fd = 5;
}

void fk_add(struct fk *f, const struct st_sink *s)
{
	cr_assert_lt(f->n, FK_MAX_SINKS);
	f->sink[f->n++] = *s;
}

struct st_conv *fk_conv(struct fk *f, uint64_t id, enum st_proto proto,
			enum st_origin origin, struct st_endpoint a,
			struct st_endpoint b)
{
	struct st_conv *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	c->id = id;
	c->proto = proto;
	c->origin = origin;
	c->a = a;
	c->b = b;
	c->selected = true;
	c->traced_sides = 1;
	snprintf(c->comm, sizeof(c->comm), "%s", f->comm);
	return c;
}

/* What the model's conv_touch does. */
static void touch(struct st_conv *c, const struct st_origin_info *who)
{
	if (!c->first.tv_sec && !c->first.tv_nsec)
		c->first = who->ts;
	c->last = who->ts;
	for (unsigned i = 0; i < c->npids; i++)
		if (c->pids[i] == who->pid)
			return;
	if (c->npids < ST_CONV_MAX_PIDS)
		c->pids[c->npids++] = who->pid;
}

static int emit(struct fk *f, struct st_event *ev, const char *syscall)
{
	int rc = 0;

	ev->order = ++f->order;
	ev->who.pid = f->pid;
	ev->who.tid = f->pid + 1;
	ev->who.fd = f->fd;
	ev->who.syscall = syscall;
	ev->who.comm = f->comm;
	ev->who.ts = f->now;
	f->now.tv_nsec += 1000000;
	if (f->now.tv_nsec >= 1000000000L) {
		f->now.tv_sec++;
		f->now.tv_nsec -= 1000000000L;
	}
	touch(ev->conv, &ev->who);
	for (unsigned i = 0; i < f->n; i++) {
		f->rc[i] = f->sink[i].on_event(f->sink[i].priv, ev);
		if (f->rc[i] < 0 && !rc)
			rc = f->rc[i];
	}
	return rc;
}

int fk_open(struct fk *f, struct st_conv *c)
{
	struct st_event ev = { .type = ST_EV_OPEN, .conv = c };

	return emit(f, &ev, "connect");
}

int fk_data(struct fk *f, struct st_conv *c, enum st_dir dir,
	    const void *data, size_t len, unsigned flags, size_t orig_len)
{
	struct st_event ev = { .type = ST_EV_DATA, .conv = c, .dir = dir,
			       .data = data, .len = len, .flags = flags,
			       .orig_len = orig_len };

	c->bytes[dir] += len;
	if (!(flags & ST_EVF_PART))
		c->chunks[dir]++;
	return emit(f, &ev, dir == ST_DIR_A_TO_B ? "write" : "read");
}

int fk_gap(struct fk *f, struct st_conv *c, enum st_dir dir, size_t len,
	   const char *why)
{
	struct st_event ev = { .type = ST_EV_GAP, .conv = c, .dir = dir,
			       .len = len, .note = why };

	c->gap_bytes[dir] += len;
	return emit(f, &ev, dir == ST_DIR_A_TO_B ? "write" : "read");
}

int fk_fin(struct fk *f, struct st_conv *c, enum st_dir dir)
{
	struct st_event ev = { .type = ST_EV_FIN, .conv = c, .dir = dir };

	c->fin[dir] = true;
	return emit(f, &ev, "shutdown");
}

int fk_reset(struct fk *f, struct st_conv *c, enum st_dir dir)
{
	struct st_event ev = { .type = ST_EV_RESET, .conv = c, .dir = dir };

	c->reset = true;
	return emit(f, &ev, "read");
}

int fk_end(struct fk *f, struct st_conv *c)
{
	struct st_event ev = { .type = ST_EV_END, .conv = c };
	int rc;

	if (c->reset)
		c->end = ST_END_RESET;
	else if (c->fin[0] || c->fin[1])
		c->end = ST_END_FIN;
	else if (!st_proto_is_stream(c->proto))
		c->end = ST_END_CLOSED;
	rc = emit(f, &ev, "close");
	c->ended = true;
	return rc;
}

int fk_finish(struct fk *f)
{
	int rc = 0;

	for (unsigned i = 0; i < f->n; i++) {
		int r = f->sink[i].finish ? f->sink[i].finish(f->sink[i].priv)
					  : 0;

		if (r < 0 && !rc)
			rc = r;
	}
	return rc;
}

void fk_destroy(struct fk *f)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->sink[i].destroy)
			f->sink[i].destroy(f->sink[i].priv);
	f->n = 0;
}

struct st_endpoint fk_ep4(const char *ip, uint16_t port)
{
	struct st_endpoint e = { .family = AF_INET, .port = port };

	cr_assert_eq(inet_pton(AF_INET, ip, &e.v4), 1);
	return e;
}

struct st_endpoint fk_ep6(const char *ip, uint16_t port)
{
	struct st_endpoint e = { .family = AF_INET6, .port = port };

	cr_assert_eq(inet_pton(AF_INET6, ip, &e.v6), 1);
	return e;
}

struct st_endpoint fk_epu(const void *path, size_t len, bool abstract)
{
	struct st_endpoint e = { .family = AF_UNIX };

	cr_assert_leq(len, sizeof(e.un.path));
	memcpy(e.un.path, path, len);
	e.un.len = (uint8_t)len;
	e.un.abstract = abstract;
	return e;
}

char *fk_slurp(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *p;

	if (fd < 0)
		return NULL;
	p = malloc(cap);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap)
			p = realloc(p, cap *= 2);
		n = read(fd, p + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	p[len] = '\0';
	if (lenp)
		*lenp = len;
	return p;
}

int fk_run(char *const argv[], const char *in_path, char **out,
	   size_t *outlen)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], ws;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	pid_t pid;

	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path :
					 "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	cr_assert_eq(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ),
		     0, "cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	buf[len] = '\0';
	waitpid(pid, &ws, 0);
	if (out)
		*out = buf;
	else
		free(buf);
	if (outlen)
		*outlen = len;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

long fk_maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

char *fk_tmpdir(void)
{
	char *p = strdup("/tmp/socktap-outputs-XXXXXX");

	cr_assert_not_null(mkdtemp(p));
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void fk_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
