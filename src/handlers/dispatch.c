/*
 * Dispatch: the tracer hooks.  Keeps per-thread tasks and fd tables,
 * runs the syscall table's handlers, and hands finished calls on.  What
 * the handlers share lives beside it: fdsock.c (which socket an fd is),
 * args.c (the call record), data.c (payloads into the model).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "handlers/sys.h"
#include "resolve/resolve.h"

#define ST_PIECE (256u * 1024u)	/* payload read per step */

static void read_comm(struct st_task *t)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)t->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, t->comm, sizeof(t->comm) - 1);
	close(fd);
	if (n <= 0)
		return;
	t->comm[n] = '\0';
	if (t->comm[n - 1] == '\n')
		t->comm[n - 1] = '\0';
	/* a process names itself: never let that reach a terminal raw */
	for (char *p = t->comm; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == ' ')
			*p = '?';
}

static struct st_task *task_new(struct st_handlers *h, pid_t tid, pid_t tgid,
				struct st_fdtable *fdt)
{
	struct st_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tid = tid;
	t->tgid = tgid;
	t->fdt = fdt;
	read_comm(t);
	return t;
}

static void set_ctx(struct st_handlers *h, struct st_task *t,
		    const char *what, const struct timespec *ts)
{
	struct st_origin_info who = {
		.pid = t->tgid, .tid = t->tid, .fd = -1, .syscall = what,
		.comm = t->comm,
	};

	if (ts)
		who.ts = *ts;
	else
		clock_gettime(CLOCK_REALTIME, &who.ts);
	st_model_set_context(h->model, &who);
}

static void release_call(struct st_handlers *h, struct st_task *t)
{
	if (t->sock) {
		st_socket_unref(h->model, t->sock, NULL);
		t->sock = NULL;
	}
	t->visible = false;
}

/* ------------------------------------------------------------------ */
/* tracer hooks */

static enum st_entry_verdict on_entry(void *arg, struct st_stop *stop)
{
	struct st_handlers *h = arg;
	struct st_task *t = *stop->task;
	const struct st_sysent *e = st_sysent_lookup(stop->nr);
	struct st_hctx c = { .h = h, .task = t, .stop = stop };
	enum st_entry_verdict v;

	if (!t || !e)
		return ST_ENTRY_SKIP;
	release_call(h, t);
	memset(&t->call, 0, sizeof(t->call));
	t->call.name = e->name;
	t->call.pid = t->tgid;
	t->call.tid = t->tid;
	t->call.t_entry = stop->ts;
	t->fd = -1;
	t->addr_ok = false;
	t->pre_len = 0;
	set_ctx(h, t, e->name, &stop->ts);
	v = e->entry ? e->entry(&c) : ST_ENTRY_WANT_EXIT;
	if (v == ST_ENTRY_SKIP)
		release_call(h, t);
	return v;
}

static void on_exit_stop(void *arg, struct st_stop *stop)
{
	struct st_handlers *h = arg;
	struct st_task *t = *stop->task;
	const struct st_sysent *e = st_sysent_lookup(stop->nr);
	struct st_hctx c = { .h = h, .task = t, .stop = stop };

	if (!t || !e)
		return;
	t->call.t_exit = stop->ts;
	if (stop->is_error || (stop->ret < 0 && stop->ret > -4096)) {
		t->call.err = (int)-stop->ret;
		t->call.ret = -1;
	} else {
		t->call.ret = stop->ret;
	}
	set_ctx(h, t, e->name, &stop->ts);
	h->ncalls++;
	if (e->exit)
		e->exit(&c);
	if (t->visible && h->calls.on_call)
		h->calls.on_call(h->calls.priv, &t->call);
	release_call(h, t);
}

static void on_running(void *arg, struct st_stop *stop)
{
	struct st_handlers *h = arg;
	struct st_task *t = *stop->task;
	struct st_hctx c = { .h = h, .task = t, .stop = stop };

	if (t && t->sock)
		st_sys_io_running(&c);
}

static void on_new_task(void *arg, void **parent, void **child, pid_t tid,
			pid_t tgid, bool shares_files)
{
	struct st_handlers *h = arg;
	struct st_task *p = *parent, *t;
	struct st_fdtable *fdt;

	if (p)
		fdt = shares_files ? st_fdtable_ref(p->fdt)
				   : st_fdtable_copy(p->fdt);
	else
		fdt = st_fdtable_new();
	if (!fdt)
		return;
	st_fdtable_set_model(fdt, h->model);
	t = task_new(h, tid, tgid, fdt);
	if (!t) {
		st_fdtable_unref(fdt);
		return;
	}
	*child = t;
}

