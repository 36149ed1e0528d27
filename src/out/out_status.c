/*
 * The live status line (-q on a terminal): conversations and bytes each
 * way, redrawn in place at most five times a second, the way capture
 * tools count packets.  Never used when the output is not a terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "out/out_status.h"

struct status {
	FILE *f;
	uint64_t convs, out, in;
	struct timespec last;
	bool drawn;
};

static void draw(struct status *s)
{
	fprintf(s->f, "\rsocktap: %" PRIu64 " conversation%s, %" PRIu64
		" bytes sent, %" PRIu64 " bytes received\033[K", s->convs,
		s->convs == 1 ? "" : "s", s->out, s->in);
	fflush(s->f);
	s->drawn = true;
}

static int on_event(void *priv, const struct st_event *ev)
{
	struct status *s = priv;
	struct timespec now;

	if (ev->type == ST_EV_OPEN)
		s->convs++;
	if (ev->type == ST_EV_DATA) {
		/* A is the traced side: A to B is what the program sent */
		if (ev->dir == ST_DIR_A_TO_B || ev->conv->both_traced)
			s->out += ev->len;
		else
			s->in += ev->len;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if ((now.tv_sec - s->last.tv_sec) * 1000000000L +
	    (now.tv_nsec - s->last.tv_nsec) >= 200000000L) {
		s->last = now;
		draw(s);
	}
	return 0;
}

static int finish(void *priv)
{
	struct status *s = priv;

	if (s->drawn) {
		draw(s);
		fputc('\n', s->f);
		fflush(s->f);
	}
	return 0;
}

static void destroy(void *priv)
{
	free(priv);
}

int st_status_sink_new(FILE *f, struct st_sink *sink)
{
	struct status *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->f = f;
	memset(sink, 0, sizeof(*sink));
	sink->name = "status";
	sink->priv = s;
	sink->on_event = on_event;
	sink->finish = finish;
	sink->destroy = destroy;
	return 0;
}
