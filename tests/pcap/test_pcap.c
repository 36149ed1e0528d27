/*
 * The pcap output, checked with the real tools: tshark's Follow Stream
 * must give back exactly the bytes fed, its checksum and sequence
 * analysis must stay quiet for clean conversations, capinfos and
 * libpcap must read both formats, pcapng comments must be there.  Plus
 * live output to a pipe, write errors, and the output path's safety.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcap/pcap_int.h"
#include "pcap/pcap_out.h"
#include "pcap/pcap_check.h"

/* The reference scenario written to dir/name; returns its counters. */
static void write_scen(struct scen *s, const char *path, bool pcapng,
		       struct st_pcap_stats *st)
{
	struct st_pcap_opts o = { .path = path, .pcapng = pcapng };
	char err[256];
	int rc;

	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	memset(s, 0, sizeof(*s));
	rc = st_pcap_sink_new(&o, &s->sink);
	cr_assert_eq(rc, 0, "st_pcap_sink_new(%s): %d %s", path, rc, err);
	scen_build(s);
	cr_assert_eq(s->nerr, 0, "on_event failed: %d", s->first_err);
	cr_assert_eq(s->sink.finish(s->sink.priv), 0);
	cr_assert_eq(st_pcap_sink_stats(&s->sink, st), 0);
	s->sink.destroy(s->sink.priv);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static int count_proto(const struct scen *s, bool tcp)
{
	int n = 0;

	for (int i = 0; i < s->nconv; i++) {
		bool is_tcp = st_proto_is_stream(s->x[i].c.proto);

		n += is_tcp == tcp;
	}
	return n;
}

/* Follow Stream of every conversation gives exactly what was fed. */
static void check_follow(struct scen *s, const char *file)
{
	for (int t = 0; t < 2; t++) {
		bool tcp = t == 0;
		int n = count_proto(s, tcp), got, matched = 0;
		struct follow f[SCEN_MAX];

		got = follow_streams(file, tcp ? "tcp" : "udp", n, f);
		cr_assert_eq(got, n, "follow %s: %d streams of %d",
			     tcp ? "tcp" : "udp", got, n);
		for (int i = 0; i < s->nconv; i++) {
			struct xconv *x = &s->x[i];
			char cl[128], sv[128];
			int k, cd;

			if (st_proto_is_stream(x->c.proto) != tcp)
				continue;
			scen_node(x, x->client, cl, sizeof(cl));
			scen_node(x, !x->client, sv, sizeof(sv));
			for (k = 0; k < n; k++)
				if (!strcmp(f[k].node[0], cl) &&
				    !strcmp(f[k].node[1], sv))
					break;
			cr_assert_lt(k, n, "%s: no stream %s -> %s (client "
				     "first)", x->what, cl, sv);
			matched++;
			if (!x->follow)
				continue;
			/* node 0 is the client: its bytes are the client's
			 * direction (A_TO_B when A is the client) */
			cd = x->client;
			cr_assert_eq(f[k].n[0], x->n[cd],
				     "%s: client sent %zu, tshark %zu", x->what,
				     x->n[cd], f[k].n[0]);
			cr_assert_eq(f[k].n[1], x->n[!cd],
				     "%s: server sent %zu, tshark %zu", x->what,
				     x->n[!cd], f[k].n[1]);
			cr_assert(!memcmp(f[k].bytes[0], x->exp[cd], x->n[cd]),
				  "%s: client bytes differ", x->what);
			cr_assert(!memcmp(f[k].bytes[1], x->exp[!cd],
					  x->n[!cd]),
				  "%s: server bytes differ", x->what);
		}
		cr_assert_eq(matched, n);
		follow_free(f, n);
	}
}

Test(pcap, follow_classic)
{
	char *dir = tmpdir_make(), *file;
	struct scen s;
	struct st_pcap_stats st;

	cr_assert(dir);
	file = path_in(dir, "all.pcap");
	write_scen(&s, file, false, &st);
	check_follow(&s, file);
	cr_log_info("classic pcap: %llu packets, %llu payload bytes",
		    (unsigned long long)st.packets,
		    (unsigned long long)st.payload);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

Test(pcap, follow_pcapng)
{
	char *dir = tmpdir_make(), *file;
	struct scen s;
	struct st_pcap_stats st;

	cr_assert(dir);
	file = path_in(dir, "all.pcapng");
	write_scen(&s, file, false, &st);	/* by the suffix */
	check_follow(&s, file);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

/* The conversation a frame belongs to, by its addresses and ports. */
static struct xconv *frame_conv(struct scen *s, const char *src,
				const char *dst)
{
	for (int i = 0; i < s->nconv; i++) {
		char a[128], b[128];

		scen_node(&s->x[i], 0, a, sizeof(a));
		scen_node(&s->x[i], 1, b, sizeof(b));
		if ((!strcmp(src, a) && !strcmp(dst, b)) ||
		    (!strcmp(src, b) && !strcmp(dst, a)))
			return &s->x[i];
	}
	return NULL;
}

#define SEV_WARN 0x00600000u
#define SEV_ERROR 0x00800000u

/* Checksums verified and the expert analysis, frame by frame. */
static void check_expert(struct scen *s, const char *file,
			 const struct st_pcap_stats *st)
{
	const char *argv[] = {
		"tshark", "-r", file,
		"-o", "tcp.check_checksum:TRUE",
		"-o", "ip.check_checksum:TRUE",
		"-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
		"-E", "aggregator=^",
		"-e", "frame.number",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e",
		"ipv6.dst", "-e", "tcp.srcport", "-e", "udp.srcport",
		"-e", "tcp.dstport", "-e", "udp.dstport",
		"-e", "ip.checksum.status", "-e", "tcp.checksum.status",
		"-e", "udp.checksum.status",
		"-e", "_ws.expert.severity", "-e", "_ws.expert.message",
		NULL,
	};
	char *text, *line, *save = NULL;
	unsigned long frames = 0, good = 0, gap_warn = 0, rst_warn = 0;
	unsigned long unverified = 0;
	int rc;

	rc = run_tool(argv, &text, NULL);
	cr_assert_eq(rc, 0, "tshark failed");
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[16] = { 0 }, *p = line, src[160], dst[160];
		const char *sport, *dport;
		struct xconv *x;
		int nf = 0;

		while (nf < 16) {
			f[nf++] = p;
			p = strchr(p, '|');
			if (!p)
				break;
			*p++ = '\0';
		}
		cr_assert_eq(nf, 14, "fields: %d in line %s", nf, line);
		frames++;
		sport = f[5][0] ? f[5] : f[6];
		dport = f[7][0] ? f[7] : f[8];
		if (f[1][0]) {
			snprintf(src, sizeof(src), "%s:%s", f[1], sport);
			snprintf(dst, sizeof(dst), "%s:%s", f[3], dport);
		} else {
			snprintf(src, sizeof(src), "[%s]:%s", f[2], sport);
			snprintf(dst, sizeof(dst), "[%s]:%s", f[4], dport);
		}
		x = frame_conv(s, src, dst);
		cr_assert(x, "frame %s: %s -> %s is no conversation of ours",
			  f[0], src, dst);
		/* status 1: good; 2: unverified, 3: not present (both
		 * only for a datagram read short) */
		for (int k = 9; k <= 11; k++) {
			if (!f[k][0])
				continue;
			if (!strcmp(f[k], "1")) {
				good++;
				continue;
			}
			cr_assert(x->cut && (!strcmp(f[k], "3") ||
					     !strcmp(f[k], "2")),
				  "frame %s (%s): checksum status %s",
				  f[0], x->what, f[k]);
			unverified++;
		}
		/* severities and messages, '^' separated, in order */
		for (char *sv = f[12], *msg = f[13]; sv && *sv;) {
			char *sn = strchr(sv, '^'), *mn;
			unsigned long sev = strtoul(sv, NULL, 10);

			mn = msg ? strchr(msg, '^') : NULL;
			if (sn)
				*sn = '\0';
			if (mn)
				*mn = '\0';
			if (sev >= SEV_WARN) {
				if (x->gap && strstr(msg, "not captured"))
					gap_warn++;
				else if (x->reset && strstr(msg, "reset"))
					rst_warn++;
				else
					cr_assert(!x->clean && sev < SEV_ERROR,
						  "frame %s (%s): %s",
						  f[0], x->what, msg);
			}
			sv = sn ? sn + 1 : NULL;
			msg = mn ? mn + 1 : NULL;
		}
	}
	free(text);
	cr_assert_eq(frames, st->packets, "tshark read %lu frames of %llu",
		     frames, (unsigned long long)st->packets);
	cr_assert_gt(gap_warn, 0, "the gap is not shown");
	cr_assert_gt(rst_warn, 0, "the reset is not shown");
	cr_log_info("%lu frames, %lu checksums verified good, %lu "
		    "unverifiable (cut datagram)", frames, good, unverified);
	/* every frame has an IP header and an L4 checksum, IPv6 no IP one */
	cr_assert_geq(good + unverified, frames + 1);
}

Test(pcap, checksums_and_expert_classic)
{
	char *dir = tmpdir_make(), *file;
	struct scen s;
	struct st_pcap_stats st;

	cr_assert(dir);
	file = path_in(dir, "x.pcap");
	write_scen(&s, file, false, &st);
	check_expert(&s, file, &st);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

Test(pcap, checksums_and_expert_pcapng)
{
	char *dir = tmpdir_make(), *file;
	struct scen s;
	struct st_pcap_stats st;

	cr_assert(dir);
	file = path_in(dir, "x.cap");
	write_scen(&s, file, true, &st);	/* by the option */
	check_expert(&s, file, &st);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

/* Every frame has a comment in pcapng; the notes are there. */
Test(pcap, pcapng_comments)
{
	char *dir = tmpdir_make(), *file, *text, *line, *save = NULL;
	const char *argv[] = { "tshark", "-r", NULL, "-T", "fields",
			       "-e", "frame.comment", NULL };
	struct scen s;
	struct st_pcap_stats st;
	unsigned long n = 0, hs = 0, mid = 0, gap = 0, cut = 0, trunc = 0;
	unsigned long write_c = 0;

	cr_assert(dir);
	file = path_in(dir, "c.pcapng");
	write_scen(&s, file, false, &st);
	argv[2] = file;
	cr_assert_eq(run_tool(argv, &text, NULL), 0);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		n++;
		cr_assert(strstr(line, "pid=4242 comm=curl fd="),
			  "comment: %s", line);
		hs += strstr(line, "handshake synthesized (connect)") != NULL;
		mid += strstr(line, "already connected when first seen") ||
		       strstr(line, "start of conversation not seen");
		gap += strstr(line, "gap: 1000 bytes") != NULL;
		cut += strstr(line, "datagram of 100000 bytes cut") != NULL;
		trunc += strstr(line, "datagram of 500 bytes, 5 read") != NULL;
		write_c += strstr(line, "syscall=write") != NULL;
	}
	free(text);
	cr_assert_eq(n, st.packets);
	cr_assert_geq(hs, 3 * 5);	/* 5 TCP connects, 3 packets each */
	cr_assert_eq(mid, 3);
	cr_assert_eq(gap, 1);
	cr_assert_eq(cut, 1);
	cr_assert_eq(trunc, 1);
	cr_assert_gt(write_c, 10);
	cr_assert_eq(st.dgrams_cut, 1);
	cr_assert_eq(st.gaps, 1);
	cr_assert_eq(st.dropped, 1);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

/* capinfos reads both formats and counts the same packets. */
Test(pcap, capinfos)
{
	char *dir = tmpdir_make();
	const char *names[] = { "k.pcap", "k.pcapng" };

	cr_assert(dir);
	for (int i = 0; i < 2; i++) {
		char *file = path_in(dir, names[i]), *text, want[64];
		const char *argv[] = { "capinfos", "-t", "-c", "-E", NULL,
				       NULL };
		struct scen s;
		struct st_pcap_stats st;

		write_scen(&s, file, false, &st);
		argv[4] = file;
		cr_assert_eq(run_tool(argv, &text, NULL), 0, "capinfos %s",
			     file);
		snprintf(want, sizeof(want), "Number of packets:   %llu",
			 (unsigned long long)st.packets);
		cr_assert(strstr(text, "Number of packets:"), "%s", text);
		cr_assert(strstr(text, i ? "pcapng" : "pcap"), "%s", text);
		cr_assert(strstr(text, "Raw IP"), "%s", text);
		{
			const char *p = strstr(text, "Number of packets:");
			unsigned long long got = 0;

			p += strlen("Number of packets:");
			got = strtoull(p, NULL, 10);
			cr_assert_eq(got, st.packets, "capinfos: %llu, "
				     "written %llu", got,
				     (unsigned long long)st.packets);
		}
		free(text);
		scen_free(&s);
		free(file);
	}
	tmpdir_remove(dir);
}

/* Checks of one file read back with libpcap. */
static void read_back(const char *file, const struct st_pcap_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long long n = 0, bytes = 0;
	long long last = 0;
	int rc;

	p = pcap_open_offline_with_tstamp_precision(file,
			PCAP_TSTAMP_PRECISION_NANO, err);
	cr_assert(p, "pcap_open_offline(%s): %s", file, err);
	cr_assert_eq(pcap_datalink(p), DLT_RAW);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		long long t = (long long)h->ts.tv_sec * 1000000000LL +
			      h->ts.tv_usec;
		unsigned ver = data[0] >> 4, iplen;

		cr_assert_geq(t, last, "packet %llu goes back in time", n);
		last = t;
		cr_assert(ver == 4 || ver == 6);
		iplen = ver == 4 ? (unsigned)(data[2] << 8 | data[3])
				 : 40u + (unsigned)(data[4] << 8 | data[5]);
		cr_assert_eq(iplen, h->len, "packet %llu: IP says %u, "
			     "record %u", n, iplen, h->len);
		cr_assert_leq(h->caplen, h->len);
		if (ver == 4) {
			uint64_t sum = st_pcap_csum_add(0, data, 20);

			cr_assert_eq(st_pcap_csum_fold(sum), 0,
				     "IPv4 header checksum of packet %llu", n);
		}
		n++;
		bytes += h->caplen;
	}
	cr_assert_eq(rc, PCAP_ERROR_BREAK, "read error: %s", pcap_geterr(p));
	pcap_close(p);
	cr_assert_eq(n, st->packets);
	cr_assert_eq(bytes, st->bytes);
	/* the times: 1700000000.999..., never earlier */
	cr_assert_geq(last, 1700000000LL * 1000000000LL);
}

Test(pcap, libpcap_reads_both)
{
	char *dir = tmpdir_make(), *f1, *f2;
	struct scen s;
	struct st_pcap_stats st1, st2;

	cr_assert(dir);
	f1 = path_in(dir, "r.pcap");
	f2 = path_in(dir, "r.pcapng");
	write_scen(&s, f1, false, &st1);
	scen_free(&s);
	write_scen(&s, f2, false, &st2);
	scen_free(&s);
	cr_assert_eq(st1.packets, st2.packets);
	read_back(f1, &st1);
	read_back(f2, &st2);
	cr_log_info("libpcap read %llu packets from each format",
		    (unsigned long long)st2.packets);
	free(f1);
	free(f2);
	tmpdir_remove(dir);
}

/* Segments: sizes as documented (16 KiB, a seqpacket record whole). */
Test(pcap, segment_sizes)
{
	char *dir = tmpdir_make(), *file, *text, *line, *save = NULL;
	const char *argv[] = { "tshark", "-r", NULL, "-T", "fields", "-E",
			       "separator=|", "-e", "ip.src", "-e", "ipv6.src",
			       "-e", "tcp.len",
			       "-e", "tcp.flags.push", "-e", "tcp.flags.urg",
			       "-e", "tcp.urgent_pointer", "-Y", "tcp.len > 0",
			       NULL };
	struct scen s;
	struct st_pcap_stats st;
	int max = 0, sp20000 = 0, sp65495 = 0, sp4505 = 0, urg = 0;
	int c1 = 0, c1_1000 = 0, c1_16384 = 0, c1_8916 = 0;

	cr_assert(dir);
	file = path_in(dir, "seg.pcap");
	write_scen(&s, file, false, &st);
	argv[2] = file;
	cr_assert_eq(run_tool(argv, &text, NULL), 0);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *src = line;
		char *rest = strchr(line, '|');
		int len = 0, psh = 0, u = 0, up = 0;

		cr_assert(rest, "%s", line);
		*rest++ = '\0';	/* ip.src, empty for IPv6 */
		rest = strchr(rest, '|');	/* past ipv6.src */
		cr_assert(rest, "%s", line);
		cr_assert_eq(sscanf(rest, "|%d|%d|%d|%d", &len, &psh, &u,
				    &up), 4, "%s", rest);
		if (!strncmp(src, "198.18.", 7) || !strncmp(src, "198.19.",
							      7)) {
			sp20000 += len == 20000 && psh;
			sp65495 += len == 65495 && !psh;
			sp4505 += len == 4505 && psh;
			continue;
		}
		if (!strcmp(src, "10.1.0.1")) {
			/* a writev's parts gather into segments, PSH on
			 * the call's last */
			c1++;
			c1_1000 += len == 1000 && psh;
			c1_16384 += len == 16384 && !psh;
			c1_8916 += len == 8916 && psh;
		}
		if (len > max)
			max = len;
		if (u) {
			urg++;
			cr_assert_eq(up, len);
		}
	}
	free(text);
	cr_assert_eq(max, 16384);
	cr_assert_eq(sp20000, 1);
	cr_assert_eq(sp65495, 1);
	cr_assert_eq(sp4505, 1);
	cr_assert_eq(urg, 1);
	/* 300, 600+400, 1 (OOB), 16384 + 8916 of 20000+300+5000, 64 */
	cr_assert_eq(c1_1000, 1, "a writev of 600 + 400 bytes: one segment");
	cr_assert_eq(c1_16384, 1);
	cr_assert_eq(c1_8916, 1);
	cr_assert_eq(c1, 6, "conversation 1 sent %d segments", c1);
	scen_free(&s);
	free(file);
	tmpdir_remove(dir);
}

/* ------------------------------------------------------------------ */
/* Live output to a pipe */

static size_t drain(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	return n;
}

/* Counts classic pcap records (after the file header, if any). */
static unsigned count_records(const uint8_t *b, size_t n, size_t off)
{
	unsigned k = 0;

	while (off + 16 <= n) {
		uint32_t cap;

		memcpy(&cap, b + off + 8, 4);
		if (off + 16 + cap > n)
			break;
		off += 16 + cap;
		k++;
	}
	return k;
}

/* Counts pcapng enhanced packet blocks. */
static unsigned count_epb(const uint8_t *b, size_t n)
{
	unsigned k = 0;
	size_t off = 0;

	while (off + 12 <= n) {
		uint32_t type, len;

		memcpy(&type, b + off, 4);
		memcpy(&len, b + off + 4, 4);
		if (len < 12 || len % 4 || off + len > n)
			break;
		k += type == 6;
		off += len;
	}
	return k;
}

/* A TCP conversation 127.0.0.1:40100 -> :30100, opened by connect. */
static struct xconv *connected(struct scen *s, const char *name)
{
	struct st_endpoint a, b;
	struct xconv *x;

	ep4(&a, "127.0.0.1", 40100);
	ep4(&b, "127.0.0.1", 30100);
	x = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, name);
	scen_ev(s, x, ST_EV_OPEN, ST_DIR_A_TO_B, NULL, 0, 0, 0, "connect",
		false);
	return x;
}

Test(pcap, live_stdout_pipe)
{
	for (int ng = 0; ng < 2; ng++) {
		struct st_pcap_opts o = { .path = "-", .pcapng = ng };
		struct st_pcap_stats st;
		struct scen s;
		struct xconv *x;
		static uint8_t buf[1 << 20];
		int p[2], saved;
		size_t n;
		unsigned pk;

		memset(&s, 0, sizeof(s));
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
		saved = dup(1);
		cr_assert_geq(saved, 0);
		cr_assert_eq(dup2(p[1], 1), 1);
		close(p[1]);
		cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
		x = connected(&s, "live");
		scen_data(&s, x, ST_DIR_A_TO_B, 5, 0, 1);
		/* before finish: every packet is already in the pipe */
		n = drain(p[0], buf, sizeof(buf));
		cr_assert_eq(st_pcap_sink_stats(&s.sink, &st), 0);
		pk = ng ? count_epb(buf, n) : count_records(buf, n, 24);
		cr_assert_eq(st.packets, 4);
		cr_assert_eq(pk, 4, "%u packets readable before finish", pk);
		scen_data(&s, x, ST_DIR_B_TO_A, 40000, 0, 2);
		n = drain(p[0], buf, sizeof(buf));
		pk = ng ? count_epb(buf, n) : count_records(buf, n, 0);
		cr_assert_eq(pk, 3);	/* 16384 + 16384 + 7232 */
		cr_assert_eq(s.sink.finish(s.sink.priv), 0);
		s.sink.destroy(s.sink.priv);
		/* stdout is not ours to close */
		cr_assert_eq(fcntl(1, F_GETFD), 0);
		dup2(saved, 1);
		close(saved);
		n = drain(p[0], buf, sizeof(buf));
		cr_assert_eq(n, 0);
		close(p[0]);
		scen_free(&s);
	}
}

/* The file's bytes as they are now (malloc'd), or NULL. */
static uint8_t *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)))
		*len = drain(fd, buf, (size_t)st.st_size);
	close(fd);
	return buf;
}

