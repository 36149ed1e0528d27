/*
 * The tracer's loop: waits for stops, tells syscall stops to the hooks,
 * follows new tasks and exec, and passes every signal on unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "tracer/tracer_int.h"

const int st_tracer_stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, 0 };

volatile sig_atomic_t st_tracer_stop_signal;
volatile sig_atomic_t st_tracer_stop_requests;
volatile sig_atomic_t st_tracer_stop_from_terminal;
volatile sig_atomic_t st_tracer_wake_tid;

static unsigned bucket(pid_t tid)
{
	return (unsigned)tid % ST_THREAD_BUCKETS;
}

struct st_thread *st_thread_find(struct st_tracer *t, pid_t tid)
{
	struct st_thread *th = t->threads[bucket(tid)];

	while (th && th->tid != tid)
		th = th->next;
	return th;
}

struct st_thread *st_thread_add(struct st_tracer *t, pid_t tid, pid_t tgid)
{
	struct st_thread *th = calloc(1, sizeof(*th));

	if (!th)
		return NULL;
	th->tid = tid;
	th->tgid = tgid;
	th->tracer = t;
	th->next = t->threads[bucket(tid)];
	t->threads[bucket(tid)] = th;
	t->nthreads++;
	st_tracer_wake_tid = tid;
	return th;
}

static void thread_del(struct st_tracer *t, struct st_thread *th)
{
	struct st_thread **pp = &t->threads[bucket(th->tid)];

	while (*pp && *pp != th)
		pp = &(*pp)->next;
	if (*pp)
		*pp = th->next;
	t->nthreads--;
	if (st_tracer_wake_tid == th->tid) {
		st_tracer_wake_tid = 0;
		for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
			if (t->threads[b]) {
				st_tracer_wake_tid = t->threads[b]->tid;
				break;
			}
	}
	free(th);
}

/* exited: the thread is dead; else we only stopped tracing it.  The
 * leader's exit is reported after every other thread's, and when it is
 * let go the process lives on: either way its CPU clock is read now. */
static void task_gone(struct st_tracer *t, struct st_thread *th, bool exited)
{
	if (th->tid == th->tgid)
		st_cputime_end(t, th->tgid);
	if (th->announced && t->hooks.on_task_exit)
		t->hooks.on_task_exit(t->hooks.arg, &th->task, th->tid,
				      exited);
	thread_del(t, th);
}

unsigned st_ptrace_options(const struct st_tracer *t)
{
	unsigned o = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC |
		     PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		     PTRACE_O_TRACECLONE;

	if (!t->attach_mode)
		o |= PTRACE_O_EXITKILL;
	else
		o |= PTRACE_O_TRACEEXIT;	/* CPU time: cputime.c */
	if (t->seccomp)
		o |= PTRACE_O_TRACESECCOMP;
	return o;
}

void st_tracer_request_stop(int signo, bool from_terminal)
{
	pid_t wake = st_tracer_wake_tid;

	st_tracer_stop_signal = signo;
	st_tracer_stop_from_terminal = from_terminal;
	st_tracer_stop_requests++;
	/* wake the loop out of waitpid() with a ptrace-stop */
	if (wake > 0)
		ptrace(PTRACE_INTERRUPT, wake, 0, 0);
}

static void resume(struct st_tracer *t, struct st_thread *th, int sig)
{
	/* without the filter every syscall must be stopped at */
	int req = (!t->seccomp || th->want_exit || th->every_stop)
			  ? PTRACE_SYSCALL : PTRACE_CONT;

	ptrace(req, th->tid, 0, (long)sig);	/* ESRCH: it died; fine */
}

/* ------------------------------------------------------------------ */

static bool nr_traced(const struct st_tracer *t, long nr)
{
	return nr >= 0 && nr <= t->max_nr &&
	       (t->traced_nr[nr / 8] & (1u << (nr % 8)));
}

/* The thread whose pending stop this is. */
static struct st_thread *thread_of(struct st_stop *stop)
{
	return (struct st_thread *)((char *)stop -
				    offsetof(struct st_thread, pending));
}

