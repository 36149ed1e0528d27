/*
 * The capture file.  We open it ourselves (no symlink following, mode
 * 0600) and wrap the descriptor in a stdio stream whose write function
 * is ours (fopencookie), so that:
 *  - libpcap gets a FILE * for pcap_dump_fopen and writes the classic
 *    pcap file header; records (the 16-byte header pcap_dump would
 *    write, then the packet) are framed here around a packet built in
 *    place, in the writer thread's ring for a regular file;
 *  - the first write error is kept with its exact errno (ENOSPC, EPIPE),
 *    even when stdio reports it later, at a buffer flush;
 *  - a reader that went away costs EPIPE, not a SIGPIPE that would kill
 *    the tracer (and with it, in seccomp mode, the traced program);
 *  - partial writes, EINTR and a non-blocking stdout are handled.
 * pcapng is written by hand (libpcap 1.10 only reads it): one section
 * header, one interface (LINKTYPE_RAW, nanosecond stamps), then one
 * enhanced packet block per packet with an optional comment.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "out/bgwrite.h"
#include "out/outfile.h"
#include "pcap/pcap_int.h"

#ifndef ST_VERSION
#define ST_VERSION "0"
#endif

#define FILE_BUF (1u << 20)	/* files: few, large write(2)s */
#define LIVE_BUF (1u << 16)

/*
 * The writer thread's ring: room for the bursts between its writes (it
 * wakes for half a ring, and writes 1 MiB pieces, see bgwrite.c).  No
 * larger: the bytes should still be in the CPU's cache when the thread
 * copies them to the page cache.  Attached 64 KiB bulk took 0.60 and
 * 0.61 s with 2 MiB against 0.82 and 0.76 s with 4 MiB (medians of 11 and
 * 15 alternating runs); 1 MiB (512 KiB writes) was slower again.
 */
#define BG_RING (2u << 20)
#define LINKTYPE_RAW 101u
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define COMMENT_MAX 2048u
#define REC_HDR 16u		/* a classic pcap record's header */
#define EPB_HDR 28u		/* an enhanced packet block, up to the packet */
/* the largest record: the largest packet in a block with a comment */
#define REC_MAX (EPB_HDR + ST_PCAP_PKT_MAX + 3u + 4u + COMMENT_MAX + 3u + \
		 4u + 4u)

struct st_pwriter {
	int fd;
	bool own_fd;		/* not stdout: ours to close */
	bool fifo;		/* a pipe: SIGPIPE must be held off */
	bool sock;		/* a socket: send(MSG_NOSIGNAL) */
	bool live;
	bool pcapng;
	bool closed;
	int err;		/* first error, negative errno */
	FILE *fp;
	char *vbuf;
	pcap_t *dead;
	pcap_dumper_t *dumper;
	struct timespec last;	/* last time written */
	uint8_t *blk;		/* where records are built, without a ring */
	uint8_t *rec;		/* the record being built, or NULL */
	bool async;		/* a regular file: written by a thread */
	struct st_bgwriter *bg;	/* started at the first write */
};

