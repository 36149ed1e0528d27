/* The text outputs: the strace-like trace and the exit summary. */
#ifndef SOCKTAP_OUT_TEXT_H
#define SOCKTAP_OUT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "socktap/call.h"
#include "socktap/model.h"

enum st_tsmode { ST_TS_NONE, ST_TS_TIME, ST_TS_USEC, ST_TS_EPOCH };

struct st_text_opts {
	enum st_tsmode ts;	/* -t, -tt, -ttt */
	bool relative;		/* -r */
	bool time_spent;	/* -T */
	unsigned string_limit;	/* -s */
};

struct st_text_out {
	FILE *f;		/* borrowed */
	struct st_text_opts opts;
	struct timespec prev;
	bool have_prev;
	int error;		/* first write error, negative errno */
};

void st_text_init(struct st_text_out *o, FILE *f,
		  const struct st_text_opts *opts);
/* st_call_sink.on_call */
void st_text_on_call(void *priv, const struct st_call *call);
/* A warning line ("socktap: ..."). */
void st_text_warning(void *priv, const char *text);

/* Writes s[0..n) escaped for a terminal: \n \r \t \\ \" \xNN. */
void st_text_escape(FILE *f, const uint8_t *s, size_t n);
/* "TCP:127.0.0.1:41234->127.0.0.1:79" */
int st_text_socket_desc(const struct st_socket *s, char *buf, size_t size);
/* "127.0.0.1:41234 -> 127.0.0.1:79" for a conversation */
int st_text_conv_endpoints(const struct st_conv *c, char *buf, size_t size);

/* The table printed at exit, one row per conversation; with pcap, the
 * synthetic pcap addresses of the non-IP conversations too. */
void st_text_summary(FILE *f, const struct st_model *m, bool pcap);

#endif
