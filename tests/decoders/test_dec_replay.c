/*
 * Replays the fuzz corpus (real captures) and any crash inputs through
 * the fuzz harness, so every fuzz finding stays a regression test even
 * without clang.  Corpus files must decode without falling back to raw,
 * be recognised by the probes alone ("auto" on neutral ports), and give
 * the same records whatever the chunking.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/fuzz/harness.h"

static const char *const decs[] = { "finger", "http", "dns", "redis", "tls",
				    "raw", "auto" };

static uint8_t *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)sz + 1);
		if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
			free(p);
			p = NULL;
		}
		*n = (size_t)sz;
	}
	fclose(f);
	return p;
}

typedef void (*file_fn)(const char *dec, const char *path,
			const uint8_t *p, size_t n);

static size_t each_file(const char *sub, file_fn fn)
{
	char dir[512], path[1024];
	size_t i, count = 0;

	for (i = 0; i < sizeof(decs) / sizeof(decs[0]); i++) {
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/tests/decoders/fuzz/%s/%s",
			 ST_SOURCE_DIR, sub, decs[i]);
		d = opendir(dir);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			uint8_t *p;
			size_t n = 0;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			p = load(path, &n);
			cr_assert_not_null(p, "cannot read %s", path);
			fn(decs[i], path, p, n);
			free(p);
			count++;
		}
		closedir(d);
	}
	return count;
}

static void replay_one(const char *dec, const char *path, const uint8_t *p,
		       size_t n)
{
	char why[256];
	size_t i;

	cr_assert_eq(st_fuzz_one(dec, p, n, why, sizeof(why)), 0, "%s: %s",
		     path, why);
	/* and through auto, and as raw */
	cr_assert_eq(st_fuzz_one("auto", p, n, why, sizeof(why)), 0, "%s: %s",
		     path, why);
	cr_assert_eq(st_fuzz_one("raw", p, n, why, sizeof(why)), 0, "%s: %s",
		     path, why);
	/* other chunkings of the same input */
	if (n > 1 && n < 64 * 1024) {
		uint8_t *q = malloc(n);

		cr_assert_not_null(q);
		memcpy(q, p, n);
		for (i = 1; i < 8; i++) {
			q[0] = (uint8_t)((p[0] & 3) | i << 2);
			cr_assert_eq(st_fuzz_one(dec, q, n, why, sizeof(why)),
				     0, "%s seed %zu: %s", path, i, why);
		}
		free(q);
	}
}

static void check_capture(const char *dec, const char *path,
			  const uint8_t *p, size_t n)
{
	struct rec_log base = { 0 }, l = { 0 };
	const char *name = NULL;
	bool fb = true;
	uint8_t *q;
	size_t i;

	if (!strcmp(dec, "raw") || !strcmp(dec, "auto"))
		return;
	cr_assert_eq(st_fuzz_run(dec, p, n, &base, &name, &fb), 0, "%s: %s",
		     path, base.why);
	cr_assert(!fb, "%s fell back to raw:\n%s", path, base.text);
	cr_assert_gt(base.records, 1, "%s", path);
	cr_assert_eq(base.notes, 0, "%s has notes:\n%s", path, base.text);
	cr_assert_eq(st_fuzz_run("auto", p, n, &l, &name, &fb), 0);
	cr_assert_str_eq(name, dec, "%s: probes chose %s", path, name);
	cr_assert_str_eq(l.text, base.text, "%s: auto differs", path);
	rec_log_free(&l);
	q = malloc(n);
	cr_assert_not_null(q);
	memcpy(q, p, n);
	for (i = 1; i < 64; i += 9) {
		q[0] = (uint8_t)((p[0] & 3) | i << 2);
		memset(&l, 0, sizeof(l));
		cr_assert_eq(st_fuzz_run(dec, q, n, &l, NULL, NULL), 0);
		cr_assert_str_eq(l.text, base.text, "%s: chunking seed %zu "
				 "changes the records", path, i);
		rec_log_free(&l);
	}
	free(q);
	rec_log_free(&base);
}

Test(replay, corpus)
{
	cr_assert_gt(each_file("corpus", replay_one), 10);
}

Test(replay, crashes)
{
	each_file("crashes", replay_one);
}

Test(replay, real_captures_decode_cleanly)
{
	cr_assert_gt(each_file("corpus", check_capture), 10);
}

/* What the real captures must show. */
static const struct { const char *file, *spec; const char *want[8]; }
expect[] = {
	{ "tls/tls-sni-tls-tcp-01.bin", "auto", {
		"> tls hello: ClientHello TLS 1.3, SNI www.example.test, ALPN h2, "
		"http/1.1\n", "supported_versions: TLS 1.3, TLS 1.2",
		"< tls hello: ServerHello TLS 1.3, 0x1302 "
		"TLS_AES_256_GCM_SHA384\n", "selected_version: TLS 1.3",
		"< tls data: encrypted ", "> tls data: encrypted " } },
	{ "tls/tls-sni-tls-tcp-02.bin", "auto", {
		"ClientHello TLS 1.2, SNI www.example.test, ALPN http/1.1\n",
		"ServerHello TLS 1.2, 0xc02c "
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ALPN http/1.1\n",
		"< tls handshake: Certificate", "certificates: 1",
		"< tls handshake: ServerHelloDone, 0 bytes",
		"> tls handshake: ClientKeyExchange",
		"< tls handshake: NewSessionTicket", "tls data: encrypted" } },
	{ "http/http-tcp-06.bin", "auto", {
		"> http request: POST /index.html HTTP/1.1\n",
		"Transfer-Encoding: chunked", "body: 15 bytes, chunked",
		"preview: hello=world&x=1",
		"< http response: HTTP/1.0 501 Unsupported method ('POST')",
		"request: POST /index.html\n", "body: 357 bytes" } },
	{ "redis/redis-tcp-03.bin", "auto", {
		"> redis command: HELLO \"3\"",
		"< redis reply: {7} \"server\" \"redis\"", "type: map",
		"> redis command: HGETALL \"h\"",
		"< redis reply: {2} \"f1\" \"v1\" \"f2\" \"v2\"" } },
	{ "dns/dns-tcp-01.bin", "auto", {
		"> dns query: query", "A www.example.test.",
		"< dns answer: answer", "-> 127.0.0.5" } },
	{ "finger/finger-tcp-02.bin", "auto", {
		"> finger query: list users\n", "< finger response: 5 lines" } },
};

Test(replay, capture_contents)
{
	char path[512];
	size_t i, j, n = 0;

	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		struct rec_log l = { 0 };
		const char *p;
		uint8_t *b;

		snprintf(path, sizeof(path), "%s/tests/decoders/fuzz/corpus/%s",
			 ST_SOURCE_DIR, expect[i].file);
		b = load(path, &n);
		cr_assert_not_null(b, "%s", path);
		cr_assert_eq(st_fuzz_run(expect[i].spec, b, n, &l, NULL, NULL),
			     0, "%s", path);
		p = l.text;
		for (j = 0; j < 8 && expect[i].want[j]; j++) {
			const char *q = strstr(p, expect[i].want[j]);

			cr_assert_not_null(q, "%s: missing \"%s\" in:\n%s",
					   path, expect[i].want[j], l.text);
			p = q + strlen(expect[i].want[j]);
		}
		rec_log_free(&l);
		free(b);
	}
}
