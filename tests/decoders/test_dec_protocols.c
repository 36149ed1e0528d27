/*
 * Table-driven decoder tests: each case is a conversation script and the
 * texts its records must show, in order.  Every case is also replayed
 * with each stream step cut in two at every byte boundary and cut into
 * 1-byte chunks: the records must not change.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decoders/dec_util.h"

#define D(dir, lit) { dir, lit, sizeof(lit) - 1, STEP_DATA, 0 }
#define DG(dir, lit) { dir, lit, sizeof(lit) - 1, STEP_DATA, ST_EVF_DGRAM }
#define FIN(dir) { dir, NULL, 0, STEP_FIN, 0 }
#define GAP(dir, n) { dir, NULL, n, STEP_GAP, 0 }
#define MAXSTEPS 12
#define MAXWANT 16

static const struct dec_conv TCP = { ST_PROTO_TCP, 40000, 40001,
				     ST_ORIGIN_CONNECT };
static const struct dec_conv UDP = { ST_PROTO_UDP, 40000, 40001,
				     ST_ORIGIN_CONNECT };

struct dcase {
	const char *name;
	const char *spec;
	const struct dec_conv *conv;
	struct step steps[MAXSTEPS];
	const char *want[MAXWANT];	/* in order */
	const char *dont[4];		/* must not appear */
	int nrec;			/* -1: any */
	bool fallback;			/* raw must take over */
	const char *decoder;		/* st_decsess_name(), NULL: any */
};

/* ------------------------------------------------------------------ */
/* DNS messages captured from dig against dnsmasq */

#define DNS_Q_A \
	"\xf4\x2d\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\x03\x77\x77\x77" \
	"\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x01" \
	"\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00" \
	"\x08\x63\x04\x52\x83\x14\x74\x20\x63"
#define DNS_R_A \
	"\xf4\x2d\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x03\x77\x77\x77" \
	"\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x01" \
	"\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x7f\x00" \
	"\x00\x05\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_AAAA \
	"\xed\x54\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x03\x77\x77\x77" \
	"\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x1c" \
	"\x00\x01\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x00\x00\x10\x00\x00" \
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00" \
	"\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_MX \
	"\x0f\x94\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x07\x65\x78\x61" \
	"\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x0f\x00\x01\xc0\x0c" \
	"\x00\x0f\x00\x01\x00\x00\x00\x00\x00\x15\x00\x0a\x04\x6d\x61\x69" \
	"\x6c\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00" \
	"\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_TXT \
	"\x41\xed\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x07\x65\x78\x61" \
	"\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x10\x00\x01\xc0\x0c" \
	"\x00\x10\x00\x01\x00\x00\x00\x00\x00\x1a\x0b\x76\x3d\x73\x70\x66" \
	"\x31\x20\x2d\x61\x6c\x6c\x0d\x73\x65\x63\x6f\x6e\x64\x20\x73\x74" \
	"\x72\x69\x6e\x67\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_CNAME \
	"\xa5\x57\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x05\x61\x6c\x69" \
	"\x61\x73\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00" \
	"\x00\x01\x00\x01\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x00\x00\x12" \
	"\x03\x77\x77\x77\x07\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73" \
	"\x74\x00\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_SRV \
	"\x3c\xd0\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x05\x5f\x68\x74" \
	"\x74\x70\x04\x5f\x74\x63\x70\x07\x65\x78\x61\x6d\x70\x6c\x65\x04" \
	"\x74\x65\x73\x74\x00\x00\x21\x00\x01\xc0\x0c\x00\x21\x00\x01\x00" \
	"\x00\x00\x00\x00\x18\x00\x00\x00\x00\x00\x50\x03\x77\x77\x77\x07" \
	"\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x00\x29" \
	"\x04\xd0\x00\x00\x00\x00\x00\x00"
