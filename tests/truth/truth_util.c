/*
 * Ground-truth harness (see truth_util.h).  Every tool runs with a fixed
 * argument list, never through a shell; every process is started and
 * stopped by pid.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "truth/truth_util.h"

/* ------------------------------------------------------------------ */
/* bytes */

void tu_bytes_add(struct tu_bytes *b, const void *p, size_t n)
{
	if (!n)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void tu_bytes_u32(struct tu_bytes *b, uint32_t v)
{
	tu_bytes_add(b, &v, sizeof(v));
}

void tu_bytes_free(struct tu_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

__attribute__((format(printf, 3, 4)))
static bool fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return false;
}

bool tu_bytes_same(const struct tu_bytes *got, const struct tu_bytes *want,
		   const char *what, char *why, size_t size)
{
	size_t i = 0;

	while (i < got->len && i < want->len && got->p[i] == want->p[i])
		i++;
	if (got->len == want->len && i == want->len)
		return true;
	if (i < got->len && i < want->len)
		return fail(why, size, "%s: %zu bytes, the wire %zu; first "
			    "difference at byte %zu (0x%02x, the wire 0x%02x)",
			    what, got->len, want->len, i, got->p[i],
			    want->p[i]);
	return fail(why, size, "%s: %zu bytes, the wire %zu (identical up "
		    "to byte %zu)", what, got->len, want->len, i);
}

char *tu_slurp(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 65536;
	char *p;

	if (fd < 0)
		return NULL;
	p = malloc(cap + 1);
	cr_assert_not_null(p);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap *= 2;
			p = realloc(p, cap + 1);
			cr_assert_not_null(p);
		}
		n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	p[len] = '\0';
	if (lenp)
		*lenp = len;
	return p;
}

void tu_make_file(const char *path, size_t size, unsigned seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static uint8_t buf[65536];
	uint32_t x = seed;

	cr_assert_geq(fd, 0, "cannot create %s", path);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? size - done :
						       sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		cr_assert_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

bool tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------------ */
/* per test */

#define MAX_PROCS 64

static struct proc {
	pid_t pid;
	bool done;
	int status;
} procs[MAX_PROCS];
static int nprocs;
static int keep_fds[MAX_PROCS];
static int nkeep;
static char tmpdir[64];
static int netns_fd = -1;

void tu_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	nprocs = nkeep = 0;
	netns_fd = -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/st-truth-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tu_fini(void)
{
	/* what is still running was started by this test: kill by pid */
	for (int i = 0; i < nprocs; i++) {
		if (procs[i].done)
			continue;
		kill(procs[i].pid, SIGKILL);
		waitpid(procs[i].pid, NULL, 0);
		procs[i].done = true;
	}
	for (int i = 0; i < nkeep; i++)
		close(keep_fds[i]);
	nprocs = nkeep = 0;
	if (netns_fd >= 0)
		close(netns_fd);
	netns_fd = -1;
	if (tmpdir[0] && !getenv("ST_TRUTH_KEEP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (tmpdir[0])
		fprintf(stderr, "truth: kept %s\n", tmpdir);
	tmpdir[0] = '\0';
}

const char *tu_tmp(void)
{
	return tmpdir;
}

void tu_case_init(struct tu_case *k, const char *name, bool pcapng)
{
	snprintf(k->dir, sizeof(k->dir), "%s/%s", tmpdir, name);
	cr_assert_eq(mkdir(k->dir, 0700), 0, "mkdir %s: %s", k->dir,
		     strerror(errno));
	snprintf(k->wire, sizeof(k->wire), "%s/wire.pcap", k->dir);
	snprintf(k->pcap, sizeof(k->pcap), "%s/socktap.%s", k->dir,
		 pcapng ? "pcapng" : "pcap");
	snprintf(k->flows, sizeof(k->flows), "%s/flows", k->dir);
	snprintf(k->json, sizeof(k->json), "%s/events.jsonl", k->dir);
	snprintf(k->trace, sizeof(k->trace), "%s/trace.txt", k->dir);
}

/* ------------------------------------------------------------------ */
/* processes */

static int exit_code(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

static struct proc *find_proc(pid_t pid)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

bool tu_netns_new(char *why, size_t size)
{
	int p[2], err = 0;
	char path[64];
	pid_t c;
	ssize_t n;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	c = fork();
	cr_assert_geq(c, 0, "fork: %s", strerror(errno));
	if (c == 0) {
		/* a holder: the namespace outlives it through the fd the
		 * parent opens */
		int e = unshare(CLONE_NEWNET) ? errno : 0;

		if (write(p[1], &e, sizeof(e)) != sizeof(e))
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], &err, sizeof(err));
	close(p[0]);
	if (n == sizeof(err) && !err) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c);
		netns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (netns_fd < 0)
			err = errno;
	} else if (n != sizeof(err)) {
		err = EIO;
	}
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	if (err || netns_fd < 0)
		return fail(why, size, "unshare(CLONE_NEWNET): %s",
			    strerror(err));

	{
		char *ip[] = { "ip", "link", "set", "lo", "up", NULL };
		char *e = NULL;
		int st = tu_run(ip, NULL, NULL, &e);

		if (st) {
			fail(why, size, "ip link set lo up: %d %s", st,
			     e ? e : "");
			free(e);
			return false;
		}
		free(e);
	}
	return true;
}

pid_t tu_spawn(char *const argv[], int *out, int *err)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	pid_t pid;

	cr_assert_lt(nprocs, MAX_PROCS, "too many processes");
	if (out)
		cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
	if (err)
		cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
			_exit(126);
		if (null < 0 || dup2(null, 0) < 0)
			_exit(126);
		if (dup2(out ? po[1] : null, 1) < 0)
			_exit(126);
		if (err && dup2(pe[1], 2) < 0)
			_exit(126);
		if (null > 2)
			close(null);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	procs[nprocs++] = (struct proc){ .pid = pid };
	if (out) {
		close(po[1]);
		*out = po[0];
	}
	if (err) {
		close(pe[1]);
		*err = pe[0];
	}
	return pid;
}

