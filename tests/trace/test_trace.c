/*
 * socktap on real programs: the sample clients and servers, curl against
 * python's http.server, the finger client.  Each test checks the
 * annotated lines against what the kernel really used (ports the server
 * saw, the bytes the client got back).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "trace/runner.h"

#define SOCKTAP ST_BIN

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

/* Starts argv with its fd `fd` writing into a new pipe; *readfd gets
 * the pipe's other end.  The child's pid, or -1. */
static pid_t spawn_piped(char *const argv[], int fd, int *readfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], fd);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0)
		close(p[0]);
	else
		*readfd = p[0];
	return pid;
}

/* Starts argv with its stderr thrown away.  The child's pid, or -1. */
static pid_t spawn_quiet(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The pid tracing tid (its TracerPid: 0 for none), or -1. */
static pid_t tracer_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

/* Waits up to ms for tid to be traced by tracer: socktap has started
 * (its stop signals are caught) however loaded the machine is. */
static bool wait_traced_by(pid_t tid, pid_t tracer, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (tracer_of(tid) == tracer)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Starts socktap (att, which attaches to sp) with its stderr going into
 * a pipe (*errfd), and waits until sp is traced by it.  Its pid. */
static pid_t attach_piped(char *const att[], pid_t sp, int *errfd)
{
	pid_t tp = spawn_piped(att, 2, errfd);

	cr_assert_gt(tp, 0);
	cr_assert(wait_traced_by(sp, tp, 20000),
		  "socktap never attached to %d", (int)sp);
	return tp;
}

/* The first child of pid, or -1. */
static pid_t first_child(pid_t pid)
{
	char path[80];
	int child = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &child) != 1)
		child = -1;
	fclose(f);
	return child;
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
			 (char *)st_port_str(port), "-m", "hello socktap\n", NULL };
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
			 (char *)st_port_str(port), NULL };
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

/* A reply taken by recv() on an unconnected socket has no source: its
 * conversation's peer is unknown, and the summary says how the pcap
 * shows that end (the zero address, as for the wildcard). */
Test(trace, udp_reply_without_source, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-u", "-n", "1",
			NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt"), *pcap = st_tmpfile(".pcap");
	char script[256];
	char *argv[] = { SOCKTAP, "-q", "-o", (char *)tf, "-w", (char *)pcap,
			 "--", "/usr/bin/python3", "-c", script, NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "import socket\n"
		 "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		 "s.sendto(b'ping 0', ('127.0.0.1', %d))\n"
		 "assert s.recv(100) == b'ping 0'\n", port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(st_lines_with(t, "stand-in addresses:", NULL), 1, "%s",
		     t);
	cr_assert_eq(st_lines_with(t, " <-> 0.0.0.0:0  is  UDP 0.0.0.0:",
				   " -> ?", NULL), 1, "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
	unlink(pcap);
}

/* TCP Fast Open: the connect folded into sendto or sendmsg with
 * MSG_FASTOPEN and an address makes a connection to that address. */
Test(trace, tcp_fast_open_connects, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "2", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char script[512], want[64];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/usr/bin/python3",
			 "-c", script, NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "import socket\n"
		 "F, A = socket.MSG_FASTOPEN, ('127.0.0.1', %d)\n"
		 "c = socket.socket()\n"
		 "c.sendto(b'fast open', F, A)\n"
		 "c.shutdown(socket.SHUT_WR)\n"
		 "assert c.recv(100) == b'fast open'\n"
		 "c = socket.socket()\n"
		 "c.sendmsg([b'fast ', b'msg'], [], F, A)\n"
		 "c.shutdown(socket.SHUT_WR)\n"
		 "assert c.recv(100) == b'fast msg'\n", port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "->127.0.0.1:%d>", port);
	cr_assert_eq(st_lines_with(t, "sendto(", want, "MSG_FASTOPEN", NULL),
		     1, "%s", t);
	cr_assert_eq(st_lines_with(t, "sendmsg(", want, "MSG_FASTOPEN", NULL),
		     1, "%s", t);
	/* two connections to the server, each 9 or 8 bytes each way */
	snprintf(want, sizeof(want), " -> 127.0.0.1:%d ", port);
	cr_assert_eq(st_lines_with(t, " TCP ", want, NULL), 2, "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* The error queue (MSG_ERRQUEUE) is neither data nor an end: a UDP
 * datagram of ours an ICMP error brought back is not a reply, and the
 * 0 bytes of a zerocopy notice on TCP are not the peer's FIN. */
Test(trace, error_queue_is_not_data, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt"), *js = st_tmpfile(".json");
	char script[1024];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--json", (char *)js,
			 "--", "/usr/bin/python3", "-c", script, NULL };
	struct st_run r;
	char *t, *j;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "import socket, time\n"
		 "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		 "u.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR\n"
		 "u.sendto(b'to nobody', ('127.0.0.1', 9))\n"
		 "time.sleep(0.1)\n"
		 "assert u.recvmsg(100, 1024, socket.MSG_ERRQUEUE)[0] == "
		 "b'to nobody'\n"
		 "c = socket.create_connection(('127.0.0.1', %d))\n"
		 "c.setsockopt(socket.SOL_SOCKET, 60, 1)  # SO_ZEROCOPY\n"
		 "c.sendall(b'z' * 100000, 0x4000000)  # MSG_ZEROCOPY\n"
		 "time.sleep(0.1)\n"
		 "c.recvmsg(0, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)\n"
		 "c.shutdown(socket.SHUT_WR)\n"
		 "got = b''\n"
		 "while True:\n"
		 "    x = c.recv(65536)\n"
		 "    if not x: break\n"
		 "    got += x\n"
		 "assert got == b'z' * 100000\n", port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(st_lines_with(t, "recvmsg(", "MSG_ERRQUEUE) = ",
				   "(error queue, not recorded)", NULL), 2,
		     "%s", t);
	/* the UDP conversation: 9 bytes out, none back */
	cr_assert_eq(st_lines_with(t, " UDP ", "127.0.0.1:9 ", " 9 ", " 0 ",
				   NULL), 1, "%s", t);
	/* the echo's FIN comes after the echo */
	j = st_slurp(js, NULL);
	cr_assert_not_null(j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"fin\"", "\"dir\":\"b2a\"",
				   NULL), 1, "%s", j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"fin\"", "\"dir\":\"b2a\"",
				   "\"offset\":100000", NULL), 1, "%s", j);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	free(j);
	unlink(tf);
	unlink(js);
}

