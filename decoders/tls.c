/*
 * TLS (RFC 5246, 8446): the record layer, the hellos in the clear
 * (ClientHello: versions, SNI, ALPN, cipher suites, extensions;
 * ServerHello: the negotiated version, cipher suite and ALPN), the other
 * handshake messages that are still in the clear, and alerts.  What is
 * encrypted is only counted: one "data" record per direction for each
 * run of encrypted records (until the other side sends something).
 * Records are consumed as they arrive, so nothing large is buffered;
 * handshake messages are reassembled up to TLS_HS_KEEP bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socktap/decoder.h"

#define TLS_REC_MAX	(16384 + 2048)	/* TLSCiphertext limit */
#define TLS_HS_KEEP	(24 * 1024)	/* handshake msg bytes kept */

struct tls_dir {
	/* the record being read */
	bool in_rec;
	uint8_t rtype;
	uint16_t rver;
	size_t rleft;
	/* the handshake message being reassembled (allocated on demand,
	 * freed once this side is encrypted: sessions stay small) */
	uint8_t *hs;
	size_t hs_len;		/* bytes in hs */
	size_t hs_need;		/* 4 + its length, 0: none started */
	size_t hs_got;		/* bytes of it seen (beyond hs too) */
	bool encrypted;		/* this side's records are protected */
	/* a run of encrypted bytes not reported yet */
	uint64_t enc_bytes, enc_recs;
	uint64_t enc_offset;
	uint64_t lost;
	bool opaque;		/* framing lost in a gap: count only */
};

struct tls_state {
	struct tls_dir d[2];
	bool tls13;
	int client;		/* direction of the ClientHello, -1 */
};

static int tls_init(void *state)
{
	struct tls_state *st = state;

	st->client = -1;
	return 0;
}

static const char *version_name(uint16_t v)
{
	switch (v) {
	case 0x0300: return "SSL 3.0";
	case 0x0301: return "TLS 1.0";
	case 0x0302: return "TLS 1.1";
	case 0x0303: return "TLS 1.2";
	case 0x0304: return "TLS 1.3";
	default: return NULL;
	}
}

static bool grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static void version_str(char *buf, size_t size, uint16_t v)
{
	const char *n = version_name(v);

	if (n)
		snprintf(buf, size, "%s", n);
	else if (grease(v))
		snprintf(buf, size, "GREASE");
	else if ((v >> 8) == 0x7f)
		snprintf(buf, size, "TLS 1.3 draft %u", v & 0xff);
	else
		snprintf(buf, size, "0x%04x", v);
}

static const char *cipher_name(uint16_t c)
{
	switch (c) {
	case 0x1301: return "TLS_AES_128_GCM_SHA256";
	case 0x1302: return "TLS_AES_256_GCM_SHA384";
	case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
	case 0x1304: return "TLS_AES_128_CCM_SHA256";
	case 0x1305: return "TLS_AES_128_CCM_8_SHA256";
	case 0xc02b: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
	case 0xc02c: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
	case 0xc02f: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
	case 0xc030: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
	case 0xcca8: return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
	case 0xcca9: return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
	case 0xccaa: return "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
	case 0xc009: return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
	case 0xc00a: return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA";
	case 0xc013: return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA";
	case 0xc014: return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA";
	case 0xc023: return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
	case 0xc024: return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384";
	case 0xc027: return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
	case 0xc028: return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
	case 0x009c: return "TLS_RSA_WITH_AES_128_GCM_SHA256";
	case 0x009d: return "TLS_RSA_WITH_AES_256_GCM_SHA384";
	case 0x009e: return "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256";
	case 0x009f: return "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384";
	case 0x002f: return "TLS_RSA_WITH_AES_128_CBC_SHA";
	case 0x0035: return "TLS_RSA_WITH_AES_256_CBC_SHA";
	case 0x003c: return "TLS_RSA_WITH_AES_128_CBC_SHA256";
	case 0x003d: return "TLS_RSA_WITH_AES_256_CBC_SHA256";
	case 0x000a: return "TLS_RSA_WITH_3DES_EDE_CBC_SHA";
	case 0x00ff: return "TLS_EMPTY_RENEGOTIATION_INFO_SCSV";
	case 0x5600: return "TLS_FALLBACK_SCSV";
	default: return NULL;
	}
}

