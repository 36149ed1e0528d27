/* The capture writer thread: bytes arrive in order, errors come back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/bgwrite.h"

/* Writes and reservations take turns, over a ring small enough that
 * reservations keep running past its end into the slack; each
 * reservation is filled to its end, as a packet of unknown size is
 * built before it is cut.  The file already holds start bytes: the ring
 * then sits at that offset modulo a cache line. */
static void bytes_in_order(size_t start)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	struct st_bgwriter *b;
	unsigned char buf[1000], back[1000];
	void *p0;
	FILE *f;

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(buf, 'h', sizeof(buf));
	cr_assert_eq(write(fd, buf, start), (ssize_t)start);
	cr_assert_eq(st_bgwriter_new(fd, 4096, 1100, &b), 0);
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(i % 1000) + 1;
		void *p;

		for (size_t k = 0; k < n; k++)
			buf[k] = (unsigned char)(i + k);
		if (i % 2) {
			cr_assert_eq(st_bgwriter_write(b, buf, n), 0);
			continue;
		}
		cr_assert_eq(st_bgwriter_reserve(b, n + 100, &p), 0);
		memset(p, 0xee, n + 100);
		memcpy(p, buf, n);
		cr_assert_eq(st_bgwriter_commit(b, n), 0);
	}
	cr_assert_eq(st_bgwriter_reserve(b, 1101, &p0), -EINVAL,
		     "beyond the slack");
	cr_assert_eq(st_bgwriter_close(b), 0);
	f = fdopen(fd, "r");
	rewind(f);
	for (size_t k = 0; k < start; k++)
		cr_assert_eq(fgetc(f), 'h');
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(i % 1000) + 1;

		cr_assert_eq(fread(back, 1, n, f), n, "short at %d", i);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(back[k], (unsigned char)(i + k));
	}
	cr_assert_eq(fgetc(f), EOF);
	fclose(f);
}

Test(bgwrite, bytes_in_order_through_a_small_ring)
{
	bytes_in_order(0);
}

Test(bgwrite, bytes_in_order_after_an_odd_start)
{
	bytes_in_order(63);
}

Test(bgwrite, a_write_error_comes_back)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	struct rlimit lim = { 65536, 65536 };
	struct st_bgwriter *b;
	char buf[8192] = { 0 };
	int rc = 0;

	cr_assert_geq(fd, 0);
	unlink(path);
	signal(SIGXFSZ, SIG_IGN);	/* EFBIG instead of a death */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	cr_assert_eq(st_bgwriter_new(fd, 16384, 0, &b), 0);
	for (int i = 0; i < 64 && !rc; i++)
		rc = st_bgwriter_write(b, buf, sizeof(buf));
	if (!rc)
		rc = st_bgwriter_close(b);
	else
		cr_assert_eq(st_bgwriter_close(b), -EFBIG, "and ever after");
	cr_assert_eq(rc, -EFBIG);
	/* the bytes dropped after the error did not move the file's end:
	 * the blocks allocated ahead went back, the size is the limit */
	{
		struct stat st;

		cr_assert_eq(fstat(fd, &st), 0);
		cr_assert_eq(st.st_size, 65536);
		cr_assert_lt((off_t)st.st_blocks * 512, 1 << 20,
			     "%lld bytes left allocated",
			     (long long)st.st_blocks * 512);
	}
	close(fd);
}

/* Blocks are allocated ahead of the writes; none stay past the end once
 * the writer is closed (on a file system without fallocate, none were
 * allocated: the test holds there too). */
Test(bgwrite, no_blocks_left_allocated_past_the_end)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	struct st_bgwriter *b;
	static char buf[100000];
	struct stat st;

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(buf, 'p', sizeof(buf));
	cr_assert_eq(st_bgwriter_new(fd, 65536, 0, &b), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(st_bgwriter_write(b, buf, sizeof(buf)), 0);
	cr_assert_eq(st_bgwriter_close(b), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 3 * (off_t)sizeof(buf));
	/* 4 MiB are allocated at a time; what is written needs < 300 KiB */
	cr_assert_lt((off_t)st.st_blocks * 512, st.st_size + (1 << 20),
		     "%lld bytes allocated for %lld",
		     (long long)st.st_blocks * 512, (long long)st.st_size);
	close(fd);
}

/* Large pieces through a large ring: the thread writes in pieces that
 * end on 1 MiB boundaries of the file, and every byte still lands once,
 * in order. */
Test(bgwrite, large_writes_are_split_and_kept_in_order)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	size_t piece = 700000, total = 3 * piece;
	unsigned char *buf = malloc(total), *back = malloc(total);
	struct st_bgwriter *b;

	cr_assert_geq(fd, 0);
	cr_assert(buf && back);
	unlink(path);
	for (size_t i = 0; i < total; i++)
		buf[i] = (unsigned char)(i * 7 + i / 251);
	cr_assert_eq(st_bgwriter_new(fd, 1u << 20, 0, &b), 0);
	for (size_t off = 0; off < total; off += piece)
		cr_assert_eq(st_bgwriter_write(b, buf + off, piece), 0);
	cr_assert_eq(st_bgwriter_close(b), 0);
	cr_assert_eq(pread(fd, back, total, 0), (ssize_t)total);
	cr_assert_eq(memcmp(buf, back, total), 0);
	free(buf);
	free(back);
	close(fd);
}

