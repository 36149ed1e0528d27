/* Descriptor calls: close, close_range, dup*, fcntl(F_DUPFD*), io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>

#include "handlers/handlers.h"
#include "handlers/sys.h"

enum st_entry_verdict st_sys_close_entry(struct st_hctx *c)
{
	int fd = (int)c->stop->args[0];
	struct st_socket *s;

	if (st_fdtable_lookup(c->task->fdt, fd, &s) != ST_FD_SOCKET) {
		/* not a socket we know: nothing to wait for */
		st_fdtable_forget(c->task->fdt, fd);
		return ST_ENTRY_SKIP;
	}
	st_h_hold(c, fd, s);
	st_h_arg_fd(c, 0, fd, s);
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_close_exit(struct st_hctx *c)
{
	struct st_socket *now = NULL;

	/* Linux frees the fd even when close reports EINTR or EIO.  Another
	 * thread sharing the table may already have got the number back
	 * (its socket() exit handled before this one): then it is not ours
	 * to drop. */
	if (c->task->call.err == EBADF ||
	    st_fdtable_lookup(c->task->fdt, c->task->fd, &now) !=
	    ST_FD_SOCKET || now != c->task->sock)
		return;
	st_fdtable_close(c->task->fdt, c->task->fd);
}

enum st_entry_verdict st_sys_close_range_entry(struct st_hctx *c)
{
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_close_range_exit(struct st_hctx *c)
{
	unsigned first = (unsigned)c->stop->args[0];
	unsigned last = (unsigned)c->stop->args[1];
	unsigned flags = (unsigned)c->stop->args[2];

	if (c->task->call.err)
		return;
	if (flags & CLOSE_RANGE_UNSHARE) {
		struct st_fdtable *n = st_fdtable_copy(c->task->fdt);

		if (n) {
			st_fdtable_unref(c->task->fdt);
			c->task->fdt = n;
		}
	}
	/* CLOSE_RANGE_CLOEXEC only marks them: exec will tell */
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		st_fdtable_close_range(c->task->fdt, first, last);
}

/* dup family: old fd in args[0]; the new fd is the return value */
static enum st_entry_verdict dup_entry(struct st_hctx *c, int newfd)
{
	int oldfd = (int)c->stop->args[0];
	struct st_socket *s = NULL, *t = NULL;

	if (st_fdtable_lookup(c->task->fdt, oldfd, &s) != ST_FD_SOCKET)
		s = st_h_fd_socket(c, oldfd);
	if (newfd >= 0 &&
	    st_fdtable_lookup(c->task->fdt, newfd, &t) != ST_FD_SOCKET)
		t = NULL;
	if (s || t)
		st_h_hold(c, oldfd, s ? s : t);
	else
		c->task->fd = oldfd;
	st_h_arg_fd(c, 0, oldfd, s);
	if (newfd >= 0)
		st_h_arg_fd(c, 1, newfd, t);
	/* the exit is needed even for files: newfd may have been a socket,
	 * and a file landing on a cached number must replace it */
	return ST_ENTRY_WANT_EXIT;
}

static void dup_exit(struct st_hctx *c)
{
	int oldfd = (int)c->stop->args[0];

	if (c->task->call.err)
		return;
	st_fdtable_dup(c->task->fdt, oldfd, (int)c->task->call.ret);
	if (st_fdtable_lookup(c->task->fdt, oldfd, NULL) == ST_FD_SOCKET)
		st_h_watch(c, (int)c->task->call.ret);
	if (c->task->visible)
		c->task->call.ret_sock = c->task->sock;
}

enum st_entry_verdict st_sys_dup_entry(struct st_hctx *c)
{
	return dup_entry(c, -1);
}

enum st_entry_verdict st_sys_dup2_entry(struct st_hctx *c)
{
	return dup_entry(c, (int)c->stop->args[1]);
}

void st_sys_dup_exit(struct st_hctx *c)
{
	dup_exit(c);
}

enum st_entry_verdict st_sys_fcntl_entry(struct st_hctx *c)
{
	int cmd = (int)c->stop->args[1];

	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return ST_ENTRY_SKIP;
	dup_entry(c, -1);
	st_h_arg_text(c, 1, cmd == F_DUPFD ? "F_DUPFD" : "F_DUPFD_CLOEXEC");
	st_h_arg_int(c, 2, (long long)c->stop->args[2]);
	return ST_ENTRY_WANT_EXIT;
}

enum st_entry_verdict st_sys_io_uring_entry(struct st_hctx *c)
{
	return ST_ENTRY_WANT_EXIT;
}

void st_sys_io_uring_exit(struct st_hctx *c)
{
	if (c->task->call.err || c->h->warned_io_uring++)
		return;
	st_h_warn(c, "io_uring_setup: this process uses io_uring; socket "
		     "I/O submitted through it is invisible to socktap");
}
