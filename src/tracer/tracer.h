/*
 * The tracer: ptrace and seccomp, nothing about sockets.  It launches or
 * attaches, follows every thread and process, and hands syscall stops to
 * the layer above through st_tracer_hooks.
 */
#ifndef SOCKTAP_TRACER_H
#define SOCKTAP_TRACER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* One syscall stop, arch-neutral (PTRACE_GET_SYSCALL_INFO). */
struct st_stop {
	pid_t tid, tgid;
	bool exiting;		/* false: entry, true: exit */
	bool foreign_abi;	/* not the native syscall ABI (i386, x32) */
	long nr;
	uint64_t args[6];
	long ret;		/* exit: the return value (-errno on error) */
	bool is_error;
	struct timespec ts;	/* CLOCK_REALTIME at the stop */
	void **task;		/* the hooks' per-thread data slot */
	/* The handlers found a socket at fd: make sure sends on it stop,
	 * and receives unless reads is false (the launch filter lets other
	 * fds' reads run free).  Called again for fd, the last call wins. */
	void (*watch_fd)(struct st_stop *stop, int fd, bool reads);
	/* At an exit: the handlers have read from the tracee all they
	 * will; it may run on while they finish (records and outputs).
	 * Not after watch_fd. */
	void (*release)(struct st_stop *stop);
};

enum st_entry_verdict {
	ST_ENTRY_SKIP = 0,	/* do not stop at this call's exit */
	ST_ENTRY_WANT_EXIT,	/* stop at exit and call on_exit */
};

struct st_tracer_hooks {
	void *arg;
	/* Syscall numbers that must stop (the seccomp filter's list). */
	const long *nrs;
	size_t nnrs;
	/* Of those, the ones whose args[0] is an fd that only matters when
	 * it is a socket (read, write ...): filtered by fd at launch. */
	const long *fd_nrs;
	size_t nfd_nrs;
	/* Receives of that kind: they may run free on a socket whose bytes
	 * its peer's sends record (watch_fd with reads false). */
	const long *rfd_nrs;
	size_t nrfd_nrs;
	enum st_entry_verdict (*on_entry)(void *arg, struct st_stop *stop);
	void (*on_exit)(void *arg, struct st_stop *stop);
	/* A new traced thread or process.  shares_files: same fd table. */
	void (*on_new_task)(void *arg, void **parent_task, void **child_task,
			    pid_t child_tid, pid_t child_tgid,
			    bool shares_files);
	/* execve succeeded in tid (former_tid: the thread that called it). */
	void (*on_exec)(void *arg, void **task, pid_t tid, pid_t former_tid);
	/* exited: the thread died; false: tracing it stopped (detach),
	 * its descriptors stay open */
	void (*on_task_exit)(void *arg, void **task, pid_t tid, bool exited);
	/* A task seen for the first time at attach. */
	void (*on_attach_task)(void *arg, void **task, pid_t tid, pid_t tgid,
			       void **sibling_task);
	/* An entry stop's thread was resumed into its syscall (the hook
	 * wanted its exit): until that exit it cannot touch its memory, so
	 * what the call sends may be read now, while it runs. */
	void (*on_running)(void *arg, struct st_stop *stop);
	/* A warning worth telling the user (printable text). */
	void (*on_warning)(void *arg, pid_t tid, const char *text);
	/* The loop is about to sleep until the next stop: nothing came for
	 * a while.  A moment to hand buffered output to the kernel, so that
	 * a quiet program's trace is not held back.  Gets idle_arg. */
	void (*on_idle)(void *idle_arg);
	/* The loop polls for a stop that may come any moment, on a CPU it
	 * holds anyway: output deferred to another thread may be written
	 * now, up to about piece bytes.  Returns the bytes written (0:
	 * nothing to do, and the loop yields the CPU).  Gets idle_arg. */
	size_t (*on_spare)(void *idle_arg, size_t piece);
	void *idle_arg;
};

struct st_tracer_opts {
	bool seccomp;		/* launch with a seccomp filter */
	bool fd_filter;		/* and filter reads/writes by fd */
	bool stdout_to_stderr;	/* our stdout carries a capture: the
				 * command's stdout goes to stderr */
	char *const *argv;	/* launch: the command */
	sigset_t ignored;	/* launch: of st_tracer_stop_signals, those
				 * the command starts with ignored (as
				 * socktap was started); the others it
				 * starts with the default action */
	const pid_t *pids;	/* attach: the processes */
	size_t npids;
};

struct st_tracer;

/* Launches or attaches.  On failure *err gets a one-line reason. */
int st_tracer_start(const struct st_tracer_opts *opts,
		    const struct st_tracer_hooks *hooks,
		    struct st_tracer **out, char *err, size_t errlen);
/*
 * Runs until no traced task is left or a stop was requested.
 * *status: the launched command's exit status in shell convention
 * (128+N for a signal), or 0 in attach mode.
 */
int st_tracer_run(struct st_tracer *t, int *status);
/*
 * Asks the loop to end (async-signal-safe).  Attach mode detaches.
 * Launch mode passes signo on to the command (unless from_terminal and
 * the command is in socktap's process group: the terminal signalled it
 * too), goes on tracing while it ends, and kills what is left after
 * ST_STOP_GRACE_MS or at a second request.
 */
#define ST_STOP_GRACE_MS 3000
/* The signals that ask for a stop: SIGINT, SIGTERM, SIGHUP, SIGQUIT (as
 * strace takes them); 0-terminated. */
extern const int st_tracer_stop_signals[];
#define ST_STOP_GRACE_TEXT "3 s"
void st_tracer_request_stop(int signo, bool from_terminal);
void st_tracer_free(struct st_tracer *t);

/* Reads tracee memory; returns bytes read (may be short) or -errno. */
ssize_t st_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len);
/* Reads a NUL-free block exactly; 0 or -errno (-EFAULT when short). */
int st_mem_read_exact(pid_t tid, uint64_t addr, void *buf, size_t len);

/* Checks a command can be run; fills path with its resolved form. */
int st_tracer_find_command(const char *cmd, char *path, size_t size,
			   char *err, size_t errlen);

/* Statistics for the performance breakdown. */
struct st_tracer_stats {
	uint64_t stops_seccomp, stops_entry, stops_exit, stops_signal,
		 stops_event, entries_skipped, filters_injected,
		 filter_failures;
	uint64_t fds_receive_free;	/* sockets whose receives never stop */
	uint64_t released_early;	/* exits resumed before the outputs */
	uint64_t exits_unasked;		/* exits resumed without a question */
	/* attach: CPU time of the traced processes while traced, and how
	 * many could not be read (see cputime.c) */
	uint64_t tracee_cpu_ns, tracees_cpu_unread;
};
void st_tracer_get_stats(const struct st_tracer *t,
			 struct st_tracer_stats *stats);

#endif
