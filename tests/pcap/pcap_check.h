/*
 * Helpers of the pcap tests: a scenario of hand-built conversations fed
 * to the sink (recording what each direction carried), and the real
 * tools (tshark, capinfos) run with fixed argument lists, no shell.
 */
#ifndef ST_TEST_PCAP_CHECK_H
#define ST_TEST_PCAP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktap/model.h"

#define SCEN_MAX 16

struct xconv {
	struct st_conv c;
	uint8_t *exp[2];	/* bytes fed, per st_dir */
	size_t n[2], cap[2];
	int client;		/* 0: side A is the client, 1: side B */
	bool clean;		/* no sequence/checksum warning expected */
	bool follow;		/* compare with tshark's Follow Stream */
	bool reset, gap, cut;	/* what it shows instead */
	const char *what;	/* for messages */
};

struct scen {
	struct st_sink sink;
	struct xconv x[SCEN_MAX];
	int nconv;
	struct timespec now;
	uint64_t order;
	int first_err;		/* first error an on_event returned */
	int nerr;		/* how many on_event calls failed */
	uint64_t events;
};

/* Endpoint helpers. */
void ep4(struct st_endpoint *ep, const char *addr, uint16_t port);
void ep6(struct st_endpoint *ep, const char *addr, uint16_t port);
void epun(struct st_endpoint *ep, const char *path);

struct xconv *scen_conv(struct scen *s, enum st_proto proto,
			enum st_origin origin, const struct st_endpoint *a,
			const struct st_endpoint *b, const char *what);
/* One event; DATA bytes are recorded as expected unless record is false. */
void scen_ev(struct scen *s, struct xconv *x, enum st_ev_type type,
	     enum st_dir dir, const void *data, size_t len, unsigned flags,
	     size_t orig_len, const char *syscall, bool record);
/* DATA of n pseudo-random bytes (seeded). */
void scen_data(struct scen *s, struct xconv *x, enum st_dir dir, size_t n,
	       unsigned flags, uint32_t seed);
/* The whole reference scenario; returns the sink's result. */
void scen_build(struct scen *s);
void scen_free(struct scen *s);

/* "addr:port" of a side as written in the capture (after mapping). */
void scen_node(const struct xconv *x, int side, char *buf, size_t size);

/* Runs argv (argv[0] looked up in PATH), stdout into *out (NUL-ended),
 * stderr discarded.  Returns the exit status, or -1. */
int run_tool(const char *const argv[], char **out, size_t *outlen);

/* One stream of `tshark -z follow,P,raw,N`. */
struct follow {
	char node[2][128];
	uint8_t *bytes[2];	/* node 0 -> node 1, node 1 -> node 0 */
	size_t n[2];
};
/* Follows streams 0..count-1 of proto ("tcp"/"udp"); returns how many
 * were parsed, or -1. */
int follow_streams(const char *path, const char *proto, int count,
		   struct follow *out);
void follow_free(struct follow *f, int count);

char *tmpdir_make(void);
void tmpdir_remove(char *dir);

#endif
