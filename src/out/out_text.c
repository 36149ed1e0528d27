/* The strace-like trace: one line per call, socket fds annotated. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "out/out_text.h"

void st_text_init(struct st_text_out *o, FILE *f,
		  const struct st_text_opts *opts)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->opts = *opts;
}

void st_text_escape(FILE *f, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];

		switch (ch) {
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\\': fputs("\\\\", f); break;
		case '"': fputs("\\\"", f); break;
		default:
			if (ch >= 0x20 && ch < 0x7f)
				fputc(ch, f);
			else
				fprintf(f, "\\x%02x", ch);
		}
	}
}

static const char *netlink_name(int protocol)
{
	static const char *const names[] = {
		[0] = "ROUTE", [2] = "USERSOCK", [4] = "SOCK_DIAG",
		[5] = "NFLOG", [6] = "XFRM", [7] = "SELINUX", [8] = "ISCSI",
		[9] = "AUDIT", [10] = "FIB_LOOKUP", [11] = "CONNECTOR",
		[12] = "NETFILTER", [15] = "KOBJECT_UEVENT", [16] = "GENERIC",
		[18] = "SCSITRANSPORT", [19] = "ECRYPTFS", [20] = "RDMA",
		[21] = "CRYPTO", [22] = "SMC",
	};

	if (protocol >= 0 && protocol < (int)(sizeof(names) / sizeof(*names)) &&
	    names[protocol])
		return names[protocol];
	return NULL;
}

int st_text_socket_desc(const struct st_socket *s, char *buf, size_t size)
{
	char l[160], p[160];
	const char *proto = st_proto_name(s->proto);
	bool unix_sock = s->family == AF_UNIX;
	bool lk = st_endpoint_known(&s->local), pk = st_endpoint_known(&s->peer);

	if (!s->family)
		return snprintf(buf, size, "socket:[%" PRIu64 "]", s->ino);
	if (s->family == AF_NETLINK) {
		const char *n = netlink_name(s->protocol);

		if (n)
			return snprintf(buf, size, "NETLINK:%s", n);
		return snprintf(buf, size, "NETLINK:%d", s->protocol);
	}
	st_endpoint_format(&s->local, l, sizeof(l));
	st_endpoint_format(&s->peer, p, sizeof(p));
	if (unix_sock && (!lk || !s->local.un.len) &&
	    (!pk || !s->peer.un.len) && s->peer_ino) {
		/* two unnamed ends: the inodes tell them apart */
		return snprintf(buf, size, "%s:[%" PRIu64 "->%" PRIu64 "]",
				proto, s->ino, s->peer_ino);
	}
	if (s->state == ST_SOCK_LISTENING || s->listening)
		return snprintf(buf, size, "%s:%s LISTEN", proto, l);
	if (pk)
		return snprintf(buf, size, "%s:%s->%s", proto,
				lk ? l : "?", p);
	if (lk)
		return snprintf(buf, size, "%s:%s", proto, l);
	return snprintf(buf, size, "%s:[%" PRIu64 "]", proto, s->ino);
}

static void put_fd(FILE *f, long long fd, const struct st_socket *s)
{
	char desc[400];

	fprintf(f, "%lld", fd);
	if (!s)
		return;
	st_text_socket_desc(s, desc, sizeof(desc));
	fprintf(f, "<%s>", desc);
}

static void put_addr(FILE *f, const struct st_endpoint *ep)
{
	char buf[300];

	st_endpoint_format(ep, buf, sizeof(buf));
	switch (ep->family) {
	case AF_INET:
		fprintf(f, "{AF_INET, %s}", buf);
		break;
	case AF_INET6:
		fprintf(f, "{AF_INET6, %s}", buf);
		break;
	case AF_UNIX:
		fprintf(f, "{AF_UNIX, \"%s\"}", buf);
		break;
	case AF_UNSPEC:
		fputs("{AF_UNSPEC}", f);
		break;
	default:
		fprintf(f, "{%s}", buf);
	}
}

