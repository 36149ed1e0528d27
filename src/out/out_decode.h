/* Decoded conversations, rendered into the text output and JSON. */
#ifndef SOCKTAP_OUT_DECODE_H
#define SOCKTAP_OUT_DECODE_H

#include <stdbool.h>
#include <stdio.h>

#include "socktap/decoder.h"
#include "socktap/model.h"

/* text: where records are rendered (NULL: nowhere); json: a JSON Lines
 * stream that gets one {"type":"decoded",...} object per record (NULL:
 * none); live: records as they complete, else at each conversation's
 * end.  Sets conv->decoder for the summary. */
int st_decode_sink_new(const struct st_decsel *sel, FILE *text, FILE *json,
		       bool live, struct st_sink *sink);

#endif
