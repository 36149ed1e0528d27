/*
 * Ground truth for streams and datagrams: real programs on loopback,
 * captured by tcpdump and traced by socktap in the same run.  For every
 * conversation, tshark's follow (raw) of socktap's pcap must give the
 * endpoints (both ways) and the bytes of each direction that tshark's
 * follow of the tcpdump capture gives, and so must socktap's flow files;
 * socktap's pcap passes tshark's expert checks (checksums validated) and
 * capinfos.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "truth/truth_util.h"

TestSuite(wire, .init = tu_init, .fini = tu_fini, .timeout = 60);

/* An echo server (argv after the program name) on a fresh port. */
static int echo(char *const args[])
{
	char *argv[16] = { TU_SAMPLE("st_echo_server") };
	int n = 1;

	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return tu_server(argv, NULL);
}

static void bpf_port(char *buf, size_t size, const char *proto, int port)
{
	snprintf(buf, size, "%s port %d", proto, port);
}

/* One TCP client of a sample program against one server port, traced;
 * the whole comparison, nstreams conversations. */
static void tcp_case(struct tu_case *k, const char *name, int port,
		     char *const cmd[], int nstreams)
{
	struct tu_capture cap;
	char bpf[64], dfilter[64];

	tu_case_init(k, name, false);
	bpf_port(bpf, sizeof(bpf), "tcp", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	tu_capture_start(&cap, k->wire, bpf);
	tu_socktap(k, NULL, cmd);
	tu_capture_stop(&cap);
	tu_check_run(k, "tcp", dfilter, &port, 1, nstreams, NULL);
}

/* The trace shows what the case is about (else it tests nothing). */
static void trace_shows(const struct tu_case *k, const char *what)
{
	char *tr = tu_slurp(k->trace, NULL);

	cr_assert_not_null(tr, "no trace %s", k->trace);
	cr_assert_not_null(strstr(tr, what), "the trace has no %s: the case "
			   "does not test what it should", what);
	free(tr);
}

Test(wire, wget_peek_keepalive)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	char www[300], body[400], got[400], url1[96], url2[96], bpf[64];
	char dfilter[64];
	char *wget[] = { "wget", "-q", "-O", got, url1, url2, NULL };
	int port;

	tu_case_init(&k, "wget", false);
	snprintf(www, sizeof(www), "%s/www", tu_tmp());
	cr_assert_eq(mkdir(www, 0700), 0);
	snprintf(body, sizeof(body), "%s/a.bin", www);
	tu_make_file(body, 2u << 20, 7);
	snprintf(body, sizeof(body), "%s/b.txt", www);
	tu_make_file(body, 5000, 8);
	snprintf(got, sizeof(got), "%s/got", tu_tmp());
	port = tu_http_server(www, NULL);
	snprintf(url1, sizeof(url1), "http://127.0.0.1:%d/a.bin", port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/b.txt", port);
	bpf_port(bpf, sizeof(bpf), "tcp", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);

	tu_capture_start(&cap, k.wire, bpf);
	tu_socktap(&k, NULL, wget);
	tu_capture_stop(&cap);
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, &w);
	cr_assert_gt(w.s[0].data[1].len, (2u << 20) + 5000,
		     "both bodies over one kept-alive connection");
	tu_streams_free(&w);

	trace_shows(&k, "MSG_PEEK");
}

Test(wire, udp_two_peers_one_socket)
{
	struct tu_case k;
	struct tu_capture cap;
	char *u[] = { "-u", "-n", "1", NULL };
	int ports[2];
	char p1[16], p2[16], bpf[96], dfilter[96];
	char *cmd[] = { TU_SAMPLE("st_udp_peers"), "127.0.0.1", p1, p2,
			NULL };

	ports[0] = echo(u);
	ports[1] = echo(u);
	snprintf(p1, sizeof(p1), "%d", ports[0]);
	snprintf(p2, sizeof(p2), "%d", ports[1]);
	snprintf(bpf, sizeof(bpf), "udp and (port %d or port %d)", ports[0],
		 ports[1]);
	snprintf(dfilter, sizeof(dfilter), "udp.port==%d || udp.port==%d",
		 ports[0], ports[1]);
	tu_case_init(&k, "udp_peers", false);
	tu_capture_start(&cap, k.wire, bpf);
	tu_socktap(&k, NULL, cmd);
	tu_capture_stop(&cap);
	tu_check_run(&k, "udp", dfilter, ports, 2, 2, NULL);
}