/* A socket the launched command inherits from socktap's own caller
 * lives on after the command closes it: no FIN is made up for it (the
 * caller still writes on it afterwards). */
Test(trace, inherited_socket_gets_no_made_up_fin, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt"), *js = st_tmpfile(".json");
	char script[1024];
	char *argv[] = { "/bin/bash", "-c", script, NULL };
	struct st_run r;
	char *t, *j;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "exec 3<>/dev/tcp/127.0.0.1/%d\n"
		 "%s -q -o %s --json %s -- /bin/sh -c 'echo inside >&3'\n"
		 "echo after >&3\n"
		 "test \"$(head -c 13 <&3)\" = \"$(printf 'inside\\nafter')\"\n",
		 port, SOCKTAP, tf, js);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	t = st_slurp(tf, NULL);
	j = st_slurp(js, NULL);
	cr_assert_not_null(t);
	cr_assert_not_null(j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"data\"", NULL), 1, "%s", j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"fin\"", NULL), 0, "%s", j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"end\"", "\"end\":\"open\"",
				   NULL), 1, "%s", j);
	cr_assert_eq(st_lines_with(t, " TCP ", " 7 ", " open ", NULL), 1,
		     "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	free(j);
	unlink(tf);
	unlink(js);
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
			 (char *)st_port_str(port), NULL };
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
			 (char *)st_port_str(port), "-m", "plain\n", NULL };
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

/* Attach to a client mid-conversation, detach with SIGINT: the client
 * goes on and finishes correctly, and what it did meanwhile is traced. */
Test(trace, attach_mid_conversation_and_detach, .timeout = 60)
{
	char *srv[] = { "/usr/bin/python3", "-c",
		"import socket\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)\n"
		"print('PORT', s.getsockname()[1], flush=True)\n"
		"for i in range(10):\n"
		"    c, _ = s.accept(); d = c.recv(100)\n"
		"    c.sendall(b'echo:' + d); c.close()\n", NULL };
	int port;
	pid_t sp = st_server_start(srv, &port);
	char script[512], pidstr[16];
	char *cli[] = { "/usr/bin/python3", "-c", script, NULL };
	const char *tf = st_tmpfile(".txt");
	char *att[] = { SOCKTAP, "-o", (char *)tf, "-p", pidstr, NULL };
	int out, ws;
	pid_t cp, tp;
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	char *t;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "import socket, time\n"
		 "for i in range(10):\n"
		 "    c = socket.create_connection(('127.0.0.1', %d))\n"
		 "    c.sendall(b'msg%%d' %% i)\n"
		 "    print(c.recv(100).decode(), flush=True); c.close()\n"
		 "    time.sleep(0.15)\n", port);
	cp = spawn_piped(cli, 1, &out);
	cr_assert_gt(cp, 0);
	/* mid-conversation: after the first reply */
	n = read(out, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	len = (size_t)n;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)cp);
	tp = fork();
	if (tp == 0) {
		execv(att[0], att);
		_exit(127);
	}
	cr_assert(wait_traced_by(cp, tp, 20000), "socktap never attached");
	usleep(700 * 1000);
	kill(tp, SIGINT);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "socktap status %d",
		  ws);
	while ((n = read(out, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	cr_assert_eq(waitpid(cp, &ws, 0), cp);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
		  "the client survived the detach");
	for (int i = 0; i < 10; i++) {
		char want[16];

		snprintf(want, sizeof(want), "echo:msg%d\n", i);
		cr_assert(strstr(buf, want), "reply %d missing: %s", i, buf);
	}
	t = st_slurp(tf, NULL);
	cr_assert_not_null(t);
	snprintf(script, sizeof(script), "->127.0.0.1:%d>", port);
	cr_assert_geq(st_lines_with(t, "connect(", script, NULL), 1,
		      "a connection made while attached is traced: %s", t);
	cr_assert_geq(st_lines_with(t, "\"echo:msg", NULL), 1, "%s", t);
	cr_assert_eq(st_server_wait(sp, 10000), 0);
	close(out);
	free(t);
	unlink(tf);
}

Test(trace, timestamp_options, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-ttt", "-T", "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "tcp", "127.0.0.1",
			 (char *)st_port_str(port), NULL };
	struct st_run r;
	char *t, *line;
	double epoch, spent;
	int pid;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	line = strstr(t, "connect(");
	cr_assert_not_null(line, "%s", t);
	while (line > t && line[-1] != '\n')
		line--;
	cr_assert_eq(sscanf(line, "[pid %d] %lf connect(", &pid, &epoch), 2,
		     "%s", line);
	cr_assert_gt(epoch, 1.7e9, "seconds since the epoch");
	line = strchr(line, '<');
	line = strstr(line, ") = 0 <");
	cr_assert_not_null(line, "-T suffix: %s", t);
	cr_assert_eq(sscanf(line, ") = 0 <%lf>", &spent), 1);
	cr_assert_lt(spent, 5.0);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* SIGTERM to socktap in launch mode reaches the command, which ends of
 * it at once, as it would without socktap. */
Test(trace, sigterm_in_launch_mode_reaches_the_command, .timeout = 60)
{
	char *argv[] = { SOCKTAP, "-q", "--", "/bin/sleep", "30", NULL };
	pid_t tp = spawn_quiet(argv);
	int ws;
	struct timespec t0, t1;

	cr_assert_gt(tp, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000 && first_child(tp) < 0; i++)
		usleep(10 * 1000);
	cr_assert(wait_traced_by(first_child(tp), tp, 20000),
		  "the command never ran traced");
	kill(tp, SIGTERM);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "did not wait for sleep 30");
	cr_assert(WIFEXITED(ws), "socktap exits, not killed");
	cr_assert_eq(WEXITSTATUS(ws), 128 + SIGTERM,
		     "the command's status: ended by SIGTERM");
}

