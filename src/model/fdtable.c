/*
 * fd tables: fd number -> what it is.  One per kernel fd table; threads
 * sharing a table share this object (refcounted), fork copies it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "socktap/model.h"

struct st_fd_entry {
	enum st_fd_kind kind;
	struct st_socket *sock;	/* owned reference when kind == SOCKET */
};

struct st_fdtable {
	unsigned refs;
	struct st_model *model;
	struct st_fd_entry *fds;	/* indexed by fd number */
	size_t cap;
	size_t count;			/* entries that are not UNKNOWN */
};

/* fd numbers beyond this are never cached (the kernel's default
 * nr_open is 1M; a sparse huge fd is simply resolved each time). */
#define ST_FD_CACHE_MAX (1u << 20)

struct st_fdtable *st_fdtable_new(void)
{
	struct st_fdtable *t = calloc(1, sizeof(*t));

	if (t)
		t->refs = 1;
	return t;
}

void st_fdtable_set_model(struct st_fdtable *t, struct st_model *m)
{
	t->model = m;
}

struct st_fdtable *st_fdtable_ref(struct st_fdtable *t)
{
	t->refs++;
	return t;
}

static void entry_drop(struct st_fdtable *t, struct st_fd_entry *e)
{
	if (e->kind == ST_FD_UNKNOWN)
		return;
	if (e->kind == ST_FD_SOCKET && e->sock)
		st_socket_unref(t->model, e->sock, NULL);
	e->kind = ST_FD_UNKNOWN;
	e->sock = NULL;
	t->count--;
}

void st_fdtable_clear(struct st_fdtable *t)
{
	for (size_t i = 0; i < t->cap; i++)
		entry_drop(t, &t->fds[i]);
}

void st_fdtable_unref(struct st_fdtable *t)
{
	if (!t || --t->refs > 0)
		return;
	st_fdtable_clear(t);
	free(t->fds);
	free(t);
}

static int reserve(struct st_fdtable *t, int fd)
{
	size_t ncap;
	struct st_fd_entry *n;

	if (fd < 0 || (unsigned)fd >= ST_FD_CACHE_MAX)
		return -EINVAL;
	if ((size_t)fd < t->cap)
		return 0;
	ncap = t->cap ? t->cap : 64;
	while (ncap <= (size_t)fd)
		ncap *= 2;
	n = realloc(t->fds, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + t->cap, 0, (ncap - t->cap) * sizeof(*n));
	t->fds = n;
	t->cap = ncap;
	return 0;
}

struct st_fdtable *st_fdtable_copy(const struct st_fdtable *t)
{
	struct st_fdtable *c = st_fdtable_new();

	if (!c)
		return NULL;
	c->model = t->model;
	if (t->cap) {
		c->fds = calloc(t->cap, sizeof(*c->fds));
		if (!c->fds) {
			free(c);
			return NULL;
		}
		c->cap = t->cap;
	}
	for (size_t i = 0; i < t->cap; i++) {
		c->fds[i] = t->fds[i];
		if (c->fds[i].kind == ST_FD_SOCKET)
			st_socket_ref(c->fds[i].sock);
	}
	c->count = t->count;
	return c;
}

enum st_fd_kind st_fdtable_lookup(const struct st_fdtable *t, int fd,
				  struct st_socket **sock)
{
	if (sock)
		*sock = NULL;
	if (fd < 0 || (size_t)fd >= t->cap)
		return ST_FD_UNKNOWN;
	if (sock)
		*sock = t->fds[fd].sock;
	return t->fds[fd].kind;
}

int st_fdtable_set_socket(struct st_fdtable *t, int fd,
			  struct st_socket *sock)
{
	int rc = reserve(t, fd);

	if (rc < 0)
		return rc;
	/* ref first: sock may be the very socket being replaced */
	st_socket_ref(sock);
	entry_drop(t, &t->fds[fd]);
	t->fds[fd].kind = ST_FD_SOCKET;
	t->fds[fd].sock = sock;
	t->count++;
	return 0;
}

int st_fdtable_set_other(struct st_fdtable *t, int fd)
{
	int rc = reserve(t, fd);

	if (rc < 0)
		return rc;
	entry_drop(t, &t->fds[fd]);
	t->fds[fd].kind = ST_FD_OTHER;
	t->count++;
	return 0;
}

void st_fdtable_forget(struct st_fdtable *t, int fd)
{
	if (fd >= 0 && (size_t)fd < t->cap)
		entry_drop(t, &t->fds[fd]);
}

void st_fdtable_close(struct st_fdtable *t, int fd)
{
	st_fdtable_forget(t, fd);
}

void st_fdtable_close_range(struct st_fdtable *t, unsigned first,
			    unsigned last)
{
	for (size_t i = first; i < t->cap && i <= last; i++)
		entry_drop(t, &t->fds[i]);
}

int st_fdtable_dup(struct st_fdtable *t, int oldfd, int newfd)
{
	struct st_socket *s;
	enum st_fd_kind k;

	if (oldfd == newfd)
		return 0;
	k = st_fdtable_lookup(t, oldfd, &s);
	switch (k) {
	case ST_FD_SOCKET:
		return st_fdtable_set_socket(t, newfd, s);
	case ST_FD_OTHER:
		return st_fdtable_set_other(t, newfd);
	default:
		st_fdtable_forget(t, newfd);
		return 0;
	}
}

void st_fdtable_exec_sweep(struct st_fdtable *t,
			   bool (*still_open)(void *arg, int fd, uint64_t ino),
			   void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		struct st_fd_entry *e = &t->fds[i];

		if (e->kind == ST_FD_OTHER ||
		    (e->kind == ST_FD_SOCKET &&
		     !still_open(arg, (int)i, e->sock->ino)))
			entry_drop(t, e);
	}
}

size_t st_fdtable_count(const struct st_fdtable *t)
{
	return t->count;
}