static const char *ext_name(uint16_t e)
{
	switch (e) {
	case 0: return "server_name";
	case 1: return "max_fragment_length";
	case 5: return "status_request";
	case 10: return "supported_groups";
	case 11: return "ec_point_formats";
	case 13: return "signature_algorithms";
	case 14: return "use_srtp";
	case 15: return "heartbeat";
	case 16: return "alpn";
	case 18: return "signed_certificate_timestamp";
	case 21: return "padding";
	case 22: return "encrypt_then_mac";
	case 23: return "extended_master_secret";
	case 27: return "compress_certificate";
	case 28: return "record_size_limit";
	case 35: return "session_ticket";
	case 41: return "pre_shared_key";
	case 42: return "early_data";
	case 43: return "supported_versions";
	case 44: return "cookie";
	case 45: return "psk_key_exchange_modes";
	case 47: return "certificate_authorities";
	case 49: return "post_handshake_auth";
	case 50: return "signature_algorithms_cert";
	case 51: return "key_share";
	case 17513: return "application_settings";
	case 0xfe0d: return "encrypted_client_hello";
	case 0xff01: return "renegotiation_info";
	default: return NULL;
	}
}

static const char *group_name(uint16_t g)
{
	switch (g) {
	case 23: return "secp256r1";
	case 24: return "secp384r1";
	case 25: return "secp521r1";
	case 29: return "x25519";
	case 30: return "x448";
	case 256: return "ffdhe2048";
	case 257: return "ffdhe3072";
	case 258: return "ffdhe4096";
	case 259: return "ffdhe6144";
	case 260: return "ffdhe8192";
	case 0x11ec: return "X25519MLKEM768";
	default: return NULL;
	}
}

static const char *hs_name(uint8_t t)
{
	switch (t) {
	case 0: return "HelloRequest";
	case 1: return "ClientHello";
	case 2: return "ServerHello";
	case 4: return "NewSessionTicket";
	case 5: return "EndOfEarlyData";
	case 8: return "EncryptedExtensions";
	case 11: return "Certificate";
	case 12: return "ServerKeyExchange";
	case 13: return "CertificateRequest";
	case 14: return "ServerHelloDone";
	case 15: return "CertificateVerify";
	case 16: return "ClientKeyExchange";
	case 20: return "Finished";
	case 22: return "CertificateStatus";
	case 24: return "KeyUpdate";
	default: return NULL;
	}
}

static const char *alert_name(uint8_t a)
{
	switch (a) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return NULL;
	}
}

/* SHA-256("HelloRetryRequest"), RFC 8446 4.1.3 */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* A comma-separated list built in a fixed buffer. */
struct list {
	char buf[240];
	size_t len;
	unsigned n;
};

__attribute__((format(printf, 2, 3)))
static void list_add(struct list *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	l->n++;
	if (l->len + 6 >= sizeof(l->buf))
		return;
	if (l->len) {
		memcpy(l->buf + l->len, ", ", 2);
		l->len += 2;
	}
	va_start(ap, fmt);
	k = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len - 4, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	l->len += (size_t)k;
	if (l->len >= sizeof(l->buf) - 4) {
		l->len = sizeof(l->buf) - 5;
		memcpy(l->buf + l->len, "...", 4);
		l->len += 3;
	}
	l->buf[l->len] = '\0';
}

/* The ALPN protocol list (RFC 7301) into l. */
static enum st_dec_status alpn_list(struct st_rd *e, struct list *l)
{
	struct st_rd names;
	uint16_t len;
	uint8_t n;
	const uint8_t *p;
	char esc[80];

	if (st_rd_be16(e, &len) != ST_DEC_OK ||
	    st_rd_sub(e, len, &names) != ST_DEC_OK)
		return ST_DEC_INVALID;
	while (st_rd_left(&names)) {
		if (st_rd_u8(&names, &n) != ST_DEC_OK ||
		    st_rd_view(&names, n, &p) != ST_DEC_OK)
			return ST_DEC_INVALID;
		st_dec_preview(esc, sizeof(esc), p, n, 32, false);
		list_add(l, "%s", esc);
	}
	return ST_DEC_OK;
}