Test(wire, ipv6_tcp)
{
	struct tu_case k;
	char *six[] = { "-6", NULL };
	int port = echo(six);
	char p[16];
	char *cmd[] = { TU_SAMPLE("st_client"), "tcp", "::1", p, "-m",
			"over IPv6 loopback, echoed back\n", NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "ipv6", port, cmd, 1);
}

/* The segments carrying bytes to `port`: "length push" lines. */
static char *segments_to(const char *pcap, int port)
{
	char filter[64];
	char *out = NULL;
	char *argv[] = { "tshark", "-r", (char *)pcap, "-Y", filter, "-T",
			 "fields", "-e", "tcp.len", "-e", "tcp.flags.push",
			 NULL };

	snprintf(filter, sizeof(filter), "tcp.dstport==%d && tcp.len>0",
		 port);
	cr_assert_eq(tu_run(argv, &out, NULL, NULL), 0, "tshark -r %s", pcap);
	return out;
}

Test(wire, writev)
{
	struct tu_case k;
	int port = echo(NULL);
	char p[16], *wire, *ours;
	char *cmd[] = { TU_SAMPLE("st_client"), "writev", "127.0.0.1", p,
			"-m", "gathered from several iovecs\n", NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "writev", port, cmd, 1);
	trace_shows(&k, "writev(");
	/* one writev of three buffers: one segment, as the kernel sent */
	wire = segments_to(k.wire, port);
	ours = segments_to(k.pcap, port);
	cr_assert_str_eq(ours, wire, "socktap's segments:\n%swire:\n%s", ours,
			 wire);
	free(wire);
	free(ours);
}

Test(wire, nonblock_short_writes)
{
	struct tu_case k;
	int port = echo(NULL);
	char p[16];
	char *cmd[] = { TU_SAMPLE("st_client"), "nonblock", "127.0.0.1", p,
			"-b", "4m", NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "nonblock", port, cmd, 1);
	trace_shows(&k, "EAGAIN");
}

Test(wire, bulk_writes_over_64k)
{
	struct tu_case k;
	int port = echo(NULL);
	char p[16];
	char *cmd[] = { TU_SAMPLE("st_client"), "bulk", "127.0.0.1", p,
			"-b", "8m", "-w", "1m", NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "bulk", port, cmd, 1);
	trace_shows(&k, ", 1048576) = 1048576");
}

Test(wire, threads_8_streams)
{
	struct tu_case k;
	char *t[] = { "-t", "-n", "8", NULL };
	int port = echo(t);
	char p[16];
	char *cmd[] = { TU_SAMPLE("st_threads"), "8", "127.0.0.1", p, NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "threads", port, cmd, 8);
}

/* splice moves bytes between a pipe and a socket inside the kernel: into
 * the socket from a pipe holding more than is taken, and out of it into a
 * pipe with bytes already waiting; both are seen in the pipe. */
Test(wire, splice_through_pipes)
{
	struct tu_case k;
	char *n1[] = { "-n", "1", NULL };
	int port = echo(n1);
	char p[16];
	char *cmd[] = { "python3", "-c",
		"import os, socket, sys\n"
		"c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
		"r, w = os.pipe(); sent = put = 0\n"
		"for i in range(40):\n"
		"    os.write(w, bytes([i]) * (1000 + 37 * i)); put += 1000 + 37 * i\n"
		"    sent += os.splice(r, c.fileno(), 700 + 53 * i)\n"
		"while sent < put: sent += os.splice(r, c.fileno(), put - sent)\n"
		"c.shutdown(socket.SHUT_WR)\n"
		"os.write(w, b'waiting' * 9); got = b''\n"
		"while True:\n"
		"    k = os.splice(c.fileno(), w, 65536)\n"
		"    if not k: break\n"
		"    got += os.read(r, 1 << 20)\n"
		"assert len(got) == sent + 63, (len(got), sent)\n",
		p, NULL };

	snprintf(p, sizeof(p), "%d", port);
	tcp_case(&k, "splice", port, cmd, 1);
	trace_shows(&k, "(payload seen in the pipe)");
}

