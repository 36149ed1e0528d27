/* The reader's search functions and small shared helpers. */
#include <string.h>

#include "socktap/decoder.h"

enum st_dec_status st_rd_find_crlf(const struct st_rd *r, size_t max,
				   size_t *off)
{
	size_t left = st_rd_left(r), lim = left < max ? left : max;
	const uint8_t *p, *q;
	size_t i;

	if (st_rd_peek(r, lim, &p) != ST_DEC_OK)
		return ST_DEC_INVALID;	/* cannot happen: lim <= left */
	for (i = 0; lim >= 2 && i < lim - 1; i = (size_t)(q - p) + 1) {
		q = memchr(p + i, '\r', lim - 1 - i);
		if (!q)
			break;
		if (q[1] == '\n') {
			*off = (size_t)(q - p);
			return ST_DEC_OK;
		}
	}
	return left < max ? ST_DEC_NEED_MORE : ST_DEC_INVALID;
}

enum st_dec_status st_rd_line(struct st_rd *r, size_t max,
			      const uint8_t **line, size_t *len)
{
	size_t left = st_rd_left(r), lim = left < max ? left : max;
	const uint8_t *p, *nl;
	size_t n;

	if (st_rd_peek(r, lim, &p) != ST_DEC_OK)
		return ST_DEC_INVALID;
	nl = lim ? memchr(p, '\n', lim) : NULL;
	if (!nl)
		return left < max ? ST_DEC_NEED_MORE : ST_DEC_INVALID;
	n = (size_t)(nl - p);
	if (st_rd_skip(r, n + 1) != ST_DEC_OK)
		return ST_DEC_INVALID;
	if (n && p[n - 1] == '\r')
		n--;
	*line = p;
	*len = n;
	return ST_DEC_OK;
}

int st_dec_client_dir(const struct st_conv *c)
{
	if (!c)
		return -1;
	switch (c->origin) {
	case ST_ORIGIN_CONNECT:
		return ST_DIR_A_TO_B;
	case ST_ORIGIN_ACCEPT:
		return ST_DIR_B_TO_A;
	default:
		return -1;
	}
}