static enum st_dec_status client_hello(struct st_rd *r, enum st_dir dir,
				       struct st_dec_out *out)
{
	uint16_t ver, clen, elen, etype, x;
	uint8_t sid, comp, u8;
	const uint8_t *p;
	struct st_rd ciphers, exts, e, sub;
	struct list sv = { 0 }, alpn = { 0 }, extl = { 0 }, cl = { 0 };
	struct list groups = { 0 }, ks = { 0 };
	char sni[300] = "", vs[32], mv[32];
	size_t ncipher = 0;
	uint16_t maxv = 0;

	if (st_rd_be16(r, &ver) != ST_DEC_OK ||
	    st_rd_skip(r, 32) != ST_DEC_OK ||
	    st_rd_u8(r, &sid) != ST_DEC_OK || sid > 32 ||
	    st_rd_skip(r, sid) != ST_DEC_OK ||
	    st_rd_be16(r, &clen) != ST_DEC_OK || (clen & 1) ||
	    st_rd_sub(r, clen, &ciphers) != ST_DEC_OK ||
	    st_rd_u8(r, &comp) != ST_DEC_OK || st_rd_skip(r, comp) != ST_DEC_OK)
		return ST_DEC_INVALID;
	while (st_rd_be16(&ciphers, &x) == ST_DEC_OK) {
		const char *cn = cipher_name(x);

		ncipher++;
		if (grease(x))
			continue;
		if (cn)
			list_add(&cl, "%s", cn);
		else
			list_add(&cl, "0x%04x", x);
	}
	if (st_rd_left(r)) {
		if (st_rd_be16(r, &elen) != ST_DEC_OK ||
		    st_rd_sub(r, elen, &exts) != ST_DEC_OK)
			return ST_DEC_INVALID;
		while (st_rd_left(&exts)) {
			const char *en;

			if (st_rd_be16(&exts, &etype) != ST_DEC_OK ||
			    st_rd_be16(&exts, &x) != ST_DEC_OK ||
			    st_rd_sub(&exts, x, &e) != ST_DEC_OK)
				return ST_DEC_INVALID;
			en = ext_name(etype);
			if (grease(etype))
				list_add(&extl, "GREASE");
			else if (en)
				list_add(&extl, "%s", en);
			else
				list_add(&extl, "%u", etype);
			switch (etype) {
			case 0:	/* server_name: list of (type, name) */
				if (st_rd_be16(&e, &x) != ST_DEC_OK ||
				    st_rd_sub(&e, x, &sub) != ST_DEC_OK)
					return ST_DEC_INVALID;
				while (st_rd_left(&sub)) {
					if (st_rd_u8(&sub, &u8) != ST_DEC_OK ||
					    st_rd_be16(&sub, &x) != ST_DEC_OK ||
					    st_rd_view(&sub, x, &p) != ST_DEC_OK)
						return ST_DEC_INVALID;
					if (u8 == 0 && !sni[0])
						st_dec_preview(sni, sizeof(sni),
							       p, x, 253,
							       false);
				}
				break;
			case 16:
				if (alpn_list(&e, &alpn) != ST_DEC_OK)
					return ST_DEC_INVALID;
				break;
			case 43:
				if (st_rd_u8(&e, &u8) != ST_DEC_OK ||
				    (u8 & 1) ||
				    st_rd_sub(&e, u8, &sub) != ST_DEC_OK)
					return ST_DEC_INVALID;
				while (st_rd_be16(&sub, &x) == ST_DEC_OK) {
					if (grease(x))
						continue;
					if (version_name(x) && x > maxv)
						maxv = x;
					version_str(vs, sizeof(vs), x);
					list_add(&sv, "%s", vs);
				}
				break;
			case 10:
				if (st_rd_be16(&e, &x) != ST_DEC_OK ||
				    st_rd_sub(&e, x, &sub) != ST_DEC_OK)
					return ST_DEC_INVALID;
				while (st_rd_be16(&sub, &x) == ST_DEC_OK) {
					const char *gn = group_name(x);

					if (grease(x))
						continue;
					if (gn)
						list_add(&groups, "%s", gn);
					else
						list_add(&groups, "0x%04x", x);
				}
				break;
			case 51:
				if (st_rd_be16(&e, &x) != ST_DEC_OK ||
				    st_rd_sub(&e, x, &sub) != ST_DEC_OK)
					return ST_DEC_INVALID;
				while (st_rd_left(&sub)) {
					uint16_t g, kl;
					const char *gn;

					if (st_rd_be16(&sub, &g) != ST_DEC_OK ||
					    st_rd_be16(&sub, &kl) != ST_DEC_OK ||
					    st_rd_skip(&sub, kl) != ST_DEC_OK)
						return ST_DEC_INVALID;
					if (grease(g))
						continue;
					gn = group_name(g);
					if (gn)
						list_add(&ks, "%s", gn);
					else
						list_add(&ks, "0x%04x", g);
				}
				break;
			}
		}
	}
	st_dec_begin(out, dir, "hello");
	version_str(vs, sizeof(vs), ver);
	version_str(mv, sizeof(mv), maxv);
	/* the best version offered: supported_versions, else the field */
	st_dec_summary(out, "ClientHello %s", maxv ? mv : vs);
	if (sni[0])
		st_dec_summary_add(out, ", SNI %s", sni);
	if (alpn.n)
		st_dec_summary_add(out, ", ALPN %s", alpn.buf);
	st_dec_field(out, "version", "%s", vs);
	if (sv.n)
		st_dec_field(out, "supported_versions", "%s", sv.buf);
	if (sni[0])
		st_dec_field(out, "sni", "%s", sni);
	if (alpn.n)
		st_dec_field(out, "alpn", "%s", alpn.buf);
	st_dec_field(out, "ciphers", "%zu: %s", ncipher, cl.buf);
	if (groups.n)
		st_dec_field(out, "groups", "%s", groups.buf);
	if (ks.n)
		st_dec_field(out, "key_share", "%s", ks.buf);
	st_dec_field(out, "session_id", "%u bytes", sid);
	if (extl.n)
		st_dec_field(out, "extensions", "%u: %s", extl.n, extl.buf);
	st_dec_emit(out);
	return ST_DEC_OK;
}

