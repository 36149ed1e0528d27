/*
 * Building records (st_dec_out), escaping helpers and the two renderers
 * (text, JSON).  Every string a record holds is printable ASCII; the
 * renderers still escape whatever they are given.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dec_internal.h"

enum esc_mode {
	ESC_SANITIZE,	/* formatted text: keep backslashes */
	ESC_BYTES,	/* raw bytes: backslashes escaped too */
	ESC_QUOTE,	/* raw bytes inside "...": quotes escaped too */
};

/* The escaped form of one byte into e (at most 4 chars); its length. */
static size_t esc_byte(uint8_t c, enum esc_mode mode, char e[4])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\n': e[0] = '\\'; e[1] = 'n'; return 2;
	case '\r': e[0] = '\\'; e[1] = 'r'; return 2;
	case '\t': e[0] = '\\'; e[1] = 't'; return 2;
	case '\\':
		if (mode == ESC_SANITIZE)
			break;
		e[0] = '\\'; e[1] = '\\';
		return 2;
	case '"':
		if (mode != ESC_QUOTE)
			break;
		e[0] = '\\'; e[1] = '"';
		return 2;
	default:
		if (c < 0x20 || c > 0x7e) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			return 4;
		}
	}
	e[0] = (char)c;
	return 1;
}

/*
 * Writes the escaped form of p[0..n) into dst[0..size), NUL-terminated
 * (size > 0), never splitting an escape.  *used gets the input bytes
 * written out; returns the output length.
 */
static size_t esc_into(char *dst, size_t size, const uint8_t *p, size_t n,
		       enum esc_mode mode, size_t *used)
{
	size_t o = 0, i;
	char e[4];

	for (i = 0; i < n; i++) {
		size_t k = esc_byte(p[i], mode, e);

		if (o + k + 1 > size)
			break;
		memcpy(dst + o, e, k);
		o += k;
	}
	dst[o] = '\0';
	*used = i;
	return o;
}

/* Like esc_into, but ends with "..." when the input did not all fit or
 * when trunc says the input was already cut. */
static size_t esc_fit(char *dst, size_t size, const uint8_t *p, size_t n,
		      enum esc_mode mode, bool trunc)
{
	size_t used, o;

	if (size == 0)
		return 0;
	o = esc_into(dst, size, p, n, mode, &used);
	if (used == n && !trunc)
		return o;
	if (size < 4)
		return o;
	o = esc_into(dst, size - 3, p, n, mode, &used);
	memcpy(dst + o, "...", 4);
	return o + 3;
}

size_t st_dec_escape(char *dst, size_t size, const void *p, size_t n,
		     bool quote)
{
	size_t used = 0;

	if (size == 0)
		return 0;
	esc_into(dst, size, p, n, quote ? ESC_QUOTE : ESC_BYTES, &used);
	return used;
}

void st_dec_preview(char *dst, size_t size, const void *p, size_t n,
		    size_t max, bool quote)
{
	bool trunc = false;

	if (max && n > max) {
		n = max;
		trunc = true;
	}
	esc_fit(dst, size, p, n, quote ? ESC_QUOTE : ESC_BYTES, trunc);
}

size_t st_dec_sanitize(char *dst, size_t size, const char *s, size_t n)
{
	return esc_fit(dst, size, (const uint8_t *)s, n, ESC_SANITIZE, false);
}

/* ------------------------------------------------------------------ */
/* The record builder */

void st_dec_out_init(struct st_dec_out *o, const struct st_conv *conv,
		     void (*deliver)(void *, struct st_dec_record *),
		     void *arg)
{
	memset(o, 0, sizeof(*o));
	o->conv = conv;
	o->deliver = deliver;
	o->arg = arg;
	o->decoder = "raw";
}

const struct st_conv *st_dec_out_conv(const struct st_dec_out *o)
{
	return o->conv;
}

void st_dec_begin(struct st_dec_out *o, enum st_dir dir, const char *kind)
{
	if (o->open)
		st_dec_emit(o);
	o->open = true;
	memset(&o->rec, 0, sizeof(o->rec));
	o->rec.dir = dir == ST_DIR_B_TO_A ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
	o->rec.decoder = o->decoder;
	o->rec.kind = kind ? kind : "note";
	o->rec.offset = o->offset[o->rec.dir];
	o->summary[0] = '\0';
	o->summary_len = 0;
	o->summary_cut = false;
	o->arena_used = 0;
	o->dropped_fields = 0;
	o->rec.nfields = 0;
}

