/* Helpers shared by the decoder tests and the fuzz harness. */
#ifndef ST_TEST_DEC_UTIL_H
#define ST_TEST_DEC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktap/decoder.h"

enum step_kind { STEP_DATA, STEP_FIN, STEP_GAP };

struct step {
	int dir;		/* 0: A to B (A is the client), 1: B to A */
	const char *bytes;
	size_t len;		/* 0 with bytes: strlen(bytes) */
	enum step_kind kind;
	unsigned flags;		/* ST_EVF_* for DATA */
};

struct dec_conv {
	enum st_proto proto;
	uint16_t aport, bport;	/* 0: unix-like, no ports */
	enum st_origin origin;
};

/* Growable text of every record: text rendering, then JSON. */
struct rec_log {
	char *text;
	size_t len, cap;
	size_t records;
	size_t notes;
	bool bad;		/* a record broke an invariant */
	char why[256];
};

/*
 * Splits step `split_step` at byte `split_at` (0: no split); with
 * `bytewise` every DATA step goes one byte per event.
 */
struct chunking {
	size_t split_step;	/* index + 1; 0: none */
	size_t split_at;
	bool bytewise;
};

void rec_log_free(struct rec_log *l);
/* An on_record callback appending to the rec_log given as arg. */
void rec_log_record(void *arg, const struct st_conv *conv,
		    const struct st_dec_record *r);

/* Runs a script through a fresh session; returns 0 or a negative errno. */
int dec_run(const char *spec, const struct dec_conv *c,
	    const struct step *steps, size_t nsteps,
	    const struct chunking *ch, struct rec_log *log,
	    const char **name, bool *fell_back);

/* Minimal JSON syntax check: true when s is one valid JSON value. */
bool json_valid(const char *s, size_t n);

/* Record invariants: printable strings, caps, renderers. 0 or -1. */
int check_record(const struct st_dec_record *r, char *why, size_t wlen);

#endif
