/*
 * Hand-made conversations for the output tests: events are built the way
 * the model builds them (counters updated before the event is handed
 * out, a global order, the who of the call) and given to the sinks.
 */
#ifndef SOCKTAP_TEST_FAKE_H
#define SOCKTAP_TEST_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "socktap/model.h"

#define FK_MAX_SINKS 4
#define FK_T0 1700000000	/* 2023-11-14 22:13:20 UTC */

struct fk {
	struct st_sink sink[FK_MAX_SINKS];
	int rc[FK_MAX_SINKS];	/* last result of each sink */
	unsigned n;
	uint64_t order;
	struct timespec now;	/* advances 1 ms per event */
	pid_t pid;
	const char *comm;
	int fd;
};

void fk_init(struct fk *f);
void fk_add(struct fk *f, const struct st_sink *s);
/* A conversation as the model makes it (free with free()). */
struct st_conv *fk_conv(struct fk *f, uint64_t id, enum st_proto proto,
			enum st_origin origin, struct st_endpoint a,
			struct st_endpoint b);

/* Each returns the first negative result of a sink, or 0. */
int fk_open(struct fk *f, struct st_conv *c);
int fk_data(struct fk *f, struct st_conv *c, enum st_dir dir,
	    const void *data, size_t len, unsigned flags, size_t orig_len);
int fk_gap(struct fk *f, struct st_conv *c, enum st_dir dir, size_t len,
	   const char *why);
int fk_fin(struct fk *f, struct st_conv *c, enum st_dir dir);
int fk_reset(struct fk *f, struct st_conv *c, enum st_dir dir);
int fk_end(struct fk *f, struct st_conv *c);
int fk_finish(struct fk *f);
void fk_destroy(struct fk *f);

struct st_endpoint fk_ep4(const char *ip, uint16_t port);
struct st_endpoint fk_ep6(const char *ip, uint16_t port);
struct st_endpoint fk_epu(const void *path, size_t len, bool abstract);

/* Whole file (NUL added, *len without it), or NULL. */
char *fk_slurp(const char *path, size_t *len);
/* Runs argv (no shell) with stdin from in_path (or /dev/null), returns
 * exit status, stdout in *out (malloc'd, NUL-terminated). */
int fk_run(char *const argv[], const char *in_path, char **out,
	   size_t *outlen);
/* Peak RSS of this process in KiB. */
long fk_maxrss_kib(void);
/* A fresh private temporary directory (mkdtemp). */
char *fk_tmpdir(void);
/* rm -r of a directory made by fk_tmpdir (one level of subdirs). */
void fk_rmtree(const char *dir);

#endif
