/*
 * Data paths beyond read and write: sendfile read back from the file,
 * payloads from any offset of a page, splice's unseen bytes as a gap,
 * MSG_TRUNC and MSG_OOB marked, UDP GSO and GRO cut into datagrams, and
 * memory that does not grow with the length of a stream.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/runner.h"

#define SOCKTAP ST_BIN

/* The first JSON line holding all the given substrings, or NULL. */
static const char *json_line(const char *json, const char *a, const char *b)
{
	for (const char *l = json; l && *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char *copy = strndup(l, n);
		bool ok = strstr(copy, a) && (!b || strstr(copy, b));

		free(copy);
		if (ok)
			return l;
		l = e ? e + 1 : NULL;
	}
	return NULL;
}

/* nginx-style: a server sends a file with sendfile (an explicit offset,
 * then the file position); the flow file holds exactly the file. */
Test(data, sendfile_payload_read_back, .timeout = 60)
{
	const char *file = st_tmpfile(".payload");
	const char *dir = st_tmpfile(".flows");
	const char *tf = st_tmpfile(".txt");
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;
	FILE *f = fopen(file, "w");
	char *want, *got;
	size_t wn = 0, gn = 0;
	glob_t g;

	cr_assert_not_null(f);
	for (int i = 0; i < 3 * 1024 * 1024; i++)
		fputc((i * 31 + i / 977) & 0xff, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%s -q -o %s --flows %s -- %s -n 1 %s > %s.port & "
		 "while ! test -s %s.port; do sleep 0.05; done; "
		 "%s tcp 127.0.0.1 $(cut -d' ' -f2 %s.port) -m 'get\n' "
		 "> /dev/null; st=$?; wait; rm -f %s.port; exit $st",
		 SOCKTAP, tf, dir, st_sample("st_sendfile_server"), file, tf,
		 tf, st_sample("st_client"), tf, tf);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	want = st_slurp(file, &wn);
	snprintf(cmd, sizeof(cmd), "%s/*-tcp-*.a2b", dir);
	cr_assert_eq(glob(cmd, 0, NULL, &g), 0, "no flow file in %s", dir);
	cr_assert_eq(g.gl_pathc, 1);
	got = st_slurp(g.gl_pathv[0], &gn);
	globfree(&g);
	/* the flow of the server side (A accepted B) is the file */
	cr_assert_eq(gn, wn, "flow is %zu bytes, file %zu", gn, wn);
	cr_assert_eq(memcmp(got, want, wn), 0, "flow differs from the file");
	cr_assert_eq(st_lines_with(r.err, "sendfile", NULL), 0, "%s", r.err);
	free(got);
	free(want);
	st_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s", dir, file, tf);
	cr_assert_eq(st_run(argv, &r), 0);
	st_run_free(&r);
}

/*
 * Payloads are copied out of the tracee to the same offset within a
 * cache line as they had there (st_h_landing): sends from every offset of
 * a page, at a page's end, in an iovec, and longer than one copy step
 * (256 KiB) must come out byte for byte.
 */
