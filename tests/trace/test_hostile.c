/*
 * Hostile input: bad syscall arguments behave as untraced, captured
 * terminal escapes never reach the output raw, and socktap refuses to
 * run setuid.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/runner.h"

Test(hostile, bad_arguments_and_escapes, .timeout = 60)
{
	const char *hf = st_tmpfile(".hex");
	char hexopt[300];
	char *argv[] = { ST_BIN, "-s", "64", "-x", "--json", "/dev/null",
			 "-w", "/dev/null", "--", ST_HOSTILE, NULL };
	char *plain[] = { ST_HOSTILE, NULL };
	struct st_run r, u;

	snprintf(hexopt, sizeof(hexopt), "--hexdump=%s", hf);
	argv[3] = hexopt;
	cr_assert_eq(st_run(plain, &u), 0);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_str_eq(r.out, u.out, "traced like untraced");
	cr_assert_str_eq(r.out, "OK\n", "%s", r.out);
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* no raw ESC or BEL anywhere in what socktap printed */
	cr_assert_null(strchr(r.err, '\033'), "raw escape in the trace");
	cr_assert_null(strchr(r.err, '\007'), "raw BEL in the trace");
	cr_assert(strstr(r.err, "\\x1b[2J\\x1b]0;owned\\x07"), "%s", r.err);
	cr_assert(strstr(r.err, "= -1 EFAULT"), "%s", r.err);
	cr_assert(strstr(r.err, "= -1 EINVAL"), "%s", r.err);
	{
		size_t n = 0;
		char *hex = st_slurp(hf, &n);

		cr_assert_not_null(hex);
		cr_assert_null(memchr(hex, '\033', n), "raw escape in hexdump");
		cr_assert(strstr(hex, "1b 5b 32 4a"), "the bytes are shown");
		free(hex);
	}
	st_run_free(&r);
	st_run_free(&u);
	unlink(hf);
}

/* A setuid socktap would let anyone trace anything: it refuses. */
Test(hostile, refuses_setuid, .timeout = 30)
{
	const char *copy = st_tmpfile(".suid");
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;

	if (geteuid() != 0)
		cr_skip_test("needs root to make a setuid copy");
	snprintf(cmd, sizeof(cmd),
		 "cp %s %s && chmod 4755 %s && "
		 "setpriv --reuid=65534 --regid=65534 --clear-groups %s -- /bin/true",
		 ST_BIN, copy, copy, copy);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert(strstr(r.err, "socktap: refusing to run setuid"), "%s",
		  r.err);
	st_run_free(&r);
	unlink(copy);
}
