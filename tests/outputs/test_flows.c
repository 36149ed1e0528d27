/* The --flows sink: names, bytes, index, safety, bounded resources. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "out/out_sinks.h"
#include "outputs/fake.h"

static struct fk fk;
static char *tmp;		/* private temp dir */
static char dir[512];		/* tmp/flows: the flow directory */
static char err[256];

static void setup(void)
{
	umask(022);
	setenv("TZ", "UTC", 1);
	tzset();
	fk_init(&fk);
	tmp = fk_tmpdir();
	snprintf(dir, sizeof(dir), "%s/flows", tmp);
	err[0] = '\0';
}

static void teardown(void)
{
	fk_destroy(&fk);
	fk_rmtree(tmp);
	free(tmp);
}

TestSuite(flows, .init = setup, .fini = teardown);

static void add_flows(unsigned max_open)
{
	struct st_sink s;
	int rc = st_flows_sink_new_max(dir, max_open, &s, err, sizeof(err));

	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(s.name, "flows");
	fk_add(&fk, &s);
}

static char *file(const char *name, size_t *len)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return fk_slurp(p, len);
}

static void assert_file(const char *name, const void *want, size_t n)
{
	size_t len;
	char *got = file(name, &len);
	char p[1024];
	struct stat sb;

	cr_assert_not_null(got, "no file %s", name);
	cr_assert_eq(len, n, "%s: %zu bytes, want %zu", name, len, n);
	cr_assert_arr_eq(got, want, n, "%s: other bytes", name);
	free(got);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(lstat(p, &sb), 0);
	cr_assert(S_ISREG(sb.st_mode));
	cr_assert_eq(sb.st_mode & 07777, 0600, "%s mode %o", name,
		     sb.st_mode & 07777);
}

static int count_entries(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(dd);
	while ((de = readdir(dd)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dd);
	return n;
}

/* Splits line number `line` (0: header) of index.tsv into fields. */
static int index_fields(int line, char *f[32])
{
	char *idx = file("index.tsv", NULL), *save = NULL, *l, *p;
	int n = 0;

	cr_assert_not_null(idx, "no index.tsv");
	l = strtok_r(idx, "\n", &save);
	for (int i = 0; i < line && l; i++)
		l = strtok_r(NULL, "\n", &save);
	cr_assert_not_null(l, "index has no line %d", line);
	/* keep empty fields: split by hand */
	for (p = l; n < 32; n++) {
		char *t = strchr(p, '\t');

		f[n] = strdup(p);
		if (!t) {
			f[n][strlen(p)] = '\0';
			n++;
			break;
		}
		f[n][t - p] = '\0';
		p = t + 1;
	}
	free(idx);
	return n;
}

static void free_fields(char *f[32], int n)
{
	for (int i = 0; i < n; i++)
		free(f[i]);
}

#define TCP_BASE "000001-tcp-127.000.000.001.41234-127.000.000.001.08000"

Test(flows, tcp_bytes_names_and_index)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("127.0.0.1", 8000));
	static const char *const cols[] = {
		"id", "proto", "origin", "a", "b", "pids", "comm", "first",
		"last", "end", "a2b_bytes", "b2a_bytes", "a2b_gap_bytes",
		"b2a_gap_bytes", "a2b_dgrams", "b2a_dgrams", "a2b_file",
		"b2a_file", "a2b_dgrams_file", "b2a_dgrams_file",
		"a2b_gaps_file", "b2a_gaps_file",
	};
	uint8_t bin[1000];
	struct stat sb;
	char *f[32];
	int n;

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i ^ (i >> 3));
	add_flows(ST_FLOWS_MAX_OPEN);
	cr_assert_eq(stat(dir, &sb), 0, "DIR made");
	cr_assert_eq(sb.st_mode & 0777, 0700);
	snprintf(c->comm, sizeof(c->comm), "cu\trl");
	cr_assert_eq(fk_open(&fk, c), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "hello ", 6, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_B_TO_A, bin, 600, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "world", 5, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_B_TO_A, bin + 600, 400, 0, 0), 0);
	/* written as it arrives: visible before the end */
	assert_file(TCP_BASE ".a2b", "hello world", 11);
	cr_assert_eq(fk_fin(&fk, c, ST_DIR_B_TO_A), 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);

	assert_file(TCP_BASE ".a2b", "hello world", 11);
	assert_file(TCP_BASE ".b2a", bin, sizeof(bin));
	cr_assert_eq(count_entries(dir), 3, "two flows and index.tsv");

	n = index_fields(0, f);
	cr_assert_eq(n, 22);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(f[i], cols[i]);
	free_fields(f, n);
	n = index_fields(1, f);
	cr_assert_eq(n, 22);
	cr_assert_str_eq(f[0], "1");
	cr_assert_str_eq(f[1], "TCP");
	cr_assert_str_eq(f[2], "connect");
	cr_assert_str_eq(f[3], "127.0.0.1:41234");
	cr_assert_str_eq(f[4], "127.0.0.1:8000");
	cr_assert_str_eq(f[5], "4242");
	cr_assert_str_eq(f[6], "cu\\x09rl");
	cr_assert_str_eq(f[7], "1700000000.000000000");
	cr_assert_str_eq(f[8], "1700000000.006000000");
	cr_assert_str_eq(f[9], "fin");
	cr_assert_str_eq(f[10], "11");
	cr_assert_str_eq(f[11], "1000");
	cr_assert_str_eq(f[12], "0");
	cr_assert_str_eq(f[13], "0");
	cr_assert_str_eq(f[14], "0");
	cr_assert_str_eq(f[15], "0");
	cr_assert_str_eq(f[16], TCP_BASE ".a2b");
	cr_assert_str_eq(f[17], TCP_BASE ".b2a");
	for (int i = 18; i < 22; i++)
		cr_assert_str_eq(f[i], "-");
	free_fields(f, n);
	{
		char ip[1024];
		struct stat isb;

		snprintf(ip, sizeof(ip), "%s/index.tsv", dir);
		cr_assert_eq(lstat(ip, &isb), 0);
		cr_assert_eq(isb.st_mode & 07777, 0600);
	}
	free(c);
}

