/*
 * Ground truth for the capture itself (issue #4): the live pipe
 * (`socktap -w -`, read while the command still runs), pcapng comments
 * naming the real process, -F selecting exactly what tcpdump's own
 * reading of the same expression selects, a malformed -F refused before
 * anything runs; and the harness's own self-test: a corrupted byte, a
 * missing packet, a cut record or a damaged file must make it fail.
 */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "truth/truth_util.h"

TestSuite(capture, .init = tu_init, .fini = tu_fini, .timeout = 60);

static int echo(char *const args[])
{
	char *argv[16] = { TU_SAMPLE("st_echo_server") };
	int n = 1;

	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return tu_server(argv, NULL);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* TCP/UDP payload of a raw IP record: its offset and length, or -1. */
static long payload(const u_char *p, uint32_t caplen, size_t *off)
{
	size_t ip, l4;
	int proto;

	if (caplen < 20)
		return -1;
	if (p[0] >> 4 == 4) {
		ip = (size_t)(p[0] & 15) * 4;
		proto = p[9];
	} else if (p[0] >> 4 == 6 && caplen >= 40) {
		ip = 40;
		proto = p[6];
	} else {
		return -1;
	}
	if (proto == 6 && caplen >= ip + 20)
		l4 = (size_t)(p[ip + 12] >> 4) * 4;
	else if (proto == 17 && caplen >= ip + 8)
		l4 = 8;
	else
		return -1;
	*off = ip + l4;
	return caplen >= ip + l4 ? (long)(caplen - ip - l4) : -1;
}

/* ------------------------------------------------------------------ */

/*
 * socktap -w - : packets come out of the pipe as they happen.  The
 * command talks, sleeps 2 s, then leaves a file behind: the first data
 * packet must be read before that file exists (and socktap still runs).
 */
Test(capture, live_pipe_before_exit)
{
	struct tu_case k, live;
	struct tu_capture cap;
	char sh[700], done[400], bpf[64], dfilter[64];
	char errbuf[PCAP_ERRBUF_SIZE];
	char *cmd[] = { "sh", "-c", sh, NULL };
	int port = echo(NULL), out, npkts = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_dumper_t *dump;
	double t0, first = -1;
	bool running = false, ended = true;
	pcap_t *p;
	FILE *f;
	pid_t tap;

	tu_case_init(&k, "live", false);
	live = k;
	snprintf(live.pcap, sizeof(live.pcap), "-");
	snprintf(done, sizeof(done), "%s/done", k.dir);
	snprintf(sh, sizeof(sh), "%s tcp 127.0.0.1 %d -m 'live bytes' "
		 ">/dev/null && sleep 2 && touch %s", TU_SAMPLE("st_client"),
		 port, done);
	snprintf(bpf, sizeof(bpf), "tcp port %d", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);

	tu_capture_start(&cap, k.wire, bpf);
	t0 = now();
	tap = tu_socktap_bg(&live, NULL, cmd, &out);
	f = fdopen(out, "r");
	cr_assert_not_null(f);
	p = pcap_fopen_offline(f, errbuf);
	cr_assert_not_null(p, "socktap -w - is not a pcap: %s", errbuf);
	cr_assert_eq(pcap_datalink(p), DLT_RAW);
	/* what the pipe carried, kept to compare with the wire */
	dump = pcap_dump_open(p, k.pcap);
	cr_assert_not_null(dump, "%s", pcap_geterr(p));
	while (pcap_next_ex(p, &h, &data) == 1) {
		size_t off;

		pcap_dump((u_char *)dump, h, data);
		npkts++;
		if (first < 0 && payload(data, h->caplen, &off) > 0) {
			first = now() - t0;
			ended = tu_exists(done);
			running = tu_running(tap);
		}
	}
	pcap_dump_close(dump);
	pcap_close(p);		/* closes f and out */
	cr_assert_eq(tu_wait(tap), 0, "socktap -w - failed");
	tu_capture_stop(&cap);

	cr_assert_gt(npkts, 0, "nothing came out of the pipe");
	cr_assert_geq(first, 0, "no data packet came out of the pipe");
	cr_assert(!ended && running,
		  "the first data packet came %.2f s after the start, after "
		  "the command %s", first, ended ? "ended" : "was reaped");
	cr_assert(tu_exists(done), "the command did not finish");
	/* the stream read live is the whole conversation */
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, NULL);
}

