/*
 * The capture sinks that render conversations: a hexdump stream, one
 * file per conversation direction (--flows) and JSON Lines (--json).
 * Each constructor fills an st_sink that owns its private state; hand it
 * to st_model_add_sink().  The model calls destroy, which frees the state
 * but never closes a FILE * it was given (that stays the caller's).
 *
 * Every on_event returns 0, or the first write error as a negative errno
 * exactly once; after that the sink ignores events (and finish returns 0),
 * so a full disk or a closed pipe is reported once, not per event.
 */
#ifndef SOCKTAP_OUT_SINKS_H
#define SOCKTAP_OUT_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "socktap/model.h"

/* ------------------------------------------------------------------ */
/* -x / --hexdump[=FILE] */

/*
 * Colour is wanted when f is a terminal, NO_COLOR is not set (to any
 * value, even empty) and TERM is not "dumb".
 */
bool st_hexdump_want_color(FILE *f);

/* f is borrowed (flushed after every event, never closed). */
int st_hexdump_sink_new(FILE *f, bool color, struct st_sink *sink);

/* ------------------------------------------------------------------ */
/* --flows DIR */

/* Open flow files at most (least recently written ones are closed and
 * reopened with O_APPEND when written again). */
#define ST_FLOWS_MAX_OPEN 64

/*
 * Creates dir (mode 0700) if missing; refuses a symbolic link, a
 * non-directory, or a directory already holding an index.tsv or flow
 * files.  0, or -errno with a one-line reason in err.
 */
int st_flows_sink_new(const char *dir, struct st_sink *sink, char *err,
		      size_t errlen);
/* Same, with a different bound on open files (tests use a small one). */
int st_flows_sink_new_max(const char *dir, unsigned max_open,
			  struct st_sink *sink, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* --json FILE */

#define ST_JSON_HEX	0x1u	/* "data_hex" instead of "data_b64" */

/* f is borrowed (flushed after every event, never closed). */
int st_json_sink_new(FILE *f, struct st_sink *sink);
int st_json_sink_new_flags(FILE *f, unsigned flags, struct st_sink *sink);

/*
 * Writes s (n bytes) as the inside of a JSON string: '"', '\\' and
 * control bytes escaped, valid UTF-8 kept, every byte of an invalid
 * UTF-8 sequence written as \u00XX.  Returns true when such a byte was
 * seen (the text is then not an exact copy of s).
 */
bool st_json_escape(FILE *f, const void *s, size_t n);

#endif
