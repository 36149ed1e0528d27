/* The decoder fuzz harness: see harness.h. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "decoders/dec_util.h"

static uint32_t next_rand(uint32_t *s)
{
	/* xorshift32: deterministic chunk sizes from the config byte */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void send_ev(struct st_decsess *s, struct st_conv *conv,
		    enum st_ev_type type, int dir, const uint8_t *p, size_t n,
		    unsigned flags, size_t orig)
{
	struct st_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.conv = conv;
	ev.dir = dir ? ST_DIR_B_TO_A : ST_DIR_A_TO_B;
	ev.data = p;
	ev.len = n;
	ev.orig_len = orig;
	ev.flags = flags;
	ev.note = type == ST_EV_GAP ? "fuzz gap" : NULL;
	st_decsess_feed(s, &ev);
}

int st_fuzz_run(const char *spec, const uint8_t *data, size_t size,
		struct rec_log *log, const char **name, bool *fell_back)
{
	struct st_conv conv;
	struct st_decsel *sel = NULL;
	struct st_decsess *s = NULL;
	char err[256];
	uint8_t cfg;
	uint32_t seed;
	size_t off = 1;
	bool dgram;

	if (!size)
		return 0;
	cfg = data[0];
	dgram = cfg & 1;
	seed = 0x9e3779b9u ^ ((uint32_t)(cfg >> 2) * 0x01000193u);
	memset(&conv, 0, sizeof(conv));
	conv.id = 1;
	conv.proto = dgram ? ST_PROTO_UDP : ST_PROTO_TCP;
	conv.origin = cfg & 2 ? ST_ORIGIN_ACCEPT : ST_ORIGIN_CONNECT;
	conv.a.family = conv.b.family = AF_INET;
	/* ports that name no decoder: the spec or the probes choose */
	conv.a.port = 40000;
	conv.b.port = 40001;
	if (st_decsel_new(spec, err, sizeof(err), &sel) < 0)
		return -1;
	if (st_decsess_new(sel, &conv, rec_log_record, log, &s) < 0 || !s) {
		st_decsel_free(sel);
		return 0;
	}
	while (off < size) {
		uint8_t fl = data[off++];
		size_t len = 0, pos = 0;
		int dir = fl & 1;

		if (off + 2 <= size)
			len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (off > size)
			off = size;
		if (len > size - off)
			len = size - off;
		if (fl & 2) {
			send_ev(s, &conv, ST_EV_GAP, dir, NULL, len ? len : 1,
				0, 0);
		} else if (dgram) {
			/* bit 4: a part of a datagram, more to come */
			send_ev(s, &conv, ST_EV_DATA, dir, data + off, len,
				ST_EVF_DGRAM | (fl & 8 ? ST_EVF_TRUNC : 0) |
				(fl & 16 ? ST_EVF_PART : 0),
				fl & 8 ? len + 100 : len);
			off += len;
		} else {
			while (pos < len) {
				size_t k = 1 + next_rand(&seed) % (len - pos);

				/* mostly whole, sometimes tiny pieces */
				if ((cfg >> 2) == 0)
					k = len - pos;
				send_ev(s, &conv, ST_EV_DATA, dir,
					data + off + pos, k, 0, k);
				pos += k;
			}
			off += len;
		}
		if (fl & 4)
			send_ev(s, &conv, ST_EV_FIN, dir, NULL, 0, 0, 0);
	}
	send_ev(s, &conv, ST_EV_END, 0, NULL, 0, 0, 0);
	if (name)
		*name = st_decsess_name(s);
	if (fell_back)
		*fell_back = st_decsess_fell_back(s);
	st_decsess_free(s);
	st_decsel_free(sel);
	return log->bad ? -1 : 0;
}

int st_fuzz_one(const char *spec, const uint8_t *data, size_t size,
		char *why, size_t wlen)
{
	struct rec_log log;
	int r;

	memset(&log, 0, sizeof(log));
	r = st_fuzz_run(spec, data, size, &log, NULL, NULL);
	if (r < 0 && why && wlen)
		snprintf(why, wlen, "%s", log.why[0] ? log.why : "bad spec");
	rec_log_free(&log);
	return r;
}
