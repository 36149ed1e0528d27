/*
 * The decoder framework: the bounds-checked reader, escaping, the record
 * builder and its caps, the renderers, --decode specs, decoder selection
 * and session behaviour (gaps, OOB, datagrams, record cap).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../decoders/dec_internal.h"
#include "decoders/dec_util.h"

/* ------------------------------------------------------------------ */
/* reader */

Test(reader, integers_bounds)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5 };
	struct st_rd r;
	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint32_t u32 = 0;

	st_rd_init(&r, b, sizeof(b));
	cr_assert_eq(st_rd_be32(&r, &u32), ST_DEC_OK);
	cr_assert_eq(u32, 0x01020304u);
	cr_assert_eq(st_rd_be16(&r, &u16), ST_DEC_NEED_MORE);
	cr_assert_eq(u16, 0);
	cr_assert_eq(st_rd_pos(&r), 4);
	cr_assert_eq(st_rd_be24(&r, &u32), ST_DEC_NEED_MORE);
	cr_assert_eq(u32, 0x01020304u, "unchanged on failure");
	cr_assert_eq(st_rd_u8(&r, &u8), ST_DEC_OK);
	cr_assert_eq(u8, 5);
	cr_assert_eq(st_rd_u8(&r, &u8), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_left(&r), 0);
	st_rd_init(&r, b, sizeof(b));
	cr_assert_eq(st_rd_be24(&r, &u32), ST_DEC_OK);
	cr_assert_eq(u32, 0x010203u);
	cr_assert_eq(st_rd_be16(&r, &u16), ST_DEC_OK);
	cr_assert_eq(u16, 0x0405);
}

Test(reader, views_seek_sub)
{
	static const uint8_t b[] = "abcdef";
	struct st_rd r, sub;
	const uint8_t *p = NULL;
	uint8_t c, buf[4];

	st_rd_init(&r, b, 6);
	cr_assert_eq(st_rd_peek(&r, 7, &p), ST_DEC_NEED_MORE);
	cr_assert_null(p);
	cr_assert_eq(st_rd_peek(&r, 6, &p), ST_DEC_OK);
	cr_assert_eq(st_rd_pos(&r), 0);
	cr_assert_eq(st_rd_peek_u8(&r, 5, &c), ST_DEC_OK);
	cr_assert_eq(c, 'f');
	cr_assert_eq(st_rd_peek_u8(&r, 6, &c), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_skip(&r, 7), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_skip(&r, 1), ST_DEC_OK);
	cr_assert_eq(st_rd_bytes(&r, buf, 2), ST_DEC_OK);
	cr_assert(!memcmp(buf, "bc", 2));
	cr_assert_eq(st_rd_sub(&r, 4, &sub), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_sub(&r, 2, &sub), ST_DEC_OK);
	cr_assert_eq(st_rd_size(&sub), 2);
	cr_assert_eq(st_rd_view(&sub, 3, &p), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_view(&sub, 2, &p), ST_DEC_OK);
	cr_assert(!memcmp(p, "de", 2));
	cr_assert_eq(st_rd_left(&r), 1);
	cr_assert_eq(st_rd_seek(&r, 7), ST_DEC_INVALID);
	cr_assert_eq(st_rd_seek(&r, 6), ST_DEC_OK);
	cr_assert_eq(st_rd_left(&r), 0);
	cr_assert_eq(st_dec_complete(ST_DEC_NEED_MORE), ST_DEC_INVALID);
	cr_assert_eq(st_dec_complete(ST_DEC_OK), ST_DEC_OK);

	st_rd_init(&r, NULL, 10);
	cr_assert_eq(st_rd_left(&r), 0);
	cr_assert_eq(st_rd_u8(&r, &c), ST_DEC_NEED_MORE);
}