/* The server is traced: sendfile's payload is read back from the file. */
Test(wire, sendfile_server)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	char file[300], line[128], p[16], bpf[64], dfilter[64];
	char *srv[] = { TU_SAMPLE("st_sendfile_server"), file, NULL };
	char *cli[] = { TU_SAMPLE("st_client"), "tcp", "127.0.0.1", p, "-m",
			"GET /file\n", NULL };
	char *got, *want;
	size_t got_len, want_len;
	int out, port, st;
	pid_t tap;

	tu_case_init(&k, "sendfile", false);
	snprintf(file, sizeof(file), "%s/payload.bin", tu_tmp());
	tu_make_file(file, 3u << 20, 11);
	tap = tu_socktap_bg(&k, NULL, srv, &out);
	cr_assert(tu_wait_line(out, "PORT ", line, sizeof(line), 20000),
		  "the traced server did not start");
	port = atoi(line + 5);
	snprintf(p, sizeof(p), "%d", port);
	bpf_port(bpf, sizeof(bpf), "tcp", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);

	tu_capture_start(&cap, k.wire, bpf);
	st = tu_run(cli, &got, &got_len, NULL);
	cr_assert_eq(st, 0, "st_client exited %d", st);
	cr_assert_eq(tu_wait(tap), 0, "socktap -- st_sendfile_server failed");
	close(out);
	tu_capture_stop(&cap);

	want = tu_slurp(file, &want_len);
	cr_assert(got_len == want_len && !memcmp(got, want, want_len),
		  "the client got %zu bytes of %zu", got_len, want_len);
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, &w);
	/* the server is node 1: the whole file, nothing else */
	cr_assert_eq(w.s[0].data[1].len, want_len);
	cr_assert_eq(memcmp(w.s[0].data[1].p, want, want_len), 0);
	tu_streams_free(&w);
	trace_shows(&k, "sendfile(");
	free(got);
	free(want);
}

/* The real finger client on port 79, in a network namespace. */
Test(wire, finger_netns)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	char why[256];
	char *fingerd[] = { TU_SAMPLE("st_fingerd"), "-p", "79", NULL };
	char *finger[] = { "finger", "root@127.0.0.1", NULL };
	int port = 79;

	if (!tu_netns_new(why, sizeof(why)))
		cr_skip_test("no network namespace: %s", why);
	cr_assert_eq(tu_server(fingerd, NULL), 79);
	tu_case_init(&k, "finger", false);
	tu_capture_start(&cap, k.wire, "tcp port 79");
	tu_socktap(&k, NULL, finger);
	tu_capture_stop(&cap);
	tu_check_run(&k, "tcp", "tcp.port==79", &port, 1, 1, &w);
	cr_assert_eq(w.s[0].data[0].len, 6, "the query is \"root\\r\\n\"");
	cr_assert_eq(memcmp(w.s[0].data[0].p, "root\r\n", 6), 0);
	cr_assert_gt(w.s[0].data[1].len, 0);
	tu_streams_free(&w);
}

/* A free loopback TCP port, for a program that must know it in advance. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * Runs python3 -c script under socktap -q --stats with every file output,
 * tcpdump watching tcp port `port`; socktap must succeed.  Its stdout and
 * stderr come back (free them).
 */
static void run_quiet(struct tu_case *k, const char *name, const char *script,
		      int port, char **out, char **err)
{
	struct tu_capture cap;
	char bpf[64];
	int rc;

	tu_case_init(k, name, false);
	{
		char *argv[] = { ST_BIN, "-q", "--stats", "-w", k->pcap,
				 "--flows", k->flows, "--json", k->json, "--",
				 "/usr/bin/python3", "-c", (char *)script,
				 NULL };

		snprintf(bpf, sizeof(bpf), "tcp port %d", port);
		tu_capture_start(&cap, k->wire, bpf);
		rc = tu_run(argv, out, NULL, err);
		tu_capture_stop(&cap);
	}
	cr_assert_eq(rc, 0, "socktap exited %d: %s", rc, *err ? *err : "");
}