/* A capture file read while it grows: a conversation too quiet to fill
 * the writer's batch still reaches the file within a second or so,
 * before the capture ends. */
Test(pcap, file_readable_while_capturing)
{
	for (int ng = 0; ng < 2; ng++) {
		char *dir = tmpdir_make(), *file;
		struct st_pcap_opts o = { .pcapng = ng };
		struct scen s;
		struct xconv *x;
		unsigned pk = 0;

		cr_assert(dir);
		file = path_in(dir, ng ? "grows.pcapng" : "grows.pcap");
		o.path = file;
		memset(&s, 0, sizeof(s));
		cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
		x = connected(&s, "quiet");
		/* the second time, the writer thread is surely asleep */
		for (int round = 0; round < 2; round++) {
			struct st_pcap_stats st;

			scen_data(&s, x, round ? ST_DIR_B_TO_A : ST_DIR_A_TO_B,
				  5, 0, round + 1);
			cr_assert_eq(st_pcap_sink_stats(&s.sink, &st), 0);
			/* 10 s: ample slack over the writer's half second */
			for (int i = 0; i < 1000 && pk < st.packets; i++) {
				size_t n = 0;
				uint8_t *buf = read_whole(file, &n);

				if (buf)
					pk = ng ? count_epb(buf, n) : n >= 24 ?
						count_records(buf, n, 24) : 0;
				free(buf);
				if (pk < st.packets)
					usleep(10 * 1000);
			}
			cr_assert_eq(pk, st.packets, "%u of %llu packets in "
				     "the file before the capture ends (%s)",
				     pk, (unsigned long long)st.packets,
				     ng ? "pcapng" : "pcap");
			usleep(100 * 1000);
		}
		cr_assert_eq(s.sink.finish(s.sink.priv), 0);
		s.sink.destroy(s.sink.priv);
		scen_free(&s);
		free(file);
		tmpdir_remove(dir);
	}
}