Test(reader, crlf_and_lines)
{
	struct st_rd r;
	size_t off = 99, len = 0;
	const uint8_t *line = NULL;

	st_rd_init(&r, "ab\rc\r\nxy", 8);
	cr_assert_eq(st_rd_find_crlf(&r, 100, &off), ST_DEC_OK);
	cr_assert_eq(off, 4);
	cr_assert_eq(st_rd_find_crlf(&r, 5, &off), ST_DEC_INVALID);
	st_rd_init(&r, "abc\r", 4);
	cr_assert_eq(st_rd_find_crlf(&r, 100, &off), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_find_crlf(&r, 4, &off), ST_DEC_INVALID);

	st_rd_init(&r, "one\r\ntwo\nthr", 12);
	cr_assert_eq(st_rd_line(&r, 100, &line, &len), ST_DEC_OK);
	cr_assert_eq(len, 3);
	cr_assert(!memcmp(line, "one", 3));
	cr_assert_eq(st_rd_line(&r, 100, &line, &len), ST_DEC_OK);
	cr_assert(len == 3 && !memcmp(line, "two", 3));
	cr_assert_eq(st_rd_line(&r, 100, &line, &len), ST_DEC_NEED_MORE);
	cr_assert_eq(st_rd_line(&r, 3, &line, &len), ST_DEC_INVALID);
	cr_assert_eq(st_rd_left(&r), 3);
}

/* ------------------------------------------------------------------ */
/* escaping */

Test(escape, bytes_and_truncation)
{
	char b[64];
	size_t used;

	used = st_dec_escape(b, sizeof(b), "a\n\r\t\\\"\x01\xff", 8, true);
	cr_assert_eq(used, 8);
	cr_assert_str_eq(b, "a\\n\\r\\t\\\\\\\"\\x01\\xff");
	used = st_dec_escape(b, sizeof(b), "\"", 1, false);
	cr_assert_str_eq(b, "\"");
	/* never splits an escape */
	used = st_dec_escape(b, 4, "a\x01", 2, false);
	cr_assert_eq(used, 1);
	cr_assert_str_eq(b, "a");
	st_dec_preview(b, sizeof(b), "hello world", 11, 5, false);
	cr_assert_str_eq(b, "hello...");
	st_dec_preview(b, 8, "hello world", 11, 0, false);
	cr_assert_str_eq(b, "hell...");
	st_dec_preview(b, sizeof(b), "hi", 2, 5, false);
	cr_assert_str_eq(b, "hi");
}

/* ------------------------------------------------------------------ */
/* the record builder */

static struct st_dec_record got;
static char got_text[32768];
static int ndelivered;

static void capture(void *arg, struct st_dec_record *r)
{
	ndelivered++;
	got = *r;
	st_dec_record_format_text(r, got_text, sizeof(got_text));
	(void)arg;
}

