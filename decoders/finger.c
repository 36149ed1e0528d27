/*
 * finger (RFC 1288): the client sends one query line ("{/W} {user}
 * {@host...}" CRLF); the server answers with text and closes.  The query
 * becomes a "query" record; the answer one "response" record with its
 * lines, emitted when the server's side ends.
 */
#include <string.h>

#include "socktap/decoder.h"

#define FINGER_QUERY_MAX	1024	/* longest query line we accept */
#define FINGER_LINE_MAX		4096	/* answer lines cut here */
#define FINGER_KEEP_LINES	24	/* answer lines kept */
#define FINGER_KEEP_BYTES	120	/* bytes kept of each */

struct finger_state {
	int qdir;		/* direction of the query, -1: not known */
	bool query_done;
	bool extra_noted;
	bool answer_done;
	uint64_t answer_bytes;
	uint64_t answer_lines;
	size_t kept;
	uint8_t line[FINGER_KEEP_LINES][FINGER_KEEP_BYTES];
	uint8_t len[FINGER_KEEP_LINES];
	bool cut[FINGER_KEEP_LINES];
};

static int finger_init(void *state)
{
	struct finger_state *st = state;

	st->qdir = -1;
	return 0;
}

static bool query_char(uint8_t c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c < 0x7f);
}

static enum st_dec_status parse_query(struct finger_state *st,
				      struct st_dec_input *in,
				      struct st_dec_out *out)
{
	struct st_rd r = in->rd;
	const uint8_t *line, *at;
	size_t len, i, ulen;
	enum st_dec_status s;
	bool verbose = false;

	s = st_rd_line(&r, FINGER_QUERY_MAX, &line, &len);
	if (s == ST_DEC_NEED_MORE && (in->flags & ST_DEC_F_EOF) &&
	    st_rd_left(&r)) {
		/* a query without its CRLF: take it as it is */
		len = st_rd_left(&r);
		s = st_rd_view(&r, len, &line);
	}
	if (s != ST_DEC_OK)
		return s;
	for (i = 0; i < len; i++)
		if (!query_char(line[i]))
			return ST_DEC_INVALID;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	if (len >= 2 && line[0] == '/' && (line[1] == 'W' || line[1] == 'w') &&
	    (len == 2 || line[2] == ' ' || line[2] == '\t')) {
		verbose = true;
		line += 2, len -= 2;
		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
	}
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	at = memchr(line, '@', len);
	ulen = at ? (size_t)(at - line) : len;

	st_dec_begin(out, in->dir, "query");
	if (!len) {
		st_dec_summary(out, "list users%s",
			       verbose ? " (verbose)" : "");
	} else {
		char q[160];

		st_dec_preview(q, sizeof(q), line, len, 0, false);
		st_dec_summary(out, "%s%s", q, verbose ? " (verbose)" : "");
		if (ulen)
			st_dec_field_bytes(out, "user", line, ulen, 0);
		else
			st_dec_field(out, "user", "(all)");
	}
	if (verbose)
		st_dec_field(out, "verbose", "yes (/W)");
	if (at) {
		/* "u@h1@h2": ask h2 to ask h1 (RFC 1288 2.5.1) */
		st_dec_field_bytes(out, "forward", at + 1,
				   len - ulen - 1, 0);
	}
	st_dec_emit(out);
	in->rd = r;
	st->query_done = true;
	return ST_DEC_OK;
}

static void keep_line(struct finger_state *st, const uint8_t *p, size_t n)
{
	size_t k;

	st->answer_lines++;
	if (st->kept >= FINGER_KEEP_LINES)
		return;
	k = n < FINGER_KEEP_BYTES ? n : FINGER_KEEP_BYTES;
	memcpy(st->line[st->kept], p, k);
	st->len[st->kept] = (uint8_t)k;
	st->cut[st->kept] = n > k;
	st->kept++;
}

static void emit_answer(struct finger_state *st, enum st_dir dir,
			struct st_dec_out *out)
{
	size_t i;

	if (st->answer_done || !st->answer_bytes)
		return;
	st->answer_done = true;
	st_dec_begin(out, dir, "response");
	st_dec_summary(out, "%llu line%s, %llu bytes",
		       (unsigned long long)st->answer_lines,
		       st->answer_lines == 1 ? "" : "s",
		       (unsigned long long)st->answer_bytes);
	for (i = 0; i < st->kept; i++) {
		char v[FINGER_KEEP_BYTES * 4 + 4];

		st_dec_preview(v, sizeof(v), st->line[i], st->len[i], 0,
			       false);
		st_dec_field(out, "line", "%s%s", v, st->cut[i] ? "..." : "");
	}
	if (st->answer_lines > st->kept)
		st_dec_field(out, "more", "%llu more lines",
			     (unsigned long long)(st->answer_lines - st->kept));
	st_dec_emit(out);
}