/* A few bytes, far from the batch the thread waits for, still reach the
 * file while the writer is open: a capture read as it grows is at most
 * half a second behind, however quiet the conversation. */
Test(bgwrite, a_few_bytes_are_written_without_waiting_for_more)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	struct st_bgwriter *b;
	struct stat st = { 0 };

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(st_bgwriter_new(fd, 4u << 20, 0, &b), 0);
	/* the second time, the thread is surely asleep, waiting for data */
	for (int round = 1; round <= 2; round++) {
		cr_assert_eq(st_bgwriter_write(b, "abc", 3), 0);
		/* 10 s: ample slack over the half second on a loaded machine */
		for (int i = 0; i < 1000; i++) {
			cr_assert_eq(fstat(fd, &st), 0);
			if (st.st_size == 3 * round)
				break;
			usleep(10000);
		}
		cr_assert_eq(st.st_size, 3 * round,
			     "the bytes stayed in the ring (%d)", round);
		usleep(100000);
	}
	cr_assert_eq(st_bgwriter_close(b), 0);
	close(fd);
}

/* A helper writes in its own thread, at once, in pieces that end on
 * multiples of the piece size; less than 64 KiB it leaves to the thread,
 * which still writes it (its deadline, not a wake-up, brings it). */
Test(bgwrite, a_helper_writes_whole_pieces_at_once)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	static unsigned char buf[100 << 10], back[sizeof(buf)];
	struct st_bgwriter *b;
	struct stat st;
	size_t got = 0;

	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 13 + i / 509);
	cr_assert_eq(st_bgwriter_new(fd, 4u << 20, 0, &b), 0);
	cr_assert_eq(st_bgwriter_write(b, buf, 1000), 0);
	cr_assert_eq(st_bgwriter_help(b, 64u << 10), 0, "1000 bytes: too few");
	cr_assert_eq(st_bgwriter_write(b, buf + 1000, sizeof(buf) - 1000), 0);
	cr_assert_eq(st_bgwriter_help(b, 3000), 0, "not a power of two");
	/* help does not wait for the lock: the thread may hold it a moment
	 * (woken by the first bytes, it goes back to wait) */
	for (int i = 0; i < 1000 && !(got = st_bgwriter_help(b, 64u << 10));
	     i++)
		usleep(1000);
	cr_assert_eq(got, 64u << 10);
	/* the thread waits for half a ring or half a second: this is the
	 * helper's write, done when it returned */
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 64 << 10);
	cr_assert_eq(st_bgwriter_help(b, 64u << 10), 0, "36 KiB: too few");
	for (int i = 0; i < 1000 && st.st_size < (off_t)sizeof(buf); i++) {
		usleep(10000);
		cr_assert_eq(fstat(fd, &st), 0);
	}
	cr_assert_eq(st.st_size, (off_t)sizeof(buf), "the rest stayed behind");
	cr_assert_eq(st_bgwriter_close(b), 0);
	cr_assert_eq(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	cr_assert_eq(memcmp(buf, back, sizeof(buf)), 0);
	close(fd);
}

struct helper {
	struct st_bgwriter *b;
	atomic_bool stop, on;
	size_t helped;
};

static void *keep_helping(void *arg)
{
	struct helper *h = arg;

	while (!atomic_load(&h->stop))
		if (atomic_load(&h->on))
			h->helped += st_bgwriter_help(h->b, 64u << 10);
	return NULL;
}

/* A helper and the thread writing at the same time: every byte lands
 * once, in order, whoever wrote it.  The helper takes turns with the
 * thread alone (then only the thread can empty the full ring), 2 MiB
 * each. */
Test(bgwrite, a_helper_and_the_thread_keep_the_order)
{
	char path[] = "/tmp/st-bgwrite-XXXXXX";
	int fd = mkstemp(path);
	size_t total = 24u << 20, off = 0;
	unsigned char *buf = malloc(total), *back = malloc(total);
	struct helper h = { .helped = 0 };
	pthread_t th;

	cr_assert_geq(fd, 0);
	cr_assert(buf && back);
	unlink(path);
	for (size_t i = 0; i < total; i++)
		buf[i] = (unsigned char)(i * 7 + i / 251 + i / 65521);
	cr_assert_eq(st_bgwriter_new(fd, 1u << 20, 0, &h.b), 0);
	atomic_init(&h.stop, false);
	atomic_init(&h.on, false);
	cr_assert_eq(pthread_create(&th, NULL, keep_helping, &h), 0);
	for (unsigned i = 0; off < total; i++) {
		size_t n = 1 + (i * 7919u) % 150000u;

		if (n > total - off)
			n = total - off;
		cr_assert_eq(st_bgwriter_write(h.b, buf + off, n), 0);
		off += n;
		atomic_store(&h.on, (off >> 21) % 2 == 1);
		if (i % 8 == 0)
			usleep(200);	/* the lock free for the helper */
	}
	atomic_store(&h.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(st_bgwriter_close(h.b), 0);
	cr_assert_gt(h.helped, 0, "the helper never got to write");
	cr_assert_lt(h.helped, total, "the thread never got to write");
	cr_assert_eq(pread(fd, back, total, 0), (ssize_t)total);
	cr_assert_eq(memcmp(buf, back, total), 0);
	free(buf);
	free(back);
	close(fd);
}