#define UDP_BASE "000002-udp-0000.0000.0000.0000.0000.0000.0000.0001.05353-" \
		 "0000.0000.0000.0000.0000.0000.0000.0001.00053"

Test(flows, datagram_boundaries)
{
	struct st_conv *c = fk_conv(&fk, 2, ST_PROTO_UDP, ST_ORIGIN_DGRAM,
				    fk_ep6("::1", 5353), fk_ep6("::1", 53));
	const unsigned D = ST_EVF_DGRAM;
	char *f[32];
	int n;

	add_flows(ST_FLOWS_MAX_OPEN);
	/* one event per ms from .000: open, then .001 ... */
	fk_open(&fk, c);
	fk_data(&fk, c, ST_DIR_A_TO_B, "abc", 3, D, 0);
	fk_data(&fk, c, ST_DIR_A_TO_B, "de", 2, D | ST_EVF_PART, 0);
	fk_data(&fk, c, ST_DIR_A_TO_B, "fgh", 3, D, 0);
	fk_data(&fk, c, ST_DIR_B_TO_A, "xyz", 3, D, 0);
	fk_data(&fk, c, ST_DIR_A_TO_B, "ij", 2, D | ST_EVF_TRUNC, 10);
	fk_data(&fk, c, ST_DIR_A_TO_B, "", 0, D, 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);

	assert_file(UDP_BASE ".a2b", "abcdefghij", 10);
	assert_file(UDP_BASE ".b2a", "xyz", 3);
	{
		static const char want[] =
			"offset\tlen\torig_len\tts\n"
			"0\t3\t3\t1700000000.001000000\n"
			"3\t5\t5\t1700000000.002000000\n"
			"8\t2\t10\t1700000000.005000000\n"
			"10\t0\t0\t1700000000.006000000\n";

		assert_file(UDP_BASE ".a2b.dgrams", want, sizeof(want) - 1);
	}
	{
		static const char want[] = "offset\tlen\torig_len\tts\n"
					   "0\t3\t3\t1700000000.004000000\n";

		assert_file(UDP_BASE ".b2a.dgrams", want, sizeof(want) - 1);
	}
	n = index_fields(1, f);
	cr_assert_str_eq(f[1], "UDP");
	cr_assert_str_eq(f[2], "dgram");
	cr_assert_str_eq(f[3], "[::1]:5353");
	cr_assert_str_eq(f[9], "closed");
	cr_assert_str_eq(f[14], "4");
	cr_assert_str_eq(f[15], "1");
	cr_assert_str_eq(f[18], UDP_BASE ".a2b.dgrams");
	cr_assert_str_eq(f[19], UDP_BASE ".b2a.dgrams");
	free_fields(f, n);
	free(c);
}