static enum st_dec_status parse_answer(struct finger_state *st,
				       struct st_dec_input *in,
				       struct st_dec_out *out)
{
	const uint8_t *line;
	size_t len;
	enum st_dec_status s;

	for (;;) {
		size_t before = st_rd_pos(&in->rd);

		s = st_rd_line(&in->rd, FINGER_LINE_MAX, &line, &len);
		if (s == ST_DEC_INVALID) {
			/* an endless line: take it in pieces */
			len = FINGER_LINE_MAX;
			s = st_rd_view(&in->rd, len, &line);
		}
		if (s == ST_DEC_NEED_MORE && (in->flags & ST_DEC_F_EOF) &&
		    st_rd_left(&in->rd)) {
			len = st_rd_left(&in->rd);
			s = st_rd_view(&in->rd, len, &line);
		}
		if (s != ST_DEC_OK)
			break;
		st->answer_bytes += st_rd_pos(&in->rd) - before;
		keep_line(st, line, len);
	}
	if (in->flags & ST_DEC_F_EOF)
		emit_answer(st, in->dir, out);
	return ST_DEC_NEED_MORE;
}

static enum st_dec_status finger_feed(void *state, struct st_dec_input *in,
				      struct st_dec_out *out)
{
	struct finger_state *st = state;
	size_t n = st_rd_left(&in->rd);

	if (in->flags & ST_DEC_F_GAP) {
		/* the answer is free text: a gap costs only those bytes */
		if (st->query_done && (int)in->dir != st->qdir)
			return ST_DEC_OK;
		return ST_DEC_INVALID;
	}
	if (st->qdir < 0) {
		if (!n)
			return ST_DEC_OK;
		st->qdir = st_dec_client_dir(in->conv);
		if (st->qdir < 0)
			st->qdir = in->dir;
	}
	if ((int)in->dir == st->qdir) {
		if (!st->query_done)
			return n ? parse_query(st, in, out) : ST_DEC_OK;
		if (n && !st->extra_noted) {
			const uint8_t *p;

			st->extra_noted = true;
			if (st_rd_peek(&in->rd, n, &p) == ST_DEC_OK) {
				st_dec_begin(out, in->dir, "note");
				st_dec_summary(out, "data after the query");
				st_dec_field_bytes(out, "bytes", p, n,
						   ST_DEC_PREVIEW);
				st_dec_emit(out);
			}
		}
		return st_rd_skip(&in->rd, n);
	}
	return parse_answer(st, in, out);
}

static void finger_end(void *state, struct st_dec_out *out)
{
	struct finger_state *st = state;

	if (st->qdir >= 0)
		emit_answer(st, (enum st_dir)!st->qdir, out);
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '@' || c == '+';
}

/* One line: "", "/W", "name", "/W name" (name: user[@host...]). */
static int finger_probe(const uint8_t *p, size_t n, enum st_dir dir,
			unsigned flags)
{
	const uint8_t *nl = memchr(p, '\n', n < 256 ? n : 256);
	size_t i = 0, len;
	bool verbose = false;

	if (!nl || nl + 1 != p + n)
		return ST_PROBE_NO;	/* a query is the only line */
	len = (size_t)(nl - p);
	if (len && p[len - 1] == '\r')
		len--;
	if (len >= 2 && p[0] == '/' && (p[1] == 'W' || p[1] == 'w') &&
	    (len == 2 || p[2] == ' ')) {
		verbose = true;
		i = len == 2 ? 2 : 3;
	}
	for (; i < len; i++)
		if (!name_char(p[i]))
			return ST_PROBE_NO;
	return verbose ? 50 : ST_PROBE_WEAK;
}

static const uint16_t finger_ports[] = { 79 };

const struct st_decoder st_dec_finger = {
	.name = "finger",
	.summary = "finger (RFC 1288): query line, text answer",
	.transports = ST_DEC_STREAMS,
	.ports = finger_ports,
	.nports = 1,
	.probe = finger_probe,
	.state_size = sizeof(struct finger_state),
	.init = finger_init,
	.feed = finger_feed,
	.end = finger_end,
};
