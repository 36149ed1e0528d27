/*
 * The capture outputs chosen on the command line (-w, -x, --flows,
 * --json), created before tracing starts so a bad path fails early.
 */
#ifndef SOCKTAP_OUTPUTS_H
#define SOCKTAP_OUTPUTS_H

#include <stdbool.h>
#include <stdio.h>

#include "options.h"
#include "out/outfile.h"
#include "socktap/model.h"

struct st_outputs {
	FILE *json;		/* the JSON Lines stream, or NULL */
	bool json_owned;	/* opened here (not stdout) */
	FILE *hexdump;		/* the hexdump stream, or NULL */
	bool hexdump_owned;
	struct {
		const char *path;
		struct st_outfile_id id;	/* the file made there */
	} made[4];		/* for st_outputs_abandon */
	unsigned nmade;
};

/* st_outfile_open as a stdio stream (id may be NULL); NULL with a
 * one-line reason in err. */
FILE *st_output_open(const char *path, struct st_outfile_id *id, char *err,
		     size_t errlen);

/* Creates every output o asks for and adds its sink to m. */
int st_outputs_open(struct st_outputs *outs, const struct st_options *o,
		    FILE *trace, struct st_model *m, char *err,
		    size_t errlen);
/* The tracer is idle: what the streams hold (the trace's too) goes to
 * their files now. */
void st_outputs_idle(struct st_outputs *outs, FILE *trace);
/* After st_model_finish: flushes and reports the first error. */
int st_outputs_finish(struct st_outputs *outs, char *err, size_t errlen);
/* Tracing never started: removes the files this run made, so none is
 * left that looks like a (empty) capture.  Nothing that was there before
 * (a file given to be replaced, /dev/null) is removed. */
void st_outputs_abandon(struct st_outputs *outs);
void st_outputs_close(struct st_outputs *outs);

/* The address pair a conversation has in the pcap (real, or synthetic
 * for Unix sockets), for filters, the summary and the flow index. */
void st_outputs_synth_endpoints(const struct st_conv *c, struct st_endpoint *a,
				struct st_endpoint *b);

#endif