Test(flows, gaps_are_listed)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("127.0.0.1", 8000));
	char *f[32];
	int n;

	add_flows(ST_FLOWS_MAX_OPEN);
	fk_open(&fk, c);
	fk_data(&fk, c, ST_DIR_A_TO_B, "ab", 2, 0, 0);
	fk_gap(&fk, c, ST_DIR_A_TO_B, 4096, "tracee memory unreadable");
	fk_data(&fk, c, ST_DIR_A_TO_B, "cd", 2, 0, 0);
	fk_reset(&fk, c, ST_DIR_B_TO_A);
	fk_end(&fk, c);
	cr_assert_eq(fk_finish(&fk), 0);
	assert_file(TCP_BASE ".a2b", "abcd", 4);
	{
		static const char want[] = "offset\tlen\tts\treason\n"
			"2\t4096\t1700000000.002000000\t"
			"tracee memory unreadable\n";

		assert_file(TCP_BASE ".a2b.gaps", want, sizeof(want) - 1);
	}
	n = index_fields(1, f);
	cr_assert_str_eq(f[9], "reset");
	cr_assert_str_eq(f[10], "4");
	cr_assert_str_eq(f[12], "4096");
	cr_assert_str_eq(f[20], TCP_BASE ".a2b.gaps");
	cr_assert_str_eq(f[21], "-");
	free_fields(f, n);
	free(c);
}

static bool exists(const char *name)
{
	char p[1024];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &sb) == 0;
}

Test(flows, unix_and_mapped_names)
{
	static const char odd[] = "/run/my sock/../x\n\xff";
	struct st_conv *c1 = fk_conv(&fk, 3, ST_PROTO_UNIX_STREAM,
				     ST_ORIGIN_ACCEPT,
				     fk_epu(odd, sizeof(odd) - 1, false),
				     fk_epu("zz/1\0", 5, true));
	struct st_conv *c2 = fk_conv(&fk, 12, ST_PROTO_UNIX_SEQPACKET,
				     ST_ORIGIN_PAIR, fk_epu("", 0, false),
				     fk_epu("", 0, false));
	struct st_conv *c3 = fk_conv(&fk, 1234567, ST_PROTO_TCP,
				     ST_ORIGIN_ACCEPT,
				     fk_ep6("::ffff:10.0.0.1", 80),
				     fk_ep6("2001:db8::ff:1", 65535));

	add_flows(ST_FLOWS_MAX_OPEN);
	fk_open(&fk, c1);
	fk_open(&fk, c2);
	fk_open(&fk, c3);
	cr_assert_eq(fk_data(&fk, c1, ST_DIR_A_TO_B, "1", 1, 0, 0), 0);
	cr_assert_eq(fk_data(&fk, c2, ST_DIR_B_TO_A, "2", 1, ST_EVF_DGRAM,
			     0), 0);
	cr_assert_eq(fk_data(&fk, c3, ST_DIR_B_TO_A, "3", 1, 0, 0), 0);
	cr_assert(exists("000003-unixstream-run_my_sock_.._x__-@zz_1_.a2b"));
	cr_assert(exists("000012-unixseqpacket-unnamed-unnamed.b2a"));
	cr_assert(exists("000012-unixseqpacket-unnamed-unnamed.b2a.dgrams"));
	cr_assert(exists("1234567-tcp-010.000.000.001.00080-"
			 "2001.0db8.0000.0000.0000.0000.00ff.0001.65535.b2a"));
	fk_end(&fk, c1);
	fk_end(&fk, c2);
	fk_end(&fk, c3);
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert_eq(count_entries(dir), 5);
	free(c1);
	free(c2);
	free(c3);
}