/* pcapng: every data packet names the real process, fd and call. */
Test(capture, pcapng_comments)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	char sh[512], bpf[64], dfilter[64], line[64], want[160];
	char *cmd[] = { "sh", "-c", sh, NULL };
	char *fields[] = { "tshark", "-n", "-r", k.pcap, "-T", "fields",
			   "-E", "separator=|", "-e", "tcp.srcport", "-e",
			   "tcp.len", "-e", "frame.comment", NULL };
	char *o, *tr, *c, *l, *save = NULL;
	int port = echo(NULL), out, pid, fd, cport, data = 0;
	pid_t tap;

	tu_case_init(&k, "pcapng", true);
	/* the shell prints its pid, then becomes st_client (same pid) */
	snprintf(sh, sizeof(sh), "echo $$; exec %s tcp 127.0.0.1 %d -m "
		 "'pcapng says who\n'", TU_SAMPLE("st_client"), port);
	snprintf(bpf, sizeof(bpf), "tcp port %d", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);

	tu_capture_start(&cap, k.wire, bpf);
	tap = tu_socktap_bg(&k, NULL, cmd, &out);
	cr_assert(tu_wait_line(out, "", line, sizeof(line), 20000));
	pid = atoi(line);
	cr_assert_gt(pid, 0, "%s", line);
	cr_assert_eq(tu_wait(tap), 0, "socktap failed");
	close(out);
	tu_capture_stop(&cap);
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, &w);

	/* the descriptor, as the trace shows it: connect(N<TCP:... */
	tr = tu_slurp(k.trace, NULL);
	cr_assert_not_null(tr);
	c = strstr(tr, "connect(");
	cr_assert_not_null(c, "no connect in the trace");
	fd = atoi(c + 8);
	free(tr);
	cport = atoi(strrchr(w.s[0].node[0], ':') + 1);

	cr_assert_eq(tu_run(fields, &o, NULL, NULL), 0);
	for (l = strtok_r(o, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int sport, len;
		char *com = strrchr(l, '|');

		cr_assert_eq(sscanf(l, "%d|%d|", &sport, &len), 2, "%s", l);
		cr_assert_not_null(com);
		/* every packet comes from the traced process */
		snprintf(want, sizeof(want), "pid=%d comm=st_client fd=%d ",
			 pid, fd);
		cr_assert(!strncmp(com + 1, want, strlen(want)),
			  "comment \"%s\", expected \"%s...\"", com + 1,
			  want);
		if (!len)
			continue;
		data++;
		snprintf(want, sizeof(want), "syscall=%s",
			 sport == cport ? "write" : "read");
		cr_assert_not_null(strstr(com, want), "data packet from port "
				   "%d: \"%s\", expected %s", sport, com + 1,
				   want);
	}
	cr_assert_geq(data, 2, "data packets both ways");
	free(o);
	tu_streams_free(&w);
}

/* ------------------------------------------------------------------ */
/* -F: the conversations socktap records are those tcpdump's reading of
 * the same expression keeps from the real capture */

struct three {
	int p1, p2, p3;		/* tcp, tcp, udp */
	char sh[1024];
};

static void three_servers(struct three *t)
{
	char *tcp[] = { "-n", "1", NULL };
	char *udp[] = { "-u", "-n", "3", NULL };

	t->p1 = echo(tcp);
	t->p2 = echo(tcp);
	t->p3 = echo(udp);
	snprintf(t->sh, sizeof(t->sh),
		 "%1$s tcp 127.0.0.1 %2$d -m 'one\n' && "
		 "%1$s tcp 127.0.0.1 %3$d -m 'two\n' && "
		 "%1$s udp 127.0.0.1 %4$d -c 3", TU_SAMPLE("st_client"),
		 t->p1, t->p2, t->p3);
}

