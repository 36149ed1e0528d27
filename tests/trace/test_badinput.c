/* Bad input: one clear "socktap: ..." line and a non-zero exit, always. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* A file at path holding text. */
static void make_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0, "%s", path);
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

	expect_error(a, "No such file or directory", 127);
	make_file(plain, "");
	chmod(plain, 0644);
	expect_error(b, "Permission denied", 127);
	expect_error(c, "command not found", 127);
	/* executable but not a program: the kernel's refusal is reported */
	make_file(junk, "\x7f\x01garbage");
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

/* socktap OPT PATH -- /bin/true, or with OPT ending in '=',
 * socktap OPTPATH -- /bin/true, must fail with msg. */
static void output_refused(const char *opt, const char *path,
			   const char *msg)
{
	char joined[128];
	char *a[] = { SOCKTAP, (char *)opt, (char *)path, "--", "/bin/true",
		      NULL };

	if (opt[strlen(opt) - 1] == '=') {
		snprintf(joined, sizeof(joined), "%s%s", opt, path);
		a[1] = joined;
		memmove(&a[2], &a[3], 3 * sizeof(a[0]));
	}
	expect_error(a, msg, 1);
}

/* Every output file is opened alike (-w, -o, --json, --hexdump): a
 * symbolic link or a hard link planted at the path is refused, and the
 * file it leads to keeps its bytes. */
Test(badinput, planted_links_refused_by_every_output)
{
	char dir[] = "/tmp/st-links-XXXXXX", victim[80], sym[80], hard[80];
	const char *opt[] = { "-w", "-o", "--json", "--hexdump=" };
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(sym, sizeof(sym), "%s/sym", dir);
	snprintf(hard, sizeof(hard), "%s/hard", dir);
	make_file(victim, "precious\n");
	cr_assert_eq(symlink(victim, sym), 0);
	cr_assert_eq(link(victim, hard), 0);
	for (unsigned i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		output_refused(opt[i], hard, "hard links");
		output_refused(opt[i], sym, "symbolic link");
		cr_assert_eq(stat(victim, &st), 0);
		cr_assert_eq(st.st_size, 9, "%s emptied the file", opt[i]);
	}
	unlink(sym);
	unlink(hard);
	unlink(victim);
	rmdir(dir);
}

/* Tracing never starts (no such process, no such command): the output
 * files this run made are removed, so none looks like an empty capture;
 * what was there before stays, above all a device such as /dev/null
 * (socktap runs as root: removing /dev/null breaks the machine). */
Test(badinput, a_failed_start_removes_only_what_it_made)
{
	char dir[] = "/tmp/st-abandon-XXXXXX", made_pcap[80], made_json[80],
	     old_pcap[80], dev[80];
	char *attach[] = { SOCKTAP, "-w", made_pcap, "--json", made_json,
			   "-p", "999999999", NULL };
	char *launch[] = { SOCKTAP, "-w", made_pcap, "--json", made_json,
			   "--", "/nonexistent/prog", NULL };
	/* never the real /dev/null: were this broken, the test would
	 * break the machine it runs on */
	char *old[] = { SOCKTAP, "-w", old_pcap, "--json", dev,
			"-p", "999999999", NULL };
	bool have_dev;
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(made_pcap, sizeof(made_pcap), "%s/made.pcap", dir);
	snprintf(made_json, sizeof(made_json), "%s/made.json", dir);
	snprintf(old_pcap, sizeof(old_pcap), "%s/old.pcap", dir);
	snprintf(dev, sizeof(dev), "%s/null", dir);
	expect_error(attach, "no such process", 1);
	cr_assert_eq(lstat(made_pcap, &st), -1, "the pcap made is left");
	cr_assert_eq(lstat(made_json, &st), -1, "the JSON made is left");
	expect_error(launch, "No such file or directory", 127);
	cr_assert_eq(lstat(made_pcap, &st), -1, "the pcap made is left");
	cr_assert_eq(lstat(made_json, &st), -1, "the JSON made is left");

	make_file(old_pcap, "an older capture\n");
	/* a /dev/null of our own: mknod needs CAP_MKNOD */
	have_dev = mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0;
	if (!have_dev) {
		/* without it, a regular file stands in: the JSON given
		 * to replace one that was there */
		cr_log_warn("mknod: %s: no device case, only files",
			    strerror(errno));
		make_file(dev, "");
	}
	expect_error(old, "no such process", 1);
	cr_assert_eq(lstat(old_pcap, &st), 0, "a file there before is gone");
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(lstat(dev, &st), 0, "what was at the JSON path is gone");
	cr_assert(!have_dev || S_ISCHR(st.st_mode),
		  "the device is no longer one");
	unlink(old_pcap);
	unlink(dev);
	rmdir(dir);
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
