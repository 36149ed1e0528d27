/*
 * raw: the fallback that never fails.  Each datagram, and each run of a
 * stream's bytes, becomes one "data" record: escaped text lines when the
 * bytes look like text, a hexdump otherwise.  A run ends with a line's
 * end, at RAW_RUN bytes, or when the other side speaks (or a gap, the
 * shutdown, the end): a program that reads a byte at a time, as ssh does
 * its peer's banner, still gets one record per line.  Bounded per record
 * and per direction; what is not shown is counted and reported at the
 * end.
 */
#include <stdio.h>

#include "socktap/decoder.h"

#define RAW_TEXT_LINES	8	/* text lines per record */
#define RAW_LINE_BYTES	160	/* input bytes per text line */
#define RAW_HEX_LINES	8	/* 16-byte hexdump lines per record */
#define RAW_DIR_MAX	(16 * 1024) /* bytes shown per direction */
#define RAW_RUN		4096	/* a run of stream bytes, at most */

struct raw_state {
	uint64_t shown[2];
	uint64_t hidden[2];
	uint64_t hidden_chunks[2];
};

static bool looks_text(const uint8_t *p, size_t n)
{
	size_t i, good = 0, lim = n < 256 ? n : 256;

	for (i = 0; i < lim; i++) {
		uint8_t c = p[i];

		if (c == 0)
			return false;
		if ((c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n' ||
		    c == '\t' || c >= 0x80)
			good++;
	}
	return lim && good * 10 >= lim * 9;
}

/* Shows up to cap bytes of p as text lines; returns bytes shown. */
static size_t show_text(struct st_dec_out *o, const uint8_t *p, size_t n,
			size_t cap)
{
	size_t off = 0, lines = 0;

	while (off < n && off < cap && lines < RAW_TEXT_LINES) {
		size_t len = 0, lim = n - off;

		if (lim > RAW_LINE_BYTES)
			lim = RAW_LINE_BYTES;
		if (lim > cap - off)
			lim = cap - off;
		while (len < lim && p[off + len] != '\n')
			len++;
		if (len < lim)
			len++;	/* the newline belongs to its line */
		st_dec_field_bytes(o, "text", p + off, len, 0);
		off += len;
		lines++;
	}
	return off;
}

static size_t show_hex(struct st_dec_out *o, const uint8_t *p, size_t n,
		       size_t cap, uint64_t base)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0, lines = 0, i;

	while (off < n && off < cap && lines < RAW_HEX_LINES) {
		char line[16 * 3 + 2 + 18 + 1], key[24];
		size_t k = 0, cnt = n - off < 16 ? n - off : 16;

		for (i = 0; i < 16; i++) {
			if (i == 8)
				line[k++] = ' ';
			if (i < cnt) {
				line[k++] = hex[p[off + i] >> 4];
				line[k++] = hex[p[off + i] & 15];
			} else {
				line[k++] = ' ';
				line[k++] = ' ';
			}
			line[k++] = ' ';
		}
		line[k++] = '|';
		for (i = 0; i < cnt; i++) {
			uint8_t c = p[off + i];

			line[k++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		line[k++] = '|';
		line[k] = '\0';
		snprintf(key, sizeof(key), "%06llx",
			 (unsigned long long)(base + off));
		st_dec_field(o, key, "%s", line);
		off += cnt;
		lines++;
	}
	return off;
}

static enum st_dec_status raw_feed(void *state, struct st_dec_input *in,
				   struct st_dec_out *out)
{
	struct raw_state *st = state;
	enum st_dir d = in->dir;
	size_t n = st_rd_left(&in->rd), shown, cap;
	const uint8_t *p;
	bool dgram = in->flags & ST_DEC_F_DGRAM, text;

	/* peeked first: what the reader consumed would be gone */
	if (st_rd_peek(&in->rd, n, &p) != ST_DEC_OK || (!n && !dgram))
		return ST_DEC_OK;
	if (st->shown[d] >= RAW_DIR_MAX) {
		/* nothing more is shown: counted at once, never held */
		if (st_rd_skip(&in->rd, n) != ST_DEC_OK)
			return ST_DEC_OK;
		st->hidden[d] += n;
		st->hidden_chunks[d]++;
		return ST_DEC_OK;
	}
	if (!dgram && n < RAW_RUN && p[n - 1] != '\n' &&
	    !(in->flags & (ST_DEC_F_FLUSH | ST_DEC_F_EOF | ST_DEC_F_GAP)))
		return ST_DEC_NEED_MORE;	/* the run goes on */
	if (st_rd_view(&in->rd, n, &p) != ST_DEC_OK)
		return ST_DEC_OK;
	cap = RAW_DIR_MAX - st->shown[d];
	text = looks_text(p, n);
	st_dec_begin(out, d, "data");
	if (dgram)
		st_dec_summary(out, "datagram, %zu bytes", n);
	else
		st_dec_summary(out, "%zu bytes", n);
	if ((in->flags & ST_DEC_F_TRUNC) && in->orig_len > n)
		st_dec_summary_add(out, " (of %zu)", in->orig_len);
	st_dec_summary_add(out, ", %s", !n ? "empty" : text ? "text" :
			   "binary");
	if (text)
		shown = show_text(out, p, n, cap);
	else
		shown = show_hex(out, p, n, cap, dgram ? 0 : in->offset);
	if (shown < n)
		st_dec_field(out, "more", "%zu bytes not shown", n - shown);
	st_dec_emit(out);
	st->shown[d] += shown;
	st->hidden[d] += n - shown;
	return ST_DEC_OK;
}

static void raw_end(void *state, struct st_dec_out *out)
{
	struct raw_state *st = state;
	int d;

	for (d = 0; d < 2; d++) {
		if (!st->hidden[d])
			continue;
		st_dec_begin(out, (enum st_dir)d, "note");
		st_dec_summary(out, "raw: %llu bytes not shown",
			       (unsigned long long)st->hidden[d]);
		if (st->hidden_chunks[d])
			st_dec_summary_add(out, " (%llu chunks past the %d-byte"
					   " limit)", (unsigned long long)
					   st->hidden_chunks[d], RAW_DIR_MAX);
		st_dec_emit(out);
	}
}

const struct st_decoder st_dec_raw = {
	.name = "raw",
	.summary = "any bytes: escaped text or a hexdump (the fallback)",
	.transports = ST_DEC_ANY,
	.state_size = sizeof(struct raw_state),
	.feed = raw_feed,
	.end = raw_end,
};
