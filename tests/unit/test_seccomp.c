/* The seccomp filters, run by the kernel: in a child with no tracer a
 * SECCOMP_RET_TRACE verdict makes the call fail with ENOSYS, so each
 * call tells which verdict it got. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tracer/tracer_int.h"

static const long sends[] = { SYS_write };
static const long receives[] = { SYS_read, SYS_recvfrom };

/* true: the call stopped (ENOSYS), false: it ran */
static bool stops(long nr, int fd)
{
	char b = 'x';
	long r;

	errno = 0;
	if (nr == SYS_write)
		r = syscall(SYS_write, fd, &b, 1);
	else if (nr == SYS_read)
		r = syscall(SYS_read, fd, &b, 1);
	else
		r = syscall(nr, fd, &b, 1, MSG_DONTWAIT, NULL, NULL);
	return r < 0 && errno == ENOSYS;
}

struct expect {
	long nr;
	int fd;
	bool stop;
};

/* Installs spec in a child with sockets at fds 3..12 (data waiting on
 * each), runs the calls; the child's exit status is 0 or 1 + the index
 * of the first call whose verdict was not the one expected. */
static int run(const struct st_filter_spec *spec, const struct expect *e,
	       int n)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (int fd = 3; fd <= 12; fd++) {
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
			    dup2(sv[0], fd) < 0 || write(sv[1], "abc", 3) != 3)
				_exit(100);
			/* the peer ends stay open above 12 */
			if (dup2(sv[1], 40 + fd) < 0)
				_exit(100);
			if (sv[0] > 12)
				close(sv[0]);
			if (sv[1] > 12)
				close(sv[1]);
		}
		if (st_seccomp_install(spec) < 0)
			_exit(101);
		for (int i = 0; i < n; i++)
			if (stops(e[i].nr, e[i].fd) != e[i].stop)
				_exit(1 + i);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child died: %#x", status);
	return WEXITSTATUS(status);
}

Test(seccomp, receives_have_their_own_fd_set)
{
	static const int fds[] = { 7, 8 }, rfds[] = { 8 };
	struct st_filter_spec spec = {
		.fd_nrs = sends, .nfd_nrs = 1, .fds = fds, .nfds = 2,
		.rfd_nrs = receives, .nrfd_nrs = 2, .rfds = rfds, .nrfds = 1,
	};
	static const struct expect e[] = {
		{ SYS_write, 7, true }, { SYS_write, 8, true },
		{ SYS_write, 9, false },
		{ SYS_read, 7, false }, { SYS_read, 8, true },
		{ SYS_read, 9, false },
		{ SYS_recvfrom, 7, false }, { SYS_recvfrom, 8, true },
		{ SYS_recvfrom, 3, false },
	};
	int rc = run(&spec, e, sizeof(e) / sizeof(e[0]));

	cr_assert_eq(rc, 0, "call %d got the wrong verdict", rc - 1);
}

Test(seccomp, fd_runs_and_everything)
{
	static const int fds[] = { 3, 4, 5, 6, 10 }, rfds[] = { 4, 5, 11 };
	struct st_filter_spec spec = {
		.fd_nrs = sends, .nfd_nrs = 1, .fds = fds, .nfds = 5,
		.rfd_nrs = receives, .nrfd_nrs = 2, .rfds = rfds, .nrfds = 3,
	};
	static const struct expect ranges[] = {
		{ SYS_write, 3, true }, { SYS_write, 4, true },
		{ SYS_write, 6, true }, { SYS_write, 7, false },
		{ SYS_write, 9, false }, { SYS_write, 10, true },
		{ SYS_write, 11, false },
		{ SYS_read, 3, false }, { SYS_read, 4, true },
		{ SYS_read, 5, true }, { SYS_read, 6, false },
		{ SYS_read, 11, true }, { SYS_read, 12, false },
	};
	static const struct expect all[] = {
		{ SYS_write, 9, true }, { SYS_read, 12, true },
		{ SYS_recvfrom, 3, true },
	};
	int rc = run(&spec, ranges, sizeof(ranges) / sizeof(ranges[0]));

	cr_assert_eq(rc, 0, "call %d got the wrong verdict", rc - 1);
	spec.trace_all_fds = true;
	rc = run(&spec, all, sizeof(all) / sizeof(all[0]));
	cr_assert_eq(rc, 0, "every fd: call %d got the wrong verdict", rc - 1);
}
