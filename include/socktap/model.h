/*
 * The model: sockets, fd tables and conversations.  Plain data, no ptrace
 * and no I/O: the handlers feed it, the outputs consume its events.
 */
#ifndef SOCKTAP_MODEL_H
#define SOCKTAP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "socktap/endpoint.h"

enum st_proto {
	ST_PROTO_OTHER = 0,
	ST_PROTO_TCP,
	ST_PROTO_UDP,
	ST_PROTO_UNIX_STREAM,
	ST_PROTO_UNIX_DGRAM,
	ST_PROTO_UNIX_SEQPACKET,
	ST_PROTO_NETLINK,
	ST_PROTO_RAW,
	ST_PROTO_COUNT
};

/* "TCP", "UDP", "UNIX-STREAM", ... */
const char *st_proto_name(enum st_proto proto);
/* Derived from family/type/protocol as given to socket(2). */
enum st_proto st_proto_from(int family, int type, int protocol);
bool st_proto_is_stream(enum st_proto proto);
bool st_proto_is_unix(enum st_proto proto);

enum st_sock_state {
	ST_SOCK_CREATED = 0,
	ST_SOCK_BOUND,
	ST_SOCK_LISTENING,
	ST_SOCK_CONNECTING,	/* nonblocking connect in progress */
	ST_SOCK_CONNECTED,
	ST_SOCK_CLOSED,
};

struct st_conv;
struct st_model;

/* One kernel socket, identified by its inode. */
struct st_socket {
	uint64_t ino;		/* 0: inode not known */
	int family;		/* AF_*, AF_UNSPEC when unknown */
	int type;		/* SOCK_STREAM ..., without flags; 0 unknown */
	int protocol;
	enum st_proto proto;
	enum st_sock_state state;
	struct st_endpoint local;
	struct st_endpoint peer;
	uint64_t peer_ino;	/* AF_UNIX peer, when known */
	bool shut_rd, shut_wr;	/* shutdown(2) seen, or FIN recorded */
	bool listening;
	bool local_resolved;	/* local endpoint asked of the kernel */
	bool held_outside;	/* also open outside the trace: its last
				 * traced close sends no FIN */
	unsigned udp_segment;	/* UDP_SEGMENT (GSO) set on the socket:
				 * the kernel cuts each send into
				 * datagrams of this size; 0: off */
	unsigned refs;		/* fd table entries + transient users */
	struct st_conv *conv;	/* connected sockets: the conversation */
	unsigned conv_side;	/* 0: side A of conv, 1: side B */
	struct st_conv *dgram_convs;	/* unconnected: one per peer */
	struct st_socket *next;	/* model's inode hash chain */
};

/*
 * A conversation: one connection (or one local/peer pair of an
 * unconnected datagram socket).  Side A is the first traced socket that
 * took part in it; side B its peer (traced too when both ends are).
 */
enum st_dir { ST_DIR_A_TO_B = 0, ST_DIR_B_TO_A = 1 };

enum st_origin {
	ST_ORIGIN_CONNECT,	/* A connected to B: A is the client */
	ST_ORIGIN_ACCEPT,	/* A accepted B: B is the client */
	ST_ORIGIN_PAIR,		/* socketpair(2): A and B created together */
	ST_ORIGIN_MIDSTREAM,	/* first seen already connected */
	ST_ORIGIN_DGRAM,	/* unconnected datagrams between A and B */
};

enum st_end {
	ST_END_OPEN = 0,	/* still open when the trace ended */
	ST_END_FIN,		/* orderly shutdown */
	ST_END_RESET,		/* connection reset */
	ST_END_CLOSED,		/* closed (no FIN semantics: UDP, dgram) */
};

#define ST_CONV_MAX_PIDS 4

struct st_conv {
	uint64_t id;		/* 1, 2, ... in order of appearance */
	enum st_proto proto;
	enum st_origin origin;
	struct st_endpoint a, b;
	uint64_t bytes[2];	/* per st_dir */
	uint64_t chunks[2];
	uint64_t gap_bytes[2];
	struct timespec first, last;
	pid_t pids[ST_CONV_MAX_PIDS];
	unsigned npids;
	char comm[16];		/* comm of the first process */
	bool fin[2];		/* FIN recorded for st_dir */
	bool reset;
	bool ended;		/* ST_EV_END delivered */
	bool selected;		/* passes the user's filter */
	bool both_traced;	/* both sides are traced sockets */
	unsigned traced_sides;	/* bit 0: side A traced, bit 1: side B */
	enum st_end end;
	const char *decoder;	/* chosen decoder's name, or NULL */
	void *out[8];		/* per-output private state, by sink slot */
	/* model-internal links, not for outputs */
	struct st_socket *sock[2];	/* the traced socket of each side */
	struct st_conv *next;		/* list, in id order */
	struct st_conv *hnext;		/* key hash chain */
	struct st_conv *snext[2];	/* datagram convs of each side's
					 * socket (a list per side) */
};

