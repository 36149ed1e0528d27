/*
 * --flows DIR: one file per conversation direction holding exactly the
 * bytes that direction carried (tcpflow style), plus an index.
 *
 * Names sort with ls: the zero-padded conversation id, the protocol and
 * both endpoints with zero-padded fields, then the direction:
 *
 *   000001-tcp-127.000.000.001.41234-127.000.000.001.08000.a2b
 *   000001-tcp-127.000.000.001.41234-127.000.000.001.08000.b2a
 *   000002-udp-0000.0000.0000.0000.0000.0000.0000.0001.05353-....a2b
 *   000003-unixstream-unnamed-run_x.sock.b2a
 *
 * IPv4 is a.b.c.d with three digits each, IPv6 eight groups of four hex
 * digits, a port five digits; Unix paths keep [A-Za-z0-9._] and turn any
 * other byte into '_' ('@' first for abstract names, "unnamed" when there
 * is none; at most 60 characters).  The id grows with every conversation,
 * so a 4-tuple used again gets new files.  A file is made when its
 * direction first carries data (no empty files).
 *
 * Side files, made only when needed:
 *   NAME.a2b.dgrams  datagram boundaries of a datagram conversation, a
 *                    header line then one line per datagram:
 *                    offset<TAB>len<TAB>orig_len<TAB>ts
 *                    (offset and len in the .a2b file; orig_len the
 *                    datagram's real length, larger than len when it was
 *                    truncated; ts epoch seconds with 9 decimals)
 *   NAME.a2b.gaps    bytes that happened but could not be read, a header
 *                    line then offset<TAB>len<TAB>ts<TAB>reason (offset
 *                    in the .a2b file where the missing bytes belong)
 *
 * index.tsv: a header line naming the columns, then one line per
 * conversation, in the order they ended (sort -n for id order):
 *   id proto origin a b pids comm first last end
 *   a2b_bytes b2a_bytes a2b_gap_bytes b2a_gap_bytes a2b_dgrams b2a_dgrams
 *   a2b_file b2a_file a2b_dgrams_file b2a_dgrams_file a2b_gaps_file
 *   b2a_gaps_file
 * (pids comma-separated; comm with \, tab and non-printable bytes as
 * \xNN; times epoch seconds with 9 decimals; end is open, fin, reset or
 * closed; "-" for a file that was not made.)  Lines are appended to a
 * hidden temporary file as conversations end and the finished file is
 * renamed to index.tsv at the end, so index.tsv is never half-written.
 *
 * Safety: DIR is made 0700 if missing and refused if it is a symbolic
 * link; every file is created 0600 with O_EXCL|O_NOFOLLOW relative to
 * DIR's descriptor, so a planted link or file is never written through.
 * Memory: bytes go straight to write(2) (nothing of a stream is kept);
 * at most max_open files are open, the least recently written is closed
 * and reopened with O_APPEND when written again; state is kept only for
 * conversations still open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/out_sinks.h"

enum fkind {
	F_DATA,		/* + dir: F_DATA + 0 a2b, + 1 b2a */
	F_DGRAMS = 2,
	F_GAPS = 4,
	F_COUNT = 6,
};

static const char *const kind_suffix[F_COUNT] = {
	".a2b", ".b2a", ".a2b.dgrams", ".b2a.dgrams", ".a2b.gaps", ".b2a.gaps",
};

static const char *const kind_header[F_COUNT] = {
	[F_DGRAMS] = "offset\tlen\torig_len\tts\n",
	[F_DGRAMS + 1] = "offset\tlen\torig_len\tts\n",
	[F_GAPS] = "offset\tlen\tts\treason\n",
	[F_GAPS + 1] = "offset\tlen\tts\treason\n",
};

#define BASE_MAX	240
#define CONV_BUCKETS	1024

struct fconv;

/* One file of a conversation; open or not. */
struct ffile {
	int fd;			/* -1: not open now */
	bool made;		/* exists in DIR */
	struct fconv *conv;
	unsigned kind;
	struct ffile *prev, *next;	/* LRU list of open files */
};