static enum st_dec_status server_hello(struct tls_state *st,
				       struct st_rd *r, enum st_dir dir,
				       struct st_dec_out *out)
{
	uint16_t ver, cipher, elen, etype, x, sel = 0, group = 0;
	uint8_t sid, comp;
	const uint8_t *random;
	struct st_rd exts, e;
	struct list alpn = { 0 }, extl = { 0 };
	char vs[32], svs[32] = "";
	const char *cn;
	bool hrr;

	if (st_rd_be16(r, &ver) != ST_DEC_OK ||
	    st_rd_view(r, 32, &random) != ST_DEC_OK ||
	    st_rd_u8(r, &sid) != ST_DEC_OK || sid > 32 ||
	    st_rd_skip(r, sid) != ST_DEC_OK ||
	    st_rd_be16(r, &cipher) != ST_DEC_OK ||
	    st_rd_u8(r, &comp) != ST_DEC_OK)
		return ST_DEC_INVALID;
	hrr = !memcmp(random, hrr_random, 32);
	if (st_rd_left(r)) {
		if (st_rd_be16(r, &elen) != ST_DEC_OK ||
		    st_rd_sub(r, elen, &exts) != ST_DEC_OK)
			return ST_DEC_INVALID;
		while (st_rd_left(&exts)) {
			const char *en;

			if (st_rd_be16(&exts, &etype) != ST_DEC_OK ||
			    st_rd_be16(&exts, &x) != ST_DEC_OK ||
			    st_rd_sub(&exts, x, &e) != ST_DEC_OK)
				return ST_DEC_INVALID;
			en = ext_name(etype);
			if (en)
				list_add(&extl, "%s", en);
			else
				list_add(&extl, "%u", etype);
			if (etype == 43) {
				if (st_rd_be16(&e, &sel) != ST_DEC_OK)
					return ST_DEC_INVALID;
				version_str(svs, sizeof(svs), sel);
			} else if (etype == 16) {
				if (alpn_list(&e, &alpn) != ST_DEC_OK)
					return ST_DEC_INVALID;
			} else if (etype == 51) {
				/* HRR: just the group; SH: group + key */
				if (st_rd_be16(&e, &group) != ST_DEC_OK)
					return ST_DEC_INVALID;
			}
		}
	}
	version_str(vs, sizeof(vs), ver);
	cn = cipher_name(cipher);
	st_dec_begin(out, dir, "hello");
	st_dec_summary(out, "%s %s, 0x%04x%s%s", hrr ? "HelloRetryRequest" :
		       "ServerHello", svs[0] ? svs : vs, cipher,
		       cn ? " " : "", cn ? cn : "");
	if (alpn.n)
		st_dec_summary_add(out, ", ALPN %s", alpn.buf);
	st_dec_field(out, "version", "%s", vs);
	if (svs[0])
		st_dec_field(out, "selected_version", "%s", svs);
	st_dec_field(out, "cipher", "0x%04x%s%s", cipher, cn ? " " : "",
		     cn ? cn : "");
	if (comp)
		st_dec_field(out, "compression", "%u", comp);
	if (alpn.n)
		st_dec_field(out, "alpn", "%s", alpn.buf);
	if (group) {
		const char *gn = group_name(group);

		if (gn)
			st_dec_field(out, "key_share", "%s", gn);
		else
			st_dec_field(out, "key_share", "0x%04x", group);
	}
	st_dec_field(out, "session_id", "%u bytes", sid);
	if (extl.n)
		st_dec_field(out, "extensions", "%u: %s", extl.n, extl.buf);
	st_dec_emit(out);
	if (!hrr && sel == 0x0304) {
		/* everything after the ServerHello is protected */
		st->tls13 = true;
		st->d[dir].encrypted = true;
		st->d[!dir].encrypted = true;
	}
	return ST_DEC_OK;
}