Test(records, builder_caps_and_sanitising)
{
	static struct st_dec_out o;
	char big[1000];
	int i;

	memset(big, 'z', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	st_dec_out_init(&o, NULL, capture, NULL);
	o.decoder = "test";
	st_dec_begin(&o, ST_DIR_B_TO_A, "data");
	st_dec_summary(&o, "line\none %s", "\x1b[31mred");
	st_dec_field(&o, "k\ney", "v\tal");
	st_dec_field_bytes(&o, "raw", (const uint8_t *)"a\\b", 3, 0);
	st_dec_emit(&o);
	cr_assert_eq(ndelivered, 1);
	cr_assert_str_eq(got.summary, "line\\none \\x1b[31mred");
	cr_assert_str_eq(got.fields[0].key, "k\\ney");
	cr_assert_str_eq(got.fields[0].value, "v\\tal");
	cr_assert_str_eq(got.fields[1].value, "a\\\\b");
	cr_assert_eq(got.dir, ST_DIR_B_TO_A);
	cr_assert_str_eq(got_text, "  < test data: line\\none \\x1b[31mred\n"
			 "        k\\ney: v\\tal\n        raw: a\\\\b\n");

	st_dec_begin(&o, ST_DIR_A_TO_B, "note");
	st_dec_summary(&o, "%s", big);
	st_dec_summary_add(&o, "more");
	for (i = 0; i < 40; i++)
		st_dec_field(&o, "f", "%s", big);
	st_dec_emit(&o);
	cr_assert_eq(ndelivered, 2);
	cr_assert_eq(strlen(got.summary), ST_DEC_SUMMARY_MAX - 1);
	cr_assert(!strcmp(got.summary + strlen(got.summary) - 3, "..."));
	cr_assert_leq(got.nfields, ST_DEC_MAX_FIELDS);
	cr_assert_str_eq(got.fields[got.nfields - 1].key, "more");
	cr_assert(strstr(got.fields[got.nfields - 1].value,
			 "fields not shown"));
	for (i = 0; i < (int)got.nfields; i++)
		cr_assert_lt(strlen(got.fields[i].value), ST_DEC_VALUE_MAX);
	cr_assert(!strcmp(got.fields[0].value + strlen(got.fields[0].value) -
			  3, "..."));

	/* begin while open emits the open one; emit without begin: nothing */
	st_dec_begin(&o, ST_DIR_A_TO_B, "a");
	st_dec_begin(&o, ST_DIR_A_TO_B, "b");
	cr_assert_eq(ndelivered, 3);
	st_dec_emit(&o);
	st_dec_emit(&o);
	cr_assert_eq(ndelivered, 4);
	cr_assert_str_eq(got.kind, "b");
	cr_assert_str_eq(got.summary, "");
}

/* ------------------------------------------------------------------ */
/* renderers */

Test(render, text_and_json)
{
	struct st_dec_field f[2] = {
		{ "Host", "127.0.0.1:8000" },
		{ "odd", "q\"b\\s\x01\x7f\xc3\xa9\xff\xe0\x80" },
	};
	struct st_dec_record r = {
		.dir = ST_DIR_A_TO_B, .decoder = "http", .kind = "request",
		.summary = "GET / HTTP/1.1", .fields = f, .nfields = 2,
		.seq = 3, .offset = 77,
	};
	char buf[1024], small[10];
	int n;

	n = st_dec_record_format_json(&r, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"seq\":3,\"dir\":\"a>b\",\"offset\":77,"
			 "\"decoder\":\"http\",\"kind\":\"request\","
			 "\"summary\":\"GET / HTTP/1.1\",\"fields\":["
			 "{\"key\":\"Host\",\"value\":\"127.0.0.1:8000\"},"
			 "{\"key\":\"odd\",\"value\":\"q\\\"b\\\\s\\u0001"
			 "\\u007f\xc3\xa9\\u00ff\\u00e0\\u0080\"}]}");
	cr_assert_eq((size_t)n, strlen(buf));
	cr_assert(json_valid(buf, (size_t)n));
	cr_assert_eq(st_dec_record_format_json(&r, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);

	f[1].value = "x";
	n = st_dec_record_format_text(&r, buf, sizeof(buf));
	cr_assert_str_eq(buf, "  > http request: GET / HTTP/1.1\n"
			 "        Host: 127.0.0.1:8000\n        odd: x\n");
	cr_assert_eq((size_t)n, strlen(buf));
	cr_assert_eq(st_dec_record_format_text(&r, small, sizeof(small)), n);

	n = st_dec_json_string(buf, sizeof(buf), "a\nb\0c", 5);
	cr_assert_str_eq(buf, "\"a\\u000ab\\u0000c\"");
	cr_assert_eq(n, 17);
}

/* ------------------------------------------------------------------ */
/* specs */

Test(spec, good)
{
	static const char *const good[] = {
		NULL, "", "auto", "http", "HTTP:80", "http:8081,redis",
		"auto,dns:5353", "raw", "finger,tls:8443,auto",
	};
	struct st_decsel *sel;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(st_decsel_new(good[i], err, sizeof(err), &sel), 0,
			     "%s: %s", good[i], err);
		cr_assert(st_decsel_enabled(sel));
		st_decsel_free(sel);
	}
	cr_assert_eq(st_decsel_new("none", err, sizeof(err), &sel), 0);
	cr_assert(!st_decsel_enabled(sel));
	st_decsel_free(sel);
}

Test(spec, bad)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "bogus", "unknown decoder 'bogus'; known: finger, http, dns, "
			   "redis, tls, raw" },
		{ "http:", "bad port in 'http:'" },
		{ "http:0", "bad port" },
		{ "http:65536", "bad port" },
		{ "http:80x", "bad port" },
		{ "http:-1", "bad port" },
		{ ",", "bad decoder entry ''" },
		{ "http,,dns", "bad decoder entry ''" },
		{ "none,http", "'none' cannot be combined" },
		{ "auto:80", "'auto' cannot be combined" },
		{ "ht\x01tp", "unknown decoder 'ht\\x01tp'" },
	};
	struct st_decsel *sel = (void *)1;
	char err[256], many[400];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(st_decsel_new(bad[i].spec, err, sizeof(err), &sel),
			     -EINVAL, "%s", bad[i].spec);
		cr_assert_null(sel);
		cr_assert(strstr(err, bad[i].msg), "%s: got '%s'",
			  bad[i].spec, err);
	}
	memcpy(many, "http", 5);
	for (i = 1; i < 33; i++)
		memcpy(many + 4 + (i - 1) * 5, ",http", 6);
	cr_assert_eq(st_decsel_new(many, err, sizeof(err), &sel), -EINVAL);
	cr_assert(strstr(err, "too many"));
	/* a tiny error buffer is fine */
	cr_assert_eq(st_decsel_new("bogus", err, 4, &sel), -EINVAL);
	cr_assert_str_eq(err, "unk");
}

