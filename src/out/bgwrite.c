/* A capture file written from a second thread (see bgwrite.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/bgwrite.h"

/*
 * The file's blocks are allocated ahead of the writes, a few MiB at a
 * time (FALLOC_FL_KEEP_SIZE: the size still grows only with the bytes
 * written).  A write into allocated blocks skips ext4's per-page delayed
 * allocation bookkeeping: writing 538 MB took 0.12-0.13 s of CPU instead
 * of 0.17-0.19 s here, and that CPU is taken from the traced program.
 */
#define PREALLOC_STEP (4u << 20)

/*
 * The thread gives way (sched_yield) before each write of at most this
 * much.  With few CPUs it shares one with the tracer, whose polling for
 * the next stop stays runnable: a long write would keep a stopped tracee
 * waiting for its turn.  64 KiB bulk capture, 2 cores: 0.76 -> 0.63 s
 * launched, 0.71 -> 0.61 s attached (medians of 9-10).
 */
#define WRITE_MAX (256u << 10)

struct st_bgwriter {
	int fd;
	char *ring;		/* cap bytes, then slack for reservations */
	size_t cap, head, len;	/* data: [head, head + len) mod cap */
	size_t slack;
	size_t reserved_at;	/* the tail, at the last reservation */
	off_t end;		/* the file's end: where the next write goes */
	off_t allocated;	/* blocks allocated up to here */
	bool prealloc;		/* the file system allocates ahead */
	bool closing;
	bool idle;		/* the thread waits for data */
	int err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t has_data, has_room;
};

/* Failing is harmless (the write then allocates, and reports ENOSPC
 * itself); a file system without fallocate is not asked again. */
static void allocate_ahead(struct st_bgwriter *b, size_t n)
{
	off_t len = (off_t)(n > PREALLOC_STEP ? n : PREALLOC_STEP);

	if (!b->prealloc || b->end + (off_t)n <= b->allocated)
		return;
	if (fallocate(b->fd, FALLOC_FL_KEEP_SIZE, b->end, len) == 0)
		b->allocated = b->end + len;
	else
		b->prealloc = false;
}

static void *drain(void *arg)
{
	struct st_bgwriter *b = arg;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		size_t n;
		ssize_t w;

		while (!b->len && !b->closing) {
			b->idle = true;
			pthread_cond_wait(&b->has_data, &b->mu);
			b->idle = false;
		}
		if (!b->len)
			break;
		/* the contiguous part; the lock is not held while writing */
		n = b->cap - b->head < b->len ? b->cap - b->head : b->len;
		if (n > WRITE_MAX)
			n = WRITE_MAX;
		pthread_mutex_unlock(&b->mu);
		sched_yield();
		if (b->err) {
			w = (ssize_t)n;	/* dropped: the file is lost */
		} else {
			allocate_ahead(b, n);
			w = write(b->fd, b->ring + b->head, n);
			if (w > 0)
				b->end += w;	/* only what is in the file */
		}
		pthread_mutex_lock(&b->mu);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!b->err)
				b->err = w < 0 ? -errno : -EIO;
			w = (ssize_t)n;	/* drop it: the file is lost */
		}
		b->head = (b->head + (size_t)w) % b->cap;
		b->len -= (size_t)w;
		pthread_cond_signal(&b->has_room);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

int st_bgwriter_new(int fd, size_t ring, size_t slack,
		    struct st_bgwriter **out)
{
	struct st_bgwriter *b = calloc(1, sizeof(*b));
	sigset_t all, old;
	int rc;

	if (!b)
		return -ENOMEM;
	b->ring = malloc(ring + slack);
	if (!b->ring) {
		free(b);
		return -ENOMEM;
	}
	b->fd = fd;
	b->end = lseek(fd, 0, SEEK_CUR);
	b->prealloc = b->end >= 0 && !(fcntl(fd, F_GETFL) & O_APPEND);
	b->cap = ring;
	b->slack = slack;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->has_data, NULL);
	pthread_cond_init(&b->has_room, NULL);
	/* signals are the main thread's business (stop requests) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&b->thread, NULL, drain, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(b->ring);
		free(b);
		return -rc;
	}
	*out = b;
	return 0;
}

/* Counts n more bytes as data (the lock held). */
static void publish(struct st_bgwriter *b, size_t n)
{
	b->len += n;
	/* Wake a sleeping thread only for a good batch: records come in
	 * many small pieces, and one wake-up each would cost more than
	 * the copying. */
	if (b->idle && b->len >= b->cap / 4)
		pthread_cond_signal(&b->has_data);
}

int st_bgwriter_write(struct st_bgwriter *b, const void *p, size_t n)
{
	const char *src = p;
	int err;

	pthread_mutex_lock(&b->mu);
	while (n && !b->err) {
		size_t tail, room, k;

		while (b->len == b->cap && !b->err)
			pthread_cond_wait(&b->has_room, &b->mu);
		if (b->err)
			break;
		tail = (b->head + b->len) % b->cap;
		room = b->cap - b->len;
		k = n < room ? n : room;
		if (k > b->cap - tail)
			k = b->cap - tail;
		memcpy(b->ring + tail, src, k);
		publish(b, k);
		src += k;
		n -= k;
	}
	err = b->err;
	pthread_mutex_unlock(&b->mu);
	return err;
}

int st_bgwriter_reserve(struct st_bgwriter *b, size_t n, void **p)
{
	int err;

	if (n > b->slack || n > b->cap)
		return -EINVAL;
	pthread_mutex_lock(&b->mu);
	while (b->cap - b->len < n && !b->err)
		pthread_cond_wait(&b->has_room, &b->mu);
	err = b->err;
	/* The thread moves head up and len down together: the tail
	 * stays where it is until the commit. */
	b->reserved_at = (b->head + b->len) % b->cap;
	*p = err ? NULL : b->ring + b->reserved_at;
	pthread_mutex_unlock(&b->mu);
	return err;
}

int st_bgwriter_commit(struct st_bgwriter *b, size_t n)
{
	size_t tail = b->reserved_at;
	int err;

	/* What ran into the slack belongs at the ring's start, which the
	 * reservation found free. */
	if (tail + n > b->cap)
		memcpy(b->ring, b->ring + b->cap, tail + n - b->cap);
	pthread_mutex_lock(&b->mu);
	if (!b->err)
		publish(b, n);
	err = b->err;
	pthread_mutex_unlock(&b->mu);
	return err;
}

int st_bgwriter_close(struct st_bgwriter *b)
{
	int err;

	if (!b)
		return 0;
	pthread_mutex_lock(&b->mu);
	b->closing = true;
	pthread_cond_signal(&b->has_data);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->thread, NULL);
	/* Give back the blocks allocated past the end (the size stays).
	 * Should that fail, the file is still whole: not an error. */
	if (b->allocated > b->end && ftruncate(b->fd, b->end) < 0)
		b->allocated = b->end;
	err = b->err;
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->has_data);
	pthread_cond_destroy(&b->has_room);
	free(b->ring);
	free(b);
	return err;
}
