/* The JSON Lines sink, read back by jq. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/out_sinks.h"
#include "out/outputs.h"
#include "outputs/fake.h"

static struct fk fk;
static char *dir;
static char path[512];
static FILE *out;

static void setup(void)
{
	fk_init(&fk);
	dir = fk_tmpdir();
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	out = fopen(path, "w");
	cr_assert_not_null(out);
}

static void teardown(void)
{
	fk_destroy(&fk);
	if (out)
		fclose(out);
	fk_rmtree(dir);
	free(dir);
}

TestSuite(json, .init = setup, .fini = teardown);

static void add_json(unsigned flags)
{
	struct st_sink s;

	cr_assert_eq(st_json_sink_new_flags(out, flags, &s), 0);
	cr_assert_str_eq(s.name, "json");
	fk_add(&fk, &s);
}

/* jq FILTER over the output file; its stdout (must exit 0). */
static char *jq(const char *filter, bool slurp)
{
	char *argv[] = { "jq", "-r", slurp ? "-s" : "-c", (char *)filter,
			 path, NULL };
	char *o;
	int rc;

	fflush(out);
	rc = fk_run(argv, NULL, &o, NULL);
	cr_assert_eq(rc, 0, "jq '%s' failed (%d)", filter, rc);
	/* one value: drop the trailing newline */
	if (*o && o[strlen(o) - 1] == '\n')
		o[strlen(o) - 1] = '\0';
	return o;
}

static void jq_is(const char *filter, bool slurp, const char *want)
{
	char *got = jq(filter, slurp);

	cr_assert_str_eq(got, want, "jq '%s'", filter);
	free(got);
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes padded base64 (test helper, strict); returns the length. */
static size_t b64dec(const char *s, uint8_t *outb, size_t cap)
{
	size_t n = strlen(s), k = 0;

	cr_assert_eq(n % 4, 0, "base64 length %zu", n);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int j = 0; j < 4; j++) {
			v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
			cr_assert_geq(v[j], 0, "bad base64 char");
		}
		cr_assert_leq(k + 3, cap);
		outb[k++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			outb[k++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			outb[k++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	return k;
}

Test(json, events_parse_back)
{
	struct st_conv *c = fk_conv(&fk, 3, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("10.1.2.3", 80));
	uint8_t all[256], got[512];
	char *b64;
	size_t n;

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	add_json(0);
	cr_assert_eq(fk_open(&fk, c), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, all, 256, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_B_TO_A, "HTTP/1.1 200 OK\r\n", 17,
			     0, 0), 0);
	/* 1 and 2 bytes: both padding cases */
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "x", 1, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "yz", 2, ST_EVF_OOB, 0),
		     0);
	cr_assert_eq(fk_gap(&fk, c, ST_DIR_B_TO_A, 42, "tracee gone"), 0);
	cr_assert_eq(fk_fin(&fk, c, ST_DIR_A_TO_B), 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);

	jq_is("length", true, "8");
	jq_is("map(.type)|join(\",\")", true,
	      "open,data,data,data,data,gap,fin,end");
	jq_is("map(.seq|tostring)|join(\",\")", true, "1,2,3,4,5,6,7,8");
	jq_is("map(.conv)|unique|map(tostring)|join(\",\")", true, "3");
	jq_is("select(.type==\"open\")|[.proto,.origin,.a.family,.a.addr,"
	      ".a.port,.b.addr,.b.port,.pid,.tid,.comm,.fd,.syscall,"
	      "(has(\"dir\"))]|map(tostring)|join(\" \")", false,
	      "TCP connect inet 127.0.0.1 41234 10.1.2.3 80 4242 4243 client "
	      "5 connect false");
	jq_is("select(.type==\"open\")|.ts==1700000000", false, "true");
	jq_is("[.[]|select(.type==\"data\")|.ts]|map(.-1700000000)|"
	      "map(.*1000|round|tostring)|join(\",\")", true, "1,2,3,4");
	jq_is("[.[]|select(.type==\"data\")|\"\\(.dir):\\(.offset):\\(.len)\"]"
	      "|join(\" \")", true, "a2b:0:256 b2a:0:17 a2b:256:1 a2b:257:2");
	jq_is("select(.type==\"data\" and .dir==\"b2a\")|.data_b64|@base64d",
	      false, "HTTP/1.1 200 OK\r\n");
	jq_is("select(.type==\"data\" and .len==2)|[.oob,.data_b64]|"
	      "map(tostring)|join(\" \")", false, "true eXo=");
	jq_is("select(.type==\"data\" and .len==1)|.data_b64", false, "eA==");
	jq_is("select(.type==\"gap\")|[.dir,.offset,.len,.reason]|"
	      "map(tostring)|join(\" \")", false, "b2a 17 42 tracee gone");
	jq_is("select(.type==\"fin\")|[.dir,.offset]|map(tostring)|join(\" \")",
	      false, "a2b 259");
	jq_is("select(.type==\"end\")|[.end,.bytes.a2b,.bytes.b2a,"
	      ".gap_bytes.b2a,.chunks.a2b,(.pids|map(tostring)|join(\",\")),"
	      ".decoder,"
	      "(.last-.first|.*1000|round)]|map(tostring)|join(\" \")",
	      false, "fin 259 17 42 3 4242 null 7");

	b64 = jq("select(.type==\"data\" and .len==256)|.data_b64", false);
	n = b64dec(b64, got, sizeof(got));
	cr_assert_eq(n, 256);
	cr_assert_arr_eq(got, all, 256, "base64 decodes to the bytes sent");
	free(b64);
	free(c);
}

