/*
 * Faults and hard process shapes: the right exit status, no hang, and
 * every conversation accounted for.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/runner.h"

/* Runs socktap -q on procs with args; returns the trace (stderr). */
static char *procs(struct st_run *r, const char *a1, const char *a2)
{
	char *argv[] = { ST_BIN, "-q", "--", ST_PROCS, (char *)a1,
			 (char *)a2, "9", NULL };

	if (!a2) {
		argv[5] = "9";
		argv[6] = NULL;
	}
	cr_assert_eq(st_run(argv, r), 0);
	return r->err;
}

static int udp_rows(const char *t)
{
	return st_lines_with(t, " UDP ", "-> 127.0.0.1:9 ", NULL);
}

Test(faults, leader_exits_threads_talk_on, .timeout = 60)
{
	struct st_run r;
	char *t = procs(&r, "leader-exits", NULL);

	cr_assert_eq(r.status, 0, "%s", t);
	cr_assert_str_eq(r.out, "OK\n");
	cr_assert_eq(udp_rows(t), 2, "both threads' datagrams: %s", t);
	st_run_free(&r);
}

Test(faults, non_leader_thread_execs, .timeout = 60)
{
	struct st_run r;
	char *t = procs(&r, "nonleader-exec", NULL);

	cr_assert_eq(r.status, 0, "%s", t);
	cr_assert_str_eq(r.out, "OK\n");
	cr_assert_eq(udp_rows(t), 2, "before and after the exec: %s", t);
	st_run_free(&r);
}

Test(faults, vfork_and_exec, .timeout = 60)
{
	struct st_run r;
	char *t = procs(&r, "vfork", NULL);

	cr_assert_eq(r.status, 0, "%s", t);
	cr_assert_eq(udp_rows(t), 2, "child and parent: %s", t);
	st_run_free(&r);
}

Test(faults, many_children_each_talking, .timeout = 60)
{
	struct st_run r;
	char *t = procs(&r, "forks", "40");

	cr_assert_eq(r.status, 0, "%s", t);
	cr_assert_str_eq(r.out, "OK\n");
	cr_assert_eq(udp_rows(t), 40, "%s", t);
	cr_assert(strstr(t, "socktap: 40 conversations"), "%s", t);
	st_run_free(&r);
}

/* The traced command killed with SIGKILL in the middle of a transfer:
 * socktap reports 137, and the pcap it wrote is complete and readable. */
Test(faults, sigkill_mid_transfer, .timeout = 60)
{
	const char *pcap = st_tmpfile(".pcap");
	char script[1024];
	char *argv[] = { ST_BIN, "-q", "-w", (char *)pcap, "--", "/bin/sh",
			 "-c", script, NULL };
	char *check[] = { "/usr/bin/capinfos", "-c", (char *)pcap, NULL };
	struct st_run r;

	snprintf(script, sizeof(script),
		 "%s -n 1 > %s.port & "
		 "while ! test -s %s.port; do sleep 0.05; done; "
		 "%s bulk 127.0.0.1 $(cut -d' ' -f2 %s.port) -b 1024m & c=$!; "
		 "sleep 0.5; kill -KILL $c; wait $c; st=$?; "
		 "kill %%1 2>/dev/null; rm -f %s.port; exit $st",
		 st_sample("st_echo_server"), pcap, pcap,
		 st_sample("st_client"), pcap, pcap);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 137, "%s", r.err);
	st_run_free(&r);
	cr_assert_eq(st_run(check, &r), 0);
	cr_assert_eq(r.status, 0, "capinfos: %s", r.err);
	cr_assert(strstr(r.out, "Number of packets"), "%s", r.out);
	cr_assert_null(strstr(r.err, "appears to have been cut short"),
		       "%s", r.err);
	st_run_free(&r);
	unlink(pcap);
}

/* A full disk: said when it happens, tracing goes on, exit non-zero. */
Test(faults, output_on_a_full_disk, .timeout = 60)
{
	char *argv[] = { ST_BIN, "-q", "-w", "/dev/full", "--",
			 (char *)st_sample("st_unix"), "pair", NULL };
	struct st_run r;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert(strstr(r.out, "parent got: ping from child"),
		  "the command ran to its end: %s", r.out);
	cr_assert(strstr(r.err, "output failed: No space left on device"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "socktap: 1 conversation"),
		  "tracing went on: %s", r.err);
	st_run_free(&r);
}