/* A reader that goes away: EPIPE once, no SIGPIPE death. */
Test(pcap, closed_pipe_epipe)
{
	struct st_pcap_opts o = { .path = "-" };
	struct scen s;
	struct xconv *x;
	struct st_endpoint a, b;
	int p[2], saved, rc;

	signal(SIGPIPE, SIG_DFL);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
	close(p[0]);			/* the reader quits */
	ep4(&a, "127.0.0.1", 40101);
	ep4(&b, "127.0.0.1", 30101);
	x = scen_conv(&s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "epipe");
	scen_ev(&s, x, ST_EV_OPEN, ST_DIR_A_TO_B, NULL, 0, 0, 0, "connect",
		false);
	for (int i = 0; i < 10; i++)
		scen_data(&s, x, ST_DIR_A_TO_B, 100, 0, (uint32_t)i);
	scen_ev(&s, x, ST_EV_END, ST_DIR_A_TO_B, NULL, 0, 0, 0, "close",
		false);
	cr_assert_eq(s.nerr, 1, "errors reported %d times", s.nerr);
	cr_assert_eq(s.first_err, -EPIPE);
	rc = s.sink.finish(s.sink.priv);
	cr_assert_eq(rc, -EPIPE);
	s.sink.destroy(s.sink.priv);
	dup2(saved, 1);
	close(saved);
	/* and at creation, when the reader is gone already */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	close(p[0]);
	rc = st_pcap_sink_new(&o, &s.sink);
	dup2(saved, 1);
	close(saved);
	cr_assert_eq(rc, -EPIPE);
	scen_free(&s);
}

