/*
 * Handlers: turn syscall stops into model calls and call records.  One
 * file per syscall family; one table (sysent.c) maps numbers to them.
 */
#ifndef SOCKTAP_HANDLERS_H
#define SOCKTAP_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "socktap/call.h"
#include "socktap/model.h"
#include "tracer/tracer.h"

/*
 * Where bytes copied from address addr land in a buffer: at addr's offset
 * within ST_LANDING_ALIGN bytes, the buffer being that aligned and that
 * much longer.  The kernel copies (rep movsb) 4-5 times slower when the
 * destination lies 1-31 bytes past the source modulo 4 KiB (a 64 KiB
 * process_vm_readv: 45 against 9 us here); a tracee's buffer must not
 * decide that by where it happens to sit.
 */
#define ST_LANDING_ALIGN 64u

static inline uint8_t *st_h_landing(uint8_t *buf, uint64_t addr)
{
	return buf + (addr & (ST_LANDING_ALIGN - 1));
}

/* Per traced thread. */
struct st_task {
	pid_t tid, tgid;
	struct st_fdtable *fdt;
	char comm[16];
	/* the call in flight, between entry and exit */
	struct st_call call;
	struct st_socket *sock;		/* referenced for the call */
	int fd;
	uint64_t saved[4];		/* entry-time values for the exit */
	struct st_endpoint addr;	/* entry-time decoded sockaddr */
	bool addr_ok;
	bool visible;			/* print this call */
	/* a send's payload read while the call ran (st_h_prefetch), at
	 * st_h_landing(pre, pre_addr) */
	uint8_t *pre;
	size_t pre_len, pre_cap;
	uint64_t pre_addr;
	/* UDP GSO or GRO: the message's bytes are datagrams of seg_size
	 * (the last may be shorter); seg_fill of the current one are in */
	size_t seg_size, seg_fill;
};

struct st_handler_opts {
	unsigned string_limit;		/* -s */
	bool want_calls;		/* a call sink wants lines */
};

/* The handlers' shared state. */
struct st_handlers {
	struct st_model *model;
	struct st_call_sink calls;
	struct st_handler_opts opts;
	uint8_t *buf;			/* scratch for payloads, landings */
	size_t bufsize;
	uint8_t preview[4096];		/* first bytes of a call, for -s */
	char text[4][512];		/* symbolic args of the current call */
	char note[96];			/* the current call's note, made up */
	unsigned warned_io_uring;
	uint64_t bytes_copied;		/* read from tracee memory or files */
	uint64_t receives_unstopped;	/* redundant receives, no exit stop */
	uint64_t ncalls;		/* calls handled to their exit */
	size_t pre_total;		/* prefetch buffers, all tasks */
	uint64_t prefetched;		/* sends read while they ran */
	int peek_pipe[2];		/* socktap's own, for st_h_pipe_peek */
	size_t peek_cap;
	void (*warn)(void *arg, const char *text);
	void *warn_arg;
};

/* Context of one stop. */
struct st_hctx {
	struct st_handlers *h;
	struct st_task *task;
	struct st_stop *stop;
	/* the payload is the last thing read from the tracee at this exit:
	 * once it is read, the tracee may run on (st_stop.release) */
	bool payload_last;
};

struct st_sysent {
	long nr;
	const char *name;
	enum st_entry_verdict (*entry)(struct st_hctx *c);
	void (*exit)(struct st_hctx *c);
};

/* The tracer hooks backed by these handlers. */
void st_handlers_hooks(struct st_handlers *h, struct st_tracer_hooks *hooks);
int st_handlers_init(struct st_handlers *h, struct st_model *m);
void st_handlers_cleanup(struct st_handlers *h);

/* The table (sysent.c). */
const struct st_sysent *st_sysent_lookup(long nr);
const long *st_sysent_numbers(size_t *n);
const long *st_sysent_send_fd_numbers(size_t *n);
const long *st_sysent_receive_fd_numbers(size_t *n);

/* While a send runs (st_tracer_hooks.on_running): reads up to len of
 * its payload at addr into the task, for st_h_data at the exit. */
void st_h_prefetch(struct st_hctx *c, uint64_t addr, size_t len);
void st_h_prefetch_free(struct st_handlers *h, struct st_task *t);
/* The task's buffer (the prefetch's), len bytes or more, its content
 * dropped; NULL past what all tasks' buffers may take together. */
uint8_t *st_h_task_buffer(struct st_hctx *c, size_t len);