/* SIGSTOP and SIGCONT keep their meaning for a traced program. */
Test(trace, stop_and_continue, .timeout = 60)
{
	int out[2], ws;
	pid_t tp, child = 0;
	char buf[256], path[64], state = 0;
	FILE *f, *lines;

	cr_assert_eq(pipe(out), 0);
	tp = fork();
	if (tp == 0) {
		char *argv[] = { SOCKTAP, "-q", "--", "/usr/bin/python3", "-c",
			"import os, time\n"
			/* t before the pid: the stop may come at once */
			"t = time.time(); print(os.getpid(), flush=True)\n"
			"time.sleep(1.0)\n"
			"print('slept', round(time.time() - t, 1), flush=True)\n",
			NULL };
		int devnull = open("/dev/null", O_WRONLY);

		dup2(out[1], 1);
		dup2(devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	lines = fdopen(out[0], "r");
	cr_assert_not_null(fgets(buf, sizeof(buf), lines));
	child = (pid_t)atoi(buf);
	cr_assert_gt(child, 0);
	kill(child, SIGSTOP);
	usleep(1500 * 1000);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%*d %*s %c", &state), 1);
	fclose(f);
	cr_assert(state == 'T' || state == 't', "stopped, state %c", state);
	kill(child, SIGCONT);
	cr_assert_not_null(fgets(buf, sizeof(buf), lines));
	cr_assert_not_null(strstr(buf, "slept"), "got '%s'", buf);
	cr_assert_geq(atof(strstr(buf, "slept") + 6), 1.4,
		      "the stop really held it: %s", buf);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	fclose(lines);
}

/* The classic: the real finger client, against a finger server on port 79
 * in a network namespace of the test's own. */
Test(trace, finger_client_classic, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char script[2048];
	char *argv[] = { "/usr/bin/unshare", "-n", "/bin/sh", "-c", script,
			 NULL };
	struct st_run r;
	char *t;
	int eph;
	char want[96];

	snprintf(script, sizeof(script),
		 "ip link set lo up || exit 99\n"
		 "python3 -c '\n"
		 "import socket\n"
		 "s = socket.socket(); s.bind((\"127.0.0.1\", 79)); s.listen(1)\n"
		 "print(\"ready\", flush=True)\n"
		 "c, _ = s.accept(); q = b\"\"\n"
		 "while not q.endswith(b\"\\r\\n\"): q += c.recv(100)\n"
		 "c.sendall(b\"Login: \" + q.strip() + b\"\\r\\nNo Plan.\\r\\n\")\n"
		 "c.close()' > %s.ready &\n"
		 "while ! grep -q ready %s.ready 2>/dev/null; do sleep 0.05; done\n"
		 "%s -s 64 -o %s -- finger root@127.0.0.1\n"
		 "st=$?; wait; rm -f %s.ready; exit $st\n", tf, tf, ST_BIN, tf, tf);
	cr_assert_eq(st_run(argv, &r), 0);
	if (r.status == 99 || strstr(r.err, "unshare failed"))
		cr_skip_test("cannot create a network namespace here: %s", r.err);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "Login: root"), "finger printed: %s", r.out);
	t = st_slurp(tf, NULL);
	cr_assert_not_null(t);
	cr_assert_geq(st_lines_with(t, "connect(", "->127.0.0.1:79>",
				    "{AF_INET, 127.0.0.1:79}", NULL), 1, "%s", t);
	eph = local_port_in(t, "connect(", "<TCP:127.0.0.1:");
	cr_assert_gt(eph, 0);
	snprintf(want, sizeof(want), "<TCP:127.0.0.1:%d->127.0.0.1:79>", eph);
	cr_assert_geq(st_lines_with(t, "write(", want, "root", NULL), 1, "%s", t);
	cr_assert_geq(st_lines_with(t, "read(", want,
				    "\"Login: root\\r\\nNo Plan.\\r\\n\"", NULL),
		      1, "%s", t);
	/* decoded at the end of the conversation, and named in the summary */
	cr_assert_eq(st_lines_with(t, "decoded as finger", NULL), 1, "%s", t);
	cr_assert_eq(st_lines_with(t, "  > finger query: root", NULL), 1, "%s", t);
	cr_assert_geq(st_lines_with(t, "  < finger response:", NULL), 1, "%s", t);
	cr_assert_eq(st_lines_with(t, " TCP ", "-> 127.0.0.1:79 ", "finger",
				   "FIN", NULL), 1, "summary row: %s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* The launch filter stops reads and writes only on socket fds: a file
 * workload makes few stops, and sockets that move to new fd numbers (dup2,
 * SCM_RIGHTS) are still seen.  The file is read on fd 98: a number that
 * was a socket's stays in the filter (with HOME unset, python's user
 * lookup probes nscd through a socket on fd 3), and its reads stop. */
Test(trace, fd_filter_skips_files_not_sockets, .timeout = 60)
{
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "2", NULL };
	int port;
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char script[2048];
	char *argv[] = { SOCKTAP, "--stats", "-s", "64", "-o", (char *)tf, "--",
			 "/usr/bin/python3", "-c", script, NULL };
	struct st_run r;
	char *t, *st;
	unsigned long long stops = 0;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		"import os, socket\n"
		"f = os.dup2(os.open('/dev/zero', os.O_RDONLY), 98)\n"
		"for i in range(20000): os.read(f, 16)\n"
		"c = socket.create_connection(('127.0.0.1', %d))\n"
		"os.dup2(c.fileno(), 57)\n"
		"os.write(57, b'via dup2\\n'); print(os.read(57, 100))\n"
		"c.close(); os.close(57)\n"
		"a, b = socket.socketpair()\n"
		"d = socket.create_connection(('127.0.0.1', %d))\n"
		"socket.send_fds(a, [b'x'], [d.fileno()]); d.close()\n"
		"_, fds, _, _ = socket.recv_fds(b, 10, 1)\n"
		"os.write(fds[0], b'via passed fd\\n'); print(os.read(fds[0], 100))\n"
		"for i in range(20000): os.read(f, 16)\n", port, port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "via passed fd"), "%s", r.out);
	cr_assert_geq(st_lines_with(t, "write(57<TCP:", "\"via dup2\\n\"", NULL),
		      1, "%s", t);
	cr_assert_geq(st_lines_with(t, "read(57<TCP:", "\"via dup2\\n\"", NULL),
		      1, "%s", t);
	cr_assert_geq(st_lines_with(t, "write(", "<TCP:", "\"via passed fd\\n\"",
				    NULL), 1, "%s", t);
	st = strstr(r.err, "stops_seccomp=");
	cr_assert_not_null(st, "%s", r.err);
	sscanf(st, "stops_seccomp=%llu", &stops);
	cr_assert_lt(stops, 2000, "40000 file reads must not stop: %llu",
		     stops);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* Unix sockets: a socketpair, a named and an abstract listener. */
