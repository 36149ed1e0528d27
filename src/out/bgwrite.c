/* A capture file written from a second thread (see bgwrite.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
 * Each write ends on a WRITE_CHUNK boundary of the file (unless the data
 * ends first), and the thread wakes for half a ring at a time: ext4 then
 * fills the page cache with large folios instead of small ones.  The
 * writer's CPU for a 538 MB capture (attached 64 KiB bulk, medians of 13)
 * went from 0.17-0.19 s, with writes of up to 256 KiB wherever they fell,
 * to 0.12-0.13 s.  The thread gives way (sched_yield) before each write:
 * with few CPUs it shares one with the tracer, whose polling for the next
 * stop stays runnable, and a stopped tracee should not wait its turn.
 */
#define WRITE_CHUNK (1u << 20)

/* Bytes that wait for a batch that never comes (a quiet conversation)
 * are written after this long: a capture read while it grows is at most
 * this late. */
#define FLUSH_AFTER_NS 500000000L

/*
 * st_bgwriter_help writes only once this much waits, in pieces that end
 * on multiples of the piece size asked for: small writes would cost
 * more system calls and smaller folios than they save.
 */
#define HELP_MIN (64u << 10)

/*
 * The ring sits at the file's offset modulo RING_ALIGN, so that write(2)
 * copies each byte to the same offset within a cache line as it had
 * here: the kernel's copy runs 3-5 times slower when the page cache lies
 * 1-31 bytes past the source modulo 4 KiB (538 MB written from such a
 * ring: 0.31-0.58 s of CPU against 0.12 s).
 */
#define RING_ALIGN 64u

struct st_bgwriter {
	int fd;
	char *mem;		/* the ring's allocation */
	char *ring;		/* cap bytes, then slack for reservations */
	size_t cap, head, len;	/* data: [head, head + len) mod cap */
	size_t slack;
	size_t reserved_at;	/* the tail, at the last reservation */
	off_t end;		/* the file's end: where the next write goes */
	off_t allocated;	/* blocks allocated up to here */
	bool prealloc;		/* the file system allocates ahead */
	bool closing;
	bool idle;		/* the thread waits for data */
	bool asleep;		/* ... with none at all, and no deadline */
	bool busy;		/* a piece is being written (by the thread
				 * or a helper): one at a time, in order */
	int err;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t has_data, has_room, not_busy;
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

/* Waits (the lock held, the ring empty) for a batch, for the end, or
 * for a few bytes to have waited FLUSH_AFTER_NS.  Returns with data, or
 * closing.  Bytes a helper took meanwhile need no flush: with none left
 * at the deadline, the thread sleeps until woken. */
static void wait_for_batch(struct st_bgwriter *b)
{
	struct timespec deadline;
	bool timed = false;

	b->idle = true;
	while (!b->closing && b->len < b->cap / 2) {
		if (!b->len) {
			b->asleep = true;
			pthread_cond_wait(&b->has_data, &b->mu);
			b->asleep = false;
			timed = false;
			continue;
		}
		if (!timed) {
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_nsec += FLUSH_AFTER_NS;
			if (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
			timed = true;
		}
		if (pthread_cond_timedwait(&b->has_data, &b->mu,
					   &deadline) == ETIMEDOUT) {
			if (b->len)
				break;
			timed = false;
		}
	}
	b->idle = false;
}

/*
 * Writes the next piece of the ring (the lock held, data there, nobody
 * else writing): the contiguous part, up to the next multiple of piece
 * in the file.  The lock is released while writing; head, len and the
 * file's end move once the bytes are in.  Returns how many left the ring.
 */
static size_t write_piece(struct st_bgwriter *b, size_t piece, bool give_way)
{
	size_t n = b->cap - b->head < b->len ? b->cap - b->head : b->len;
	size_t to_boundary = b->end >= 0 ? piece - (size_t)(b->end % piece) :
					   piece;
	ssize_t w;
	int e = 0;

	if (n > to_boundary)
		n = to_boundary;
	b->busy = true;
	pthread_mutex_unlock(&b->mu);
	if (give_way)
		sched_yield();
	if (b->err) {
		w = (ssize_t)n;	/* dropped: the file is lost */
	} else {
		allocate_ahead(b, n);
		w = write(b->fd, b->ring + b->head, n);
		e = errno;
		if (w > 0)
			b->end += w;	/* only what is in the file */
	}
	pthread_mutex_lock(&b->mu);
	b->busy = false;
	pthread_cond_broadcast(&b->not_busy);
	if (w < 0 && e == EINTR)
		return 0;
	if (w <= 0) {
		if (!b->err)
			b->err = w < 0 ? -e : -EIO;
		w = (ssize_t)n;	/* drop it: the file is lost */
	}
	b->head = (b->head + (size_t)w) % b->cap;
	b->len -= (size_t)w;
	pthread_cond_signal(&b->has_room);
	return (size_t)w;
}

static void *drain(void *arg)
{
	struct st_bgwriter *b = arg;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		if (b->busy)	/* a helper writes: the next piece is after */
			pthread_cond_wait(&b->not_busy, &b->mu);
		else if (b->len)
			write_piece(b, WRITE_CHUNK, true);  /* giving way first */
		else if (b->closing)
			break;	/* all written */
		else
			wait_for_batch(b);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

size_t st_bgwriter_help(struct st_bgwriter *b, size_t piece)
{
	size_t done = 0;

	if (!b || !piece || (piece & (piece - 1)) ||
	    pthread_mutex_trylock(&b->mu) != 0)
		return 0;
	if (!b->busy && b->len >= HELP_MIN)
		done = write_piece(b, piece, false);
	pthread_mutex_unlock(&b->mu);
	return done;
}

int st_bgwriter_new(int fd, size_t ring, size_t slack,
		    struct st_bgwriter **out)
{
	struct st_bgwriter *b = calloc(1, sizeof(*b));
	pthread_condattr_t attr;
	sigset_t all, old;
	int rc;

	if (!b)
		return -ENOMEM;
	b->end = lseek(fd, 0, SEEK_CUR);
	b->mem = aligned_alloc(RING_ALIGN, (ring + slack) / RING_ALIGN *
			       RING_ALIGN + 2 * RING_ALIGN);
	if (!b->mem) {
		free(b);
		return -ENOMEM;
	}
	/* ring[i] goes to the file at end + i (and again so after each
	 * wrap, when cap is a multiple of RING_ALIGN, as the capture's is) */
	b->ring = b->mem + (b->end > 0 ? (size_t)b->end % RING_ALIGN : 0);
	b->fd = fd;
	b->prealloc = b->end >= 0 && !(fcntl(fd, F_GETFL) & O_APPEND);
	b->cap = ring;
	b->slack = slack;
	pthread_mutex_init(&b->mu, NULL);
	/* its timed waits count time as the flush deadline does */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->has_data, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&b->has_room, NULL);
	pthread_cond_init(&b->not_busy, NULL);
	/* signals are the main thread's business (stop requests) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&b->thread, NULL, drain, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(b->mem);
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
	/* Wake a sleeping thread for a good batch (records come in many
	 * small pieces, and one wake-up each would cost more than the
	 * copying), and for the first bytes after none, which it then
	 * writes after FLUSH_AFTER_NS if no batch comes.  Not again for
	 * the first bytes after a helper emptied the ring: the thread
	 * still waits for its deadline then. */
	if (b->idle && (b->len >= b->cap / 2 || (b->asleep && b->len == n)))
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
	pthread_cond_destroy(&b->not_busy);
	free(b->mem);
	free(b);
	return err;
}