/* write(2) that never raises SIGPIPE. */
static ssize_t raw_write(struct st_pwriter *w, const void *buf, size_t n)
{
	sigset_t pipeset, old, pending;
	bool was_pending;
	ssize_t r;
	int e;

	if (w->sock)
		return send(w->fd, buf, n, MSG_NOSIGNAL);
	if (!w->fifo)
		return write(w->fd, buf, n);
	/* Block SIGPIPE, write, and swallow the SIGPIPE our own write
	 * raised (but not one that was already pending for the process). */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipeset, &old) != 0)
		return write(w->fd, buf, n);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	r = write(w->fd, buf, n);
	e = errno;
	/* The kernel raises SIGPIPE also for a write that got part of its
	 * bytes in before the reader left (and returns their count). */
	if (!was_pending && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipeset, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

/* Started at the first write, not at open: no thread exists when the
 * tracer forks the command. */
static int start_bg(struct st_pwriter *w)
{
	return w->bg ? 0 : st_bgwriter_new(w->fd, BG_RING, REC_MAX, &w->bg);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	struct st_pwriter *w = cookie;
	size_t done = 0;

	if (w->err) {
		errno = -w->err;
		return -1;
	}
	if (w->async) {
		int rc = start_bg(w);

		if (!rc)
			rc = st_bgwriter_write(w->bg, buf, n);
		if (rc) {
			w->err = rc;
			errno = -rc;
			return -1;
		}
		return (ssize_t)n;
	}
	while (done < n) {
		ssize_t r = raw_write(w, buf + done, n - done);

		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a non-blocking stdout: wait until it drains */
			struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		w->err = r < 0 ? -errno : -EIO;
		errno = -w->err;
		return -1;
	}
	return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
	struct st_pwriter *w = cookie;
	int rc = st_bgwriter_close(w->bg);

	w->bg = NULL;
	if (rc && !w->err)
		w->err = rc;

	if (w->own_fd && w->fd >= 0) {
		/* close(2) reports delayed write errors (NFS, quotas) */
		if (close(w->fd) < 0 && errno != EINTR && !w->err)
			w->err = -errno;
	}
	w->fd = -1;
	return w->err ? -1 : 0;
}

/* errbuf = "path: why" */
static void say(char *errbuf, size_t size, const char *path, const char *why)
{
	if (errbuf && size)
		snprintf(errbuf, size, "%s: %s", path, why);
}

static int put_block(struct st_pwriter *w, const void *blk, size_t len)
{
	if (w->err)
		return w->err;
	if (fwrite(blk, 1, len, w->fp) != len && !w->err)
		w->err = -EIO;
	return w->err;
}

/* Appends one option (code, len, value, padding) at b; returns its size. */
static size_t put_opt(uint8_t *b, uint16_t code, const void *val,
		      size_t len)
{
	uint16_t l16 = (uint16_t)len;
	size_t pad = (4 - (len & 3)) & 3;

	memcpy(b, &code, 2);
	memcpy(b + 2, &l16, 2);
	if (len)
		memcpy(b + 4, val, len);
	memset(b + 4 + len, 0, pad);
	return 4 + len + pad;
}

static size_t put_end(uint8_t *b, size_t pos, uint32_t type)
{
	uint32_t total;

	pos += put_opt(b + pos, OPT_ENDOFOPT, NULL, 0);
	total = (uint32_t)(pos + 4);
	memcpy(b, &type, 4);
	memcpy(b + 4, &total, 4);
	memcpy(b + pos, &total, 4);
	return total;
}

static int pcapng_headers(struct st_pwriter *w)
{
	static const char app[] = "socktap " ST_VERSION;
	static const char ifname[] = "socktap";
	uint8_t b[256];
	uint32_t u32;
	uint16_t u16;
	uint64_t seclen = UINT64_MAX;	/* section length not given */
	uint8_t tsresol = 9;		/* 10^-9: nanoseconds */
	size_t pos;
	int rc;

	/* Section Header Block, host byte order (the BOM says which) */
	pos = 8;
	u32 = PCAPNG_BOM;
	memcpy(b + pos, &u32, 4);
	u16 = 1;			/* version 1.0 */
	memcpy(b + pos + 4, &u16, 2);
	u16 = 0;
	memcpy(b + pos + 6, &u16, 2);
	memcpy(b + pos + 8, &seclen, 8);
	pos += 16;
	pos += put_opt(b + pos, OPT_SHB_USERAPPL, app, strlen(app));
	rc = put_block(w, b, put_end(b, pos, PCAPNG_SHB));
	if (rc)
		return rc;

	/* Interface Description Block: raw IP, our snaplen */
	pos = 8;
	u16 = LINKTYPE_RAW;
	memcpy(b + pos, &u16, 2);
	u16 = 0;
	memcpy(b + pos + 2, &u16, 2);
	u32 = ST_PCAP_SNAPLEN;
	memcpy(b + pos + 4, &u32, 4);
	pos += 8;
	pos += put_opt(b + pos, OPT_IF_NAME, ifname, strlen(ifname));
	pos += put_opt(b + pos, OPT_IF_TSRESOL, &tsresol, 1);
	return put_block(w, b, put_end(b, pos, PCAPNG_IDB));
}

static int start_format(struct st_pwriter *w)
{
	if (!w->async) {
		w->blk = malloc(REC_MAX);
		if (!w->blk)
			return -ENOMEM;
	}
	if (w->pcapng)
		return pcapng_headers(w);
	/* DLT_RAW, which libpcap writes as LINKTYPE_RAW (101) */
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW,
			ST_PCAP_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	if (!w->dead)
		return -ENOMEM;
	w->dumper = pcap_dump_fopen(w->dead, w->fp);
	if (!w->dumper) {
		/* libpcap closes the stream when the header write fails:
		 * our close function then has run and cleared fd */
		if (w->fd < 0)
			w->fp = NULL;
		return w->err ? w->err : -EIO;
	}
	return w->err;
}

int st_pwriter_open(struct st_pwriter **wp, const char *path, bool pcapng,
		    bool live, struct st_outfile_id *opened, char *errbuf,
		    size_t errbuf_size)
{
	static const cookie_io_functions_t io = {
		.write = cookie_write,
		.close = cookie_close,
	};
	struct st_pwriter *w;
	struct stat st;
	size_t bufsz;
	int rc;

	*wp = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->pcapng = pcapng;
	if (strcmp(path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			/* binary on a terminal helps nobody */
			say(errbuf, errbuf_size, "standard output",
			    "is a terminal; not writing a capture to it "
			    "(pipe it into a reader, or give a file)");
			free(w);
			return -ENOTTY;
		}
		w->fd = STDOUT_FILENO;
		live = true;
	} else {
		rc = st_outfile_open(path, &w->fd, opened, errbuf,
				     errbuf_size);
		if (rc) {
			free(w);
			return rc;
		}
		w->own_fd = true;
	}
	w->live = live;
	if (fstat(w->fd, &st) == 0) {
		w->fifo = S_ISFIFO(st.st_mode);
		w->sock = S_ISSOCK(st.st_mode);
		w->async = !live && S_ISREG(st.st_mode);
	}
	if (w->async) {
		/* no stdio buffer: records go straight into the writer
		 * thread's ring, one copy fewer */
		w->fp = fopencookie(w, "w", io);
		if (w->fp)
			setvbuf(w->fp, NULL, _IONBF, 0);
	} else {
		bufsz = live ? LIVE_BUF : FILE_BUF;
		w->vbuf = malloc(bufsz);
		w->fp = w->vbuf ? fopencookie(w, "w", io) : NULL;
		if (w->fp)
			setvbuf(w->fp, w->vbuf, _IOFBF, bufsz);
	}
	if (!w->fp) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = start_format(w);
	if (!rc && live)
		rc = st_pwriter_flush(w);
	if (rc)
		goto fail;
	*wp = w;
	return 0;
fail:
	say(errbuf, errbuf_size, path, strerror(-rc));
	st_pwriter_free(w);
	return rc;
}

static void clamp_time(struct st_pwriter *w, const struct timespec *ts,
		       struct timespec *out)
{
	*out = *ts;
	if (out->tv_nsec < 0 || out->tv_nsec >= 1000000000L)
		out->tv_nsec = 0;
	if (out->tv_sec < 0)
		out->tv_sec = out->tv_nsec = 0;
	if (out->tv_sec < w->last.tv_sec ||
	    (out->tv_sec == w->last.tv_sec && out->tv_nsec < w->last.tv_nsec))
		*out = w->last;
	w->last = *out;
}

/* A classic record's header, as pcap_dump writes it: host byte order
 * like the file header, nanoseconds in the second field (the file says
 * nanoseconds).  Returns the record's size. */
static size_t finish_record(uint8_t *b, const struct timespec *t,
			    size_t caplen, size_t origlen)
{
	uint32_t h[4] = { (uint32_t)t->tv_sec, (uint32_t)t->tv_nsec,
			  (uint32_t)caplen, (uint32_t)origlen };

	memcpy(b, h, sizeof(h));
	return REC_HDR + caplen;
}

/* An enhanced packet block around the packet at b + EPB_HDR, with an
 * optional comment.  Returns the block's size. */
static size_t finish_epb(uint8_t *b, const struct timespec *ts,
			 size_t caplen, size_t origlen, const char *comment)
{
	uint64_t t = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
	uint32_t u32;
	size_t pos = 8, pad = (4 - (caplen & 3)) & 3;

	u32 = 0;			/* interface 0 */
	memcpy(b + pos, &u32, 4);
	u32 = (uint32_t)(t >> 32);
	memcpy(b + pos + 4, &u32, 4);
	u32 = (uint32_t)t;
	memcpy(b + pos + 8, &u32, 4);
	u32 = (uint32_t)caplen;
	memcpy(b + pos + 12, &u32, 4);
	u32 = (uint32_t)origlen;
	memcpy(b + pos + 16, &u32, 4);
	pos = EPB_HDR;
	memset(b + pos + caplen, 0, pad);
	pos += caplen + pad;
	if (comment && comment[0]) {
		size_t n = strnlen(comment, COMMENT_MAX - 1);

		pos += put_opt(b + pos, OPT_COMMENT, comment, n);
	}
	return put_end(b, pos, PCAPNG_EPB);
}

int st_pwriter_reserve(struct st_pwriter *w, uint8_t **pkt)
{
	void *p;
	int rc;

	*pkt = NULL;
	if (w->err)
		return w->err;
	if (w->closed)
		return -EBADF;
	if (w->async) {
		/* the stream holds no bytes (unbuffered): the record
		 * follows everything written before it */
		rc = start_bg(w);
		if (!rc)
			rc = st_bgwriter_reserve(w->bg, REC_MAX, &p);
		if (rc) {
			w->err = rc;
			return rc;
		}
		w->rec = p;
	} else {
		w->rec = w->blk;
	}
	*pkt = w->rec + (w->pcapng ? EPB_HDR : REC_HDR);
	return 0;
}

int st_pwriter_commit(struct st_pwriter *w, const struct timespec *ts,
		      size_t caplen, size_t origlen, const char *comment)
{
	struct timespec t;
	uint8_t *b = w->rec;
	size_t n;
	int rc;

	if (!b)
		return w->err ? w->err : -EINVAL;
	w->rec = NULL;
	if (caplen > ST_PCAP_PKT_MAX)
		caplen = ST_PCAP_PKT_MAX;
	if (origlen < caplen)
		origlen = caplen;
	clamp_time(w, ts, &t);
	n = w->pcapng ? finish_epb(b, &t, caplen, origlen, comment)
		      : finish_record(b, &t, caplen, origlen);
	if (!w->async)
		return put_block(w, b, n);
	rc = st_bgwriter_commit(w->bg, n);
	if (rc && !w->err)
		w->err = rc;
	return w->err;
}

size_t st_pwriter_spare(struct st_pwriter *w, size_t piece)
{
	return w->closed ? 0 : st_bgwriter_help(w->bg, piece);
}

int st_pwriter_flush(struct st_pwriter *w)
{
	if (w->err || w->closed || !w->fp)
		return w->err;
	if (fflush(w->fp) != 0 && !w->err)
		w->err = -EIO;
	return w->err;
}

int st_pwriter_close(struct st_pwriter *w)
{
	int rc;

	if (w->closed)
		return w->err;
	st_pwriter_flush(w);
	w->closed = true;
	if (w->dumper) {
		/* closes the stream (a buffer that failed is discarded) */
		pcap_dump_close(w->dumper);
		w->dumper = NULL;
	} else if (w->fp) {
		fclose(w->fp);
	}
	w->fp = NULL;
	if (w->dead) {
		pcap_close(w->dead);
		w->dead = NULL;
	}
	rc = w->err;
	return rc;
}

void st_pwriter_free(struct st_pwriter *w)
{
	if (!w)
		return;
	if (w->fp || w->dumper) {
		st_pwriter_close(w);
	} else {
		if (w->dead)
			pcap_close(w->dead);
		if (w->own_fd && w->fd >= 0)
			close(w->fd);
	}
	free(w->vbuf);
	free(w->blk);
	free(w);
}
