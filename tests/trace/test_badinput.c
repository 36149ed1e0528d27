/* Bad input: one clear "socktap: ..." line and a non-zero exit, always. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/runner.h"

#define SOCKTAP ST_BIN

static void expect_error(char *const argv[], const char *msg, int status)
{
	struct st_run r;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, status, "status %d, stderr: %s", r.status,
		     r.err);
	cr_assert(!strncmp(r.err, "socktap: ", 9), "stderr: %s", r.err);
	cr_assert(strstr(r.err, msg), "want '%s' in: %s", msg, r.err);
	cr_assert_eq(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err),
		     "exactly one line: %s", r.err);
	st_run_free(&r);
}

Test(badinput, no_command)
{
	char *a[] = { SOCKTAP, NULL };

	expect_error(a, "no command", 2);
}

Test(badinput, unknown_option)
{
	char *a[] = { SOCKTAP, "--frobnicate", "--", "/bin/true", NULL };
	char *b[] = { SOCKTAP, "-Z", "--", "/bin/true", NULL };

	expect_error(a, "unknown option '--frobnicate'", 2);
	expect_error(b, "unknown option '-Z'", 2);
}

Test(badinput, missing_and_bad_arguments)
{
	char *a[] = { SOCKTAP, "-s", NULL };
	char *b[] = { SOCKTAP, "-s", "lots", "--", "/bin/true", NULL };
	char *c[] = { SOCKTAP, "-p", "12abc", NULL };
	char *d[] = { SOCKTAP, "-p", "1", "--", "/bin/true", NULL };

	expect_error(a, "needs an argument", 2);
	expect_error(b, "invalid string limit", 2);
	expect_error(c, "invalid pid", 2);
	expect_error(d, "not both", 2);
	{
		char *e[] = { SOCKTAP, "-w", "a.pcap", "-w", "b.pcap", "--",
			      "/bin/true", NULL };

		expect_error(e, "-w given twice", 2);
	}
}

Test(badinput, command_not_runnable)
{
	char *a[] = { SOCKTAP, "--", "/nonexistent/prog", NULL };
	const char *plain = st_tmpfile(".notexec");
	const char *junk = st_tmpfile(".junk");
	char *b[] = { SOCKTAP, "--", (char *)plain, NULL };
	char *c[] = { SOCKTAP, "--", "no-such-command-socktap", NULL };
	char *d[] = { SOCKTAP, "--", (char *)junk, NULL };
	FILE *f;

	expect_error(a, "No such file or directory", 127);
	f = fopen(plain, "w");
	fclose(f);
	chmod(plain, 0644);
	expect_error(b, "Permission denied", 127);
	expect_error(c, "command not found", 127);
	/* executable but not a program: the kernel's refusal is reported */
	f = fopen(junk, "w");
	fputs("\x7f\x01garbage", f);
	fclose(f);
	chmod(junk, 0755);
	expect_error(d, "Exec format error", 127);
	unlink(plain);
	unlink(junk);
}

Test(badinput, pid_missing)
{
	char *a[] = { SOCKTAP, "-p", "999999999", NULL };

	expect_error(a, "no such process", 1);
}

/* A process already traced by someone else: the error says by whom. */
Test(badinput, pid_already_traced, .timeout = 30)
{
	pid_t child = fork();
	char pid[16], want[64];
	char *a[] = { SOCKTAP, "-p", pid, NULL };
	int ws;

	cr_assert_geq(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	cr_assert_eq(ptrace(PTRACE_SEIZE, child, 0, 0), 0);
	snprintf(pid, sizeof(pid), "%d", (int)child);
	snprintf(want, sizeof(want), "already traced by pid %d",
		 (int)getpid());
	expect_error(a, want, 1);
	kill(child, SIGKILL);
	waitpid(child, &ws, 0);
}

Test(badinput, unwritable_output)
{
	char *a[] = { SOCKTAP, "-o", "/nonexistent-dir/trace.txt", "--",
		      "/bin/true", NULL };

	expect_error(a, "cannot write '/nonexistent-dir/trace.txt'", 1);
}

Test(badinput, help_and_version_succeed)
{
	char *a[] = { SOCKTAP, "--help", NULL };
	char *b[] = { SOCKTAP, "--version", NULL };
	struct st_run r;

	cr_assert_eq(st_run(a, &r), 0);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: socktap"));
	st_run_free(&r);
	cr_assert_eq(st_run(b, &r), 0);
	cr_assert_eq(r.status, 0);
	cr_assert(!strncmp(r.out, "socktap ", 8));
	st_run_free(&r);
}
