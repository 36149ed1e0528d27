/* Inside the pcap output: the file writer and the packet builder. */
#ifndef SOCKTAP_PCAP_INT_H
#define SOCKTAP_PCAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "out/outfile.h"

#define ST_PCAP_SNAPLEN 262144u
/* The largest IP packet: the IPv4 and IPv6 length fields are 16 bits
 * (the IPv6 one counts the payload only, so 40 more bytes there). */
#define ST_PCAP_PKT_MAX (65535u + 40u)

/* ------------------------------------------------------------------ */
/* The file: classic pcap through libpcap, or pcapng of our own. */

struct st_pwriter;

/*
 * Opens path ("-": standard output, never a terminal) for writing.
 * live: a small buffer, the file header flushed at once; the caller
 * flushes after each event.  Regular files are
 * created 0600, never through a symbolic link.  Returns 0 or -errno and
 * then writes a reason to errbuf.
 */
int st_pwriter_open(struct st_pwriter **w, const char *path, bool pcapng,
		    bool live, struct st_outfile_id *opened, char *errbuf,
		    size_t errbuf_size);

/*
 * One record, in two steps.  st_pwriter_reserve gives where to build the
 * packet (room for ST_PCAP_PKT_MAX bytes): in the writer thread's ring
 * when the capture is a regular file, so the packet is never copied
 * again in user space.  st_pwriter_commit then adds the record's header:
 * caplen bytes from a packet of origlen; comment (pcapng only; printable
 * ASCII) may be NULL.  The time is clamped so that records stay in order.
 * Both return 0 or the first write error (negative errno), again on every
 * later call; nothing else is written between the two.
 */
int st_pwriter_reserve(struct st_pwriter *w, uint8_t **pkt);
int st_pwriter_commit(struct st_pwriter *w, const struct timespec *ts,
		      size_t caplen, size_t origlen, const char *comment);

/* The caller has a CPU to spare: up to piece bytes of what the writer
 * thread holds go to the file now (st_bgwriter_help).  The bytes. */
size_t st_pwriter_spare(struct st_pwriter *w, size_t piece);
/* Pushes buffered records out; 0 or the first error. */
int st_pwriter_flush(struct st_pwriter *w);
/* Flushes and closes the file (not the memory); 0 or the first error. */
int st_pwriter_close(struct st_pwriter *w);
/* Closes if needed and frees. */
void st_pwriter_free(struct st_pwriter *w);

/* ------------------------------------------------------------------ */
/* Packets: one IPv4 or IPv6 header, then TCP or UDP. */

struct st_pflow {
	uint8_t ipver;		/* 4 or 6 */
	uint8_t l4;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t addr[2][16];	/* side 0 (A) and side 1 (B); v4: 4 bytes */
	uint16_t port[2];
};

#define ST_TH_FIN 0x01
#define ST_TH_SYN 0x02
#define ST_TH_RST 0x04
#define ST_TH_PSH 0x08
#define ST_TH_ACK 0x10
#define ST_TH_URG 0x20

struct st_ptcp {
	uint32_t seq, ack;
	uint8_t flags;		/* ST_TH_* */
	uint16_t win;
	uint16_t urp;
	uint16_t mss;		/* SYN only: the MSS option, */
	uint8_t wscale;		/* and the window scale one */
};

/* Payload bytes that fit one packet of this flow. */
size_t st_pcap_l4_max(const struct st_pflow *f);

/*
 * Builds one packet from side `from` (0 or 1) into buf (at least
 * ST_PCAP_PKT_MAX bytes) with len payload bytes; tcp NULL means UDP.
 * For a truncated datagram, wire_len > len is the real payload length:
 * the headers then say wire_len and the UDP checksum (which cannot be
 * computed) is left out.  Returns the bytes built.
 */
size_t st_pcap_build(uint8_t *buf, const struct st_pflow *f, int from,
		     const struct st_ptcp *tcp, uint16_t ipid,
		     const uint8_t *payload, size_t len, size_t wire_len);

/* Internet checksum helpers (RFC 1071), exposed for the tests. */
uint64_t st_pcap_csum_add(uint64_t sum, const void *data, size_t len);
uint64_t st_pcap_csum_copy(uint64_t sum, void *dst, const void *src,
			   size_t len);
uint16_t st_pcap_csum_fold(uint64_t sum);

#endif