/* 10,000 connections one after the other, then 500 open at once. */
Test(faults, many_connections, .timeout = 120)
{
	char *seq[] = { ST_BIN, "-q", "--", "/usr/bin/python3", "-c",
		"import socket, threading\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1024)\n"
		"p = s.getsockname()[1]; N = 10000\n"
		"def serve():\n"
		"    for i in range(N):\n"
		"        c, _ = s.accept(); c.sendall(c.recv(100)); c.close()\n"
		"t = threading.Thread(target=serve); t.start()\n"
		"for i in range(N):\n"
		"    c = socket.create_connection(('127.0.0.1', p))\n"
		"    c.sendall(b'x%d' % i); assert c.recv(100) == b'x%d' % i\n"
		"    c.close()\n"
		"t.join(); print('ok')\n", NULL };
	char *conc[] = { ST_BIN, "-q", "--", "/usr/bin/python3", "-c",
		"import socket, resource\n"
		"resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1024)\n"
		"cs = [socket.create_connection(s.getsockname())"
		" for i in range(500)]\n"
		"ss = [s.accept()[0] for i in range(500)]\n"
		"for i, c in enumerate(cs): c.sendall(b'y%d' % i)\n"
		"assert all(x.recv(100) == b'y%d' % i for i, x in enumerate(ss))\n"
		"print('ok')\n", NULL };
	struct st_run r;

	cr_assert_eq(st_run(seq, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.err, "socktap: 10000 conversations"),
		  "both ends traced, one conversation each");
	st_run_free(&r);
	cr_assert_eq(st_run(conc, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.err, "socktap: 500 conversations"), "%.300s",
		  r.err);
	cr_assert_eq(st_lines_with(r.err, " TCP ", "FIN both", NULL), 500,
		     "every connection closed by both sides");
	st_run_free(&r);
}

/* Stopping socktap (SIGINT, SIGTERM, SIGHUP; launch and attach) leaves
 * every output complete and readable: pcap, flows index, JSON. */
static void stop_and_check(int sig, bool attach)
{
	const char *dir = st_tmpfile(".out");
	char cmd[2048];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;

	/* a client that talks every 50 ms for 20 s; socktap is stopped
	 * after 1 s, by pid */
	snprintf(cmd, sizeof(cmd),
		"set -e; mkdir -p %s; cd %s\n"
		"python3 -c '\n"
		"import socket, time\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"for i in range(400):\n"
		"    s.sendto(b\"tick %%d\" %% i, (\"127.0.0.1\", 9)); time.sleep(0.05)\n"
		"' & c=$!\n"
		"%s\n"
		"sleep 1; kill -%d $t; wait $t || true\n"
		"kill $c 2>/dev/null || true; wait $c 2>/dev/null || true\n"
		"capinfos -c out.pcap | grep -q 'Number of packets'\n"
		"test -s flows/index.tsv\n"
		"jq -e 'select(.type==\"end\")' out.json > /dev/null\n"
		"echo complete\n",
		dir, dir,
		attach ? "sleep 0.3; " ST_BIN " -q -w out.pcap --json out.json "
			 "--flows flows -p $c 2>/dev/null & t=$!"
		       : ST_BIN " -q -w out.pcap --json out.json --flows flows "
			 "-- sh -c 'sleep 20' 2>/dev/null & t=$!",
		sig);
	if (!attach) {
		/* launch mode traces its own talker */
		snprintf(cmd, sizeof(cmd),
			"set -e; mkdir -p %s; cd %s\n"
			"%s -q -w out.pcap --json out.json --flows flows -- "
			"python3 -c '\n"
			"import socket, time\n"
			"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
			"for i in range(400):\n"
			"    s.sendto(b\"tick %%d\" %% i, (\"127.0.0.1\", 9)); time.sleep(0.05)\n"
			"' 2>/dev/null & t=$!\n"
			"sleep 1; kill -%d $t; wait $t || true\n"
			"capinfos -c out.pcap | grep -q 'Number of packets'\n"
			"test -s flows/index.tsv\n"
			"jq -e 'select(.type==\"end\")' out.json > /dev/null\n"
			"echo complete\n", dir, dir, ST_BIN, sig);
	}
	cr_assert_eq(st_run(sh, &r), 0);
	cr_assert_eq(r.status, 0, "signal %d attach %d: %s %s", sig, attach,
		     r.out, r.err);
	cr_assert_str_eq(r.out, "complete\n");
	st_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(st_run(sh, &r), 0);
	st_run_free(&r);
}

Test(faults, outputs_complete_after_stop_signals, .timeout = 120)
{
	stop_and_check(SIGINT, true);
	stop_and_check(SIGTERM, true);
	stop_and_check(SIGHUP, true);
	stop_and_check(SIGINT, false);
	stop_and_check(SIGTERM, false);
	stop_and_check(SIGHUP, false);
}