Test(flows, reused_tuple_gets_new_files)
{
	struct st_endpoint a = fk_ep4("127.0.0.1", 5000);
	struct st_endpoint b = fk_ep4("127.0.0.1", 6000);
	struct st_conv *c1 = fk_conv(&fk, 4, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				     a, b);
	struct st_conv *c2 = fk_conv(&fk, 5, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				     a, b);

	add_flows(ST_FLOWS_MAX_OPEN);
	fk_open(&fk, c1);
	fk_data(&fk, c1, ST_DIR_A_TO_B, "first", 5, 0, 0);
	fk_end(&fk, c1);
	fk_open(&fk, c2);
	cr_assert_eq(fk_data(&fk, c2, ST_DIR_A_TO_B, "second", 6, 0, 0), 0);
	fk_end(&fk, c2);
	cr_assert_eq(fk_finish(&fk), 0);
	assert_file("000004-tcp-127.000.000.001.05000-127.000.000.001.06000"
		    ".a2b", "first", 5);
	assert_file("000005-tcp-127.000.000.001.05000-127.000.000.001.06000"
		    ".a2b", "second", 6);
	free(c1);
	free(c2);
}

static int open_fds(void)
{
	return count_entries("/proc/self/fd");
}

/* 10 conversations written in turn through a pool of 3 files. */
Test(flows, open_files_bounded)
{
	struct st_conv *c[10];
	char name[256], want[64];
	int base;

	add_flows(3);
	base = open_fds();
	for (int i = 0; i < 10; i++) {
		c[i] = fk_conv(&fk, (uint64_t)i + 1, ST_PROTO_TCP,
			       ST_ORIGIN_CONNECT, fk_ep4("127.0.0.1",
			       (uint16_t)(1000 + i)), fk_ep4("127.0.0.1", 80));
		fk_open(&fk, c[i]);
	}
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 10; i++) {
			char ch = (char)('a' + round);

			cr_assert_eq(fk_data(&fk, c[i], round & 1, &ch, 1, 0,
					     0), 0);
			cr_assert_leq(open_fds(), base + 3);
		}
	}
	for (int i = 0; i < 10; i++) {
		fk_end(&fk, c[i]);
		snprintf(name, sizeof(name), "%06d-tcp-127.000.000.001.%05d-"
			 "127.000.000.001.00080.a2b", i + 1, 1000 + i);
		snprintf(want, sizeof(want), "ace");
		assert_file(name, want, 3);
		name[strlen(name) - 3] = 'b';
		name[strlen(name) - 1] = 'a';
		assert_file(name, "bdf", 3);
		free(c[i]);
	}
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert_eq(open_fds(), base - 1, "index closed too");
}

Test(flows, symlinked_dir_refused)
{
	char real[600], victim[600];
	struct st_sink s;

	snprintf(real, sizeof(real), "%s/real", tmp);
	cr_assert_eq(mkdir(real, 0700), 0);
	cr_assert_eq(symlink(real, dir), 0);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), -ELOOP);
	cr_assert_not_null(strstr(err, "symbolic link"), "%s", err);
	cr_assert_eq(count_entries(real), 0, "nothing made through it");

	/* a dangling link is refused too, not created through */
	unlink(dir);
	snprintf(victim, sizeof(victim), "%s/nothere", tmp);
	cr_assert_eq(symlink(victim, dir), 0);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), -ELOOP);
	cr_assert_eq(access(victim, F_OK), -1);
}

Test(flows, unusable_dirs_refused)
{
	char sub[600];
	struct st_sink s;
	int fd;

	fd = open(dir, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), -ENOTDIR);
	unlink(dir);

	/* an earlier run's files are not mixed with this one's */
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/index.tsv", dir);
	fd = open(sub, O_WRONLY | O_CREAT, 0600);
	close(fd);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), -EEXIST);
	cr_assert_not_null(strstr(err, "already holds"), "%s", err);
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/000001-tcp-x.a2b", dir);
	fd = open(sub, O_WRONLY | O_CREAT, 0600);
	close(fd);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), -EEXIST);
	unlink(sub);

	/* other files are fine; the dir is left as it was */
	snprintf(sub, sizeof(sub), "%s/notes.txt", dir);
	fd = open(sub, O_WRONLY | O_CREAT, 0600);
	close(fd);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), 0, "%s",
		     err);
	fk_add(&fk, &s);
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert(exists("index.tsv"));
	cr_assert(exists("notes.txt"));
}

