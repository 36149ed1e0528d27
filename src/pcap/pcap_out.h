/*
 * The pcap output: every selected conversation becomes packets that
 * Wireshark, tshark and tcpdump treat as the real thing (see
 * docs pcap.md).  Classic pcap is written with libpcap; pcapng (for the
 * per-packet comments that carry pid, comm, fd and syscall) by a small
 * writer of our own, since libpcap 1.10 cannot write it.
 *
 * Addresses.  TCP and UDP conversations keep their real endpoints
 * (::ffff:a.b.c.d is written as IPv4 a.b.c.d; an endpoint that is not
 * known is written as 0.0.0.0 / :: port 0).  Every other conversation
 * (Unix stream, dgram and seqpacket sockets, anything without IP) is
 * mapped to a synthetic IPv4 pair in 198.18.0.0/15, the range RFC 2544
 * reserves for benchmarking, which never appears on a real network:
 *
 *	id = conv->id, L = id & 0xff, H = (id >> 8) & 0xff,
 *	P = 49152 + ((id >> 16) & 0x3fff)
 *	side A = 198.18.H.L port P, side B = 198.19.H.L port P
 *
 * so 198.18.x.x is always the traced side and the last two bytes of the
 * address give the conversation id (id 258 is 198.18.1.2 <-> 198.19.1.2).
 * Stream kinds are written as TCP, datagram kinds as UDP; a seqpacket
 * record becomes one TCP segment (PSH set) per write.
 */
#ifndef SOCKTAP_PCAP_OUT_H
#define SOCKTAP_PCAP_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out/outfile.h"
#include "socktap/model.h"

struct st_pcap_opts {
	const char *path;	/* "-" = stdout */
	bool pcapng;		/* else by ".pcapng" suffix */
	bool live;		/* flush per event (its packets at once);
				 * true for "-"; else a 1 MiB buffer */
	/* optional: a one-line reason when st_pcap_sink_new fails */
	char *errbuf;
	size_t errbuf_size;
	/* optional: which file was opened, and whether it was made (left
	 * as it is for standard output) */
	struct st_outfile_id *opened;
};

/*
 * Creates the output; fills *sink, whose priv it owns.  Returns 0 or
 * -errno.  A file is created mode 0600 (truncated when it exists) and a
 * symbolic link at path is never followed: that fails with -ELOOP.  A
 * regular file with more than one hard link is refused (-EMLINK) rather
 * than truncated.  On failure errbuf (when given) says why.
 */
int st_pcap_sink_new(const struct st_pcap_opts *opts, struct st_sink *sink);

/* The synthetic IPv4 pair of conversation conv (see above); a is side A. */
void st_pcap_synth_endpoints(const struct st_conv *conv,
			     struct st_endpoint *a, struct st_endpoint *b);

/* True when the pcap writes conv with its synthetic pair. */
bool st_pcap_conv_is_synthetic(const struct st_conv *conv);

/* The endpoints conv has in the pcap: its synthetic pair, or its own
 * (IPv4-mapped ones as IPv4) with an end never learned written as the
 * other end's family, address and port 0. */
void st_pcap_endpoints(const struct st_conv *conv, struct st_endpoint *a,
		       struct st_endpoint *b);

struct st_pcap_stats {
	uint64_t packets;	/* records written */
	uint64_t bytes;		/* captured bytes of those records */
	uint64_t payload;	/* TCP/UDP payload bytes written */
	uint64_t dgrams_cut;	/* datagrams cut to fit one IP packet */
	uint64_t gaps;		/* GAP events (bytes not captured) */
	uint64_t dropped;	/* DATA events after a reset, ignored */
};

/* Counters of a sink made by st_pcap_sink_new; -EINVAL for another. */
int st_pcap_sink_stats(const struct st_sink *sink,
		       struct st_pcap_stats *stats);

#endif