/* The reader leaves while a write is blocked half done: the kernel
 * raises SIGPIPE even though that write returns a count. */
Test(pcap, reader_leaves_mid_write)
{
	struct st_pcap_opts o = { .path = "-" };
	struct scen s;
	struct xconv *x;
	struct st_endpoint a, b;
	int p[2], saved, status;
	pid_t pid;

	signal(SIGPIPE, SIG_DFL);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char buf[100];

		close(p[1]);
		usleep(100000);		/* let the writer block */
		if (read(p[0], buf, sizeof(buf)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
	ep4(&a, "127.0.0.1", 40103);
	ep4(&b, "127.0.0.1", 30103);
	x = scen_conv(&s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "midway");
	scen_ev(&s, x, ST_EV_OPEN, ST_DIR_A_TO_B, NULL, 0, 0, 0, "connect",
		false);
	scen_data(&s, x, ST_DIR_A_TO_B, 200000, 0, 1);
	scen_data(&s, x, ST_DIR_A_TO_B, 200000, 0, 2);
	dup2(saved, 1);
	close(saved);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(s.nerr, 1);
	cr_assert_eq(s.first_err, -EPIPE);
	cr_assert_eq(s.sink.finish(s.sink.priv), -EPIPE);
	s.sink.destroy(s.sink.priv);
	scen_free(&s);
}

/* A full disk: ENOSPC once from on_event, again from finish. */
Test(pcap, enospc_dev_full)
{
	struct st_pcap_opts o = { .path = "/dev/full" };
	struct scen s;
	struct xconv *x;
	struct st_endpoint a, b;
	uint64_t ev_at_err = 0;
	char err[128];

	memset(&s, 0, sizeof(s));
	cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
	ep4(&a, "10.9.0.1", 40102);
	ep4(&b, "10.9.0.2", 30102);
	x = scen_conv(&s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "full");
	scen_ev(&s, x, ST_EV_OPEN, ST_DIR_A_TO_B, NULL, 0, 0, 0, "connect",
		false);
	/* 4 MiB: more than the 1 MiB buffer */
	for (int i = 0; i < 64; i++) {
		scen_data(&s, x, ST_DIR_A_TO_B, 65536, 0, (uint32_t)i);
		if (s.nerr && !ev_at_err)
			ev_at_err = s.events;
	}
	scen_ev(&s, x, ST_EV_END, ST_DIR_A_TO_B, NULL, 0, 0, 0, "close",
		false);
	cr_assert_eq(s.nerr, 1);
	cr_assert_eq(s.first_err, -ENOSPC);
	cr_assert_lt(ev_at_err, 20, "error seen only at event %llu",
		     (unsigned long long)ev_at_err);
	cr_assert_eq(s.sink.finish(s.sink.priv), -ENOSPC);
	s.sink.destroy(s.sink.priv);
	scen_free(&s);

	/* live: the file header itself cannot be written */
	o.live = true;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	cr_assert_eq(st_pcap_sink_new(&o, &s.sink), -ENOSPC);
	cr_assert(strstr(err, "/dev/full"), "%s", err);
}

/* ------------------------------------------------------------------ */
/* The output path */

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static bool file_is(const char *path, const char *text)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n);
}

