/*
 * HTTP/1.x (RFC 9110, 9112): request and status lines, header fields,
 * bodies by Content-Length, chunked transfer coding or connection close.
 * One record per message, made when the message is complete: the start
 * line, the first header fields, the body's size and a short escaped
 * preview (never the whole body).  Responses are matched to requests in
 * order (keep-alive, pipelining), so HEAD, 1xx, 204 and 304 responses
 * are known to have no body; 101 and a successful CONNECT turn both
 * directions into an opaque tunnel that is only counted.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socktap/decoder.h"

#define HTTP_HEAD_MAX	(64 * 1024)	/* start line + fields */
#define HTTP_LINE_MAX	8192		/* chunk-size, trailers */
#define HTTP_KEEP_HDRS	24		/* fields kept per message */
#define HTTP_HBUF	4096		/* their bytes */
#define HTTP_VAL_KEEP	200		/* bytes kept of one value */
#define HTTP_START_KEEP	240		/* start line bytes kept */
#define HTTP_QUEUE	64		/* requests awaiting a response */

enum http_phase {
	P_HEAD = 0,	/* reading a start line and header fields */
	P_LENGTH,	/* body of known length */
	P_CHUNK_SIZE,
	P_CHUNK_DATA,
	P_CHUNK_END,	/* the CRLF after chunk data */
	P_TRAILER,
	P_CLOSE,	/* body until the connection closes */
	P_WAIT,		/* Upgrade/CONNECT sent: await answer */
	P_TUNNEL,	/* not HTTP any more: count */
};

struct http_hdr {
	uint16_t koff, klen, voff, vlen;
	bool cut;
};

struct http_dir {
	int role;		/* 0 unknown, 1 requests, 2 responses */
	enum http_phase phase;
	size_t scan;		/* head bytes known to hold no end */
	/* the message in progress (headers read, body pending) */
	bool active;
	bool chunked;
	uint8_t start[HTTP_START_KEEP];
	size_t start_len;
	bool start_cut;
	uint8_t hbuf[HTTP_HBUF];
	size_t hlen;
	struct http_hdr hdr[HTTP_KEEP_HDRS];
	size_t nhdr, nhdr_total;
	uint64_t remaining;	/* LENGTH, CHUNK_DATA */
	uint64_t length;	/* declared Content-Length */
	uint64_t body;		/* body bytes seen (decoded) */
	uint64_t chunks;
	uint64_t lost;		/* body bytes lost in gaps */
	uint8_t preview[ST_DEC_PREVIEW];
	size_t plen;
	char request[96];	/* responses: the request answered */
	uint64_t msg_offset;
	/* tunnel */
	uint64_t tunnel;
};

struct http_req {
	char method[16];
	char target[72];
};

struct http_state {
	struct http_dir d[2];
	struct http_req q[HTTP_QUEUE];
	size_t qhead, qlen;
	uint64_t qlost;		/* requests that did not fit the queue */
	char tunnel_why[48];
};

static bool tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_version(const uint8_t *p, size_t n)
{
	return n == 8 && !memcmp(p, "HTTP/", 5) && p[5] >= '0' &&
	       p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9';
}

static bool ieq(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && !strncasecmp((const char *)p, s, n);
}

/* Does the comma-separated list p[0..n) hold token tok? */
static bool has_token(const uint8_t *p, size_t n, const char *tok,
		      bool last_only)
{
	size_t i = 0, tl = strlen(tok);
	bool found = false;

	while (i < n) {
		size_t s, e;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		s = i;
		while (i < n && p[i] != ',')
			i++;
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e > s) {
			/* parameters (";q=1") do not count */
			const uint8_t *semi = memchr(p + s, ';', e - s);
			size_t te = semi ? (size_t)(semi - p) : e;

			while (te > s &&
			       (p[te - 1] == ' ' || p[te - 1] == '\t'))
				te--;
			found = te - s == tl &&
				!strncasecmp((const char *)p + s, tok, tl);
			if (found && !last_only)
				return true;
		}
	}
	return found;
}

