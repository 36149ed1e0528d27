/* The tracer's state, shared by tracer.c (the loop) and launch.c. */
#ifndef SOCKTAP_TRACER_STATE_H
#define SOCKTAP_TRACER_STATE_H

#include <stdbool.h>
#include <signal.h>

#include "tracer/tracer.h"

#define ST_THREAD_BUCKETS 1024

struct st_thread {
	pid_t tid, tgid;
	bool want_exit;		/* resume with PTRACE_SYSCALL until exit */
	bool started;		/* its first (auto-attach) stop was seen */
	bool announced;		/* the hooks know it (task created) */
	bool foreign_warned;
	bool released;		/* resumed early at this exit (release) */
	bool exit_unwanted;	/* the next syscall stop is an exit we skip */
	bool every_stop;	/* its process's filter could not grow: it
				 * stops at every syscall (PTRACE_SYSCALL) */
	bool in_call;		/* an entry stop was seen; the seccomp stop
				 * of the same call may follow */
	struct st_tracer *tracer;
	struct st_stop pending;	/* the entry being waited on */
	struct {
		int fd;
		bool reads;	/* its reads stop too */
	} watch[8];		/* fds to add to the filter at this exit */
	unsigned nwatch;
	bool watch_overflow;
	void *task;		/* the hooks' per-thread data */
	struct st_thread *next;
};

struct st_tracer {
	bool seccomp;
	bool attach_mode;
	bool stopping;		/* a stop was requested and begun */
	bool killed;		/* launch: every task was sent SIGKILL */
	int stop_requests_seen;
	long long kill_at_ns;	/* launch: the end of the stop's grace
				 * (CLOCK_MONOTONIC) */
	pid_t main_pid;		/* launch: the command's pid */
	bool main_exec_seen;
	int main_status;	/* shell convention */
	bool main_done;
	int exec_errpipe;	/* launch: errno of a failed execve */
	sigset_t child_ignored;	/* st_tracer_opts.ignored */
	char exec_path[4096];
	struct st_thread *threads[ST_THREAD_BUCKETS];
	size_t nthreads;
	struct st_tracer_hooks hooks;
	unsigned char *traced_nr;	/* bitmap over syscall numbers */
	long max_nr;
	struct st_tracer_stats stats;
	bool fd_filter;		/* reads/writes filtered by fd (launch) */
	bool stdout_to_stderr;
	struct st_fdset *fdsets;
	struct st_cpuclock *clocks;	/* attach: per process, cputime.c */
	size_t nclocks, capclocks;
};

extern volatile sig_atomic_t st_tracer_stop_signal;
extern volatile sig_atomic_t st_tracer_stop_requests;
extern volatile sig_atomic_t st_tracer_stop_from_terminal;
extern volatile sig_atomic_t st_tracer_wake_tid;

struct st_thread *st_thread_find(struct st_tracer *t, pid_t tid);
struct st_thread *st_thread_add(struct st_tracer *t, pid_t tid, pid_t tgid);
unsigned st_ptrace_options(const struct st_tracer *t);

/* Attach mode: the CPU time of each traced process (cputime.c).  Begin
 * when it is seized or forked (new_process: its clock starts at 0),
 * sample at each of its threads' exit stops, end when its leader is gone
 * or let go; end_all at the end of the run.  Without a begin, the others
 * do nothing. */
void st_cputime_begin(struct st_tracer *t, pid_t tgid, bool new_process);
void st_cputime_sample(struct st_tracer *t, pid_t tgid);
void st_cputime_end(struct st_tracer *t, pid_t tgid);
void st_cputime_end_all(struct st_tracer *t);

/* What a seccomp filter traces. */
struct st_filter_spec {
	const long *nrs;	/* always traced */
	size_t nnrs;
	const long *fd_nrs;	/* traced when args[0] is in fds */
	size_t nfd_nrs;
	const int *fds;		/* sorted, unique */
	size_t nfds;
	const long *rfd_nrs;	/* receives: traced when args[0] is in rfds */
	size_t nrfd_nrs;
	const int *rfds;	/* sorted, unique */
	size_t nrfds;
	bool trace_all_fds;	/* fd_nrs and rfd_nrs traced whatever the fd */
};

struct sock_filter;
/* base: the launch filter (foreign ABIs traced); else a stacked one. */
int st_seccomp_build(const struct st_filter_spec *spec, bool base,
		     struct sock_filter **out, size_t *outlen);
/* Installs the launch filter in the calling process. */
int st_seccomp_install(const struct st_filter_spec *spec);

/* The fd numbers a process's filters trace reads and writes for. */
struct st_fdset {
	pid_t tgid;
	int *fds;		/* sorted, unique: every socket fd */
	size_t n, cap;
	int *rfds;		/* of those, the ones whose receives stop */
	size_t rn, rcap;
	unsigned filters;	/* stacked so far */
	bool all;		/* gave up precision: every fd traced */
	uint64_t scratch;	/* a page in the tracee for filter programs */
	struct st_fdset *next;
};

struct st_fdset *st_fdset_get(struct st_tracer *t, pid_t tgid, bool create);
struct st_fdset *st_fdset_copy(struct st_tracer *t, pid_t tgid,
			       const struct st_fdset *from);
void st_fdset_drop(struct st_tracer *t, pid_t tgid);
/* Adds a socket fd; reads: its receives stop too (else only its sends:
 * its bytes are recorded by the peer).  1 when the set grew. */
int st_fdset_add(struct st_fdset *s, int fd, bool reads);
/* Receives on fd stop (an older filter may have it, fds only grow). */
bool st_fdset_receives_stop(const struct st_fdset *s, int fd);
/* Fills the fd part of spec: the fd calls of t's hooks, the fds of set. */
void st_fdfilter_spec(const struct st_tracer *t, const struct st_fdset *set,
		      struct st_filter_spec *spec);
/* Makes the stopped thread's process trace reads and writes on the fds
 * of set (one stacked filter).  Returns 0, or -errno; *gone is set when
 * the thread died meanwhile (its wait status in *gone_status). */
int st_fdfilter_inject(struct st_tracer *t, struct st_thread *th,
		       struct st_fdset *set, bool *gone, int *gone_status);

int st_tracer_launch(struct st_tracer *t, char *const *argv, char *err,
		     size_t errlen);
int st_tracer_attach(struct st_tracer *t, const pid_t *pids, size_t n,
		     char *err, size_t errlen);

#endif