Test(data, payloads_from_every_offset_of_a_page, .timeout = 60)
{
	const char *dir = st_tmpfile(".flows");
	const char *expect = st_tmpfile(".expect");
	char *argv[] = { SOCKTAP, "-q", "--flows", (char *)dir, "--",
		"/usr/bin/python3", "-c",
		"import mmap, socket, sys, threading\n"
		"m = mmap.mmap(-1, 1 << 20)\n"
		"m[:] = bytes((i * 7 + i // 251) & 255 for i in range(1 << 20))\n"
		"mv = memoryview(m)\n"
		"l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n"
		"c = socket.create_connection(l.getsockname())\n"
		"s, _ = l.accept()\n"
		"def drain():\n"
		"    back = memoryview(bytearray(1 << 18)); k = 0\n"
		"    while s.recv_into(back[k % 64:k % 64 + 65536]): k += 1\n"
		"t = threading.Thread(target=drain); t.start()\n"
		"sent = bytearray()\n"
		"def send(a, b):\n"
		"    c.sendall(mv[a:b]); sent.extend(mv[a:b])\n"
		"for off in range(64): send(off, off + 1000 + off * 997)\n"
		"for off in (4095, 4080, 4065, 8175): send(off, off + 70000)\n"
		"send(5, 5 + 300000)\n"
		"parts = [mv[3:5000], mv[4113:74113], mv[9000:9001]]\n"
		"n = c.sendmsg(parts)\n"
		"assert n == sum(len(p) for p in parts), n\n"
		"for p in parts: sent.extend(p)\n"
		"c.close(); t.join()\n"
		"open(sys.argv[1], 'wb').write(sent)\n",
		(char *)expect, NULL };
	struct st_run r;
	char pattern[512], *want;
	size_t wn = 0;
	int same = 0;
	glob_t g;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	want = st_slurp(expect, &wn);
	cr_assert_not_null(want);
	cr_assert_gt(wn, 500000);
	snprintf(pattern, sizeof(pattern), "%s/*-tcp-*", dir);
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no flow file in %s", dir);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t gn = 0;
		char *got = st_slurp(g.gl_pathv[i], &gn);

		if (got && gn == wn && !memcmp(got, want, wn))
			same++;
		free(got);
	}
	globfree(&g);
	/* one side's flow, seen from either end of the connection */
	cr_assert_geq(same, 1, "no flow holds the %zu bytes sent", wn);
	free(want);
	st_run_free(&r);
	snprintf(pattern, sizeof(pattern), "rm -rf %s %s", dir, expect);
	cr_assert_eq(system(pattern), 0);
}

/* splice from a pipe into a socket, when the bytes are not in the pipe
 * yet at the call (it waits for a writer): they cannot be seen, a gap of
 * the right length is recorded and said.  (Bytes that are in the pipe
 * are seen there: wire/splice_through_pipes.) */
Test(data, splice_not_seen_is_a_gap, .timeout = 60)
{
	int port;
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	pid_t sp = st_server_start(srv, &port);
	const char *jf = st_tmpfile(".json"), *tf = st_tmpfile(".txt");
	char script[1024];
	char *argv[] = { SOCKTAP, "-o", (char *)tf, "--json", (char *)jf, "--",
			 "/usr/bin/python3", "-c", script, NULL };
	struct st_run r;
	char *json, *trace;

	cr_assert_gt(sp, 0);
	snprintf(script, sizeof(script),
		 "import os, socket, threading, time\n"
		 "c = socket.create_connection(('127.0.0.1', %d))\n"
		 "r, w = os.pipe()\n"
		 "def later(): time.sleep(1.0); os.write(w, b'x' * 1000)\n"
		 "threading.Thread(target=later).start()\n"
		 "n = os.splice(r, c.fileno(), 1000, flags=os.SPLICE_F_MORE)\n"
		 "c.shutdown(socket.SHUT_WR); got = b''\n"
		 "while len(got) < n: got += c.recv(4096)\n"
		 "print(n, len(got))\n", port);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "1000 1000\n");
	json = st_slurp(jf, NULL);
	cr_assert_not_null(json);
	cr_assert_not_null(json_line(json, "\"type\":\"gap\"", "\"len\":1000"),
			   "%s", json);
	cr_assert_not_null(json_line(json, "\"type\":\"gap\"", "splice"),
			   "the reason is given: %s", json);
	/* the echo of those bytes did come back through recv: recorded */
	cr_assert_not_null(json_line(json, "\"dir\":\"b2a\"", "\"len\":"),
			   "%s", json);
	/* the line names splice's flags, as strace does */
	trace = st_slurp(tf, NULL);
	cr_assert_not_null(trace);
	cr_assert_eq(st_lines_with(trace, "splice(", ", 1000, SPLICE_F_MORE) = "
				   "1000 (bytes not all seen in the pipe", NULL),
		     1, "%s",
		     trace);
	cr_assert_eq(st_server_wait(sp, 5000), 0);
	free(json);
	free(trace);
	st_run_free(&r);
	unlink(jf);
	unlink(tf);
}