Test(trace, unix_sockets, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	const char *path = st_tmpfile(".sock");
	char script[2048], want[256];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/usr/bin/python3",
			 "-c", script, NULL };
	struct st_run r;
	char *t;

	snprintf(script, sizeof(script),
		"import socket, os\n"
		"a, b = socket.socketpair()\n"
		"a.sendall(b'ping'); b.recv(10); b.sendall(b'pong'); a.recv(10)\n"
		"srv = socket.socket(socket.AF_UNIX); srv.bind('%s'); srv.listen(1)\n"
		"c = socket.socket(socket.AF_UNIX); c.connect('%s')\n"
		"s, _ = srv.accept(); c.sendall(b'named hello'); s.recv(100)\n"
		"os.unlink('%s')\n"
		"x = socket.socket(socket.AF_UNIX); x.bind('\\0st-abs-%%d' %% os.getpid())\n"
		"x.listen(1); y = socket.socket(socket.AF_UNIX)\n"
		"y.connect('\\0st-abs-%%d' %% os.getpid()); z, _ = x.accept()\n"
		"y.sendall(b'abstract'); z.recv(100)\n", path, path, path);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_geq(st_lines_with(t, "sendto(", "<UNIX-STREAM:[", "->",
				    "\"ping\"", NULL), 1, "%s", t);
	snprintf(want, sizeof(want), "<UNIX-STREAM:(unnamed)->%s>", path);
	cr_assert_geq(st_lines_with(t, want, "\"named hello\"", NULL), 1,
		      "%s", t);
	snprintf(want, sizeof(want), "<UNIX-STREAM:%s->(unnamed)>", path);
	cr_assert_geq(st_lines_with(t, "recvfrom(", want, "\"named hello\"",
				    NULL), 1, "the accepting side: %s", t);
	cr_assert_geq(st_lines_with(t, "<UNIX-STREAM:(unnamed)->@st-abs-",
				    "\"abstract\"", NULL), 1, "%s", t);
	/* both ends traced: one conversation each, bytes counted once */
	cr_assert_eq(st_lines_with(t, " UNIX-STREAM ", "FIN", NULL), 3,
		     "three conversations in the summary: %s", t);
	cr_assert_eq(st_lines_with(t, " UNIX-STREAM ", " 4            4 ",
				   NULL), 1, "socketpair counted once: %s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* io_uring I/O cannot be seen through ptrace: the user is told. */
Test(trace, io_uring_warning, .timeout = 60)
{
	char *argv[] = { SOCKTAP, "-q", "--", "/usr/bin/python3", "-c",
		"import ctypes, os\n"
		"p = ctypes.create_string_buffer(120)\n"
		"fd = ctypes.CDLL(None, use_errno=True).syscall(425, 4, p)\n"
		"print('ok' if fd >= 0 else 'err %d' % ctypes.get_errno())\n",
		NULL };
	struct st_run r;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	if (strncmp(r.out, "ok", 2))
		cr_skip_test("io_uring_setup is refused by this kernel: %s",
			     r.out);
	cr_assert(strstr(r.err, "socktap: warning: ") &&
		  strstr(r.err, "io_uring"), "%s", r.err);
	st_run_free(&r);
	/* with the trace in a file: there too, and on stderr all the same,
	 * where the user looks */
	{
		const char *tf = st_tmpfile(".txt");
		char *t;
		char *with_o[] = { SOCKTAP, "-o", (char *)tf, "--", argv[3],
				   argv[4], argv[5], NULL };

		cr_assert_eq(st_run(with_o, &r), 0);
		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert(strstr(r.err, "socktap: warning: ") &&
			  strstr(r.err, "io_uring"), "stderr: %s", r.err);
		t = st_slurp(tf, NULL);
		cr_assert(t && strstr(t, "socktap: warning: ") &&
			  strstr(t, "io_uring"), "the trace: %s", t);
		free(t);
		st_run_free(&r);
		unlink(tf);
	}
}

/* A forking server and eight client threads, each connection its own. */
Test(trace, threads_and_forking_server, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char script[1024];
	char *argv[] = { SOCKTAP, "-q", "-o", (char *)tf, "--", "/bin/sh",
			 "-c", script, NULL };
	struct st_run r;
	char *t;

	snprintf(script, sizeof(script),
		 "%s -f -n 8 > %s.port & "
		 "while ! test -s %s.port; do sleep 0.05; done; "
		 "%s 8 127.0.0.1 $(cut -d' ' -f2 %s.port); st=$?; wait; "
		 "rm -f %s.port; exit $st", st_sample("st_echo_server"), tf, tf,
		 st_sample("st_threads"), tf, tf);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "OK 8"), "%s", r.out);
	/* one conversation per thread, each seen from both ends once */
	cr_assert(strstr(t, "socktap: 8 conversations"), "%s", t);
	cr_assert_eq(st_lines_with(t, " TCP ", "st_threads", "FIN", NULL), 8,
		     "%s", t);
	for (int i = 0; i < 8; i++)
		cr_assert_geq(st_lines_with(t, " TCP ", "+", NULL), 8,
			      "both processes on every row: %s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* sh -c 'exec client': the exec keeps the pid, and the trace follows. */
Test(trace, shell_exec_client, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char script[512], want[64];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/bin/sh", "-c",
			 script, NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script), "exec %s tcp 127.0.0.1 %d -m exec",
		 st_sample("st_client"), port);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "->127.0.0.1:%d>", port);
	cr_assert_geq(st_lines_with(t, "write(", want, "\"exec\"", NULL), 1,
		      "%s", t);
	cr_assert_eq(st_lines_with(t, " TCP ", "/st_client ", NULL), 1,
		     "comm after exec: %s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* dup, dup2 onto 10, F_DUPFD_CLOEXEC, a file over a former socket
 * number, close_range: the socket is followed, the file is not. */
Test(trace, dup_family_and_reused_numbers, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_fdplay"), "127.0.0.1",
			 (char *)st_port_str(port), NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "via dup2"), "%s", r.out);
	cr_assert_geq(st_lines_with(t, "dup2(", "<TCP:", ", 10) = 10<TCP:",
				    NULL), 1, "%s", t);
	cr_assert_geq(st_lines_with(t, "write(10<TCP:", "\"via dup2\\n\"", NULL),
		      1, "%s", t);
	cr_assert_geq(st_lines_with(t, "F_DUPFD_CLOEXEC", "<TCP:", NULL), 1,
		      "%s", t);
	cr_assert_geq(st_lines_with(t, "read(2", "<TCP:", "\"via dup2\\n\"",
				    NULL), 1, "read on the F_DUPFD copy: %s", t);
	/* fd 10 became a file: its write is not a socket write */
	cr_assert_eq(st_lines_with(t, "write(10,", NULL), 0, "%s", t);
	cr_assert_eq(st_lines_with(t, "write(10<", NULL), 1, "%s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* CLOEXEC sockets vanish at exec; the others are still followed. */
Test(trace, cloexec_at_exec, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "2", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_execer"), "127.0.0.1",
			 (char *)st_port_str(port), NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "after exec"), "%s", r.out);
	cr_assert_geq(st_lines_with(t, "write(", "<TCP:", "\"after exec\\n\"",
				    NULL), 1, "%s", t);
	cr_assert_eq(st_lines_with(t, " TCP ", "FIN", NULL), 2,
		     "both conversations end: %s", t);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* A socket passed with SCM_RIGHTS is resolved where it arrives. */
