/*
 * -x / --hexdump: every conversation's bytes as hexdump -C rows, both
 * directions interleaved in the order they happened (like Wireshark's
 * Follow Stream in hex mode).  One block per event, written and flushed
 * as the event arrives, so nothing of a stream is ever held in memory and
 * a live view (or a crash) shows everything recorded so far.
 *
 * The format (one example per line kind; long lines wrapped here with \):
 *
 * === conv 1 TCP A=127.0.0.1:41234 B=127.0.0.1:8000 (connect) \
 *   2024-05-01 12:34:56.123456 curl[1234] connect(fd 3)
 * > conv 1 A->B 12:34:56.123456 18 bytes @0 curl[1234] write(fd 3)
 * > 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|
 * > 00000010  0d 0a                                             |..|
 * < conv 1 B->A 12:34:56.123999 4 bytes @0 dgram trunc(orig 9) \
 *   python3[1240] sendto(fd 4)
 * < 00000000  4f 4b 0d 0a                                       |OK..|
 * < conv 1 B->A 12:34:56.124000 GAP 4096 bytes @4 \
 *   (tracee memory unreadable) python3[1240] sendfile(fd 4)
 * > conv 1 A->B 12:34:56.200000 FIN @18 curl[1234] shutdown(fd 3)
 * < conv 1 B->A 12:34:56.200000 RESET curl[1234] read(fd 3)
 * === conv 1 end: FIN, A->B 18 bytes, B->A 4 bytes (+4096 gap) \
 *   12:34:56.300000
 *
 * '>' marks A to B, '<' B to A ('=' the conversation itself).  Offsets
 * ('@' and the row offsets, hex in rows) count the bytes of that one
 * direction from its start, gap bytes included, so they are positions in
 * the real stream.  Data header flags: dgram (one whole datagram or
 * record), oob, trunc(orig N) (the datagram was N bytes, fewer were
 * read), part (more bytes of the same call follow in the next block).
 * Times are local time of day (the open line has the date), microseconds.
 *
 * With colour, the lines of A to B are red and those of B to A blue; every
 * line is reset before its newline so colour never leaks into other
 * output sharing the stream (the trace on stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out/out_sinks.h"

#define COL_A2B		"\033[31m"	/* red */
#define COL_B2A		"\033[34m"	/* blue */
#define COL_CONV	"\033[1m"	/* bold */
#define COL_RESET	"\033[0m"

struct hexdump {
	FILE *f;		/* borrowed */
	bool color;
	bool failed;		/* an error was reported: ignore the rest */
};

bool st_hexdump_want_color(FILE *f)
{
	const char *term = getenv("TERM");
	int fd;

	if (!f || getenv("NO_COLOR"))
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	fd = fileno(f);
	return fd >= 0 && isatty(fd);
}

/* printable ASCII kept, anything else as \xNN (comm can hold any byte) */
static void put_escaped(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputc('?', f);
		return;
	}
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			fputc(ch, f);
		else
			fprintf(f, "\\x%02x", ch);
	}
}

static void put_time(FILE *f, const struct timespec *ts, bool date)
{
	struct tm tm;
	time_t sec = ts->tv_sec;
	char buf[40];

	if (!localtime_r(&sec, &tm) ||
	    !strftime(buf, sizeof(buf), date ? "%Y-%m-%d %H:%M:%S" :
		      "%H:%M:%S", &tm))
		snprintf(buf, sizeof(buf), "%lld", (long long)ts->tv_sec);
	fprintf(f, "%s.%06ld", buf, (long)(ts->tv_nsec / 1000));
}

static void put_who(FILE *f, const struct st_origin_info *who)
{
	fputc(' ', f);
	put_escaped(f, who->comm);
	fprintf(f, "[%d]", (int)who->pid);
	if (who->syscall) {
		fprintf(f, " %s", who->syscall);
		if (who->fd >= 0)
			fprintf(f, "(fd %d)", who->fd);
	}
}

static void line_start(struct hexdump *h, const char *col)
{
	if (h->color)
		fputs(col, h->f);
}

static void line_end(struct hexdump *h)
{
	if (h->color)
		fputs(COL_RESET, h->f);
	fputc('\n', h->f);
}

static const char *dir_col(enum st_dir d)
{
	return d == ST_DIR_A_TO_B ? COL_A2B : COL_B2A;
}

static char dir_mark(enum st_dir d)
{
	return d == ST_DIR_A_TO_B ? '>' : '<';
}

static const char *dir_name(enum st_dir d)
{
	return d == ST_DIR_A_TO_B ? "A->B" : "B->A";
}

static const char *origin_name(enum st_origin o)
{
	switch (o) {
	case ST_ORIGIN_CONNECT: return "connect";
	case ST_ORIGIN_ACCEPT: return "accept";
	case ST_ORIGIN_PAIR: return "socketpair";
	case ST_ORIGIN_MIDSTREAM: return "midstream";
	case ST_ORIGIN_DGRAM: return "datagrams";
	}
	return "?";
}

static const char *end_name(enum st_end e)
{
	switch (e) {
	case ST_END_OPEN: return "still open";
	case ST_END_FIN: return "FIN";
	case ST_END_RESET: return "RESET";
	case ST_END_CLOSED: return "closed";
	}
	return "?";
}