Test(pcap, symlink_not_followed)
{
	char *dir = tmpdir_make(), *target, *link_, *dangling, *missing;
	char err[512];
	struct st_pcap_opts o = { .errbuf = err, .errbuf_size = sizeof(err) };
	struct st_sink sink;
	struct stat st;

	cr_assert(dir);
	target = path_in(dir, "victim");
	link_ = path_in(dir, "out.pcap");
	dangling = path_in(dir, "d.pcapng");
	missing = path_in(dir, "created-through-link");
	put_file(target, "precious");
	cr_assert_eq(symlink(target, link_), 0);
	cr_assert_eq(symlink(missing, dangling), 0);

	o.path = link_;
	cr_assert_eq(st_pcap_sink_new(&o, &sink), -ELOOP);
	cr_assert(strstr(err, "symbolic link"), "message: %s", err);
	cr_assert(strstr(err, link_), "message: %s", err);
	cr_assert(file_is(target, "precious"));

	o.path = dangling;
	cr_assert_eq(st_pcap_sink_new(&o, &sink), -ELOOP);
	cr_assert_eq(stat(missing, &st), -1, "created through the link");

	free(target);
	free(link_);
	free(dangling);
	free(missing);
	tmpdir_remove(dir);
}

Test(pcap, created_0600_and_truncated)
{
	char *dir = tmpdir_make(), *fresh, *old, *linked, *other;
	struct st_pcap_opts o = { 0 };
	struct st_sink sink;
	struct stat st;
	mode_t um;

	cr_assert(dir);
	fresh = path_in(dir, "fresh.pcap");
	old = path_in(dir, "old.pcap");
	linked = path_in(dir, "hard.pcap");
	other = path_in(dir, "other");

	um = umask(0);
	o.path = fresh;
	cr_assert_eq(st_pcap_sink_new(&o, &sink), 0);
	umask(um);
	cr_assert_eq(sink.finish(sink.priv), 0);
	sink.destroy(sink.priv);
	cr_assert_eq(stat(fresh, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode);
	cr_assert_eq(st.st_size, 24, "an empty classic pcap is its header");

	/* an existing file is truncated, not appended to */
	put_file(old, "some old content that is longer than a header ...");
	o.path = old;
	cr_assert_eq(st_pcap_sink_new(&o, &sink), 0);
	cr_assert_eq(sink.finish(sink.priv), 0);
	sink.destroy(sink.priv);
	cr_assert_eq(stat(old, &st), 0);
	cr_assert_eq(st.st_size, 24);

	/* a hard link to another file is not truncated */
	put_file(other, "precious");
	cr_assert_eq(link(other, linked), 0);
	o.path = linked;
	cr_assert_eq(st_pcap_sink_new(&o, &sink), -EMLINK);
	cr_assert(file_is(other, "precious"));

	/* a directory that does not exist */
	o.path = "/nonexistent-dir-st/x.pcap";
	cr_assert_eq(st_pcap_sink_new(&o, &sink), -ENOENT);

	free(fresh);
	free(old);
	free(linked);
	free(other);
	tmpdir_remove(dir);
}

/* ------------------------------------------------------------------ */
/* Small pieces */

Test(pcap, synthetic_pairs)
{
	struct st_conv c = { .proto = ST_PROTO_UNIX_STREAM };
	struct st_endpoint a, b;
	char sa[32], sb[32];

	c.id = 1;
	st_pcap_synth_endpoints(&c, &a, &b);
	inet_ntop(AF_INET, &a.v4, sa, sizeof(sa));
	inet_ntop(AF_INET, &b.v4, sb, sizeof(sb));
	cr_assert_str_eq(sa, "198.18.0.1");
	cr_assert_str_eq(sb, "198.19.0.1");
	cr_assert_eq(a.port, 49152);
	cr_assert_eq(b.port, 49152);

	c.id = 258;
	st_pcap_synth_endpoints(&c, &a, &b);
	inet_ntop(AF_INET, &a.v4, sa, sizeof(sa));
	cr_assert_str_eq(sa, "198.18.1.2");

	c.id = 0x10005;		/* wraps the address, moves the port */
	st_pcap_synth_endpoints(&c, &a, &b);
	inet_ntop(AF_INET, &b.v4, sb, sizeof(sb));
	cr_assert_str_eq(sb, "198.19.0.5");
	cr_assert_eq(a.port, 49153);

	cr_assert(st_pcap_conv_is_synthetic(&c));
	c.proto = ST_PROTO_TCP;
	ep4(&c.a, "127.0.0.1", 1);
	ep4(&c.b, "127.0.0.1", 2);
	cr_assert_not(st_pcap_conv_is_synthetic(&c));
}

Test(pcap, checksum_rfc1071)
{
	/* RFC 1071 section 3's example: sum ddf2, checksum 220d */
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5,
				     0xf6, 0xf7 };
	uint16_t c = st_pcap_csum_fold(st_pcap_csum_add(0, v, sizeof(v)));
	uint8_t out[2];

	memcpy(out, &c, 2);
	cr_assert_eq(out[0], 0x22);
	cr_assert_eq(out[1], 0x0d);
	/* odd length, chained */
	c = st_pcap_csum_fold(st_pcap_csum_add(st_pcap_csum_add(0, v, 4),
					       v + 4, 3));
	memcpy(out, &c, 2);
	{
		/* by hand: 0001 + f203 + f4f5 + f600 */
		uint32_t s = 0x0001 + 0xf203 + 0xf4f5 + 0xf600;

		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		s = ~s & 0xffff;
		cr_assert_eq(out[0], s >> 8);
		cr_assert_eq(out[1], s & 0xff);
	}
}