/* A link planted where a flow file is about to be made is not followed. */
Test(flows, planted_link_not_followed)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("127.0.0.1", 8000));
	char victim[600], link[600];
	char *v;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	fd = open(victim, O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(write(fd, "keep", 4), 4);
	close(fd);
	add_flows(ST_FLOWS_MAX_OPEN);
	snprintf(link, sizeof(link), "%s/" TCP_BASE ".a2b", dir);
	cr_assert_eq(symlink(victim, link), 0);
	fk_open(&fk, c);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "evil", 4, 0, 0),
		     -EEXIST);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, "evil", 4, 0, 0), 0,
		     "reported once");
	v = fk_slurp(victim, NULL);
	cr_assert_str_eq(v, "keep");
	free(v);
	fk_end(&fk, c);
	fk_finish(&fk);
	free(c);
}

/* A write error (here: file size limit) is reported once. */
Test(flows, write_error_reported_once)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("127.0.0.1", 8000));
	struct rlimit rl = { 4096, 4096 };
	static uint8_t big[8192];

	add_flows(ST_FLOWS_MAX_OPEN);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	fk_open(&fk, c);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, big, sizeof(big), 0, 0),
		     -EFBIG);
	cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, big, 10, 0, 0), 0);
	cr_assert_eq(fk_end(&fk, c), 0);
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert(exists("index.tsv"), "the index still describes it");
	free(c);
}

Test(flows, nothing_traced)
{
	struct st_sink s;
	size_t len;
	char *idx;

	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), 0);
	fk_add(&fk, &s);
	cr_assert_eq(fk_finish(&fk), 0);
	idx = file("index.tsv", &len);
	cr_assert_not_null(idx);
	cr_assert_eq(strchr(idx, '\n') - idx + 1, (long)len, "header only");
	cr_assert_eq(count_entries(dir), 1);
	free(idx);
}

Test(flows, abandoned_leaves_nothing)
{
	struct st_sink s;
	struct stat sb;

	cr_assert_eq(st_flows_sink_new(dir, &s, err, sizeof(err)), 0);
	s.destroy(s.priv);
	cr_assert_eq(stat(dir, &sb), -1, "the DIR made is removed");
}

/* 64 MiB, one direction: memory stays flat, the file is exact. */
Test(flows, long_stream_keeps_memory_flat)
{
	struct st_conv *c = fk_conv(&fk, 1, ST_PROTO_TCP, ST_ORIGIN_CONNECT,
				    fk_ep4("127.0.0.1", 41234),
				    fk_ep4("127.0.0.1", 8000));
	static uint8_t chunk[65536], back[65536];
	char p[1024];
	struct stat sb;
	long before;
	int fd;

	add_flows(ST_FLOWS_MAX_OPEN);
	fk_open(&fk, c);
	chunk[0] = 0;
	fk_data(&fk, c, ST_DIR_A_TO_B, chunk, 1, 0, 0);
	before = fk_maxrss_kib();
	for (uint32_t i = 0; i < 1024; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		memcpy(chunk, &i, sizeof(i));
		cr_assert_eq(fk_data(&fk, c, ST_DIR_A_TO_B, chunk,
				     sizeof(chunk), 0, 0), 0);
	}
	fk_end(&fk, c);
	cr_assert_eq(fk_finish(&fk), 0);
	cr_assert_lt(fk_maxrss_kib() - before, 4096, "RSS grew %ld KiB",
		     fk_maxrss_kib() - before);
	snprintf(p, sizeof(p), "%s/" TCP_BASE ".a2b", dir);
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_size, 1 + 1024ll * 65536);
	fd = open(p, O_RDONLY);
	for (uint32_t i = 0; i < 1024; i += 97) {
		uint32_t got;

		cr_assert_eq(pread(fd, back, sizeof(back),
				   1 + (off_t)i * 65536), 65536);
		memcpy(&got, back, sizeof(got));
		cr_assert_eq(got, i);
		cr_assert_eq(back[65535], (uint8_t)i);
	}
	close(fd);
	free(c);
}