static void on_attach_task(void *arg, void **task, pid_t tid, pid_t tgid,
			   void **sibling)
{
	struct st_handlers *h = arg;
	struct st_task *s = sibling ? *sibling : NULL;
	struct st_fdtable *fdt = s ? st_fdtable_ref(s->fdt) : st_fdtable_new();

	if (!fdt)
		return;
	st_fdtable_set_model(fdt, h->model);
	*task = task_new(h, tid, tgid, fdt);
	if (!*task)
		st_fdtable_unref(fdt);
}

struct sweep_arg {
	pid_t tid;
};

static bool fd_still_open(void *arg, int fd, uint64_t ino)
{
	struct sweep_arg *a = arg;
	uint64_t now = 0;

	return st_resolve_fd_inode(a->tid, fd, &now) == 0 && now == ino;
}

static void on_exec(void *arg, void **task, pid_t tid, pid_t former)
{
	struct st_handlers *h = arg;
	struct st_task *t = *task;
	struct st_fdtable *fdt;
	struct sweep_arg sa = { tid };

	if (!t)
		return;
	t->tid = tid;
	release_call(h, t);
	read_comm(t);
	set_ctx(h, t, "execve", NULL);
	/* exec unshares the fd table, then closes the CLOEXEC fds */
	fdt = st_fdtable_copy(t->fdt);
	if (fdt) {
		st_fdtable_unref(t->fdt);
		t->fdt = fdt;
	}
	st_fdtable_exec_sweep(t->fdt, fd_still_open, &sa);
}

static void on_task_exit(void *arg, void **task, pid_t tid, bool exited)
{
	struct st_handlers *h = arg;
	struct st_task *t = *task;

	if (!t)
		return;
	/* a detached process keeps its sockets: no FIN for them */
	if (!exited)
		st_model_set_detaching(h->model);
	set_ctx(h, t, "exit", NULL);
	release_call(h, t);
	st_fdtable_unref(t->fdt);
	st_resolve_forget_pid(t->tid);	/* pidfds are cached per thread too */
	st_h_prefetch_free(h, t);
	free(t);
	*task = NULL;
}

static void on_warning(void *arg, pid_t tid, const char *text)
{
	struct st_handlers *h = arg;
	char line[256];

	snprintf(line, sizeof(line), "[pid %d] %s", (int)tid, text);
	if (h->warn)
		h->warn(h->warn_arg, line);
}

static int route_src(void *arg, pid_t pid, const struct st_socket *s,
		     const struct st_endpoint *peer, struct st_endpoint *local)
{
	return st_resolve_route_src(pid, peer, local);
}

void st_handlers_hooks(struct st_handlers *h, struct st_tracer_hooks *hooks)
{
	memset(hooks, 0, sizeof(*hooks));
	hooks->arg = h;
	hooks->nrs = st_sysent_numbers(&hooks->nnrs);
	hooks->fd_nrs = st_sysent_send_fd_numbers(&hooks->nfd_nrs);
	hooks->rfd_nrs = st_sysent_receive_fd_numbers(&hooks->nrfd_nrs);
	hooks->on_entry = on_entry;
	hooks->on_exit = on_exit_stop;
	hooks->on_running = on_running;
	hooks->on_new_task = on_new_task;
	hooks->on_exec = on_exec;
	hooks->on_task_exit = on_task_exit;
	hooks->on_attach_task = on_attach_task;
	hooks->on_warning = on_warning;
}

int st_handlers_init(struct st_handlers *h, struct st_model *m)
{
	h->model = m;
	st_model_set_route(m, route_src, h);
	h->bufsize = ST_PIECE;
	h->peek_pipe[0] = h->peek_pipe[1] = -1;
	h->buf = aligned_alloc(ST_LANDING_ALIGN, h->bufsize + ST_LANDING_ALIGN);
	if (!h->opts.string_limit)
		h->opts.string_limit = 32;
	return h->buf ? 0 : -ENOMEM;
}

void st_handlers_cleanup(struct st_handlers *h)
{
	free(h->buf);
	h->buf = NULL;
	st_h_pipes_close(h);
	st_resolve_cleanup();
}

void st_h_warn(struct st_hctx *c, const char *text)
{
	on_warning(c->h, c->task->tid, text);
}
