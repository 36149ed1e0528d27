/* Helpers of the pcap tests; see pcap_check.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcap/pcap_out.h"
#include "pcap/pcap_check.h"

extern char **environ;

void ep4(struct st_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET;
	ep->port = port;
	if (inet_pton(AF_INET, addr, &ep->v4) != 1)
		abort();
}

void ep6(struct st_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET6;
	ep->port = port;
	if (inet_pton(AF_INET6, addr, &ep->v6) != 1)
		abort();
}

void epun(struct st_endpoint *ep, const char *path)
{
	size_t n = strlen(path);

	memset(ep, 0, sizeof(*ep));
	ep->family = AF_UNIX;
	if (n > sizeof(ep->un.path))
		n = sizeof(ep->un.path);
	memcpy(ep->un.path, path, n);
	ep->un.len = (uint8_t)n;
}

struct xconv *scen_conv(struct scen *s, enum st_proto proto,
			enum st_origin origin, const struct st_endpoint *a,
			const struct st_endpoint *b, const char *what)
{
	struct xconv *x;

	if (s->nconv >= SCEN_MAX)
		abort();
	x = &s->x[s->nconv++];
	memset(x, 0, sizeof(*x));
	x->c.id = (uint64_t)s->nconv;
	x->c.proto = proto;
	x->c.origin = origin;
	x->c.a = *a;
	x->c.b = *b;
	x->c.selected = true;
	x->client = origin == ST_ORIGIN_ACCEPT;
	x->clean = true;
	x->follow = true;
	x->what = what;
	return x;
}

static void record(struct xconv *x, int dir, const void *data, size_t len)
{
	if (x->n[dir] + len > x->cap[dir]) {
		size_t cap = (x->n[dir] + len) * 2;
		uint8_t *p = realloc(x->exp[dir], cap);

		if (!p)
			abort();
		x->exp[dir] = p;
		x->cap[dir] = cap;
	}
	memcpy(x->exp[dir] + x->n[dir], data, len);
	x->n[dir] += len;
}

void scen_ev(struct scen *s, struct xconv *x, enum st_ev_type type,
	     enum st_dir dir, const void *data, size_t len, unsigned flags,
	     size_t orig_len, const char *syscall, bool rec)
{
	struct st_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	s->now.tv_nsec += 1500;
	if (s->now.tv_nsec >= 1000000000L) {
		s->now.tv_nsec -= 1000000000L;
		s->now.tv_sec++;
	}
	ev.type = type;
	ev.conv = &x->c;
	ev.dir = dir;
	ev.order = ++s->order;
	ev.who.pid = 4242;
	ev.who.tid = 4242;
	ev.who.fd = (int)x->c.id + 2;
	ev.who.syscall = syscall;
	ev.who.comm = "curl";
	ev.who.ts = s->now;
	ev.data = data;
	ev.len = len;
	ev.orig_len = orig_len;
	ev.flags = flags;
	if (type == ST_EV_GAP)
		ev.note = "buffer not readable";
	if (type == ST_EV_DATA && rec)
		record(x, dir, data, len);
	if (type == ST_EV_END)
		x->c.ended = true;
	rc = s->sink.on_event(s->sink.priv, &ev);
	s->events++;
	if (rc) {
		if (!s->nerr)
			s->first_err = rc;
		s->nerr++;
	}
}

void scen_data(struct scen *s, struct xconv *x, enum st_dir dir, size_t n,
	       unsigned flags, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint32_t v = seed * 2654435761u + 1;

	if (!p)
		abort();
	for (size_t i = 0; i < n; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		p[i] = (uint8_t)(v >> 7);
	}
	scen_ev(s, x, ST_EV_DATA, dir, p, n, flags, 0,
		dir == ST_DIR_A_TO_B ? "write" : "read", true);
	free(p);
}

#define AB ST_DIR_A_TO_B
#define BA ST_DIR_B_TO_A

static void fin(struct scen *s, struct xconv *x, enum st_dir dir)
{
	scen_ev(s, x, ST_EV_FIN, dir, NULL, 0, 0, 0,
		dir == AB ? "shutdown" : "read", false);
}

static void end(struct scen *s, struct xconv *x)
{
	scen_ev(s, x, ST_EV_END, AB, NULL, 0, 0, 0, "close", false);
}

static void open_(struct scen *s, struct xconv *x, const char *sc)
{
	scen_ev(s, x, ST_EV_OPEN, AB, NULL, 0, 0, 0, sc, false);
}

static void dgram(struct scen *s, struct xconv *x, enum st_dir dir, size_t n,
		  uint32_t seed)
{
	scen_data(s, x, dir, n, ST_EVF_DGRAM, seed);
}

void scen_build(struct scen *s)
{
	struct st_endpoint a, b;
	struct xconv *c1, *c2, *c3, *c4, *c5, *c6, *c7, *c8, *c9, *c10;
	struct xconv *c11, *c12, *c13, *c14, *c15, *c16;
	static uint8_t big[100000], part[500];

	s->now.tv_sec = 1700000000;
	s->now.tv_nsec = 999000000;

	/* 1: IPv4 connect, writes each way, one of 200000 bytes */
	ep4(&a, "10.1.0.1", 40001);
	ep4(&b, "10.1.0.2", 30001);
	c1 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "tcp4");
	/* 2: IPv4, accepted: B is the client */
	ep4(&a, "10.2.0.1", 30002);
	ep4(&b, "10.2.0.2", 40002);
	c2 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_ACCEPT, &a, &b, "accept");
	open_(s, c1, "connect");
	scen_data(s, c1, AB, 300, 0, 1);
	open_(s, c2, "accept");
	scen_data(s, c2, BA, 120, 0, 2);
	scen_data(s, c1, BA, 200000, 0, 3);
	scen_data(s, c2, AB, 70000, 0, 4);
	scen_data(s, c1, AB, 600, ST_EVF_PART, 5);	/* one writev */
	scen_data(s, c1, AB, 400, 0, 6);
	scen_data(s, c1, AB, 1, ST_EVF_OOB, 7);
	/* one sendmsg of three buffers, the first over a segment: 16384
	 * bytes, then the other 8916 in one segment */
	scen_data(s, c1, AB, 20000, ST_EVF_PART, 50);
	scen_data(s, c1, AB, 300, ST_EVF_PART, 51);
	scen_data(s, c1, AB, 5000, 0, 52);
	scen_data(s, c1, BA, 5000, 0, 8);
	scen_data(s, c2, BA, 10, 0, 9);
	fin(s, c2, BA);
	scen_data(s, c1, AB, 64, 0, 10);
	fin(s, c1, AB);
	scen_data(s, c1, BA, 100, 0, 11);	/* after A's FIN: half-close */
	fin(s, c2, AB);
	end(s, c2);
	fin(s, c1, BA);
	end(s, c1);

	/* 3: IPv6 */
	ep6(&a, "fd00::1", 40003);
	ep6(&b, "fd00::2", 30003);
	c3 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "tcp6");
	open_(s, c3, "connect");
	scen_data(s, c3, AB, 500, 0, 12);
	scen_data(s, c3, BA, 40000, 0, 13);
	fin(s, c3, AB);
	fin(s, c3, BA);
	end(s, c3);

	/* 4: IPv4-mapped IPv6 on one side, IPv4 on the other */
	ep6(&a, "::ffff:127.0.0.1", 40004);
	ep4(&b, "127.0.0.2", 30004);
	c4 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "mapped");
	open_(s, c4, "connect");
	scen_data(s, c4, AB, 77, 0, 14);
	scen_data(s, c4, BA, 3000, 0, 15);
	fin(s, c4, BA);
	fin(s, c4, AB);
	end(s, c4);

	/* 5, 6: one UDP socket, two peers */
	ep4(&a, "10.3.0.1", 40005);
	ep4(&b, "10.3.0.2", 30005);
	c5 = scen_conv(s, ST_PROTO_UDP, ST_ORIGIN_DGRAM, &a, &b, "udp-peer1");
	ep4(&b, "10.3.0.3", 30006);
	c6 = scen_conv(s, ST_PROTO_UDP, ST_ORIGIN_DGRAM, &a, &b, "udp-peer2");
	open_(s, c5, "sendto");
	dgram(s, c5, AB, 100, 16);
	open_(s, c6, "sendto");
	dgram(s, c6, AB, 50, 17);
	dgram(s, c5, BA, 200, 18);
	dgram(s, c6, BA, 60, 19);
	dgram(s, c5, AB, 1400, 20);
	dgram(s, c6, BA, 70, 21);
	end(s, c5);
	end(s, c6);

	/* 7: Unix stream socketpair */
	epun(&a, "/run/st.sock");
	epun(&b, "");
	c7 = scen_conv(s, ST_PROTO_UNIX_STREAM, ST_ORIGIN_PAIR, &a, &b,
		       "unix-stream");
	open_(s, c7, "socketpair");
	scen_data(s, c7, AB, 1000, 0, 22);
	scen_data(s, c7, BA, 30000, 0, 23);
	scen_data(s, c7, AB, 1, 0, 24);
	fin(s, c7, AB);
	fin(s, c7, BA);
	end(s, c7);

	/* 8: Unix datagrams, one sent in two parts (sendmsg, 2 iovecs) */
	epun(&a, "/run/a.dg");
	epun(&b, "/run/b.dg");
	c8 = scen_conv(s, ST_PROTO_UNIX_DGRAM, ST_ORIGIN_DGRAM, &a, &b,
		       "unix-dgram");
	open_(s, c8, "sendmsg");
	for (size_t i = 0; i < sizeof(part); i++)
		part[i] = (uint8_t)(i * 31 + 7);
	scen_ev(s, c8, ST_EV_DATA, AB, part, 300, ST_EVF_DGRAM | ST_EVF_PART,
		0, "sendmsg", true);
	scen_ev(s, c8, ST_EV_DATA, AB, part + 300, 200, ST_EVF_DGRAM, 0,
		"sendmsg", true);
	dgram(s, c8, BA, 100, 25);
	dgram(s, c8, AB, 10, 26);
	end(s, c8);

	/* 9: a gap: 1000 bytes of B -> A not read */
	ep4(&a, "10.4.0.1", 40009);
	ep4(&b, "10.4.0.2", 30009);
	c9 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "gap");
	c9->clean = false;
	c9->follow = false;
	c9->gap = true;
	open_(s, c9, "connect");
	scen_data(s, c9, AB, 100, 0, 27);
	scen_data(s, c9, BA, 500, 0, 28);
	scen_ev(s, c9, ST_EV_GAP, BA, NULL, 1000, 0, 0, "read", false);
	scen_data(s, c9, BA, 300, 0, 29);
	fin(s, c9, AB);
	fin(s, c9, BA);
	end(s, c9);

	/* 10: reset by B; what A writes afterwards is not sent */
	ep4(&a, "10.5.0.1", 40010);
	ep4(&b, "10.5.0.2", 30010);
	c10 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b, "reset");
	c10->clean = false;
	c10->reset = true;
	open_(s, c10, "connect");
	scen_data(s, c10, AB, 100, 0, 30);
	scen_data(s, c10, BA, 200, 0, 31);
	scen_ev(s, c10, ST_EV_RESET, BA, NULL, 0, 0, 0, "read", false);
	scen_ev(s, c10, ST_EV_DATA, AB, part, 50, 0, 0, "write", false);
	end(s, c10);

	/* 11: Unix seqpacket: one segment per record, 70000 needs two */
	epun(&a, "@abstract-sp");
	epun(&b, "");
	c11 = scen_conv(s, ST_PROTO_UNIX_SEQPACKET, ST_ORIGIN_PAIR, &a, &b,
			"unix-seqpacket");
	open_(s, c11, "socketpair");
	scen_data(s, c11, AB, 20000, ST_EVF_DGRAM, 32);
	scen_data(s, c11, BA, 10, ST_EVF_DGRAM, 33);
	scen_data(s, c11, AB, 70000, ST_EVF_DGRAM, 34);
	fin(s, c11, AB);
	fin(s, c11, BA);
	end(s, c11);

	/* 12: datagrams that do not fit: cut, and read short (TRUNC) */
	epun(&a, "/run/big.dg");
	epun(&b, "/run/peer.dg");
	c12 = scen_conv(s, ST_PROTO_UNIX_DGRAM, ST_ORIGIN_DGRAM, &a, &b,
			"unix-dgram-cut");
	c12->follow = false;
	c12->cut = true;
	open_(s, c12, "sendto");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 9));
	scen_ev(s, c12, ST_EV_DATA, AB, big, sizeof(big), ST_EVF_DGRAM, 0,
		"sendto", true);
	scen_ev(s, c12, ST_EV_DATA, BA, part, 5,
		ST_EVF_DGRAM | ST_EVF_TRUNC, 500, "recvfrom", true);
	dgram(s, c12, AB, 10, 35);
	end(s, c12);

	/* 13: first seen already connected; still open at the end.  One
	 * event carries a time earlier than the last one written. */
	ep4(&a, "10.6.0.1", 40013);
	ep4(&b, "10.6.0.2", 30013);
	c13 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_MIDSTREAM, &a, &b,
			"midstream");
	scen_data(s, c13, BA, 100, 0, 36);	/* no OPEN seen */
	s->now.tv_sec -= 5;
	scen_data(s, c13, AB, 100, 0, 37);
	s->now.tv_sec += 5;
	scen_data(s, c13, BA, 100, 0, 38);
	end(s, c13);

	/* 14: UDP over IPv6; 15: a datagram read short over IPv6 */
	ep6(&a, "fd00::10", 40014);
	ep6(&b, "fd00::11", 30014);
	c14 = scen_conv(s, ST_PROTO_UDP, ST_ORIGIN_CONNECT, &a, &b, "udp6");
	open_(s, c14, "connect");
	dgram(s, c14, AB, 33, 39);
	dgram(s, c14, BA, 3333, 40);
	dgram(s, c14, BA, 0, 41);		/* an empty datagram */
	end(s, c14);
	ep6(&a, "fd00::12", 40015);
	ep6(&b, "fd00::13", 30015);
	c15 = scen_conv(s, ST_PROTO_UDP, ST_ORIGIN_DGRAM, &a, &b,
			"udp6-trunc");
	c15->follow = false;
	c15->cut = true;
	open_(s, c15, "recvfrom");
	scen_ev(s, c15, ST_EV_DATA, AB, part, 8, ST_EVF_DGRAM | ST_EVF_TRUNC,
		400, "recvfrom", true);
	end(s, c15);

	/* 16: a peer that is not known: 0.0.0.0 port 0 */
	ep4(&a, "10.7.0.1", 40016);
	memset(&b, 0, sizeof(b));
	c16 = scen_conv(s, ST_PROTO_TCP, ST_ORIGIN_CONNECT, &a, &b,
			"unknown-peer");
	open_(s, c16, "connect");
	scen_data(s, c16, AB, 10, 0, 42);
	scen_data(s, c16, BA, 20, 0, 43);
	end(s, c16);
}

