/*
 * socktap on real programs: the sample clients and servers, curl against
 * python's http.server, the finger client.  Each test checks the
 * annotated lines against what the kernel really used (ports the server
 * saw, the bytes the client got back).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/runner.h"

#define SOCKTAP ST_BIN

static char portstr[16];

static const char *port_s(int port)
{
	snprintf(portstr, sizeof(portstr), "%d", port);
	return portstr;
}

/* Ephemeral port in a "TCP:127.0.0.1:N->" annotation of the line that
 * contains `call`. */
static int local_port_in(const char *trace, const char *call,
			 const char *prefix)
{
	const char *p = strstr(trace, call);
	int port = -1;

	if (!p)
		return -1;
	p = strstr(p, prefix);
	if (p && sscanf(p + strlen(prefix), "%d->", &port) == 1)
		return port;
	return -1;
}

static char *trace_of(char *const argv[], struct st_run *r,
		      const char *tracefile)
{
	cr_assert_eq(st_run(argv, r), 0, "cannot run %s", argv[0]);
	return st_slurp(tracefile, NULL);
}

Test(trace, tcp_client_endpoints_and_bytes, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char want[64];
	char *argv[] = { SOCKTAP, "-s", "64", "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "tcp", "127.0.0.1",
			 (char *)port_s(port), "-m", "hello socktap\n", NULL };
	struct st_run r;
	char *t;
	int eph;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "client failed: %s", r.err);
	cr_assert(strstr(r.out, "hello socktap"), "echo came back");
	cr_assert_not_null(t);
	snprintf(want, sizeof(want), "->127.0.0.1:%d>", port);
	cr_assert_geq(st_lines_with(t, "connect(", "<TCP:127.0.0.1:", want,
				    NULL), 1, "%s", t);
	eph = local_port_in(t, "connect(", "<TCP:127.0.0.1:");
	cr_assert_gt(eph, 0, "the ephemeral port is known: %s", t);
	snprintf(want, sizeof(want), "<TCP:127.0.0.1:%d->127.0.0.1:%d>", eph,
		 port);
	cr_assert_geq(st_lines_with(t, want, "\"hello socktap\\n\"", NULL), 2,
		      "the write and the echoed read: %s", t);
	cr_assert_geq(st_lines_with(t, "shutdown(", want, "SHUT_WR", NULL), 1);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* Both ends in one trace: the server's accept names the client's port. */
