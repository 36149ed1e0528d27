/*
 * Opening a file that captured data is written to (-w, -o, -x, --json):
 * the one place that decides how an existing file is replaced.
 */
#ifndef SOCKTAP_OUTFILE_H
#define SOCKTAP_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Which file st_outfile_open opened, and whether that open made it. */
struct st_outfile_id {
	bool made;	/* nothing was at the path: this run created it */
	dev_t dev;
	ino_t ino;
};

/*
 * Opens path for writing, the way tcpdump and strace replace a file, with
 * what a file of someone's traffic needs besides: created 0600, never
 * through a symbolic link (planted at path, it is refused), an existing
 * regular file truncated, unless it has other names (a hard link planted
 * to another file is refused, not emptied).  0 with *fd (and *id, unless
 * id is NULL), or a negative errno with "cannot write 'PATH': why" in err.
 */
int st_outfile_open(const char *path, int *fd, struct st_outfile_id *id,
		    char *err, size_t errlen);

#endif
