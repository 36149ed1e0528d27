/* The summary printed at exit: one row per conversation. */
#include <inttypes.h>
#include <stdio.h>

#include "out/out_text.h"
#include "out/outputs.h"
#include "pcap/pcap_out.h"

static const char *end_name(const struct st_conv *c)
{
	switch (c->end) {
	case ST_END_FIN:
		if (c->fin[0] && c->fin[1])
			return "FIN both";
		return c->fin[0] ? "FIN by A" : "FIN by B";
	case ST_END_RESET:
		return "RESET";
	case ST_END_CLOSED:
		return "closed";
	default:
		return "open";
	}
}

int st_text_conv_endpoints(const struct st_conv *c, char *buf, size_t size)
{
	char a[160], b[160];

	st_endpoint_format(&c->a, a, sizeof(a));
	st_endpoint_format(&c->b, b, sizeof(b));
	return snprintf(buf, size, "%s %s %s", a,
			c->origin == ST_ORIGIN_ACCEPT ? "<-" : "->", b);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Which stand-in pcap pair is which conversation: the synthetic pair of
 * a non-IP one, the zero address of an end never learned (a datagram
 * received with no source, by recv or read on an unconnected socket). */
static void synthetic_pairs(FILE *f, const struct st_model *m)
{
	bool first = true;

	for (const struct st_conv *c = st_model_convs(m); c; c = c->next) {
		struct st_endpoint a, b;
		char sa[64], sb[64], eps[400];

		if (!c->selected || (st_endpoint_known(&c->a) &&
				     st_endpoint_known(&c->b) &&
				     (c->proto == ST_PROTO_TCP ||
				      c->proto == ST_PROTO_UDP)))
			continue;
		st_pcap_endpoints(c, &a, &b);
		if (first)
			fprintf(f, "socktap: in the pcap, these conversations "
				"have stand-in addresses:\n");
		first = false;
		st_endpoint_format(&a, sa, sizeof(sa));
		st_endpoint_format(&b, sb, sizeof(sb));
		st_text_conv_endpoints(c, eps, sizeof(eps));
		fprintf(f, "%4" PRIu64 " %s <-> %s  is  %s %s\n", c->id, sa, sb,
			st_proto_name(c->proto), eps);
	}
}

void st_text_summary(FILE *f, const struct st_model *m, bool pcap)
{
	const struct st_conv *c;
	uint64_t n = 0, all = st_model_conv_count(m);

	for (c = st_model_convs(m); c; c = c->next)
		n += c->selected;
	fprintf(f, "socktap: %" PRIu64 " conversation%s", n,
		n == 1 ? "" : "s");
	if (n < all)
		fprintf(f, " (%" PRIu64 " more not selected by the filter)",
			all - n);
	fputc('\n', f);
	if (!n)
		return;
	fprintf(f, "%4s %-14s %-50s %-16s %12s %12s %9s %-8s %s\n", "ID",
		"PROTO", "A (traced) -> B   (<- : B connected to A)",
		"PID/COMM", "A>B BYTES", "B>A BYTES", "SECONDS", "END",
		"DECODER");
	for (c = st_model_convs(m); c; c = c->next) {
		char eps[400], who[40];

		if (!c->selected)
			continue;
		st_text_conv_endpoints(c, eps, sizeof(eps));
		snprintf(who, sizeof(who), "%d/%s%s",
			 c->npids ? (int)c->pids[0] : 0, c->comm,
			 c->npids > 1 ? "+" : "");
		fprintf(f, "%4" PRIu64 " %-14s %-50s %-16s %12" PRIu64
			" %12" PRIu64 " %9.3f %-8s %s\n", c->id,
			st_proto_name(c->proto), eps, who, c->bytes[0],
			c->bytes[1], secs(&c->first, &c->last), end_name(c),
			c->decoder ? c->decoder : "-");
	}
	if (pcap)
		synthetic_pairs(f, m);
}
