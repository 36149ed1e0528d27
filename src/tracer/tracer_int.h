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
	struct st_stop pending;	/* the entry being waited on */
	void *task;		/* the hooks' per-thread data */
	struct st_thread *next;
};

struct st_tracer {
	bool seccomp;
	bool attach_mode;
	bool stopping;		/* a stop was requested and begun */
	pid_t main_pid;		/* launch: the command's pid */
	bool main_exec_seen;
	int main_status;	/* shell convention */
	bool main_done;
	int exec_errpipe;	/* launch: errno of a failed execve */
	char exec_path[4096];
	struct st_thread *threads[ST_THREAD_BUCKETS];
	size_t nthreads;
	struct st_tracer_hooks hooks;
	unsigned char *traced_nr;	/* bitmap over syscall numbers */
	long max_nr;
	struct st_tracer_stats stats;
};

extern volatile sig_atomic_t st_tracer_stop_signal;
extern volatile sig_atomic_t st_tracer_wake_tid;

struct st_thread *st_thread_find(struct st_tracer *t, pid_t tid);
struct st_thread *st_thread_add(struct st_tracer *t, pid_t tid, pid_t tgid);
unsigned st_ptrace_options(const struct st_tracer *t);

/* Installs the launch filter in the calling process: the listed
 * syscalls (and any foreign-ABI call) stop the tracer. */
int st_seccomp_install(const long *nrs, size_t n);

int st_tracer_launch(struct st_tracer *t, char *const *argv, char *err,
		     size_t errlen);
int st_tracer_attach(struct st_tracer *t, const pid_t *pids, size_t n,
		     char *err, size_t errlen);

#endif