Test(trace, scm_rights, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_unix"), "rights", NULL };
	struct st_run r;
	char *t;

	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "parent got: via passed fd"), "%s", r.out);
	cr_assert_geq(st_lines_with(t, "<UNIX-STREAM:", "\"via passed fd\\n\"",
				    NULL), 1, "%s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* The client modes: writev, sendmsg, MSG_PEEK, sendmmsg, nonblocking. */
Test(trace, client_modes, .timeout = 120)
{
	static const char *const modes[] = { "writev", "sendmsg", "peek",
					     "nonblock", "mmsg" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		bool udp = !strcmp(modes[i], "mmsg");
		char *srv[] = { (char *)st_sample("st_echo_server"),
				udp ? "-u" : "-n", udp ? "-n" : "1",
				udp ? "3" : NULL, NULL };
		int port;
		pid_t sp = st_server_start(srv, &port);
		const char *tf = st_tmpfile(".txt");
		char *argv[] = { SOCKTAP, "-q", "-o", (char *)tf, "--",
				 (char *)st_sample("st_client"), (char *)modes[i],
				 "127.0.0.1", (char *)st_port_str(port), "-b", "1m",
				 NULL };
		struct st_run r;
		char *t;
		long long a2b = -1, b2a = -1;
		const char *row;

		cr_assert_gt(sp, 0);
		t = trace_of(argv, &r, tf);
		cr_assert_eq(r.status, 0, "%s: %s", modes[i], r.err);
		row = strstr(t, udp ? " UDP " : " TCP ");
		cr_assert_not_null(row, "%s: %s", modes[i], t);
		cr_assert_eq(sscanf(strstr(row, "/st_client") + 10,
				    " %lld %lld", &a2b, &b2a), 2, "%s", row);
		cr_assert_gt(a2b, 0, "%s", modes[i]);
		/* an echo: what went out came back, counted once (no peek) */
		cr_assert_eq(a2b, b2a, "%s: %s", modes[i], row);
		if (!strcmp(modes[i], "nonblock"))
			cr_assert_eq(a2b, 1 << 20);
		cr_assert_eq(st_server_wait(sp, 10000), 0);
		st_run_free(&r);
		free(t);
		unlink(tf);
	}
}

/* sendmmsg and recvmmsg lines show their first message's bytes, as
 * sendmsg and recvmsg lines show theirs, and say that only the first is
 * shown when there are more. */
Test(trace, mmsg_lines_show_the_first_message, .timeout = 60)
{
	char *srv[] = { (char *)st_sample("st_echo_server"), "-u", "-n", "3",
			NULL };
	int port;
	pid_t sp = st_server_start(srv, &port);
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--",
			 (char *)st_sample("st_client"), "mmsg", "127.0.0.1",
			 (char *)st_port_str(port), "-c", "3", NULL };
	struct st_run r;
	char *t;

	cr_assert_gt(sp, 0);
	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(st_lines_with(t, "sendmmsg(", "\"ping 0\", 3, 0) = 3 "
				   "(the first message shown)", NULL), 1, "%s",
		     t);
	/* the echoes come in one recvmmsg or several; the first of each
	 * call is shown */
	cr_assert_geq(st_lines_with(t, "recvmmsg(", "\"ping ", NULL), 1, "%s",
		      t);
	cr_assert_eq(st_server_wait(sp, 10000), 0);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* Socket options by name, with their values in the common shapes. */
Test(trace, sockopt_lines_name_options_and_values, .timeout = 60)
{
	const char *tf = st_tmpfile(".txt");
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--", "/usr/bin/python3",
		"-c",
		"import os, socket, struct\n"
		"print(os.getpid())\n"
		"S, T = socket.SOL_SOCKET, socket.IPPROTO_TCP\n"
		"s = socket.socket()\n"
		"s.setsockopt(S, socket.SO_REUSEADDR, 1)\n"
		"s.setsockopt(T, socket.TCP_NODELAY, 1)\n"
		"s.setsockopt(S, socket.SO_LINGER, struct.pack('ii', 1, 5))\n"
		"s.setsockopt(S, socket.SO_RCVTIMEO, struct.pack('ll', 2, 7))\n"
		"s.setsockopt(S, socket.SO_RCVBUF, 65536)\n"
		"s.getsockopt(S, socket.SO_RCVBUF)\n"
		"s.getsockopt(T, socket.TCP_CONGESTION, 16)\n"
		"u = socket.socketpair()\n"
		"u[0].getsockopt(S, socket.SO_PEERCRED, 12)\n"
		"try:\n"
		"    s.setsockopt(S, 12345, 1)\n"
		"except OSError:\n"
		"    pass\n", NULL };
	struct st_run r;
	char pidcred[64];
	char *t;

	t = trace_of(argv, &r, tf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(st_lines_with(t, "setsockopt(3<TCP:", ", SOL_SOCKET, "
				   "SO_REUSEADDR, [1], 4) = 0", NULL), 1, "%s",
		     t);
	cr_assert_eq(st_lines_with(t, ", SOL_TCP, TCP_NODELAY, [1], 4) = 0",
				   NULL), 1, "%s", t);
	cr_assert_eq(st_lines_with(t, ", SO_LINGER, {l_onoff=1, l_linger=5}"
				   ", 8) = 0", NULL), 1, "%s", t);
	cr_assert_eq(st_lines_with(t, ", SO_RCVTIMEO, {tv_sec=2, tv_usec=7}"
				   ", 16) = 0", NULL), 1, "%s", t);
	/* getsockopt: the value and length the kernel wrote back (Linux
	 * doubles the buffer size asked for) */
	cr_assert_eq(st_lines_with(t, "getsockopt(3<TCP:", ", SOL_SOCKET, "
				   "SO_RCVBUF, [131072], [4]) = 0", NULL), 1,
		     "%s", t);
	cr_assert_eq(st_lines_with(t, ", SOL_TCP, TCP_CONGESTION, \"", "\", "
				   "[", NULL), 1, "%s", t);
	snprintf(pidcred, sizeof(pidcred), ", SO_PEERCRED, {pid=%d, uid=%u, ",
		 atoi(r.out), (unsigned)getuid());
	cr_assert_eq(st_lines_with(t, pidcred, "}, [12]) = 0", NULL), 1,
		     "%s", t);
	/* unknown: the number, as strace shows it */
	cr_assert_eq(st_lines_with(t, ", SOL_SOCKET, 12345, [1], 4) = -1 "
				   "ENOPROTOOPT", NULL), 1, "%s", t);
	st_run_free(&r);
	free(t);
	unlink(tf);
}

/* -q on a terminal: a status line redrawn in place; never in a file. */
Test(trace, live_status_only_on_a_terminal, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "2", NULL };
	pid_t sp = st_server_start(srv, &port);
	char cmd[1024];
	char *tty[] = { "/usr/bin/script", "-qec", cmd, "/dev/null", NULL };
	char *notty[] = { SOCKTAP, "-q", "--", (char *)st_sample("st_client"),
			  "bulk", "127.0.0.1", (char *)st_port_str(port), "-b", "64m",
			  NULL };
	struct st_run r;

	cr_assert_gt(sp, 0);
	/* script(1) gives socktap a pseudo-terminal */
	snprintf(cmd, sizeof(cmd), "%s -q -- %s bulk 127.0.0.1 %d -b 64m",
		 SOCKTAP, st_sample("st_client"), port);
	cr_assert_eq(st_run(tty, &r), 0);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert(strstr(r.out, "\rsocktap: 1 conversation, "),
		  "status line on the tty: %s", r.out);
	cr_assert(strstr(r.out, "67108864 bytes sent, 67108864 bytes received"),
		  "final counts: %s", r.out);
	st_run_free(&r);
	cr_assert_eq(st_run(notty, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_null(strchr(r.err, '\r'), "no status line in a pipe: %s",
		       r.err);
	cr_assert(strstr(r.err, "socktap: 1 conversation\n"), "%s", r.err);
	cr_assert_eq(st_server_wait(sp, 10000), 0);
	st_run_free(&r);
}

/* The bytes of one flow file; NULL when missing. */
static char *flow_file(const char *dir, const char *suffix, size_t *len)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *de;
	char *data = NULL;

	cr_assert_not_null(d, "%s", dir);
	while (!data && (de = readdir(d))) {
		size_t n = strlen(de->d_name), k = strlen(suffix);

		if (n > k && !strcmp(de->d_name + n - k, suffix)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			data = st_slurp(path, len);
		}
	}
	closedir(d);
	return data;
}

static void remove_dir(const char *dir)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Under -q both ends of a socketpair leave the receive filter (each one's
 * sends record what the other reads): no byte is lost either way.  Files
 * fill the low fd numbers first, which an earlier socket of the process
 * (python's nscd probe when HOME is unset) may have left in the filter. */
Test(trace, quiet_socketpair_receives_free, .timeout = 60)
{
	const char *dir = st_tmpfile(".flows");
	char *argv[] = { SOCKTAP, "-q", "--stats", "--flows", (char *)dir,
			 "--", "/usr/bin/python3", "-c",
		"import os, socket\n"
		"low = [os.open('/dev/null', os.O_RDONLY) for i in range(64)]\n"
		"a, b = socket.socketpair()\n"
		"if os.fork() == 0:\n"
		"    a.close(); b.sendall(bytes(range(256)) * 400); n = 0\n"
		"    while n < 5000: n += len(os.read(b.fileno(), 65536))\n"
		"    os._exit(0)\n"
		"b.close(); n = 0\n"
		"while n < 102400: n += len(os.read(a.fileno(), 65536))\n"
		"a.sendall(b'y' * 5000); os.wait(); print('ok', n)\n", NULL };
	unsigned long long free_fds = 0;
	struct st_run r;
	size_t alen = 0, blen = 0;
	char *a2b, *b2a, *st;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "ok 102400"), "%s", r.out);
	st = strstr(r.err, "fds_receive_free=");
	cr_assert_not_null(st, "%s", r.err);
	sscanf(st, "fds_receive_free=%llu", &free_fds);
	cr_assert_eq(free_fds, 2, "%s", r.err);
	a2b = flow_file(dir, ".a2b", &alen);
	b2a = flow_file(dir, ".b2a", &blen);
	cr_assert(a2b && b2a, "flow files missing in %s", dir);
	cr_assert_eq(alen, 5000);
	cr_assert_eq(blen, 102400);
	for (size_t i = 0; i < alen; i++)
		cr_assert_eq(a2b[i], 'y', "a2b byte %zu", i);
	for (size_t i = 0; i < blen; i++)
		cr_assert_eq((unsigned char)b2a[i], i % 256, "b2a byte %zu", i);
	free(a2b);
	free(b2a);
	st_run_free(&r);
	remove_dir(dir);
}

