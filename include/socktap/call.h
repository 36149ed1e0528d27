/*
 * One traced system call, as the handlers describe it for the text trace.
 * Structured, not printed: out_text renders it.
 */
#ifndef SOCKTAP_CALL_H
#define SOCKTAP_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "socktap/endpoint.h"
#include "socktap/model.h"

enum st_arg_kind {
	ST_ARG_INT,		/* num, signed decimal */
	ST_ARG_UINT,		/* num, unsigned decimal */
	ST_ARG_HEX,		/* num, 0x... (pointers, masks) */
	ST_ARG_FD,		/* num is an fd; sock annotates it if a socket */
	ST_ARG_BUF,		/* buf[0..len) of total bytes transferred */
	ST_ARG_ADDR,		/* ep, a decoded sockaddr */
	ST_ARG_TEXT,		/* text: printable symbolic text, as is */
};

struct st_arg {
	enum st_arg_kind kind;
	long long num;
	const struct st_socket *sock;	/* FD: borrowed, may be NULL */
	const uint8_t *buf;		/* BUF: borrowed */
	size_t len;			/* BUF: bytes available in buf */
	size_t total;			/* BUF: bytes the call moved */
	struct st_endpoint ep;		/* ADDR */
	const char *text;		/* TEXT: borrowed */
};

#define ST_CALL_MAXARGS 6

struct st_call {
	pid_t pid, tid;
	const char *name;
	struct timespec t_entry, t_exit;
	long ret;			/* return value when err == 0 */
	int err;			/* errno of a failed call, or 0 */
	unsigned nargs;
	struct st_arg args[ST_CALL_MAXARGS];
	const struct st_socket *ret_sock; /* a returned fd is this socket */
	const char *note;		/* e.g. "peeked", static text */
};

/* Receives the finished calls (the text trace). */
struct st_call_sink {
	void *priv;
	void (*on_call)(void *priv, const struct st_call *call);
};

#endif
