/*
 * Synthetic packets: an IPv4 or IPv6 header, then a TCP or UDP header,
 * then the payload, with every checksum computed so that validators
 * (tshark -o tcp.check_checksum:TRUE, ...) stay quiet.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "pcap/pcap_int.h"

#define IP4_HLEN 20u
#define IP6_HLEN 40u
#define TCP_HLEN 20u
#define TCP_SYNOPT 8u	/* MSS (4), NOP (1), window scale (3) */
#define UDP_HLEN 8u

/*
 * One's complement sum in native byte order: summing native 16-bit words
 * and folding the carries back gives the same 16-bit sum as summing
 * network-order words, byte-swapped (RFC 1071, 2.B), so the folded result
 * can be stored with memcpy as is.  The bulk goes 16 bytes a step in
 * vector lanes (GCC's generic vectors: SSE2 here, NEON elsewhere), which
 * with the copy folded in costs about what the copy alone did.  Every
 * chunk but the last must have an even length.  The result stays below
 * 2^33, so callers may add.
 */
typedef uint32_t u32x4 __attribute__((vector_size(16)));

/* The sum of len bytes at p, copied to dst on the way when dst is not
 * NULL: the payload is read once, for both.  Inlined into the two
 * callers, where dst is a constant or not. */
static inline __attribute__((always_inline)) uint64_t
csum_run(uint64_t sum, uint8_t *dst, const uint8_t *p, size_t len)
{
	const u32x4 low16 = { 0xffff, 0xffff, 0xffff, 0xffff };
	uint64_t acc = sum;

	/* 16 bytes a step, each 32-bit lane split into its two 16-bit
	 * words, so no carry is lost: 65536 steps fit in a lane. */
	while (len >= 16) {
		size_t steps = len / 16 > 65536 ? 65536 : len / 16;
		u32x4 lo = { 0 }, hi = { 0 };

		len -= steps * 16;
		for (; steps; steps--, p += 16) {
			u32x4 v;

			memcpy(&v, p, sizeof(v));
			if (dst) {
				memcpy(dst, &v, sizeof(v));
				dst += 16;
			}
			lo += v & low16;
			hi += v >> 16;
		}
		for (int i = 0; i < 4; i++)
			acc += (uint64_t)lo[i] + hi[i];
	}
	if (dst && len)
		memcpy(dst, p, len);
	for (; len >= 2; len -= 2, p += 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		acc += v;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t v;

		memcpy(&v, last, 2);
		acc += v;
	}
	return (acc & 0xffffffffu) + (acc >> 32);
}

uint64_t st_pcap_csum_add(uint64_t sum, const void *data, size_t len)
{
	return csum_run(sum, NULL, data, len);
}

uint64_t st_pcap_csum_copy(uint64_t sum, void *dst, const void *src,
			   size_t len)
{
	return csum_run(sum, dst, src, len);
}

uint16_t st_pcap_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

size_t st_pcap_l4_max(const struct st_pflow *f)
{
	size_t l4h = f->l4 == IPPROTO_TCP ? TCP_HLEN : UDP_HLEN;

	/* IPv4 counts its header in the 16-bit total, IPv6 does not */
	return f->ipver == 4 ? 65535u - IP4_HLEN - l4h : 65535u - l4h;
}