/* One hexdump -C row: offset, 16 hex bytes in two groups, |ascii|. */
static void put_row(struct hexdump *h, enum st_dir d, uint64_t off,
		    const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char row[128];
	size_t k;
	int w;

	w = snprintf(row, sizeof(row), "%c %08" PRIx64 "  ", dir_mark(d), off);
	k = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < 16; i++) {
		if (i < n) {
			row[k++] = hex[p[i] >> 4];
			row[k++] = hex[p[i] & 15];
			row[k++] = ' ';
		} else {
			memcpy(row + k, "   ", 3);
			k += 3;
		}
		if (i == 7)
			row[k++] = ' ';
	}
	row[k++] = ' ';
	row[k++] = '|';
	for (size_t i = 0; i < n; i++)
		row[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	row[k++] = '|';
	row[k] = '\0';
	line_start(h, dir_col(d));
	fputs(row, h->f);
	line_end(h);
}

static void ev_head(struct hexdump *h, const struct st_event *ev)
{
	line_start(h, dir_col(ev->dir));
	fprintf(h->f, "%c conv %" PRIu64 " %s ", dir_mark(ev->dir),
		ev->conv->id, dir_name(ev->dir));
	put_time(h->f, &ev->who.ts, false);
}

static void on_open(struct hexdump *h, const struct st_event *ev)
{
	const struct st_conv *c = ev->conv;
	char a[160], b[160];

	st_endpoint_format(&c->a, a, sizeof(a));
	st_endpoint_format(&c->b, b, sizeof(b));
	line_start(h, COL_CONV);
	fprintf(h->f, "=== conv %" PRIu64 " %s A=%s B=%s (%s) ", c->id,
		st_proto_name(c->proto), a, b, origin_name(c->origin));
	put_time(h->f, &ev->who.ts, true);
	put_who(h->f, &ev->who);
	line_end(h);
}

static void on_data(struct hexdump *h, const struct st_event *ev)
{
	uint64_t off = st_event_offset(ev);

	ev_head(h, ev);
	fprintf(h->f, " %zu bytes @%" PRIu64, ev->len, off);
	if (ev->flags & ST_EVF_DGRAM)
		fputs(" dgram", h->f);
	if (ev->flags & ST_EVF_OOB)
		fputs(" oob", h->f);
	if (ev->flags & ST_EVF_TRUNC)
		fprintf(h->f, " trunc(orig %zu)", ev->orig_len);
	if (ev->flags & ST_EVF_PART)
		fputs(" part", h->f);
	put_who(h->f, &ev->who);
	line_end(h);
	for (size_t i = 0; ev->data && i < ev->len; i += 16) {
		size_t n = ev->len - i < 16 ? ev->len - i : 16;

		put_row(h, ev->dir, off + i, ev->data + i, n);
	}
}

static void on_mark(struct hexdump *h, const struct st_event *ev)
{
	ev_head(h, ev);
	switch (ev->type) {
	case ST_EV_GAP:
		fprintf(h->f, " GAP %zu bytes @%" PRIu64 " (", ev->len,
			st_event_offset(ev));
		put_escaped(h->f, ev->note ? ev->note : "unknown");
		fputc(')', h->f);
		break;
	case ST_EV_FIN:
		fprintf(h->f, " FIN @%" PRIu64, st_event_offset(ev));
		break;
	default:
		fputs(" RESET", h->f);
		break;
	}
	put_who(h->f, &ev->who);
	line_end(h);
}

static void on_end(struct hexdump *h, const struct st_event *ev)
{
	const struct st_conv *c = ev->conv;

	line_start(h, COL_CONV);
	fprintf(h->f, "=== conv %" PRIu64 " end: %s", c->id, end_name(c->end));
	for (int d = 0; d < 2; d++) {
		fprintf(h->f, ", %s %" PRIu64 " bytes", dir_name(d),
			c->bytes[d]);
		if (c->gap_bytes[d])
			fprintf(h->f, " (+%" PRIu64 " gap)", c->gap_bytes[d]);
	}
	fputc(' ', h->f);
	put_time(h->f, &ev->who.ts, false);
	line_end(h);
}

static int check(struct hexdump *h)
{
	int err;

	errno = 0;
	if (fflush(h->f) == 0 && !ferror(h->f))
		return 0;
	err = errno ? errno : EIO;
	h->failed = true;
	return -err;
}

static int hexdump_event(void *priv, const struct st_event *ev)
{
	struct hexdump *h = priv;

	if (h->failed)
		return 0;
	switch (ev->type) {
	case ST_EV_OPEN:
		on_open(h, ev);
		break;
	case ST_EV_DATA:
		on_data(h, ev);
		break;
	case ST_EV_GAP:
	case ST_EV_FIN:
	case ST_EV_RESET:
		on_mark(h, ev);
		break;
	case ST_EV_END:
		on_end(h, ev);
		break;
	}
	return check(h);
}

static int hexdump_finish(void *priv)
{
	struct hexdump *h = priv;

	if (h->failed)
		return 0;
	return check(h);
}

static void hexdump_destroy(void *priv)
{
	free(priv);
}

int st_hexdump_sink_new(FILE *f, bool color, struct st_sink *sink)
{
	struct hexdump *h;

	if (!f || !sink)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->f = f;
	h->color = color;
	memset(sink, 0, sizeof(*sink));
	sink->name = "hexdump";
	sink->priv = h;
	sink->on_event = hexdump_event;
	sink->finish = hexdump_finish;
	sink->destroy = hexdump_destroy;
	return 0;
}
