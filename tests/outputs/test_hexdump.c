/* The hexdump sink fed hand-made conversations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out/out_sinks.h"
#include "outputs/fake.h"

static struct fk fk;
static char *text;
static size_t text_len;
static FILE *mem;

static void setup(void)
{
	/* times print in local time: make it known */
	setenv("TZ", "UTC", 1);
	tzset();
	fk_init(&fk);
	mem = open_memstream(&text, &text_len);
	cr_assert_not_null(mem);
}

static void teardown(void)
{
	fk_destroy(&fk);
	if (mem)
		fclose(mem);
	free(text);
}

static void add_hexdump(bool color)
{
	struct st_sink s;

	cr_assert_eq(st_hexdump_sink_new(mem, color, &s), 0);
	cr_assert_str_eq(s.name, "hexdump");
	fk_add(&fk, &s);
}

/* The conversation every test here uses. */
static struct st_conv *tcp_conv(void)
{
	return fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
		       fk_ep4("127.0.0.1", 41234), fk_ep4("127.0.0.1", 8000));
}

static void run_session(struct st_conv *c)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t bin[] = { 0x00, 0x7f, 0x80, 0xff, 'A' };

	cr_assert_eq(fk_open(&fk, c), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, req, 27, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_B_TO_A, bin, 5, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "abc", 3, 0, 0), 0);
	cr_assert_eq(fk_gap(&fk, c, ST_DIR_B_TO_A, 100,
			    "tracee memory unreadable"), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_B_TO_A, "Z", 1, 0, 0), 0);
	cr_assert_eq(fk_fin(&fk, c, ST_DIR_A_TO_B), 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);
	fflush(mem);
}

TestSuite(hexdump, .init = setup, .fini = teardown);

Test(hexdump, exact_text_without_colour)
{
	struct st_conv *c = tcp_conv();
	const char *want =
	"=== conv 1 TCP A=127.0.0.1:41234 B=127.0.0.1:8000 (connect) "
	"2023-11-14 22:13:20.000000 client[4242] connect(fd 5)\n"
	"> conv 1 A->B 22:13:20.001000 27 bytes @0 client[4242] write(fd 5)\n"
	"> 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a"
	"  |GET / HTTP/1.1..|\n"
	"> 00000010  48 6f 73 74 3a 20 78 0d  0a 0d 0a"
	/* 5 missing bytes: 15 spaces, then the two separators */
	"               "
	"  |Host: x....|\n"
	"< conv 1 B->A 22:13:20.002000 5 bytes @0 client[4242] read(fd 5)\n"
	"< 00000000  00 7f 80 ff 41"
	/* 3 + 8 missing bytes and the middle space: 34 */
	"                                  "
	"  |....A|\n"
	"> conv 1 A->B 22:13:20.003000 3 bytes @27 client[4242] write(fd 5)\n"
	"> 0000001b  61 62 63"
	"                                        " /* 13 missing: 40 */
	"  |abc|\n"
	"< conv 1 B->A 22:13:20.004000 GAP 100 bytes @5 "
	"(tracee memory unreadable) client[4242] read(fd 5)\n"
	"< conv 1 B->A 22:13:20.005000 1 bytes @105 client[4242] read(fd 5)\n"
	"< 00000069  5a"
	"                                              " /* 15 missing: 46 */
	"  |Z|\n"
	"> conv 1 A->B 22:13:20.006000 FIN @30 client[4242] shutdown(fd 5)\n"
	"=== conv 1 end: FIN, A->B 30 bytes, B->A 6 bytes (+100 gap) "
	"22:13:20.007000\n";

	add_hexdump(false);
	run_session(c);
	cr_assert_str_eq(text, want);
	cr_assert_null(strchr(text, '\033'), "no escape codes without colour");
	free(c);
}

/* Every row has its '|' in the same column, whatever its length. */
Test(hexdump, rows_align)
{
	struct st_conv *c = tcp_conv();
	uint8_t buf[40];
	char *line, *save = NULL;
	int rows = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	add_hexdump(false);
	fk_open(&fk, c);
	for (size_t n = 1; n <= sizeof(buf); n++)
		cr_assert_eq(fk_data(&fk, c, n & 1, buf, n, 0, 0), 0);
	fflush(mem);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *bar;

		if (strncmp(line, "> 0", 3) && strncmp(line, "< 0", 3))
			continue;
		bar = strchr(line, '|');
		cr_assert_not_null(bar, "%s", line);
		cr_assert_eq(bar - line, 62, "misaligned: '%s'", line);
		cr_assert_eq(line[strlen(line) - 1], '|');
		rows++;
	}
	/* ceil(n / 16) rows for n = 1..40 */
	cr_assert_eq(rows, 16 * 1 + 16 * 2 + 8 * 3);
	free(c);
}

