/*
 * --json FILE: JSON Lines, one object per conversation event, written and
 * flushed as each event arrives (a reader can follow it live, e.g.
 * `socktap --json - -q -- prog | jq`).  Memory use does not depend on the
 * length of a stream: data is encoded through a small fixed buffer.
 *
 * Schema (every line is one object; keys appear in this order):
 *
 *   Every event:
 *     "type"     "open" | "data" | "gap" | "fin" | "reset" | "end"
 *     "conv"     conversation id (integer, 1, 2, ... in order of opening)
 *     "seq"      global event number (integer, increasing across convs)
 *     "ts"       when it happened: seconds since the epoch (CLOCK_REALTIME)
 *                as a number written with 9 decimals (a double keeps
 *                about 0.2 us of it)
 *     "pid", "tid"  integers; "comm" string (or null)
 *     "fd"       the descriptor the call used (integer, -1 when none)
 *     "syscall"  the call that produced the event (string or null;
 *                "(end of trace)" for ends made when tracing stopped)
 *   data, gap, fin, reset:
 *     "dir"      "a2b" | "b2a"  (side A is the first traced socket of the
 *                conversation; see "origin")
 *   open:
 *     "proto"    "TCP" | "UDP" | "UNIX-STREAM" | "UNIX-DGRAM" |
 *                "UNIX-SEQPACKET" | "NETLINK" | "RAW" | "OTHER"
 *     "origin"   "connect" (A connected to B) | "accept" (A accepted B) |
 *                "pair" (socketpair) | "midstream" (seen already
 *                connected) | "dgram" (unconnected datagrams)
 *     "a", "b"   endpoints, one of:
 *                {"family":"inet","addr":"127.0.0.1","port":80}
 *                {"family":"inet6","addr":"::1","port":80}
 *                {"family":"unix","path":"/run/x.sock"}  ("path":"" when
 *                  unnamed; "abstract":true for abstract names, path then
 *                  without the leading NUL; "path_hex" (exact bytes) is
 *                  added when the path is not valid UTF-8)
 *                {"family":"netlink","portid":N,"groups":N}
 *                {"family":"unknown"}
 *   data:
 *     "offset"   position of the first byte in this direction's stream
 *                (bytes of earlier gaps included)
 *     "len"      byte count
 *     "data_b64" the bytes, base64 (RFC 4648, padded); with ST_JSON_HEX
 *                "data_hex" (lower-case hex) instead
 *     "dgram":true  one whole datagram or record (with "part", its start)
 *     "oob":true    out-of-band data
 *     "trunc":true, "orig_len":N  the datagram was N bytes, len were read
 *     "part":true   more bytes of the same call follow in the next event
 *   gap (bytes that were transferred but could not be read):
 *     "offset", "len", "reason" (string)
 *   fin (the sender of "dir" shut its side down):
 *     "offset"   bytes that direction carried before the FIN
 *   end (last event of a conversation):
 *     "end"      "open" (still open when tracing stopped) | "fin" |
 *                "reset" | "closed" (datagram conversations)
 *     "bytes", "gap_bytes", "chunks"  {"a2b":N,"b2a":N}
 *     "first", "last"  times as "ts"
 *     "pids"     [pid, ...]  (at most 4, first ones seen)
 *     "decoder"  the chosen decoder's name, or null
 *
 * Strings: '"', '\' and control bytes are escaped (\n, \r, \t, others
 * \u00XX); valid UTF-8 is kept as is; a byte that is not part of valid
 * UTF-8 (comm and paths may hold any byte) is written as \u00XX, i.e. read
 * as Latin-1, so such text is not an exact copy (see "path_hex").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out/out_sinks.h"

struct json {
	FILE *f;		/* borrowed */
	unsigned flags;		/* ST_JSON_* */
	bool failed;
};

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	/* overlong forms, surrogates and > U+10FFFF are invalid */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

