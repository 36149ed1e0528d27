/* The call record's arguments, as handlers fill them for the trace. */
#include <string.h>

#include "handlers/handlers.h"

char *st_h_text(struct st_hctx *c, unsigned k)
{
	return c->h->text[k & 3];
}

static struct st_arg *arg_at(struct st_hctx *c, unsigned i)
{
	struct st_call *call = &c->task->call;

	if (i >= ST_CALL_MAXARGS)
		i = ST_CALL_MAXARGS - 1;
	if (call->nargs <= i)
		call->nargs = i + 1;
	memset(&call->args[i], 0, sizeof(call->args[i]));
	return &call->args[i];
}

void st_h_arg_int(struct st_hctx *c, unsigned i, long long v)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_INT;
	a->num = v;
}

void st_h_arg_hex(struct st_hctx *c, unsigned i, unsigned long long v)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_HEX;
	a->num = (long long)v;
}

void st_h_arg_fd(struct st_hctx *c, unsigned i, int fd,
		 const struct st_socket *s)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_FD;
	a->num = fd;
	a->sock = s;
}

void st_h_arg_text(struct st_hctx *c, unsigned i, const char *text)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_TEXT;
	a->text = text;
}

void st_h_arg_addr(struct st_hctx *c, unsigned i, const struct st_endpoint *ep)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_ADDR;
	a->ep = *ep;
}

void st_h_arg_buf(struct st_hctx *c, unsigned i, const uint8_t *p,
		  size_t len, size_t total)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_BUF;
	a->buf = p;
	a->len = len;
	a->total = total;
}

/* Emits len bytes at addr as DATA events, in pieces; unreadable memory
 * becomes a gap of the right length. */