Test(json, hex_option_and_datagram_flags)
{
	struct st_conv *c = fk_conv(&fk, 9, ST_PROTO_UDP, ST_ORIGIN_DGRAM,
				    fk_ep6("::1", 5353), fk_ep6("fe80::1", 53));

	add_json(ST_JSON_HEX);
	fk_open(&fk, c);
	fk_data(&fk, c, ST_DIR_B_TO_A, "\x00\xab\xff", 3,
		ST_EVF_DGRAM | ST_EVF_TRUNC | ST_EVF_PART, 1500);
	fk_end(&fk, c);
	jq_is("select(.type==\"open\")|[.proto,.origin,.a.family,.a.addr,"
	      ".b.addr,.b.port]|map(tostring)|join(\" \")", false,
	      "UDP dgram inet6 ::1 fe80::1 53");
	jq_is("select(.type==\"data\")|[.data_hex,.dgram,.trunc,.orig_len,"
	      ".part,has(\"data_b64\")]|map(tostring)|join(\" \")", false,
	      "00abff true true 1500 true false");
	jq_is("select(.type==\"end\")|.end", false, "closed");
	free(c);
}

/* The escaper, byte for byte. */
static char *esc(const void *s, size_t n, bool *lossy)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	*lossy = st_json_escape(m, s, n);
	fclose(m);
	return buf;
}

Test(json, escape_table)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
		bool lossy;
	} t[] = {
		{ "plain", 5, "plain", false },
		{ "q\"b\\", 4, "q\\\"b\\\\", false },
		{ "\n\r\t\x01\x1f\x7f", 6,
		  "\\n\\r\\t\\u0001\\u001f\\u007f", false },
		{ "a\0b", 3, "a\\u0000b", false },
		/* valid UTF-8 kept: é, €, U+1F600, U+10FFFF */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13,
		  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		  false },
		{ "\xff", 1, "\\u00ff", true },
		{ "\xc0\x80", 2, "\\u00c0\\u0080", true },	/* overlong */
		{ "\xe0\x80\xaf", 3, "\\u00e0\\u0080\\u00af", true },
		{ "\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080", true }, /* D800 */
		{ "\xf4\x90\x80\x80", 4, "\\u00f4\\u0090\\u0080\\u0080", true },
		{ "ok\xe2\x82", 4, "ok\\u00e2\\u0082", true },	/* cut */
		{ "\xc3(", 2, "\\u00c3(", true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		bool lossy;
		char *got = esc(t[i].in, t[i].n, &lossy);

		cr_assert_str_eq(got, t[i].want, "case %zu", i);
		cr_assert_eq(lossy, t[i].lossy, "case %zu", i);
		free(got);
	}
}