static void trim(const uint8_t **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static bool parse_u64(const uint8_t *p, size_t n, int base, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!n || n > 16)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (base == 16 && p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (base == 16 && p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return false;
		x = x * (unsigned)base + d;
	}
	if (x > ((uint64_t)1 << 60))
		return false;
	*v = x;
	return true;
}

static void reset_msg(struct http_dir *d)
{
	d->active = false;
	d->chunked = false;
	d->start_len = 0;
	d->start_cut = false;
	d->hlen = 0;
	d->nhdr = d->nhdr_total = 0;
	d->remaining = d->length = d->body = d->chunks = d->lost = 0;
	d->plen = 0;
	d->request[0] = '\0';
}

static void keep_hdr(struct http_dir *d, const uint8_t *k, size_t kl,
		     const uint8_t *v, size_t vl)
{
	struct http_hdr *h;
	bool cut = false;

	d->nhdr_total++;
	if (d->nhdr >= HTTP_KEEP_HDRS)
		return;
	if (vl > HTTP_VAL_KEEP) {
		vl = HTTP_VAL_KEEP;
		cut = true;
	}
	if (kl > 64)
		kl = 64;
	if (d->hlen + kl + vl > HTTP_HBUF)
		return;
	h = &d->hdr[d->nhdr++];
	h->koff = (uint16_t)d->hlen;
	h->klen = (uint16_t)kl;
	memcpy(d->hbuf + d->hlen, k, kl);
	d->hlen += kl;
	h->voff = (uint16_t)d->hlen;
	h->vlen = (uint16_t)vl;
	h->cut = cut;
	memcpy(d->hbuf + d->hlen, v, vl);
	d->hlen += vl;
}

static void take_preview(struct http_dir *d, const uint8_t *p, size_t n)
{
	size_t k = sizeof(d->preview) - d->plen;

	if (k > n)
		k = n;
	memcpy(d->preview + d->plen, p, k);
	d->plen += k;
}

static void emit_msg(struct http_dir *d, enum st_dir dir,
		     struct st_dec_out *out, const char *incomplete)
{
	char start[HTTP_START_KEEP * 4 + 4];
	size_t i;

	st_dec_begin(out, dir, d->role == 2 ? "response" : "request");
	st_dec_preview(start, sizeof(start), d->start, d->start_len, 0, false);
	st_dec_summary(out, "%s%s", start, d->start_cut ? "..." : "");
	if (d->role == 2 && d->request[0])
		st_dec_field(out, "request", "%s", d->request);
	for (i = 0; i < d->nhdr; i++) {
		struct http_hdr *h = &d->hdr[i];

		st_dec_field_raw_key(out, d->hbuf + h->koff, h->klen,
				     d->hbuf + h->voff, h->vlen, h->cut);
	}
	if (d->nhdr_total > d->nhdr)
		st_dec_field(out, "more-headers", "%zu not shown",
			     d->nhdr_total - d->nhdr);
	if (d->body || d->chunked || d->phase == P_CLOSE || incomplete) {
		st_dec_field(out, "body", "%llu bytes%s%s",
			     (unsigned long long)d->body,
			     d->chunked ? ", chunked" : "",
			     d->phase == P_CLOSE ? ", until close" : "");
		if (d->chunked)
			st_dec_field(out, "chunks", "%llu",
				     (unsigned long long)d->chunks);
		if (d->plen)
			st_dec_field_bytes(out, "preview", d->preview, d->plen,
					   0);
		if (d->lost)
			st_dec_field(out, "lost", "%llu bytes in gaps",
				     (unsigned long long)d->lost);
	}
	if (incomplete)
		st_dec_field(out, "incomplete", "%s", incomplete);
	st_dec_emit(out);
	reset_msg(d);
}

static void tunnel_both(struct http_state *st, const char *why)
{
	int i;

	snprintf(st->tunnel_why, sizeof(st->tunnel_why), "%s", why);
	for (i = 0; i < 2; i++)
		if (st->d[i].phase == P_WAIT || st->d[i].phase == P_HEAD)
			st->d[i].phase = P_TUNNEL;
}

/* The head was parsed: decide how the body is delimited. */
static enum st_dec_status start_body(struct http_state *st, struct http_dir *d,
				     enum st_dir dir, struct st_dec_out *out,
				     const uint8_t *method, size_t mlen,
				     int status, bool chunked, bool te,
				     bool has_len, bool upgrade)
{
	d->active = true;
	d->chunked = chunked;
	if (d->role == 1) {
		struct http_req *rq;
		bool connect = ieq(method, mlen, "CONNECT");

		if (st->qlen < HTTP_QUEUE) {
			rq = &st->q[(st->qhead + st->qlen++) % HTTP_QUEUE];
			st_dec_preview(rq->method, sizeof(rq->method), method,
				       mlen, 0, false);
			st_dec_preview(rq->target, sizeof(rq->target),
				       d->start + mlen + 1,
				       d->start_len > mlen + 1 ?
				       d->start_len - mlen - 1 : 0, 0, false);
			/* keep only the target of "M target HTTP/x.y" */
			char *sp = strrchr(rq->target, ' ');

			if (sp && !strncmp(sp + 1, "HTTP/", 5))
				*sp = '\0';
		} else {
			st->qlost++;
		}
		if (te && !chunked)
			return ST_DEC_INVALID;	/* RFC 9112 6.3: 400 */
		if (chunked)
			d->phase = P_CHUNK_SIZE;
		else if (has_len && d->length)
			d->phase = P_LENGTH, d->remaining = d->length;
		else
			d->phase = P_HEAD;
		if (d->phase == P_HEAD) {
			emit_msg(d, dir, out, NULL);
			if (connect || upgrade)
				d->phase = P_WAIT;
		}
		return ST_DEC_OK;
	}

	/* a response */
	const char *method_s = "";
	bool interim = status >= 100 && status < 200;
	struct http_dir *peer = &st->d[!dir];

	if (st->qlen) {
		struct http_req *rq = &st->q[st->qhead];

		size_t ml = strlen(rq->method), tl = strlen(rq->target);

		/* "METHOD target", both already escaped and bounded */
		if (ml + 1 + tl >= sizeof(d->request))
			tl = sizeof(d->request) - ml - 2;
		memcpy(d->request, rq->method, ml);
		d->request[ml] = ' ';
		memcpy(d->request + ml + 1, rq->target, tl);
		d->request[ml + 1 + tl] = '\0';
		method_s = rq->method;
		if (!interim || status == 101) {
			st->qhead = (st->qhead + 1) % HTTP_QUEUE;
			st->qlen--;
		}
	}
	if (status == 101) {
		emit_msg(d, dir, out, NULL);
		tunnel_both(st, "switched protocols");
		return ST_DEC_OK;
	}
	if (interim) {
		emit_msg(d, dir, out, NULL);
		d->phase = P_HEAD;
		return ST_DEC_OK;
	}
	if (!strcmp(method_s, "CONNECT") && status >= 200 && status < 300) {
		emit_msg(d, dir, out, NULL);
		tunnel_both(st, "CONNECT tunnel");
		return ST_DEC_OK;
	}
	/* a final answer to an Upgrade/CONNECT that was refused */
	if (peer->phase == P_WAIT)
		peer->phase = P_HEAD;
	if (!strcmp(method_s, "HEAD") || status == 204 || status == 304)
		d->phase = P_HEAD;
	else if (chunked)
		d->phase = P_CHUNK_SIZE;
	else if (te)
		d->phase = P_CLOSE;
	else if (has_len)
		d->phase = d->length ? P_LENGTH : P_HEAD;
	else
		d->phase = P_CLOSE;
	d->remaining = d->length;
	if (d->phase == P_HEAD)
		emit_msg(d, dir, out, NULL);
	return ST_DEC_OK;
}

/*
 * Reads a whole head (start line through the empty line) or says
 * NEED_MORE having remembered how far it looked.
 */
static enum st_dec_status parse_head(struct http_state *st,
				     struct http_dir *d,
				     struct st_dec_input *in,
				     struct st_dec_out *out)
{
	struct st_rd r = in->rd;
	const uint8_t *line, *m = NULL, *v;
	size_t len, mlen = 0, vlen, i;
	enum st_dec_status s;
	int status = 0;
	bool chunked = false, te = false, has_len = false, upgrade = false;
	bool first = true;

	/* find the empty line first, resuming where the last call left */
	if (st_rd_seek(&r, d->scan) != ST_DEC_OK)
		return ST_DEC_INVALID;
	for (;;) {
		size_t lim = HTTP_HEAD_MAX - st_rd_pos(&r);

		s = st_rd_line(&r, lim, &line, &len);
		if (s != ST_DEC_OK)
			return s;
		if (!len) {
			if (st_rd_pos(&r) <= 2 && d->scan == 0) {
				/* CRLFs before a start line are ignored */
				in->rd = r;
				return ST_DEC_OK;
			}
			break;
		}
		d->scan = st_rd_pos(&r);
	}
	d->scan = 0;

	/* now parse it for real */
	reset_msg(d);
	d->msg_offset = in->offset;
	r = in->rd;
	for (;;) {
		if (st_rd_line(&r, HTTP_HEAD_MAX, &line, &len) != ST_DEC_OK)
			return ST_DEC_INVALID;
		if (!len)
			break;
		if (first) {
			bool resp = len >= 5 && !memcmp(line, "HTTP/", 5);

			first = false;
			if (d->role == 0)
				d->role = resp ? 2 : 1;
			else if (d->role != (resp ? 2 : 1))
				return ST_DEC_INVALID;
			d->start_len = len < HTTP_START_KEEP ? len :
				       HTTP_START_KEEP;
			d->start_cut = len > HTTP_START_KEEP;
			memcpy(d->start, line, d->start_len);
			if (resp) {
				/* HTTP/x.y SP 3DIGIT [SP reason] */
				if (len < 12 || !is_version(line, 8) ||
				    line[8] != ' ' || (len > 12 &&
				    line[12] != ' '))
					return ST_DEC_INVALID;
				for (i = 9; i < 12; i++)
					if (line[i] < '0' || line[i] > '9')
						return ST_DEC_INVALID;
				status = (line[9] - '0') * 100 +
					 (line[10] - '0') * 10 + line[11] - '0';
				if (status < 100)
					return ST_DEC_INVALID;
			} else {
				const uint8_t *sp1 = memchr(line, ' ', len);
				size_t vi;

				if (!sp1 || sp1 == line)
					return ST_DEC_INVALID;
				m = line;
				mlen = (size_t)(sp1 - line);
				for (i = 0; i < mlen; i++)
					if (!tchar(line[i]))
						return ST_DEC_INVALID;
				if (len < mlen + 1 + 1 + 1 + 8)
					return ST_DEC_INVALID;
				vi = len - 8;
				if (line[vi - 1] != ' ' ||
				    !is_version(line + vi, 8) ||
				    vi - 1 <= mlen + 1 - 1)
					return ST_DEC_INVALID;
				for (i = mlen + 1; i < vi - 1; i++)
					if (line[i] <= 0x20 || line[i] == 0x7f)
						return ST_DEC_INVALID;
			}
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue;	/* obsolete line folding */
		const uint8_t *colon = memchr(line, ':', len);
		size_t klen;

		if (!colon || colon == line)
			return ST_DEC_INVALID;
		klen = (size_t)(colon - line);
		for (i = 0; i < klen; i++)
			if (!tchar(line[i]))
				return ST_DEC_INVALID;
		v = colon + 1;
		vlen = len - klen - 1;
		trim(&v, &vlen);
		keep_hdr(d, line, klen, v, vlen);
		if (ieq(line, klen, "Content-Length")) {
			uint64_t cl;

			if (!parse_u64(v, vlen, 10, &cl) ||
			    (has_len && cl != d->length))
				return ST_DEC_INVALID;
			has_len = true;
			d->length = cl;
		} else if (ieq(line, klen, "Transfer-Encoding")) {
			te = true;
			chunked = has_token(v, vlen, "chunked", true);
		} else if (ieq(line, klen, "Upgrade") && vlen) {
			upgrade = true;
		}
	}
	in->rd = r;
	if (first)
		return ST_DEC_INVALID;
	if (chunked)
		has_len = false;	/* chunked wins (RFC 9112 6.3) */
	return start_body(st, d, in->dir, out, m, mlen, status, chunked, te,
			  has_len, upgrade);
}

static enum st_dec_status body_bytes(struct http_dir *d, struct st_rd *r,
				     uint64_t max)
{
	size_t n = st_rd_left(r);
	const uint8_t *p;

	if (n > max)
		n = (size_t)max;
	if (st_rd_view(r, n, &p) != ST_DEC_OK)
		return ST_DEC_INVALID;
	take_preview(d, p, n);
	d->body += n;
	if (d->phase == P_LENGTH || d->phase == P_CHUNK_DATA)
		d->remaining -= n;
	return ST_DEC_OK;
}

static enum st_dec_status http_feed(void *state, struct st_dec_input *in,
				    struct st_dec_out *out)
{
	struct http_state *st = state;
	struct http_dir *d = &st->d[in->dir];
	const uint8_t *line;
	size_t len, n = st_rd_left(&in->rd);
	enum st_dec_status s;
	uint64_t sz;

	if (in->flags & ST_DEC_F_GAP) {
		d->scan = 0;
		switch (d->phase) {
		case P_LENGTH:
		case P_CHUNK_DATA:
			if (in->gap > d->remaining)
				return ST_DEC_INVALID;
			d->remaining -= in->gap;
			d->body += in->gap;
			d->lost += in->gap;
			return ST_DEC_OK;
		case P_CLOSE:
			d->body += in->gap;
			d->lost += in->gap;
			return ST_DEC_OK;
		case P_TUNNEL:
			d->tunnel += in->gap;
			return ST_DEC_OK;
		default:
			return ST_DEC_INVALID;
		}
	}
	switch (d->phase) {
	case P_HEAD:
		if (!n)
			return ST_DEC_NEED_MORE;
		return parse_head(st, d, in, out);
	case P_LENGTH:
		s = body_bytes(d, &in->rd, d->remaining);
		if (s == ST_DEC_OK && !d->remaining) {
			emit_msg(d, in->dir, out, NULL);
			d->phase = P_HEAD;
		}
		return n ? s : ST_DEC_NEED_MORE;
	case P_CHUNK_SIZE:
		s = st_rd_line(&in->rd, HTTP_LINE_MAX, &line, &len);
		if (s != ST_DEC_OK)
			return s;
		{
			const uint8_t *semi = memchr(line, ';', len);
			size_t hl = semi ? (size_t)(semi - line) : len;

			trim(&line, &hl);
			if (!parse_u64(line, hl, 16, &sz))
				return ST_DEC_INVALID;
		}
		if (sz) {
			d->chunks++;
			d->remaining = sz;
			d->phase = P_CHUNK_DATA;
		} else {
			d->phase = P_TRAILER;
		}
		return ST_DEC_OK;
	case P_CHUNK_DATA:
		s = body_bytes(d, &in->rd, d->remaining);
		if (s == ST_DEC_OK && !d->remaining)
			d->phase = P_CHUNK_END;
		return n ? s : ST_DEC_NEED_MORE;
	case P_CHUNK_END:
		s = st_rd_line(&in->rd, 3, &line, &len);
		if (s != ST_DEC_OK)
			return s;
		if (len)
			return ST_DEC_INVALID;
		d->phase = P_CHUNK_SIZE;
		return ST_DEC_OK;
	case P_TRAILER:
		s = st_rd_line(&in->rd, HTTP_LINE_MAX, &line, &len);
		if (s != ST_DEC_OK)
			return s;
		if (len) {
			if (!memchr(line, ':', len))
				return ST_DEC_INVALID;
			return ST_DEC_OK;
		}
		emit_msg(d, in->dir, out, NULL);
		d->phase = P_HEAD;
		return ST_DEC_OK;
	case P_CLOSE:
		s = body_bytes(d, &in->rd, n);
		if (in->flags & ST_DEC_F_EOF) {
			emit_msg(d, in->dir, out, NULL);
			d->phase = P_HEAD;
		}
		return n ? s : ST_DEC_NEED_MORE;
	case P_WAIT:
		return ST_DEC_NEED_MORE;
	case P_TUNNEL:
		d->tunnel += n;
		if (st_rd_skip(&in->rd, n) != ST_DEC_OK)
			return ST_DEC_INVALID;
		return ST_DEC_NEED_MORE;
	}
	return ST_DEC_INVALID;
}

static void http_end(void *state, struct st_dec_out *out)
{
	struct http_state *st = state;
	int i;

	for (i = 0; i < 2; i++) {
		struct http_dir *d = &st->d[i];
		char why[96];

		if (d->active && d->phase != P_HEAD && d->phase != P_TUNNEL &&
		    d->phase != P_WAIT) {
			if (d->phase == P_CLOSE)
				snprintf(why, sizeof(why), "connection did "
					 "not close");
			else if (d->phase == P_LENGTH)
				snprintf(why, sizeof(why), "body %llu of %llu "
					 "bytes", (unsigned long long)d->body,
					 (unsigned long long)d->length);
			else
				snprintf(why, sizeof(why), "chunked body "
					 "unfinished after %llu bytes",
					 (unsigned long long)d->body);
			emit_msg(d, (enum st_dir)i, out, why);
		}
	}
	for (i = 0; i < 2; i++) {
		if (!st->d[i].tunnel)
			continue;
		st_dec_begin(out, (enum st_dir)i, "data");
		st_dec_summary(out, "%s: %llu bytes not decoded",
			       st->tunnel_why[0] ? st->tunnel_why : "tunnel",
			       (unsigned long long)st->d[i].tunnel);
		st_dec_emit(out);
	}
	if (st->qlost)
		st_dec_note(out, ST_DIR_A_TO_B, "%llu pipelined requests not "
			    "matched to responses",
			    (unsigned long long)st->qlost);
}

static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
	"CONNECT", "TRACE", "PRI",
};

static int http_probe(const uint8_t *p, size_t n, enum st_dir dir,
		      unsigned flags)
{
	size_t i, lim = n < 512 ? n : 512;
	const uint8_t *nl = memchr(p, '\n', lim);
	size_t ll = nl ? (size_t)(nl - p) : lim;

	if (!n)
		return ST_PROBE_NO;
	if (n >= 5 && !memcmp(p, "HTTP/", 5))
		return n >= 12 && is_version(p, 8) ? 90 : 60;
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		const char *m = http_methods[i];
		size_t ml = strlen(m);

		if (n <= ml) {
			if (!memcmp(p, m, n))
				return 30;
			continue;
		}
		if (memcmp(p, m, ml) || p[ml] != ' ')
			continue;
		if (!nl)
			return 60;	/* request line unfinished */
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll >= ml + 1 + 1 + 1 + 8 && is_version(p + ll - 8, 8))
			return 90;
		return ST_PROBE_NO;
	}
	return ST_PROBE_NO;
}

static const uint16_t http_ports[] = { 80, 8000, 8080 };

const struct st_decoder st_dec_http = {
	.name = "http",
	.summary = "HTTP/1.x requests and responses",
	.transports = ST_DEC_STREAMS,
	.ports = http_ports,
	.nports = sizeof(http_ports) / sizeof(http_ports[0]),
	.probe = http_probe,
	.state_size = sizeof(struct http_state),
	.feed = http_feed,
	.end = http_end,
};
