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

int st_outfile_open(const char *path, int *fdp, struct st_outfile_id *id,
		    char *err, size_t errlen)
{
	const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	bool made = false;
	int fd, e;

	/* Made here, or opened as it is (a symbolic link there fails with
	 * ELOOP).  No O_TRUNC: only once we know what the file is.  A file
	 * removed between the two opens is made on the next turn. */
	fd = -1;
	for (int turn = 0; turn < 3 && fd < 0; turn++) {
		fd = open(path, flags | O_CREAT | O_EXCL, 0600);
		made = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = open(path, flags);
		if (fd < 0 && errno != ENOENT)
			break;
	}
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
	if (id) {
		id->made = made;
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
	*fdp = fd;
	return 0;
}