/* The most of one splice's payload that is seen (pipes.c). */
#define ST_PIPE_PEEK_MAX (1u << 20)
/* Bytes waiting in the task's pipe fd (FIONREAD); 0 or -errno. */
int st_h_pipe_pending(struct st_hctx *c, int fd, size_t *n);
/* Copies up to len bytes of what waits in the task's pipe fd, from
 * offset skip on, into buf, and leaves them in the pipe.  Returns the
 * count (short when the pipe holds less, or more than socktap's own
 * pipe takes at once) or -errno. */
ssize_t st_h_pipe_peek(struct st_hctx *c, int fd, size_t skip, uint8_t *buf,
		       size_t len);
void st_h_pipes_close(struct st_handlers *h);

/* Helpers for handler files (dispatch.c). */
/* The socket behind fd, resolved lazily; NULL when not a socket. */
struct st_socket *st_h_fd_socket(struct st_hctx *c, int fd);
/* fd is a socket now: reads and writes on it must stop. */
void st_h_watch(struct st_hctx *c, int fd);
/* ... only its writes: its receives need no stop (see below). */
void st_h_watch_sends_only(struct st_hctx *c, int fd);
/* Receives on s would add nothing: their bytes are recorded already. */
bool st_h_receives_redundant(const struct st_hctx *c,
			     const struct st_socket *s);
/* Under -q, s is a stream whose other end is a socket we trace, even if
 * that end's connect has not been seen yet: its sends will record what s
 * receives (asks the kernel: one sock_diag request for TCP). */
bool st_h_peer_traced(const struct st_hctx *c, const struct st_socket *s);
/* Holds sock for the call and marks the call visible. */
void st_h_hold(struct st_hctx *c, int fd, struct st_socket *sock);
/* Origin info of the current stop. */
void st_h_who(const struct st_hctx *c, int fd, struct st_origin_info *who);
/* Reads and decodes a sockaddr argument (addr, len) into ep. */
int st_h_read_sockaddr(struct st_hctx *c, uint64_t addr, uint64_t len,
		       struct st_endpoint *ep);
/* Makes sure a socket's local (and peer) endpoint is known. */
void st_h_refresh(struct st_hctx *c, struct st_socket *s, int fd,
		  bool full);
/* Binds fd to the socket with inode resolved now (socket, accept ...). */
struct st_socket *st_h_new_fd(struct st_hctx *c, int fd, bool full);
/* Call record argument setters. */
void st_h_arg_int(struct st_hctx *c, unsigned i, long long v);
void st_h_arg_hex(struct st_hctx *c, unsigned i, unsigned long long v);
void st_h_arg_fd(struct st_hctx *c, unsigned i, int fd,
		 const struct st_socket *s);
void st_h_arg_text(struct st_hctx *c, unsigned i, const char *text);
void st_h_arg_addr(struct st_hctx *c, unsigned i, const struct st_endpoint *ep);
void st_h_arg_buf(struct st_hctx *c, unsigned i, const uint8_t *p,
		  size_t len, size_t total);
/* Scratch text slot k (0..3) for symbolic args. */
char *st_h_text(struct st_hctx *c, unsigned k);
/* Records bytes moved by a call (reads tracee memory in pieces);
 * returns how many of the first bytes were kept in h->preview. */
size_t st_h_data(struct st_hctx *c, struct st_socket *s, bool send,
	       uint64_t addr, size_t len, unsigned flags, size_t orig_len,
	       const struct st_endpoint *peer, bool preview);
/* Records an iovec array's first len bytes. */
size_t st_h_data_iov(struct st_hctx *c, struct st_socket *s, bool send,
		   uint64_t iov, uint64_t iovcnt, size_t len, unsigned flags,
		   size_t orig_len, const struct st_endpoint *peer,
		   bool preview);
/* Common exit handling of a failed data call: reset detection. */
void st_h_data_error(struct st_hctx *c, struct st_socket *s);
void st_h_warn(struct st_hctx *c, const char *text);

/* Flag tables for symbolic args. */
struct st_flag {
	unsigned long value;
	const char *name;
};
void st_h_flags(char *buf, size_t size, unsigned long v,
		const struct st_flag *tab, const char *zero);
const char *st_h_family_name(int family);
void st_h_socktype(char *buf, size_t size, int type);
/* "SOL_TCP", "TCP_NODELAY" ...; NULL when unknown */
const char *st_h_sockopt_level(int level);
const char *st_h_sockopt_name(int level, int name);
extern const struct st_flag st_msg_flags[];

#endif
