/*
 * Dispatch: the tracer hooks.  Keeps per-thread tasks and fd tables,
 * runs the syscall table's handlers, and hands finished calls on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "handlers/handlers.h"
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
	struct st_hctx c = { h, t, stop };
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
	struct st_hctx c = { h, t, stop };

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
	hooks->fd_nrs = st_sysent_fd_numbers(&hooks->nfd_nrs);
	hooks->on_entry = on_entry;
	hooks->on_exit = on_exit_stop;
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
	h->buf = malloc(h->bufsize);
	if (!h->opts.string_limit)
		h->opts.string_limit = 32;
	return h->buf ? 0 : -ENOMEM;
}

void st_handlers_cleanup(struct st_handlers *h)
{
	free(h->buf);
	h->buf = NULL;
	st_resolve_cleanup();
}

void st_h_warn(struct st_hctx *c, const char *text)
{
	on_warning(c->h, c->task->tid, text);
}

/* ------------------------------------------------------------------ */
/* helpers for the handler files */

static void apply_info(struct st_socket *s, const struct st_sockinfo *in)
{
	if (in->family && !s->family)
		st_socket_set_type(s, in->family, in->type, in->protocol);
	if (st_endpoint_known(&in->local))
		s->local = in->local;
	if (st_endpoint_known(&in->peer))
		s->peer = in->peer;
	if (in->peer_ino)
		s->peer_ino = in->peer_ino;
	if (in->listening) {
		s->listening = true;
		s->state = ST_SOCK_LISTENING;
	} else if (st_endpoint_known(&in->peer) &&
		   s->state < ST_SOCK_CONNECTED) {
		s->state = ST_SOCK_CONNECTED;
	}
	s->local_resolved = true;
}

void st_h_refresh(struct st_hctx *c, struct st_socket *s, int fd, bool full)
{
	struct st_sockinfo in;

	memset(&in, 0, sizeof(in));
	if (full) {
		if (st_resolve_sockinfo(c->task->tgid, fd, &in) == 0)
			apply_info(s, &in);
		return;
	}
	if (st_resolve_local(c->task->tgid, fd, &in.local) == 0 &&
	    st_endpoint_known(&in.local)) {
		s->local = in.local;
		s->local_resolved = true;
	}
}

void st_h_watch(struct st_hctx *c, int fd)
{
	if (c->stop->watch_fd)
		c->stop->watch_fd(c->stop, fd);
}

struct st_socket *st_h_new_fd(struct st_hctx *c, int fd, bool full)
{
	uint64_t ino = 0;
	struct st_socket *s;

	if (st_resolve_fd_inode(c->task->tid, fd, &ino) < 0)
		ino = 0;
	s = st_model_socket_new(c->h->model, ino);
	if (!s)
		return NULL;
	st_h_watch(c, fd);
	if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0) {
		/* fd beyond the cache: keep the socket for this call */
		st_socket_ref(s);
		st_socket_unref(c->h->model, s, NULL);
		return NULL;
	}
	if (full)
		st_h_refresh(c, s, fd, true);
	return s;
}

struct st_socket *st_h_fd_socket(struct st_hctx *c, int fd)
{
	struct st_socket *s;
	uint64_t ino;
	int rc;

	switch (st_fdtable_lookup(c->task->fdt, fd, &s)) {
	case ST_FD_SOCKET:
		return s;
	case ST_FD_OTHER:
		return NULL;
	default:
		break;
	}
	if (fd < 0)
		return NULL;
	rc = st_resolve_fd_inode(c->task->tid, fd, &ino);
	if (rc == -ENOTSOCK) {
		st_fdtable_set_other(c->task->fdt, fd);
		return NULL;
	}
	if (rc < 0)
		return NULL;	/* not open (EBADF) or gone: do not cache */
	st_h_watch(c, fd);
	s = st_model_socket_find(c->h->model, ino);
	if (!s) {
		s = st_model_socket(c->h->model, ino);
		if (!s)
			return NULL;
		/* first sight (inherited, attached, passed): ask the kernel */
		st_socket_ref(s);
		st_h_refresh(c, s, fd, true);
		if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0) {
			st_socket_unref(c->h->model, s, NULL);
			return NULL;
		}
		st_socket_unref(c->h->model, s, NULL);
		return s;
	}
	if (st_fdtable_set_socket(c->task->fdt, fd, s) < 0)
		return NULL;
	return s;
}