/* A conversation still open. */
struct fconv {
	uint64_t id;
	char base[BASE_MAX];
	struct ffile files[F_COUNT];
	uint64_t written[2];	/* bytes in each data file */
	/* the datagram being put together from PART events */
	bool dg_open[2];
	uint64_t dg_off[2], dg_len[2];
	size_t dg_orig[2];
	struct timespec dg_ts[2];
	uint64_t ndgrams[2];
	struct fconv *hnext;
};

struct flows {
	int dirfd;
	char *dir;		/* for messages and removing an unused DIR */
	bool made_dir;
	unsigned max_open, nopen;
	struct ffile lru;	/* list head: next is most recent */
	struct fconv *convs[CONV_BUCKETS];
	int index_fd;
	char index_tmp[64];
	bool made_index;	/* index_tmp is ours to remove */
	uint64_t rows;
	bool failed, finished;
};

/* ------------------------------------------------------------------ */
/* names */

static size_t put_endpoint(char *buf, size_t size, const struct st_endpoint *in)
{
	struct st_endpoint ep;
	int n = 0;

	st_endpoint_unmap(&ep, in);
	switch (ep.family) {
	case AF_INET: {
		const uint8_t *a = (const uint8_t *)&ep.v4;

		n = snprintf(buf, size, "%03u.%03u.%03u.%03u.%05u", a[0], a[1],
			     a[2], a[3], (unsigned)ep.port);
		break;
	}
	case AF_INET6: {
		const uint8_t *a = ep.v6.s6_addr;

		for (int i = 0; i < 16 && n >= 0 && (size_t)n < size; i += 2)
			n += snprintf(buf + n, size - (size_t)n, "%02x%02x.",
				      a[i], a[i + 1]);
		if (n >= 0 && (size_t)n < size)
			n += snprintf(buf + n, size - (size_t)n, "%05u",
				      (unsigned)ep.port);
		break;
	}
	case AF_UNIX: {
		size_t len = ep.un.len < sizeof(ep.un.path) ? ep.un.len :
			     sizeof(ep.un.path);
		size_t k = 0;
		size_t i = 0;

		if (!len && !ep.un.abstract)
			return (size_t)snprintf(buf, size, "unnamed");
		if (ep.un.abstract && k + 1 < size)
			buf[k++] = '@';
		/* "/run/x.sock" reads better as "run_x.sock" */
		while (!ep.un.abstract && i < len && ep.un.path[i] == '/')
			i++;
		for (; i < len && k < 60 && k + 1 < size; i++) {
			unsigned char c = (unsigned char)ep.un.path[i];
			bool ok = (c >= 'a' && c <= 'z') ||
				  (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '.' ||
				  c == '_';

			buf[k++] = ok ? (char)c : '_';
		}
		if (!k && k + 1 < size)
			buf[k++] = '_';
		buf[k] = '\0';
		return k;
	}
	case AF_NETLINK:
		n = snprintf(buf, size, "netlink.%" PRIu32, ep.nl.portid);
		break;
	default:
		n = snprintf(buf, size, "unknown");
		break;
	}
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static void make_base(struct fconv *fc, const struct st_conv *c)
{
	char a[96], b[96], proto[24];
	const char *pn = st_proto_name(c->proto);
	size_t k = 0;

	/* "UNIX-STREAM" -> "unixstream": '-' separates the name's fields */
	for (; *pn && k + 1 < sizeof(proto); pn++) {
		char ch = *pn;

		if (ch >= 'A' && ch <= 'Z')
			proto[k++] = (char)(ch - 'A' + 'a');
		else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			proto[k++] = ch;
	}
	proto[k] = '\0';
	put_endpoint(a, sizeof(a), &c->a);
	put_endpoint(b, sizeof(b), &c->b);
	snprintf(fc->base, sizeof(fc->base), "%06" PRIu64 "-%s-%s-%s", c->id,
		 proto, a, b);
}

static void file_name(const struct fconv *fc, unsigned kind, char *buf,
		      size_t size)
{
	snprintf(buf, size, "%s%s", fc->base, kind_suffix[kind]);
}

/* ------------------------------------------------------------------ */
/* files */

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void lru_unlink(struct ffile *ff)
{
	ff->prev->next = ff->next;
	ff->next->prev = ff->prev;
	ff->prev = ff->next = NULL;
}

static void lru_push(struct flows *fl, struct ffile *ff)
{
	ff->prev = &fl->lru;
	ff->next = fl->lru.next;
	fl->lru.next->prev = ff;
	fl->lru.next = ff;
}

static void file_close(struct flows *fl, struct ffile *ff)
{
	if (ff->fd < 0)
		return;
	close(ff->fd);
	ff->fd = -1;
	lru_unlink(ff);
	fl->nopen--;
}

/* The file, open (made 0600 the first time), most recently used. */
static int file_open(struct flows *fl, struct ffile *ff)
{
	char name[BASE_MAX + 16];
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	int fd;

	if (ff->fd >= 0) {
		lru_unlink(ff);
		lru_push(fl, ff);
		return 0;
	}
	if (fl->nopen >= fl->max_open)
		file_close(fl, fl->lru.prev);
	if (!ff->made)
		flags |= O_CREAT | O_EXCL;
	file_name(ff->conv, ff->kind, name, sizeof(name));
	for (;;) {
		fd = openat(fl->dirfd, name, flags, 0600);
		if (fd >= 0 || (errno != EMFILE && errno != ENFILE) ||
		    !fl->nopen)
			break;
		/* out of descriptors: give one of ours back, retry */
		file_close(fl, fl->lru.prev);
	}
	if (fd < 0)
		return -errno;
	ff->fd = fd;
	lru_push(fl, ff);
	fl->nopen++;
	if (!ff->made) {
		ff->made = true;
		if (kind_header[ff->kind])
			return write_all(fd, kind_header[ff->kind],
					 strlen(kind_header[ff->kind]));
	}
	return 0;
}

static int file_write(struct flows *fl, struct fconv *fc, unsigned kind,
		      const void *p, size_t n)
{
	struct ffile *ff = &fc->files[kind];
	int rc = file_open(fl, ff);

	if (rc < 0)
		return rc;
	return write_all(ff->fd, p, n);
}

/* ------------------------------------------------------------------ */
/* conversations */

static struct fconv **bucket(struct flows *fl, uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull;

	return &fl->convs[(h >> 54) & (CONV_BUCKETS - 1)];
}

static struct fconv *conv_get(struct flows *fl, const struct st_conv *c)
{
	struct fconv **pp = bucket(fl, c->id), *fc;

	for (fc = *pp; fc; fc = fc->hnext)
		if (fc->id == c->id)
			return fc;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return NULL;
	fc->id = c->id;
	make_base(fc, c);
	for (unsigned k = 0; k < F_COUNT; k++) {
		fc->files[k].fd = -1;
		fc->files[k].conv = fc;
		fc->files[k].kind = k;
	}
	fc->hnext = *pp;
	*pp = fc;
	return fc;
}

static void conv_free(struct flows *fl, struct fconv *fc)
{
	struct fconv **pp = bucket(fl, fc->id);

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == fc) {
			*pp = fc->hnext;
			break;
		}
	}
	for (unsigned k = 0; k < F_COUNT; k++)
		file_close(fl, &fc->files[k]);
	free(fc);
}

