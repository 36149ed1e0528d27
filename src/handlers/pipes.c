/*
 * Bytes in a tracee's pipe, seen without being taken: tee(2) duplicates
 * a pipe's first bytes into socktap's own pipe and leaves them where they
 * are.  splice moves bytes between a pipe and a socket inside the kernel,
 * out of the tracee's memory; this is how its payload is recorded all the
 * same (Go's io.Copy between connections, proxies that splice).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "resolve/resolve.h"

/* socktap's pipe takes as many pages as a tracee's pipe is likely to
 * have (Go makes its splice pipes 1 MiB); failing that, the default. */
static int own_pipe(struct st_handlers *h)
{
	int sz;

	if (h->peek_pipe[0] >= 0)
		return 0;
	if (pipe2(h->peek_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		h->peek_pipe[0] = h->peek_pipe[1] = -1;
		return -errno;
	}
	(void)fcntl(h->peek_pipe[1], F_SETPIPE_SZ, ST_PIPE_PEEK_MAX);
	sz = fcntl(h->peek_pipe[1], F_GETPIPE_SZ);
	h->peek_cap = sz > 0 ? (size_t)sz : 4096;
	return 0;
}

void st_h_pipes_close(struct st_handlers *h)
{
	for (int i = 0; i < 2; i++) {
		if (h->peek_pipe[i] >= 0)
			close(h->peek_pipe[i]);
		h->peek_pipe[i] = -1;
	}
}

int st_h_pipe_pending(struct st_hctx *c, int fd, size_t *n)
{
	int p = st_resolve_pipe_fd(c->task->tid, fd), v = 0, rc = 0;

	if (p < 0)
		return p;
	if (ioctl(p, FIONREAD, &v) < 0)
		rc = -errno;
	close(p);
	*n = rc == 0 && v > 0 ? (size_t)v : 0;
	return rc;
}

/* Reads n bytes out of socktap's pipe, into buf from offset from on
 * (what comes before is read into buf and dropped). */
static size_t drain_own(struct st_handlers *h, size_t n, size_t from,
			uint8_t *buf, size_t len)
{
	size_t off = 0, kept = 0;

	while (off < n) {
		size_t want = n - off;
		uint8_t *to = buf;
		ssize_t k;

		if (off < from) {
			if (want > from - off)
				want = from - off;	/* dropped */
		} else {
			to = buf + kept;
		}
		if (want > len - (to - buf))
			want = len - (size_t)(to - buf);
		k = read(h->peek_pipe[0], to, want);
		if (k <= 0)
			break;
		if (off >= from)
			kept += (size_t)k;
		off += (size_t)k;
	}
	if (off < n) {
		/* cannot happen with a pipe of our own: start afresh */
		st_h_pipes_close(h);
	}
	return kept;
}

ssize_t st_h_pipe_peek(struct st_hctx *c, int fd, size_t skip, uint8_t *buf,
		       size_t len)
{
	struct st_handlers *h = c->h;
	size_t want;
	ssize_t t;
	int p, rc;

	if (!len)
		return 0;
	rc = own_pipe(h);
	if (rc < 0)
		return rc;
	if (skip >= h->peek_cap)
		return 0;
	want = skip + len < h->peek_cap ? skip + len : h->peek_cap;
	p = st_resolve_pipe_fd(c->task->tid, fd);
	if (p < 0)
		return p;
	t = tee(p, h->peek_pipe[1], want, SPLICE_F_NONBLOCK);
	rc = t < 0 ? -errno : 0;
	close(p);
	if (rc == -EAGAIN)
		return 0;	/* nothing in it */
	if (rc < 0)
		return rc;
	/* fewer than skip: what was asked for is gone, nothing to keep */
	return (ssize_t)drain_own(h, (size_t)t, skip, buf, len);
}