static void watch_fd(struct st_stop *stop, int fd, bool reads)
{
	struct st_thread *th = thread_of(stop);

	for (unsigned i = 0; i < th->nwatch; i++) {
		if (th->watch[i].fd == fd) {
			th->watch[i].reads = reads;
			return;
		}
	}
	if (th->nwatch < sizeof(th->watch) / sizeof(th->watch[0])) {
		th->watch[th->nwatch].fd = fd;
		th->watch[th->nwatch++].reads = reads;
	} else {
		th->watch_overflow = true;
	}
}

/* The thread runs on at once: the rest of its exit's work (the model,
 * packets, output) overlaps with it instead of keeping it stopped. */
static void release_early(struct st_stop *stop)
{
	struct st_thread *th = thread_of(stop);

	if (th->released || th->nwatch || th->watch_overflow)
		return;
	resume(th->tracer, th, 0);
	th->released = true;
	th->tracer->stats.released_early++;
}

static void handle_gone(struct st_tracer *t, pid_t pid, int status);

static void warn(struct st_tracer *t, pid_t tid, const char *text)
{
	if (t->hooks.on_warning)
		t->hooks.on_warning(t->hooks.arg, tid, text);
}

/* Every thread of process tgid stops at every syscall from its next
 * resume on (its children inherit it: new_task). */
static void every_stop(struct st_tracer *t, pid_t tgid)
{
	for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
		for (struct st_thread *th = t->threads[b]; th; th = th->next)
			if (th->tgid == tgid)
				th->every_stop = true;
}

/*
 * New socket fds seen at this exit: grow the process's read/write filter
 * before the thread runs on.  Returns false when the thread died.
 */
static bool apply_watches(struct st_tracer *t, struct st_thread *th)
{
	struct st_fdset *set = st_fdset_get(t, th->tgid, true);
	bool grown = false, gone = false;
	int status = 0, rc;
	char msg[160];

	if (!set) {
		th->nwatch = 0;
		return true;
	}
	for (unsigned i = 0; i < th->nwatch; i++) {
		if (st_fdset_add(set, th->watch[i].fd, th->watch[i].reads) > 0)
			grown = true;
		if (!st_fdset_receives_stop(set, th->watch[i].fd))
			t->stats.fds_receive_free++;
	}
	if (th->watch_overflow && !set->all) {
		set->n = set->rn = 0;	/* too many at once: every fd */
		set->filters = 1000;
		grown = true;
	}
	th->nwatch = 0;
	th->watch_overflow = false;
	if (!grown || set->all)
		return true;
	rc = st_fdfilter_inject(t, th, set, &gone, &status);
	if (gone) {
		handle_gone(t, th->tid, status);
		return false;
	}
	if (rc == 0) {
		t->stats.filters_injected++;
		return true;
	}
	/*
	 * Typically EACCES: the process dropped CAP_SYS_ADMIN (a daemon
	 * started as root that changed user), and a filter needs it or
	 * no_new_privs, which socktap will not impose.  Its new sockets'
	 * reads and writes would go unseen: from now on every syscall of
	 * the process stops, as in attach mode.
	 */
	t->stats.filter_failures++;
	set->all = true;
	every_stop(t, th->tgid);
	snprintf(msg, sizeof(msg), "could not extend the seccomp filter (%s): "
		 "every system call of this process stops from now on (slower)",
		 strerror(-rc));
	warn(t, th->tid, msg);
	return true;
}