/* Job control in a real terminal (tmux): Ctrl-Z stops the traced program
 * and socktap, fg resumes both, the program goes on counting. */
Test(faults, job_control_in_a_terminal, .timeout = 60)
{
	char session[64], cmd[4096];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;
	int before = -1, after = -1;
	const char *last;

	snprintf(session, sizeof(session), "st%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		"tmux new-session -d -s %s -x 120 -y 30 bash --norc || exit 99\n"
		"tmux send-keys -t %s '%s -q -- python3 -c \"import time\n"
		"for i in range(1000): print(\\\"n\\\", i, flush=True); "
		"time.sleep(0.1)\"' Enter\n"
		"sleep 1.5; tmux send-keys -t %s C-z; sleep 0.5\n"
		"tmux capture-pane -p -t %s | grep -c Stopped\n"
		"a=$(tmux capture-pane -p -t %s | grep '^n ' | tail -1)\n"
		"sleep 1; b=$(tmux capture-pane -p -t %s | grep '^n ' | tail -1)\n"
		"echo \"held $a|$b\"\n"
		"tmux send-keys -t %s 'fg' Enter; sleep 1.5\n"
		"tmux capture-pane -p -t %s | grep '^n ' | tail -1\n"
		"tmux send-keys -t %s C-c; sleep 0.5\n"
		"tmux kill-session -t %s\n",
		session, session, ST_BIN, session, session, session, session,
		session, session, session, session);
	cr_assert_eq(st_run(sh, &r), 0);
	if (r.status == 99)
		cr_skip_test("tmux cannot start a terminal here: %s", r.err);
	cr_assert(!strncmp(r.out, "1\n", 2), "the shell said Stopped: %s",
		  r.out);
	{
		const char *h = strstr(r.out, "held n ");
		const char *bar = h ? strchr(h, '|') : NULL;

		cr_assert_not_null(bar, "%s", r.out);
		cr_assert_eq(strncmp(h + 5, bar + 1, (size_t)(bar - h - 5)), 0,
			     "no output while stopped: %s", r.out);
		sscanf(h, "held n %d", &before);
	}
	/* the line printed after fg */
	last = strstr(r.out, "\nn ");
	while (last && strstr(last + 1, "\nn "))
		last = strstr(last + 1, "\nn ");
	cr_assert_not_null(last, "%s", r.out);
	sscanf(last + 1, "n %d", &after);
	cr_assert_gt(after, before, "counting resumed after fg: %s", r.out);
	st_run_free(&r);
}

