/* Starting a trace: launching a command under seccomp, or attaching. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "tracer/tracer_int.h"

static int check_exec(const char *path, char *err, size_t errlen,
		      const char *cmd)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", cmd,
			 strerror(errno));
		return -errno;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "cannot run '%s': Is a directory", cmd);
		return -EISDIR;
	}
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", cmd,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int st_tracer_find_command(const char *cmd, char *path, size_t size,
			   char *err, size_t errlen)
{
	const char *p, *env;

	if (!cmd || !*cmd) {
		snprintf(err, errlen, "empty command name");
		return -EINVAL;
	}
	if (strchr(cmd, '/')) {
		if ((size_t)snprintf(path, size, "%s", cmd) >= size) {
			snprintf(err, errlen, "command path too long");
			return -ENAMETOOLONG;
		}
		return check_exec(path, err, errlen, cmd);
	}
	env = getenv("PATH");
	if (!env || !*env)
		env = "/usr/local/bin:/usr/bin:/bin";
	for (p = env; p; ) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		struct stat sb;

		if ((size_t)snprintf(path, size, "%.*s%s%s", (int)dlen, p,
				     dlen ? "/" : "", cmd) < size &&
		    stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(path, X_OK) == 0)
			return 0;
		p = end ? end + 1 : NULL;
	}
	snprintf(err, errlen, "cannot run '%s': command not found", cmd);
	return -ENOENT;
}

static void bitmap_init(struct st_tracer *t)
{
	long max = 0;

	for (size_t i = 0; i < t->hooks.nnrs; i++)
		if (t->hooks.nrs[i] > max)
			max = t->hooks.nrs[i];
	t->max_nr = max;
	t->traced_nr = calloc((size_t)max / 8 + 1, 1);
	if (!t->traced_nr)
		return;
	for (size_t i = 0; i < t->hooks.nnrs; i++)
		if (t->hooks.nrs[i] >= 0)
			t->traced_nr[t->hooks.nrs[i] / 8] |=
				(unsigned char)(1u << (t->hooks.nrs[i] % 8));
}

/* The sockets the command inherits from us (stdin from a socket, say):
 * its filter must trace reads and writes on them from the start. */
static int inherited_sockets(struct st_fdset *set)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), fl;
		struct stat sb;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    fd == dirfd(d) || fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode))
			continue;
		fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			st_fdset_add(set, fd, true);
	}
	closedir(d);
	return 0;
}

static bool is_fd_nr(const struct st_tracer *t, long nr)
{
	for (size_t i = 0; i < t->hooks.nfd_nrs; i++)
		if (t->hooks.fd_nrs[i] == nr)
			return true;
	for (size_t i = 0; i < t->hooks.nrfd_nrs; i++)
		if (t->hooks.rfd_nrs[i] == nr)
			return true;
	return false;
}

static int install_filter(struct st_tracer *t, const struct st_fdset *set)
{
	struct st_filter_spec spec = { 0 };
	long *nrs = calloc(t->hooks.nnrs + 1, sizeof(*nrs));
	int rc;

	if (!nrs)
		return -ENOMEM;
	for (size_t i = 0; i < t->hooks.nnrs; i++)
		if (!t->fd_filter || !is_fd_nr(t, t->hooks.nrs[i]))
			nrs[spec.nnrs++] = t->hooks.nrs[i];
	spec.nrs = nrs;
	if (t->fd_filter)
		st_fdfilter_spec(t, set, &spec);
	rc = st_seccomp_install(&spec);
	free(nrs);
	return rc;
}

/*
 * The stop signals go back at once to what the command would have had
 * without socktap (ignored, or the default): exec would reset socktap's
 * handlers, but a signal passed on to the command before its exec must
 * not be taken for a stop request of the child's own.
 */
static void command_stop_signals(const struct st_tracer *t)
{
	for (const int *sig = st_tracer_stop_signals; *sig; sig++)
		signal(*sig, sigismember(&t->child_ignored, *sig) == 1
				     ? SIG_IGN : SIG_DFL);
}