Test(trace, server_and_client_agree_on_ports, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char script[1024], want[96];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/bin/sh", "-c",
			 script, NULL };
	struct st_run r;
	char *t;
	int eph, port = 0;

	/* the server prints its port; the client reads it from a file */
	snprintf(script, sizeof(script),
		 "%s -n 1 > %s.port & sleep 0.3; "
		 "%s tcp 127.0.0.1 $(cut -d' ' -f2 %s.port) -m ping; wait",
		 st_sample("st_echo_server"), tf, st_sample("st_client"), tf);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "%s.port", tf);
	free(st_slurp(want, NULL));
	{
		char *pf = st_slurp(want, NULL);

		cr_assert_not_null(pf);
		cr_assert_eq(sscanf(pf, "PORT %d", &port), 1);
		free(pf);
		unlink(want);
	}
	eph = local_port_in(t, "connect(", "<TCP:127.0.0.1:");
	cr_assert_gt(eph, 0, "%s", t);
	snprintf(want, sizeof(want), "<TCP:127.0.0.1:%d->127.0.0.1:%d>", port,
		 eph);
	cr_assert_geq(st_lines_with(t, "accept", want, NULL), 1,
		      "accept shows the client's real port: %s", t);
	snprintf(want, sizeof(want), "<TCP:127.0.0.1:%d LISTEN>", port);
	cr_assert_geq(st_lines_with(t, "listen(", want, NULL), 1, "%s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

Test(trace, udp_sendto_recvfrom, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-u", "-n", "3",
			NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char want[64];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "udp", "127.0.0.1",
			 (char *)port_s(port), NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "{AF_INET, 127.0.0.1:%d}", port);
	/* an unbound UDP socket's local address is the wildcard */
	cr_assert_eq(st_lines_with(t, "sendto(", "<UDP:0.0.0.0:", want,
				   NULL), 3, "%s", t);
	cr_assert_eq(st_lines_with(t, "recvfrom(", "\"ping ", want, NULL), 3,
		     "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

Test(trace, ipv6_endpoints, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-6", "-n", "1",
			NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char want[64];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "tcp", "::1",
			 (char *)port_s(port), NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "->[::1]:%d>", port);
	cr_assert_geq(st_lines_with(t, "connect(", "<TCP:[::1]:", want,
				    "{AF_INET6, [::1]:", NULL), 1, "%s", t);
	cr_assert_gt(local_port_in(t, "connect(", "<TCP:[::1]:"), 0);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* curl against python's http.server: a real client and server. */
Test(trace, curl_against_python_http_server, .timeout = 60)
{
	char *srv[] = { "/usr/bin/python3", "-c",
		"import http.server, sys\n"
		"s = http.server.HTTPServer(('127.0.0.1', 0),"
		" http.server.SimpleHTTPRequestHandler)\n"
		"print('PORT', s.server_port, flush=True)\n"
		"s.handle_request()\n", NULL };
	int port;
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char url[64], want[64];
	char *argv[] = { SOCKTAP, "-s", "100", "-o", (char *)tf, "--",
			 "/usr/bin/curl", "-s", "-o", "/dev/null", url, NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "->127.0.0.1:%d>", port);
	cr_assert_geq(st_lines_with(t, "connect(", want, NULL), 1, "%s", t);
	cr_assert_geq(st_lines_with(t, want, "\"GET / HTTP/1.1\\r\\nHost: ",
				    NULL), 1, "%s", t);
	cr_assert_geq(st_lines_with(t, want, "\"HTTP/1.0 200 OK\\r\\n", NULL),
		      1, "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* Reads and writes on files, pipes and terminals are not shown. */
Test(trace, only_socket_io_is_shown, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/bin/sh", "-c",
			 "cat /etc/hostname > /dev/null; echo out", NULL };
	struct st_run r;
	char *t;

	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "out\n", "stdout untouched");
	cr_assert_eq(st_lines_with(t, "read(", NULL), 0, "%s", t);
	cr_assert_eq(st_lines_with(t, "write(", NULL), 0, "%s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

Test(trace, exit_status_and_signals, .timeout = 60)
{
	char *a1[] = { SOCKTAP, "-q", "--", "/bin/sh", "-c", "exit 7", NULL };
	char *a2[] = { SOCKTAP, "-q", "--", "/bin/sh", "-c", "kill -TERM $$",
		       NULL };
	/* a handled signal reaches the tracee's handler exactly once */
	char *a3[] = { SOCKTAP, "-q", "--", "/usr/bin/python3", "-c",
		"import os, signal\n"
		"got = []\n"
		"signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))\n"
		"os.kill(os.getpid(), signal.SIGUSR1)\n"
		"print('got', len(got))\n", NULL };
	struct st_run r;

	cr_assert_eq(st_run(a1, &r), 0);
	cr_assert_eq(r.status, 7);
	st_run_free(&r);
	cr_assert_eq(st_run(a2, &r), 0);
	cr_assert_eq(r.status, 128 + SIGTERM);
	st_run_free(&r);
	cr_assert_eq(st_run(a3, &r), 0);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "got 1\n");
	st_run_free(&r);
}

Test(trace, no_seccomp_gives_the_same_lines, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "--no-seccomp", "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "tcp", "127.0.0.1",
			 (char *)port_s(port), "-m", "plain\n", NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_geq(st_lines_with(t, "connect(", "<TCP:127.0.0.1:", NULL),
		      1, "%s", t);
	cr_assert_geq(st_lines_with(t, "\"plain\\n\"", NULL), 2, "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

Test(trace, output_file_is_private_and_no_symlink, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	const char *victim = st_tmpfile(".victim");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/bin/true", NULL };
	struct st_run r;
	struct stat sb;
	FILE *f;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(stat(tf, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	st_run_free(&r);
	unlink(tf);
	/* a symlink planted at the output path is refused, not followed */
	f = fopen(victim, "w");
	fputs("keep", f);
	fclose(f);
	cr_assert_eq(symlink(victim, tf), 0);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err, "socktap: cannot write"), "%s", r.err);
	f = fopen(victim, "r");
	cr_assert_eq(fgetc(f), 'k', "target untouched");
	fclose(f);
	st_run_free(&r);
	unlink(tf);
	unlink(victim);
}
