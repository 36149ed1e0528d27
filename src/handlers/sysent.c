/*
 * The syscall table: number -> name and handlers.  The seccomp filter
 * is built from the same list, so a syscall stops iff it has a row.
 * tee, vmsplice and copy_file_range are left out on purpose: they only
 * accept pipes or files, never sockets, and a row would cost a stop.
 */
#include <stddef.h>
#include <sys/syscall.h>

#include "handlers/sys.h"

#define ROW(sys, name, fam) { SYS_##sys, name, st_sys_##fam##_entry, \
			      st_sys_##fam##_exit }

static const struct st_sysent table[] = {
	ROW(socket, "socket", socket),
	ROW(socketpair, "socketpair", socketpair),
	ROW(bind, "bind", bind),
	ROW(listen, "listen", listen),
	ROW(connect, "connect", connect),
	ROW(accept, "accept", accept),
	ROW(accept4, "accept4", accept),
	ROW(shutdown, "shutdown", shutdown),
	ROW(getsockname, "getsockname", getname),
	ROW(getpeername, "getpeername", getname),
	ROW(setsockopt, "setsockopt", sockopt),
	ROW(getsockopt, "getsockopt", sockopt),
	ROW(read, "read", io),
	ROW(write, "write", io),
	ROW(readv, "readv", io),
	ROW(writev, "writev", io),
	ROW(pread64, "pread64", io),
	ROW(pwrite64, "pwrite64", io),
	ROW(preadv, "preadv", io),
	ROW(pwritev, "pwritev", io),
	ROW(preadv2, "preadv2", io),
	ROW(pwritev2, "pwritev2", io),
	ROW(recvfrom, "recvfrom", io),
	ROW(sendto, "sendto", io),
	ROW(recvmsg, "recvmsg", io),
	ROW(sendmsg, "sendmsg", io),
	ROW(recvmmsg, "recvmmsg", io),
	ROW(sendmmsg, "sendmmsg", io),
	ROW(sendfile, "sendfile", sendfile),
	ROW(splice, "splice", splice),
	ROW(close, "close", close),
	ROW(close_range, "close_range", close_range),
	{ SYS_dup, "dup", st_sys_dup_entry, st_sys_dup_exit },
#ifdef SYS_dup2
	{ SYS_dup2, "dup2", st_sys_dup2_entry, st_sys_dup_exit },
#endif
	{ SYS_dup3, "dup3", st_sys_dup2_entry, st_sys_dup_exit },
	{ SYS_fcntl, "fcntl", st_sys_fcntl_entry, st_sys_dup_exit },
	ROW(io_uring_setup, "io_uring_setup", io_uring),
};

#define NROWS (sizeof(table) / sizeof(table[0]))

const struct st_sysent *st_sysent_lookup(long nr)
{
	/* few rows: a linear scan beats a table sized by the largest nr */
	for (size_t i = 0; i < NROWS; i++)
		if (table[i].nr == nr)
			return &table[i];
	return NULL;
}

/* read, write and kin take an fd that may be a file: the launch filter
 * traces them only for socket fds.  recvfrom is filtered the same way,
 * so that a socket whose receives need no stop (its peer is traced, see
 * st_h_watch_sends_only) makes none; the other socket calls always
 * stop. */
static const long send_fd_calls[] = {
	SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_pwritev2,
};
static const long receive_fd_calls[] = {
	SYS_read, SYS_readv, SYS_pread64, SYS_preadv, SYS_preadv2,
	SYS_recvfrom,
};

const long *st_sysent_send_fd_numbers(size_t *n)
{
	*n = sizeof(send_fd_calls) / sizeof(send_fd_calls[0]);
	return send_fd_calls;
}

const long *st_sysent_receive_fd_numbers(size_t *n)
{
	*n = sizeof(receive_fd_calls) / sizeof(receive_fd_calls[0]);
	return receive_fd_calls;
}

const long *st_sysent_numbers(size_t *n)
{
	static long nrs[NROWS];

	for (size_t i = 0; i < NROWS; i++)
		nrs[i] = table[i].nr;
	*n = NROWS;
	return nrs;
}