bool st_json_escape(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;
	bool lossy = false;

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len;

		if (c >= 0x80) {
			len = utf8_len(p + i, n - i);
			if (len) {
				fwrite(p + i, 1, len, f);
				i += len;
			} else {
				fprintf(f, "\\u%04x", c);
				lossy = true;
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
	return lossy;
}

static void put_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	st_json_escape(f, s, strlen(s));
	fputc('"', f);
}

static void put_ts(FILE *f, const char *key, const struct timespec *ts)
{
	fprintf(f, ",\"%s\":%lld.%09ld", key, (long long)ts->tv_sec,
		(long)ts->tv_nsec);
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char buf[4096];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		buf[k++] = hex[p[i] >> 4];
		buf[k++] = hex[p[i] & 15];
		if (k == sizeof(buf)) {
			fwrite(buf, 1, k, f);
			k = 0;
		}
	}
	fwrite(buf, 1, k, f);
}

static void put_b64(FILE *f, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	char buf[4096];
	size_t k = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		buf[k++] = tab[v >> 18];
		buf[k++] = tab[(v >> 12) & 63];
		buf[k++] = tab[(v >> 6) & 63];
		buf[k++] = tab[v & 63];
		if (k == sizeof(buf)) {
			fwrite(buf, 1, k, f);
			k = 0;
		}
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		buf[k++] = tab[v >> 18];
		buf[k++] = tab[(v >> 12) & 63];
		buf[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		buf[k++] = '=';
	}
	fwrite(buf, 1, k, f);
}

static void put_endpoint(FILE *f, const char *key,
			 const struct st_endpoint *ep)
{
	char addr[64];

	fprintf(f, ",\"%s\":{", key);
	switch (ep->family) {
	case AF_INET:
	case AF_INET6:
		st_endpoint_format_addr(ep, addr, sizeof(addr));
		fprintf(f, "\"family\":\"%s\",\"addr\":\"%s\",\"port\":%u",
			ep->family == AF_INET ? "inet" : "inet6", addr,
			(unsigned)ep->port);
		break;
	case AF_UNIX: {
		size_t len = ep->un.len < sizeof(ep->un.path) ?
			     ep->un.len : sizeof(ep->un.path);

		fputs("\"family\":\"unix\",\"path\":\"", f);
		if (st_json_escape(f, ep->un.path, len)) {
			fputs("\",\"path_hex\":\"", f);
			put_hex(f, (const uint8_t *)ep->un.path, len);
		}
		fputc('"', f);
		if (ep->un.abstract)
			fputs(",\"abstract\":true", f);
		break;
	}
	case AF_NETLINK:
		fprintf(f, "\"family\":\"netlink\",\"portid\":%" PRIu32
			",\"groups\":%" PRIu32, ep->nl.portid, ep->nl.groups);
		break;
	default:
		fputs("\"family\":\"unknown\"", f);
		break;
	}
	fputc('}', f);
}

static const char *type_name(enum st_ev_type t)
{
	switch (t) {
	case ST_EV_OPEN: return "open";
	case ST_EV_DATA: return "data";
	case ST_EV_GAP: return "gap";
	case ST_EV_FIN: return "fin";
	case ST_EV_RESET: return "reset";
	case ST_EV_END: return "end";
	}
	return "unknown";
}

static void put_pair(FILE *f, const char *key, const uint64_t v[2])
{
	fprintf(f, ",\"%s\":{\"a2b\":%" PRIu64 ",\"b2a\":%" PRIu64 "}", key,
		v[0], v[1]);
}

static void put_data(struct json *j, const struct st_event *ev)
{
	FILE *f = j->f;

	fprintf(f, ",\"offset\":%" PRIu64 ",\"len\":%zu", st_event_offset(ev),
		ev->len);
	if (j->flags & ST_JSON_HEX) {
		fputs(",\"data_hex\":\"", f);
		put_hex(f, ev->data, ev->data ? ev->len : 0);
	} else {
		fputs(",\"data_b64\":\"", f);
		put_b64(f, ev->data, ev->data ? ev->len : 0);
	}
	fputc('"', f);
	if (ev->flags & ST_EVF_DGRAM)
		fputs(",\"dgram\":true", f);
	if (ev->flags & ST_EVF_OOB)
		fputs(",\"oob\":true", f);
	if (ev->flags & ST_EVF_TRUNC)
		fprintf(f, ",\"trunc\":true,\"orig_len\":%zu", ev->orig_len);
	if (ev->flags & ST_EVF_PART)
		fputs(",\"part\":true", f);
}

