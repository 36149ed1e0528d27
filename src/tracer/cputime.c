/*
 * The CPU time of attached processes while they were traced (--stats
 * tracee_cpu_s).  A launched command is socktap's child and getrusage
 * counts it; an attached one is not.  Each attached process's CPU clock
 * (clock_getcpuclockid: all its threads, the dead ones included) is read
 * when it is seized (a process it forks starts from 0), at each thread's
 * exit stop (PTRACE_EVENT_EXIT, the last moment its clock is sure to be
 * readable), and when its leader is gone (reported after every other
 * thread) or let go.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "tracer/tracer_int.h"

struct st_cpuclock {
	pid_t tgid;
	clockid_t clock;
	uint64_t base, last;	/* ns: when tracing began, latest read */
	bool seen;		/* last holds a read */
};

static int read_clock(clockid_t clock, uint64_t *ns)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

static struct st_cpuclock *find(struct st_tracer *t, pid_t tgid)
{
	for (size_t i = 0; i < t->nclocks; i++)
		if (t->clocks[i].tgid == tgid)
			return &t->clocks[i];
	return NULL;
}

void st_cputime_begin(struct st_tracer *t, pid_t tgid, bool new_process)
{
	struct st_cpuclock c = { .tgid = tgid };

	if (!t->attach_mode || find(t, tgid))
		return;
	if (clock_getcpuclockid(tgid, &c.clock) != 0 ||
	    (!new_process && read_clock(c.clock, &c.base) < 0)) {
		t->stats.tracees_cpu_unread++;
		return;
	}
	c.last = c.base;
	if (t->nclocks == t->capclocks) {
		size_t cap = t->capclocks ? 2 * t->capclocks : 8;
		struct st_cpuclock *p = realloc(t->clocks, cap * sizeof(*p));

		if (!p) {
			t->stats.tracees_cpu_unread++;
			return;
		}
		t->clocks = p;
		t->capclocks = cap;
	}
	t->clocks[t->nclocks++] = c;
}

void st_cputime_sample(struct st_tracer *t, pid_t tgid)
{
	struct st_cpuclock *c = find(t, tgid);

	if (c && read_clock(c->clock, &c->last) == 0)
		c->seen = true;
}

void st_cputime_end(struct st_tracer *t, pid_t tgid)
{
	struct st_cpuclock *c = find(t, tgid);

	if (!c)
		return;
	/* the process may be reaped already: its last exit stop's read */
	if (read_clock(c->clock, &c->last) == 0)
		c->seen = true;
	if (c->seen && c->last >= c->base)
		t->stats.tracee_cpu_ns += c->last - c->base;
	else
		t->stats.tracees_cpu_unread++;
	*c = t->clocks[--t->nclocks];
}

void st_cputime_end_all(struct st_tracer *t)
{
	while (t->nclocks)
		st_cputime_end(t, t->clocks[0].tgid);
	free(t->clocks);
	t->clocks = NULL;
	t->capclocks = 0;
}
