/*
 * Redis serialization protocol (RESP2 and RESP3): commands (arrays of
 * bulk strings, or inline lines) one way and replies of every type the
 * other way, pipelined freely.  A streaming parser with an explicit stack
 * (depth capped) consumes each element as it completes, so a bulk string
 * of any size passes through in pieces; it is summarised by its length
 * and a short escaped preview.  One record per top-level value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socktap/decoder.h"

#define REDIS_DEPTH_MAX	32		/* nested aggregates */
#define REDIS_LINE_MAX	(64 * 1024)	/* type/inline lines */
#define REDIS_BULK_MAX	(512u << 20)	/* proto-max-bulk-len */
#define REDIS_COUNT_MAX	(1 << 24)	/* aggregate elements */
#define REDIS_PREVIEW	32		/* bulk bytes shown */
#define REDIS_SUM	320

struct redis_frame {
	char type;
	int64_t left;		/* elements still to come */
};

struct redis_dir {
	int depth;
	struct redis_frame stack[REDIS_DEPTH_MAX];
	bool in_msg;
	char top;		/* type of the top-level value */
	/* a bulk string being read */
	bool in_bulk;
	char btype;
	uint64_t bulk_len, bulk_left;
	uint8_t bprev[REDIS_PREVIEW];
	size_t bprev_len;
	/* the record being built */
	char sum[REDIS_SUM];
	size_t sum_len;
	unsigned tokens;
	uint64_t bytes;
	uint64_t args;
	bool error;
};

struct redis_state {
	int cmd_dir;		/* -1 until the first data */
	struct redis_dir d[2];
};

static int redis_init(void *state)
{
	struct redis_state *st = state;

	st->cmd_dir = -1;
	return 0;
}

__attribute__((format(printf, 2, 3)))
static void sum_add(struct redis_dir *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->sum_len + 1 >= sizeof(d->sum))
		return;
	va_start(ap, fmt);
	n = vsnprintf(d->sum + d->sum_len, sizeof(d->sum) - d->sum_len, fmt,
		      ap);
	va_end(ap);
	if (n < 0)
		return;
	d->sum_len += (size_t)n;
	if (d->sum_len >= sizeof(d->sum))
		d->sum_len = sizeof(d->sum) - 1;
}

/* A separator before every token but the first. */
static void sum_sep(struct redis_dir *d)
{
	if (d->tokens++)
		sum_add(d, " ");
}

static bool parse_int(const uint8_t *p, size_t n, int64_t *v)
{
	bool neg = false;
	int64_t x = 0;
	size_t i = 0;

	if (n && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i == n || n - i > 18)
		return false;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = neg ? -x : x;
	return true;
}

static void reset_msg(struct redis_dir *d)
{
	d->in_msg = false;
	d->depth = 0;
	d->sum_len = 0;
	d->sum[0] = '\0';
	d->tokens = 0;
	d->bytes = 0;
	d->args = 0;
	d->error = false;
}

static const char *type_desc(char t)
{
	switch (t) {
	case '+': return "simple string";
	case '-': return "error";
	case ':': return "integer";
	case '$': return "bulk string";
	case '*': return "array";
	case '_': return "null";
	case '#': return "boolean";
	case ',': return "double";
	case '(': return "big number";
	case '!': return "bulk error";
	case '=': return "verbatim string";
	case '%': return "map";
	case '~': return "set";
	case '>': return "push";
	case 'i': return "inline command";
	default: return "value";
	}
}

static void emit(struct redis_state *st, struct redis_dir *d, enum st_dir dir,
		 struct st_dec_out *out, const char *incomplete)
{
	bool cmd = (int)dir == st->cmd_dir;

	st_dec_begin(out, dir, cmd ? "command" : "reply");
	st_dec_summary(out, "%s", d->sum_len ? d->sum : "(empty)");
	if (d->sum_len + 1 >= sizeof(d->sum))
		st_dec_summary_add(out, "...");
	st_dec_field(out, "type", "%s", type_desc(d->top));
	if (cmd && (d->top == '*' || d->top == 'i'))
		st_dec_field(out, "args", "%llu", (unsigned long long)d->args);
	st_dec_field(out, "bytes", "%llu", (unsigned long long)d->bytes);
	if (d->error)
		st_dec_field(out, "error", "yes");
	if (incomplete)
		st_dec_field(out, "incomplete", "%s", incomplete);
	st_dec_emit(out);
	reset_msg(d);
}