static void handle_syscall(struct st_tracer *t, struct st_thread *th,
			   const struct timespec *ts)
{
	struct __ptrace_syscall_info info;
	struct st_stop *st = &th->pending;

	/* Resumed with PTRACE_SYSCALL from an entry that wanted no exit:
	 * this stop is that call's exit (entry and exit stops alternate,
	 * a restarted call included), and nothing about it is needed.
	 * Without a filter (attach mode) every call of the program comes
	 * here: one ptrace request fewer for each. */
	if (th->exit_unwanted) {
		th->exit_unwanted = false;
		th->in_call = false;
		if (!th->nwatch && !th->watch_overflow) {
			t->stats.stops_exit++;
			t->stats.exits_unasked++;
			resume(t, th, 0);
			return;
		}
	}
	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, th->tid, sizeof(info), &info) <= 0) {
		resume(t, th, 0);
		return;
	}
	if (info.op == PTRACE_SYSCALL_INFO_ENTRY ||
	    info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
		enum st_entry_verdict v = ST_ENTRY_SKIP;
		long nr = (long)info.entry.nr;

		if (info.op == PTRACE_SYSCALL_INFO_SECCOMP)
			t->stats.stops_seccomp++;
		else
			t->stats.stops_entry++;
		th->want_exit = false;
		th->in_call = info.op == PTRACE_SYSCALL_INFO_ENTRY;
		if (info.arch != ST_AUDIT_ARCH ||
		    (ST_SYSCALL_FOREIGN_BIT &&
		     ((unsigned long)nr & ST_SYSCALL_FOREIGN_BIT))) {
			if (!th->foreign_warned && t->hooks.on_warning)
				t->hooks.on_warning(t->hooks.arg, th->tid,
					"syscalls of a foreign ABI (32-bit or x32) "
					"are not traced in this process");
			th->foreign_warned = true;
		} else if (nr_traced(t, nr)) {
			memset(st, 0, sizeof(*st));
			st->tid = th->tid;
			st->tgid = th->tgid;
			st->nr = nr;
			memcpy(st->args, info.entry.args, sizeof(st->args));
			st->ts = *ts;
			st->task = &th->task;
			st->watch_fd = t->fd_filter ? watch_fd : NULL;
			v = t->hooks.on_entry(t->hooks.arg, st);
		}
		if (v == ST_ENTRY_WANT_EXIT)
			th->want_exit = true;
		else
			t->stats.entries_skipped++;
		/* what resume() asks for: PTRACE_SYSCALL stops at the exit */
		th->exit_unwanted = !th->want_exit &&
				    (!t->seccomp || th->every_stop);
		resume(t, th, 0);
		if (th->want_exit && t->hooks.on_running)
			t->hooks.on_running(t->hooks.arg, st);
		return;
	}
	if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
		t->stats.stops_exit++;
		th->in_call = false;
		if (th->want_exit) {
			th->want_exit = false;
			st->exiting = true;
			st->ret = (long)info.exit.rval;
			st->is_error = info.exit.is_error;
			st->ts = *ts;
			st->task = &th->task;
			st->watch_fd = t->fd_filter ? watch_fd : NULL;
			st->release = release_early;
			t->hooks.on_exit(t->hooks.arg, st);
			st->release = NULL;
			if (th->released) {
				th->released = false;
				return;
			}
		}
		if (th->nwatch || th->watch_overflow) {
			/* thread-safety: th may be freed if it died */
			if (!apply_watches(t, th))
				return;
		}
	}
	resume(t, th, 0);
}

static pid_t read_tgid(pid_t tid)
{
	char path[64], buf[512];
	pid_t tgid = tid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static void new_task(struct st_tracer *t, struct st_thread *parent, int event)
{
	unsigned long msg = 0;
	struct st_thread *child;
	pid_t ctid, ctgid;
	bool shares;

	if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0, &msg) < 0)
		return;
	ctid = (pid_t)msg;
	ctgid = event == PTRACE_EVENT_CLONE ? read_tgid(ctid) : ctid;
	/* kcmp says whether the fd table is shared (CLONE_FILES) */
	shares = syscall(SYS_kcmp, parent->tid, ctid, KCMP_FILES, 0, 0) == 0;
	child = st_thread_find(t, ctid);
	if (!child) {
		child = st_thread_add(t, ctid, ctgid);
		if (!child)
			return;
	}
	child->tgid = ctgid;
	child->every_stop = parent->every_stop;
	if (ctgid != parent->tgid) {
		st_cputime_begin(t, ctgid, true);
		if (t->fd_filter)
			st_fdset_copy(t, ctgid,
				      st_fdset_get(t, parent->tgid, false));
	}
	if (t->hooks.on_new_task)
		t->hooks.on_new_task(t->hooks.arg, &parent->task, &child->task,
				     ctid, ctgid, shares);
	child->announced = true;
	/* the child's first stop may already have been reported */
	if (child->started)
		resume(t, child, 0);
}