Test(hexdump, colour_when_forced)
{
	struct st_conv *c = tcp_conv();
	char *p;

	add_hexdump(true);
	run_session(c);
	cr_assert_not_null(strstr(text, "\033[1m=== conv 1 TCP"));
	cr_assert_not_null(strstr(text,
		"\033[31m> 00000000  47 45 54 20"), "A->B rows red");
	cr_assert_not_null(strstr(text, "\033[34m< 00000000  00 7f"),
			   "B->A rows blue");
	cr_assert_not_null(strstr(text, "\033[34m< conv 1 B->A"));
	cr_assert_not_null(strstr(text, "\033[31m> conv 1 A->B"));
	/* every line resets before its newline: nothing leaks */
	for (p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
		cr_assert_eq(strncmp(p - 4, "\033[0m", 4), 0,
			     "line not reset: '%.40s'", p - 40);
	free(c);
}

Test(hexdump, flags_and_reset)
{
	struct st_conv *c = fk_conv(&fk, 7, ST_PROTO_UDP, ST_ORIGIN_DGRAM,
				    fk_ep6("::1", 5353), fk_ep6("::1", 53));

	add_hexdump(false);
	fk.comm = "we\tird\\";
	fk_open(&fk, c);
	fk_data(&fk, c, ST_DIR_A_TO_B, "abcd", 4,
		ST_EVF_DGRAM | ST_EVF_TRUNC | ST_EVF_PART, 9);
	fk_data(&fk, c, ST_DIR_A_TO_B, "\x01", 1, ST_EVF_OOB, 0);
	fk_reset(&fk, c, ST_DIR_B_TO_A);
	fk_end(&fk, c);
	fflush(mem);
	cr_assert_not_null(strstr(text, "=== conv 7 UDP A=[::1]:5353 "
				  "B=[::1]:53 (datagrams) "));
	cr_assert_not_null(strstr(text, "4 bytes @0 dgram trunc(orig 9) part "
				  "we\\x09ird\\x5c[4242]"), "%s", text);
	cr_assert_not_null(strstr(text, "1 bytes @4 oob "));
	cr_assert_not_null(strstr(text, "< conv 7 B->A 22:13:20.003000 RESET "
				  "we\\x09ird\\x5c[4242] read(fd 5)\n"));
	cr_assert_not_null(strstr(text, "=== conv 7 end: RESET, "));
	free(c);
}

/* Offsets past 4 GiB widen instead of wrapping. */
Test(hexdump, big_offsets)
{
	struct st_conv *c = tcp_conv();

	add_hexdump(false);
	fk_open(&fk, c);
	c->bytes[0] = 0x123456789ull;
	fk_data(&fk, c, ST_DIR_A_TO_B, "x", 1, 0, 0);
	fflush(mem);
	cr_assert_not_null(strstr(text, "1 bytes @4886718345 "), "%s", text);
	cr_assert_not_null(strstr(text, "\n> 123456789  78 "), "%s", text);
	free(c);
}

Test(hexdump, want_color)
{
	FILE *f = tmpfile();
	int master, slave;
	FILE *tty;

	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);
	cr_assert_not_null(f);
	cr_assert_not(st_hexdump_want_color(f), "a file is not a terminal");
	fclose(f);

	master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(slave, 0);
	tty = fdopen(slave, "w");
	cr_assert(st_hexdump_want_color(tty), "a terminal gets colour");
	setenv("NO_COLOR", "", 1);
	cr_assert_not(st_hexdump_want_color(tty), "NO_COLOR, even empty");
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	cr_assert_not(st_hexdump_want_color(tty), "TERM=dumb");
	fclose(tty);
	close(master);
}

Test(hexdump, dev_full_fails_once)
{
	struct st_conv *c = tcp_conv();
	FILE *full = fopen("/dev/full", "w");
	struct st_sink s;

	cr_assert_not_null(full);
	cr_assert_eq(st_hexdump_sink_new(full, false, &s), 0);
	fk_add(&fk, &s);
	cr_assert_eq(fk_open(&fk, c), -ENOSPC);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "abc", 3, 0, 0), 0,
		     "the error is reported once");
	cr_assert_eq(fk_finish(&fk), 0);
	fk_destroy(&fk);
	fclose(full);
	free(c);
}

Test(hexdump, closed_pipe_is_epipe)
{
	struct st_conv *c = tcp_conv();
	struct st_sink s;
	int p[2];
	FILE *w;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	w = fdopen(p[1], "w");
	cr_assert_eq(st_hexdump_sink_new(w, false, &s), 0);
	fk_add(&fk, &s);
	cr_assert_eq(fk_open(&fk, c), -EPIPE);
	cr_assert_eq(fk_open(&fk, c), 0);
	fk_destroy(&fk);
	fclose(w);
	free(c);
}