Test(pcap, bad_args)
{
	struct st_pcap_opts o = { 0 };
	struct st_sink sink, other = { 0 };
	struct st_pcap_stats st;

	cr_assert_eq(st_pcap_sink_new(&o, &sink), -EINVAL);
	o.path = "";
	cr_assert_eq(st_pcap_sink_new(&o, &sink), -EINVAL);
	cr_assert_eq(st_pcap_sink_stats(&other, &st), -EINVAL);
}

/* A long one-way transfer: the receiver acknowledges every 16 MiB. */
Test(pcap, one_way_transfer_acks)
{
	char *dir = tmpdir_make(), *file, err[PCAP_ERRBUF_SIZE];
	struct st_pcap_opts o = { 0 };
	struct st_endpoint a, b;
	struct st_pcap_stats st;
	struct scen s;
	struct xconv *x;
	pcap_t *p;
	struct pcap_pkthdr *h;
	const u_char *d;
	uint32_t next_a = 0;
	unsigned long acks = 0, data = 0, n = 0;
	static uint8_t chunk[65536];

	cr_assert(dir);
	file = path_in(dir, "oneway.pcap");
	o.path = file;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(st_pcap_sink_new(&o, &s.sink), 0);
	ep4(&a, "10.8.0.1", 40200);
	ep4(&b, "10.8.0.2", 30200);
	x = scen_conv(&s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "oneway");
	scen_ev(&s, x, ST_EV_OPEN, ST_DIR_A_TO_B, NULL, 0, 0, 0, "connect",
		false);
	/* 40 MiB: two acknowledgements */
	for (int i = 0; i < 640; i++)
		scen_ev(&s, x, ST_EV_DATA, ST_DIR_A_TO_B, chunk, sizeof(chunk),
			0, 0, "write", false);
	scen_ev(&s, x, ST_EV_END, ST_DIR_A_TO_B, NULL, 0, 0, 0, "close",
		false);
	cr_assert_eq(s.nerr, 0);
	cr_assert_eq(s.sink.finish(s.sink.priv), 0);
	cr_assert_eq(st_pcap_sink_stats(&s.sink, &st), 0);
	s.sink.destroy(s.sink.priv);

	p = pcap_open_offline(file, err);
	cr_assert(p, "%s", err);
	while (pcap_next_ex(p, &h, &d) == 1) {
		const u_char *t = d + 20;
		uint32_t seq = (uint32_t)t[4] << 24 | t[5] << 16 | t[6] << 8 |
			       t[7];
		uint32_t ack = (uint32_t)t[8] << 24 | t[9] << 16 |
			       t[10] << 8 | t[11];
		unsigned len = h->caplen - 20 - (t[12] >> 4) * 4u;

		n++;
		if (n <= 3)
			continue;	/* the handshake */
		if (t[0] == 40200 >> 8) {	/* from A */
			cr_assert(next_a == 0 || seq == next_a);
			next_a = seq + len;
			data++;
		} else {
			cr_assert_eq(len, 0);
			cr_assert_eq(ack, next_a, "B acknowledges all of A");
			acks++;
		}
	}
	pcap_close(p);
	{
		/* and Wireshark sees no full window, nothing lost */
		const char *argv[] = { "tshark", "-r", file, "-q", "-z",
				       "expert", NULL };
		char *text;

		cr_assert_eq(run_tool(argv, &text, NULL), 0);
		cr_assert(!strstr(text, "Warns") && !strstr(text, "Errors"),
			  "%s", text);
		cr_assert(strstr(text, "SYN"), "%s", text);
		free(text);
	}
	cr_assert_eq(data, 640 * 4);
	cr_assert_eq(acks, 2);
	cr_assert_eq(st.packets, 3 + 640 * 4 + 2);
	free(file);
	scen_free(&s);
	tmpdir_remove(dir);
}