static void handle_exec(struct st_tracer *t, struct st_thread *th)
{
	unsigned long msg = 0;
	pid_t former;

	ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &msg);
	former = (pid_t)msg;
	if (former && former != th->tid) {
		/* a non-leader thread exec'd and took over the leader's
		 * pid: its state moves here, the old leader is gone */
		struct st_thread *old = st_thread_find(t, former);

		if (old) {
			void *task = old->task;

			old->task = NULL;
			old->announced = false;
			thread_del(t, old);
			if (th->announced && t->hooks.on_task_exit)
				t->hooks.on_task_exit(t->hooks.arg, &th->task,
						      th->tid, true);
			th->task = task;
			th->announced = true;
		}
	}
	th->want_exit = false;
	if (t->fd_filter) {
		struct st_fdset *set = st_fdset_get(t, th->tgid, false);

		if (set)
			set->scratch = 0;	/* the new image has no such page */
	}
	if (th->tid == t->main_pid)
		t->main_exec_seen = true;
	if (t->hooks.on_exec)
		t->hooks.on_exec(t->hooks.arg, &th->task, th->tid, former);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
	       sig == SIGTTOU;
}

static void detach(struct st_tracer *t, struct st_thread *th, int sig)
{
	ptrace(PTRACE_DETACH, th->tid, 0, (long)sig);
	task_gone(t, th, false);
}

static void handle_stop(struct st_tracer *t, struct st_thread *th, int status,
			const struct timespec *ts)
{
	int sig = WSTOPSIG(status);
	int event = (unsigned)status >> 16;

	if (sig == (SIGTRAP | 0x80)) {
		if (t->stopping && t->attach_mode)
			return detach(t, th, 0);
		return handle_syscall(t, th, ts);
	}
	switch (event) {
	case 0:
		/* signal-delivery-stop: pass the signal on unchanged */
		t->stats.stops_signal++;
		if (t->stopping && t->attach_mode)
			return detach(t, th, sig);
		return resume(t, th, sig);
	case PTRACE_EVENT_SECCOMP:
		if (t->stopping && t->attach_mode)
			return detach(t, th, 0);
		/* every stop: the filter's stop of a call whose entry stop
		 * came first and was handled */
		if (th->in_call)
			return resume(t, th, 0);
		return handle_syscall(t, th, ts);
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		t->stats.stops_event++;
		new_task(t, th, event);
		break;
	case PTRACE_EVENT_EXEC:
		t->stats.stops_event++;
		handle_exec(t, th);
		break;
	case PTRACE_EVENT_EXIT:
		t->stats.stops_event++;
		st_cputime_sample(t, th->tgid);
		break;
	case PTRACE_EVENT_STOP:
		t->stats.stops_event++;
		if (is_stop_signal(sig)) {
			/* group-stop: stay stopped until SIGCONT, still
			 * reporting (PTRACE_LISTEN) */
			if (t->stopping && t->attach_mode)
				return detach(t, th, 0);
			ptrace(PTRACE_LISTEN, th->tid, 0, 0);
			return;
		}
		if (!th->started) {
			th->started = true;
			/* a new child waits for its parent's event */
			if (!th->announced)
				return;
		}
		break;
	default:
		break;
	}
	if (t->stopping && t->attach_mode)
		return detach(t, th, 0);
	resume(t, th, 0);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Attach mode: every thread is detached at its next stop. */
static void begin_detach(struct st_tracer *t)
{
	t->stopping = true;
	for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
		for (struct st_thread *th = t->threads[b]; th; th = th->next)
			ptrace(PTRACE_INTERRUPT, th->tid, 0, 0);
}

/* Launch mode cannot detach (the seccomp filter stays): what is left is
 * killed.  Each process's leader takes its threads along. */
static void kill_all(struct st_tracer *t)
{
	t->stopping = t->killed = true;
	for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
		for (struct st_thread *th = t->threads[b]; th; th = th->next)
			if (th->tid == th->tgid)
				kill(th->tid, SIGKILL);
}

/*
 * Launch mode: the command gets the stop signal as it would have without
 * socktap, and stays traced while it winds down (what it says on the way
 * out is recorded); what still runs ST_STOP_GRACE_MS later, or at a
 * second request, is killed.  A signal from the terminal has reached the
 * command already when it shares socktap's (foreground) process group:
 * sending it again would make two.
 */
static void begin_launch_stop(struct st_tracer *t, int sig, bool from_terminal)
{
	t->stopping = true;
	if (t->main_pid > 0 && !t->main_done &&
	    !(from_terminal && getpgid(t->main_pid) == getpgrp()))
		kill(t->main_pid, sig);
	t->kill_at_ns = mono_ns() + ST_STOP_GRACE_MS * 1000000LL;
}

/* The grace is over: says what is killed, and kills it. */
static void kill_late(struct st_tracer *t)
{
	pid_t first = 0;
	unsigned procs = 0;
	char msg[160];

	for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++)
		for (struct st_thread *th = t->threads[b]; th; th = th->next)
			if (th->tid == th->tgid) {
				procs++;
				if (!first || th->tid == t->main_pid)
					first = th->tid;
			}
	if (procs > 1)
		snprintf(msg, sizeof(msg), "still running " ST_STOP_GRACE_TEXT
			 " after the stop request, with %u more process%s: "
			 "killed", procs - 1, procs > 2 ? "es" : "");
	else
		snprintf(msg, sizeof(msg), "still running " ST_STOP_GRACE_TEXT
			 " after the stop request: killed");
	if (procs)
		warn(t, first, msg);
	kill_all(t);
}

