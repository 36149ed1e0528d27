/*
 * Ground truth: what socktap writes (-w, --flows, --json, --hexdump)
 * against what really crossed the loopback, as captured by tcpdump and
 * reassembled by tshark ("follow" in raw mode), byte for byte.
 *
 *   tcp: curl fetching a 3 MiB and a 100 KiB file from Python's
 *        http.server over one keep-alive connection (two URLs, one call)
 *   udp: a Python client sending datagrams of several sizes (an empty
 *        one too) to a Python server that answers each one; boundaries
 *        are compared too
 *
 * The harness (processes, tcpdump, tshark, flow files, JSON) is shared
 * with tests/truth (truth/truth_util.h); the hexdump reader is here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "truth/truth_util.h"

TestSuite(truth, .init = tu_init, .fini = tu_fini, .timeout = 60);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The hexdump's rows of one conversation and direction, read back. */
static void hexdump_bytes(const char *hexfile, const char *conv, int dir,
			  struct tu_bytes *b)
{
	char *text = tu_slurp(hexfile, NULL), *line, *save = NULL;
	char head[64];
	bool mine = false;
	char mark = dir ? '<' : '>';

	cr_assert_not_null(text, "no hexdump %s", hexfile);
	memset(b, 0, sizeof(*b));
	snprintf(head, sizeof(head), "%c conv %s ", mark, conv);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long off;
		const char *end;

		if (!strncmp(line + 1, " conv ", 6) || line[0] == '=') {
			mine = !strncmp(line, head, strlen(head));
			continue;
		}
		if (!mine || line[0] != mark)
			continue;
		cr_assert_eq(sscanf(line + 2, "%llx", &off), 1, "%s", line);
		cr_assert_eq(off, b->len, "row offset %llx, expected %zx",
			     off, b->len);
		/* "> OFFSET  hh hh .. hh  hh .. hh  |ascii|": the hex part
		 * is 49 columns after the offset and two spaces */
		end = line + 2;
		while (hexval(*end) >= 0)
			end++;
		cr_assert(end[0] == ' ' && end[1] == ' ', "%s", line);
		cr_assert_geq(strlen(end + 2), 49 + 3, "%s", line);
		cr_assert_eq(strncmp(end + 2 + 49, " |", 2), 0, "%s", line);
		for (const char *h = end + 2; h < end + 2 + 49; h++) {
			if (hexval(h[0]) >= 0 && hexval(h[1]) >= 0) {
				uint8_t v = (uint8_t)(hexval(h[0]) << 4 |
						      hexval(h[1]));

				tu_bytes_add(b, &v, 1);
				h++;
			}
		}
	}
	free(text);
}

/* The index.tsv row of stream s; *swapped when its side A is node 1. */
static int find_row(const struct tu_index *ix, const struct tu_stream *s,
		    bool *swapped)
{
	for (int i = 1; i < ix->n; i++) {
		const struct tu_row *r = &ix->r[i];

		if (r->n < 5)
			continue;
		if (!strcmp(r->f[3], s->node[0]) &&
		    !strcmp(r->f[4], s->node[1])) {
			*swapped = false;
			return i;
		}
		if (!strcmp(r->f[3], s->node[1]) &&
		    !strcmp(r->f[4], s->node[0])) {
			*swapped = true;
			return i;
		}
	}
	cr_assert_fail("socktap has no conversation %s <-> %s", s->node[0],
		       s->node[1]);
	return -1;
}

/* JSON and hexdump of the conversation of stream s against it; its
 * index row comes back. */
static const struct tu_row *check_json_hexdump(const struct tu_case *k,
					       const char *hexfile,
					       const struct tu_index *ix,
					       const struct tu_stream *s)
{
	bool swapped;
	const struct tu_row *r = &ix->r[find_row(ix, s, &swapped)];
	char why[600], what[100];

	for (int d = 0; d < 2; d++) {
		/* node 0 sent a2b when it is side A */
		const struct tu_bytes *want = &s->data[swapped ? 1 - d : d];
		struct tu_bytes j, h;

		tu_json_bytes(k->json, r->f[0], d ? "b2a" : "a2b", &j);
		snprintf(what, sizeof(what), "JSON conv %s %s", r->f[0],
			 d ? "b2a" : "a2b");
		cr_assert(tu_bytes_same(&j, want, what, why, sizeof(why)),
			  "%s", why);
		hexdump_bytes(hexfile, r->f[0], d, &h);
		snprintf(what, sizeof(what), "hexdump conv %s %s", r->f[0],
			 d ? "b2a" : "a2b");
		cr_assert(tu_bytes_same(&h, want, what, why, sizeof(why)),
			  "%s", why);
		tu_bytes_free(&j);
		tu_bytes_free(&h);
	}
	return r;
}