/* A number after "key": in a line of socktap's JSON, or -1. */
static long long json_num(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = line ? strstr(line, pat) : NULL;
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* What the JSON says of the sender's direction of the one TCP
 * conversation: events in order, no hole or overlap between them. */
struct race_json {
	int tcp_convs;
	long long sender_port, data, gaps, ngaps, other;
	long long end_data, end_gaps;
	bool contiguous;
};

static void race_json_read(char *json, struct race_json *rj)
{
	long long conv = -1, pos = 0;
	const char *sdir = NULL;

	memset(rj, 0, sizeof(*rj));
	rj->end_data = rj->end_gaps = -1;
	rj->contiguous = true;
	for (char *line = json, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (strstr(line, "\"type\":\"open\"") &&
		    strstr(line, "\"proto\":\"TCP\"")) {
			rj->tcp_convs++;
			conv = json_num(line, "conv");
			/* side A connected, or accepted: the sender connected */
			if (strstr(line, "\"origin\":\"connect\"")) {
				sdir = "\"dir\":\"a2b\"";
				rj->sender_port = json_num(strstr(line, "\"a\":"),
							   "port");
			} else if (strstr(line, "\"origin\":\"accept\"")) {
				sdir = "\"dir\":\"b2a\"";
				rj->sender_port = json_num(strstr(line, "\"b\":"),
							   "port");
			}
			continue;
		}
		if (!sdir || json_num(line, "conv") != conv)
			continue;
		if (strstr(line, "\"type\":\"end\"")) {
			const char *d = sdir + 7;	/* "a2b" or "b2a" */
			char key[8];

			snprintf(key, sizeof(key), "%.3s", d);
			rj->end_data = json_num(strstr(line, "\"bytes\":"), key);
			rj->end_gaps = json_num(strstr(line, "\"gap_bytes\":"),
						key);
			continue;
		}
		if (!strstr(line, "\"type\":\"data\"") &&
		    !strstr(line, "\"type\":\"gap\""))
			continue;
		if (!strstr(line, sdir)) {
			rj->other += json_num(line, "len");
			continue;
		}
		if (json_num(line, "offset") != pos)
			rj->contiguous = false;
		pos += json_num(line, "len");
		if (strstr(line, "\"type\":\"gap\"")) {
			rj->gaps += json_num(line, "len");
			rj->ngaps++;
		} else {
			rj->data += json_num(line, "len");
		}
	}
}

/* A sender whose buffer another thread unmaps and maps back while it
 * sends: socktap reads that memory after the kernel did, and whatever it
 * cannot read is a gap.  Never a crash; every byte the kernel accepted is
 * either data or gap, in order, in the JSON and in the pcap alike. */
Test(faults, send_buffer_unmapped_mid_call, .timeout = 60)
{
	const char *json = st_tmpfile(".json");
	const char *pcap = st_tmpfile(".pcap");
	char *argv[] = { ST_BIN, "-q", "--json", (char *)json, "-w",
			 (char *)pcap, "--", ST_PROCS, "unmap-race", "1000",
			 NULL };
	char *fields[] = { "/usr/bin/tshark", "-r", (char *)pcap, "-T",
			   "fields", "-e", "tcp.srcport", "-e", "tcp.len",
			   "-e", "tcp.nxtseq", NULL };
	unsigned long long sent = 0, got = 0;
	unsigned long efault = 0, remaps = 0;
	long long wire_data = 0, wire_next = 0, wire_other = 0;
	struct race_json rj;
	struct st_run r;
	const char *s;
	char *text;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s %.2000s", r.out, r.err);
	s = strstr(r.out, "SENT ");
	cr_assert(s && sscanf(s, "SENT %llu RECEIVED %llu EFAULT %lu "
			      "REMAPS %lu", &sent, &got, &efault,
			      &remaps) == 4, "%s", r.out);
	cr_assert(strstr(r.out, "\nOK\n"), "%s", r.out);
	cr_assert_eq(sent, got, "%s", r.out);
	st_run_free(&r);

	text = st_slurp(json, NULL);
	cr_assert_not_null(text, "no JSON written");
	race_json_read(text, &rj);
	free(text);
	cr_log_info("unmap race: sent %llu, efault %lu, remaps %lu, "
		    "%lld gaps of %lld bytes", sent, efault, remaps, rj.ngaps,
		    rj.gaps);
	cr_assert_eq(rj.tcp_convs, 1);
	cr_assert_gt(rj.sender_port, 0, "a connect or accept opened it");
	cr_assert(rj.contiguous, "each event starts where the last ended");
	cr_assert_eq(rj.data + rj.gaps, (long long)sent,
		     "data %lld + gaps %lld, sent %llu", rj.data, rj.gaps,
		     sent);
	cr_assert_eq(rj.end_data, rj.data, "end event agrees");
	cr_assert_eq(rj.end_gaps, rj.gaps, "end event agrees");
	cr_assert_eq(rj.other, 0, "the receiver sent nothing");
	cr_assert(rj.ngaps > 0 || efault > 0, "the race never happened");

	/* the pcap: readable, the data bytes in packets, the gaps skipped
	 * in sequence space (SYN and FIN take one number each) */
	cr_assert_eq(st_run(fields, &r), 0);
	cr_assert_eq(r.status, 0, "tshark: %s", r.err);
	cr_assert_null(strstr(r.err, "cut short"), "%s", r.err);
	for (char *line = r.out, *nl; line && *line; line = nl) {
		long long port, len, next;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (sscanf(line, "%lld %lld %lld", &port, &len, &next) != 3)
			continue;
		if (port != rj.sender_port) {
			wire_other += len;
			continue;
		}
		wire_data += len;
		if (next > wire_next)
			wire_next = next;
	}
	st_run_free(&r);
	cr_assert_eq(wire_data, rj.data, "pcap payload %lld, JSON data %lld",
		     wire_data, rj.data);
	cr_assert_eq(wire_next, (long long)sent + 2, "pcap seq %lld, sent %llu",
		     wire_next, sent);
	cr_assert_eq(wire_other, 0);
	unlink(json);
	unlink(pcap);
}

/*
 * Python that adds seccomp filters of its own: add_filter(n) installs one
 * of n instructions that allow everything, and returns 0 or the errno.
 */
#define ADD_FILTER_PY \
	"import ctypes, errno, struct\n" \
	"class Prog(ctypes.Structure):\n" \
	"    _fields_ = [(\"len\", ctypes.c_ushort), " \
	"(\"insns\", ctypes.c_void_p)]\n" \
	"libc = ctypes.CDLL(None, use_errno=True)\n" \
	"def add_filter(n):\n" \
	"    buf = ctypes.create_string_buffer(" \
	"struct.pack(\"=HBBI\", 6, 0, 0, 0x7fff0000) * n)\n" \
	"    prog = Prog(n, ctypes.addressof(buf))\n" \
	"    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0: return 0\n" \
	"    return ctypes.get_errno()\n"

/*
 * Runs a Python client of the echo server under socktap, prelude first.
 * The prelude writes to the file "expect" whether socktap can no longer
 * grow the process's filter (1) or still can (0).  The client's five
 * lines must be in the flows both ways, whatever the case, and the
 * warning that every syscall of the process stops from then on printed
 * exactly when expected.  Returns what the prelude expected.  The client
 * talks on fd 99: its socket's first number may already be in the filter
 * (a user lookup probes nscd through a socket on fd 3: python's with HOME
 * unset, pyenv's bash shim's with SHELL unset), and a filter never
 * shrinks, so only a number no socket had makes it grow.
 */
static int client_after(const char *prelude)
{
	const char *dir = st_tmpfile(".drop");
	char cmd[8192];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	const char *lines = "line 0\nline 1\nline 2\nline 3\nline 4\n"
			    "line 0\nline 1\nline 2\nline 3\nline 4\n";
	struct st_run r;
	int warned = -1, expected = -1;

	snprintf(cmd, sizeof(cmd),
		"set -e; mkdir -p %s; chmod 777 %s; cd %s\n"
		"%s -n 1 > srv.txt & srv=$!\n"
		"for i in $(seq 100); do grep -q PORT srv.txt && break; "
		"sleep 0.1; done\n"
		"%s -q -o trace.txt --flows fl -- python3 -c '\n"
		"import os, socket, sys, encodings.idna\n"
		ADD_FILTER_PY
		"%s\n"
		"c = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))\n"
		"s = os.dup2(c.fileno(), 99); c.close()\n"
		"for i in range(5):\n"
		"    os.write(s, b\"line %%d\\n\" %% i); got = b\"\"\n"
		"    while len(got) < 7: got += os.read(s, 100)\n"
		"' $(awk '/PORT/ {print $2}' srv.txt)\n"
		"wait $srv\n"
		"cat fl/*.a2b fl/*.b2a\n"
		"echo fallback $(grep -c 'every system call of this process "
		"stops' trace.txt || true) $(cat expect)\n",
		dir, dir, dir, st_sample("st_echo_server"), ST_BIN, prelude);
	cr_assert_eq(st_run(sh, &r), 0);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert_eq(strncmp(r.out, lines, strlen(lines)), 0, "%s\n%s", r.out,
		     r.err);
	cr_assert_eq(sscanf(r.out + strlen(lines), "fallback %d %d", &warned,
			    &expected), 2, "%s", r.out);
	cr_assert_eq(warned, expected, "%s\n%s", r.out, r.err);
	st_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(st_run(sh, &r), 0);
	st_run_free(&r);
	return expected;
}

/*
 * A daemon started as root that changes user loses CAP_SYS_ADMIN, and
 * with it the right to add seccomp filters (socktap does not impose
 * no_new_privs on it).  Its new sockets could not join the filter: their
 * reads and writes must still be recorded, every syscall of that process
 * stopping from then on.  Before, nginx's workers lost the requests and
 * response headers of most connections this way.  Whether the kernel
 * refuses depends on what the test runs with (no_new_privs set around
 * it, securebits that keep capabilities): the client asks it first.
 */
Test(faults, process_that_drops_root_keeps_its_data_recorded, .timeout = 60)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: without it socktap's filter comes "
			     "with no_new_privs and can always grow");
	client_after("os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
		     "open(\"expect\", \"w\").write("
		     "\"1\" if add_filter(1) == errno.EACCES else \"0\")");
}

/*
 * The kernel caps the instructions of a process's seccomp filters
 * (32768 along the path).  A process that spent them all on its own
 * filters leaves socktap none to grow its own: its new socket must be
 * recorded all the same, every syscall stopping from then on.  The same
 * fallback as above, reachable with or without root and no_new_privs.
 */
Test(faults, process_with_full_filter_budget_keeps_its_data_recorded,
     .timeout = 60)
{
	int expected = client_after(
		"n = 4096\n"
		"while n:\n"
		"    e = add_filter(n)\n"
		"    if e not in (0, errno.ENOMEM): sys.exit(os.strerror(e))\n"
		"    if e: n //= 2\n"
		"open(\"expect\", \"w\").write(\"1\")");

	cr_assert_eq(expected, 1);
}
