/* Helpers shared by the decoder tests and the fuzz harness. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_util.h"

void rec_log_free(struct rec_log *l)
{
	free(l->text);
	memset(l, 0, sizeof(*l));
}

static void log_put(struct rec_log *l, const char *s, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *p;

		while (cap < l->len + n + 1)
			cap *= 2;
		p = realloc(l->text, cap);
		if (!p) {
			l->bad = true;
			snprintf(l->why, sizeof(l->why), "out of memory");
			return;
		}
		l->text = p;
		l->cap = cap;
	}
	memcpy(l->text + l->len, s, n);
	l->len += n;
	l->text[l->len] = '\0';
}

static bool printable(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++)
		if (s[n] < 0x20 || s[n] > 0x7e || n >= max)
			return false;
	return true;
}

int check_record(const struct st_dec_record *r, char *why, size_t wlen)
{
	static char buf[256 * 1024];
	size_t i;
	int n;

	if (!printable(r->summary, ST_DEC_SUMMARY_MAX) ||
	    !printable(r->kind, 32) || !printable(r->decoder, 32)) {
		snprintf(why, wlen, "summary/kind/decoder not printable");
		return -1;
	}
	if (r->nfields > ST_DEC_MAX_FIELDS || (r->nfields && !r->fields)) {
		snprintf(why, wlen, "bad field count %zu", r->nfields);
		return -1;
	}
	for (i = 0; i < r->nfields; i++) {
		if (!printable(r->fields[i].key, ST_DEC_KEY_MAX) ||
		    !printable(r->fields[i].value, ST_DEC_VALUE_MAX)) {
			snprintf(why, wlen, "field %zu not printable or too "
				 "long", i);
			return -1;
		}
	}
	n = st_dec_record_format_text(r, buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf) || strlen(buf) != (size_t)n) {
		snprintf(why, wlen, "text rendering length %d", n);
		return -1;
	}
	n = st_dec_record_format_json(r, buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf) || !json_valid(buf, (size_t)n)) {
		snprintf(why, wlen, "invalid JSON: %.200s", buf);
		return -1;
	}
	return 0;
}

void rec_log_record(void *arg, const struct st_conv *conv,
		    const struct st_dec_record *r)
{
	struct rec_log *l = arg;
	char buf[64 * 1024];
	int n;

	l->records++;
	if (!strcmp(r->kind, "note"))
		l->notes++;
	if (!l->bad && check_record(r, l->why, sizeof(l->why)) < 0)
		l->bad = true;
	n = st_dec_record_format_text(r, buf, sizeof(buf));
	if (n > 0)
		log_put(l, buf, strlen(buf));
	(void)conv;
}

static void set_ep(struct st_endpoint *ep, enum st_proto proto,
		   uint16_t port, uint8_t last)
{
	memset(ep, 0, sizeof(*ep));
	if (proto == ST_PROTO_UNIX_STREAM || proto == ST_PROTO_UNIX_DGRAM ||
	    proto == ST_PROTO_UNIX_SEQPACKET) {
		ep->family = AF_UNIX;
		return;
	}
	ep->family = AF_INET;
	ep->port = port;
	ep->v4.s_addr = htonl(0x7f000000u | last);
}

static int feed(struct st_decsess *s, struct st_conv *conv,
		enum st_ev_type type, int dir, const uint8_t *p, size_t n,
		unsigned flags, uint64_t *order)
{
	struct st_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.conv = conv;
	ev.dir = dir ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
	ev.order = (*order)++;
	ev.data = p;
	ev.len = n;
	ev.orig_len = n;
	ev.flags = flags;
	ev.note = type == ST_EV_GAP ? "test gap" : NULL;
	return st_decsess_feed(s, &ev);
}

int dec_run(const char *spec, const struct dec_conv *c,
	    const struct step *steps, size_t nsteps,
	    const struct chunking *ch, struct rec_log *log,
	    const char **name, bool *fell_back)
{
	static struct st_conv conv;
	struct st_decsel *sel = NULL;
	struct st_decsess *s = NULL;
	char err[256];
	uint64_t order = 0;
	size_t i, k;
	int r;

	memset(&conv, 0, sizeof(conv));
	conv.id = 1;
	conv.proto = c->proto;
	conv.origin = c->origin;
	set_ep(&conv.a, c->proto, c->aport, 1);
	set_ep(&conv.b, c->proto, c->bport, 2);
	r = st_decsel_new(spec, err, sizeof(err), &sel);
	if (r < 0)
		return r;
	r = st_decsess_new(sel, &conv, rec_log_record, log, &s);
	if (r < 0 || !s)
		goto out;
	for (i = 0; i < nsteps; i++) {
		const struct step *st = &steps[i];
		const uint8_t *p = (const uint8_t *)st->bytes;
		size_t n = st->len ? st->len : (st->bytes ? strlen(st->bytes) :
						 0);

		if (st->kind == STEP_FIN) {
			feed(s, &conv, ST_EV_FIN, st->dir, NULL, 0, 0, &order);
			continue;
		}
		if (st->kind == STEP_GAP) {
			feed(s, &conv, ST_EV_GAP, st->dir, NULL, n, 0, &order);
			continue;
		}
		if ((st->flags & ST_EVF_DGRAM) || !ch) {
			feed(s, &conv, ST_EV_DATA, st->dir, p, n, st->flags,
			     &order);
			continue;
		}
		if (ch->bytewise) {
			for (k = 0; k < n; k++)
				feed(s, &conv, ST_EV_DATA, st->dir, p + k, 1,
				     st->flags, &order);
			continue;
		}
		if (ch->split_step == i + 1 && ch->split_at > 0 &&
		    ch->split_at < n) {
			feed(s, &conv, ST_EV_DATA, st->dir, p, ch->split_at,
			     st->flags, &order);
			feed(s, &conv, ST_EV_DATA, st->dir, p + ch->split_at,
			     n - ch->split_at, st->flags, &order);
			continue;
		}
		feed(s, &conv, ST_EV_DATA, st->dir, p, n, st->flags, &order);
	}
	feed(s, &conv, ST_EV_END, 0, NULL, 0, 0, &order);
	if (name)
		*name = st_decsess_name(s);
	if (fell_back)
		*fell_back = st_decsess_fell_back(s);
out:
	st_decsess_free(s);
	st_decsel_free(sel);
	return r;
}

/* ------------------------------------------------------------------ */
/* A small JSON syntax checker */