static int fmt_ts(char *buf, size_t size, const struct timespec *ts)
{
	return snprintf(buf, size, "%lld.%09ld", (long long)ts->tv_sec,
			(long)ts->tv_nsec);
}

/* Ends the datagram being assembled in dir: one line in .dgrams. */
static int dgram_flush(struct flows *fl, struct fconv *fc, int dir)
{
	char line[128], ts[40];
	size_t orig;
	int n;

	if (!fc->dg_open[dir])
		return 0;
	fc->dg_open[dir] = false;
	fc->ndgrams[dir]++;
	orig = fc->dg_orig[dir] > fc->dg_len[dir] ? fc->dg_orig[dir] :
						    fc->dg_len[dir];
	fmt_ts(ts, sizeof(ts), &fc->dg_ts[dir]);
	n = snprintf(line, sizeof(line), "%" PRIu64 "\t%" PRIu64 "\t%zu\t%s\n",
		     fc->dg_off[dir], fc->dg_len[dir], orig, ts);
	return file_write(fl, fc, F_DGRAMS + dir, line, (size_t)n);
}

static int on_data(struct flows *fl, struct fconv *fc,
		   const struct st_event *ev)
{
	int dir = ev->dir == ST_DIR_B_TO_A;
	int rc = 0;

	if (ev->flags & ST_EVF_DGRAM) {
		if (!fc->dg_open[dir]) {
			fc->dg_open[dir] = true;
			fc->dg_off[dir] = fc->written[dir];
			fc->dg_len[dir] = 0;
			fc->dg_orig[dir] = 0;
			fc->dg_ts[dir] = ev->who.ts;
		}
		fc->dg_len[dir] += ev->len;
		if ((ev->flags & ST_EVF_TRUNC) &&
		    ev->orig_len > fc->dg_orig[dir])
			fc->dg_orig[dir] = ev->orig_len;
	} else {
		rc = dgram_flush(fl, fc, dir);
	}
	if (rc == 0 && ev->len && ev->data) {
		rc = file_write(fl, fc, F_DATA + dir, ev->data, ev->len);
		if (rc == 0)
			fc->written[dir] += ev->len;
	}
	if (rc == 0 && (ev->flags & ST_EVF_DGRAM) &&
	    !(ev->flags & ST_EVF_PART))
		rc = dgram_flush(fl, fc, dir);
	return rc;
}