/* In the child: stopped until seized, then filter, then exec. */
static void __attribute__((noreturn))
child_exec(struct st_tracer *t, char *const *argv, int errfd,
	   const struct st_fdset *set)
{
	int err;

	command_stop_signals(t);
	if (t->stdout_to_stderr && dup2(2, 1) < 0)
		goto fail;
	if (kill(getpid(), SIGSTOP) < 0)
		goto fail;
	if (t->seccomp) {
		err = install_filter(t, set);
		if (err < 0) {
			errno = -err;
			goto fail;
		}
	}
	execv(t->exec_path, argv);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int st_tracer_launch(struct st_tracer *t, char *const *argv, char *err,
		     size_t errlen)
{
	int pipefd[2], status, rc;
	struct st_thread *th;
	struct st_fdset initial = { 0 };
	pid_t pid;

	rc = st_tracer_find_command(argv[0], t->exec_path,
				    sizeof(t->exec_path), err, errlen);
	if (rc < 0)
		return rc;
	if (t->fd_filter)
		inherited_sockets(&initial);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(initial.fds);
		free(initial.rfds);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		free(initial.fds);
		free(initial.rfds);
		close(pipefd[0]);
		close(pipefd[1]);
		return rc;
	}
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(t, argv, pipefd[1], &initial);
	}
	if (t->fd_filter)
		st_fdset_copy(t, pid, &initial);
	free(initial.fds);
	free(initial.rfds);
	close(pipefd[1]);
	t->exec_errpipe = pipefd[0];
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	t->main_pid = pid;

	/* a stop request (Ctrl-C) interrupts the wait; the run loop
	 * answers it once the command is ours */
	while ((rc = waitpid(pid, &status, WSTOPPED)) < 0 && errno == EINTR)
		;
	if (rc < 0 || !WIFSTOPPED(status)) {
		snprintf(err, errlen, "the command did not start");
		return -ECHILD;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, (long)st_ptrace_options(t)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot trace the command: %s",
			 strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return rc;
	}
	th = st_thread_add(t, pid, pid);
	if (!th)
		return -ENOMEM;
	th->started = true;
	th->announced = true;
	if (t->hooks.on_attach_task)
		t->hooks.on_attach_task(t->hooks.arg, &th->task, pid, pid,
					NULL);
	kill(pid, SIGCONT);
	return 0;
}

/* TracerPid of tid (0: none, or unknown); *state: its State letter, or
 * 0 when it is gone. */
static long tracer_of(pid_t tid, char *state)
{
	char path[64], line[256];
	long tracer = 0;
	FILE *f;

	*state = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "State: %c", state) == 1)
				continue;
			if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
				break;
		}
		fclose(f);
	}
	return tracer;
}

/* PTRACE_SEIZE of tid, a thread of a process being seized, said EPERM
 * without it being another tracer's: it was born of a thread seized
 * already (the kernel attached it to us, PTRACE_O_TRACECLONE; its first
 * stop tells the loop), or it is exiting (gone, a zombie). */
static bool seize_refusal_harmless(pid_t tid)
{
	char state;
	long tracer = tracer_of(tid, &state);

	return tracer == getpid() || state == 0 || state == 'Z' ||
	       state == 'X';
}

