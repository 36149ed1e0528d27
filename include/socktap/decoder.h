/*
 * Protocol decoders: turn a conversation's byte streams (or datagrams)
 * into structured records.  Decoders never print and never see the
 * model's functions; they receive bytes through a bounds-checked reader,
 * return a status, and emit records into an output object.  The session
 * layer (st_decsess_*) picks a decoder for a conversation, buffers each
 * direction's unconsumed bytes up to a hard cap and hands records to a
 * callback.  Renderers turn records into text or JSON.
 */
#ifndef SOCKTAP_DECODER_H
#define SOCKTAP_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktap/model.h"

/* ------------------------------------------------------------------ */
/* Statuses                                                            */

enum st_dec_status {
	ST_DEC_OK = 0,		/* progress; call again if bytes remain */
	ST_DEC_NEED_MORE,	/* the next message is not complete yet */
	ST_DEC_INVALID,		/* not this protocol (any more) */
};

/* A short read inside a block known to be complete is an error. */
static inline enum st_dec_status st_dec_complete(enum st_dec_status st)
{
	return st == ST_DEC_NEED_MORE ? ST_DEC_INVALID : st;
}

#define ST_DEC_WUR __attribute__((warn_unused_result))

/* ------------------------------------------------------------------ */
/*
 * The bounds-checked reader.  Every read returns a status and writes its
 * result only on ST_DEC_OK; running past the end yields ST_DEC_NEED_MORE
 * (or ST_DEC_INVALID for seeks) and leaves the reader unchanged.  The
 * functions are warn_unused_result, so with -Werror a read whose status
 * is ignored does not compile.  The fields are private: touch them only
 * through these functions (invariant: off <= len).
 */
struct st_rd {
	const uint8_t *priv_p;
	size_t priv_len;
	size_t priv_off;
};

static inline void st_rd_init(struct st_rd *r, const void *p, size_t n)
{
	/* never NULL: even an empty reader points at a real byte */
	r->priv_p = p ? (const uint8_t *)p : (const uint8_t *)"";
	r->priv_len = p ? n : 0;
	r->priv_off = 0;
}

/* Bytes not yet read. */
static inline size_t st_rd_left(const struct st_rd *r)
{
	return r->priv_len - r->priv_off;
}

/* Bytes read so far (the offset of the next byte). */
static inline size_t st_rd_pos(const struct st_rd *r)
{
	return r->priv_off;
}

/* Total bytes the reader covers. */
static inline size_t st_rd_size(const struct st_rd *r)
{
	return r->priv_len;
}

static inline ST_DEC_WUR enum st_dec_status
st_rd_skip(struct st_rd *r, size_t n)
{
	if (st_rd_left(r) < n)
		return ST_DEC_NEED_MORE;
	r->priv_off += n;
	return ST_DEC_OK;
}

/* Moves to an absolute offset (<= size). */
static inline ST_DEC_WUR enum st_dec_status
st_rd_seek(struct st_rd *r, size_t off)
{
	if (off > r->priv_len)
		return ST_DEC_INVALID;
	r->priv_off = off;
	return ST_DEC_OK;
}

/* Borrows the next n bytes without consuming them. */
static inline ST_DEC_WUR enum st_dec_status
st_rd_peek(const struct st_rd *r, size_t n, const uint8_t **p)
{
	if (st_rd_left(r) < n)
		return ST_DEC_NEED_MORE;
	*p = r->priv_p + r->priv_off;
	return ST_DEC_OK;
}

/* The byte at pos + at, without consuming anything. */
static inline ST_DEC_WUR enum st_dec_status
st_rd_peek_u8(const struct st_rd *r, size_t at, uint8_t *v)
{
	if (st_rd_left(r) <= at)
		return ST_DEC_NEED_MORE;
	*v = r->priv_p[r->priv_off + at];
	return ST_DEC_OK;
}

/* Borrows the next n bytes and consumes them. */
static inline ST_DEC_WUR enum st_dec_status
st_rd_view(struct st_rd *r, size_t n, const uint8_t **p)
{
	if (st_rd_left(r) < n)
		return ST_DEC_NEED_MORE;
	*p = r->priv_p + r->priv_off;
	r->priv_off += n;
	return ST_DEC_OK;
}

