/*
 * Private to decoders/: the record builder the session owns.  Decoders
 * see struct st_dec_out only as an opaque type.
 */
#ifndef SOCKTAP_DEC_INTERNAL_H
#define SOCKTAP_DEC_INTERNAL_H

#include "socktap/decoder.h"

#define ST_DEC_ARENA	8192

struct st_dec_out {
	/* where finished records go */
	void (*deliver)(void *arg, struct st_dec_record *r);
	void *arg;
	const struct st_conv *conv;
	const char *decoder;	/* name put on records */
	uint64_t offset[2];	/* current stream offset per dir */
	bool open;
	struct st_dec_record rec;
	struct st_dec_field fields[ST_DEC_MAX_FIELDS];
	size_t dropped_fields;
	char more[48];		/* the "more" field's value */
	char summary[ST_DEC_SUMMARY_MAX];
	size_t summary_len;
	bool summary_cut;
	/* keys and values of the open record */
	char arena[ST_DEC_ARENA];
	size_t arena_used;
};

void st_dec_out_init(struct st_dec_out *o, const struct st_conv *conv,
		     void (*deliver)(void *, struct st_dec_record *),
		     void *arg);

/*
 * Copies n bytes into dst (size > 0), escaping control and non-ASCII
 * bytes but not backslashes (the text was formatted by a decoder).
 * Returns the length written.
 */
size_t st_dec_sanitize(char *dst, size_t size, const char *s, size_t n);

#endif