/* The pseudo-header sum of RFC 793 / RFC 8200 8.1. */
static uint64_t pseudo_sum(const struct st_pflow *f, int from, size_t l4len)
{
	uint8_t ph[40];
	size_t alen = f->ipver == 4 ? 4 : 16;

	memcpy(ph, f->addr[from], alen);
	memcpy(ph + alen, f->addr[!from], alen);
	if (f->ipver == 4) {
		ph[8] = 0;
		ph[9] = f->l4;
		put16(ph + 10, (uint16_t)l4len);
		return st_pcap_csum_add(0, ph, 12);
	}
	put32(ph + 32, (uint32_t)l4len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = f->l4;
	return st_pcap_csum_add(0, ph, 40);
}

static size_t build_ip(uint8_t *buf, const struct st_pflow *f, int from,
		       uint16_t ipid, size_t l4len)
{
	if (f->ipver == 4) {
		uint16_t sum;

		buf[0] = 0x45;
		buf[1] = 0;
		put16(buf + 2, (uint16_t)(IP4_HLEN + l4len));
		put16(buf + 4, ipid);
		put16(buf + 6, 0x4000);	/* DF: never fragmented */
		buf[8] = 64;
		buf[9] = f->l4;
		buf[10] = buf[11] = 0;
		memcpy(buf + 12, f->addr[from], 4);
		memcpy(buf + 16, f->addr[!from], 4);
		sum = st_pcap_csum_fold(st_pcap_csum_add(0, buf, IP4_HLEN));
		memcpy(buf + 10, &sum, 2);
		return IP4_HLEN;
	}
	put32(buf, 0x60000000u);
	put16(buf + 4, (uint16_t)l4len);
	buf[6] = f->l4;
	buf[7] = 64;
	memcpy(buf + 8, f->addr[from], 16);
	memcpy(buf + 24, f->addr[!from], 16);
	return IP6_HLEN;
}

size_t st_pcap_build(uint8_t *buf, const struct st_pflow *f, int from,
		     const struct st_ptcp *tcp, uint16_t ipid,
		     const uint8_t *payload, size_t len, size_t wire_len)
{
	size_t max = st_pcap_l4_max(f);
	size_t iph, l4h, l4len;
	uint8_t *l4;
	uint64_t sum;
	uint16_t csum;

	if (len > max)
		len = max;
	if (wire_len < len)
		wire_len = len;
	if (wire_len > max)
		wire_len = max;
	if (tcp) {
		l4h = TCP_HLEN + ((tcp->flags & ST_TH_SYN) ? TCP_SYNOPT : 0);
		wire_len = len;		/* TCP segments are never cut */
	} else {
		l4h = UDP_HLEN;
	}
	l4len = l4h + wire_len;
	iph = build_ip(buf, f, from, ipid, l4len);
	l4 = buf + iph;
	put16(l4, f->port[from]);
	put16(l4 + 2, f->port[!from]);
	if (tcp) {
		put32(l4 + 4, tcp->seq);
		put32(l4 + 8, tcp->ack);
		l4[12] = (uint8_t)((l4h / 4) << 4);
		l4[13] = tcp->flags;
		put16(l4 + 14, tcp->win);
		l4[16] = l4[17] = 0;
		put16(l4 + 18, (tcp->flags & ST_TH_URG) ? tcp->urp : 0);
		if (tcp->flags & ST_TH_SYN) {
			l4[20] = 2;		/* MSS */
			l4[21] = 4;
			put16(l4 + 22, tcp->mss);
			l4[24] = 1;		/* NOP */
			l4[25] = 3;		/* window scale */
			l4[26] = 3;
			l4[27] = tcp->wscale;
		}
	} else {
		put16(l4 + 4, (uint16_t)l4len);
		l4[6] = l4[7] = 0;
	}
	/* the headers' length is even, as a chunk before the last must be */
	sum = st_pcap_csum_add(pseudo_sum(f, from, l4len), l4, l4h);
	sum = st_pcap_csum_copy(sum, l4 + l4h, payload, len);
	if (!tcp && wire_len > len) {
		/* A cut datagram: the checksum covers bytes we do not have.
		 * IPv4 may say "none" (0); IPv6 may not, so it keeps a
		 * value that no reader can verify on a cut packet. */
		if (f->ipver == 4)
			return iph + l4h + len;
	}
	csum = st_pcap_csum_fold(sum);
	if (!tcp && csum == 0)
		csum = 0xffff;		/* 0 means "no checksum" in UDP */
	memcpy(l4 + (tcp ? 16 : 6), &csum, 2);
	return iph + l4h + len;
}