Test(spec, registry)
{
	char list[128];
	size_t i;

	cr_assert_eq(st_decoder_count(), 6);
	cr_assert_eq(st_decoder_at(st_decoder_count() - 1), st_decoder_raw());
	cr_assert_null(st_decoder_at(99));
	cr_assert_str_eq(st_decoder_find("Redis")->name, "redis");
	cr_assert_null(st_decoder_find("nope"));
	cr_assert_eq(st_decoder_list(list, sizeof(list)),
		     (int)strlen("finger, http, dns, redis, tls, raw"));
	cr_assert_str_eq(list, "finger, http, dns, redis, tls, raw");
	cr_assert_eq(st_decoder_list(list, 5), 34);
	cr_assert_str_eq(list, "fing");
	for (i = 0; i < st_decoder_count(); i++) {
		const struct st_decoder *d = st_decoder_at(i);

		cr_assert(d->name && d->summary && d->feed && d->transports);
	}
}

/* ------------------------------------------------------------------ */
/* selection */

static struct st_conv conv;

static void mkconv(enum st_proto proto, enum st_origin origin, uint16_t pa,
		   uint16_t pb)
{
	memset(&conv, 0, sizeof(conv));
	conv.proto = proto;
	conv.origin = origin;
	if (proto == ST_PROTO_UNIX_STREAM) {
		conv.a.family = conv.b.family = AF_UNIX;
		return;
	}
	conv.a.family = conv.b.family = AF_INET;
	conv.a.port = pa;
	conv.b.port = pb;
}

static const char *chosen(const char *spec)
{
	struct st_decsel *sel;
	struct st_decsess *s;
	static char name[32];

	cr_assert_eq(st_decsel_new(spec, NULL, 0, &sel), 0);
	cr_assert_eq(st_decsess_new(sel, &conv, NULL, NULL, &s), 0);
	snprintf(name, sizeof(name), "%s", st_decsess_name(s));
	st_decsess_free(s);
	st_decsel_free(sel);
	return name;
}

Test(select, by_port)
{
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 45000, 6379);
	cr_assert_str_eq(chosen(NULL), "redis");
	/* the server's port wins over the client's */
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 6379, 443);
	cr_assert_str_eq(chosen("auto"), "tls");
	mkconv(ST_PROTO_TCP, ST_ORIGIN_ACCEPT, 8080, 443);
	cr_assert_str_eq(chosen("auto"), "http");
	/* unknown roles: the lower port */
	mkconv(ST_PROTO_TCP, ST_ORIGIN_MIDSTREAM, 8080, 53);
	cr_assert_str_eq(chosen("auto"), "dns");
	mkconv(ST_PROTO_UDP, ST_ORIGIN_DGRAM, 5353, 5353);
	cr_assert_str_eq(chosen("auto"), "dns");
	/* transport must fit: no http over UDP */
	mkconv(ST_PROTO_UDP, ST_ORIGIN_CONNECT, 40000, 80);
	cr_assert_str_eq(chosen("auto"), "undecided");
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 41000);
	cr_assert_str_eq(chosen("auto"), "undecided");
}

Test(select, explicit)
{
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 7000);
	cr_assert_str_eq(chosen("redis:7000"), "redis");
	cr_assert_str_eq(chosen("http:7001"), "undecided");
	/* an explicit port beats a well-known one */
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 80);
	cr_assert_str_eq(chosen("tls:80"), "tls");
	/* portless: every conversation it can decode */
	cr_assert_str_eq(chosen("finger"), "finger");
	mkconv(ST_PROTO_UDP, ST_ORIGIN_CONNECT, 40000, 53);
	cr_assert_str_eq(chosen("finger"), "dns");
	/* several portless: their ports choose, else the probes */
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 6379);
	cr_assert_str_eq(chosen("http,redis"), "redis");
	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 41000);
	cr_assert_str_eq(chosen("http,redis"), "undecided");
	cr_assert_str_eq(chosen("raw"), "raw");
}