void st_h_hold(struct st_hctx *c, int fd, struct st_socket *sock)
{
	struct st_task *t = c->task;

	if (sock && !t->sock) {
		st_socket_ref(sock);
		t->sock = sock;
	}
	t->fd = fd;
	t->visible = true;
}

void st_h_who(const struct st_hctx *c, int fd, struct st_origin_info *who)
{
	memset(who, 0, sizeof(*who));
	who->pid = c->task->tgid;
	who->tid = c->task->tid;
	who->fd = fd;
	who->syscall = c->task->call.name;
	who->comm = c->task->comm;
	who->ts = c->stop->ts;
}

int st_h_read_sockaddr(struct st_hctx *c, uint64_t addr, uint64_t len,
		       struct st_endpoint *ep)
{
	struct sockaddr_storage ss;
	ssize_t n;

	memset(ep, 0, sizeof(*ep));
	if (!addr || len == 0)
		return -EINVAL;
	if (len > sizeof(ss))
		len = sizeof(ss);
	n = st_mem_read(c->task->tid, addr, &ss, (size_t)len);
	if (n < 0)
		return (int)n;
	return st_endpoint_from_sockaddr(ep, &ss, (size_t)n);
}

char *st_h_text(struct st_hctx *c, unsigned k)
{
	return c->h->text[k & 3];
}

static struct st_arg *arg_at(struct st_hctx *c, unsigned i)
{
	struct st_call *call = &c->task->call;

	if (i >= ST_CALL_MAXARGS)
		i = ST_CALL_MAXARGS - 1;
	if (call->nargs <= i)
		call->nargs = i + 1;
	memset(&call->args[i], 0, sizeof(call->args[i]));
	return &call->args[i];
}

void st_h_arg_int(struct st_hctx *c, unsigned i, long long v)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_INT;
	a->num = v;
}

void st_h_arg_hex(struct st_hctx *c, unsigned i, unsigned long long v)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_HEX;
	a->num = (long long)v;
}

void st_h_arg_fd(struct st_hctx *c, unsigned i, int fd,
		 const struct st_socket *s)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_FD;
	a->num = fd;
	a->sock = s;
}

void st_h_arg_text(struct st_hctx *c, unsigned i, const char *text)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_TEXT;
	a->text = text;
}

void st_h_arg_addr(struct st_hctx *c, unsigned i, const struct st_endpoint *ep)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_ADDR;
	a->ep = *ep;
}

void st_h_arg_buf(struct st_hctx *c, unsigned i, const uint8_t *p,
		  size_t len, size_t total)
{
	struct st_arg *a = arg_at(c, i);

	a->kind = ST_ARG_BUF;
	a->buf = p;
	a->len = len;
	a->total = total;
}

/* Emits len bytes at addr as DATA events, in pieces; unreadable memory
 * becomes a gap of the right length. */