/*
 * A value finished: count it in its parents; a finished top-level value
 * is a record.  An attribute ('|') annotates the value after it, so it
 * does not count as one.
 */
static void value_done(struct redis_state *st, struct redis_dir *d,
		       enum st_dir dir, struct st_dec_out *out)
{
	for (;;) {
		struct redis_frame *f;

		if (d->depth == 0) {
			emit(st, d, dir, out, NULL);
			return;
		}
		f = &d->stack[d->depth - 1];
		if (--f->left > 0)
			return;
		d->depth--;
		if (f->type == '|')
			return;
	}
}

static bool cmd_name_pos(struct redis_state *st, struct redis_dir *d,
			 enum st_dir dir)
{
	return (int)dir == st->cmd_dir && d->depth == 1 &&
	       d->stack[0].type == '*' && d->args == 0;
}

static void bulk_token(struct redis_state *st, struct redis_dir *d,
		       enum st_dir dir)
{
	char esc[REDIS_PREVIEW * 4 + 4];
	bool name = cmd_name_pos(st, d, dir);
	bool more = d->bulk_len > d->bprev_len;

	sum_sep(d);
	if (d->btype == '!') {
		d->error = true;
		sum_add(d, "(error) ");
	}
	if (name) {
		size_t i;

		st_dec_preview(esc, sizeof(esc), d->bprev, d->bprev_len, 0,
			       false);
		for (i = 0; esc[i]; i++)
			if (esc[i] >= 'a' && esc[i] <= 'z')
				esc[i] = (char)(esc[i] - 'a' + 'A');
		sum_add(d, "%s%s", esc, more ? "..." : "");
	} else {
		st_dec_preview(esc, sizeof(esc), d->bprev, d->bprev_len, 0,
			       true);
		sum_add(d, "\"%s%s\"", esc, more ? "..." : "");
	}
	if (more)
		sum_add(d, " (%llu bytes)", (unsigned long long)d->bulk_len);
	if ((int)dir == st->cmd_dir && d->depth == 1)
		d->args++;
}

/* An inline command: words separated by blanks. */
static void inline_cmd(struct redis_dir *d, const uint8_t *p, size_t n)
{
	size_t i = 0;

	d->top = 'i';
	while (i < n) {
		size_t s;
		char esc[REDIS_PREVIEW * 4 + 4];

		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		s = i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		if (i == s)
			break;
		st_dec_preview(esc, sizeof(esc), p + s, i - s, REDIS_PREVIEW,
			       d->args != 0);
		sum_sep(d);
		if (d->args)
			sum_add(d, "\"%s\"", esc);
		else
			sum_add(d, "%s", esc);
		d->args++;
	}
}