Test(select, none_gives_no_session)
{
	struct st_decsel *sel;
	struct st_decsess *s = (void *)1;
	struct st_event ev = { .type = ST_EV_END };

	mkconv(ST_PROTO_TCP, ST_ORIGIN_CONNECT, 40000, 80);
	cr_assert_eq(st_decsel_new("none", NULL, 0, &sel), 0);
	cr_assert_eq(st_decsess_new(sel, &conv, NULL, NULL, &s), 0);
	cr_assert_null(s);
	cr_assert_str_eq(st_decsess_name(s), "none");
	cr_assert_eq(st_decsess_feed(s, &ev), 0);
	st_decsess_free(s);
	st_decsel_free(sel);
}

static const struct { const char *dec; const char *bytes; size_t n;
		      unsigned flags; } samples[] = {
	{ "http", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 0 },
	{ "http", "HTTP/1.1 200 OK\r\n", 17, 0 },
	{ "redis", "*1\r\n$4\r\nPING\r\n", 14, 0 },
	{ "tls", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10, 0 },
	{ "dns", "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x61"
		 "\x00\x00\x01\x00\x01", 19, ST_DEC_F_DGRAM },
	{ "dns", "\x00\x13\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
		 "\x01\x61\x00\x00\x01\x00\x01", 21, 0 },
};

/* Each probe is sure of its own sample and not of the others'. */
Test(select, probe_matrix)
{
	size_t i, j;

	for (i = 0; i < st_decoder_count(); i++) {
		const struct st_decoder *d = st_decoder_at(i);

		if (!d->probe)
			continue;
		for (j = 0; j < sizeof(samples) / sizeof(samples[0]); j++) {
			int c = d->probe((const uint8_t *)samples[j].bytes,
					 samples[j].n, ST_DIR_A_TO_B,
					 samples[j].flags);
			bool own = !strcmp(d->name, samples[j].dec);

			cr_assert(c >= 0 && c <= 100);
			if (own)
				cr_assert_geq(c, ST_PROBE_SURE, "%s on own "
					      "sample %zu: %d", d->name, j, c);
			else
				cr_assert_lt(c, ST_PROBE_WEAK, "%s on %s "
					     "sample: %d", d->name,
					     samples[j].dec, c);
		}
		/* and never crash on nothing */
		cr_assert_eq(d->probe((const uint8_t *)"", 0, ST_DIR_A_TO_B,
				      0), 0);
	}
}

Test(select, probe_over_unix_socket)
{
	struct rec_log l = { 0 };
	const char *name = NULL;
	struct dec_conv c = { ST_PROTO_UNIX_STREAM, 0, 0, ST_ORIGIN_PAIR };
	struct step s[] = {
		{ 0, "GET /", 0, STEP_DATA, 0 },
		{ 0, "x HTTP/1.1\r\n\r\n", 0, STEP_DATA, 0 },
		{ 1, "HTTP/1.1 204 No Content\r\n\r\n", 0, STEP_DATA, 0 },
	};

	cr_assert_eq(dec_run("auto", &c, s, 3, NULL, &l, &name, NULL), 0);
	cr_assert_str_eq(name, "http");
	cr_assert(strstr(l.text, "request: GET /x HTTP/1.1"), "%s", l.text);
	rec_log_free(&l);
}

/* ------------------------------------------------------------------ */
/* session behaviour */

static const struct dec_conv TCP = { ST_PROTO_TCP, 40000, 40001,
				     ST_ORIGIN_CONNECT };

Test(session, gap_in_redis_falls_back)
{
	struct rec_log l = { 0 };
	bool fb = false;
	struct step s[] = {
		{ 0, "*1\r\n$4\r\nPING\r\n", 0, STEP_DATA, 0 },
		{ 0, NULL, 5, STEP_GAP, 0 },
		{ 0, "more", 0, STEP_DATA, 0 },
	};

	cr_assert_eq(dec_run("redis", &TCP, s, 3, NULL, &l, NULL, &fb), 0);
	cr_assert(fb);
	cr_assert(strstr(l.text, "command: PING"), "%s", l.text);
	cr_assert(strstr(l.text, "gap: 5 bytes lost (test gap)"), "%s", l.text);
	cr_assert(strstr(l.text, "invalid redis data at offset 14"), "%s",
		  l.text);
	cr_assert(strstr(l.text, "raw data: 4 bytes"), "%s", l.text);
	rec_log_free(&l);
}