/* -F 'tcp port P1' (tcp_port) or -F 'udp' */
static void filter_case(const char *name, bool tcp_port, int ntcp, int nudp)
{
	struct tu_case k;
	struct tu_capture cap;
	struct three t;
	struct tu_streams sw, sp, w;
	char expr[128], bpf[128], full[340];
	char *extra[] = { "-F", expr, NULL };
	char *cmd[] = { "sh", "-c", t.sh, NULL };
	char *sub[] = { "tcpdump", "-r", full, "-w", k.wire, expr, NULL };
	char *o, *e, *opens, *save = NULL, why[1024];
	int nopen;

	three_servers(&t);
	tu_case_init(&k, name, false);
	if (tcp_port)
		snprintf(expr, sizeof(expr), "tcp port %d", t.p1);
	else
		snprintf(expr, sizeof(expr), "udp");
	snprintf(bpf, sizeof(bpf), "port %d or port %d or port %d", t.p1,
		 t.p2, t.p3);
	snprintf(full, sizeof(full), "%s/all.pcap", k.dir);

	tu_capture_start(&cap, full, bpf);
	tu_socktap(&k, extra, cmd);
	tu_capture_stop(&cap);
	/* the truth: tcpdump applies the same expression to what really
	 * crossed the loopback */
	cr_assert_eq(tu_run(sub, &o, NULL, &e), 0, "tcpdump -r: %s", e);
	free(o);
	free(e);

	/* exactly those conversations in the pcap, the flows, the JSON */
	tu_check_run(&k, ntcp ? "tcp" : "udp", NULL, NULL, 0, ntcp + nudp,
		     &w);
	{
		const char *other = ntcp ? "udp" : "tcp";
		struct tu_follow_req r[2] = {
			{ .pcap = k.wire, .proto = other, .guess = 1,
			  .out = &sw },
			{ .pcap = k.pcap, .proto = other, .synth = true,
			  .guess = 1, .out = &sp },
		};

		tu_follow_many(r, 2);
		cr_assert_eq(sw.n, 0, "the expression keeps no %s", other);
		cr_assert(tu_streams_same(&sp, &sw, false, why, sizeof(why)),
			  "-F '%s', %s in socktap's pcap: %s", expr, other,
			  why);
		tu_streams_free(&sw);
		tu_streams_free(&sp);
	}
	opens = tu_json_opens(k.json, &nopen);
	cr_assert_eq(nopen, ntcp + nudp, "-F '%s': the JSON opens %d "
		     "conversations: %s", expr, nopen, opens);
	for (char *l = strtok_r(opens, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		bool found = false;

		for (int i = 0; i < w.n && !found; i++) {
			char a[200], b[200];

			snprintf(a, sizeof(a), "%s %s", w.s[i].node[0],
				 w.s[i].node[1]);
			snprintf(b, sizeof(b), "%s %s", w.s[i].node[1],
				 w.s[i].node[0]);
			found = !strcmp(l, a) || !strcmp(l, b);
		}
		cr_assert(found, "-F '%s': the JSON opens %s, not on the "
			  "wire's filtered capture", expr, l);
	}
	free(opens);
	tu_streams_free(&w);
}

Test(capture, filter_tcp_port)
{
	filter_case("tcp_port", true, 1, 0);
}

Test(capture, filter_udp)
{
	filter_case("udp", false, 0, 1);
}

Test(capture, filter_malformed)
{
	struct tu_case k;
	char marker[400];
	char *argv[] = { ST_BIN, "-F", "tcp port", "-w", k.pcap, "--flows",
			 k.flows, "--json", k.json, "--", "touch", marker,
			 NULL };
	char *o, *e;
	int st, lines = 0;

	tu_case_init(&k, "malformed", false);
	snprintf(marker, sizeof(marker), "%s/ran", k.dir);
	st = tu_run(argv, &o, NULL, &e);
	for (const char *c = e; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(st, 2, "exit status %d for a malformed -F", st);
	cr_assert(lines == 1 && strlen(e) > 10,
		  "one clear line expected, got: \"%s\"", e);
	cr_assert_str_empty(o);
	cr_assert(!tu_exists(marker), "the command ran");
	cr_assert(!tu_exists(k.pcap), "a pcap was left");
	cr_assert(!tu_exists(k.flows), "a flows directory was left");
	cr_assert(!tu_exists(k.json), "a JSON file was left");
	free(o);
	free(e);
}

/* ------------------------------------------------------------------ */
/* the harness fails when it must */

/* Copies src to dst; for packet number drop (1-based) nothing is
 * written, for number flip the last payload byte is inverted, for
 * number cut the record loses its last byte. */
static void rewrite(const char *src, const char *dst, int drop, int flip,
		    int cut)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(src, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_dumper_t *d;
	int n = 0;

	cr_assert_not_null(p, "%s", errbuf);
	d = pcap_dump_open(p, dst);
	cr_assert_not_null(d);
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct pcap_pkthdr hh = *h;
		u_char buf[262144];

		n++;
		if (n == drop)
			continue;
		cr_assert_leq(h->caplen, sizeof(buf));
		memcpy(buf, data, h->caplen);
		if (n == flip)
			buf[h->caplen - 1] ^= 0xff;
		if (n == cut)
			hh.caplen--;
		pcap_dump((u_char *)d, &hh, buf);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

/* The number of the first packet with payload sent from port sport. */
static int data_frame(const char *pcap, int sport)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(pcap, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	int n = 0, found = -1;
	size_t link;

	cr_assert_not_null(p, "%s", errbuf);
	/* tcpdump on lo writes Ethernet headers, socktap raw IP */
	link = pcap_datalink(p) == DLT_EN10MB ? 14 : 0;
	while (found < 0 && pcap_next_ex(p, &h, &data) == 1) {
		const u_char *ipp = data + link;
		size_t off, ip;
		long len;

		n++;
		if (h->caplen <= link)
			continue;
		len = payload(ipp, h->caplen - (uint32_t)link, &off);
		ip = ipp[0] >> 4 == 4 ? (size_t)(ipp[0] & 15) * 4 : 40;
		if (len > 0 && (ipp[ip] << 8 | ipp[ip + 1]) == sport)
			found = n;
	}
	pcap_close(p);
	cr_assert_gt(found, 0, "no data packet from port %d", sport);
	return found;
}

Test(capture, harness_notices_damage)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w, g;
	struct tu_index ix;
	char p[16], bpf[64], dfilter[64], bad[400], why[1024], path[800];
	char *cmd[] = { TU_SAMPLE("st_client"), "tcp", "127.0.0.1", p, "-m",
			"a message that will be damaged on purpose\n", NULL };
	int port = echo(NULL), cport, frame;
	size_t len;
	char *flow;
	FILE *f;

	snprintf(p, sizeof(p), "%d", port);
	tu_case_init(&k, "damage", false);
	snprintf(bpf, sizeof(bpf), "tcp port %d", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	snprintf(bad, sizeof(bad), "%s/bad.pcap", k.dir);
	tu_capture_start(&cap, k.wire, bpf);
	tu_socktap(&k, NULL, cmd);
	tu_capture_stop(&cap);

	/* undamaged, everything agrees */
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, &w);
	cport = atoi(strrchr(w.s[0].node[0], ':') + 1);

	/* one byte of a flow file */
	tu_index_load(k.flows, &ix);
	cr_assert_eq(ix.n, 2);
	snprintf(path, sizeof(path), "%s/%s", k.flows, ix.r[1].f[16]);
	flow = tu_slurp(path, &len);
	cr_assert(flow && len > 10);
	flow[10] ^= 0x20;
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(flow, 1, len, f), len);
	fclose(f);
	cr_assert_not(tu_flows_same(k.flows, "TCP", &port, 1, &w, false, why,
				    sizeof(why)),
		      "a corrupted flow file went unnoticed");
	cr_assert_not_null(strstr(why, "first difference at byte 10"), "%s",
			   why);
	free(flow);
	tu_index_free(&ix);

	/* a data packet dropped from socktap's pcap */
	frame = data_frame(k.pcap, cport);
	rewrite(k.pcap, bad, frame, 0, 0);
	tu_follow(bad, "tcp", dfilter, true, &g);
	cr_assert_not(tu_streams_same(&g, &w, false, why, sizeof(why)),
		      "a dropped packet went unnoticed");
	tu_streams_free(&g);

	/* ... or from the wire */
	frame = data_frame(k.wire, port);
	rewrite(k.wire, bad, frame, 0, 0);
	tu_follow(bad, "tcp", NULL, false, &g);
	cr_assert_not(tu_streams_same(&g, &w, false, why, sizeof(why)),
		      "a packet dropped from the wire went unnoticed");
	tu_streams_free(&g);

	/* one payload byte flipped: the bytes differ, the checksum too */
	frame = data_frame(k.pcap, port);
	rewrite(k.pcap, bad, 0, frame, 0);
	tu_follow(bad, "tcp", dfilter, true, &g);
	cr_assert_not(tu_streams_same(&g, &w, false, why, sizeof(why)),
		      "a flipped byte went unnoticed");
	cr_assert_not(g.expert_ok, "a bad checksum went unnoticed");
	tu_streams_free(&g);

	/* a record cut short */
	rewrite(k.pcap, bad, 0, 0, frame);
	tu_follow(bad, "tcp", dfilter, true, &g);
	cr_assert_gt(g.bad_len, 0, "a cut record went unnoticed");
	tu_streams_free(&g);

	/* a file that ends in the middle of a record */
	flow = tu_slurp(k.pcap, &len);
	f = fopen(bad, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(flow, 1, len - 3, f), len - 3);
	fclose(f);
	free(flow);
	cr_assert_not(tu_capinfos_clean(bad, false, why, sizeof(why)),
		      "capinfos did not complain about a cut file");
	cr_assert_not(tu_expert_clean(bad, why, sizeof(why)),
		      "tshark did not complain about a cut file");
	tu_streams_free(&w);
}