/* A complete (or, beyond TLS_HS_KEEP, cut) handshake message. */
static enum st_dec_status handshake_msg(struct tls_state *st,
					struct tls_dir *d, enum st_dir dir,
					struct st_dec_out *out)
{
	struct st_rd r, body;
	uint8_t type;
	uint32_t len;
	const char *hn;
	bool cut = d->hs_got > d->hs_len;

	st_rd_init(&r, d->hs, d->hs_len);
	if (st_rd_u8(&r, &type) != ST_DEC_OK ||
	    st_rd_be24(&r, &len) != ST_DEC_OK)
		return ST_DEC_INVALID;
	st_rd_init(&body, d->hs + 4, d->hs_len - 4);
	if (type == 1 || type == 2) {
		if (cut) {
			st_dec_note(out, dir, "%s of %u bytes too large to "
				    "decode", type == 1 ? "ClientHello" :
				    "ServerHello", len);
			return ST_DEC_OK;
		}
		if (type == 1) {
			if (st->client < 0)
				st->client = dir;
			return client_hello(&body, dir, out);
		}
		return server_hello(st, &body, dir, out);
	}
	hn = hs_name(type);
	st_dec_begin(out, dir, "handshake");
	if (hn)
		st_dec_summary(out, "%s, %u bytes", hn, len);
	else
		st_dec_summary(out, "handshake type %u, %u bytes", type, len);
	if (type == 11 && !cut) {
		uint32_t total, cl;
		unsigned n = 0;

		/* TLS 1.2: certificate_list<0..2^24-1> of opaque<1..2^24-1> */
		if (st_rd_be24(&body, &total) == ST_DEC_OK) {
			while (st_rd_be24(&body, &cl) == ST_DEC_OK &&
			       st_rd_skip(&body, cl) == ST_DEC_OK)
				n++;
			st_dec_field(out, "certificates", "%u", n);
		}
	}
	st_dec_emit(out);
	return ST_DEC_OK;
}

static void flush_enc(struct tls_dir *d, enum st_dir dir,
		      struct st_dec_out *out)
{
	if (!d->enc_bytes && !d->enc_recs)
		return;
	st_dec_begin(out, dir, "data");
	st_dec_summary(out, "encrypted %llu bytes",
		       (unsigned long long)d->enc_bytes);
	if (d->enc_recs)
		st_dec_summary_add(out, " in %llu record%s",
				   (unsigned long long)d->enc_recs,
				   d->enc_recs == 1 ? "" : "s");
	if (d->lost)
		st_dec_field(out, "lost", "%llu bytes in gaps",
			     (unsigned long long)d->lost);
	st_dec_emit(out);
	d->enc_bytes = d->enc_recs = d->lost = 0;
}

