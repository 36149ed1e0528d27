/*
 * Payloads: the bytes a call moved, read from tracee memory at exit in
 * pieces (one process_vm_readv each) and handed to the model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "handlers/handlers.h"

/* The payload's last byte is in: let the tracee run while the model and
 * the outputs take it, when nothing more is to be read and its
 * conversation exists (so no lookup about its process follows). */
static void release_tracee(struct st_hctx *c, const struct st_socket *s)
{
	if (c->payload_last && c->stop->release && s->conv && !s->conv->ended)
		c->stop->release(c->stop);
}

/*
 * Hands bytes to the model, cut into datagrams of seg_size when the
 * message is UDP GSO or GRO (st_task.seg_size): each full one ends a
 * datagram, the rest goes on as the caller said.
 */
static void model_data(struct st_hctx *c, struct st_socket *s, bool send,
		       const uint8_t *p, size_t n, unsigned flags,
		       size_t orig_len, const struct st_endpoint *peer,
		       const struct st_origin_info *who)
{
	struct st_task *t = c->task;

	if (!t->seg_size || !n) {
		st_model_data(c->h->model, s, send, p, n, flags, orig_len,
			      peer, who);
		return;
	}
	while (n) {
		size_t k = t->seg_size - t->seg_fill;
		unsigned f = flags | ST_EVF_PART;

		if (k > n)
			k = n;
		t->seg_fill += k;
		if (t->seg_fill == t->seg_size) {
			f &= ~ST_EVF_PART;	/* a whole datagram */
			t->seg_fill = 0;
		} else if (k == n) {
			f = flags;	/* the call's end ends it too */
		}
		st_model_data(c->h->model, s, send, p, k, f, 0, peer, who);
		p += k;
		n -= k;
	}
}

/* What prefetching may hold at once, over all tasks: a bound on memory
 * however many threads send at a time. */
#define PREFETCH_BUDGET (8u << 20)

uint8_t *st_h_task_buffer(struct st_hctx *c, size_t len)
{
	struct st_handlers *h = c->h;
	struct st_task *t = c->task;

	t->pre_len = 0;
	if (t->pre_cap < len) {
		/* a multiple of 64 KiB (and so of the alignment) */
		size_t cap = len <= h->bufsize ? (len <= 65536 ? 65536 :
						  h->bufsize)
					       : (len + 65535) & ~(size_t)65535;
		uint8_t *p;

		if (h->pre_total - t->pre_cap + cap > PREFETCH_BUDGET)
			return NULL;
		/* nothing in it is kept: a fresh buffer, aligned */
		p = aligned_alloc(ST_LANDING_ALIGN, cap + ST_LANDING_ALIGN);
		if (!p)
			return NULL;
		free(t->pre);
		h->pre_total += cap - t->pre_cap;
		t->pre = p;
		t->pre_cap = cap;
	}
	return t->pre;
}

void st_h_prefetch(struct st_hctx *c, uint64_t addr, size_t len)
{
	struct st_handlers *h = c->h;
	struct st_task *t = c->task;
	ssize_t n;

	if (len > h->bufsize)
		len = h->bufsize;
	if (!len || !st_h_task_buffer(c, len))
		return;
	n = st_mem_read(t->tid, addr, st_h_landing(t->pre, addr), len);
	if (n <= 0)
		return;
	t->pre_len = (size_t)n;
	t->pre_addr = addr;
	h->bytes_copied += (size_t)n;
	h->prefetched++;
}

void st_h_prefetch_free(struct st_handlers *h, struct st_task *t)
{
	h->pre_total -= t->pre_cap;
	free(t->pre);
	t->pre = NULL;
	t->pre_len = t->pre_cap = 0;
}

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
		model_data(c, s, send, h->buf, 0, flags, orig_len,
			      peer, &who);
		return 0;
	}
	while (off < len) {
		size_t want = len - off;
		const uint8_t *bytes = h->buf;
		ssize_t n;
		unsigned f = flags;

		if (want > h->bufsize)
			want = h->bufsize;
		if (off == 0 && send && c->task->pre_len &&
		    c->task->pre_addr == addr) {
			/* read while the call ran (st_h_prefetch): the
			 * tracee could not change it since */
			bytes = st_h_landing(c->task->pre, addr);
			n = (ssize_t)(c->task->pre_len < want ?
				      c->task->pre_len : want);
		} else {
			uint8_t *land = st_h_landing(h->buf, addr + off);

			n = st_mem_read(c->task->tid, addr + off, land, want);
			bytes = land;
			if (n <= 0) {
				st_model_gap(h->model, s, send, len - off,
					     "tracee memory unreadable", peer,
					     &who);
				break;
			}
			h->bytes_copied += (size_t)n;
		}
		if (preview && off == 0) {
			plen = (size_t)n < sizeof(h->preview) ? (size_t)n
							       : sizeof(h->preview);
			memcpy(h->preview, bytes, plen);
		}
		if (off + (size_t)n < len)
			f |= ST_EVF_PART;
		else
			release_tracee(c, s);
		model_data(c, s, send, bytes, (size_t)n, f,
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
				uint64_t from = (uint64_t)(uintptr_t)
						vec[k].iov_base + off;
				uint8_t *land = st_h_landing(h->buf, from);
				ssize_t n;
				unsigned f = flags;

				if (want > h->bufsize)
					want = h->bufsize;
				n = st_mem_read(c->task->tid, from, land, want);
				if (n <= 0)
					goto gap;
				h->bytes_copied += (size_t)n;
				if (preview && plen < sizeof(h->preview)) {
					size_t cp = sizeof(h->preview) - plen;

					if (cp > (size_t)n)
						cp = (size_t)n;
					memcpy(h->preview + plen, land, cp);
					plen += cp;
				}
				off += (size_t)n;
				if (done + off < len)
					f |= ST_EVF_PART;
				else
					release_tracee(c, s);
				model_data(c, s, send, land,
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
		model_data(c, s, send, h->buf, 0, flags, orig_len,
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
