/*
 * Hostile bytes through every printer: sockaddrs through the endpoint
 * formatter, buffers through the trace line, events through the hexdump
 * and JSON outputs.  Whatever the bytes, the text that comes out must hold
 * no control byte but the line ends the printer writes itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/printers.h"
#include "out/out_sinks.h"
#include "out/out_text.h"
#include "socktap/call.h"
#include "socktap/endpoint.h"

/* Control bytes other than '\n' are a printer's escape failure. */
static void check_clean(const char *buf, size_t len, const char *who)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f) {
			fprintf(stderr, "%s printed raw byte 0x%02x at %zu\n",
				who, c, i);
			abort();
		}
	}
}

static void fuzz_endpoint(const uint8_t *p, size_t n)
{
	struct st_endpoint ep;
	char buf[512];

	if (st_endpoint_from_sockaddr(&ep, p, n) != 0)
		return;
	st_endpoint_format(&ep, buf, sizeof(buf));
	check_clean(buf, strlen(buf), "endpoint");
	st_endpoint_format(&ep, buf, 7);	/* a tight buffer cuts safely */
	check_clean(buf, strlen(buf), "endpoint");
}

static void fuzz_trace_line(const uint8_t *p, size_t n)
{
	struct st_text_opts opts = { .string_limit = n & 1 ? 4096 : 16 };
	struct st_text_out o;
	struct st_call call;
	struct st_socket s;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return;
	memset(&call, 0, sizeof(call));
	memset(&s, 0, sizeof(s));
	st_socket_set_type(&s, AF_UNIX, SOCK_STREAM, 0);
	s.local.family = AF_UNIX;
	s.local.un.len = (uint8_t)(n < sizeof(s.local.un.path) ? n
				   : sizeof(s.local.un.path));
	memcpy(s.local.un.path, p, s.local.un.len);
	st_text_init(&o, f, &opts);
	call.name = "write";
	call.nargs = 3;
	call.args[0].kind = ST_ARG_FD;
	call.args[0].sock = &s;
	call.args[1].kind = ST_ARG_BUF;
	call.args[1].buf = p;
	call.args[1].len = n;
	call.args[1].total = n + 1;
	call.args[2].kind = ST_ARG_INT;
	call.args[2].num = (long long)n;
	call.ret = (long)n;
	st_text_on_call(&o, &call);
	fclose(f);
	check_clean(out, len, "trace line");
	free(out);
}

/* One conversation, the input cut into DATA events both ways. */
static void fuzz_sink(const uint8_t *p, size_t n, bool json)
{
	struct st_conv conv;
	struct st_sink sink;
	struct st_event ev;
	char *out = NULL;
	size_t len = 0, off = 0;
	FILE *f = open_memstream(&out, &len);
	int rc;

	if (!f)
		return;
	memset(&conv, 0, sizeof(conv));
	conv.id = 1;
	conv.proto = n & 2 ? ST_PROTO_UDP : ST_PROTO_UNIX_STREAM;
	conv.a.family = conv.b.family = AF_UNIX;
	conv.a.un.len = (uint8_t)(n < 40 ? n : 40);
	memcpy(conv.a.un.path, p, conv.a.un.len);
	memcpy(conv.comm, p, n < 15 ? n : 15);
	conv.selected = true;
	rc = json ? st_json_sink_new(f, &sink)
		  : st_hexdump_sink_new(f, false, &sink);
	if (rc < 0) {
		fclose(f);
		free(out);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.conv = &conv;
	ev.who.comm = conv.comm;
	ev.who.syscall = "write";
	ev.type = ST_EV_OPEN;
	sink.on_event(sink.priv, &ev);
	while (off < n) {
		size_t k = 1 + p[off] % 97;

		if (k > n - off)
			k = n - off;
		ev.type = ST_EV_DATA;
		ev.dir = (p[off] & 1) ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
		ev.data = p + off;
		ev.len = k;
		ev.flags = (p[off] & 4) ? ST_EVF_DGRAM : 0;
		conv.bytes[ev.dir] += k;
		sink.on_event(sink.priv, &ev);
		off += k;
	}
	ev.type = ST_EV_END;
	ev.data = NULL;
	ev.len = 0;
	sink.on_event(sink.priv, &ev);
	if (sink.finish)
		sink.finish(sink.priv);
	sink.destroy(sink.priv);
	fclose(f);
	check_clean(out, len, json ? "json" : "hexdump");
	free(out);
}

int st_fuzz_printers(const uint8_t *data, size_t n)
{
	if (n < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_endpoint(data + 1, n - 1);
		break;
	case 1:
		fuzz_trace_line(data + 1, n - 1);
		break;
	case 2:
		fuzz_sink(data + 1, n - 1, false);
		break;
	default:
		fuzz_sink(data + 1, n - 1, true);
		break;
	}
	return 0;
}
