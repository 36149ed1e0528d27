/* Reading tracee memory: one process_vm_readv per buffer, /proc/PID/mem
 * when that is refused.  Failures are the caller's gaps, never fatal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tracer/tracer.h"

static ssize_t read_proc_mem(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

ssize_t st_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	if (len == 0)
		return 0;
	while (done < len) {
		struct iovec local = { (char *)buf + done, len - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done),
					len - done };
		ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

		if (n < 0) {
			if (errno == EFAULT && done)
				break;
			if (errno == ENOSYS || errno == EPERM) {
				n = read_proc_mem(tid, addr + done, local.iov_base,
						  local.iov_len);
				if (n <= 0)
					return done ? (ssize_t)done : n ? n : -EFAULT;
			} else {
				return done ? (ssize_t)done : -errno;
			}
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int st_mem_read_exact(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = st_mem_read(tid, addr, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}
