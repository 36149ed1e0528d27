/*
 * Writing a capture file from a second thread, so the tracer (and with it
 * every stopped tracee) never waits for the page cache: the tracer copies
 * into a bounded ring, the writer thread drains it with write(2), helped
 * by the tracer when it waits for a stop anyway.  The file's blocks are
 * allocated a few MiB ahead of the writes (see bgwrite.c); what is left
 * over goes back at close.
 */
#ifndef SOCKTAP_BGWRITE_H
#define SOCKTAP_BGWRITE_H

#include <stddef.h>

struct st_bgwriter;

/* A writer for fd (borrowed: the caller closes it after
 * st_bgwriter_close) with a ring of ring bytes, and reservations of up to
 * slack bytes.  0 or -errno. */
int st_bgwriter_new(int fd, size_t ring, size_t slack,
		    struct st_bgwriter **out);
/* Queues n bytes; blocks while the ring is full.  0, or the first write
 * error the thread met (negative errno), once and ever after. */
int st_bgwriter_write(struct st_bgwriter *b, const void *p, size_t n);
/* Room for n bytes (n <= slack) in the ring, contiguous at *p: the caller
 * builds its data there instead of copying it in.  Blocks while the ring
 * lacks the room.  Until st_bgwriter_commit, nothing else is queued. */
int st_bgwriter_reserve(struct st_bgwriter *b, size_t n, void **p);
/* Queues the first n bytes of the last reservation (n may be less than
 * reserved).  Same result as st_bgwriter_write. */
int st_bgwriter_commit(struct st_bgwriter *b, size_t n);
/*
 * Writes one piece of what waits in the caller's thread, if at least
 * 64 KiB wait and the thread is not writing: piece (a power of two)
 * bounds it, and it ends on a multiple of piece in the file.  Never
 * waits for the lock.  A caller with a CPU to spare (the tracer polling
 * for its next stop) takes the work off the thread, which would take a
 * CPU from the traced program.  Returns the bytes written, 0 for none.
 */
size_t st_bgwriter_help(struct st_bgwriter *b, size_t piece);
/* Drains the ring, stops the thread, frees b; the first error or 0. */
int st_bgwriter_close(struct st_bgwriter *b);

#endif