/* Explains why the kernel refused PTRACE_SEIZE of tid. */
static void explain_attach(pid_t pid, pid_t tid, int e, char *err,
			   size_t errlen)
{
	char state;
	long tracer = tracer_of(tid, &state);
	FILE *f;

	if (e == EPERM && tracer > 0) {
		snprintf(err, errlen,
			 "cannot attach to pid %d: already traced by pid %ld",
			 (int)pid, tracer);
		return;
	}
	if (e == EPERM) {
		int scope = -1;

		f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
		if (f) {
			if (fscanf(f, "%d", &scope) != 1)
				scope = -1;
			fclose(f);
		}
		if (scope >= 1 && geteuid() != 0)
			snprintf(err, errlen,
				 "cannot attach to pid %d: refused by Yama "
				 "(kernel.yama.ptrace_scope=%d; run as root "
				 "or launch the command under socktap)",
				 (int)pid, scope);
		else
			snprintf(err, errlen,
				 "cannot attach to pid %d: operation not "
				 "permitted (another user's or a non-dumpable "
				 "process needs CAP_SYS_PTRACE)", (int)pid);
		return;
	}
	snprintf(err, errlen, "cannot attach to pid %d: %s", (int)pid,
		 e == ESRCH ? "no such process" : strerror(e));
}

/* Seizes every thread of pid, re-reading the task list until it holds
 * still (threads may be created meanwhile). */
static int attach_process(struct st_tracer *t, pid_t pid, char *err,
			  size_t errlen)
{
	char path[64];
	bool again = true;
	void **sibling = NULL;	/* the task slot of a thread seized before */
	int seized = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	while (again) {
		DIR *d = opendir(path);
		struct dirent *de;

		if (!d) {
			explain_attach(pid, pid, ESRCH, err, errlen);
			return -ESRCH;
		}
		again = false;
		while ((de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);
			struct st_thread *th;

			if (tid <= 0 || st_thread_find(t, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, 0,
				   (long)st_ptrace_options(t)) < 0) {
				int e = errno;

				if (e == ESRCH && seized)
					continue;	/* thread exited */
				if (e == EPERM && seized &&
				    seize_refusal_harmless(tid))
					continue;
				closedir(d);
				explain_attach(pid, tid, e, err, errlen);
				return -e;
			}
			th = st_thread_add(t, tid, pid);
			if (!th) {
				closedir(d);
				return -ENOMEM;
			}
			th->started = true;
			th->announced = true;
			if (t->hooks.on_attach_task)
				t->hooks.on_attach_task(t->hooks.arg,
							&th->task, tid, pid,
							sibling);
			sibling = &th->task;
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			seized++;
			again = true;
		}
		closedir(d);
	}
	st_cputime_begin(t, pid, false);
	return 0;
}

int st_tracer_attach(struct st_tracer *t, const pid_t *pids, size_t n,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (pids[i] <= 0) {
			snprintf(err, errlen, "invalid pid %d", (int)pids[i]);
			return -EINVAL;
		}
		if (pids[i] == getpid()) {
			snprintf(err, errlen, "cannot attach to myself");
			return -EINVAL;
		}
		rc = attach_process(t, pids[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int st_tracer_start(const struct st_tracer_opts *opts,
		    const struct st_tracer_hooks *hooks,
		    struct st_tracer **out, char *err, size_t errlen)
{
	struct st_tracer *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->hooks = *hooks;
	t->exec_errpipe = -1;
	t->attach_mode = opts->npids > 0;
	t->seccomp = !t->attach_mode && opts->seccomp;
	t->stdout_to_stderr = opts->stdout_to_stderr;
	t->child_ignored = opts->ignored;
	t->fd_filter = t->seccomp && opts->fd_filter && ST_ARCH_CAN_INJECT &&
		       hooks->nfd_nrs > 0;
	bitmap_init(t);
	if (!t->traced_nr) {
		free(t);
		return -ENOMEM;
	}
	if (t->attach_mode)
		rc = st_tracer_attach(t, opts->pids, opts->npids, err, errlen);
	else
		rc = st_tracer_launch(t, opts->argv, err, errlen);
	if (rc < 0) {
		/* attach: let go of what was already seized */
		if (t->attach_mode) {
			for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
				for (struct st_thread *th = t->threads[b]; th;
				     th = th->next)
					ptrace(PTRACE_DETACH, th->tid, 0, 0);
		}
		st_tracer_free(t);
		return rc;
	}
	*out = t;
	return 0;
}
