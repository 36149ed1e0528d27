/*
 * Writing a capture file from a second thread, so the tracer (and with it
 * every stopped tracee) never waits for the page cache: the tracer copies
 * into a bounded ring, the writer thread drains it with write(2).
 */
#ifndef SOCKTAP_BGWRITE_H
#define SOCKTAP_BGWRITE_H

#include <stddef.h>

struct st_bgwriter;

/* A writer for fd (borrowed: the caller closes it after
 * st_bgwriter_close) with a ring of ring bytes.  0 or -errno. */
int st_bgwriter_new(int fd, size_t ring, struct st_bgwriter **out);
/* Queues n bytes; blocks while the ring is full.  0, or the first write
 * error the thread met (negative errno), once and ever after. */
int st_bgwriter_write(struct st_bgwriter *b, const void *p, size_t n);
/* Drains the ring, stops the thread, frees b; the first error or 0. */
int st_bgwriter_close(struct st_bgwriter *b);

#endif