/* A program gone quiet: what socktap traced so far is in its files while
 * the program still runs (tail -f on the trace shows it, as with
 * strace -o), not when a buffer fills or the trace ends. */
Test(trace, outputs_reach_their_files_while_the_program_is_quiet,
     .timeout = 60)
{
	const char *tf = st_tmpfile(".txt"), *jf = st_tmpfile(".json"),
		   *hf = st_tmpfile(".hex");
	char hx[600];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--json", (char *)jf, hx,
		"--", "/usr/bin/python3", "-c",
		"import socket, time\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"s.sendto(b'quiet one', ('127.0.0.1', 9))\n"
		"time.sleep(60)\n", NULL };
	bool trace = false, json = false, hex = false;
	pid_t tp, prog;
	int ws;

	snprintf(hx, sizeof(hx), "--hexdump=%s", hf);
	tp = spawn_quiet(argv);
	cr_assert_gt(tp, 0);
	for (int i = 0; i < 200 && !(trace && json && hex); i++) {
		char *t = st_slurp(tf, NULL), *j = st_slurp(jf, NULL),
		     *h = st_slurp(hf, NULL);

		trace = t && strstr(t, "sendto(") && strstr(t, "\"quiet one\"");
		json = j && strstr(j, "cXVpZXQgb25l");	/* base64 */
		hex = h && strstr(h, "|quiet one|");
		free(t);
		free(j);
		free(h);
		if (!(trace && json && hex))
			usleep(100 * 1000);
	}
	prog = first_child(tp);
	if (prog > 0)
		kill(prog, SIGKILL);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	unlink(tf);
	unlink(jf);
	unlink(hf);
	cr_assert(trace, "the trace file lacks the sendto line");
	cr_assert(json, "the JSON file lacks the datagram");
	cr_assert(hex, "the hexdump file lacks the datagram");
}