Test(truth, tcp_curl_keepalive)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	struct tu_index ix;
	const struct tu_row *r;
	char www[300], body1[400], body2[400], url1[128], url2[128];
	char hexfile[400], hexopt[420], bpf[64], dfilter[64];
	char *extra[] = { hexopt, NULL };
	char *curl[] = { "curl", "-s", "-S", "--fail", "-o", body1, "-o",
			 body2, url1, url2, NULL };
	int port;

	tu_case_init(&k, "curl", false);
	snprintf(hexfile, sizeof(hexfile), "%s/hexdump.txt", k.dir);
	snprintf(hexopt, sizeof(hexopt), "--hexdump=%s", hexfile);
	snprintf(www, sizeof(www), "%s/www", tu_tmp());
	cr_assert_eq(mkdir(www, 0700), 0);
	snprintf(body1, sizeof(body1), "%s/big.bin", www);
	tu_make_file(body1, 3u << 20, 1);
	snprintf(body1, sizeof(body1), "%s/small.bin", www);
	tu_make_file(body1, 100u << 10, 2);
	snprintf(body1, sizeof(body1), "%s/got1", tu_tmp());
	snprintf(body2, sizeof(body2), "%s/got2", tu_tmp());

	port = tu_http_server(www, NULL);
	snprintf(url1, sizeof(url1), "http://127.0.0.1:%d/big.bin", port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/small.bin", port);
	snprintf(bpf, sizeof(bpf), "tcp port %d", port);
	snprintf(dfilter, sizeof(dfilter), "tcp.port==%d", port);
	tu_capture_start(&cap, k.wire, bpf);
	tu_socktap(&k, extra, curl);
	tu_capture_stop(&cap);

	/* one kept-alive connection: pcap and flow files against it */
	tu_check_run(&k, "tcp", dfilter, &port, 1, 1, &w);
	cr_assert_gt(w.s[0].data[1].len, (3u << 20) + (100u << 10),
		     "both bodies crossed the wire");
	tu_index_load(k.flows, &ix);
	r = check_json_hexdump(&k, hexfile, &ix, &w.s[0]);
	cr_assert_str_eq(r->f[1], "TCP");
	cr_assert_str_eq(r->f[2], "connect");
	cr_assert_str_eq(r->f[6], "curl");
	tu_index_free(&ix);
	tu_streams_free(&w);
}

static const char udp_server[] =
	"import socket\n"
	"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
	"s.bind(('127.0.0.1', 0))\n"
	"print('PORT %d' % s.getsockname()[1], flush=True)\n"
	"while True:\n"
	"    d, a = s.recvfrom(65535)\n"
	"    s.sendto(b'R' + d[::-1] + bytes(len(d) % 7), a)\n";

/* sizes 0 (an empty datagram is still a datagram), 1, 100, 1472, 9000 */
static const char udp_client[] =
	"import socket, sys\n"
	"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
	"a = ('127.0.0.1', int(sys.argv[1]))\n"
	"for n in (1, 100, 0, 1472, 9000):\n"
	"    s.sendto(bytes((i * 7 + n) & 255 for i in range(n)), a)\n"
	"    s.recvfrom(65535)\n";

/* Datagram payload lengths in a capture, per sending port (empty
 * datagrams included: tshark's follow shows none of them). */
static void udp_lengths(const char *pcap, int src_port, struct tu_bytes *from,
			struct tu_bytes *to)
{
	char *argv[] = { "tshark", "-n", "-r", (char *)pcap, "-Y", "udp",
			 "-T", "fields", "-e", "udp.srcport", "-e",
			 "udp.length", NULL };
	char *o, *line, *save = NULL;
	int st;