void scen_free(struct scen *s)
{
	for (int i = 0; i < s->nconv; i++) {
		free(s->x[i].exp[0]);
		free(s->x[i].exp[1]);
	}
}

void scen_node(const struct xconv *x, int side, char *buf, size_t size)
{
	struct st_endpoint a, b, ep;
	char addr[INET6_ADDRSTRLEN];

	if (st_pcap_conv_is_synthetic(&x->c)) {
		st_pcap_synth_endpoints(&x->c, &a, &b);
	} else {
		st_endpoint_unmap(&a, &x->c.a);
		st_endpoint_unmap(&b, &x->c.b);
	}
	ep = side ? b : a;
	if (ep.family == AF_UNSPEC) {
		/* written as the other side's family, address 0, port 0 */
		ep = side ? a : b;
		snprintf(buf, size, ep.family == AF_INET6 ? "[::]:0"
							  : "0.0.0.0:0");
		return;
	}
	/* as tshark prints them: 10.0.0.1:80, [fd00::1]:80 */
	if (ep.family == AF_INET) {
		inet_ntop(AF_INET, &ep.v4, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ep.port);
	} else {
		inet_ntop(AF_INET6, &ep.v6, addr, sizeof(addr));
		snprintf(buf, size, "[%s]:%u", addr, ep.port);
	}
}