static enum st_dec_status hs_bytes(struct tls_state *st, struct tls_dir *d,
				   enum st_dir dir, const uint8_t *p,
				   size_t n, struct st_dec_out *out)
{
	if (n && !d->hs) {
		d->hs = malloc(TLS_HS_KEEP);
		if (!d->hs)
			return ST_DEC_INVALID;	/* raw takes over */
	}
	while (n) {
		size_t k;

		if (!d->hs_need) {
			/* the 4-byte header decides the length */
			k = 4 - d->hs_len < n ? 4 - d->hs_len : n;
			memcpy(d->hs + d->hs_len, p, k);
			d->hs_len += k;
			d->hs_got += k;
			p += k, n -= k;
			if (d->hs_len < 4)
				return ST_DEC_OK;
			d->hs_need = 4 + ((size_t)d->hs[1] << 16 |
					  (size_t)d->hs[2] << 8 | d->hs[3]);
		}
		k = d->hs_need - d->hs_got < n ? d->hs_need - d->hs_got : n;
		if (d->hs_len < TLS_HS_KEEP) {
			size_t c = TLS_HS_KEEP - d->hs_len < k ?
				   TLS_HS_KEEP - d->hs_len : k;

			memcpy(d->hs + d->hs_len, p, c);
			d->hs_len += c;
		}
		d->hs_got += k;
		p += k, n -= k;
		if (d->hs_got == d->hs_need) {
			enum st_dec_status s = handshake_msg(st, d, dir, out);

			d->hs_len = d->hs_got = d->hs_need = 0;
			if (s != ST_DEC_OK)
				return s;
		}
	}
	return ST_DEC_OK;
}

/* Encrypted sides need no reassembly buffer any more. */
static void hs_release(struct tls_dir *d)
{
	if (d->encrypted && !d->hs_need && !d->hs_len && d->hs) {
		free(d->hs);
		d->hs = NULL;
		d->hs_len = d->hs_got = 0;
	}
}

static enum st_dec_status tls_feed(void *state, struct st_dec_input *in,
				   struct st_dec_out *out)
{
	struct tls_state *st = state;
	enum st_dir dir = in->dir;
	struct tls_dir *d = &st->d[dir], *o = &st->d[!dir];
	const uint8_t *p, *h;
	size_t n;
	enum st_dec_status s;

