/* Helpers of the golden tests: see golden.h. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "golden/golden.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* A growing string                                                    */

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sb_str(struct sbuf *b, const char *s)
{
	return sb_add(b, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

int gold_tmpdir(char *dir, size_t size)
{
	if (snprintf(dir, size, "/tmp/socktap-golden-XXXXXX") >= (int)size)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void gold_rmtree(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *gold_path(const char *dir, const char *name)
{
	static char path[8][512];
	static unsigned k;
	char *p = path[k++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

char *gold_slurp(const char *path)
{
	struct sbuf b = { 0 };
	char tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (sb_add(&b, "", 0) < 0)
		goto fail;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (sb_add(&b, tmp, (size_t)n) < 0)
			goto fail;
	}
	close(fd);
	return b.p;
fail:
	close(fd);
	free(b.p);
	return NULL;
}

int gold_write(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

static int exit_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -EINVAL;
}

pid_t gold_spawn(const char *const argv[], const char *in, const char *out,
		 const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	rc = posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null",
					      O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1,
			out ? out : "/dev/null",
			O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 2,
			err ? err : "/dev/null",
			O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (!rc)
		rc = posix_spawnp(&pid, argv[0], &fa, NULL,
				  (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -rc : pid;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int gold_wait(pid_t pid, int timeout_ms)
{
	int ws, waited = 0;

	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return exit_status(ws);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms)
			break;
		nap_ms(5);
		waited += 5;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

void gold_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	if (kill(pid, SIGTERM) < 0)
		return;
	gold_wait(pid, 2000);
}

int gold_run(const char *const argv[], const char *in, const char *out,
	     const char *err, int timeout_ms)
{
	pid_t pid = gold_spawn(argv, in, out, err);

	if (pid < 0)
		return pid;
	return gold_wait(pid, timeout_ms);
}

/* Has pid exited?  Leaves it to be reaped. */
static bool exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

int gold_wait_line(const char *file, const char *needle, char *line,
		   size_t size, pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		char *text = gold_slurp(file), *hit;
		bool gone = pid > 0 && exited(pid);

		if (text && (hit = strstr(text, needle))) {
			char *s = hit, *e = strchr(hit, '\n');

			while (s > text && s[-1] != '\n')
				s--;
			if (e || gone) {
				size_t n = e ? (size_t)(e - s) : strlen(s);

				if (n >= size)
					n = size - 1;
				memcpy(line, s, n);
				line[n] = '\0';
				free(text);
				return 0;
			}
		}
		free(text);
		if (gone)
			return -ECHILD;
		nap_ms(10);
	}
	return -ETIMEDOUT;
}

int gold_free_port(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		port = -errno;
		close(fd);
		return port;
	}
	close(fd);
	return ntohs(sin.sin_port);
}

bool gold_have(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[1024];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	while (path && *path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) <
		    (int)sizeof(buf) && access(buf, X_OK) == 0)
			return true;
		path = c ? c + 1 : NULL;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* socktap                                                             */

int gold_socktap(const char *dir, const char *name,
		 const char *const cmd[],
		 const char *in)
{
	char trace[512], json[512], out[512], err[512];
	const char *argv[64];
	size_t n = 0, i;

	snprintf(trace, sizeof(trace), "%s/%s.trace", dir, name);
	snprintf(json, sizeof(json), "%s/%s.json", dir, name);
	snprintf(out, sizeof(out), "%s/%s.out", dir, name);
	snprintf(err, sizeof(err), "%s/%s.err", dir, name);
	argv[n++] = ST_BIN;
	argv[n++] = "-o";
	argv[n++] = trace;
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n++] = "--";
	for (i = 0; cmd[i]; i++) {
		if (n + 2 > sizeof(argv) / sizeof(argv[0]))
			return -E2BIG;
		argv[n++] = cmd[i];
	}
	argv[n] = NULL;
	return gold_run(argv, in, out, err, 30000);
}

/* ------------------------------------------------------------------ */
/* Extraction                                                          */

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool record_line(const char *s)
{
	return starts(s, "  > ") || starts(s, "  < ");
}

static bool block_line(const char *s)
{
	return record_line(s) || starts(s, "        ");
}

static int cmp_str(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return strcmp(x ? x : "", y ? y : "");
}

/* The blocks of a trace, in trace order (malloc'd strings). */
static char **extract_blocks(const char *trace, size_t *nblk)
{
	struct sbuf *blk = NULL;
	const char *line = trace;
	bool in_block = false;
	char **v;
	size_t n = 0, i;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (starts(line, "socktap: conversation ")) {
			struct sbuf *nb = realloc(blk, (n + 1) * sizeof(*blk));

			if (!nb)
				break;
			blk = nb;
			memset(&blk[n], 0, sizeof(*blk));
			/* ids, addresses and ports differ from run to run */
			for (i = 0; i < len; i++) {
				bool dig = isdigit((unsigned char)line[i]);

				while (dig && i + 1 < len &&
				       isdigit((unsigned char)line[i + 1]))
					i++;
				sb_add(&blk[n], dig ? "#" : line + i, 1);
			}
			sb_add(&blk[n], "\n", 1);
			n++;
			in_block = true;
		} else if (in_block && block_line(line)) {
			sb_add(&blk[n - 1], line, len);
			sb_add(&blk[n - 1], "\n", 1);
		} else {
			in_block = false;
		}
		line = nl ? nl + 1 : NULL;
	}
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (v)
			v[i] = blk[i].p;
		else
			free(blk[i].p);
	}
	free(blk);
	*nblk = v ? n : 0;
	return v;
}

/*
 * The block with its records regrouped: A to B records first, then B to
 * A, each direction in its own order.  When both ends are traced, the
 * tracer may see a sender's syscall return only after the receiver
 * already reacted, so the interleaving of directions is not stable; the
 * order within one direction is.
 */
static char *by_direction(const char *block)
{
	struct sbuf out = { 0 };
	const char *nl = strchr(block, '\n');

	sb_add(&out, "", 0);
	if (!nl)
		return out.p;
	sb_add(&out, block, (size_t)(nl - block) + 1);
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass ? "  < " : "  > ";
		bool take = false;

		for (const char *l = nl + 1; *l; ) {
			const char *e = strchrnul(l, '\n');

			if (record_line(l))
				take = starts(l, want);
			if (take)
				sb_add(&out, l, (size_t)(e - l) + (*e ? 1 : 0));
			l = *e ? e + 1 : e;
		}
	}
	return out.p;
}

char *gold_extract_masked(const char *trace, const struct gold_mask *m,
			  size_t nm, bool bydir)
{
	struct sbuf out = { 0 };
	size_t n, i;
	char **v = extract_blocks(trace, &n);

	sb_add(&out, "", 0);
	if (!v)
		return out.p;
	/* masks per block: renamed values are numbered per conversation,
	 * whatever order the conversations ended in */
	for (i = 0; i < n; i++) {
		char *mk = gold_apply(v[i] ? v[i] : "", m, nm);

		free(v[i]);
		v[i] = mk;
		if (bydir && mk) {
			v[i] = by_direction(mk);
			free(mk);
		}
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++) {
		if (v[i])
			sb_str(&out, v[i]);
		free(v[i]);
	}
	free(v);
	return out.p;
}

char *gold_extract(const char *trace)
{
	return gold_extract_masked(trace, NULL, 0, false);
}

/* ------------------------------------------------------------------ */
/* Masks                                                               */

struct names {
	char *v[64];
	size_t n;
};

/* 1-based index of value v among the distinct values seen so far. */
static size_t name_index(struct names *nm, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		if (strlen(nm->v[i]) == len && !strncmp(nm->v[i], v, len))
			return i + 1;
	if (nm->n < sizeof(nm->v) / sizeof(nm->v[0]))
		nm->v[nm->n++] = strndup(v, len);
	return nm->n;
}

static void apply_one(struct sbuf *out, const char *text,
		      const struct gold_mask *m)
{
	regex_t re;
	regmatch_t g[10];
	struct names nm = { { 0 }, 0 };
	const char *p = text;
	char num[32];

	if (regcomp(&re, m->re, REG_EXTENDED | REG_NEWLINE)) {
		/* a bad pattern is the test's bug: make it visible */
		sb_str(out, "[bad mask pattern] ");
		sb_str(out, text);
		return;
	}
	while (*p) {
		int flags = p > text && p[-1] != '\n' ? REG_NOTBOL : 0;

		if (regexec(&re, p, 10, g, flags))
			break;
		sb_add(out, p, (size_t)g[0].rm_so);
		if (m->rename) {
			size_t k = g[1].rm_so < 0 ? 0 :
				   name_index(&nm, p + g[1].rm_so,
					      (size_t)(g[1].rm_eo -
						       g[1].rm_so));

			if (g[1].rm_so < 0) {
				sb_add(out, p + g[0].rm_so,
				       (size_t)(g[0].rm_eo - g[0].rm_so));
			} else {
				sb_add(out, p + g[0].rm_so,
				       (size_t)(g[1].rm_so - g[0].rm_so));
				snprintf(num, sizeof(num), "<%s %zu>", m->rep,
					 k);
				sb_str(out, num);
				sb_add(out, p + g[1].rm_eo,
				       (size_t)(g[0].rm_eo - g[1].rm_eo));
			}
		} else {
			for (const char *r = m->rep; *r; r++) {
				if (r[0] == '\\' && r[1] >= '0' &&
				    r[1] <= '9') {
					int k = r[1] - '0';

					if (g[k].rm_so >= 0)
						sb_add(out, p + g[k].rm_so,
						       (size_t)(g[k].rm_eo -
								g[k].rm_so));
					r++;
				} else {
					sb_add(out, r, 1);
				}
			}
		}
		if (g[0].rm_eo == g[0].rm_so) {
			/* an empty match: step over one character */
			if (!p[g[0].rm_eo])
				break;
			sb_add(out, p + g[0].rm_eo, 1);
			p += g[0].rm_eo + 1;
		} else {
			p += g[0].rm_eo;
		}
	}
	sb_str(out, p);
	regfree(&re);
	for (size_t i = 0; i < nm.n; i++)
		free(nm.v[i]);
}

char *gold_apply(const char *text, const struct gold_mask *m, size_t n)
{
	char *cur = strdup(text);

	for (size_t i = 0; cur && i < n; i++) {
		struct sbuf out = { 0 };

		sb_add(&out, "", 0);
		apply_one(&out, cur, &m[i]);
		free(cur);
		cur = out.p;
	}
	return cur;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */

/* Line number (1-based) and text of the first line where a and b
 * differ. */
static size_t first_diff(const char *a, const char *b, char *la, char *lb,
			 size_t size)
{
	size_t ln = 1;

	for (;;) {
		const char *ea = strchrnul(a, '\n'), *eb = strchrnul(b, '\n');
		size_t na = (size_t)(ea - a), nb = (size_t)(eb - b);

		if (na != nb || strncmp(a, b, na) || !*ea != !*eb) {
			snprintf(la, size, "%.*s%s", (int)na, a,
				 *a ? "" : "(end of text)");
			snprintf(lb, size, "%.*s%s", (int)nb, b,
				 *b ? "" : "(end of text)");
			return ln;
		}
		if (!*ea)
			return 0;
		a = ea + 1;
		b = eb + 1;
		ln++;
	}
}

void gold_check(const char *name, const char *got)
{
	char path[512], le[512], lg[512];
	const char *upd = getenv("ST_GOLDEN_UPDATE");
	char *want;
	size_t ln;

	cr_assert_not_null(got);
	snprintf(path, sizeof(path), "%s/tests/golden/expected/%s.txt",
		 ST_SOURCE_DIR, name);
	if (upd && !strcmp(upd, "1")) {
		cr_assert_eq(gold_write(path, got, strlen(got)), 0,
			     "cannot write %s", path);
		cr_log_warn("%s rewritten (ST_GOLDEN_UPDATE=1): review it",
			    path);
		return;
	}
	want = gold_slurp(path);
	cr_assert_not_null(want, "%s is missing (ST_GOLDEN_UPDATE=1 writes "
			   "it from this run; review it)", path);
	cr_assert(got[0], "no decoded conversation in the trace");
	ln = first_diff(want, got, le, lg, sizeof(le));
	if (ln) {
		cr_log_error("decoded rendering for %s:\n%s", name, got);
		cr_assert_fail("%s differs from %s at line %zu:\n"
			       "  expected: %s\n  got:      %s",
			       name, path, ln, le, lg);
	}
	free(want);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined (malloc'd). */
static char *sorted_lines(const char *text, bool (*keep)(const char *))
{
	char **v = NULL, *copy = strdup(text), *save = NULL, *l;
	struct sbuf out = { 0 };
	size_t n = 0;

	sb_add(&out, "", 0);
	for (l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char **nv;

		if (keep && !keep(l))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n++] = l;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_lines);
	for (size_t i = 0; i < n; i++) {
		sb_str(&out, v[i]);
		sb_add(&out, "\n", 1);
	}
	free(v);
	free(copy);
	return out.p;
}

char *gold_jq(const char *dir, const char *name, const char *filter,
	      bool slurp)
{
	char json[512], jout[512], jerr[512];
	const char *argv[] = { "jq", slurp ? "-rs" : "-r", filter, json,
			       NULL };
	int rc;

	snprintf(json, sizeof(json), "%s/%s.json", dir, name);
	snprintf(jout, sizeof(jout), "%s/%s.jq", dir, name);
	snprintf(jerr, sizeof(jerr), "%s/%s.jq-err", dir, name);
	unlink(jout);
	rc = gold_run(argv, NULL, jout, jerr, 20000);
	if (rc != 0)
		return NULL;
	return gold_slurp(jout);
}

void gold_check_json(const char *dir, const char *name)
{
	static const char filter[] =
		"select(.type == \"decoded\") | .record | \"  \" + "
		"(if .dir == \"a>b\" then \">\" else \"<\" end) + \" \" + "
		".decoder + \" \" + .kind + \": \" + .summary";
	char path[512], *trace, *extract, *from_text, *jtext, *from_json;

	jtext = gold_jq(dir, name, filter, false);
	cr_assert_not_null(jtext, "jq failed on %s/%s.json", dir, name);
	snprintf(path, sizeof(path), "%s/%s.trace", dir, name);
	trace = gold_slurp(path);
	cr_assert_not_null(trace, "no trace %s", path);
	extract = gold_extract(trace);
	from_text = sorted_lines(extract, record_line);
	from_json = sorted_lines(jtext, NULL);
	cr_assert_str_eq(from_json, from_text,
			 "--json decoded records differ from the text ones:"
			 "\njson:\n%s\ntext:\n%s", from_json, from_text);
	free(trace);
	free(extract);
	free(from_text);
	free(jtext);
	free(from_json);
}

char *gold_decoded(const char *dir, const char *name,
		   const struct gold_mask *m, size_t n)
{
	return gold_decoded_opt(dir, name, m, n, false);
}

char *gold_decoded_opt(const char *dir, const char *name,
		       const struct gold_mask *m, size_t n, bool bydir)
{
	char path[512], *trace, *masked;

	snprintf(path, sizeof(path), "%s/%s.trace", dir, name);
	trace = gold_slurp(path);
	cr_assert_not_null(trace, "socktap wrote no trace %s", path);
	masked = gold_extract_masked(trace, m, n, bydir);
	free(trace);
	cr_assert_not_null(masked);
	return masked;
}

/* ------------------------------------------------------------------ */
/* Per-test fixture                                                    */

static char g_dir[64];
static pid_t g_servers[8];

void gold_setup(void)
{
	cr_assert_eq(gold_tmpdir(g_dir, sizeof(g_dir)), 0,
		     "cannot make a temporary directory");
}

void gold_teardown(void)
{
	for (size_t i = 0; i < sizeof(g_servers) / sizeof(g_servers[0]); i++) {
		gold_stop(g_servers[i]);
		g_servers[i] = 0;
	}
	gold_rmtree(g_dir);
	g_dir[0] = '\0';
}

const char *gold_dir(void)
{
	return g_dir;
}

pid_t gold_server(const char *const argv[], const char *out, const char *err)
{
	pid_t pid = gold_spawn(argv, NULL, out, err);

	for (size_t i = 0; pid > 0 &&
	     i < sizeof(g_servers) / sizeof(g_servers[0]); i++) {
		if (!g_servers[i]) {
			g_servers[i] = pid;
			return pid;
		}
	}
	if (pid > 0) {
		gold_stop(pid);
		return -ENOSPC;
	}
	return pid;
}

static void untrack(pid_t pid)
{
	for (size_t i = 0; i < sizeof(g_servers) / sizeof(g_servers[0]); i++)
		if (g_servers[i] == pid)
			g_servers[i] = 0;
}

int gold_server_wait(pid_t pid, int timeout_ms)
{
	int rc = gold_wait(pid, timeout_ms);

	untrack(pid);	/* reaped either way: the pid may be reused */
	return rc;
}

void gold_server_stop(pid_t pid)
{
	gold_stop(pid);
	untrack(pid);
}

void gold_trace(const char *name, const char *const cmd[],
		const char *in)
{
	char path[512], *err;
	int rc = gold_socktap(g_dir, name, cmd, in);

	if (rc == 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.err", g_dir, name);
	err = gold_slurp(path);
	cr_assert_fail("socktap -- %s exited with %d; its stderr:\n%s",
		       cmd[0], rc, err ? err : "(none)");
}
