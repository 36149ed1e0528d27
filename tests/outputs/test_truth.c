/*
 * Ground truth: what socktap writes (--flows, --json, --hexdump) against
 * what really crossed the loopback, as captured by tcpdump and
 * reassembled by tshark ("follow" in raw mode), byte for byte.
 *
 *   tcp: curl fetching a 3 MiB and a 100 KiB file from Python's
 *        http.server over one keep-alive connection (two URLs, one call)
 *   udp: a Python client sending datagrams of several sizes to a Python
 *        server that answers each one; boundaries are compared too
 *
 * Servers bind port 0 on 127.0.0.1 and tcpdump filters on that port, so
 * several runs can share the machine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outputs/fake.h"

extern char **environ;

static char *tmp;
static pid_t server_pid, tcpdump_pid;
static int tcpdump_err = -1;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	tmp = fk_tmpdir();
	server_pid = tcpdump_pid = 0;
}

static void stop(pid_t *pid, int sig)
{
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void teardown(void)
{
	stop(&tcpdump_pid, SIGKILL);
	stop(&server_pid, SIGKILL);
	if (tcpdump_err >= 0)
		close(tcpdump_err);
	tcpdump_err = -1;
	fk_rmtree(tmp);
	free(tmp);
}

TestSuite(truth, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ */
/* growable byte buffers */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

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

/* Appends the byte written as two hex digits at s; returns s + 1. */
static const char *hex_add_one(struct bytes *b, const char *s)
{
	uint8_t v = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));

	bytes_add(b, &v, 1);
	return s + 1;
}

/* Appends the hex digits of s (pairs, up to a non-hex char or end). */
static const char *hex_add(struct bytes *b, const char *s)
{
	while (hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
		uint8_t v = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));

		bytes_add(b, &v, 1);
		s += 2;
	}
	return s;
}

static void assert_same(const struct bytes *got, const struct bytes *want,
			const char *what)
{
	size_t i = 0;

	while (i < got->len && i < want->len && got->p[i] == want->p[i])
		i++;
	cr_assert(got->len == want->len && i == want->len,
		  "%s: %zu bytes, the wire carried %zu; first difference at "
		  "byte %zu", what, got->len, want->len, i);
}

/* ------------------------------------------------------------------ */
/* processes */

/* Starts argv; its stdout and/or stderr come back through pipes. */
static pid_t spawn(char *const argv[], int *out, int *err)
{
	posix_spawn_file_actions_t fa;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	pid_t pid;

	if (out)
		cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
	if (err)
		cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
						 O_WRONLY, 0);
	if (err)
		posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	cr_assert_eq(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ),
		     0, "cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	if (out) {
		close(po[1]);
		*out = po[0];
	}
	if (err) {
		close(pe[1]);
		*err = pe[0];
	}
	return pid;
}

/* Reads fd until a line containing `want` arrives (or timeout). */
static bool wait_line(int fd, const char *want, char *line, size_t size,
		      int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, line + len, 1);
		if (n <= 0)
			return false;
		if (line[len] == '\n') {
			line[len] = '\0';
			if (strstr(line, want))
				return true;
			len = 0;
			continue;
		}
		len++;
	}
	return false;
}

/* A Python server printing "PORT n" once it listens. */
static int start_server(char *const argv[])
{
	char line[256];
	int out, port = 0;

	server_pid = spawn(argv, &out, NULL);
	cr_assert(wait_line(out, "PORT ", line, sizeof(line), 20000),
		  "the server did not start");
	close(out);
	cr_assert_eq(sscanf(line, "PORT %d", &port), 1);
	return port;
}