static void take_stop_request(struct st_tracer *t)
{
	int seen = t->stop_requests_seen;

	t->stop_requests_seen = st_tracer_stop_requests;
	if (t->attach_mode) {
		if (!t->stopping)
			begin_detach(t);
	} else if (seen == 0 && t->stop_requests_seen == 1) {
		begin_launch_stop(t, st_tracer_stop_signal,
				  st_tracer_stop_from_terminal);
	} else if (!t->killed) {
		kill_all(t);
	}
}

/* Launch mode, winding down: nanoseconds left until what still runs is
 * killed (0: time is up); -1 otherwise. */
static long long until_kill(const struct st_tracer *t)
{
	long long left;

	if (!t->stopping || t->attach_mode || t->killed)
		return -1;
	left = t->kill_at_ns - mono_ns();
	return left > 0 ? left : 0;
}

static void handle_gone(struct st_tracer *t, pid_t pid, int status)
{
	struct st_thread *th = st_thread_find(t, pid);

	if (pid == t->main_pid && !t->main_done) {
		t->main_done = true;
		if (WIFEXITED(status))
			t->main_status = WEXITSTATUS(status);
		else
			t->main_status = 128 + WTERMSIG(status);
	}
	if (th && th->tid == th->tgid && t->fd_filter)
		st_fdset_drop(t, th->tgid);
	if (th)
		task_gone(t, th, true);
}

/*
 * How long the loop polls for the next stop before it sleeps in waitpid.
 * Waking a sleeping CPU is most of what a stop costs on a VM; the next
 * stop often comes within tens of microseconds (a tracee resumed a moment
 * ago, or its peer).  Measured on 2 cores: 64-byte ping-pong, 8 threads
 * and 1 KiB bulk 10-30 % faster.  Each poll yields the CPU, which took
 * 64 KiB bulk capture from 0.85 to 0.70 s (launched) and from 0.90 to
 * 0.70 s (attached): the spinning had kept the capture writer off a CPU.
 */
#define SPIN_NS 50000L

/*
 * While it polls, and before it sleeps, the loop writes the capture
 * (on_spare) instead of leaving it all to the writer thread: with few
 * CPUs that thread takes one from the traced program and its peer, while
 * the polling loop's is idle.  Attached 64 KiB bulk, 538 MB captured:
 * 0.63-0.66 s before, 0.54-0.58 s after (medians of 9-11, three series),
 * where strace -p took 0.60-0.64 s.  Pieces are small while polling (a
 * stop may be waiting: a 64 KiB write takes some 15 us) and larger
 * before sleeping, between which the loop looks for a stop again.
 */