static int on_gap(struct flows *fl, struct fconv *fc,
		  const struct st_event *ev)
{
	int dir = ev->dir == ST_DIR_B_TO_A;
	const char *why = ev->note ? ev->note : "unknown";
	char line[256], ts[40];
	size_t k;
	int rc;

	/* the datagram ends with what could be read of it */
	rc = dgram_flush(fl, fc, dir);
	if (rc < 0)
		return rc;
	fmt_ts(ts, sizeof(ts), &ev->who.ts);
	k = (size_t)snprintf(line, sizeof(line), "%" PRIu64 "\t%zu\t%s\t",
			     fc->written[dir], ev->len, ts);
	/* the reason is static text, but keep the line one line */
	for (; *why && k + 2 < sizeof(line); why++)
		line[k++] = (*why == '\t' || *why == '\n') ? ' ' : *why;
	line[k++] = '\n';
	return file_write(fl, fc, F_GAPS + dir, line, k);
}

/* ------------------------------------------------------------------ */
/* the index */

static const char index_header[] =
	"id\tproto\torigin\ta\tb\tpids\tcomm\tfirst\tlast\tend\t"
	"a2b_bytes\tb2a_bytes\ta2b_gap_bytes\tb2a_gap_bytes\t"
	"a2b_dgrams\tb2a_dgrams\ta2b_file\tb2a_file\t"
	"a2b_dgrams_file\tb2a_dgrams_file\ta2b_gaps_file\tb2a_gaps_file\n";

/* A bounded text buffer for one index line. */
struct line {
	char buf[4096];
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n :
			  sizeof(l->buf) - l->len - 1;
}

static void add_comm(struct line *l, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			add(l, "%c", c);
		else
			add(l, "\\x%02x", c);
	}
}