/* ------------------------------------------------------------------ */
/* Fed by the real model: its events in its order. */

Test(pcap, through_the_model)
{
	char *dir = tmpdir_make(), *file;
	/* a 16-byte comm, as the kernel gives it (the model copies 15) */
	static const char comm[16] = "model";
	struct st_origin_info who = { .pid = 77, .tid = 77, .fd = 5,
				      .syscall = "write", .comm = comm };
	struct st_pcap_opts o = { 0 };
	struct st_sink sink;
	struct st_model *m;
	struct st_socket *t, *u1, *u2;
	struct st_endpoint a, b;
	struct timespec now = { 1700000100, 0 };
	struct follow f[2];
	static uint8_t big[100000];
	const char *name = NULL;

	cr_assert(dir);
	file = path_in(dir, "model.pcapng");
	o.path = file;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + (i >> 10));
	m = st_model_new();
	cr_assert(m);
	cr_assert_eq(st_pcap_sink_new(&o, &sink), 0);
	/* the model owns the sink from here */
	cr_assert_geq(st_model_add_sink(m, &sink), 0);

	/* TCP, accepted by the traced side */
	t = st_model_socket(m, 9001);
	st_socket_set_type(t, AF_INET, SOCK_STREAM, 0);
	ep4(&a, "127.0.0.1", 30400);
	ep4(&b, "127.0.0.1", 40400);
	t->local = a;
	t->peer = b;
	st_socket_ref(t);
	who.ts = now;
	st_model_connected(m, t, ST_ORIGIN_ACCEPT, &who);
	st_model_data(m, t, false, (const uint8_t *)"request", 7, 0, 0, NULL,
		      &who);
	st_model_data(m, t, true, big, sizeof(big), 0, 0, NULL, &who);
	st_model_peer_fin(m, t, &who);
	st_model_shutdown(m, t, SHUT_WR, &who);

	/* a Unix socketpair, both ends traced: recorded once */
	u1 = st_model_socket(m, 9002);
	u2 = st_model_socket(m, 9003);
	st_socket_set_type(u1, AF_UNIX, SOCK_STREAM, 0);
	st_socket_set_type(u2, AF_UNIX, SOCK_STREAM, 0);
	u1->peer_ino = 9003;
	u2->peer_ino = 9002;
	st_socket_ref(u1);
	st_socket_ref(u2);
	st_model_connected(m, u1, ST_ORIGIN_PAIR, &who);
	st_model_connected(m, u2, ST_ORIGIN_PAIR, &who);
	st_model_data(m, u1, true, (const uint8_t *)"ping", 4, 0, 0, NULL,
		      &who);
	st_model_data(m, u2, false, (const uint8_t *)"ping", 4, 0, 0, NULL,
		      &who);
	st_model_data(m, u2, true, (const uint8_t *)"pong!", 5, 0, 0, NULL,
		      &who);

	cr_assert_eq(st_model_finish(m, &now), 0);
	cr_assert_eq(st_model_sink_error(m, &name), 0);
	st_socket_unref(m, t, &who);
	st_socket_unref(m, u1, &who);
	st_socket_unref(m, u2, &who);
	st_model_free(m);

	cr_assert_eq(follow_streams(file, "tcp", 2, f), 2);
	for (int k = 0; k < 2; k++) {
		if (!strcmp(f[k].node[0], "127.0.0.1:40400")) {
			/* the accepted peer is the client */
			cr_assert_str_eq(f[k].node[1], "127.0.0.1:30400");
			cr_assert_eq(f[k].n[0], 7);
			cr_assert(!memcmp(f[k].bytes[0], "request", 7));
			cr_assert_eq(f[k].n[1], sizeof(big));
			cr_assert(!memcmp(f[k].bytes[1], big, sizeof(big)));
		} else {
			cr_assert(!strncmp(f[k].node[0], "198.18.", 7),
				  "%s", f[k].node[0]);
			cr_assert_eq(f[k].n[0], 4, "ping once, not twice");
			cr_assert(!memcmp(f[k].bytes[0], "ping", 4));
			cr_assert_eq(f[k].n[1], 5);
			cr_assert(!memcmp(f[k].bytes[1], "pong!", 5));
		}
	}
	follow_free(f, 2);
	free(file);
	tmpdir_remove(dir);
}

