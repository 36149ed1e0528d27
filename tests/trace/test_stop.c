/*
 * Stopping a launched command: it gets the signal as it would have
 * without socktap (once), what it says on its way out is recorded, and
 * what does not end in time is killed.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/runner.h"

/*
 * The pieces every script here uses, in its own directory: a server that
 * keeps what it receives (srv.out), and a client that says hello, writes
 * "ready", and on the signal named by its third argument says goodbye,
 * closes, notes how many such signals it got (n.txt) and exits 5.
 */
#define SETUP \
	"set -e; mkdir -p %s; cd %s\n" \
	"cat > srv.py <<'EOF'\n" \
	"import socket\n" \
	"l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()\n" \
	"open('port.tmp', 'w').write(str(l.getsockname()[1]))\n" \
	"__import__('os').rename('port.tmp', 'port')\n" \
	"c, _ = l.accept(); d = b''\n" \
	"while True:\n" \
	"    x = c.recv(4096)\n" \
	"    if not x: break\n" \
	"    d += x\n" \
	"open('srv.out', 'wb').write(d)\n" \
	"EOF\n" \
	"cat > cli.py <<'EOF'\n" \
	"import signal, socket, sys, time\n" \
	"n = 0\n" \
	"class Stop(Exception): pass\n" \
	"def on(sig, frame):\n" \
	"    global n\n" \
	"    n += 1\n" \
	"    if n == 1: raise Stop\n" \
	"signal.signal(getattr(signal, sys.argv[2]), on)\n" \
	"s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n" \
	"s.sendall(b'hello\\n'); open('ready', 'w').close()\n" \
	"try:\n" \
	"    while True: time.sleep(0.1)\n" \
	"except Stop:\n" \
	"    time.sleep(0.5)\n" \
	"    s.sendall(b'bye after %%d signals\\n' %% n); s.close()\n" \
	"    open('n.txt', 'w').write('%%d' %% n); sys.exit(5)\n" \
	"EOF\n" \
	"python3 srv.py & srv=$!\n" \
	"for i in $(seq 200); do test -e port && break; sleep 0.1; done\n"

/* Waits (up to 30 s) for the file the client writes once it has said
 * hello, with socktap's trace already going. */
#define WAIT_READY \
	"for i in $(seq 300); do test -e ready && break; sleep 0.1; done\n"

static void run_script(const char *cmd, struct st_run *r)
{
	char *sh[] = { "/bin/sh", "-c", (char *)cmd, NULL };

	cr_assert_eq(st_run(sh, r), 0);
}

static void remove_dir(const char *dir)
{
	char cmd[512];
	struct st_run r;

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run_script(cmd, &r);
	st_run_free(&r);
}

/* kill(1) to socktap alone: the command gets the same signal, once, and
 * its goodbye is in the trace; socktap's status is the command's. */
static void passed_on(const char *sig)
{
	const char *dir = st_tmpfile(".stop");
	char cmd[8192];
	struct st_run r;

	snprintf(cmd, sizeof(cmd), SETUP
		"%s -o trace.txt -- python3 cli.py $(cat port) SIG%s "
		"2>err.txt & t=$!\n"
		WAIT_READY
		"kill -%s $t; st=0; wait $t || st=$?\n"
		"wait $srv\n"
		"echo \"status $st signals $(cat n.txt)\"\n"
		"cat srv.out\n"
		"grep -cF '\"bye after 1 signals' trace.txt\n"
		"grep -c ' FIN by A ' trace.txt\n"
		"grep -c 'still running' err.txt || true\n",
		dir, dir, ST_BIN, sig, sig);
	run_script(cmd, &r);
	cr_assert_eq(r.status, 0, "%s: %s\n%s", sig, r.out, r.err);
	cr_assert_str_eq(r.out, "status 5 signals 1\n"
			 "hello\nbye after 1 signals\n"
			 "1\n1\n0\n", "%s: %s\n%s", sig, r.out, r.err);
	st_run_free(&r);
	remove_dir(dir);
}

Test(stop, signal_is_passed_to_the_command, .timeout = 90)
{
	passed_on("TERM");
	passed_on("QUIT");
	passed_on("HUP");
}

/* Ctrl-C in a real terminal (tmux): the terminal signals the command
 * itself, and socktap must not send it a second SIGINT. */