__attribute__((format(printf, 2, 0)))
static void summary_vadd(struct st_dec_out *o, const char *fmt, va_list ap)
{
	char tmp[ST_DEC_SUMMARY_MAX * 2];
	char *dst = o->summary + o->summary_len;
	size_t len, room, used, w;
	int n;
	bool cut;

	room = sizeof(o->summary) - o->summary_len;
	if (!o->open || o->summary_cut || room <= 1)
		return;
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0)
		return;
	len = (size_t)n;
	cut = len >= sizeof(tmp);
	if (cut)
		len = sizeof(tmp) - 1;
	w = esc_into(dst, room, (const uint8_t *)tmp, len, ESC_SANITIZE,
		     &used);
	if (used < len || cut) {
		/* it does not all fit: cut it, mark it, add nothing more */
		w = esc_fit(dst, room, (const uint8_t *)tmp, len,
			    ESC_SANITIZE, true);
		o->summary_cut = true;
	}
	o->summary_len += w;
}

void st_dec_summary(struct st_dec_out *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->open)
		return;
	o->summary[0] = '\0';
	o->summary_len = 0;
	o->summary_cut = false;
	va_start(ap, fmt);
	summary_vadd(o, fmt, ap);
	va_end(ap);
}

void st_dec_summary_add(struct st_dec_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	summary_vadd(o, fmt, ap);
	va_end(ap);
}

/*
 * Room for one more field: a slot (one is kept for the "more" marker)
 * and arena space for a key and a value of at least a few bytes.
 */
static bool field_room(struct st_dec_out *o)
{
	if (!o->open)
		return false;
	if (o->rec.nfields + 1 >= ST_DEC_MAX_FIELDS ||
	    ST_DEC_ARENA - o->arena_used < 16) {
		o->dropped_fields++;
		return false;
	}
	return true;
}

/* Copies an escaped string into the arena; returns it. */
static const char *arena_put(struct st_dec_out *o, const uint8_t *p,
			     size_t n, size_t max, enum esc_mode mode,
			     bool trunc)
{
	char *dst = o->arena + o->arena_used;
	size_t room = ST_DEC_ARENA - o->arena_used;
	size_t len;

	if (room > max)
		room = max;
	len = esc_fit(dst, room, p, n, mode, trunc);
	o->arena_used += len + 1;
	return dst;
}

static void add_field(struct st_dec_out *o, const uint8_t *key, size_t klen,
		      enum esc_mode kmode, const uint8_t *val, size_t vlen,
		      enum esc_mode vmode, bool vtrunc)
{
	struct st_dec_field *f;

	if (!field_room(o))
		return;
	f = &o->fields[o->rec.nfields++];
	f->key = arena_put(o, key, klen, ST_DEC_KEY_MAX, kmode, false);
	/* the key took at most KEY_MAX; 16 - KEY_MAX may be gone: check */
	if (ST_DEC_ARENA - o->arena_used < 4) {
		f->value = "";
		return;
	}
	f->value = arena_put(o, val, vlen, ST_DEC_VALUE_MAX, vmode, vtrunc);
}

void st_dec_field(struct st_dec_out *o, const char *key, const char *fmt,
		  ...)
{
	char tmp[ST_DEC_VALUE_MAX * 2];
	va_list ap;
	int n;
	size_t len;
	bool cut;

	if (!o->open)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = (size_t)n;
	cut = len >= sizeof(tmp);
	if (cut)
		len = sizeof(tmp) - 1;
	add_field(o, (const uint8_t *)key, strlen(key), ESC_SANITIZE,
		  (const uint8_t *)tmp, len, ESC_SANITIZE, cut);
}

void st_dec_field_bytes(struct st_dec_out *o, const char *key,
			const uint8_t *p, size_t n, size_t max)
{
	bool trunc = false;

	if (max && n > max) {
		n = max;
		trunc = true;
	}
	add_field(o, (const uint8_t *)key, strlen(key), ESC_SANITIZE, p, n,
		  ESC_BYTES, trunc);
}

void st_dec_field_raw_key(struct st_dec_out *o, const uint8_t *key,
			  size_t keylen, const uint8_t *val, size_t vallen,
			  bool trunc)
{
	add_field(o, key, keylen, ESC_BYTES, val, vallen, ESC_BYTES, trunc);
}

void st_dec_emit(struct st_dec_out *o)
{
	if (!o->open)
		return;
	o->open = false;
	if (o->dropped_fields) {
		struct st_dec_field *f = &o->fields[o->rec.nfields++];

		snprintf(o->more, sizeof(o->more), "%zu fields not shown",
			 o->dropped_fields);
		f->key = "more";
		f->value = o->more;
	}
	o->rec.summary = o->summary;
	o->rec.fields = o->fields;
	if (o->deliver)
		o->deliver(o->arg, &o->rec);
}