	/* a run of the other side's encrypted records ends here */
	if (st_rd_left(&in->rd) || (in->flags & ST_DEC_F_GAP))
		flush_enc(o, (enum st_dir)!dir, out);
	if (in->flags & ST_DEC_F_GAP) {
		if (d->in_rec && d->rtype == 23 && in->gap <= d->rleft) {
			d->rleft -= in->gap;
			d->enc_bytes += in->gap;
			d->lost += in->gap;
			return ST_DEC_OK;
		}
		if (!d->encrypted)
			return ST_DEC_INVALID;
		/* framing lost: from here on only count */
		d->opaque = true;
		d->enc_bytes += in->gap;
		d->lost += in->gap;
		return ST_DEC_OK;
	}
	if (d->opaque) {
		n = st_rd_left(&in->rd);
		d->enc_bytes += n;
		if (st_rd_skip(&in->rd, n) != ST_DEC_OK)
			return ST_DEC_INVALID;
		return ST_DEC_NEED_MORE;
	}
	for (;;) {
		if (!d->in_rec) {
			s = st_rd_peek(&in->rd, 5, &h);
			if (s != ST_DEC_OK)
				return s;
			if (h[0] < 20 || h[0] > 24 || h[1] != 3 || h[2] > 4)
				return ST_DEC_INVALID;
			d->rtype = h[0];
			d->rver = (uint16_t)(h[1] << 8 | h[2]);
			d->rleft = (size_t)h[3] << 8 | h[4];
			if (d->rleft > TLS_REC_MAX)
				return ST_DEC_INVALID;
			if (st_rd_skip(&in->rd, 5) != ST_DEC_OK)
				return ST_DEC_INVALID;
			d->in_rec = true;
			/* TLS 1.3's compatibility CCS is plaintext: not counted */
			if ((d->encrypted && !(d->rtype == 20 && st->tls13)) ||
			    d->rtype == 23) {
				if (!d->enc_bytes && !d->enc_recs)
					d->enc_offset = in->offset;
				d->enc_recs++;
			}
			if (!d->rleft && d->rtype != 23)
				d->in_rec = false;
			continue;
		}
		n = st_rd_left(&in->rd);
		if (n > d->rleft)
			n = d->rleft;
		if (!n && d->rleft)
			return ST_DEC_NEED_MORE;
		if (d->rtype == 23 || d->encrypted ||
		    (d->rtype == 20 && st->tls13)) {
			/* protected, or TLS 1.3's compatibility CCS */
			if (st_rd_skip(&in->rd, n) != ST_DEC_OK)
				return ST_DEC_INVALID;
			if (d->rtype == 20 && (!d->encrypted || st->tls13)) {
				d->rleft -= n;
				if (!d->rleft)
					d->in_rec = false;
				continue;
			}
			d->enc_bytes += n;
			d->rleft -= n;
			if (!d->rleft)
				d->in_rec = false;
			continue;
		}
		switch (d->rtype) {
		case 22:
			if (st_rd_view(&in->rd, n, &p) != ST_DEC_OK)
				return ST_DEC_INVALID;
			d->rleft -= n;
			s = hs_bytes(st, d, dir, p, n, out);
			if (s != ST_DEC_OK)
				return s;
			hs_release(d);
			hs_release(o);
			break;
		case 20:
			/* ChangeCipherSpec: what follows is protected */
			if (d->rleft != 1)
				return ST_DEC_INVALID;
			if (st_rd_skip(&in->rd, 1) != ST_DEC_OK)
				return ST_DEC_NEED_MORE;
			d->rleft = 0;
			d->encrypted = true;
			hs_release(d);
			break;
		case 21: {
			const char *an;

			/* an alert in the clear: level, description */
			if (d->rleft != 2)
				return ST_DEC_INVALID;
			if (st_rd_view(&in->rd, 2, &p) != ST_DEC_OK)
				return ST_DEC_NEED_MORE;
			d->rleft = 0;
			an = alert_name(p[1]);
			st_dec_begin(out, dir, "alert");
			st_dec_summary(out, "%s %s (%u)", p[0] == 2 ? "fatal" :
				       p[0] == 1 ? "warning" : "level?",
				       an ? an : "alert", p[1]);
			st_dec_emit(out);
			break;
		}
		default:	/* heartbeat in the clear: skip */
			if (st_rd_skip(&in->rd, n) != ST_DEC_OK)
				return ST_DEC_INVALID;
			d->rleft -= n;
		}
		if (!d->rleft)
			d->in_rec = false;
	}
}

static void tls_end(void *state, struct st_dec_out *out)
{
	struct tls_state *st = state;
	int i;

	for (i = 0; i < 2; i++) {
		struct tls_dir *d = &st->d[i];

		if (d->hs_need || d->hs_len)
			st_dec_note(out, (enum st_dir)i, "incomplete handshake "
				    "message: %zu of %zu bytes", d->hs_got,
				    d->hs_need);
		flush_enc(d, (enum st_dir)i, out);
	}
}

static int tls_probe(const uint8_t *p, size_t n, enum st_dir dir,
		     unsigned flags)
{
	if (!n || p[0] < 20 || p[0] > 24)
		return ST_PROBE_NO;
	if ((n >= 2 && p[1] != 3) || (n >= 3 && p[2] > 4))
		return ST_PROBE_NO;
	if (p[0] != 22)
		return n >= 5 ? ST_PROBE_WEAK : ST_PROBE_NO;
	if (n < 6)
		return 60;
	return p[5] == 1 || p[5] == 2 ? 95 : 40;
}

static void tls_cleanup(void *state)
{
	struct tls_state *st = state;

	free(st->d[0].hs);
	free(st->d[1].hs);
}

static const uint16_t tls_ports[] = { 443, 8443, 993, 995, 465, 636, 853 };

const struct st_decoder st_dec_tls = {
	.name = "tls",
	.summary = "TLS records: hellos in the clear, encrypted data counted",
	.transports = ST_DEC_STREAMS,
	.ports = tls_ports,
	.nports = sizeof(tls_ports) / sizeof(tls_ports[0]),
	.probe = tls_probe,
	.state_size = sizeof(struct tls_state),
	.init = tls_init,
	.feed = tls_feed,
	.end = tls_end,
	.cleanup = tls_cleanup,
};