Test(stop, ctrl_c_in_a_terminal_reaches_the_command_once, .timeout = 90)
{
	const char *dir = st_tmpfile(".stopt");
	char session[64], cmd[8192];
	struct st_run r;

	snprintf(session, sizeof(session), "st%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), SETUP
		"tmux new-session -d -s %s -x 150 -y 30 bash --norc || exit 99\n"
		"tmux send-keys -t %s 'cd %s; %s -o trace.txt -- python3 "
		"cli.py '$(cat port)' SIGINT; echo status $? > st.txt' Enter\n"
		WAIT_READY
		"tmux send-keys -t %s C-c\n"
		"for i in $(seq 300); do test -s st.txt && break; sleep 0.1; done\n"
		"tmux kill-session -t %s\n"
		"wait $srv\n"
		"echo \"$(cat st.txt) signals $(cat n.txt)\"\n"
		"cat srv.out\n"
		"grep -cF '\"bye after 1 signals' trace.txt\n"
		"grep -c ' FIN by A ' trace.txt\n",
		dir, dir, session, session, dir, ST_BIN, session, session);
	run_script(cmd, &r);
	if (r.status == 99)
		cr_skip_test("tmux cannot start a terminal here: %s", r.err);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert_str_eq(r.out, "status 5 signals 1\n"
			 "hello\nbye after 1 signals\n1\n1\n", "%s\n%s", r.out,
			 r.err);
	st_run_free(&r);
	remove_dir(dir);
}

/* socktap -q on a shell that ignores sig (sleeping a minute), sent sig
 * once, or twice 0.3 s apart; r->out: "status N", then socktap's
 * stderr.  Returns how long that took, in seconds. */
static double stop_ignoring(const char *sig, bool twice, struct st_run *r)
{
	const char *dir = st_tmpfile(".stopi");
	char cmd[4096], again[64] = "";
	struct timespec t0, t1;

	if (twice)
		snprintf(again, sizeof(again), "sleep 0.3; kill -%s $t;", sig);
	snprintf(cmd, sizeof(cmd),
		"mkdir -p %s; cd %s\n"
		"%s -q -- sh -c 'trap \"\" %s; touch ready; sleep 60' "
		"2>err.txt & t=$!\n"
		WAIT_READY
		"kill -%s $t; %s st=0; wait $t || st=$?\n"
		"echo status $st; cat err.txt\n", dir, dir, ST_BIN, sig, sig,
		again);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_script(cmd, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	remove_dir(dir);
	return (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* A command that ignores the signal: what still runs after the grace is
 * killed, and socktap says so. */
Test(stop, what_ignores_the_signal_is_killed_after_the_grace,
     .timeout = 90)
{
	struct st_run r;
	double spent = stop_ignoring("TERM", false, &r);

	cr_assert(!strncmp(r.out, "status 137\n", 11), "%s", r.out);
	cr_assert(strstr(r.out, "still running 3 s after the stop request, "
			 "with 1 more process: killed"), "%s", r.out);
	/* the grace was given, and the hour-long sleep was not waited for */
	cr_assert_geq(spent, 2.5, "%.1f s", spent);
	cr_assert_lt(spent, 30.0, "%.1f s", spent);
	st_run_free(&r);
}

/* A second request does not wait for the grace. */
Test(stop, second_request_kills_at_once, .timeout = 90)
{
	struct st_run r;

	stop_ignoring("INT", true, &r);
	cr_assert(!strncmp(r.out, "status 137\n", 11), "%s", r.out);
	cr_assert_null(strstr(r.out, "still running"), "%s", r.out);
	st_run_free(&r);
}

/* The command starts with the stop signals as it would without socktap:
 * ignored when socktap was started with them ignored (SIGINT in a
 * background job, SIGHUP under nohup), else the default.  Under nohup,
 * socktap itself outlives a hangup too. */
Test(stop, command_inherits_ignored_signals, .timeout = 60)
{
	const char *dir = st_tmpfile(".stopn");
	char cmd[4096];
	struct st_run r;

	snprintf(cmd, sizeof(cmd),
		"set -e; mkdir -p %s; cd %s\n"
		"show='import signal as s; print(*[int(s.getsignal(n) == s.SIG_IGN)"
		" for n in (s.SIGINT, s.SIGTERM, s.SIGHUP)])'\n"
		"echo fg $(%s -q -- python3 -c \"$show\" 2>/dev/null)\n"
		"%s -q -- python3 -c \"$show\" > bg.txt 2>/dev/null & wait $!\n"
		"echo bg $(cat bg.txt)\n"
		"nohup %s -q -- python3 -c \"$show\" > nohup.txt 2>/dev/null\n"
		"echo nohup $(cat nohup.txt)\n"
		"nohup %s -q -- sleep 1.5 > /dev/null 2>&1 & t=$!\n"
		"sleep 0.5; kill -HUP $t; st=0; wait $t || st=$?\n"
		"echo hangup $st\n", dir, dir, ST_BIN, ST_BIN, ST_BIN, ST_BIN);
	run_script(cmd, &r);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert_str_eq(r.out, "fg 0 0 0\nbg 1 0 0\nnohup 0 0 1\nhangup 0\n",
			 "%s\n%s", r.out, r.err);
	st_run_free(&r);
	remove_dir(dir);
}