static int index_row(struct flows *fl, struct fconv *fc,
		     const struct st_conv *c)
{
	struct line l = { .len = 0 };
	char a[160], b[160], t1[40], t2[40], proto[24];

	st_endpoint_format(&c->a, a, sizeof(a));
	st_endpoint_format(&c->b, b, sizeof(b));
	fmt_ts(t1, sizeof(t1), &c->first);
	fmt_ts(t2, sizeof(t2), &c->last);
	snprintf(proto, sizeof(proto), "%s", st_proto_name(c->proto));
	add(&l, "%" PRIu64 "\t%s\t%s\t%s\t%s\t", c->id, proto,
	    st_origin_name(c->origin), a, b);
	for (unsigned i = 0; i < c->npids && i < ST_CONV_MAX_PIDS; i++)
		add(&l, "%s%d", i ? "," : "", (int)c->pids[i]);
	if (!c->npids)
		add(&l, "-");
	add(&l, "\t");
	add_comm(&l, c->comm, sizeof(c->comm));
	add(&l, "\t%s\t%s\t%s", t1, t2, st_end_name(c->end));
	for (int d = 0; d < 2; d++)
		add(&l, "\t%" PRIu64, fc->written[d]);
	for (int d = 0; d < 2; d++)
		add(&l, "\t%" PRIu64, c->gap_bytes[d]);
	for (int d = 0; d < 2; d++)
		add(&l, "\t%" PRIu64, fc->ndgrams[d]);
	for (unsigned k = 0; k < F_COUNT; k++) {
		if (fc->files[k].made)
			add(&l, "\t%s%s", fc->base, kind_suffix[k]);
		else
			add(&l, "\t-");
	}
	/* a line longer than the buffer still ends as a line */
	if (l.len >= sizeof(l.buf) - 1)
		l.len = sizeof(l.buf) - 2;
	l.buf[l.len++] = '\n';
	fl->rows++;
	return write_all(fl->index_fd, l.buf, l.len);
}

static int on_end(struct flows *fl, struct fconv *fc, const struct st_conv *c)
{
	int rc = dgram_flush(fl, fc, 0);

	if (rc == 0)
		rc = dgram_flush(fl, fc, 1);
	if (rc == 0)
		rc = index_row(fl, fc, c);
	conv_free(fl, fc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the sink */

static int flows_event(void *priv, const struct st_event *ev)
{
	struct flows *fl = priv;
	struct fconv *fc;
	int rc = 0;

	if (fl->failed)
		return 0;
	fc = conv_get(fl, ev->conv);
	if (!fc)
		rc = -ENOMEM;
	else if (ev->type == ST_EV_DATA)
		rc = on_data(fl, fc, ev);
	else if (ev->type == ST_EV_GAP)
		rc = on_gap(fl, fc, ev);
	else if (ev->type == ST_EV_END)
		rc = on_end(fl, fc, ev->conv);
	if (rc < 0)
		fl->failed = true;
	return rc;
}

static void close_all(struct flows *fl)
{
	for (unsigned b = 0; b < CONV_BUCKETS; b++)
		while (fl->convs[b])
			conv_free(fl, fl->convs[b]);
}

static int flows_finish(void *priv)
{
	struct flows *fl = priv;
	int rc = 0;

	if (fl->finished)
		return 0;
	fl->finished = true;
	/* the model ends every conversation before finish; anything left
	 * (an END never delivered) still gets its files closed */
	close_all(fl);
	if (fl->index_fd >= 0) {
		if (close(fl->index_fd) < 0 && !fl->failed)
			rc = -errno;
		fl->index_fd = -1;
	}
	/* even after a failure the index describes what was written */
	if (renameat(fl->dirfd, fl->index_tmp, fl->dirfd, "index.tsv") < 0 &&
	    !rc && !fl->failed)
		rc = -errno;
	if (fl->failed)
		return 0;
	if (rc < 0)
		fl->failed = true;
	return rc;
}

static void flows_destroy(void *priv)
{
	struct flows *fl = priv;

	if (!fl)
		return;
	close_all(fl);
	if (fl->index_fd >= 0)
		close(fl->index_fd);
	/* never finished (tracing did not start): leave nothing behind
	 * that looks like an empty capture */
	if (!fl->finished && !fl->rows) {
		if (fl->made_index)
			unlinkat(fl->dirfd, fl->index_tmp, 0);
		if (fl->made_dir)
			rmdir(fl->dir);
	}
	if (fl->dirfd >= 0)
		close(fl->dirfd);
	free(fl->dir);
	free(fl);
}

/* A name this sink would make: digits then '-', or index.tsv. */
static bool ours(const char *name)
{
	size_t i = 0;

	if (!strcmp(name, "index.tsv"))
		return true;
	while (name[i] >= '0' && name[i] <= '9')
		i++;
	return i >= 6 && name[i] == '-';
}

/* Refuses a DIR holding an earlier run's files: new files could not be
 * made (O_EXCL) and the old index would be replaced. */
static int check_empty(struct flows *fl, char *err, size_t errlen)
{
	int fd = dup(fl->dirfd);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot read '%s': %s", fl->dir,
			 strerror(-rc));
		return rc;
	}
	while ((de = readdir(d))) {
		if (ours(de->d_name)) {
			snprintf(err, errlen, "'%s' already holds flow files "
				 "(%s); use a new or empty directory",
				 fl->dir, de->d_name);
			rc = -EEXIST;
			break;
		}
	}
	closedir(d);
	return rc;
}