/* MSG_TRUNC on a datagram: what was read is recorded, marked with the
 * datagram's real length; MSG_OOB bytes are marked out-of-band. */
Test(data, msg_trunc_and_oob_marked, .timeout = 60)
{
	const char *jf = st_tmpfile(".json");
	char *argv[] = { SOCKTAP, "-q", "--json", (char *)jf, "--",
		"/usr/bin/python3", "-c",
		"import socket\n"
		"a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"a.bind(('127.0.0.1', 0))\n"
		"b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"b.sendto(b'0123456789', a.getsockname())\n"
		"print(len(a.recv(4, socket.MSG_TRUNC)))\n"
		"l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n"
		"c = socket.create_connection(l.getsockname())\n"
		"s, _ = l.accept()\n"
		"c.send(b'!', socket.MSG_OOB)\n"
		"print(s.recv(1, socket.MSG_OOB))\n", NULL };
	struct st_run r;
	char *json;

	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "10\nb'!'\n");
	json = st_slurp(jf, NULL);
	cr_assert_not_null(json);
	cr_assert_not_null(json_line(json, "\"trunc\":true", "\"orig_len\":10"),
			   "%s", json);
	cr_assert_not_null(json_line(json, "\"trunc\":true", "\"len\":4"),
			   "%s", json);
	cr_assert_not_null(json_line(json, "\"oob\":true", "\"len\":1"),
			   "%s", json);
	free(json);
	st_run_free(&r);
	unlink(jf);
}

static long maxrss_of(const char *bytes, const char *dir)
{
	char *srv[] = { (char *)st_sample("st_echo_server"), "-n", "1", NULL };
	int port;
	pid_t sp = st_server_start(srv, &port);
	char *argv[] = { SOCKTAP, "-q", "--stats", "-w", "/dev/null",
			 "--json", "/dev/null", "--hexdump=/dev/null",
			 "--flows", (char *)dir, "--",
			 (char *)st_sample("st_client"), "bulk", "127.0.0.1",
			 (char *)st_port_str(port), "-b", (char *)bytes, NULL };
	struct st_run r;
	const char *p;
	long rss = -1;

	cr_assert_gt(sp, 0);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	p = strstr(r.err, "maxrss_kib=");
	cr_assert_not_null(p, "%s", r.err);
	sscanf(p, "maxrss_kib=%ld", &rss);
	cr_assert_eq(st_server_wait(sp, 10000), 0);
	st_run_free(&r);
	return rss;
}

/* Every output on: peak memory is the same for 4 MiB and 96 MiB (the
 * benchmark measures gigabytes; see README). */