int tu_wait(pid_t pid)
{
	struct proc *p = find_proc(pid);
	int ws;

	if (p && p->done)
		return p->status;
	while (waitpid(pid, &ws, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid %d: %s", (int)pid,
			     strerror(errno));
	if (!p)
		return exit_code(ws);
	p->done = true;
	p->status = exit_code(ws);
	return p->status;
}

bool tu_running(pid_t pid)
{
	struct proc *p = find_proc(pid);
	int ws;

	cr_assert_not_null(p);
	if (p->done)
		return false;
	if (waitpid(pid, &ws, WNOHANG) == pid) {
		p->done = true;
		p->status = exit_code(ws);
		return false;
	}
	return true;
}

int tu_stop(pid_t pid, int sig)
{
	struct proc *p = find_proc(pid);

	if (!p || !p->done)
		kill(pid, sig);
	return tu_wait(pid);
}

/* Appends what is readable on fd to b; false at EOF. */
static bool drain(int fd, struct tu_bytes *b)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	tu_bytes_add(b, buf, (size_t)n);
	return true;
}

static char *bytes_str(struct tu_bytes *b, size_t *len)
{
	char nul = '\0';

	tu_bytes_add(b, &nul, 1);
	if (len)
		*len = b->len - 1;
	return (char *)b->p;
}

/* A command run to its end, concurrently with others (2 cores: the
 * tshark runs on the wire and on socktap's pcap overlap). */
struct job {
	char *const *argv;
	struct tu_bytes o, e;	/* stdout, stderr */
	int fd[2];
	pid_t pid;
	int st;
};

static void run_jobs(struct job *j, int n)
{
	time_t deadline = time(NULL) + 60;
	struct timespec t0;
	int open = 2 * n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		memset(&j[i].o, 0, sizeof(j[i].o));
		memset(&j[i].e, 0, sizeof(j[i].e));
		j[i].pid = tu_spawn(j[i].argv, &j[i].fd[0], &j[i].fd[1]);
	}
	while (open > 0) {
		struct pollfd p[16];
		int np = 0, r;

		cr_assert_leq(2 * n, 16);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 2; k++)
				p[np++] = (struct pollfd){ j[i].fd[k], POLLIN,
							   0 };
		r = poll(p, np, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (time(NULL) > deadline) {
			for (int i = 0; i < n; i++) {
				kill(j[i].pid, SIGKILL);
				cr_log_error("%s: killed after 60 s",
					     j[i].argv[0]);
			}
			break;
		}
		for (int i = 0; r > 0 && i < 2 * n; i++) {
			struct job *x = &j[i / 2];

			if (!p[i].revents || x->fd[i % 2] < 0)
				continue;
			if (!drain(x->fd[i % 2], i % 2 ? &x->e : &x->o)) {
				close(x->fd[i % 2]);
				x->fd[i % 2] = -1;
				open--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++)
			if (j[i].fd[k] >= 0)
				close(j[i].fd[k]);
		j[i].st = tu_wait(j[i].pid);
		bytes_str(&j[i].o, NULL);
		bytes_str(&j[i].e, NULL);
	}
	if (getenv("ST_TRUTH_TIMING")) {
		struct timespec t1;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "truth: %.3f s, %d x %s %s\n",
			(double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9, n,
			j[0].argv[0], j[0].argv[1] ? j[0].argv[1] : "");
	}
}

int tu_run(char *const argv[], char **out, size_t *outlen, char **err)
{
	struct job j = { .argv = argv };

	run_jobs(&j, 1);
	if (out) {
		*out = (char *)j.o.p;
		if (outlen)
			*outlen = j.o.len - 1;
	} else {
		tu_bytes_free(&j.o);
	}
	if (err)
		*err = (char *)j.e.p;
	else
		tu_bytes_free(&j.e);
	return j.st;
}

bool tu_wait_line(int fd, const char *want, char *line, size_t size,
		  int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, line + len, 1);
		if (n <= 0)
			return false;
		if (line[len] == '\n') {
			line[len] = '\0';
			if (strstr(line, want))
				return true;
			len = 0;
			continue;
		}
		len++;
	}
	return false;
}