size_t st_h_data(struct st_hctx *c, struct st_socket *s, bool send,
	       uint64_t addr, size_t len, unsigned flags, size_t orig_len,
	       const struct st_endpoint *peer, bool preview)
{
	struct st_handlers *h = c->h;
	struct st_origin_info who;
	size_t off = 0, plen = 0;

	st_h_who(c, c->task->fd, &who);
	preview = preview && h->calls.on_call;	/* -q prints no lines */
	if (!st_model_wants_data(h->model, s, send)) {
		/* dropped anyway: copy at most what the trace line shows */
		ssize_t n = 0;

		if (preview && len)
			n = st_mem_read(c->task->tid, addr, h->preview,
					len < sizeof(h->preview) ? len
					: sizeof(h->preview));
		return n > 0 ? (size_t)n : 0;
	}
	if (len == 0) {
		st_model_data(h->model, s, send, h->buf, 0, flags, orig_len,
			      peer, &who);
		return 0;
	}
	while (off < len) {
		size_t want = len - off;
		ssize_t n;
		unsigned f = flags;

		if (want > h->bufsize)
			want = h->bufsize;
		n = st_mem_read(c->task->tid, addr + off, h->buf, want);
		if (n <= 0) {
			st_model_gap(h->model, s, send, len - off,
				     "tracee memory unreadable", peer, &who);
			break;
		}
		h->bytes_copied += (size_t)n;
		if (preview && off == 0) {
			plen = (size_t)n < sizeof(h->preview) ? (size_t)n
							       : sizeof(h->preview);
			memcpy(h->preview, h->buf, plen);
		}
		if (off + (size_t)n < len)
			f |= ST_EVF_PART;
		st_model_data(h->model, s, send, h->buf, (size_t)n, f,
			      orig_len, peer, &who);
		off += (size_t)n;
	}
	return plen;
}

#define ST_IOV_MAX 1024		/* UIO_MAXIOV: the kernel's own limit */

size_t st_h_data_iov(struct st_hctx *c, struct st_socket *s, bool send,
		   uint64_t iov, uint64_t iovcnt, size_t len, unsigned flags,
		   size_t orig_len, const struct st_endpoint *peer,
		   bool preview)
{
	struct st_handlers *h = c->h;
	struct st_origin_info who;
	struct iovec vec[64];
	size_t done = 0, plen = 0;
	uint64_t i = 0;

	st_h_who(c, c->task->fd, &who);
	preview = preview && h->calls.on_call;	/* -q prints no lines */
	if (iovcnt > ST_IOV_MAX)
		iovcnt = ST_IOV_MAX;
	/* gather into the scratch buffer, then hand over in pieces */
	while (done < len && i < iovcnt) {
		size_t batch = iovcnt - i > 64 ? 64 : (size_t)(iovcnt - i);

		if (st_mem_read_exact(c->task->tid, iov + i * sizeof(vec[0]),
				      vec, batch * sizeof(vec[0])) < 0)
			break;
		for (size_t k = 0; k < batch && done < len; k++, i++) {
			size_t take = vec[k].iov_len;
			size_t off = 0;

			if (take > len - done)
				take = len - done;
			while (off < take) {
				size_t want = take - off;
				ssize_t n;
				unsigned f = flags;

				if (want > h->bufsize)
					want = h->bufsize;
				n = st_mem_read(c->task->tid,
					(uint64_t)(uintptr_t)vec[k].iov_base + off,
					h->buf, want);
				if (n <= 0)
					goto gap;
				h->bytes_copied += (size_t)n;
				if (preview && plen < sizeof(h->preview)) {
					size_t cp = sizeof(h->preview) - plen;

					if (cp > (size_t)n)
						cp = (size_t)n;
					memcpy(h->preview + plen, h->buf, cp);
					plen += cp;
				}
				off += (size_t)n;
				if (done + off < len)
					f |= ST_EVF_PART;
				st_model_data(h->model, s, send, h->buf,
					      (size_t)n, f, orig_len, peer,
					      &who);
			}
			done += take;
		}
	}
gap:
	if (done < len)
		st_model_gap(h->model, s, send, len - done,
			     "iovec unreadable", peer, &who);
	if (len == 0)
		st_model_data(h->model, s, send, h->buf, 0, flags, orig_len,
			      peer, &who);
	return plen;
}

void st_h_data_error(struct st_hctx *c, struct st_socket *s)
{
	struct st_origin_info who;

	if (c->task->call.err == ECONNRESET) {
		st_h_who(c, c->task->fd, &who);
		st_model_reset(c->h->model, s, &who);
	}
}