static void capture_start(const char *pcap, int port, const char *proto)
{
	char filter[64], line[512];
	/* --immediate-mode: otherwise packets wait in a kernel block for
	 * up to a second and are lost when tcpdump is stopped */
	char *argv[] = { "tcpdump", "-i", "lo", "-U", "-n", "-B", "16384",
			 "--immediate-mode", "-w", (char *)pcap, filter,
			 NULL };

	snprintf(filter, sizeof(filter), "%s port %d", proto, port);
	tcpdump_pid = spawn(argv, NULL, &tcpdump_err);
	/* only from now on are packets recorded */
	cr_assert(wait_line(tcpdump_err, "listening on", line, sizeof(line),
			    20000), "tcpdump did not start capturing");
}

static void capture_stop(void)
{
	char line[512];
	bool dropped_zero;
	int ws;

	/* let tcpdump read what the kernel queued for it */
	usleep(300 * 1000);
	kill(tcpdump_pid, SIGINT);
	dropped_zero = wait_line(tcpdump_err, "packets dropped by kernel",
				 line, sizeof(line), 20000) &&
		       !strncmp(line, "0 packets", 9);
	waitpid(tcpdump_pid, &ws, 0);
	tcpdump_pid = 0;
	close(tcpdump_err);
	tcpdump_err = -1;
	cr_assert(dropped_zero, "tcpdump lost packets: no ground truth");
}

/* Runs argv to its end; its stdout (malloc'd). */
static char *run(char *const argv[], int *status)
{
	char *o;

	*status = fk_run(argv, NULL, &o, NULL);
	return o;
}

/* ------------------------------------------------------------------ */
/* what tshark saw */

struct stream {
	char node[2][80];	/* "127.0.0.1:41234" */
	struct bytes data[2];	/* what each node sent */
};

static int stream_count(const char *pcap, const char *proto)
{
	char field[32];
	char *argv[] = { "tshark", "-r", (char *)pcap, "-T", "fields", "-e",
			 field, NULL };
	char *o, *line, *save = NULL;
	int st, max = -1;

	snprintf(field, sizeof(field), "%s.stream", proto);
	o = run(argv, &st);
	cr_assert_eq(st, 0, "tshark failed");
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (atoi(line) > max)
			max = atoi(line);
	free(o);
	return max + 1;
}

static void follow(const char *pcap, const char *proto, int n,
		   struct stream *s)
{
	char spec[64];
	char *argv[] = { "tshark", "-r", (char *)pcap, "-q", "-z", spec,
			 NULL };
	char *o, *line, *save = NULL;
	int st;

	memset(s, 0, sizeof(*s));
	snprintf(spec, sizeof(spec), "follow,%s,raw,%d", proto, n);
	o = run(argv, &st);
	cr_assert_eq(st, 0, "tshark follow failed");
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int node = line[0] == '\t';
		const char *end;

		if (!strncmp(line, "Node 0: ", 8) ||
		    !strncmp(line, "Node 1: ", 8)) {
			snprintf(s->node[line[5] - '0'], sizeof(s->node[0]),
				 "%s", line + 8);
			continue;
		}
		if (hexval(line[node]) < 0 || !s->node[1][0])
			continue;
		end = hex_add(&s->data[node], line + node);
		cr_assert_eq(*end, '\0', "odd follow line: %.60s", line);
	}
	free(o);
	cr_assert(s->node[0][0] && s->node[1][0], "follow %s: no nodes",
		  spec);
}

/* Datagram payload lengths of a UDP stream, per sending port. */
static void udp_lengths(const char *pcap, int src_port, struct bytes *from,
			struct bytes *to)
{
	char *argv[] = { "tshark", "-r", (char *)pcap, "-T", "fields", "-e",
			 "udp.srcport", "-e", "udp.length", NULL };
	char *o, *line, *save = NULL;
	int st;

	o = run(argv, &st);
	cr_assert_eq(st, 0);
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int port, len;
		uint32_t v;

		cr_assert_eq(sscanf(line, "%d\t%d", &port, &len), 2);
		v = (uint32_t)(len - 8);
		bytes_add(port == src_port ? from : to, &v, sizeof(v));
	}
	free(o);
}