/* Attached, every call stops at entry and exit, and the exits of calls
 * not traced are resumed without asking which stop they are: that must
 * stay in step through signals that interrupt blocking calls (restarted
 * or not) and calls of every kind.  Each datagram sent while attached is
 * in the trace, numbered without a gap, with its byte count. */
Test(trace, attach_keeps_entry_and_exit_in_step, .timeout = 60)
{
	char *prog[] = { "/usr/bin/python3", "-c",
		"import os, select, signal, socket, time\n"
		"signal.signal(signal.SIGALRM, lambda *a: None)\n"
		"signal.setitimer(signal.ITIMER_REAL, 0.0007, 0.0007)\n"
		"r, w = os.pipe()\n"
		"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"print('PORT 1', flush=True)\n"
		"for i in range(100000):\n"
		"    os.getppid(); os.stat('/')\n"
		"    select.select([r], [], [], 0.001)\n"
		"    time.sleep(0.0003)\n"
		"    os.write(w, b'x'); os.read(r, 1)\n"
		"    s.sendto(b'msg%06d' % i, ('127.0.0.1', 9))\n", NULL };
	const char *tf = st_tmpfile(".txt");
	char pidstr[16], msg[600] = "";
	char *att[] = { SOCKTAP, "--stats", "-o", (char *)tf, "-p", pidstr,
			NULL };
	int port, ws, errfd, first = -1, last = -1, seen = 0;
	pid_t sp, tp;
	ssize_t n;
	char *t, *p;

	sp = st_server_start(prog, &port);
	cr_assert_gt(sp, 0);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)sp);
	tp = attach_piped(att, sp, &errfd);
	usleep(1500 * 1000);
	kill(tp, SIGINT);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	n = read(errfd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(errfd);
	kill(sp, SIGKILL);
	st_server_wait(sp, 5000);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "socktap: %#x %s",
		  ws, msg);
	p = strstr(msg, "exits_unasked=");
	cr_assert(p && atol(p + 14) > 100, "exits resumed unasked: %s", msg);
	t = st_slurp(tf, NULL);
	cr_assert(t);
	for (p = t; (p = strstr(p, "sendto(")); p++) {
		char *eol = strchr(p, '\n'), *m = strstr(p, "\"msg");
		int i;

		if (!m || (eol && m > eol) || sscanf(m, "\"msg%6d", &i) != 1)
			continue;
		cr_assert(eol && strstr(p, ") = 9") && strstr(p, ") = 9") < eol,
			  "sendto of msg%06d without its byte count", i);
		if (first < 0)
			first = i;
		cr_assert_eq(i, last < 0 ? first : last + 1,
			     "msg%06d follows msg%06d", i, last);
		last = i;
		seen++;
	}
	cr_assert_gt(seen, 20, "%d datagrams traced", seen);
	free(t);
	unlink(tf);
}

/* Attaching to a process that has threads and keeps starting more: each
 * thread found is seized (one of them sends all along: its calls are in
 * the trace), and one born of a thread seized already is ours from birth
 * (PTRACE_O_TRACECLONE), not refused as "already traced". */
Test(trace, attach_while_threads_start, .timeout = 60)
{
	char *spawner[] = { "/usr/bin/python3", "-c",
		"import socket, threading, time\n"
		"def pinger():\n"
		"    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"    while True:\n"
		"        s.sendto(b'ping', ('127.0.0.1', 9)); time.sleep(0.005)\n"
		"threading.Thread(target=pinger, daemon=True).start()\n"
		"print('PORT 1', flush=True)\n"
		"while True:\n"
		"    ts = [threading.Thread(target=time.sleep, args=(0.001,))"
		" for _ in range(8)]\n"
		"    [t.start() for t in ts]; [t.join() for t in ts]\n", NULL };
	const char *tf = st_tmpfile(".txt");
	char pidstr[16], why[600] = "";
	char *att[] = { SOCKTAP, "-o", (char *)tf, "-p", pidstr, NULL };
	int port;
	pid_t sp = st_server_start(spawner, &port);

	cr_assert_gt(sp, 0);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)sp);
	for (int i = 0; i < 10 && !why[0]; i++) {
		int ws, errfd;
		char msg[400] = "", *t;
		ssize_t n;
		pid_t tp = attach_piped(att, sp, &errfd);

		usleep(200 * 1000);
		kill(tp, SIGINT);
		waitpid(tp, &ws, 0);
		n = read(errfd, msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		close(errfd);
		t = st_slurp(tf, NULL);
		if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
			snprintf(why, sizeof(why), "attach %d: status %#x: %s",
				 i, ws, msg);
		else if (st_lines_with(t ? t : "", "sendto(", "\"ping\"",
				       NULL) < 1)
			snprintf(why, sizeof(why), "attach %d: the sending "
				 "thread's calls are missing: %.300s", i,
				 t ? t : "");
		free(t);
	}
	/* the process lives on after ten detaches */
	cr_expect_eq(kill(sp, 0), 0);
	kill(sp, SIGKILL);
	st_server_wait(sp, 5000);
	unlink(tf);
	cr_assert(!why[0], "%s", why);
}

/* Python (with time imported): says it is ready, as a server would for
 * st_server_start, then waits until a tracer has attached. */