/* One type line of a RESP value (not of an inline command). */
static enum st_dec_status one_line(struct redis_state *st,
				   struct redis_dir *d, enum st_dir dir,
				   struct st_dec_out *out, const uint8_t *line,
				   size_t len)
{
	char esc[REDIS_PREVIEW * 4 + 4];
	int64_t v;

	if (!len)
		return ST_DEC_INVALID;
	/* after an attribute, the value it annotates sets the type */
	if (d->depth == 0 && d->top == '|')
		d->top = (char)line[0];
	switch (line[0]) {
	case '+':
	case '-':
	case ',':
	case '(':
		st_dec_preview(esc, sizeof(esc), line + 1, len - 1,
			       REDIS_PREVIEW * 2, false);
		sum_sep(d);
		if (line[0] == '-') {
			d->error = true;
			sum_add(d, "(error) %s", esc);
		} else if (line[0] == ',') {
			sum_add(d, "(double) %s", esc);
		} else if (line[0] == '(') {
			sum_add(d, "(bignum) %s", esc);
		} else {
			sum_add(d, "%s", esc);
		}
		if ((int)dir == st->cmd_dir && d->depth == 1)
			d->args++;
		value_done(st, d, dir, out);
		break;
	case ':':
		if (!parse_int(line + 1, len - 1, &v))
			return ST_DEC_INVALID;
		sum_sep(d);
		sum_add(d, "(integer) %lld", (long long)v);
		if ((int)dir == st->cmd_dir && d->depth == 1)
			d->args++;
		value_done(st, d, dir, out);
		break;
	case '_':
		if (len != 1)
			return ST_DEC_INVALID;
		sum_sep(d);
		sum_add(d, "(nil)");
		value_done(st, d, dir, out);
		break;
	case '#':
		if (len != 2 || (line[1] != 't' && line[1] != 'f'))
			return ST_DEC_INVALID;
		sum_sep(d);
		sum_add(d, "(%s)", line[1] == 't' ? "true" : "false");
		value_done(st, d, dir, out);
		break;
	case '$':
	case '!':
	case '=':
		if (!parse_int(line + 1, len - 1, &v))
			return ST_DEC_INVALID;
		if (v == -1 && line[0] == '$') {
			sum_sep(d);
			sum_add(d, "(nil)");
			value_done(st, d, dir, out);
			break;
		}
		if (v < 0 || (uint64_t)v > REDIS_BULK_MAX)
			return ST_DEC_INVALID;
		d->in_bulk = true;
		d->btype = (char)line[0];
		d->bulk_len = d->bulk_left = (uint64_t)v;
		d->bprev_len = 0;
		break;
	case '*':
	case '%':
	case '~':
	case '>':
	case '|':
		if (!parse_int(line + 1, len - 1, &v))
			return ST_DEC_INVALID;
		if (v == -1 && line[0] == '*') {
			sum_sep(d);
			sum_add(d, "(nil array)");
			value_done(st, d, dir, out);
			break;
		}
		if (v < 0 || v > REDIS_COUNT_MAX ||
		    d->depth >= REDIS_DEPTH_MAX)
			return ST_DEC_INVALID;
		if ((int)dir != st->cmd_dir || d->depth) {
			sum_sep(d);
			sum_add(d, "%s%lld%s", line[0] == '%' ? "{" :
				line[0] == '~' ? "~" : line[0] == '>' ?
				"push[" : line[0] == '|' ? "attr{" : "[",
				(long long)v, line[0] == '%' ||
				line[0] == '|' ? "}" : line[0] == '~' ?
				"" : "]");
		}
		if (v == 0) {
			value_done(st, d, dir, out);
			break;
		}
		d->stack[d->depth].type = (char)line[0];
		d->stack[d->depth].left =
			line[0] == '%' || line[0] == '|' ? 2 * v : v;
		d->depth++;
		break;
	default:
		return ST_DEC_INVALID;
	}
	return ST_DEC_OK;
}

static enum st_dec_status redis_feed(void *state, struct st_dec_input *in,
				     struct st_dec_out *out)
{
	struct redis_state *st = state;
	enum st_dir dir = in->dir;
	struct redis_dir *d = &st->d[dir];
	const uint8_t *line, *p;
	size_t len, before;
	enum st_dec_status s;
	struct st_rd saved;