	memset(from, 0, sizeof(*from));
	memset(to, 0, sizeof(*to));
	st = tu_run(argv, &o, NULL, NULL);
	cr_assert_eq(st, 0);
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int port, len;

		cr_assert_eq(sscanf(line, "%d\t%d", &port, &len), 2);
		tu_bytes_u32(port == src_port ? from : to,
			     (uint32_t)(len - 8));
	}
	free(o);
}

/* The "len" column of a .dgrams file, as uint32 values. */
static void dgram_lens(const char *flows, const char *name,
		       struct tu_bytes *b)
{
	char path[800];
	char *t, *line, *save = NULL;

	memset(b, 0, sizeof(*b));
	if (!strcmp(name, "-"))
		return;
	snprintf(path, sizeof(path), "%s/%s", flows, name);
	t = tu_slurp(path, NULL);
	cr_assert_not_null(t, "no %s", path);
	line = strtok_r(t, "\n", &save);
	cr_assert_str_eq(line, "offset\tlen\torig_len\tts");
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long off, len;

		cr_assert_eq(sscanf(line, "%llu\t%llu", &off, &len), 2);
		tu_bytes_u32(b, (uint32_t)len);
	}
	free(t);
}

Test(truth, udp_request_response)
{
	struct tu_case k;
	struct tu_capture cap;
	struct tu_streams w;
	struct tu_index ix;
	const struct tu_row *r;
	char hexfile[400], hexopt[420], portarg[16], bpf[64], dfilter[64];
	char why[600];
	char *extra[] = { hexopt, NULL };
	char *srv[] = { "python3", "-u", "-c", (char *)udp_server, NULL };
	char *cli[] = { "python3", "-c", (char *)udp_client, portarg, NULL };
	struct tu_bytes wire[2], synth[2], dg[2];
	int port, cport;

	tu_case_init(&k, "udp", false);
	snprintf(hexfile, sizeof(hexfile), "%s/hexdump.txt", k.dir);
	snprintf(hexopt, sizeof(hexopt), "--hexdump=%s", hexfile);
	port = tu_server(srv, NULL);
	snprintf(portarg, sizeof(portarg), "%d", port);
	snprintf(bpf, sizeof(bpf), "udp port %d", port);
	snprintf(dfilter, sizeof(dfilter), "udp.port==%d", port);
	tu_capture_start(&cap, k.wire, bpf);
	tu_socktap(&k, extra, cli);
	tu_capture_stop(&cap);

	tu_check_run(&k, "udp", dfilter, &port, 1, 1, &w);
	tu_index_load(k.flows, &ix);
	r = check_json_hexdump(&k, hexfile, &ix, &w.s[0]);
	cr_assert_str_eq(r->f[1], "UDP");
	cr_assert_str_eq(r->f[2], "dgram");

	/* datagram boundaries, the empty one included: the client's port
	 * is in the node that is not the server */
	cport = atoi(strrchr(w.s[0].node[0], ':') + 1);
	if (cport == port)
		cport = atoi(strrchr(w.s[0].node[1], ':') + 1);
	udp_lengths(k.wire, cport, &wire[0], &wire[1]);
	udp_lengths(k.pcap, cport, &synth[0], &synth[1]);
	cr_assert_eq(wire[0].len / 4, 5, "five requests on the wire");
	for (int d = 0; d < 2; d++) {
		/* a2b is what side A sent */
		bool a_is_client = atoi(strrchr(r->f[3], ':') + 1) == cport;
		bool client_sent = (d == 0) == a_is_client;
		struct tu_bytes *want = &wire[client_sent ? 0 : 1];

		cr_assert(tu_bytes_same(&synth[client_sent ? 0 : 1], want,
					"socktap's pcap: datagram sizes "
					"(x4 bytes)", why, sizeof(why)),
			  "%s", why);
		dgram_lens(k.flows, r->f[18 + d], &dg[d]);
		cr_assert(tu_bytes_same(&dg[d], want, r->f[18 + d], why,
					sizeof(why)),
			  "datagram sizes (x4 bytes): %s", why);
		tu_bytes_free(&dg[d]);
	}
	for (int d = 0; d < 2; d++) {
		tu_bytes_free(&wire[d]);
		tu_bytes_free(&synth[d]);
	}
	tu_index_free(&ix);
	tu_streams_free(&w);
}
