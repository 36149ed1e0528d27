/* Opening an output file (see outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/outfile.h"

static int fail(int e, const char *path, const char *why, char *err,
		size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "cannot write '%s': %s", path,
			 why ? why : strerror(e));
	return -e;
}

int st_outfile_open(const char *path, int *fdp, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	/* no O_TRUNC here: only once we know what the file is */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return fail(e, path, "it is a symbolic link; refusing "
				    "to follow it", err, errlen);
		return fail(e, path, NULL, err, errlen);
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return fail(e, path, NULL, err, errlen);
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1) {
			close(fd);
			return fail(EMLINK, path, "it has several hard links; "
				    "refusing to overwrite it", err, errlen);
		}
		/* Only a file with bytes in it: ext4 takes a truncation to
		 * zero for a file being replaced, and then flushes the whole
		 * new file to disk at close, which for a capture costs as
		 * much as writing it. */
		if (st.st_size > 0 && ftruncate(fd, 0) < 0) {
			e = errno;
			close(fd);
			return fail(e, path, NULL, err, errlen);
		}
	}
	*fdp = fd;
	return 0;
}