/* A number of socktap's --stats line (key "name="), or of the program's
 * own output. */
static unsigned long long number_after(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;
	unsigned long long v = 0;

	cr_assert_not_null(p, "no '%s' in: %s", key, text ? text : "");
	sscanf(p + strlen(key), "%llu", &v);
	return v;
}

/*
 * Both ends in the traced tree, and -q: the server's receives make no
 * stop at all (its accepted socket leaves the receive filter) and the
 * client's make no exit stop (the sends give the bytes), which must not
 * cost a byte in either direction.  --stats proves the skips happened.
 */
Test(wire, both_ends_traced_quiet)
{
	struct tu_case k;
	char script[1400], dfilter[64], *err = NULL, *out = NULL;
	unsigned long long recvs, stops;
	int port = free_port();

	snprintf(script, sizeof(script),
		"import os, socket, random\n"
		"l = socket.socket(); l.bind(('127.0.0.1', %d)); l.listen()\n"
		"rnd = random.Random(7)\n"
		"if os.fork() == 0:\n"
		"    c = socket.create_connection(('127.0.0.1', %d))\n"
		"    for i in range(300):\n"
		"        n = rnd.choice([1, 100, 1460, 7000, 65536, 200000])\n"
		"        c.sendall(bytes([i %% 256]) * n)\n"
		"    c.shutdown(socket.SHUT_WR)\n"
		"    while c.recv(65536): pass\n"
		"    os._exit(0)\n"
		"a, _ = l.accept(); total = 0; recvs = 0\n"
		"while True:\n"
		"    b = a.recv(rnd.choice([10, 4096, 65536])); recvs += 1\n"
		"    if not b: break\n"
		"    total += len(b)\n"
		"    if rnd.random() < 0.2: a.sendall(b[:rnd.choice([1, 99, 3000])])\n"
		"a.sendall(b'total %%d\\n' %% total); a.close(); os.wait()\n"
		"print('recvs', recvs)\n",
		port, port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	run_quiet(&k, "both_ends", script, port, &out, &err);
	/* one pcap conversation (both ends are the same connection) */
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, NULL);
	recvs = number_after(out, "recvs ");
	stops = number_after(err, "stops_seccomp=");
	/* The whole run makes fewer stops than the server receives alone,
	 * while its other calls and the client's final receives still stop
	 * (the latter without an exit stop). */
	cr_assert_eq(number_after(err, "fds_receive_free="), 1, "%s", err);
	cr_assert_lt(stops, recvs, "%llu stops for %llu receives: %s", stops,
		     recvs, err);
	cr_assert_geq(number_after(err, "receives_unstopped="), 1, "%s", err);
	free(out);
	free(err);
}

/* The untraced peer of receive_free_fd_reused: once ready exists, sends
 * n patterned bytes to port and reads the reply to its end. */
