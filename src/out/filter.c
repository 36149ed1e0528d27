/*
 * -F EXPR: a pcap-filter(7) expression, compiled by libpcap, judged on a
 * conversation's endpoints.  A conversation is selected when a packet
 * from A to B or from B to A would match, so "port 79", "host ::1" or
 * "udp" mean what a tcpdump user expects.  Non-IP conversations (Unix
 * sockets) are judged on their synthetic pcap addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/filter.h"

struct st_filter {
	struct bpf_program prog;
};

int st_filter_new(const char *expr, struct st_filter **out, char *err,
		  size_t errlen)
{
	struct st_filter *f = calloc(1, sizeof(*f));
	pcap_t *p;

	if (!f)
		return -ENOMEM;
	p = pcap_open_dead(DLT_RAW, 65535);
	if (!p) {
		free(f);
		return -ENOMEM;
	}
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "bad filter expression '%s': %s", expr,
			 pcap_geterr(p));
		pcap_close(p);
		free(f);
		return -EINVAL;
	}
	pcap_close(p);
	*out = f;
	return 0;
}

void st_filter_free(struct st_filter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}

/* Builds the headers of one packet src -> dst; returns its length. */
static size_t build(uint8_t *pkt, const struct st_endpoint *src,
		    const struct st_endpoint *dst, bool tcp)
{
	size_t l4 = tcp ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	size_t ip;
	uint8_t *p4;

	if (src->family == AF_INET) {
		struct iphdr h;

		memset(&h, 0, sizeof(h));
		h.version = 4;
		h.ihl = 5;
		h.ttl = 64;
		h.protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		h.tot_len = htons((uint16_t)(sizeof(h) + l4));
		h.saddr = src->v4.s_addr;
		h.daddr = dst->v4.s_addr;
		memcpy(pkt, &h, sizeof(h));
		ip = sizeof(h);
	} else {
		struct ip6_hdr h;

		memset(&h, 0, sizeof(h));
		h.ip6_vfc = 6 << 4;
		h.ip6_plen = htons((uint16_t)l4);
		h.ip6_nxt = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		h.ip6_hlim = 64;
		h.ip6_src = src->v6;
		h.ip6_dst = dst->v6;
		memcpy(pkt, &h, sizeof(h));
		ip = sizeof(h);
	}
	p4 = pkt + ip;
	if (tcp) {
		struct tcphdr t;

		memset(&t, 0, sizeof(t));
		t.source = htons(src->port);
		t.dest = htons(dst->port);
		t.doff = 5;
		t.ack = 1;
		memcpy(p4, &t, sizeof(t));
	} else {
		struct udphdr u;

		memset(&u, 0, sizeof(u));
		u.source = htons(src->port);
		u.dest = htons(dst->port);
		u.len = htons((uint16_t)sizeof(u));
		memcpy(p4, &u, sizeof(u));
	}
	return ip + l4;
}

static bool match(const struct st_filter *f, const struct st_endpoint *src,
		  const struct st_endpoint *dst, bool tcp)
{
	uint8_t pkt[128];
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	h.len = h.caplen = (bpf_u_int32)build(pkt, src, dst, tcp);
	return pcap_offline_filter(&f->prog, &h, pkt) != 0;
}

/* Both ends in one IP family: IPv4-mapped IPv6 counts as IPv4. */
static bool same_family(struct st_endpoint *a, struct st_endpoint *b)
{
	struct st_endpoint ua, ub;

	st_endpoint_unmap(&ua, a);
	st_endpoint_unmap(&ub, b);
	if (ua.family == AF_INET && ub.family == AF_INET) {
		*a = ua;
		*b = ub;
		return true;
	}
	return a->family == AF_INET6 && b->family == AF_INET6;
}

bool st_filter_match(const struct st_filter *f, const struct st_conv *c,
		     const struct st_endpoint *synth_a,
		     const struct st_endpoint *synth_b)
{
	struct st_endpoint a = c->a, b = c->b;
	bool tcp = st_proto_is_stream(c->proto);

	/* non-IP conversations, and IP ones with no endpoint known, are
	 * written to the pcap with their synthetic pair */
	if ((c->proto != ST_PROTO_TCP && c->proto != ST_PROTO_UDP) ||
	    (!st_endpoint_known(&a) && !st_endpoint_known(&b))) {
		if (!synth_a || !synth_b)
			return false;
		a = *synth_a;
		b = *synth_b;
	}
	/* an endpoint not known yet: judge on the one that is */
	if (!st_endpoint_known(&a) && st_endpoint_known(&b)) {
		a = b;
		a.port = 0;
		if (a.family == AF_INET)
			a.v4.s_addr = 0;
		else
			memset(&a.v6, 0, sizeof(a.v6));
	}
	if (!st_endpoint_known(&b) && st_endpoint_known(&a)) {
		b = a;
		b.port = 0;
		if (b.family == AF_INET)
			b.v4.s_addr = 0;
		else
			memset(&b.v6, 0, sizeof(b.v6));
	}
	if (!same_family(&a, &b))
		return false;
	return match(f, &a, &b, tcp) || match(f, &b, &a, tcp);
}
