/*
 * Decoded conversations: one decoding session per conversation, records
 * rendered into the text output (when the conversation ends, or as they
 * complete with --decode-live) and into the JSON stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/out_decode.h"
#include "out/out_text.h"

/* What one conversation may hold back until its end, rendered. */
#define PENDING_MAX (256u * 1024u)
#define BUCKETS 1024

struct dconv {
	uint64_t id;
	struct st_conv *conv;		/* borrowed; lives in the model */
	struct st_decsess *sess;
	char *pending;			/* rendered records, until END */
	size_t plen, pcap;
	uint64_t dropped;		/* records past PENDING_MAX */
	bool header_done;
	struct dconv *next;
};

struct decode_out {
	const struct st_decsel *sel;	/* borrowed */
	FILE *text;			/* NULL: no text rendering */
	FILE *json;			/* NULL: no JSON records */
	bool live;
	int error;
	struct dconv *tab[BUCKETS];
};

static struct dconv **slot(struct decode_out *d, uint64_t id)
{
	struct dconv **pp = &d->tab[id % BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void header(struct decode_out *d, struct dconv *dc, FILE *f)
{
	char eps[400];

	st_text_conv_endpoints(dc->conv, eps, sizeof(eps));
	fprintf(f, "socktap: conversation %" PRIu64 " %s %s, decoded as %s\n",
		dc->id, st_proto_name(dc->conv->proto), eps,
		st_decsess_name(dc->sess));
	dc->header_done = true;
}

static void on_record(void *arg, const struct st_conv *conv,
		      const struct st_dec_record *r)
{
	struct decode_out *d = arg;
	struct dconv *dc = *slot(d, conv->id);
	char buf[8192];
	int n;

	if (!dc)
		return;
	if (d->json) {
		n = st_dec_record_format_json(r, buf, sizeof(buf));
		if (n >= 0 && (size_t)n < sizeof(buf))
			fprintf(d->json, "{\"type\":\"decoded\",\"conv\":%" PRIu64
				",\"record\":%s}\n", conv->id, buf);
	}
	if (!d->text)
		return;
	n = st_dec_record_format_text(r, buf, sizeof(buf));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (d->live) {
		if (!dc->header_done)
			header(d, dc, d->text);
		fwrite(buf, 1, (size_t)n, d->text);
		return;
	}
	if (dc->plen + (size_t)n > PENDING_MAX) {
		dc->dropped++;
		return;
	}
	if (dc->plen + (size_t)n > dc->pcap) {
		/* grow as needed: most conversations render a few lines */
		size_t ncap = dc->pcap ? dc->pcap : 4096;
		char *np;

		while (ncap < dc->plen + (size_t)n)
			ncap *= 2;
		if (ncap > PENDING_MAX)
			ncap = PENDING_MAX;
		np = realloc(dc->pending, ncap);
		if (!np) {
			dc->dropped++;
			return;
		}
		dc->pending = np;
		dc->pcap = ncap;
	}
	memcpy(dc->pending + dc->plen, buf, (size_t)n);
	dc->plen += (size_t)n;
}

static void conv_done(struct decode_out *d, struct dconv *dc)
{
	const char *name = st_decsess_name(dc->sess);

	/* a conversation without data was never decided: leave it blank */
	if (strcmp(name, "undecided"))
		dc->conv->decoder = name;
	if (d->text && (dc->plen || dc->dropped)) {
		if (!dc->header_done)
			header(d, dc, d->text);
		fwrite(dc->pending, 1, dc->plen, d->text);
		if (dc->dropped)
			fprintf(d->text, "  (%" PRIu64 " more records not shown: "
				"over %u KiB)\n", dc->dropped,
				PENDING_MAX / 1024);
	}
	if (d->text && ferror(d->text) && !d->error)
		d->error = -EIO;
	*slot(d, dc->id) = dc->next;
	st_decsess_free(dc->sess);
	free(dc->pending);
	free(dc);
}

static int on_event(void *priv, const struct st_event *ev)
{
	struct decode_out *d = priv;
	struct dconv **pp = slot(d, ev->conv->id), *dc = *pp;

	if (ev->type == ST_EV_OPEN && !dc) {
		dc = calloc(1, sizeof(*dc));
		if (!dc)
			return 0;	/* that conversation goes undecoded */
		dc->id = ev->conv->id;
		dc->conv = ev->conv;
		if (st_decsess_new(d->sel, ev->conv, on_record, d,
				   &dc->sess) < 0 || !dc->sess) {
			free(dc);
			return 0;
		}
		*pp = dc;
		return 0;
	}
	if (!dc)
		return 0;
	st_decsess_feed(dc->sess, ev);
	/* named as soon as decided: outputs that see END before us (JSON)
	 * then have it too */
	if (!dc->conv->decoder && strcmp(st_decsess_name(dc->sess),
					 "undecided"))
		dc->conv->decoder = st_decsess_name(dc->sess);
	if (ev->type == ST_EV_END)
		conv_done(d, dc);
	return d->error;
}

static int finish(void *priv)
{
	struct decode_out *d = priv;

	for (unsigned b = 0; b < BUCKETS; b++)
		while (d->tab[b])
			conv_done(d, d->tab[b]);
	return d->error;
}

static void destroy(void *priv)
{
	struct decode_out *d = priv;

	for (unsigned b = 0; b < BUCKETS; b++) {
		while (d->tab[b]) {
			struct dconv *dc = d->tab[b];

			d->tab[b] = dc->next;
			st_decsess_free(dc->sess);
			free(dc->pending);
			free(dc);
		}
	}
	free(d);
}

int st_decode_sink_new(const struct st_decsel *sel, FILE *text, FILE *json,
		       bool live, struct st_sink *sink)
{
	struct decode_out *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->sel = sel;
	d->text = text;
	d->json = json;
	d->live = live;
	memset(sink, 0, sizeof(*sink));
	sink->name = "decoders";
	sink->priv = d;
	sink->on_event = on_event;
	sink->finish = finish;
	sink->destroy = destroy;
	return 0;
}