void st_dec_note(struct st_dec_out *o, enum st_dir dir, const char *fmt, ...)
{
	va_list ap;

	st_dec_begin(o, dir, "note");
	va_start(ap, fmt);
	summary_vadd(o, fmt, ap);
	va_end(ap);
	st_dec_emit(o);
}

/* ------------------------------------------------------------------ */
/* Renderers */

struct wbuf {
	char *buf;
	size_t size;
	size_t len;	/* needed length so far (may exceed size) */
};

static void w_putc(struct wbuf *w, char c)
{
	if (w->len + 1 < w->size)
		w->buf[w->len] = c;
	w->len++;
}

static void w_put(struct wbuf *w, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		w_putc(w, s[i]);
}

static void w_str(struct wbuf *w, const char *s)
{
	w_put(w, s, strlen(s));
}

/* Text: sanitised the same way records are (idempotent for them). */
static void w_text(struct wbuf *w, const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	char e[4];

	for (; *p; p++)
		w_put(w, e, esc_byte(*p, ESC_SANITIZE, e));
}

static int w_finish(struct wbuf *w)
{
	if (w->size)
		w->buf[w->len < w->size ? w->len : w->size - 1] = '\0';
	return w->len > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)w->len;
}

int st_dec_record_format_text(const struct st_dec_record *r, char *buf,
			      size_t size)
{
	struct wbuf w = { buf, size, 0 };
	size_t i;

	w_str(&w, r->dir == ST_DIR_B_TO_A ? "  < " : "  > ");
	w_text(&w, r->decoder);
	w_putc(&w, ' ');
	w_text(&w, r->kind);
	w_str(&w, ": ");
	w_text(&w, r->summary);
	w_putc(&w, '\n');
	for (i = 0; i < r->nfields && r->fields; i++) {
		w_str(&w, "        ");
		w_text(&w, r->fields[i].key);
		w_str(&w, ": ");
		w_text(&w, r->fields[i].value);
		w_putc(&w, '\n');
	}
	return w_finish(&w);
}

/* Length of a valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t k, i;
	uint8_t lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	/* exclude overlong forms, surrogates and > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return k;
}

static void w_json(struct wbuf *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)str;
	size_t i = 0;

	w_putc(w, '"');
	while (i < n) {
		uint8_t c = p[i];
		size_t k;

		if (c == '"' || c == '\\') {
			w_putc(w, '\\');
			w_putc(w, (char)c);
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			w_putc(w, (char)c);
			i++;
		} else if (c >= 0x80 && (k = utf8_len(p + i, n - i))) {
			w_put(w, str + i, k);
			i += k;
		} else {
			/* control, DEL or a byte of invalid UTF-8 */
			w_str(w, "\\u00");
			w_putc(w, hex[c >> 4]);
			w_putc(w, hex[c & 15]);
			i++;
		}
	}
	w_putc(w, '"');
}

int st_dec_json_string(char *buf, size_t size, const char *s, size_t n)
{
	struct wbuf w = { buf, size, 0 };

	w_json(&w, s ? s : "", s ? n : 0);
	return w_finish(&w);
}

static void w_jstr(struct wbuf *w, const char *s)
{
	if (!s)
		s = "";
	w_json(w, s, strlen(s));
}

int st_dec_record_format_json(const struct st_dec_record *r, char *buf,
			      size_t size)
{
	struct wbuf w = { buf, size, 0 };
	char num[64];
	size_t i;

	snprintf(num, sizeof(num),
		 "{\"seq\":%llu,\"dir\":\"%s\",\"offset\":%llu",
		 (unsigned long long)r->seq,
		 r->dir == ST_DIR_B_TO_A ? "b>a" : "a>b",
		 (unsigned long long)r->offset);
	w_str(&w, num);
	w_str(&w, ",\"decoder\":");
	w_jstr(&w, r->decoder);
	w_str(&w, ",\"kind\":");
	w_jstr(&w, r->kind);
	w_str(&w, ",\"summary\":");
	w_jstr(&w, r->summary);
	w_str(&w, ",\"fields\":[");
	for (i = 0; i < r->nfields && r->fields; i++) {
		if (i)
			w_putc(&w, ',');
		w_str(&w, "{\"key\":");
		w_jstr(&w, r->fields[i].key);
		w_str(&w, ",\"value\":");
		w_jstr(&w, r->fields[i].value);
		w_putc(&w, '}');
	}
	w_str(&w, "]}");
	return w_finish(&w);
}