#define DNS_R_PTR \
	"\xf4\x71\x85\x80\x00\x01\x00\x01\x00\x00\x00\x01\x01\x35\x01\x30" \
	"\x01\x30\x03\x31\x32\x37\x07\x69\x6e\x2d\x61\x64\x64\x72\x04\x61" \
	"\x72\x70\x61\x00\x00\x0c\x00\x01\xc0\x0c\x00\x0c\x00\x01\x00\x00" \
	"\x00\x00\x00\x12\x03\x77\x77\x77\x07\x65\x78\x61\x6d\x70\x6c\x65" \
	"\x04\x74\x65\x73\x74\x00\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00" \
	"\x00"
#define DNS_R_REFUSED \
	"\x19\xbf\x81\x85\x00\x01\x00\x00\x00\x00\x00\x01\x02\x6e\x78\x07" \
	"\x65\x78\x61\x6d\x70\x6c\x65\x04\x74\x65\x73\x74\x00\x00\x01\x00" \
	"\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x06\x00\x0f\x00\x02" \
	"\x00\x0e"
/* hand-made: NXDOMAIN with an SOA in authority, "a." compressed */
#define DNS_R_SOA \
	"\x12\x34\x81\x83\x00\x01\x00\x00\x00\x01\x00\x00" \
	"\x01\x78\x01\x61\x00\x00\x01\x00\x01" \
	"\xc0\x0e\x00\x06\x00\x01\x00\x00\x0e\x10\x00\x20" \
	"\x02\x6e\x73\xc0\x0e\x04\x72\x6f\x6f\x74\xc0\x0e" \
	"\x00\x00\x00\x07\x00\x00\x0e\x10\x00\x00\x07\x08" \
	"\x00\x09\x3a\x80\x00\x00\x01\x2c"
/* a name whose pointer points at itself */
#define DNS_LOOP \
	"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01" \
	"\x00\x01"
/* a pointer forward */
#define DNS_FWD \
	"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x12\x00\x01" \
	"\x00\x01\x01\x61\x00"