Test(session, oob_is_a_note)
{
	struct rec_log l = { 0 };
	struct step s[] = {
		{ 0, "GET / HTTP/1.1\r\n", 0, STEP_DATA, 0 },
		{ 0, "!", 0, STEP_DATA, ST_EVF_OOB },
		{ 0, "\r\n", 0, STEP_DATA, 0 },
	};

	cr_assert_eq(dec_run("http", &TCP, s, 3, NULL, &l, NULL, NULL), 0);
	cr_assert(strstr(l.text, "note: out-of-band data, 1 bytes\n"
			 "        bytes: !\n"), "%s", l.text);
	cr_assert(strstr(l.text, "request: GET / HTTP/1.1"), "%s", l.text);
	rec_log_free(&l);
}

Test(session, truncated_datagram)
{
	static const char ans[] =
		"\xf4\x2d\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00\x03\x77\x77"
		"\x77\x00\x00\x01\x00\x01\xc0\x0c\x00\x01";
	struct rec_log l = { 0 };
	struct dec_conv c = { ST_PROTO_UDP, 40000, 53, ST_ORIGIN_CONNECT };
	bool fb = true;
	struct step s[] = {
		{ 1, ans, sizeof(ans) - 1, STEP_DATA,
		  ST_EVF_DGRAM | ST_EVF_TRUNC },
	};

	cr_assert_eq(dec_run("auto", &c, s, 1, NULL, &l, NULL, &fb), 0);
	cr_assert(!fb, "%s", l.text);
	cr_assert(strstr(l.text, "answer 0xf42d NOERROR A www."), "%s",
		  l.text);
	cr_assert(strstr(l.text, "truncated: datagram of 25 bytes, 25 read"),
		  "%s", l.text);
	rec_log_free(&l);
}

/* A datagram sent in parts (sendmsg of several buffers) is decoded
 * whole; parts cut short by a gap are decoded as a cut datagram. */
Test(session, datagram_in_parts)
{
	static const char q[] =
		"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
		"\x07" "example" "\x03" "com" "\x00\x00\x01\x00\x01";
	struct rec_log l = { 0 };
	struct dec_conv c = { ST_PROTO_UDP, 40000, 53, ST_ORIGIN_CONNECT };
	const unsigned part = ST_EVF_DGRAM | ST_EVF_PART;
	bool fb = true;
	struct step whole[] = {
		{ 0, q, 5, STEP_DATA, part },
		{ 0, q + 5, 7, STEP_DATA, part },
		{ 0, q + 12, sizeof(q) - 1 - 12, STEP_DATA, ST_EVF_DGRAM },
		/* the next query, whole */
		{ 0, q, sizeof(q) - 1, STEP_DATA, ST_EVF_DGRAM },
	};
	struct step cut[] = {
		{ 0, q, 12, STEP_DATA, part },
		{ 0, NULL, 17, STEP_GAP, 0 },
	};

	cr_assert_eq(dec_run("auto", &c, whole, 4, NULL, &l, NULL, &fb), 0);
	cr_assert(!fb, "%s", l.text);
	cr_assert_eq(l.records, 2, "%s", l.text);
	cr_assert(strstr(l.text, "query 0x1234 A example.com."), "%s", l.text);
	cr_assert(!strstr(l.text, "raw"), "%s", l.text);
	rec_log_free(&l);

	memset(&l, 0, sizeof(l));
	cr_assert_eq(dec_run("dns", &c, cut, 2, NULL, &l, NULL, NULL), 0);
	cr_assert(strstr(l.text, "datagram of 29 bytes, 12 read"), "%s",
		  l.text);
	cr_assert(strstr(l.text, "gap: 17 bytes lost"), "%s", l.text);
	rec_log_free(&l);
}