Test(json, odd_strings_stay_valid_json)
{
	static const char path1[] = "/tmp/a \"b\"\\c\nd\xff";
	static const char abs[] = "x\0y";
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_UNIX_STREAM,
				    ST_ORIGIN_ACCEPT,
				    fk_epu(path1, sizeof(path1) - 1, false),
				    fk_epu(abs, 3, true));
	struct st_conv *c2 = fk_conv(&fk, 2, ST_PROTO_UNIX_DGRAM,
				     ST_ORIGIN_PAIR, fk_epu("", 0, false),
				     fk_epu("", 0, false));

	add_json(0);
	fk.comm = "caf\xc3\xa9\x01\xfe\"";
	fk_open(&fk, c);
	fk_open(&fk, c2);
	jq_is("length", true, "2");
	jq_is("select(.conv==1)|.comm", false, "caf\xc3\xa9\x01\xc3\xbe\"");
	jq_is("select(.conv==1)|.a|[.family,.path,.path_hex,"
	      "has(\"abstract\")]|map(tostring)|join(\"|\")", false,
	      "unix|/tmp/a \"b\"\\c\nd\xc3\xbf|"
	      "2f746d702f61202262225c630a64ff|false");
	jq_is("select(.conv==1)|.b|[(.path|explode|map(tostring)|join(\",\")),"
	      ".abstract,has(\"path_hex\")]|map(tostring)|join(\"|\")", false,
	      "120,0,121|true|false");
	jq_is("select(.conv==2)|[.proto,.origin,.a.path]|join(\"|\")", false,
	      "UNIX-DGRAM|pair|");
	free(c);
	free(c2);
}

Test(json, dev_full_fails_once)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 1),
				    fk_ep4("127.0.0.1", 2));
	FILE *full = fopen("/dev/full", "w");
	struct st_sink s;

	cr_assert_not_null(full);
	cr_assert_eq(st_json_sink_new(full, &s), 0);
	fk_add(&fk, &s);
	cr_assert_eq(fk_open(&fk, c), -ENOSPC);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "abc", 3, 0, 0), 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);
	fk_destroy(&fk);
	fclose(full);
	free(c);
}

Test(json, closed_pipe_is_epipe)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 1),
				    fk_ep4("127.0.0.1", 2));
	struct st_sink s;
	int p[2];
	FILE *w;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	w = fdopen(p[1], "w");
	cr_assert_eq(st_json_sink_new(w, &s), 0);
	fk_add(&fk, &s);
	cr_assert_eq(fk_open(&fk, c), -EPIPE);
	cr_assert_eq(fk_finish(&fk), 0);
	fk_destroy(&fk);
	fclose(w);
	free(c);
}

/* 64 MiB through the sink: memory does not follow the stream. */
Test(json, long_stream_keeps_memory_flat)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 1),
				    fk_ep4("127.0.0.1", 2));
	FILE *null = fopen("/dev/null", "w");
	static uint8_t chunk[65536];
	struct st_sink s;
	long before;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 131 + 7);
	cr_assert_eq(st_json_sink_new(null, &s), 0);
	fk_add(&fk, &s);
	fk_open(&fk, c);
	/* warm up (stdio buffers, first allocations) before measuring */
	fk_data(&fk, c, ST_DIR_A_TO_B, chunk, sizeof(chunk), 0, 0);
	before = fk_maxrss_kib();
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(fk_data(&fk, c, i & 1, chunk, sizeof(chunk), 0,
				     0), 0);
	fk_end(&fk, c);
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert_lt(fk_maxrss_kib() - before, 4096,
		     "RSS grew %ld KiB over 64 MiB", fk_maxrss_kib() - before);
	cr_assert_eq(c->bytes[0] + c->bytes[1], 1025ull * 65536);
	fk_destroy(&fk);
	fclose(null);
	free(c);
}

/* --json FILE / --hexdump=FILE: a new file is 0600, an existing one is
 * replaced (not appended to, not left with a longer old tail). */
Test(json, output_file_created_or_replaced)
{
	char err[256], buf[64];
	struct stat st;
	FILE *f;
	mode_t um;

	fclose(out);
	out = NULL;
	unlink(path);
	um = umask(0);
	f = st_output_open(path, NULL, err, sizeof(err));
	umask(um);
	cr_assert_not_null(f, "%s", err);
	fputs("new\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode);
	cr_assert_eq(st.st_size, 4);

	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("an old, longer content\n", f);
	fclose(f);
	f = st_output_open(path, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	fputs("next\n", f);
	cr_assert_eq(fclose(f), 0);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(buf, 1, sizeof(buf), f), 5);
	fclose(f);
	cr_assert_eq(memcmp(buf, "next\n", 5), 0);
}