#define SPARE_POLL (64u << 10)
#define SPARE_IDLE (1u << 20)

static size_t spare(struct st_tracer *t, size_t piece)
{
	return t->hooks.on_spare ? t->hooks.on_spare(t->hooks.idle_arg, piece)
				 : 0;
}

static pid_t wait_stop(struct st_tracer *t, long spin_ns, int *wstatus)
{
	pid_t pid;

	if (spin_ns > 0) {
		long long t0 = mono_ns();

		do {
			pid = waitpid(-1, wstatus, __WALL | WNOHANG);
			if (pid != 0)
				return pid;
			/* a runnable thread here (the capture writer, the
			 * tracee's peer) gets the CPU: spinning must not
			 * take it from them */
			if (!spare(t, SPARE_POLL))
				sched_yield();
		} while (mono_ns() - t0 < spin_ns);
	}
	if (t->hooks.on_idle)
		t->hooks.on_idle(t->hooks.idle_arg);
	while (spare(t, SPARE_IDLE))
		if ((pid = waitpid(-1, wstatus, __WALL | WNOHANG)) != 0)
			return pid;
	if (until_kill(t) >= 0) {
		/* winding down: the deadline must end the wait (rare, and
		 * short: polling costs nothing that matters) */
		while ((pid = waitpid(-1, wstatus, __WALL | WNOHANG)) == 0) {
			long long left = until_kill(t);
			struct timespec nap = { 0, 5000000L };

			if (left <= 0 ||
			    st_tracer_stop_requests != t->stop_requests_seen)
				return 0;
			if (left < nap.tv_nsec)
				nap.tv_nsec = (long)left;
			nanosleep(&nap, NULL);
		}
		return pid;
	}
	return waitpid(-1, wstatus, __WALL);
}

/* Polling only pays with another CPU to run the tracee meanwhile. */
static long spin_budget(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return 0;
	return SPIN_NS;
}

int st_tracer_run(struct st_tracer *t, int *status)
{
	long spin_ns = spin_budget();

	while (t->nthreads > 0) {
		struct st_thread *th;
		struct timespec ts;
		int wstatus;
		pid_t pid;

		if (st_tracer_stop_requests != t->stop_requests_seen)
			take_stop_request(t);
		if (until_kill(t) == 0)
			kill_late(t);
		pid = wait_stop(t, spin_ns, &wstatus);
		if (pid == 0)
			continue;	/* the deadline, or another request */
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;	/* ECHILD: nothing left */
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		if (WIFEXITED(wstatus) || WIFSIGNALED(wstatus)) {
			handle_gone(t, pid, wstatus);
			continue;
		}
		if (!WIFSTOPPED(wstatus))
			continue;
		th = st_thread_find(t, pid);
		if (!th) {
			/* a new child reported before its parent's event */
			th = st_thread_add(t, pid, pid);
			if (!th)
				continue;
		}
		handle_stop(t, th, wstatus, &ts);
	}
	st_cputime_end_all(t);
	*status = t->attach_mode ? 0 : t->main_status;
	if (!t->attach_mode && !t->main_exec_seen && t->exec_errpipe >= 0) {
		int err = 0;

		if (read(t->exec_errpipe, &err, sizeof(err)) == sizeof(err) &&
		    err)
			return -err;
	}
	return 0;
}

void st_tracer_get_stats(const struct st_tracer *t,
			 struct st_tracer_stats *stats)
{
	*stats = t->stats;
}

void st_tracer_free(struct st_tracer *t)
{
	if (!t)
		return;
	for (unsigned b = 0; b < ST_THREAD_BUCKETS; b++) {
		while (t->threads[b])
			task_gone(t, t->threads[b], false);
	}
	if (t->exec_errpipe >= 0)
		close(t->exec_errpipe);
	while (t->fdsets)
		st_fdset_drop(t, t->fdsets->tgid);
	free(t->traced_nr);
	free(t->clocks);
	free(t);
}