/* The real model feeding the sinks: names, bytes and offsets agree. */
Test(flows, through_the_model)
{
	struct st_origin_info who = { .pid = 77, .tid = 77, .fd = 3,
				      .syscall = "test", .comm = "model",
				      .ts = { FK_T0, 0 } };
	struct st_model *m = st_model_new();
	struct st_socket *s, *u;
	struct st_endpoint peer = fk_ep4("127.0.0.1", 53);
	struct st_sink sk;
	char *hex = NULL;
	size_t hexlen = 0;
	FILE *mem = open_memstream(&hex, &hexlen);
	char *f[32];
	int n;

	cr_assert_not_null(m);
	cr_assert_eq(st_flows_sink_new(dir, &sk, err, sizeof(err)), 0);
	cr_assert_geq(st_model_add_sink(m, &sk), 0);
	cr_assert_eq(st_hexdump_sink_new(mem, false, &sk), 0);
	cr_assert_geq(st_model_add_sink(m, &sk), 0);
	st_model_set_context(m, &who);

	s = st_model_socket(m, 11);
	st_socket_set_type(s, AF_INET, SOCK_STREAM, 0);
	s->local = fk_ep4("127.0.0.1", 40000);
	s->peer = fk_ep4("127.0.0.1", 79);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	st_model_data(m, s, true, (const uint8_t *)"req", 3, 0, 0, NULL, &who);
	st_model_data(m, s, false, (const uint8_t *)"resp", 4, 0, 0, NULL,
		      &who);
	st_model_data(m, s, true, (const uint8_t *)"more", 4, 0, 0, NULL,
		      &who);
	st_model_peer_fin(m, s, &who);

	u = st_model_socket(m, 12);
	st_socket_set_type(u, AF_INET, SOCK_DGRAM, 0);
	u->local = fk_ep4("127.0.0.1", 5000);
	st_model_data(m, u, true, (const uint8_t *)"q1", 2, ST_EVF_DGRAM, 0,
		      &peer, &who);
	st_model_data(m, u, false, (const uint8_t *)"answer", 6,
		      ST_EVF_DGRAM, 0, &peer, &who);
	st_model_data(m, u, true, (const uint8_t *)"q2", 2, ST_EVF_DGRAM, 0,
		      &peer, &who);
	cr_assert_eq(st_model_finish(m, &who.ts), 0);
	st_model_free(m);
	fclose(mem);

	assert_file("000001-tcp-127.000.000.001.40000-127.000.000.001.00079"
		    ".a2b", "reqmore", 7);
	assert_file("000001-tcp-127.000.000.001.40000-127.000.000.001.00079"
		    ".b2a", "resp", 4);
	assert_file("000002-udp-127.000.000.001.05000-127.000.000.001.00053"
		    ".a2b", "q1q2", 4);
	assert_file("000002-udp-127.000.000.001.05000-127.000.000.001.00053"
		    ".b2a", "answer", 6);
	n = index_fields(1, f);
	cr_assert_str_eq(f[0], "1");
	cr_assert_str_eq(f[9], "fin");
	free_fields(f, n);
	n = index_fields(2, f);
	cr_assert_str_eq(f[0], "2");
	cr_assert_str_eq(f[9], "closed");
	cr_assert_str_eq(f[14], "2");
	cr_assert_str_eq(f[15], "1");
	free_fields(f, n);
	/* the hexdump's offsets follow each direction */
	cr_assert_not_null(strstr(hex, "> conv 1 A->B 22:13:20.000000 4 bytes "
				  "@3 model[77]"), "%s", hex);
	cr_assert_not_null(strstr(hex, "\n> 00000003  6d 6f 72 65  "), "%s",
			   hex);
	cr_assert_not_null(strstr(hex, "> conv 2 A->B 22:13:20.000000 2 bytes "
				  "@2 dgram"), "%s", hex);
	cr_assert_not_null(strstr(hex, "=== conv 1 end: FIN, A->B 7 bytes, "
				  "B->A 4 bytes"), "%s", hex);
	free(hex);
}