Test(session, record_cap)
{
	static char q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			  "\x01\x61\x00\x00\x01\x00\x01";
	struct st_decsel *sel;
	struct st_decsess *s;
	struct rec_log l = { 0 };
	struct st_event ev = { .type = ST_EV_DATA, .data = (uint8_t *)q,
			       .len = sizeof(q) - 1, .flags = ST_EVF_DGRAM };
	int i;

	mkconv(ST_PROTO_UDP, ST_ORIGIN_CONNECT, 40000, 53);
	cr_assert_eq(st_decsel_new(NULL, NULL, 0, &sel), 0);
	cr_assert_eq(st_decsess_new(sel, &conv, rec_log_record, &l, &s), 0);
	for (i = 0; i < ST_DEC_MAX_RECORDS + 10; i++)
		cr_assert_eq(st_decsess_feed(s, &ev), 0);
	ev.type = ST_EV_END;
	st_decsess_feed(s, &ev);
	/* nothing after END */
	ev.type = ST_EV_DATA;
	st_decsess_feed(s, &ev);
	cr_assert_eq(l.records, ST_DEC_MAX_RECORDS + 1);
	cr_assert(strstr(l.text, "note: 10 more records not shown"));
	cr_assert_eq(st_decsess_records(s), ST_DEC_MAX_RECORDS + 1);
	st_decsess_free(s);
	st_decsel_free(sel);
	rec_log_free(&l);
}

/* raw makes one record of a run of bytes: up to a line's end, or until
 * the other side speaks, however many reads it took (ssh reads its
 * peer's banner a byte at a time). */
Test(session, raw_records_runs_not_reads)
{
	static const char banner[] = "SSH-2.0-Fake_1.0\r\n";
	struct rec_log l = { 0 };
	struct step s[64];
	size_t n = 0;

	s[n++] = (struct step){ 0, "SSH-2.0-Client\r\n", 0, STEP_DATA, 0 };
	for (size_t i = 0; i < sizeof(banner) - 1; i++)
		s[n++] = (struct step){ 1, banner + i, 1, STEP_DATA, 0 };
	/* binary, no line end: one run until the other side speaks */
	s[n++] = (struct step){ 0, "\x01\x02", 2, STEP_DATA, 0 };
	s[n++] = (struct step){ 0, "\x03\x04", 2, STEP_DATA, 0 };
	s[n++] = (struct step){ 1, "\x05", 1, STEP_DATA, 0 };
	/* held at the end: shown at the end */
	s[n++] = (struct step){ 0, "tail", 0, STEP_DATA, 0 };

	cr_assert_eq(dec_run("raw", &TCP, s, n, NULL, &l, NULL, NULL), 0);
	cr_assert_eq(l.records, 5, "%s", l.text);
	cr_assert(strstr(l.text, "< raw data: 18 bytes, text\n"
			 "        text: SSH-2.0-Fake_1.0\\r\\n\n"), "%s",
		  l.text);
	cr_assert(strstr(l.text, "> raw data: 4 bytes, binary"), "%s", l.text);
	cr_assert(strstr(l.text, "< raw data: 1 bytes, binary"), "%s", l.text);
	cr_assert(strstr(l.text, "> raw data: 4 bytes, text\n"
			 "        text: tail\n"), "%s", l.text);
	rec_log_free(&l);
}

Test(session, raw_caps_its_output)
{
	static uint8_t junk[64 * 1024];
	struct rec_log l = { 0 };
	struct step s[4];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < 4; i++)
		s[i] = (struct step){ 0, (const char *)junk, sizeof(junk),
				      STEP_DATA, 0 };
	/* each record shows 128 bytes of binary */
	cr_assert_eq(dec_run("raw", &TCP, s, 4, NULL, &l, NULL, NULL), 0);
	cr_assert_lt(l.len, 8000, "%zu", l.len);
	cr_assert(strstr(l.text, "more: 65408 bytes not shown\n"), "%s",
		  l.text);
	cr_assert(strstr(l.text, "note: raw: 261632 bytes not shown\n"), "%s",
		  l.text);
	rec_log_free(&l);
	/* 16 KiB shown per direction at most: then only counted (each
	 * 128-byte chunk ends a line, so each is a run of its own) */
	memset(&l, 0, sizeof(l));
	for (i = 0; i < 200; i++)
		junk[i * 128 + 127] = '\n';
	{
		struct chunking ch = { .bytewise = false };
		struct step many[200];

		for (i = 0; i < 200; i++)
			many[i] = (struct step){ 0, (const char *)junk + i * 128,
						 128, STEP_DATA, 0 };
		cr_assert_eq(dec_run("raw", &TCP, many, 200, &ch, &l, NULL,
				     NULL), 0);
	}
	cr_assert_eq(l.records, 129, "%zu", l.records);
	cr_assert(strstr(l.text, "note: raw: 9216 bytes not shown (72 chunks "
			 "past the 16384-byte limit)"), "%s", l.text);
	rec_log_free(&l);
}