int tu_server(char *const argv[], pid_t *pidp)
{
	char line[256];
	int out, port = 0;
	pid_t pid = tu_spawn(argv, &out, NULL);

	cr_assert(tu_wait_line(out, "PORT ", line, sizeof(line), 20000),
		  "%s did not start", argv[0]);
	/* kept open: a server that prints more must not get SIGPIPE */
	if (nkeep < MAX_PROCS)
		keep_fds[nkeep++] = out;
	else
		close(out);
	cr_assert_eq(sscanf(line, "PORT %d", &port), 1, "%s", line);
	if (pidp)
		*pidp = pid;
	return port;
}

static const char http_server[] =
	"import http.server, os, sys\n"
	"os.chdir(sys.argv[1])\n"
	"class H(http.server.SimpleHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def log_message(self, *a): pass\n"
	"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
	"print('PORT %d' % s.server_address[1], flush=True)\n"
	"s.serve_forever()\n";

int tu_http_server(const char *dir, pid_t *pid)
{
	char *argv[] = { "python3", "-u", "-c", (char *)http_server,
			 (char *)dir, NULL };

	return tu_server(argv, pid);
}

/* ------------------------------------------------------------------ */
/* tcpdump */

void tu_capture_start(struct tu_capture *c, const char *path,
		      const char *bpf)
{
	char line[512];
	/* --immediate-mode: otherwise packets wait in a kernel block for
	 * up to a second and are lost when tcpdump is stopped; -B: room for
	 * the multi-MiB bursts of the bulk cases */
	char *argv[] = { "tcpdump", "-i", "lo", "-U", "-n", "-B", "32768",
			 "--immediate-mode", "-w", (char *)path, (char *)bpf,
			 NULL };

	c->pid = tu_spawn(argv, NULL, &c->err);
	/* only from now on are packets recorded */
	cr_assert(tu_wait_line(c->err, "listening on", line, sizeof(line),
			       20000), "tcpdump did not start capturing");
}

void tu_capture_stop(struct tu_capture *c)
{
	char line[512];
	unsigned long dropped = 1;
	bool got;

	/* let tcpdump read what the kernel queued for it */
	usleep(300 * 1000);
	kill(c->pid, SIGINT);
	got = tu_wait_line(c->err, "packets dropped by kernel", line,
			   sizeof(line), 20000);
	if (got)
		got = sscanf(line, "%lu packets dropped", &dropped) == 1;
	tu_wait(c->pid);
	close(c->err);
	c->err = -1;
	cr_assert(got, "tcpdump did not say what it dropped");
	cr_assert_eq(dropped, 0, "tcpdump: %s: no ground truth", line);
}

/* ------------------------------------------------------------------ */
/* socktap */