static void put_time(struct st_text_out *o, const struct timespec *ts)
{
	FILE *f = o->f;

	if (o->opts.relative) {
		struct timespec d = { 0, 0 };

		if (o->have_prev) {
			d.tv_sec = ts->tv_sec - o->prev.tv_sec;
			d.tv_nsec = ts->tv_nsec - o->prev.tv_nsec;
			if (d.tv_nsec < 0) {
				d.tv_sec--;
				d.tv_nsec += 1000000000L;
			}
		}
		fprintf(f, "%6ld.%06ld ", (long)d.tv_sec,
			d.tv_nsec / 1000);
		o->prev = *ts;
		o->have_prev = true;
	}
	if (o->opts.ts == ST_TS_EPOCH) {
		fprintf(f, "%ld.%06ld ", (long)ts->tv_sec, ts->tv_nsec / 1000);
	} else if (o->opts.ts != ST_TS_NONE) {
		struct tm tm;
		char hms[16];
		time_t sec = ts->tv_sec;

		localtime_r(&sec, &tm);
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
		if (o->opts.ts == ST_TS_USEC)
			fprintf(f, "%s.%06ld ", hms, ts->tv_nsec / 1000);
		else
			fprintf(f, "%s ", hms);
	}
}

static void put_arg(struct st_text_out *o, const struct st_arg *a)
{
	FILE *f = o->f;

	switch (a->kind) {
	case ST_ARG_INT:
		fprintf(f, "%lld", a->num);
		break;
	case ST_ARG_UINT:
		fprintf(f, "%llu", (unsigned long long)a->num);
		break;
	case ST_ARG_HEX:
		if (a->num == 0)
			fputs("NULL", f);
		else
			fprintf(f, "%#llx", (unsigned long long)a->num);
		break;
	case ST_ARG_FD:
		put_fd(f, a->num, a->sock);
		break;
	case ST_ARG_BUF: {
		size_t n = a->len < o->opts.string_limit ? a->len
							  : o->opts.string_limit;

		fputc('"', f);
		st_text_escape(f, a->buf, n);
		fputc('"', f);
		if (a->total > n)
			fputs("...", f);
		break;
	}
	case ST_ARG_ADDR:
		put_addr(f, &a->ep);
		break;
	case ST_ARG_TEXT:
		fputs(a->text ? a->text : "?", f);
		break;
	}
}

void st_text_on_call(void *priv, const struct st_call *call)
{
	struct st_text_out *o = priv;
	FILE *f = o->f;

	if (!f)
		return;
	fprintf(f, "[pid %d] ", (int)call->tid);
	put_time(o, &call->t_entry);
	fprintf(f, "%s(", call->name);
	for (unsigned i = 0; i < call->nargs; i++) {
		if (i)
			fputs(", ", f);
		put_arg(o, &call->args[i]);
	}
	fputs(") = ", f);
	if (call->err) {
		const char *name = strerrorname_np(call->err);

		fprintf(f, "-1 %s (%s)", name ? name : "E?",
			strerror(call->err));
	} else if (call->ret_sock) {
		put_fd(f, call->ret, call->ret_sock);
	} else {
		fprintf(f, "%ld", call->ret);
	}
	if (call->note)
		fprintf(f, " (%s)", call->note);
	if (o->opts.time_spent) {
		long sec = call->t_exit.tv_sec - call->t_entry.tv_sec;
		long ns = call->t_exit.tv_nsec - call->t_entry.tv_nsec;

		if (ns < 0) {
			sec--;
			ns += 1000000000L;
		}
		fprintf(f, " <%ld.%06ld>", sec, ns / 1000);
	}
	fputc('\n', f);
	if (ferror(f) && !o->error)
		o->error = -EIO;
}

/* In the trace, where it happened, and on stderr, where the user looks
 * (as strace's own messages go to stderr whatever -o says). */
void st_text_warning(void *priv, const char *text)
{
	struct st_text_out *o = priv;

	if (o && o->f && o->f != stderr)
		fprintf(o->f, "socktap: warning: %s\n", text);
	fprintf(stderr, "socktap: warning: %s\n", text);
}