static int open_dir(struct flows *fl, const char *dir, char *err,
		    size_t errlen)
{
	struct stat sb;
	int rc;

	if (lstat(dir, &sb) < 0) {
		if (errno != ENOENT) {
			rc = -errno;
			goto fail;
		}
		if (mkdir(dir, 0700) < 0) {
			rc = -errno;
			goto fail;
		}
		fl->made_dir = true;
	} else if (S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "flow directory '%s' is a symbolic link; "
			 "give the real path", dir);
		return -ELOOP;
	} else if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "'%s' is not a directory", dir);
		return -ENOTDIR;
	}
	/* O_NOFOLLOW: a link swapped in after lstat is refused too */
	fl->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC);
	if (fl->dirfd < 0) {
		rc = -errno;
		if (rc == -ELOOP || rc == -ENOTDIR) {
			snprintf(err, errlen, "flow directory '%s' is not a "
				 "directory (a symbolic link?)", dir);
			return rc;
		}
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot use flow directory '%s': %s", dir,
		 strerror(-rc));
	return rc;
}

int st_flows_sink_new_max(const char *dir, unsigned max_open,
			  struct st_sink *sink, char *err, size_t errlen)
{
	struct flows *fl;
	int rc;

	if (!dir || !*dir || !sink || !max_open) {
		snprintf(err, errlen, "no flow directory given");
		return -EINVAL;
	}
	fl = calloc(1, sizeof(*fl));
	if (!fl || !(fl->dir = strdup(dir))) {
		free(fl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fl->dirfd = fl->index_fd = -1;
	fl->max_open = max_open;
	fl->lru.next = fl->lru.prev = &fl->lru;
	rc = open_dir(fl, dir, err, errlen);
	if (rc == 0)
		rc = check_empty(fl, err, errlen);
	if (rc == 0) {
		snprintf(fl->index_tmp, sizeof(fl->index_tmp),
			 ".index.tsv.%d.tmp", (int)getpid());
		fl->index_fd = openat(fl->dirfd, fl->index_tmp,
				      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				      O_CLOEXEC | O_NOCTTY, 0600);
		if (fl->index_fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot create '%s/%s': %s", dir,
				 fl->index_tmp, strerror(-rc));
		} else {
			fl->made_index = true;
			rc = write_all(fl->index_fd, index_header,
				       sizeof(index_header) - 1);
			if (rc < 0)
				snprintf(err, errlen, "cannot write '%s/%s': "
					 "%s", dir, fl->index_tmp,
					 strerror(-rc));
		}
	}
	if (rc < 0) {
		flows_destroy(fl);
		return rc;
	}
	memset(sink, 0, sizeof(*sink));
	sink->name = "flows";
	sink->priv = fl;
	sink->on_event = flows_event;
	sink->finish = flows_finish;
	sink->destroy = flows_destroy;
	return 0;
}

int st_flows_sink_new(const char *dir, struct st_sink *sink, char *err,
		      size_t errlen)
{
	return st_flows_sink_new_max(dir, ST_FLOWS_MAX_OPEN, sink, err,
				     errlen);
}