/* Copies the next n bytes into dst. */
static inline ST_DEC_WUR enum st_dec_status
st_rd_bytes(struct st_rd *r, void *dst, size_t n)
{
	const uint8_t *p;

	if (st_rd_view(r, n, &p) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	if (n)
		__builtin_memcpy(dst, p, n);
	return ST_DEC_OK;
}

static inline ST_DEC_WUR enum st_dec_status
st_rd_u8(struct st_rd *r, uint8_t *v)
{
	if (st_rd_left(r) < 1)
		return ST_DEC_NEED_MORE;
	*v = r->priv_p[r->priv_off++];
	return ST_DEC_OK;
}

static inline ST_DEC_WUR enum st_dec_status
st_rd_be16(struct st_rd *r, uint16_t *v)
{
	const uint8_t *p;

	if (st_rd_view(r, 2, &p) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return ST_DEC_OK;
}

static inline ST_DEC_WUR enum st_dec_status
st_rd_be24(struct st_rd *r, uint32_t *v)
{
	const uint8_t *p;

	if (st_rd_view(r, 3, &p) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	*v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	return ST_DEC_OK;
}

static inline ST_DEC_WUR enum st_dec_status
st_rd_be32(struct st_rd *r, uint32_t *v)
{
	const uint8_t *p;

	if (st_rd_view(r, 4, &p) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	     (uint32_t)p[2] << 8 | p[3];
	return ST_DEC_OK;
}

/*
 * A reader over the next n bytes; r moves past them.  Reads from sub
 * that run short are a malformed block: map them with st_dec_complete().
 */
static inline ST_DEC_WUR enum st_dec_status
st_rd_sub(struct st_rd *r, size_t n, struct st_rd *sub)
{
	const uint8_t *p;

	if (st_rd_view(r, n, &p) != ST_DEC_OK)
		return ST_DEC_NEED_MORE;
	st_rd_init(sub, p, n);
	return ST_DEC_OK;
}

/*
 * Finds the first "\r\n" at or after the current position, searching at
 * most max bytes; *off is its distance from the position.  NEED_MORE when
 * fewer than max bytes are there and none was found, INVALID when max
 * bytes hold none.  Consumes nothing.
 */
ST_DEC_WUR enum st_dec_status st_rd_find_crlf(const struct st_rd *r,
					      size_t max, size_t *off);

/*
 * Reads one line ended by "\n" (a preceding "\r" is stripped) of at most
 * max bytes including the terminator; *line borrows it, *len excludes the
 * terminator.  Same NEED_MORE / INVALID rules as st_rd_find_crlf.
 */
ST_DEC_WUR enum st_dec_status st_rd_line(struct st_rd *r, size_t max,
					 const uint8_t **line, size_t *len);

/* ------------------------------------------------------------------ */
/* Records                                                             */

/* Caps: a record never holds more than this. */
#define ST_DEC_SUMMARY_MAX	256	/* summary bytes, with the NUL */
#define ST_DEC_KEY_MAX		48	/* key bytes, with NUL */
#define ST_DEC_VALUE_MAX	256	/* field value bytes, with the NUL */
#define ST_DEC_MAX_FIELDS	32	/* fields per record */
#define ST_DEC_MAX_RECORDS	20000	/* records per conversation */
#define ST_DEC_BUF_MAX		(80 * 1024) /* unconsumed bytes per dir */
#define ST_DEC_PREVIEW		48	/* body preview bytes */

struct st_dec_field {
	const char *key;	/* printable ASCII */
	const char *value;	/* printable ASCII, control bytes escaped */
};

/*
 * One decoded item.  Every string is printable ASCII (0x20..0x7e):
 * control and non-ASCII bytes are escaped as \n \r \t \xNN.  Borrowed:
 * valid only during the on_record callback.
 */
struct st_dec_record {
	enum st_dir dir;
	const char *decoder;	/* "http", ... (static) */
	const char *kind;	/* "request", "response", "query", "answer",
				 * "command", "reply", "hello", "handshake",
				 * "alert", "data", "note" (static) */
	const char *summary;	/* one line, never NULL */
	const struct st_dec_field *fields;
	size_t nfields;
	uint64_t seq;		/* 0, 1, ... within the conversation */
	uint64_t offset;	/* stream offset in dir where the decoder
				 * stood when the record began (datagrams:
				 * the datagram's index) */
};

/*
 * Where decoders put records (opaque; owned by the session).  A record is
 * built with st_dec_begin, zero or more summary/field calls and
 * st_dec_emit; begin while a record is open emits the open one first.
 * Text given through the printf-style functions is sanitised; bytes given
 * to the _bytes functions are escaped (backslash too).  Over-long text is
 * cut and ends with "...".
 */
struct st_dec_out;

void st_dec_begin(struct st_dec_out *o, enum st_dir dir, const char *kind);
__attribute__((format(printf, 2, 3)))
void st_dec_summary(struct st_dec_out *o, const char *fmt, ...);
/* Appends to the summary. */
__attribute__((format(printf, 2, 3)))
void st_dec_summary_add(struct st_dec_out *o, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void st_dec_field(struct st_dec_out *o, const char *key, const char *fmt,
		  ...);
/* A field from key bytes and value bytes, both escaped; value cut at max
 * input bytes (0: as much as fits). */
void st_dec_field_bytes(struct st_dec_out *o, const char *key,
			const uint8_t *p, size_t n, size_t max);
/* Key and value both from bytes (escaped); trunc: the value was already
 * cut by the caller (it ends with "..."). */
void st_dec_field_raw_key(struct st_dec_out *o, const uint8_t *key,
			  size_t keylen, const uint8_t *val, size_t vallen,
			  bool trunc);
void st_dec_emit(struct st_dec_out *o);
/* begin + summary + emit of a "note". */
__attribute__((format(printf, 3, 4)))
void st_dec_note(struct st_dec_out *o, enum st_dir dir, const char *fmt, ...);
/* The conversation the records are about (for direction roles). */
const struct st_conv *st_dec_out_conv(const struct st_dec_out *o);

/*
 * Escapes n bytes into dst (always NUL-terminated when size > 0):
 * \n \r \t \\ and \xNN for other bytes outside 0x20..0x7e; with quote
 * set, '"' becomes \" too.  Never splits an escape.  Returns how many
 * input bytes were written out.
 */
size_t st_dec_escape(char *dst, size_t size, const void *p, size_t n,
		     bool quote);
/* Like st_dec_escape, but adds "..." when not everything fit or when
 * more than max input bytes were given (max 0: no limit). */
void st_dec_preview(char *dst, size_t size, const void *p, size_t n,
		    size_t max, bool quote);

/* ------------------------------------------------------------------ */
/* Decoders                                                            */

/* Transports a decoder understands, by st_proto bit. */
#define ST_DEC_T(proto)		(1u << (proto))
#define ST_DEC_TCP		ST_DEC_T(ST_PROTO_TCP)
#define ST_DEC_UDP		ST_DEC_T(ST_PROTO_UDP)
#define ST_DEC_UNIX_STREAM	ST_DEC_T(ST_PROTO_UNIX_STREAM)
#define ST_DEC_UNIX_DGRAM	ST_DEC_T(ST_PROTO_UNIX_DGRAM)
#define ST_DEC_UNIX_SEQPACKET	ST_DEC_T(ST_PROTO_UNIX_SEQPACKET)
#define ST_DEC_STREAMS		(ST_DEC_TCP | ST_DEC_UNIX_STREAM)
#define ST_DEC_ANY		(~0u)

/* st_dec_input.flags */
#define ST_DEC_F_DGRAM	0x1u	/* the bytes are one whole datagram */
#define ST_DEC_F_TRUNC	0x2u	/* datagram was longer: orig_len */
#define ST_DEC_F_EOF	0x4u	/* sender shut down: no more bytes in dir */
#define ST_DEC_F_GAP	0x8u	/* gap bytes were lost before these bytes */
/* hold nothing back: the other direction spoke, or a gap, the shutdown
 * or the end comes next (a decoder may wait for more bytes otherwise) */
#define ST_DEC_F_FLUSH	0x10u

struct st_dec_input {
	enum st_dir dir;
	unsigned flags;		/* ST_DEC_F_* */
	/*
	 * The unconsumed bytes of dir.  Whatever rd has consumed when feed
	 * returns is gone (for any status); copy rd to parse tentatively.
	 * Datagrams are consumed whole whatever rd says.
	 */
	struct st_rd rd;
	uint64_t offset;	/* stream offset of rd's first byte */
	uint64_t gap;		/* GAP: bytes lost */
	size_t orig_len;	/* TRUNC: the datagram's real length */
	const struct st_conv *conv;
};

/* Confidence levels for probe(). */
#define ST_PROBE_NO	0
#define ST_PROBE_WEAK	25	/* plausible: taken if nothing better */
#define ST_PROBE_SURE	80	/* conclusive: decided at once */

struct st_decoder {
	const char *name;
	const char *summary;
	unsigned transports;	/* ST_DEC_* bits */
	const uint16_t *ports;	/* well-known ports */
	size_t nports;
	/* optional: 0..100 on the first bytes of the first direction with
	 * data (p may be a prefix of a message) */
	int (*probe)(const uint8_t *p, size_t n, enum st_dir dir,
		     unsigned flags);
	size_t state_size;	/* zeroed before init */
	int (*init)(void *state);			/* optional */
	enum st_dec_status (*feed)(void *state, struct st_dec_input *in,
				   struct st_dec_out *out);
	/* optional: conversation ended (or the decoder is abandoned):
	 * emit what is pending */
	void (*end)(void *state, struct st_dec_out *out);
	void (*cleanup)(void *state);			/* optional */
};

/* The registry (decoders/registry.c), in table order; raw is last. */
size_t st_decoder_count(void);
const struct st_decoder *st_decoder_at(size_t i);
/* By name (case-insensitive); NULL if unknown. */
const struct st_decoder *st_decoder_find(const char *name);
/* "finger, http, ..." into buf; returns the length as snprintf does. */
int st_decoder_list(char *buf, size_t size);
/* The raw fallback. */
const struct st_decoder *st_decoder_raw(void);

/*
 * Which side of a conversation is the client: ST_DIR_A_TO_B when A is
 * (A connected), ST_DIR_B_TO_A when B is (A accepted), -1 if unknown.
 */
int st_dec_client_dir(const struct st_conv *c);

/* ------------------------------------------------------------------ */
/* Selection and sessions                                              */

struct st_decsel;
struct st_decsess;

/*
 * Parses a --decode spec: NULL, "" or "auto" (the default), "none",
 * or "PROTO[:PORT][,PROTO[:PORT]...]" ("auto" may appear in the list).
 * PROTO:PORT uses PROTO for conversations with either port equal to
 * PORT; PROTO alone uses it for every conversation whose transport it
 * understands (with several, the port and then the probes choose among
 * them).  Other conversations are decided as in auto: explicit ports,
 * well-known ports (the server's, or else the lower port, first), content
 * probes, raw.  Errors: -EINVAL with a message in err; -ENOMEM.
 */
int st_decsel_new(const char *spec, char *err, size_t errlen,
		  struct st_decsel **out);
void st_decsel_free(struct st_decsel *sel);
/* false for "none": no session is ever created. */
bool st_decsel_enabled(const struct st_decsel *sel);

typedef void (*st_dec_record_fn)(void *arg, const struct st_conv *conv,
				 const struct st_dec_record *r);

/*
 * A decoding session for conv (borrowed; must outlive the session).
 * Records go to on_record as they are made.  With a "none" selection,
 * returns 0 and sets *out to NULL; the other st_decsess functions accept
 * NULL.  Returns 0, -EINVAL or -ENOMEM.
 */
int st_decsess_new(const struct st_decsel *sel, const struct st_conv *conv,
		   st_dec_record_fn on_record, void *arg,
		   struct st_decsess **out);
/*
 * Feeds one model event of the conversation: DATA, GAP, FIN, END (OPEN
 * and RESET are ignored).  After END the session only counts.  Returns 0
 * or -ENOMEM (the session then decodes raw from there on).
 */
int st_decsess_feed(struct st_decsess *s, const struct st_event *ev);
void st_decsess_free(struct st_decsess *s);
/* The chosen decoder's name (static), "undecided" before data, or
 * "none" for a NULL session. */
const char *st_decsess_name(const struct st_decsess *s);
/* true once the chosen decoder gave up and raw took over. */
bool st_decsess_fell_back(const struct st_decsess *s);
uint64_t st_decsess_records(const struct st_decsess *s);

/* ------------------------------------------------------------------ */
/* Renderers                                                           */

/*
 * Text: a first line "  > http request: GET / HTTP/1.1" ('>' for A to B,
 * '<' for B to A), then one "        key: value" line per field; every
 * line ends with '\n'.  JSON: one object without a newline:
 * {"seq":0,"dir":"a>b","offset":0,"decoder":"http","kind":"request",
 *  "summary":"...","fields":[{"key":"Host","value":"..."},...]}.
 * Both return the length the whole text needs, as snprintf does; the
 * output is cut (and NUL-terminated) when size is smaller.
 */
int st_dec_record_format_text(const struct st_dec_record *r, char *buf,
			      size_t size);
int st_dec_record_format_json(const struct st_dec_record *r, char *buf,
			      size_t size);
/* A JSON string literal (quotes included) for any bytes: control bytes
 * and invalid UTF-8 as \u00XX.  Returns the needed length. */
int st_dec_json_string(char *buf, size_t size, const char *s, size_t n);

#endif