	if (in->flags & ST_DEC_F_GAP)
		return ST_DEC_INVALID;
	if (st->cmd_dir < 0) {
		if (!st_rd_left(&in->rd))
			return ST_DEC_NEED_MORE;
		st->cmd_dir = st_dec_client_dir(in->conv);
		if (st->cmd_dir < 0)
			st->cmd_dir = dir;
	}
	for (;;) {
		if (d->in_bulk) {
			if (d->bulk_left) {
				size_t n = st_rd_left(&in->rd), k;

				if (n > d->bulk_left)
					n = (size_t)d->bulk_left;
				if (!n)
					return ST_DEC_NEED_MORE;
				if (st_rd_view(&in->rd, n, &p) != ST_DEC_OK)
					return ST_DEC_INVALID;
				k = sizeof(d->bprev) - d->bprev_len;
				if (k > n)
					k = n;
				memcpy(d->bprev + d->bprev_len, p, k);
				d->bprev_len += k;
				d->bulk_left -= n;
				d->bytes += n;
				continue;
			}
			s = st_rd_peek(&in->rd, 2, &p);
			if (s != ST_DEC_OK)
				return s;
			if (p[0] != '\r' || p[1] != '\n' ||
			    st_rd_skip(&in->rd, 2) != ST_DEC_OK)
				return ST_DEC_INVALID;
			d->bytes += 2;
			d->in_bulk = false;
			bulk_token(st, d, dir);
			value_done(st, d, dir, out);
			continue;
		}
		if (!st_rd_left(&in->rd))
			return ST_DEC_NEED_MORE;
		before = st_rd_pos(&in->rd);
		saved = in->rd;
		s = st_rd_line(&in->rd, REDIS_LINE_MAX, &line, &len);
		if (s != ST_DEC_OK)
			return s;
		d->bytes += st_rd_pos(&in->rd) - before;
		if (!d->in_msg) {
			d->in_msg = true;
			d->top = len ? (char)line[0] : '?';
			if ((int)dir == st->cmd_dir &&
			    (!len || line[0] != '*')) {
				/* inline command (or an empty line: skipped) */
				if (!len) {
					reset_msg(d);
					continue;
				}
				inline_cmd(d, line, len);
				emit(st, d, dir, out, NULL);
				continue;
			}
		}
		s = one_line(st, d, dir, out, line, len);
		if (s != ST_DEC_OK) {
			in->rd = saved;	/* bad line: not consumed */
			return s;
		}
		if (st_rd_left(&in->rd) == 0)
			return ST_DEC_NEED_MORE;
	}
}

static void redis_end(void *state, struct st_dec_out *out)
{
	struct redis_state *st = state;
	int i;

	for (i = 0; i < 2; i++) {
		struct redis_dir *d = &st->d[i];

		if (!d->in_msg)
			continue;
		if (d->in_bulk)
			bulk_token(st, d, (enum st_dir)i);
		emit(st, d, (enum st_dir)i, out,
		     "the stream ended inside this value");
	}
}

static const char *const inline_cmds[] = {
	"PING", "ECHO", "AUTH", "HELLO", "INFO", "SELECT", "QUIT", "KEYS",
	"SET", "DEL", "EXISTS", "INCR", "MONITOR", "SUBSCRIBE",
	"CLIENT", "CONFIG", "DBSIZE", "FLUSHALL", "FLUSHDB", "TYPE", "TTL",
};

static int redis_probe(const uint8_t *p, size_t n, enum st_dir dir,
		       unsigned flags)
{
	size_t i = 1;

	if (n < 2)
		return n && p[0] == '*' ? 30 : ST_PROBE_NO;
	if (p[0] == '*') {
		while (i < n && i < 12 && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == 1)
			return ST_PROBE_NO;
		if (i + 1 >= n)
			return i == n ? 40 : ST_PROBE_NO;
		if (p[i] != '\r' || p[i + 1] != '\n')
			return ST_PROBE_NO;
		if (i + 2 == n)
			return 50;
		return p[i + 2] == '$' ? 90 : ST_PROBE_NO;
	}
	if ((p[0] == '+' || p[0] == '-' || p[0] == ':') && memchr(p, '\r', n) &&
	    n < 512)
		return 30;
	/* an inline command: a well-known first word on a CRLF line (a
	 * bare "ping ...\n" is more often someone's own text protocol) */
	{
		const uint8_t *nl = memchr(p, '\n', n);

		if (!nl || nl == p || nl[-1] != '\r')
			return ST_PROBE_NO;
	}
	for (i = 0; i < sizeof(inline_cmds) / sizeof(inline_cmds[0]); i++) {
		size_t l = strlen(inline_cmds[i]);

		if (n > l && !strncasecmp((const char *)p, inline_cmds[i], l) &&
		    (p[l] == ' ' || p[l] == '\r'))
			return 30;
	}
	return ST_PROBE_NO;
}

static const uint16_t redis_ports[] = { 6379 };

const struct st_decoder st_dec_redis = {
	.name = "redis",
	.summary = "Redis RESP2/RESP3 commands and replies",
	.transports = ST_DEC_STREAMS,
	.ports = redis_ports,
	.nports = 1,
	.probe = redis_probe,
	.state_size = sizeof(struct redis_state),
	.init = redis_init,
	.feed = redis_feed,
	.end = redis_end,
};