/* Standard output on a terminal: refused, with a reason. */
Test(pcap, stdout_terminal_refused)
{
	struct st_pcap_opts o = { .path = "-" };
	struct st_sink sink;
	char err[256];
	int mfd, sfd, saved, rc;

	mfd = posix_openpt(O_RDWR | O_NOCTTY);
	if (mfd < 0)
		cr_skip_test("no pseudo-terminal: %s", strerror(errno));
	cr_assert_eq(grantpt(mfd), 0);
	cr_assert_eq(unlockpt(mfd), 0);
	sfd = open(ptsname(mfd), O_RDWR | O_NOCTTY);
	cr_assert_geq(sfd, 0);
	saved = dup(1);
	dup2(sfd, 1);
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	rc = st_pcap_sink_new(&o, &sink);
	dup2(saved, 1);
	close(saved);
	close(sfd);
	close(mfd);
	cr_assert_eq(rc, -ENOTTY);
	cr_assert(strstr(err, "terminal"), "%s", err);
}

/* RFC 1071 the slow way: 16-bit network-order words, carries folded at
 * each step; the checksum as two bytes, first byte high. */
static unsigned ref_checksum(const uint8_t *buf, size_t len)
{
	uint32_t ref = 0;

	for (size_t i = 0; i < len; i += 2) {
		ref += (uint32_t)buf[i] << 8;
		if (i + 1 < len)
			ref += buf[i + 1];
		ref = (ref & 0xffff) + (ref >> 16);
	}
	return ~ref & 0xffff;
}

static unsigned as_bytes(uint16_t c)
{
	uint8_t out[2];

	memcpy(out, &c, 2);
	return (unsigned)out[0] << 8 | out[1];
}

/* The copying sum: the same checksum as the reference, chained after a
 * header, and an exact copy.  Each length twice: aligned and all 0xff
 * (beyond 1 MiB, vector lanes not emptied in time overflow), and
 * misaligned at both ends with random bytes. */
Test(pcap, checksum_copy_sums_and_copies)
{
	size_t big = (3u << 20) + 64;
	uint8_t *src = malloc(big), *dst = malloc(big);
	static const size_t lens[] = { 0, 1, 2, 15, 16, 17, 33, 1499, 65535,
				       1u << 20, (1u << 20) + 16,
				       (1u << 20) * 3 + 5 };
	unsigned seed = 777;

	cr_assert(src && dst);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]) * 2; k++) {
		size_t len = lens[k / 2], so = k % 2 ? 3 : 0, dof = k % 2 ? 5 : 0;
		uint64_t sum;

		for (size_t i = 0; i < len + 8; i++)
			src[i] = k % 2 ? (uint8_t)rand_r(&seed) : 0xff;
		memset(dst, 0, len + 8);
		/* an even header first, summed apart, as packets are */
		sum = st_pcap_csum_add(0xffffffffu, src + so, 8);
		sum = st_pcap_csum_copy(sum, dst + dof, src + so + 8, len);
		cr_assert_eq(as_bytes(st_pcap_csum_fold(sum)),
			     ref_checksum(src + so, len + 8), "len %zu", len);
		cr_assert_eq(memcmp(dst + dof, src + so + 8, len), 0,
			     "copy of %zu", len);
		cr_assert_eq(dst[dof + len], 0, "nothing past %zu", len);
	}
	free(src);
	free(dst);
}

/* The word-wide sum against a plain 16-bit network-order one, on random
 * lengths, contents that force carries (runs of 0xff), and chunking. */
Test(pcap, checksum_matches_16bit_reference)
{
	static uint8_t buf[70000];
	unsigned seed = 12345;

	for (int round = 0; round < 400; round++) {
		size_t len = 1 + (size_t)rand_r(&seed) % (sizeof(buf) - 1);
		size_t cut = ((size_t)rand_r(&seed) % len) & ~(size_t)1;
		uint16_t got;

		for (size_t i = 0; i < len; i++)
			buf[i] = round % 3 == 0 ? 0xff
						: (uint8_t)rand_r(&seed);
		got = st_pcap_csum_fold(st_pcap_csum_add(
			st_pcap_csum_add(0xffffffffu, buf, cut), buf + cut,
			len - cut));
		/* the seed is one's complement -0: it adds nothing */
		cr_assert_eq(as_bytes(got), ref_checksum(buf, len),
			     "len %zu cut %zu", len, cut);
	}
}