Test(data, memory_does_not_grow_with_the_stream, .timeout = 180)
{
	const char *d1 = st_tmpfile(".flows"), *d2 = st_tmpfile(".flows");
	char cmd[512];
	char *rm[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;
	long small = maxrss_of("4m", d1), big = maxrss_of("96m", d2);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's quarantine keeps freed memory: RSS measures it, not us */
	long slack = 64 * 1024;
#else
	long slack = 4096;
#endif

	cr_assert_gt(small, 0);
	cr_assert_lt(big - small, slack,
		     "peak RSS grew from %ld KiB to %ld KiB", small, big);
	cr_assert_lt(big, 32 * 1024 + slack, "peak RSS %ld KiB", big);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", d1, d2);
	cr_assert_eq(st_run(rm, &r), 0);
	st_run_free(&r);
}

/* The Python pieces of the UDP GSO/GRO tests: a sender that cuts with a
 * UDP_SEGMENT cmsg, then with the socket option, then not at all. */
#define PY_GSO_SEND \
	"import socket, struct, sys\n" \
	"def send(tx, dst):\n" \
	"    tx.sendmsg([b'a' * 1500, b'b' * 2000],\n" \
	"               [(17, 103, struct.pack('H', 1000))], 0, dst)\n" \
	"    tx.setsockopt(17, 103, 800); tx.sendto(b'c' * 2400, dst)\n" \
	"    tx.setsockopt(17, 103, 0); tx.sendto(b'd' * 2400, dst)\n"

/*
 * UDP GSO: one send the kernel cuts into datagrams of the segment size
 * is recorded as those datagrams, as the receiver gets them.  UDP GRO:
 * one receive of datagrams the kernel handed over together (the UDP_GRO
 * cmsg gives their size) is recorded as those datagrams again.
 */
Test(data, udp_gso_and_gro_are_datagrams, .timeout = 60)
{
	const char *dir = st_tmpfile(".gso");
	char cmd[8192];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	struct st_run r;

	snprintf(cmd, sizeof(cmd),
		"set -e; mkdir -p %s; cd %s\n"
		"cat > both.py <<'EOF'\n" PY_GSO_SEND
		"rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"rx.bind(('127.0.0.1', 0)); rx.settimeout(5)\n"
		"send(socket.socket(socket.AF_INET, socket.SOCK_DGRAM),\n"
		"     rx.getsockname())\n"
		"print('received', *[len(rx.recv(65536)) for i in range(8)])\n"
		"EOF\n"
		"cat > tx.py <<'EOF'\n" PY_GSO_SEND
		"send(socket.socket(socket.AF_INET, socket.SOCK_DGRAM),\n"
		"     ('127.0.0.1', int(sys.argv[1])))\n"
		"EOF\n"
		"cat > rx.py <<'EOF'\n"
		"import socket, struct\n"
		"rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		"rx.bind(('127.0.0.1', 0)); rx.settimeout(20)\n"
		"rx.setsockopt(17, 104, 1)\n"
		"open('port.tmp', 'w').write(str(rx.getsockname()[1]))\n"
		"__import__('os').rename('port.tmp', 'port')\n"
		"got = []; n = 0\n"
		"while n < 8300:\n"
		"    d, anc, fl, a = rx.recvmsg(65536, 1024); n += len(d)\n"
		"    seg = [struct.unpack('i', c[2][:4])[0] for c in anc\n"
		"           if c[0] == 17 and c[1] == 104]\n"
		"    got.append('%%d/%%d' %% (len(d), seg[0] if seg else 0))\n"
		"print('got', *got)\n"
		"EOF\n"
		"%s -w send.pcap -o send.txt -- python3 both.py\n"
		/* the receive without an address is a conversation of its
		 * own, with a stand-in 0.0.0.0 */
		"echo sent $(tshark -r send.pcap -Y 'ip.src==127.0.0.1' -T fields"
		" -e data.len)\n"
		"grep -c 'UDP_SEGMENT: 4 datagrams of 1000 bytes' send.txt\n"
		"grep -c 'UDP_SEGMENT: 3 datagrams of 800 bytes' send.txt\n"
		"%s -w recv.pcap -o recv.txt -- python3 rx.py & t=$!\n"
		"for i in $(seq 200); do test -e port && break; sleep 0.1; done\n"
		"python3 tx.py $(cat port); wait $t\n"
		"echo recorded $(tshark -r recv.pcap -T fields -e data.len)\n"
		"grep -c 'UDP_GRO: 4 datagrams of 1000 bytes' recv.txt\n",
		dir, dir, SOCKTAP, SOCKTAP);
	cr_assert_eq(st_run(sh, &r), 0);
	cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
	cr_assert_str_eq(r.out,
		/* the receiver's datagrams, and the sender's as recorded */
		"received 1000 1000 1000 500 800 800 800 2400\n"
		"sent 1000 1000 1000 500 800 800 800 2400\n"
		"1\n1\n"
		/* what recvmsg got at once, and the datagrams recorded */
		"got 3500/1000 2400/800 2400/0\n"
		"recorded 1000 1000 1000 500 800 800 800 2400\n1\n",
		"%s\n%s", r.out, r.err);
	st_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(st_run(sh, &r), 0);
	st_run_free(&r);
}