/* ------------------------------------------------------------------ */
/* what socktap wrote */

struct row {
	char *f[32];
	int n;
};

/* The index.tsv row whose endpoints are x and y (either order);
 * *swapped tells when a is y. */
static bool find_row(const char *flows, const char *x, const char *y,
		     struct row *r, bool *swapped)
{
	char path[600];
	char *idx, *line, *save = NULL;
	bool found = false;

	snprintf(path, sizeof(path), "%s/index.tsv", flows);
	idx = fk_slurp(path, NULL);
	cr_assert_not_null(idx, "no %s: is --flows wired up in socktap?",
			   path);
	for (line = strtok_r(idx, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line;

		memset(r, 0, sizeof(*r));
		for (r->n = 0; r->n < 32 && p; r->n++) {
			char *t = strchr(p, '\t');

			r->f[r->n] = strndup(p, t ? (size_t)(t - p) :
					     strlen(p));
			p = t ? t + 1 : NULL;
		}
		if (r->n >= 18 && ((!strcmp(r->f[3], x) &&
				    !strcmp(r->f[4], y)) ||
				   (!strcmp(r->f[3], y) &&
				    !strcmp(r->f[4], x)))) {
			*swapped = !strcmp(r->f[3], y);
			found = true;
			break;
		}
		for (int i = 0; i < r->n; i++)
			free(r->f[i]);
	}
	free(idx);
	return found;
}

static void row_free(struct row *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->f[i]);
}

static void load(struct bytes *b, const char *flows, const char *name)
{
	char path[800];
	size_t len;
	char *p;

	memset(b, 0, sizeof(*b));
	if (!strcmp(name, "-"))
		return;		/* that direction carried nothing */
	snprintf(path, sizeof(path), "%s/%s", flows, name);
	p = fk_slurp(path, &len);
	cr_assert_not_null(p, "no flow file %s", path);
	b->p = (uint8_t *)p;
	b->len = b->cap = len;
}

static int b64v(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : c == '=' ? 0 : -1;
}

/* Every data event of conversation `conv`, direction dir, from the JSON
 * file (jq picks them; base64 decoded here). */
static void json_bytes(const char *json, const char *conv, const char *dir,
		       struct bytes *b)
{
	char filter[160];
	char *argv[] = { "jq", "-r", filter, (char *)json, NULL };
	char *o, *line, *save = NULL;
	int st;

	memset(b, 0, sizeof(*b));
	snprintf(filter, sizeof(filter), "select(.type==\"data\" and .conv=="
		 "%s and .dir==\"%s\")|.data_b64", conv, dir);
	o = run(argv, &st);
	cr_assert_eq(st, 0, "jq failed on %s", json);
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		cr_assert_eq(n % 4, 0);
		for (size_t i = 0; i < n; i += 4) {
			int v[4];
			uint8_t out[3];

			for (int j = 0; j < 4; j++) {
				v[j] = b64v(line[i + j]);
				cr_assert_geq(v[j], 0);
			}
			out[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
			out[1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
			out[2] = (uint8_t)(v[2] << 6 | v[3]);
			bytes_add(b, out, line[i + 2] == '=' ? 1 :
				  line[i + 3] == '=' ? 2 : 3);
		}
	}
	free(o);
}

/* The hexdump's rows of one conversation and direction, read back. */
static void hexdump_bytes(const char *hexfile, const char *conv, int dir,
			  struct bytes *b)
{
	char *text = fk_slurp(hexfile, NULL), *line, *save = NULL;
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
			if (hexval(h[0]) >= 0 && hexval(h[1]) >= 0)
				h = hex_add_one(b, h);
		}
	}
	free(text);
}

/* Compares one conversation of socktap's outputs with a followed
 * stream. */
static void check_stream(const char *flows, const char *json,
			 const char *hexfile, struct stream *s,
			 struct row *r)
{
	bool swapped;
	struct bytes f[2], j[2], h[2];