struct js {
	const char *p, *end;
	int depth;
};

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' ||
				 *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static bool js_value(struct js *j);

static bool js_string(struct js *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (j->p + i >= j->end ||
					    !strchr("0123456789abcdefABCDEF",
						    j->p[i]) || !j->p[i])
						return false;
				j->p += 4;
			} else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
				return false;
			}
		}
		j->p++;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool js_number(struct js *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') ||
				 strchr(".eE+-", *j->p)) && *j->p)
		j->p++;
	return j->p > s;
}

static bool js_value(struct js *j)
{
	bool first = true;
	char close;

	if (++j->depth > 64)
		return false;
	js_ws(j);
	if (j->p >= j->end)
		return false;
	if (*j->p == '"') {
		j->depth--;
		return js_string(j);
	}
	if (*j->p == '{' || *j->p == '[') {
		close = *j->p == '{' ? '}' : ']';
		j->p++;
		js_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		for (;;) {
			js_ws(j);
			if (!first && (j->p >= j->end || *j->p++ != ','))
				return false;
			first = false;
			js_ws(j);
			if (close == '}') {
				if (!js_string(j))
					return false;
				js_ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return false;
			}
			if (!js_value(j))
				return false;
			js_ws(j);
			if (j->p < j->end && *j->p == close) {
				j->p++;
				j->depth--;
				return true;
			}
		}
	}
	if (j->end - j->p >= 4 && (!memcmp(j->p, "true", 4) ||
				   !memcmp(j->p, "null", 4))) {
		j->p += 4;
		j->depth--;
		return true;
	}
	if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
		j->p += 5;
		j->depth--;
		return true;
	}
	j->depth--;
	return js_number(j);
}

bool json_valid(const char *s, size_t n)
{
	struct js j = { s, s + n, 0 };

	if (!js_value(&j))
		return false;
	js_ws(&j);
	return j.p == j.end;
}
