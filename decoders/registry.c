/*
 * The decoder table.  Adding a decoder: write decoders/NAME.c defining
 * `const struct st_decoder st_dec_NAME`, add it to ST_DECODERS below and
 * to decoders/sources.cmake.  Order matters only for ties between probes
 * and for listings; raw stays last.
 */
#include <stdio.h>
#include <strings.h>

#include "socktap/decoder.h"

#define ST_DECODERS(X) \
	X(finger) \
	X(http) \
	X(dns) \
	X(redis) \
	X(tls) \
	X(raw)

#define ST_DECL(name) extern const struct st_decoder st_dec_##name;
ST_DECODERS(ST_DECL)
#undef ST_DECL

#define ST_REF(name) &st_dec_##name,
static const struct st_decoder *const st_table[] = { ST_DECODERS(ST_REF) };
#undef ST_REF

size_t st_decoder_count(void)
{
	return sizeof(st_table) / sizeof(st_table[0]);
}

const struct st_decoder *st_decoder_at(size_t i)
{
	return i < st_decoder_count() ? st_table[i] : NULL;
}

const struct st_decoder *st_decoder_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < st_decoder_count(); i++)
		if (!strcasecmp(st_table[i]->name, name))
			return st_table[i];
	return NULL;
}

const struct st_decoder *st_decoder_raw(void)
{
	return &st_dec_raw;
}

int st_decoder_list(char *buf, size_t size)
{
	size_t i, len = 0;
	int n;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < st_decoder_count(); i++) {
		n = snprintf(len < size ? buf + len : NULL,
			     len < size ? size - len : 0, "%s%s",
			     i ? ", " : "", st_table[i]->name);
		if (n < 0)
			return n;
		len += (size_t)n;
	}
	return (int)len;
}