static void put_end(FILE *f, const struct st_conv *c)
{
	fprintf(f, ",\"end\":\"%s\"", st_end_name(c->end));
	put_pair(f, "bytes", c->bytes);
	put_pair(f, "gap_bytes", c->gap_bytes);
	put_pair(f, "chunks", c->chunks);
	put_ts(f, "first", &c->first);
	put_ts(f, "last", &c->last);
	fputs(",\"pids\":[", f);
	for (unsigned i = 0; i < c->npids && i < ST_CONV_MAX_PIDS; i++)
		fprintf(f, "%s%d", i ? "," : "", (int)c->pids[i]);
	fputc(']', f);
	put_str(f, "decoder", c->decoder);
}

static int json_event(void *priv, const struct st_event *ev)
{
	struct json *j = priv;
	const struct st_conv *c = ev->conv;
	FILE *f = j->f;
	int err;

	if (j->failed)
		return 0;
	fprintf(f, "{\"type\":\"%s\",\"conv\":%" PRIu64 ",\"seq\":%" PRIu64,
		type_name(ev->type), c->id, ev->order);
	put_ts(f, "ts", &ev->who.ts);
	fprintf(f, ",\"pid\":%d,\"tid\":%d", (int)ev->who.pid,
		(int)ev->who.tid);
	put_str(f, "comm", ev->who.comm);
	fprintf(f, ",\"fd\":%d", ev->who.fd);
	put_str(f, "syscall", ev->who.syscall);
	if (ev->type != ST_EV_OPEN && ev->type != ST_EV_END)
		fprintf(f, ",\"dir\":\"%s\"",
			ev->dir == ST_DIR_A_TO_B ? "a2b" : "b2a");
	switch (ev->type) {
	case ST_EV_OPEN:
		fprintf(f, ",\"proto\":\"%s\",\"origin\":\"%s\"",
			st_proto_name(c->proto), st_origin_name(c->origin));
		put_endpoint(f, "a", &c->a);
		put_endpoint(f, "b", &c->b);
		break;
	case ST_EV_DATA:
		put_data(j, ev);
		break;
	case ST_EV_GAP:
		fprintf(f, ",\"offset\":%" PRIu64 ",\"len\":%zu",
			st_event_offset(ev), ev->len);
		put_str(f, "reason", ev->note ? ev->note : "unknown");
		break;
	case ST_EV_FIN:
		fprintf(f, ",\"offset\":%" PRIu64, st_event_offset(ev));
		break;
	case ST_EV_RESET:
		break;
	case ST_EV_END:
		put_end(f, c);
		break;
	}
	fputs("}\n", f);
	errno = 0;
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	err = errno ? errno : EIO;
	j->failed = true;
	return -err;
}

static int json_finish(void *priv)
{
	struct json *j = priv;
	int err;

	if (j->failed)
		return 0;
	errno = 0;
	if (fflush(j->f) == 0 && !ferror(j->f))
		return 0;
	err = errno ? errno : EIO;
	j->failed = true;
	return -err;
}

static void json_destroy(void *priv)
{
	free(priv);
}

int st_json_sink_new_flags(FILE *f, unsigned flags, struct st_sink *sink)
{
	struct json *j;

	if (!f || !sink)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->f = f;
	j->flags = flags;
	memset(sink, 0, sizeof(*sink));
	sink->name = "json";
	sink->priv = j;
	sink->on_event = json_event;
	sink->finish = json_finish;
	sink->destroy = json_destroy;
	return 0;
}

int st_json_sink_new(FILE *f, struct st_sink *sink)
{
	return st_json_sink_new_flags(f, 0, sink);
}