int run_tool(const char *const argv[], char **out, size_t *outlen)
{
	posix_spawn_file_actions_t fa;
	int p[2], status;
	pid_t pid;
	size_t n = 0, cap = 65536;
	char *buf;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			 environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf)
			break;
		if (cap - n < 65536) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(p[0], buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!buf)
		return -1;
	buf[n] = '\0';
	*out = buf;
	if (outlen)
		*outlen = n;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

static void add_hex(struct follow *f, int dir, const char *s, size_t len)
{
	uint8_t *p = realloc(f->bytes[dir], f->n[dir] + len / 2 + 1);

	if (!p)
		abort();
	f->bytes[dir] = p;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			break;
		p[f->n[dir]++] = (uint8_t)(hi << 4 | lo);
	}
}

int follow_streams(const char *path, const char *proto, int count,
		   struct follow *out)
{
	const char *argv[8 + 2 * 64];
	char spec[64][32];
	char *text, *line, *save = NULL;
	int argc = 0, cur = -1, rc;
	bool in_data = false;

	if (count > 64)
		return -1;
	argv[argc++] = "tshark";
	argv[argc++] = "-r";
	argv[argc++] = path;
	argv[argc++] = "-q";
	for (int i = 0; i < count; i++) {
		snprintf(spec[i], sizeof(spec[i]), "follow,%s,raw,%d", proto,
			 i);
		argv[argc++] = "-z";
		argv[argc++] = spec[i];
	}
	argv[argc] = NULL;
	memset(out, 0, sizeof(*out) * (size_t)count);
	rc = run_tool(argv, &text, NULL);
	if (rc != 0) {
		free(text);
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "=====", 5) == 0) {
			in_data = false;
			continue;
		}
		if (strncmp(line, "Follow: ", 8) == 0) {
			if (cur + 1 >= count)
				break;
			cur++;
			continue;
		}
		if (cur < 0)
			continue;
		if (strncmp(line, "Node 0: ", 8) == 0) {
			snprintf(out[cur].node[0], sizeof(out[cur].node[0]),
				 "%s", line + 8);
			continue;
		}
		if (strncmp(line, "Node 1: ", 8) == 0) {
			snprintf(out[cur].node[1], sizeof(out[cur].node[1]),
				 "%s", line + 8);
			in_data = true;
			continue;
		}
		if (!in_data)
			continue;
		if (line[0] == '\t')
			add_hex(&out[cur], 1, line + 1, strlen(line + 1));
		else
			add_hex(&out[cur], 0, line, strlen(line));
	}
	free(text);
	return cur + 1;
}

void follow_free(struct follow *f, int count)
{
	for (int i = 0; i < count; i++) {
		free(f[i].bytes[0]);
		free(f[i].bytes[1]);
	}
}

char *tmpdir_make(void)
{
	char *d = strdup("/tmp/st-pcap-XXXXXX");

	if (!d || !mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

void tmpdir_remove(char *dir)
{
	DIR *d;
	struct dirent *e;

	if (!dir)
		return;
	if (getenv("ST_PCAP_KEEP")) {
		/* for a look with wireshark: keep the files */
		fprintf(stderr, "pcap test files kept in %s\n", dir);
		free(dir);
		return;
	}
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}