enum st_ev_type {
	ST_EV_OPEN,		/* a conversation starts */
	ST_EV_DATA,		/* bytes in one direction */
	ST_EV_GAP,		/* len bytes happened but could not be read */
	ST_EV_FIN,		/* the sender of dir shut down its side */
	ST_EV_RESET,		/* the connection was reset */
	ST_EV_END,		/* last event of a conversation */
};

#define ST_EVF_OOB	0x1u	/* out-of-band byte(s) */
#define ST_EVF_TRUNC	0x2u	/* datagram longer than what was read */
#define ST_EVF_DGRAM	0x4u	/* one whole datagram / record */
#define ST_EVF_PART	0x8u	/* more DATA of the same syscall follows */

/* Who did it: the syscall that produced an event. */
struct st_origin_info {
	pid_t pid, tid;
	int fd;
	const char *syscall;	/* borrowed, static */
	const char *comm;	/* borrowed */
	struct timespec ts;
};

struct st_event {
	enum st_ev_type type;
	struct st_conv *conv;	/* borrowed */
	enum st_dir dir;
	uint64_t order;		/* global order of events */
	struct st_origin_info who;
	const uint8_t *data;	/* DATA: borrowed bytes, len of them */
	size_t len;		/* DATA, GAP: byte count */
	size_t orig_len;	/* TRUNC: the datagram's real length */
	unsigned flags;		/* ST_EVF_* */
	const char *note;	/* GAP: why (static text) */
};

/* Names used by the machine-readable outputs (JSON, flow index). */
const char *st_origin_name(enum st_origin origin);	/* "connect" ... */
const char *st_end_name(enum st_end end);		/* "open" ... */
/* Where an event's bytes start in its direction's stream (gap bytes
 * included); for FIN, how many bytes the direction carried. */
uint64_t st_event_offset(const struct st_event *ev);

/* An output: receives every event of the selected conversations. */
struct st_sink {
	const char *name;
	void *priv;
	/* returns 0 or a negative errno (the output failed) */
	int (*on_event)(void *priv, const struct st_event *ev);
	/* called once at the end of the trace, after every ST_EV_END */
	int (*finish)(void *priv);
	/* optional: the caller has a CPU to spare for a moment; output
	 * deferred to a thread may be written now, up to about piece bytes.
	 * Returns the bytes written (0: nothing worth doing). */
	size_t (*spare)(void *priv, size_t piece);
	void (*destroy)(void *priv);
};

/* Fills local with the address packets from s to peer really leave from
 * (s is bound to a wildcard address); 0 or -errno. */
typedef int (*st_route_fn)(void *arg, pid_t pid, const struct st_socket *s,
			   const struct st_endpoint *peer,
			   struct st_endpoint *local);

/* Decides whether a conversation is recorded; NULL selects all. */
typedef bool (*st_select_fn)(void *arg, const struct st_conv *conv);

/* ------------------------------------------------------------------ */
/* fd tables: one per kernel fd table (threads share, fork copies). */

enum st_fd_kind {
	ST_FD_UNKNOWN = 0,	/* never seen: resolve through /proc */
	ST_FD_OTHER,		/* known not to be a socket */
	ST_FD_SOCKET,
};

struct st_fdtable;

struct st_fdtable *st_fdtable_new(void);
struct st_fdtable *st_fdtable_ref(struct st_fdtable *t);
void st_fdtable_unref(struct st_fdtable *t);
/* fork: a new table with the same entries (sockets gain a reference). */
struct st_fdtable *st_fdtable_copy(const struct st_fdtable *t);

enum st_fd_kind st_fdtable_lookup(const struct st_fdtable *t, int fd,
				  struct st_socket **sock);
/* Binds fd to sock (takes a reference); replaces what fd was. */
int st_fdtable_set_socket(struct st_fdtable *t, int fd,
			  struct st_socket *sock);
int st_fdtable_set_other(struct st_fdtable *t, int fd);
/* Forgets fd: next use resolves it again. */
void st_fdtable_forget(struct st_fdtable *t, int fd);
/* close(fd): drops the entry. */
void st_fdtable_close(struct st_fdtable *t, int fd);
/* close_range(first, last) */
void st_fdtable_close_range(struct st_fdtable *t, unsigned first,
			    unsigned last);
/* exec: every entry forgotten (CLOEXEC ones are gone, others re-resolve) */
void st_fdtable_clear(struct st_fdtable *t);
/* exec: OTHER entries are forgotten; each socket entry is kept only if
 * still_open(arg, fd, ino) says the fd survived (not CLOEXEC). */