#define PY_ANNOUNCE_AND_WAIT_TRACED \
	"print('PORT 1', flush=True)\n" \
	"def traced():\n" \
	"    for l in open('/proc/self/status'):\n" \
	"        if l.startswith('TracerPid:'):\n" \
	"            return int(l.split()[1]) != 0\n" \
	"while not traced(): time.sleep(0.01)\n"

/*
 * Attached processes are not socktap's children: --stats reads their CPU
 * time from their CPU clocks.  The program waits until it is traced,
 * burns 0.3 s of CPU, and a child it forks 0.2 s more; it ends first by
 * exiting (the clocks read at the exit stops), then by being let go
 * (Ctrl-C: read when detached).  Both fail with the CPU time of
 * socktap's children only, which is 0 here.
 */
static double attached_cpu(bool let_go, char *stats, size_t size)
{
	const char *mark = st_tmpfile(".burnt");
	char prog[1024];
	char *argv[] = { "/usr/bin/python3", "-c", prog, (char *)mark, NULL };
	char pidstr[16];
	char *att[] = { SOCKTAP, "-q", "--stats", "-p", pidstr, NULL };
	int port, ws, errfd;
	pid_t sp, tp;
	ssize_t n;
	const char *p;

	snprintf(prog, sizeof(prog),
		"import os, socket, sys, time\n"
		PY_ANNOUNCE_AND_WAIT_TRACED
		"def burn(s):\n"
		"    t = time.process_time()\n"
		"    while time.process_time() - t < s: pass\n"
		"burn(0.3)\n"
		"pid = os.fork()\n"
		"if pid == 0:\n"
		"    burn(0.2); os._exit(0)\n"
		"os.waitpid(pid, 0)\n"
		"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
		"b'done', ('127.0.0.1', 9))\n"
		"open(sys.argv[1], 'w').close()\n"
		"%s\n", let_go ? "time.sleep(60)" : "");
	unlink(mark);
	sp = st_server_start(argv, &port);
	cr_assert_gt(sp, 0);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)sp);
	tp = attach_piped(att, sp, &errfd);
	if (let_go) {
		for (int i = 0; i < 3000 && access(mark, F_OK) != 0; i++)
			usleep(10 * 1000);
		cr_assert_eq(access(mark, F_OK), 0, "the program never burnt");
		kill(tp, SIGINT);
	}
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	n = read(errfd, stats, size - 1);
	stats[n > 0 ? n : 0] = '\0';
	close(errfd);
	if (let_go)
		cr_assert_eq(kill(sp, 0), 0, "the program died at the detach");
	kill(sp, SIGKILL);
	st_server_wait(sp, 5000);
	unlink(mark);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "socktap: %#x %s",
		  ws, stats);
	cr_assert_not_null(strstr(stats, "tracees_cpu_unread=0 "), "%s", stats);
	p = strstr(stats, "tracee_cpu_s=");
	cr_assert_not_null(p, "%s", stats);
	return atof(p + 13);
}

/*
 * Attached: the traced process writes a line on a connection it made
 * before the attach and closes it.  When a child forked before the
 * attach (outside the trace) holds the connection too, it lives on: no
 * FIN is made up, and the conversation ends open.  When the process
 * held it alone, its close is a FIN.  Returns the JSON events.
 */
static char *attached_close(bool shared)
{
	char *sink[] = { "/usr/bin/python3", "-c",
		"import socket\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
		"print('PORT', s.getsockname()[1], flush=True)\n"
		"c, _ = s.accept()\n"
		"while c.recv(100): pass\n", NULL };
	const char *js = st_tmpfile(".json");
	char prog[1024], pidstr[16];
	char *argv[] = { "/usr/bin/python3", "-c", prog, NULL };
	char *att[] = { SOCKTAP, "-q", "--json", (char *)js, "-p", pidstr,
			NULL };
	int port, cport, ws, errfd;
	pid_t sp, cp, tp;
	char *j;

	sp = st_server_start(sink, &port);
	cr_assert_gt(sp, 0);
	snprintf(prog, sizeof(prog),
		"import os, socket, time\n"
		"c = socket.create_connection(('127.0.0.1', %d))\n"
		"r, w = os.pipe()\n"
		"if %d and os.fork() == 0:\n"
		"    os.read(r, 1); c.sendall(b'child\\n'); os._exit(0)\n"
		PY_ANNOUNCE_AND_WAIT_TRACED
		"c.sendall(b'parent\\n'); c.close()\n"
		"if %d: os.write(w, b'x'); os.wait()\n", port, shared, shared);
	cp = st_server_start(argv, &cport);
	cr_assert_gt(cp, 0);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)cp);
	tp = attach_piped(att, cp, &errfd);
	cr_assert_eq(waitpid(tp, &ws, 0), tp);
	close(errfd);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "socktap: %#x", ws);
	cr_assert_eq(st_server_wait(cp, 5000), 0);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	j = st_slurp(js, NULL);
	cr_assert_not_null(j);
	unlink(js);
	return j;
}

Test(trace, attach_shared_socket_gets_no_made_up_fin, .timeout = 60)
{
	char *j = attached_close(true);

	cr_assert_eq(st_lines_with(j, "\"type\":\"data\"", "\"len\":7",
				   NULL), 1, "%s", j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"fin\"", NULL), 0, "%s", j);
	cr_assert_eq(st_lines_with(j, "\"type\":\"end\"", "\"end\":\"open\"",
				   NULL), 1, "%s", j);
	free(j);
}

Test(trace, attach_socket_held_alone_ends_with_fin, .timeout = 60)
{
	char *j = attached_close(false);

	cr_assert_eq(st_lines_with(j, "\"type\":\"fin\"", "\"dir\":\"a2b\"",
				   "\"syscall\":\"close\"", NULL), 1, "%s", j);
	free(j);
}

Test(trace, attach_counts_the_cpu_of_processes_that_exit, .timeout = 60)
{
	char stats[2048];
	double cpu = attached_cpu(false, stats, sizeof(stats));

	cr_assert(cpu >= 0.45 && cpu < 10, "tracee_cpu_s=%.3f: %s", cpu,
		  stats);
}

Test(trace, attach_counts_the_cpu_of_processes_let_go, .timeout = 60)
{
	char stats[2048];
	double cpu = attached_cpu(true, stats, sizeof(stats));

	cr_assert(cpu >= 0.45 && cpu < 10, "tracee_cpu_s=%.3f: %s", cpu,
		  stats);
}