	cr_assert(find_row(flows, s->node[0], s->node[1], r, &swapped),
		  "socktap has no conversation %s <-> %s", s->node[0],
		  s->node[1]);
	for (int d = 0; d < 2; d++) {
		/* node 0 sent a2b when it is side A */
		int node = swapped ? 1 - d : d;
		char what[200];

		load(&f[d], flows, r->f[16 + d]);
		snprintf(what, sizeof(what), "flow file %s (%s sent)",
			 r->f[16 + d], s->node[node]);
		assert_same(&f[d], &s->data[node], what);
		json_bytes(json, r->f[0], d ? "b2a" : "a2b", &j[d]);
		snprintf(what, sizeof(what), "JSON conv %s %s", r->f[0],
			 d ? "b2a" : "a2b");
		assert_same(&j[d], &s->data[node], what);
		hexdump_bytes(hexfile, r->f[0], d, &h[d]);
		snprintf(what, sizeof(what), "hexdump conv %s %s", r->f[0],
			 d ? "b2a" : "a2b");
		assert_same(&h[d], &s->data[node], what);
		free(f[d].p);
		free(j[d].p);
		free(h[d].p);
	}
}

/* socktap --flows DIR --json FILE --hexdump=FILE -q -- argv... */
static void traced(const char *flows, const char *json, const char *hex,
		   char *const cmd[])
{
	char hexopt[600];
	char *argv[32] = { ST_BIN, "--flows", (char *)flows, "--json",
			   (char *)json, hexopt, "-q", "--" };
	int n = 8, st;
	char *o;

	snprintf(hexopt, sizeof(hexopt), "--hexdump=%s", hex);
	for (int i = 0; cmd[i] && n < 31; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	o = run(argv, &st);
	free(o);
	cr_assert_eq(st, 0, "socktap ... %s exited %d", cmd[0], st);
}

static void paths(char *flows, char *json, char *hex, char *pcap)
{
	snprintf(flows, 512, "%s/flows", tmp);
	snprintf(json, 512, "%s/ev.jsonl", tmp);
	snprintf(hex, 512, "%s/hexdump.txt", tmp);
	snprintf(pcap, 512, "%s/cap.pcap", tmp);
}

static void make_file(const char *path, size_t size, unsigned seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t buf[65536];
	uint32_t x = seed;

	cr_assert_geq(fd, 0);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? size - done :
						       sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		cr_assert_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

static const char http_server[] =
	"import http.server, os, sys\n"
	"os.chdir(sys.argv[1])\n"
	"class H(http.server.SimpleHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def log_message(self, *a): pass\n"
	"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
	"print('PORT %d' % s.server_address[1], flush=True)\n"
	"s.serve_forever()\n";

Test(truth, tcp_curl_keepalive)
{
	char flows[512], json[512], hex[512], pcap[512], www[600];
	char url1[128], url2[128], body1[700], body2[700];
	char *srv[] = { "python3", "-u", "-c", (char *)http_server, www,
			NULL };
	char *curl[] = { "curl", "-s", "-S", "--fail", "-o", body1, "-o",
			 body2, url1, url2, NULL };
	struct stream s;
	struct row r;
	int port;

	paths(flows, json, hex, pcap);
	snprintf(www, sizeof(www), "%s/www", tmp);
	cr_assert_eq(mkdir(www, 0700), 0);
	snprintf(body1, sizeof(body1), "%s/big.bin", www);
	make_file(body1, 3u << 20, 1);
	snprintf(body1, sizeof(body1), "%s/small.bin", www);
	make_file(body1, 100u << 10, 2);
	snprintf(body1, sizeof(body1), "%s/got1", tmp);
	snprintf(body2, sizeof(body2), "%s/got2", tmp);

	port = start_server(srv);
	snprintf(url1, sizeof(url1), "http://127.0.0.1:%d/big.bin", port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/small.bin", port);
	capture_start(pcap, port, "tcp");
	traced(flows, json, hex, curl);
	capture_stop();
	stop(&server_pid, SIGTERM);

	cr_assert_eq(stream_count(pcap, "tcp"), 1,
		     "two URLs over one kept-alive connection");
	follow(pcap, "tcp", 0, &s);
	cr_assert_gt(s.data[1].len, (3u << 20) + (100u << 10),
		     "both bodies crossed the wire");
	check_stream(flows, json, hex, &s, &r);
	cr_assert_str_eq(r.f[1], "TCP");
	cr_assert_str_eq(r.f[2], "connect");
	cr_assert_str_eq(r.f[6], "curl");
	row_free(&r);
	free(s.data[0].p);
	free(s.data[1].p);
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

/* The "len" column of a .dgrams file, as uint32 values. */
static void dgram_lens(const char *flows, const char *name, struct bytes *b)
{
	char path[800];
	char *t, *line, *save = NULL;

	memset(b, 0, sizeof(*b));
	if (!strcmp(name, "-"))
		return;
	snprintf(path, sizeof(path), "%s/%s", flows, name);
	t = fk_slurp(path, NULL);
	cr_assert_not_null(t, "no %s", path);
	line = strtok_r(t, "\n", &save);
	cr_assert_str_eq(line, "offset\tlen\torig_len\tts");
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long off, len;
		uint32_t v;

		cr_assert_eq(sscanf(line, "%llu\t%llu", &off, &len), 2);
		v = (uint32_t)len;
		bytes_add(b, &v, sizeof(v));
	}
	free(t);
}

Test(truth, udp_request_response)
{
	char flows[512], json[512], hex[512], pcap[512], portarg[16];
	char *srv[] = { "python3", "-u", "-c", (char *)udp_server, NULL };
	char *cli[] = { "python3", "-c", (char *)udp_client, portarg, NULL };
	struct bytes from_client = { 0 }, to_client = { 0 }, dg[2];
	struct stream s;
	struct row r;
	int port, cport;

	paths(flows, json, hex, pcap);
	port = start_server(srv);
	snprintf(portarg, sizeof(portarg), "%d", port);
	capture_start(pcap, port, "udp");
	traced(flows, json, hex, cli);
	capture_stop();
	stop(&server_pid, SIGTERM);

	cr_assert_eq(stream_count(pcap, "udp"), 1, "one UDP stream");
	follow(pcap, "udp", 0, &s);
	check_stream(flows, json, hex, &s, &r);
	cr_assert_str_eq(r.f[1], "UDP");
	cr_assert_str_eq(r.f[2], "dgram");

	/* datagram boundaries: the client's port is in the node that is
	 * not the server */
	cport = atoi(strrchr(s.node[0], ':') + 1);
	if (cport == port)
		cport = atoi(strrchr(s.node[1], ':') + 1);
	udp_lengths(pcap, cport, &from_client, &to_client);
	cr_assert_eq(from_client.len / 4, 5, "five requests on the wire");
	for (int d = 0; d < 2; d++) {
		/* a2b is what side A sent */
		bool a_is_client = atoi(strrchr(r.f[3], ':') + 1) == cport;
		bool client_sent = (d == 0) == a_is_client;
		struct bytes *want = client_sent ? &from_client : &to_client;

		dgram_lens(flows, r.f[18 + d], &dg[d]);
		cr_assert_eq(dg[d].len, want->len,
			     "%s: %zu datagrams, the wire carried %zu",
			     r.f[18 + d], dg[d].len / 4, want->len / 4);
		cr_assert_arr_eq(dg[d].p, want->p, want->len,
				 "datagram sizes differ in %s", r.f[18 + d]);
		free(dg[d].p);
	}
	row_free(&r);
	free(from_client.p);
	free(to_client.p);
	free(s.data[0].p);
	free(s.data[1].p);
}