void st_fdtable_exec_sweep(struct st_fdtable *t,
			   bool (*still_open)(void *arg, int fd, uint64_t ino),
			   void *arg);
/* dup/dup2/F_DUPFD: newfd becomes what oldfd is. */
int st_fdtable_dup(struct st_fdtable *t, int oldfd, int newfd);
size_t st_fdtable_count(const struct st_fdtable *t);
/* The table's model (needed to release sockets). */
void st_fdtable_set_model(struct st_fdtable *t, struct st_model *m);

/* ------------------------------------------------------------------ */
/* The model. */

struct st_model;

struct st_model *st_model_new(void);
void st_model_free(struct st_model *m);

/* Outputs: up to 8 sinks; the slot index is the conv->out[] index. */
int st_model_add_sink(struct st_model *m, const struct st_sink *sink);
void st_model_set_select(struct st_model *m, st_select_fn fn, void *arg);
/* Datagram conversations of wildcard-bound sockets ask fn for side A's
 * real address. */
void st_model_set_route(struct st_model *m, st_route_fn fn, void *arg);
/* Called once per output, the first time it fails. */
typedef void (*st_sink_error_fn)(void *arg, const char *sink_name, int err);
void st_model_set_error_handler(struct st_model *m, st_sink_error_fn fn,
				void *arg);
/* First error an output reported (negative errno), or 0. */
int st_model_sink_error(const struct st_model *m, const char **sink_name);

/* The syscall being handled: fd table operations that close sockets
 * (close, dup2 over a socket, exit) attribute their events to it. */
void st_model_set_context(struct st_model *m, const struct st_origin_info *who);

/* The socket of an inode, created (unknown family) if new; ino 0 makes
 * an anonymous one.  The model keeps it while referenced. */
struct st_socket *st_model_socket(struct st_model *m, uint64_t ino);
struct st_socket *st_model_socket_find(struct st_model *m, uint64_t ino);
/* A socket a process outside the trace holds open too (socktap's own
 * descriptors, which a launched command inherits; at an attach, one
 * another process shares): when the trace closes its last descriptor
 * the socket lives on, and no FIN is made up.  Call before the trace
 * starts. */
int st_model_hold_outside(struct st_model *m, uint64_t ino);
/* A socket just made by socket(), accept() or socketpair(): any socket
 * the model still has under that inode is a dead one whose close is not
 * handled yet (the kernel reuses inodes at once, and another thread's
 * stops can arrive first), so it loses the inode to the new one. */
struct st_socket *st_model_socket_new(struct st_model *m, uint64_t ino);
void st_socket_ref(struct st_socket *s);
void st_socket_unref(struct st_model *m, struct st_socket *s,
		     const struct st_origin_info *who);
void st_socket_set_type(struct st_socket *s, int family, int type,
			int protocol);

/* Connection state changes. */
void st_model_connected(struct st_model *m, struct st_socket *s,
			enum st_origin origin, const struct st_origin_info *who);
void st_model_shutdown(struct st_model *m, struct st_socket *s, int how,
		       const struct st_origin_info *who);
/* A read saw end of stream (peer's FIN) */
void st_model_peer_fin(struct st_model *m, struct st_socket *s,
		       const struct st_origin_info *who);
void st_model_reset(struct st_model *m, struct st_socket *s,
		    const struct st_origin_info *who);

/* Bytes a socket sent (send == true) or received.  peer: for datagrams
 * the address of this datagram's peer (NULL: the connected peer). */
int st_model_data(struct st_model *m, struct st_socket *s, bool send,
		  const uint8_t *data, size_t len, unsigned flags,
		  size_t orig_len, const struct st_endpoint *peer,
		  const struct st_origin_info *who);
/* Would bytes s sends (or receives) be recorded?  false when they would
 * be dropped anyway (the other end is traced and records them, or the
 * filter left the conversation out): the caller need not read them. */
bool st_model_wants_data(const struct st_model *m, const struct st_socket *s,
			 bool send);
int st_model_gap(struct st_model *m, struct st_socket *s, bool send,
		 size_t len, const char *why, const struct st_endpoint *peer,
		 const struct st_origin_info *who);

/* Tracing stops without the processes ending (detach): from now on
 * releasing a socket ends nothing; open conversations stay open. */
void st_model_set_detaching(struct st_model *m);

/* Each sink's spare (see struct st_sink); the bytes written. */
size_t st_model_spare(struct st_model *m, size_t piece);

/* End of trace: FIN-less ends for the open conversations, then finish. */
int st_model_finish(struct st_model *m, const struct timespec *now);

/* Every conversation so far, in id order (for the summary). */
const struct st_conv *st_model_convs(const struct st_model *m);
uint64_t st_model_conv_count(const struct st_model *m);

#endif