static int socktap_argv(const struct tu_case *k, char *const extra[],
			char *const cmd[], char **argv, int max)
{
	int n = 0;

	argv[n++] = ST_BIN;
	argv[n++] = "-w";
	argv[n++] = (char *)k->pcap;
	argv[n++] = "--flows";
	argv[n++] = (char *)k->flows;
	argv[n++] = "--json";
	argv[n++] = (char *)k->json;
	argv[n++] = "-o";
	argv[n++] = (char *)k->trace;
	for (int i = 0; extra && extra[i] && n < max - 2; i++)
		argv[n++] = extra[i];
	argv[n++] = "--";
	for (int i = 0; cmd[i] && n < max - 1; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	return n;
}

void tu_socktap(const struct tu_case *k, char *const extra[],
		char *const cmd[])
{
	char *argv[64];
	char *tr;
	size_t len = 0;
	int st;

	socktap_argv(k, extra, cmd, argv, 64);
	st = tu_run(argv, NULL, NULL, NULL);
	if (st == 0)
		return;
	tr = tu_slurp(k->trace, &len);
	cr_assert_eq(st, 0, "socktap -- %s exited %d; its trace ends: %s",
		     cmd[0], st, tr ? tr + (len > 600 ? len - 600 : 0) : "");
	free(tr);
}

pid_t tu_socktap_bg(const struct tu_case *k, char *const extra[],
		    char *const cmd[], int *out)
{
	char *argv[64];

	socktap_argv(k, extra, cmd, argv, 64);
	return tu_spawn(argv, out, NULL);
}

/* ------------------------------------------------------------------ */
/* tshark */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits line at tabs (empty fields kept). */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;

	while (line && n < max)
		f[n++] = strsep(&line, "\t");
	return n;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* s without tshark's lines about running as root. */
static void strip_root_note(char *s)
{
	char *p;

	while ((p = strstr(s, "Running as user \"root\""))) {
		char *nl = strchr(p, '\n');

		if (nl)
			memmove(p, nl + 1, strlen(nl + 1) + 1);
		else
			*p = '\0';
	}
}

/* True when tshark's expert report (in text) has no error or warning
 * section and tshark said nothing on stderr (err). */
static bool expert_scan(const char *text, int st, char *err, char *why,
			size_t size)
{
	static const char *const bad[] = { "Errors (", "Warns (",
					   "Warnings (" };

	strip_root_note(err);
	if (st || *err)
		return fail(why, size, "tshark exited %d: %.300s", st, err);
	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (!strncmp(p, bad[i], strlen(bad[i])))
				return fail(why, size, "tshark expert: "
					    "%.600s", p);
	return true;
}

bool tu_expert_clean(const char *pcap, char *why, size_t size)
{
	char *argv[] = { "tshark", "-n", "-r", (char *)pcap,
			 "-o", "tcp.check_checksum:TRUE",
			 "-o", "ip.check_checksum:TRUE",
			 "-o", "udp.check_checksum:TRUE",
			 "-q", "-z", "expert", NULL };
	char *o, *e;
	int st = tu_run(argv, &o, NULL, &e);
	bool ok = expert_scan(o, st, e, why, size);

	free(o);
	free(e);
	return ok;
}

/*
 * One tshark pass over a pcap.  The first prints, for the packets the
 * display filter selects, the stream id and the lengths (-T fields), the
 * expert report (socktap's pcap) and follows streams 0..guess-1: taps
 * see every packet whatever -Y says.  A second pass follows the selected
 * streams the first did not reach.
 */
struct pass {
	char **argv;
	char (*specs)[48];
	char field[32];
	struct tu_stream *st;	/* the streams it follows */
	int n;
	struct job job;
};

static void pass_init(struct pass *p, const struct tu_follow_req *r,
		      bool first, const int *ids, int n)
{
	static char *const fields[] = {
		"-e", "frame.number", "-e", "frame.len", "-e",
		"frame.cap_len", "-e", "ip.len", "-e", "ipv6.plen",
	};
	static char *const checks[] = {
		"-o", "tcp.check_checksum:TRUE", "-o",
		"ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-z", "expert",
	};
	int na = 0;

	memset(p, 0, sizeof(*p));
	p->argv = calloc(2 * (size_t)n + 40, sizeof(*p->argv));
	p->specs = calloc(n ? (size_t)n : 1, sizeof(*p->specs));
	p->st = calloc(n ? (size_t)n : 1, sizeof(*p->st));
	cr_assert(p->argv && p->specs && p->st);
	p->n = n;
	snprintf(p->field, sizeof(p->field), "%s.stream", r->proto);
	p->argv[na++] = "tshark";
	p->argv[na++] = "-n";
	p->argv[na++] = "-r";
	p->argv[na++] = (char *)r->pcap;
	if (first) {
		if (r->synth)
			for (size_t i = 0; i < 8; i++)
				p->argv[na++] = checks[i];
		p->argv[na++] = "-Y";
		p->argv[na++] = (char *)(r->dfilter ? r->dfilter : r->proto);
		p->argv[na++] = "-T";
		p->argv[na++] = "fields";
		p->argv[na++] = "-e";
		p->argv[na++] = p->field;
		for (size_t i = 0; i < 10; i++)
			p->argv[na++] = fields[i];
	} else {
		p->argv[na++] = "-q";
	}
	for (int i = 0; i < n; i++) {
		p->st[i].id = ids[i];
		snprintf(p->specs[i], sizeof(p->specs[i]), "follow,%s,raw,%d",
			 r->proto, ids[i]);
		p->argv[na++] = "-z";
		p->argv[na++] = p->specs[i];
	}
	p->argv[na] = NULL;
	p->job = (struct job){ .argv = p->argv };
}

static void pass_free(struct pass *p)
{
	for (int i = 0; i < p->n; i++)
		for (int d = 0; d < 2; d++) {
			tu_bytes_free(&p->st[i].data[d]);
			tu_bytes_free(&p->st[i].lens[d]);
		}
	free(p->st);
	free(p->argv);
	free(p->specs);
	tu_bytes_free(&p->job.o);
	tu_bytes_free(&p->job.e);
}

static struct tu_stream *by_id(struct tu_stream *s, int n, int id)
{
	for (int i = 0; i < n; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

/* A fields line of the first pass: the stream is selected; checks the
 * record against its IP length. */
static void fields_line(char *line, const struct tu_follow_req *r,
			int **ids, int *nids, int *cap)
{
	struct tu_streams *out = r->out;
	char *f[8];
	int nf = split_tabs(line, f, 8), id;
	long flen, clen, iplen;
	bool seen = false;

	if (nf < 6 || !*f[0])
		return;
	id = atoi(f[0]);
	for (int i = 0; i < *nids && !seen; i++)
		seen = (*ids)[i] == id;
	if (!seen) {
		if (*nids == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			*ids = realloc(*ids, (size_t)*cap * sizeof(**ids));
			cr_assert_not_null(*ids);
		}
		(*ids)[(*nids)++] = id;
	}
	if (!r->synth)
		return;
	flen = atol(f[2]);
	clen = atol(f[3]);
	iplen = *f[4] ? atol(f[4]) : *f[5] ? atol(f[5]) + 40 : -1;
	if ((flen != clen || flen != iplen) && !out->bad_len++)
		snprintf(out->bad_len_why, sizeof(out->bad_len_why),
			 "frame %s: %ld bytes on wire, %ld captured, IP "
			 "length %ld", f[1], flen, clen, iplen);
}

/* Parses a pass's output: fields lines (first pass) and follow blocks
 * of the streams in p->st. */
static void pass_parse(struct pass *p, const struct tu_follow_req *r,
		       bool first, int **ids, int *nids)
{
	char *line, *save = NULL, filt[64];
	struct tu_stream *cur = NULL;
	bool fields = first;
	int cap = 0;

	cr_assert_eq(p->job.st, 0, "tshark on %s failed: %s", r->pcap,
		     (char *)p->job.e.p);
	snprintf(filt, sizeof(filt), "Filter: %s.stream eq ", r->proto);
	for (line = strtok_r((char *)p->job.o.p, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int node = line[0] == '\t';
		const char *h;
		uint32_t len = 0;

		if (fields) {
			int tabs = 0;

			for (const char *c = line; *c; c++)
				tabs += *c == '\t';
			if (tabs >= 5) {
				fields_line(line, r, ids, nids, &cap);
				continue;
			}
			fields = false;
		}
		if (!strncmp(line, "Follow: ", 8) || line[0] == '=') {
			cur = NULL;
			continue;
		}
		if (!strncmp(line, filt, strlen(filt))) {
			cur = by_id(p->st, p->n, atoi(line + strlen(filt)));
			continue;
		}
		if (!cur)
			continue;
		if (!strncmp(line, "Node 0: ", 8) ||
		    !strncmp(line, "Node 1: ", 8)) {
			snprintf(cur->node[line[5] - '0'],
				 sizeof(cur->node[0]), "%s", line + 8);
			continue;
		}
		cr_assert(cur->node[0][0] && cur->node[1][0],
			  "follow: data before the nodes: %.60s", line);
		for (h = line + node; hexval(h[0]) >= 0 && hexval(h[1]) >= 0;
		     h += 2, len++) {
			uint8_t v = (uint8_t)(hexval(h[0]) << 4 |
					      hexval(h[1]));

			tu_bytes_add(&cur->data[node], &v, 1);
		}
		cr_assert_eq(*h, '\0', "odd follow line: %.60s", line);
		tu_bytes_u32(&cur->lens[node], len);
	}
}

void tu_follow_many(struct tu_follow_req *r, int n)
{
	struct pass p1[8], p2[8];
	struct job jobs[8];
	int *ids[8] = { NULL }, nids[8] = { 0 }, n2 = 0, which[8];

	cr_assert_leq(n, 8);
	for (int i = 0; i < n; i++) {
		int g = r[i].guess > 0 ? r[i].guess : 1;
		int *seq = calloc((size_t)g, sizeof(*seq));

		cr_assert_not_null(seq);
		for (int k = 0; k < g; k++)
			seq[k] = k;
		memset(r[i].out, 0, sizeof(*r[i].out));
		r[i].out->expert_ok = true;
		pass_init(&p1[i], &r[i], true, seq, g);
		free(seq);
		jobs[i] = p1[i].job;
	}
	run_jobs(jobs, n);
	for (int i = 0; i < n; i++) {
		struct tu_streams *out = r[i].out;
		int *missing;
		int nm = 0;

		p1[i].job = jobs[i];
		if (r[i].synth)
			out->expert_ok = expert_scan((char *)jobs[i].o.p,
						     jobs[i].st,
						     (char *)jobs[i].e.p,
						     out->expert_why,
						     sizeof(out->expert_why));
		pass_parse(&p1[i], &r[i], true, &ids[i], &nids[i]);
		if (nids[i])
			qsort(ids[i], (size_t)nids[i], sizeof(int), cmp_int);
		out->n = nids[i];
		out->s = calloc(nids[i] ? (size_t)nids[i] : 1,
				sizeof(*out->s));
		missing = calloc(nids[i] ? (size_t)nids[i] : 1, sizeof(int));
		cr_assert(out->s && missing);
		for (int k = 0; k < nids[i]; k++) {
			struct tu_stream *s = by_id(p1[i].st, p1[i].n,
						    ids[i][k]);

			if (s) {
				out->s[k] = *s;
				memset(s, 0, sizeof(*s));
			} else {
				out->s[k].id = ids[i][k];
				missing[nm++] = ids[i][k];
			}
		}
		pass_free(&p1[i]);
		if (nm) {
			pass_init(&p2[n2], &r[i], false, missing, nm);
			which[n2++] = i;
		}
		free(missing);
	}
	if (n2) {
		for (int k = 0; k < n2; k++)
			jobs[k] = p2[k].job;
		run_jobs(jobs, n2);
		for (int k = 0; k < n2; k++) {
			struct tu_streams *out = r[which[k]].out;

			p2[k].job = jobs[k];
			pass_parse(&p2[k], &r[which[k]], false, NULL, NULL);
			for (int m = 0; m < p2[k].n; m++) {
				struct tu_stream *s = by_id(out->s, out->n,
							    p2[k].st[m].id);

				*s = p2[k].st[m];
				memset(&p2[k].st[m], 0, sizeof(p2[k].st[m]));
			}
			pass_free(&p2[k]);
		}
	}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < r[i].out->n; k++)
			cr_assert(r[i].out->s[k].node[0][0] &&
				  r[i].out->s[k].node[1][0],
				  "follow %s stream %d of %s: no nodes",
				  r[i].proto, r[i].out->s[k].id, r[i].pcap);
		free(ids[i]);
	}
}

void tu_follow(const char *pcap, const char *proto, const char *dfilter,
	       bool synth, struct tu_streams *out)
{
	struct tu_follow_req r = {
		.pcap = pcap, .proto = proto, .dfilter = dfilter,
		.synth = synth, .guess = 4, .out = out,
	};

	tu_follow_many(&r, 1);
}

void tu_streams_free(struct tu_streams *s)
{
	for (int i = 0; i < s->n; i++)
		for (int d = 0; d < 2; d++) {
			tu_bytes_free(&s->s[i].data[d]);
			tu_bytes_free(&s->s[i].lens[d]);
		}
	free(s->s);
	memset(s, 0, sizeof(*s));
}

static void list_nodes(const struct tu_streams *s, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->n && len + 1 < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s<->%s",
				 i ? ", " : "", s->s[i].node[0],
				 s->s[i].node[1]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

bool tu_streams_same(const struct tu_streams *got,
		     const struct tu_streams *want, bool boundaries,
		     char *why, size_t size)
{
	char a[512], b[512], what[300];

	if (got->n != want->n) {
		list_nodes(got, a, sizeof(a));
		list_nodes(want, b, sizeof(b));
		return fail(why, size, "%d conversations (%s), the wire %d "
			    "(%s)", got->n, a, want->n, b);
	}
	for (int i = 0; i < want->n; i++) {
		const struct tu_stream *w = &want->s[i], *g = NULL;

		for (int j = 0; j < got->n && !g; j++)
			if (!strcmp(got->s[j].node[0], w->node[0]) &&
			    !strcmp(got->s[j].node[1], w->node[1]))
				g = &got->s[j];
		if (!g) {
			for (int j = 0; j < got->n; j++)
				if (!strcmp(got->s[j].node[0], w->node[1]) &&
				    !strcmp(got->s[j].node[1], w->node[0]))
					return fail(why, size, "%s <-> %s: "
						    "client and server "
						    "swapped", w->node[0],
						    w->node[1]);
			list_nodes(got, a, sizeof(a));
			return fail(why, size, "no conversation %s <-> %s "
				    "(have %s)", w->node[0], w->node[1], a);
		}
		for (int d = 0; d < 2; d++) {
			snprintf(what, sizeof(what), "stream %d, what %s sent"
				 " to %s", g->id, w->node[d], w->node[1 - d]);
			if (!tu_bytes_same(&g->data[d], &w->data[d], what,
					   why, size))
				return false;
			if (!boundaries)
				continue;
			snprintf(what, sizeof(what), "stream %d, datagram "
				 "sizes (x4 bytes) %s sent", g->id,
				 w->node[d]);
			if (!tu_bytes_same(&g->lens[d], &w->lens[d], what,
					   why, size))
				return false;
		}
	}
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

bool tu_capinfos_clean(const char *pcap, bool pcapng, char *why,
		       size_t size)
{
	char *argv[] = { "capinfos", (char *)pcap, NULL };
	char *o, *e, *t;
	bool ok = true;
	int st = tu_run(argv, &o, NULL, &e);

	t = strstr(o, "File type:");
	if (t)
		*strchrnul(t, '\n') = '\0';
	if (st || *e)
		ok = fail(why, size, "capinfos exited %d: %.300s", st, e);
	else if (!t)
		ok = fail(why, size, "capinfos: no file type");
	else if (!ends_with(t, pcapng ? " - pcapng" : " pcap"))
		ok = fail(why, size, "capinfos: %.80s, not %s", t,
			  pcapng ? "pcapng" : "pcap");
	free(o);
	free(e);
	return ok;
}

/* ------------------------------------------------------------------ */
/* flow files and JSON */

void tu_index_load(const char *flows, struct tu_index *ix)
{
	char path[600];
	char *idx, *line, *save = NULL;
	int cap = 8;

	memset(ix, 0, sizeof(*ix));
	snprintf(path, sizeof(path), "%s/index.tsv", flows);
	idx = tu_slurp(path, NULL);
	cr_assert_not_null(idx, "no %s", path);
	ix->r = calloc(cap, sizeof(*ix->r));
	cr_assert_not_null(ix->r);
	for (line = strtok_r(idx, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct tu_row *r;
		char *f[24];
		int nf;

		if (ix->n == cap) {
			cap *= 2;
			ix->r = realloc(ix->r, cap * sizeof(*ix->r));
			cr_assert_not_null(ix->r);
		}
		r = &ix->r[ix->n++];
		nf = split_tabs(line, f, 24);
		r->n = nf;
		for (int i = 0; i < nf; i++) {
			r->f[i] = strdup(f[i]);
			cr_assert_not_null(r->f[i]);
		}
	}
	free(idx);
	cr_assert_geq(ix->n, 1, "%s: no header", path);
}

void tu_index_free(struct tu_index *ix)
{
	for (int i = 0; i < ix->n; i++)
		for (int j = 0; j < ix->r[i].n; j++)
			free(ix->r[i].f[j]);
	free(ix->r);
	memset(ix, 0, sizeof(*ix));
}

/* Column of index.tsv by its name in the header (row 0). */
static const char *col(const struct tu_index *ix, int row, const char *name)
{
	const struct tu_row *h = &ix->r[0];

	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->f[i], name)) {
			cr_assert_lt(i, ix->r[row].n, "short index row");
			return ix->r[row].f[i];
		}
	cr_assert_fail("index.tsv has no column %s", name);
	return "";
}

static int port_of(const char *ep)
{
	const char *c = strrchr(ep, ':');

	return c ? atoi(c + 1) : -1;
}

static bool load_flow(const char *flows, const char *name, struct tu_bytes *b)
{
	char path[800];
	size_t len;
	char *p;

	memset(b, 0, sizeof(*b));
	if (!strcmp(name, "-"))
		return true;	/* that direction carried nothing */
	snprintf(path, sizeof(path), "%s/%s", flows, name);
	p = tu_slurp(path, &len);
	if (!p)
		return false;
	b->p = (uint8_t *)p;
	b->len = b->cap = len;
	return true;
}

/* The non-zero "len" column of a .dgrams file, as uint32 values. */
static bool dgram_lens(const char *flows, const char *name,
		       struct tu_bytes *b)
{
	char path[800];
	char *t, *line, *save = NULL;

	memset(b, 0, sizeof(*b));
	if (!strcmp(name, "-"))
		return true;
	snprintf(path, sizeof(path), "%s/%s", flows, name);
	t = tu_slurp(path, NULL);
	if (!t)
		return false;
	line = strtok_r(t, "\n", &save);
	cr_assert_str_eq(line ? line : "", "offset\tlen\torig_len\tts");
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long off, len;

		cr_assert_eq(sscanf(line, "%llu\t%llu", &off, &len), 2);
		/* tshark's follow shows no line for an empty datagram */
		if (len)
			tu_bytes_u32(b, (uint32_t)len);
	}
	free(t);
	return true;
}

static bool row_selected(const struct tu_index *ix, int row,
			 const char *proto, const int *ports, int nports)
{
	int pa, pb;

	if (!nports)
		return true;
	if (strcmp(col(ix, row, "proto"), proto))
		return false;
	pa = port_of(col(ix, row, "a"));
	pb = port_of(col(ix, row, "b"));
	for (int i = 0; i < nports; i++)
		if (pa == ports[i] || pb == ports[i])
			return true;
	return false;
}

static bool flow_dir_same(const struct tu_index *ix, int row,
			  const char *flows, int dir, bool boundaries,
			  const struct tu_stream *w, int node, char *why,
			  size_t size)
{
	static const char *const file[2] = { "a2b_file", "b2a_file" };
	static const char *const gap[2] = { "a2b_gap_bytes",
					    "b2a_gap_bytes" };
	static const char *const nb[2] = { "a2b_bytes", "b2a_bytes" };
	static const char *const dg[2] = { "a2b_dgrams_file",
					   "b2a_dgrams_file" };
	const char *name = col(ix, row, file[dir]);
	struct tu_bytes b;
	char what[400];
	bool ok;

	if (!load_flow(flows, name, &b))
		return fail(why, size, "no flow file %s", name);
	snprintf(what, sizeof(what), "flow file %s (what %s sent)", name,
		 w->node[node]);
	ok = tu_bytes_same(&b, &w->data[node], what, why, size);
	tu_bytes_free(&b);
	if (!ok)
		return false;
	if (strcmp(col(ix, row, gap[dir]), "0"))
		return fail(why, size, "conversation %s: %s gap bytes",
			    col(ix, row, "id"), col(ix, row, gap[dir]));
	if (strtoull(col(ix, row, nb[dir]), NULL, 10) != w->data[node].len)
		return fail(why, size, "conversation %s: index says %s "
			    "bytes %s, the wire %zu", col(ix, row, "id"),
			    nb[dir], col(ix, row, nb[dir]),
			    w->data[node].len);
	if (!boundaries)
		return true;
	name = col(ix, row, dg[dir]);
	if (!dgram_lens(flows, name, &b))
		return fail(why, size, "no datagram file %s", name);
	snprintf(what, sizeof(what), "datagram sizes (x4 bytes) in %s",
		 name);
	ok = tu_bytes_same(&b, &w->lens[node], what, why, size);
	tu_bytes_free(&b);
	return ok;
}

bool tu_flows_same(const char *flows, const char *proto,
		   const int *ports, int nports,
		   const struct tu_streams *want, bool boundaries,
		   char *why, size_t size)
{
	struct tu_index ix;
	bool ok = true;
	int n = 0;

	tu_index_load(flows, &ix);
	for (int i = 1; i < ix.n; i++)
		n += row_selected(&ix, i, proto, ports, nports);
	if (n != want->n) {
		char list[512];

		list_nodes(want, list, sizeof(list));
		ok = fail(why, size, "index.tsv has %d conversations, the "
			  "wire %d (%s)", n, want->n, list);
	}
	for (int s = 0; ok && s < want->n; s++) {
		const struct tu_stream *w = &want->s[s];
		int row = -1;
		bool a_is_0 = false;

		for (int i = 1; i < ix.n && row < 0; i++) {
			const char *a = col(&ix, i, "a"), *b = col(&ix, i, "b");

			if (!row_selected(&ix, i, proto, ports, nports))
				continue;
			if (!strcmp(a, w->node[0]) && !strcmp(b, w->node[1]))
				row = i, a_is_0 = true;
			else if (!strcmp(a, w->node[1]) &&
				 !strcmp(b, w->node[0]))
				row = i;
		}
		if (row < 0) {
			ok = fail(why, size, "index.tsv has no conversation "
				  "%s <-> %s", w->node[0], w->node[1]);
			break;
		}
		for (int d = 0; ok && d < 2; d++)
			ok = flow_dir_same(&ix, row, flows, d, boundaries, w,
					   a_is_0 ? d : 1 - d, why, size);
	}
	tu_index_free(&ix);
	return ok;
}

static int b64v(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : c == '=' ? 0 : -1;
}

void tu_json_bytes(const char *json, const char *conv, const char *dir,
		   struct tu_bytes *b)
{
	char filter[160];
	char *argv[] = { "jq", "-r", filter, (char *)json, NULL };
	char *o, *line, *save = NULL;
	int st;

	memset(b, 0, sizeof(*b));
	snprintf(filter, sizeof(filter), "select(.type==\"data\" and .conv=="
		 "%s and .dir==\"%s\")|.data_b64", conv, dir);
	st = tu_run(argv, &o, NULL, NULL);
	cr_assert_eq(st, 0, "jq failed on %s", json);
	for (line = strtok_r(o, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		cr_assert_eq(n % 4, 0, "base64 of %zu chars", n);
		for (size_t i = 0; i < n; i += 4) {
			int v[4];
			uint8_t out[3];

			for (int j = 0; j < 4; j++) {
				v[j] = b64v(line[i + j]);
				cr_assert_geq(v[j], 0);
			}
			out[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
			out[1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
			out[2] = (uint8_t)(v[2] << 6 | v[3]);
			tu_bytes_add(b, out, line[i + 2] == '=' ? 1 :
				     line[i + 3] == '=' ? 2 : 3);
		}
	}
	free(o);
}

char *tu_json_opens(const char *json, int *n)
{
	char *argv[] = { "jq", "-r", "select(.type==\"open\")|\"\\(.a.addr):"
			 "\\(.a.port) \\(.b.addr):\\(.b.port)\"", (char *)json,
			 NULL };
	char *o;
	int st = tu_run(argv, &o, NULL, NULL);

	cr_assert_eq(st, 0, "jq failed on %s", json);
	*n = 0;
	for (const char *p = o; *p; p++)
		*n += *p == '\n';
	return o;
}

/* ------------------------------------------------------------------ */

void tu_check_run(const struct tu_case *k, const char *proto,
		  const char *dfilter, const int *ports, int nports,
		  int nstreams, struct tu_streams *wire)
{
	struct tu_streams w, g;
	char why[1024], up[8];
	bool dgrams = !strcmp(proto, "udp");
	size_t plen = strlen(k->pcap);
	bool ng = plen > 7 && !strcmp(k->pcap + plen - 7, ".pcapng");
	struct tu_follow_req r[2] = {
		{ .pcap = k->wire, .proto = proto, .guess = nstreams,
		  .out = &w },
		{ .pcap = k->pcap, .proto = proto, .dfilter = dfilter,
		  .synth = true, .guess = nstreams + 2, .out = &g },
	};

	snprintf(up, sizeof(up), "%s", proto);
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);

	tu_follow_many(r, 2);
	cr_assert_eq(w.n, nstreams, "the wire carried %d %s conversations, "
		     "expected %d", w.n, proto, nstreams);
	cr_assert_eq(g.bad_len, 0, "socktap's pcap: %d records are not one "
		     "whole IP packet, e.g. %s", g.bad_len, g.bad_len_why);
	cr_assert(tu_streams_same(&g, &w, dgrams, why, sizeof(why)),
		  "socktap's pcap against the wire: %s", why);
	cr_assert(tu_flows_same(k->flows, up, ports, nports, &w, dgrams, why,
				sizeof(why)),
		  "socktap's flow files against the wire: %s", why);
	cr_assert(g.expert_ok, "socktap's pcap: %s", g.expert_why);
	cr_assert(tu_capinfos_clean(k->pcap, ng, why, sizeof(why)),
		  "socktap's pcap: %s", why);
	tu_streams_free(&g);
	if (wire)
		*wire = w;
	else
		tu_streams_free(&w);
}