static const struct dcase cases[] = {
	/* ---------------- http ---------------- */
	{ "http get", "auto", &TCP, {
		D(0, "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
		     "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
		D(1, "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\n"
		     "Content-Type: text/html\r\nContent-Length: 15\r\n\r\n"
		     "<html>hi</html>"),
		FIN(1) },
	  { "  > http request: GET /index.html HTTP/1.1\n",
	    "        Host: 127.0.0.1:8000\n", "User-Agent: curl/7.88.1",
	    "  < http response: HTTP/1.0 200 OK\n",
	    "request: GET /index.html\n", "Content-Length: 15",
	    "body: 15 bytes\n", "preview: <html>hi</html>\n" },
	  { "note" }, 2, false, "http" },
	{ "http pipelined keep-alive with HEAD", "auto", &TCP, {
		D(0, "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"
		     "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"),
		D(1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") },
	  { "request: HEAD /a HTTP/1.1", "request: GET /b HTTP/1.1",
	    "response: HTTP/1.1 200 OK", "request: HEAD /a\n",
	    "response: HTTP/1.1 200 OK", "request: GET /b\n",
	    "body: 5 bytes", "preview: hello" },
	  { "note" }, 4, false, "http" },
	{ "http chunked post, 100-continue, 204", "http", &TCP, {
		D(0, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n"),
		D(1, "HTTP/1.1 100 Continue\r\n\r\n"),
		D(0, "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"),
		D(1, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n") },
	  { "response: HTTP/1.1 100 Continue", "request: POST /up",
	    "body: 11 bytes, chunked", "chunks: 2", "preview: hello world",
	    "response: HTTP/1.1 204 No Content", "request: POST /up" },
	  { "note" }, 3, false, "http" },
	{ "http body until close", "auto", &TCP, {
		D(0, "GET / HTTP/1.0\r\n\r\n"),
		D(1, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
		     "line one\nline two\n"),
		FIN(1) },
	  { "request: GET / HTTP/1.0", "response: HTTP/1.0 200 OK",
	    "body: 18 bytes, until close", "preview: line one\\nline two\\n" },
	  { "note" }, 2, false, "http" },
	{ "http 304 has no body", "http", &TCP, {
		D(0, "GET /c HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n"),
		D(1, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
		D(0, "GET /d HTTP/1.1\r\n\r\n"),
		D(1, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!") },
	  { "response: HTTP/1.1 304 Not Modified", "request: GET /c\n",
	    "response: HTTP/1.1 404 Not Found", "request: GET /d\n",
	    "preview: no!" },
	  { "note" }, 4, false, NULL },
	{ "http upgrade to websocket", "http", &TCP, {
		D(0, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\n\r\n"),
		D(1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\n\r\n\x81\x02hi"),
		D(0, "\x81\x85\x01\x02\x03\x04\x69\x67\x6f\x68\x6e"),
		FIN(0) },
	  { "request: GET /ws", "Upgrade: websocket",
	    "response: HTTP/1.1 101 Switching Protocols",
	    "data: switched protocols: 11 bytes not decoded",
	    "data: switched protocols: 4 bytes not decoded" },
	  { "note" }, 4, false, NULL },
	{ "http truncated body", "http", &TCP, {
		D(0, "GET /big HTTP/1.1\r\n\r\n"),
		D(1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789") },
	  { "request: GET /big", "response: HTTP/1.1 200 OK",
	    "body: 10 bytes", "incomplete: body 10 of 100 bytes" },
	  { "note" }, 2, false, NULL },
	{ "http truncated head", "http", &TCP, {
		D(0, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
		D(1, "HTTP/1.1 200 OK\r\nContent-") },
	  { "request: GET /x",
	    "note: 25 bytes of an incomplete http message at end of stream",
	    "bytes: HTTP/1.1 200 OK\\r\\nContent-" },
	  { "raw" }, 2, false, NULL },
	{ "http malformed header falls back to raw", "http", &TCP, {
		D(0, "GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n"),
		D(1, "HTTP/1.1 200 OK\r\n\r\n") },
	  { "http note: invalid http data at offset 0; decoding the rest as "
	    "raw", "raw data: 42 bytes, text", "text: GET / HTTP/1.1\\r\\n",
	    "raw data: 19 bytes, text" },
	  { "http request" }, 3, true, "http" },
	{ "http gap inside a body resyncs", "http", &TCP, {
		D(0, "GET /g HTTP/1.1\r\n\r\n"),
		D(1, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234"),
		GAP(1, 10),
		D(1, "abcde"),
		D(0, "GET /h HTTP/1.1\r\n\r\n") },
	  { "request: GET /g", "note: gap: 10 bytes lost (test gap)",
	    "response: HTTP/1.1 200 OK", "body: 20 bytes", "lost: 10 bytes",
	    "request: GET /h" },
	  { "raw" }, 4, false, NULL },

	{ "http header values are escaped once", "http", &TCP, {
		D(0, "GET /a%20b HTTP/1.1\r\nX-Odd: a\\b\t\x01\xc3\xa9\r\n\r\n") },
	  { "request: GET /a%20b HTTP/1.1\n",
	    "        X-Odd: a\\\\b\\t\\x01\\xc3\\xa9\n" },
	  { "note" }, 1, false, NULL },

	/* ---------------- redis ---------------- */
	{ "redis set/get", "auto", &TCP, {
		D(0, "*3\r\n$3\r\nset\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"),
		D(1, "+OK\r\n"),
		D(0, "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"),
		D(1, "$5\r\nvalue\r\n") },
	  { "> redis command: SET \"key\" \"value\"\n", "args: 3",
	    "< redis reply: OK\n", "type: simple string",
	    "> redis command: GET \"key\"\n", "< redis reply: \"value\"\n",
	    "type: bulk string" },
	  { "note" }, 4, false, "redis" },
	{ "redis pipeline and inline", "redis", &TCP, {
		D(0, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
		     "PING\r\nECHO hi there\r\n"),
		D(1, "+PONG\r\n$-1\r\n+PONG\r\n$8\r\nhi there\r\n") },
	  { "command: PING\n", "command: GET \"k\"\n", "command: PING\n",
	    "type: inline command", "command: ECHO \"hi\" \"there\"\n",
	    "reply: PONG\n", "reply: (nil)\n", "reply: PONG\n",
	    "reply: \"hi there\"\n" },
	  { "note" }, 8, false, NULL },
	{ "redis every reply type", "redis", &TCP, {
		D(0, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"),
		D(1, ":42\r\n-ERR unknown command 'x'\r\n"
		     "*2\r\n$1\r\na\r\n*1\r\n:1\r\n"
		     "%1\r\n+k\r\n#t\r\n,3.14\r\n_\r\n(12345678901234567890\r\n"
		     "=15\r\ntxt:Some string\r\n~2\r\n+a\r\n+b\r\n"
		     ">2\r\n+message\r\n+hi\r\n|1\r\n+key\r\n+val\r\n:5\r\n"
		     "!9\r\nERR oops!\r\n*-1\r\n#f\r\n") },
	  { "command: HELLO \"3\"", "reply: (integer) 42\n",
	    "reply: (error) ERR unknown command 'x'\n", "error: yes",
	    "reply: [2] \"a\" [1] (integer) 1\n", "reply: {1} k (true)\n",
	    "reply: (double) 3.14\n", "reply: (nil)\n",
	    "reply: (bignum) 12345678901234567890\n",
	    "reply: \"txt:Some string\"\n", "reply: ~2 a b\n",
	    "reply: push[2] message hi\n", "reply: attr{1} key val (integer) 5\n",
	    "reply: (error) \"ERR oops!\"\n", "reply: (nil array)\n",
	    "reply: (false)\n" },
	  { "note", "type: value" }, 15, false, NULL },
	{ "redis big bulk string streams through", "redis", &TCP, {
		D(0, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"),
		D(1, "$20\r\n0123456789abcdefghij\r\n") },
	  { "reply: \"0123456789abcdefghij\"\n", "bytes: 27" },
	  { "note" }, 2, false, NULL },
	{ "redis truncated reply", "redis", &TCP, {
		D(0, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
		D(1, "*2\r\n$3\r\nabc\r\n$10\r\nabc") },
	  { "command: GET \"k\"",
	    "reply: [2] \"abc\" \"abc...\" (10 bytes)",
	    "incomplete: the stream ended inside this value" },
	  { "raw" }, 2, false, NULL },
	{ "redis malformed falls back", "redis", &TCP, {
		D(0, "*1\r\n$3\r\nGETXX\r\n") },
	  { "command: GET\n", "incomplete: the stream ended inside",
	    "note: invalid redis data at offset 11", "raw data: 4 bytes" },
	  { NULL }, 3, true, NULL },
	{ "redis nesting too deep", "redis", &TCP, {
		D(0, "*1\r\n$4\r\nPING\r\n"),
		D(1, "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
		     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
		     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
		     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n") },
	  { "command: PING", "reply: [1] [1] [1]", "incomplete: the stream",
	    "note: invalid redis data at offset 128", "raw data" },
	  { NULL }, -1, true, NULL },

	/* ---------------- dns ---------------- */
	{ "dns udp A", "auto", &UDP, {
		DG(0, DNS_Q_A), DG(1, DNS_R_A) },
	  { "> dns query: query 0xf42d A www.example.test.\n",
	    "flags: rd ad\n", "question: www.example.test. IN A",
	    "edns: version 0, udp 1232, 12 option bytes",
	    "< dns answer: answer 0xf42d NOERROR A www.example.test. -> "
	    "127.0.0.5\n", "flags: qr aa rd ra\n",
	    "answer: www.example.test. 0 IN A 127.0.0.5" },
	  { "note" }, 2, false, "dns" },
	{ "dns udp record types", "dns", &UDP, {
		DG(1, DNS_R_AAAA), DG(1, DNS_R_MX), DG(1, DNS_R_TXT),
		DG(1, DNS_R_CNAME), DG(1, DNS_R_SRV), DG(1, DNS_R_PTR),
		DG(1, DNS_R_REFUSED), DG(1, DNS_R_SOA) },
	  { "answer: www.example.test. 0 IN AAAA ::5",
	    "answer: example.test. 0 IN MX 10 mail.example.test.",
	    "answer: example.test. 0 IN TXT \"v=spf1 -all\" \"second string\"",
	    "answer: alias.example.test. 0 IN CNAME www.example.test.",
	    "answer: _http._tcp.example.test. 0 IN SRV 0 0 80 "
	    "www.example.test.",
	    "answer: 5.0.0.127.in-addr.arpa. 0 IN PTR www.example.test.",
	    "answer 0x19bf REFUSED A nx.example.test.",
	    "answer 0x1234 NXDOMAIN A x.a.",
	    "authority: a. 3600 IN SOA ns.a. root.a. 7 3600 1800 604800 300" },
	  { "note" }, 8, false, NULL },
	{ "dns over tcp with length framing", "dns", &TCP, {
		D(0, "\x00\x39" DNS_Q_A),
		D(1, "\x00\x3d" DNS_R_A "\x00\x39" DNS_Q_A) },
	  { "query: query 0xf42d A www.example.test.",
	    "answer: answer 0xf42d NOERROR A www.example.test. -> 127.0.0.5",
	    "query: query 0xf42d A www.example.test." },
	  { "note" }, 3, false, NULL },
	{ "dns tcp truncated", "dns", &TCP, {
		D(0, "\x00\x39" DNS_Q_A),
		D(1, "\x00\x3d\xf4\x2d\x85\x80") },
	  { "query: query 0xf42d", "note: 6 bytes of an incomplete dns "
	    "message at end of stream" },
	  { "raw" }, 2, false, NULL },
	{ "dns pointer loop is invalid", "dns", &UDP, { DG(0, DNS_LOOP) },
	  { "note: invalid dns datagram", "raw data: datagram, 18 bytes" },
	  { "dns query" }, 2, true, NULL },
	{ "dns forward pointer is invalid", "dns", &UDP, { DG(0, DNS_FWD) },
	  { "note: invalid dns datagram" }, { "dns query" }, 2, true, NULL },

	/* ---------------- finger ---------------- */
	{ "finger user", "auto", &TCP, {
		D(0, "alice\r\n"),
		D(1, "Login: alice\t\tName: Alice\r\nDirectory: /home/alice\r\n"
		     "No Plan.\r\n"),
		FIN(1) },
	  { "> finger query: alice\n", "user: alice",
	    "< finger response: 3 lines, 61 bytes\n",
	    "line: Login: alice\\t\\tName: Alice\n", "line: No Plan.\n" },
	  { "note" }, 2, false, "finger" },
	{ "finger verbose forwarding and list", "finger", &TCP, {
		D(0, "/W bob@host1@host2\r\n"),
		D(1, "text without newline"),
		FIN(1) },
	  { "query: bob@host1@host2 (verbose)", "user: bob",
	    "verbose: yes", "forward: host1@host2",
	    "response: 1 line, 20 bytes" },
	  { "note" }, 2, false, NULL },
	{ "finger list users", "finger", &TCP, {
		D(0, "\r\n"), D(1, "nobody here\r\n") },
	  { "query: list users", "response: 1 line" }, { "note" }, 2, false,
	  NULL },
	{ "finger control bytes in query", "finger", &TCP, {
		D(0, "al\x01ice\r\n") },
	  { "note: invalid finger data", "raw data: 8 bytes" },
	  { "finger query" }, 2, true, NULL },

	/* ---------------- tls ---------------- */
	{ "tls alert in the clear", "tls", &TCP, {
		D(0, "\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03"
		     "0123456789abcdef0123456789abcdef\x00\x00\x02\x13\x01"
		     "\x01\x00"),
		D(1, "\x15\x03\x03\x00\x02\x02\x28") },
	  { "> tls hello: ClientHello TLS 1.2\n",
	    "ciphers: 1: TLS_AES_128_GCM_SHA256",
	    "< tls alert: fatal handshake_failure (40)" },
	  { "note" }, 2, false, "tls" },
	{ "tls encrypted runs are aggregated per turn", "tls", &TCP, {
		D(0, "\x17\x03\x03\x00\x03" "abc\x17\x03\x03\x00\x02" "de"),
		D(0, "\x17\x03\x03\x00\x01" "f"),
		D(1, "\x17\x03\x03\x00\x04ghij"),
		D(0, "\x17\x03\x03\x00\x00") },
	  { "> tls data: encrypted 6 bytes in 3 records\n",
	    "< tls data: encrypted 4 bytes in 1 record\n",
	    "> tls data: encrypted 0 bytes in 1 record\n" },
	  { "note" }, 3, false, NULL },
	{ "tls truncated handshake", "tls", &TCP, {
		D(0, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" "abc") },
	  { "note: incomplete handshake message: 9 of 512 bytes" },
	  { "raw" }, 1, false, NULL },
	{ "tls bad record type falls back", "tls", &TCP, {
		D(0, "\x17\x03\x03\x00\x02hi\x99\x03\x03\x00\x01x") },
	  { "data: encrypted 2 bytes in 1 record",
	    "note: invalid tls data at offset 7", "raw data: 6 bytes" },
	  { NULL }, 3, true, NULL },
	{ "tls bad hello falls back", "tls", &TCP, {
		D(0, "\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03") },
	  { "note: invalid tls data at offset 11" },
	  { "hello" }, 1, true, NULL },

	/* ---------------- selection ---------------- */
	{ "unknown binary stays raw", "auto", &TCP, {
		D(0, "\x00\x01\x02\x03\xff\xfe"),
		D(1, "\x10\x20") },
	  { "raw data: 6 bytes, binary",
	    "000000: 00 01 02 03 ff fe", "raw data: 2 bytes, binary" },
	  { "note" }, 2, false, "raw" },
	{ "explicit none-matching spec uses the given decoder", "redis",
	  &TCP, { D(0, "PING\r\n") },
	  { "redis command: PING" }, { "note" }, 1, false, "redis" },
};

static bool in_order(const char *text, const char *const *want,
		     const char **missing)
{
	const char *p = text ? text : "";
	size_t i;

	for (i = 0; i < MAXWANT && want[i]; i++) {
		const char *q = strstr(p, want[i]);

		if (!q) {
			*missing = want[i];
			return false;
		}
		p = q + strlen(want[i]);
	}
	return true;
}

static size_t nsteps(const struct dcase *c)
{
	size_t n = 0;

	while (n < MAXSTEPS && (c->steps[n].bytes ||
				c->steps[n].kind != STEP_DATA))
		n++;
	return n;
}

static void run_case(const struct dcase *c)
{
	struct rec_log base = { 0 }, l;
	struct chunking ch = { 0 };
	const char *name = NULL, *missing = NULL;
	bool fb = false;
	size_t ns = nsteps(c), i, k;
	int r;

	r = dec_run(c->spec, c->conv, c->steps, ns, NULL, &base, &name, &fb);
	cr_assert_eq(r, 0, "%s: run failed %d", c->name, r);
	cr_assert(!base.bad, "%s: %s", c->name, base.why);
	cr_assert(in_order(base.text, c->want, &missing),
		  "%s: missing \"%s\" in:\n%s", c->name, missing, base.text);
	for (i = 0; i < 4 && c->dont[i]; i++)
		cr_assert(!strstr(base.text ? base.text : "", c->dont[i]),
			  "%s: unexpected \"%s\" in:\n%s", c->name, c->dont[i],
			  base.text);
	if (c->nrec >= 0)
		cr_assert_eq(base.records, (size_t)c->nrec,
			     "%s: %zu records, want %d:\n%s", c->name,
			     base.records, c->nrec, base.text);
	cr_assert_eq(fb, c->fallback, "%s: fell back %d:\n%s", c->name, fb,
		     base.text);
	if (c->decoder)
		cr_assert_str_eq(name, c->decoder, "%s", c->name);

	/* raw renders chunks as they come: only decoded output is stable */
	if (fb || (name && !strcmp(name, "raw")))
		goto out;
	for (i = 0; i < ns; i++) {
		size_t len = c->steps[i].len;

		if (c->steps[i].kind != STEP_DATA ||
		    (c->steps[i].flags & ST_EVF_DGRAM))
			continue;
		for (k = 1; k < len; k++) {
			memset(&l, 0, sizeof(l));
			ch.split_step = i + 1;
			ch.split_at = k;
			dec_run(c->spec, c->conv, c->steps, ns, &ch, &l, NULL,
				NULL);
			cr_assert_str_eq(l.text ? l.text : "", base.text ?
					 base.text : "", "%s: step %zu split "
					 "at %zu differs", c->name, i, k);
			rec_log_free(&l);
		}
	}
	memset(&l, 0, sizeof(l));
	memset(&ch, 0, sizeof(ch));
	ch.bytewise = true;
	dec_run(c->spec, c->conv, c->steps, ns, &ch, &l, NULL, NULL);
	cr_assert_str_eq(l.text ? l.text : "", base.text ? base.text : "",
			 "%s: 1-byte chunks differ", c->name);
	rec_log_free(&l);
out:
	rec_log_free(&base);
}

Test(decoders, table)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* A bulk string larger than the session's buffer cap streams through. */
Test(decoders, redis_bulk_beyond_buffer_cap)
{
	static char big[200 * 1024];
	size_t n = 150 * 1024, hl;
	struct rec_log l = { 0 };
	struct step steps[3];
	struct chunking ch = { 0 };
	bool fb = true;
	char want[64];

	hl = (size_t)snprintf(big, sizeof(big), "$%zu\r\n", n);
	memset(big + hl, 'x', n);
	memcpy(big + hl + n, "\r\n+OK\r\n", 7);
	memset(steps, 0, sizeof(steps));
	steps[0] = (struct step){ 0, "*1\r\n$4\r\nPING\r\n", 0, STEP_DATA,
				  0 };
	steps[1] = (struct step){ 1, big, hl + n + 7, STEP_DATA, 0 };
	cr_assert_eq(dec_run("redis", &TCP, steps, 2, NULL, &l, NULL, &fb), 0);
	snprintf(want, sizeof(want), "(%zu bytes)", n);
	cr_assert(!fb, "%s", l.text);
	cr_assert(strstr(l.text, want), "%s", l.text);
	cr_assert(strstr(l.text, "reply: OK\n"), "%s", l.text);
	rec_log_free(&l);
	/* the same in 1000-byte pieces: split at 1000 */
	ch.split_step = 2;
	ch.split_at = 1000;
	cr_assert_eq(dec_run("redis", &TCP, steps, 2, &ch, &l, NULL, &fb), 0);
	cr_assert(!fb && strstr(l.text, want), "%s", l.text);
	rec_log_free(&l);
}

/* An HTTP body larger than the cap also streams (and previews stay short). */
Test(decoders, http_big_body)
{
	static char big[300 * 1024];
	size_t n = 256 * 1024, hl;
	struct rec_log l = { 0 };
	struct step steps[2];
	bool fb = true;

	steps[0] = (struct step){ 0, "GET /f HTTP/1.1\r\n\r\n", 0, STEP_DATA,
				  0 };
	hl = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n"
			      "Content-Length: %zu\r\n\r\n", n);
	memset(big + hl, 'y', n);
	steps[1] = (struct step){ 1, big, hl + n, STEP_DATA, 0 };
	cr_assert_eq(dec_run("auto", &TCP, steps, 2, NULL, &l, NULL, &fb), 0);
	cr_assert(!fb, "%s", l.text);
	cr_assert(strstr(l.text, "body: 262144 bytes\n"), "%s", l.text);
	cr_assert(strstr(l.text, "preview: yyyyyyyy"), "%s", l.text);
	cr_assert_lt(l.len, 2000);
	rec_log_free(&l);
}

/* Headers that never end overflow the buffer: a note, then raw. */
Test(decoders, endless_head_overflows_to_raw)
{
	static char big[100 * 1024];
	struct rec_log l = { 0 };
	struct step steps[1];
	bool fb = false;
	size_t hl;

	hl = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
	memset(big + hl, 'h', sizeof(big) - hl);
	steps[0] = (struct step){ 0, big, sizeof(big), STEP_DATA, 0 };
	cr_assert_eq(dec_run("http", &TCP, steps, 1, NULL, &l, NULL, &fb), 0);
	cr_assert(fb, "%s", l.text);
	cr_assert(strstr(l.text, "decoding the rest as raw"), "%s", l.text);
	cr_assert(strstr(l.text, "raw: "), "%s", l.text);
	rec_log_free(&l);
}