static void untraced_client(const char *ready, int port, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	char buf[4096];
	size_t sent = 0;
	int fd;

	for (int i = 0; i < 2000 && access(ready, F_OK) < 0; i++)
		usleep(10000);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(2);
	while (sent < n) {
		size_t k = n - sent < sizeof(buf) ? n - sent : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < k; i++)
			buf[i] = (char)((sent + i) * 7 % 251);
		w = write(fd, buf, k);
		if (w <= 0)
			_exit(3);
		sent += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

/*
 * A socket whose peer is traced leaves the receive filter (its reads run
 * without a stop); its fd number, reused for a connection from a program
 * that is not traced, must stop again: every byte the untraced client
 * sent is in the capture, as on the wire.
 */
Test(wire, receive_free_fd_reused_by_untraced_peer)
{
	struct tu_case k;
	char script[1600], dfilter[64], ready[400], *err = NULL, *out = NULL;
	int port = free_port(), fd1 = -1, fd2 = -2, status;
	pid_t peer;

	/* the case's directory is made by run_quiet: the ready file goes
	 * beside it, where the untraced client can wait for it */
	snprintf(ready, sizeof(ready), "%s/st-ready-%d-%d", tu_tmp(),
		 (int)getpid(), port);
	unlink(ready);
	snprintf(script, sizeof(script),
		"import os, socket\n"
		"l = socket.socket(); l.bind(('127.0.0.1', %d)); l.listen()\n"
		"if os.fork() == 0:\n"
		"    c = socket.create_connection(('127.0.0.1', %d))\n"
		"    c.sendall(bytes(range(256)) * 1200); c.close(); os._exit(0)\n"
		"def serve():\n"
		"    a, _ = l.accept(); n = 0\n"
		"    while True:\n"
		"        b = os.read(a.fileno(), 65536)\n"
		"        if not b: break\n"
		"        n += len(b)\n"
		"    a.sendall(b'got %%d\\n' %% n); fd = a.fileno(); a.close()\n"
		"    return fd\n"
		"fd1 = serve(); os.wait()\n"
		"open('%s', 'w').close()\n"
		"fd2 = serve()\n"
		"print('fds', fd1, fd2)\n",
		port, port, ready);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	peer = fork();
	cr_assert_geq(peer, 0);
	if (peer == 0)
		untraced_client(ready, port, 200000);
	run_quiet(&k, "fd_reused", script, port, &out, &err);
	cr_assert_eq(waitpid(peer, &status, 0), peer);
	unlink(ready);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the untraced client failed: %#x", status);
	cr_assert(out && strstr(out, "fds "), "the program did not finish: %s",
		  out);
	sscanf(strstr(out, "fds "), "fds %d %d", &fd1, &fd2);
	cr_assert_eq(fd1, fd2, "the second connection took another fd");
	cr_assert_eq(number_after(err, "fds_receive_free="), 1, "%s", err);
	/* both conversations, both directions, as the wire carried them */
	tu_check_run(&k, "tcp", dfilter, &port, 1, 2, NULL);
	free(out);
	free(err);
}

/*
 * A send's payload is read while the call runs, and its tracee runs on
 * from the exit at once, while the packets are built: a program that
 * rewrites its buffer right after each send (write, send, sendto,
 * sendmsg) must still be recorded as the wire carried it.
 */
Test(wire, buffer_rewritten_after_each_send)
{
	struct tu_case k;
	char script[1400], dfilter[64], *err = NULL, *out = NULL;
	int port = free_port();

	snprintf(script, sizeof(script),
		"import os, socket\n"
		"l = socket.socket(); l.bind(('127.0.0.1', %d)); l.listen()\n"
		"if os.fork() == 0:\n"
		"    a, _ = l.accept(); n = 0\n"
		"    while True:\n"
		"        b = a.recv(65536)\n"
		"        if not b: break\n"
		"        n += len(b)\n"
		"    a.sendall(b'%%d' %% n); os._exit(0)\n"
		"c = socket.create_connection(('127.0.0.1', %d))\n"
		"buf = bytearray(20000)\n"
		"for i in range(400):\n"
		"    buf[:] = bytes([i %% 251]) * 20000\n"
		"    w = i %% 4\n"
		"    if w == 0: c.sendall(buf)\n"
		"    elif w == 1: c.sendto(buf, ('127.0.0.1', %d))\n"
		"    elif w == 2: c.sendmsg([buf[:7000], buf[7000:]])\n"
		"    else: os.write(c.fileno(), buf)\n"
		"c.shutdown(socket.SHUT_WR); print('peer', c.recv(100)); os.wait()\n",
		port, port, port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	run_quiet(&k, "rewritten", script, port, &out, &err);
	cr_assert(out && strstr(out, "peer b'8000000'"), "%s", out);
	cr_assert_geq(number_after(err, "released_early="), 200, "%s", err);
	cr_assert_geq(number_after(err, "sends_prefetched="), 200, "%s", err);
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, NULL);
	free(out);
	free(err);
}
