/*
 * Ground-truth harness: real programs on loopback, captured by tcpdump
 * and traced by socktap in the same run, and the two compared through
 * tshark's "follow" (raw) conversation by conversation: endpoints both
 * ways and every byte of each direction.  socktap's flow files and JSON
 * are read back and compared with the same truth.
 *
 * Each test runs in its own process (Criterion forks), calls tu_init()
 * and tu_fini() (a private temporary directory; every process it started
 * is killed by pid and reaped), and starts its own servers, which bind
 * port 0 (or a port in a network namespace of the test's own).
 *
 * Functions named *_same / *_clean do not assert: they return false and
 * say why in a caller's buffer, so the self-tests can show that a
 * corrupted byte or a missing packet is noticed.  The others assert.
 *
 * Debugging: ST_TRUTH_KEEP=1 keeps the temporary directory (captures,
 * flows, traces); ST_TRUTH_TIMING=1 prints how long each tool ran.
 */
#ifndef ST_TEST_TRUTH_UTIL_H
#define ST_TEST_TRUTH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TU_SAMPLE(name) ST_SAMPLES_BIN "/" name

/* ------------------------------------------------------------------ */
/* bytes */

struct tu_bytes {
	uint8_t *p;
	size_t len, cap;
};

void tu_bytes_add(struct tu_bytes *b, const void *p, size_t n);
void tu_bytes_u32(struct tu_bytes *b, uint32_t v);
void tu_bytes_free(struct tu_bytes *b);
/* True when equal; else why says where they first differ. */
bool tu_bytes_same(const struct tu_bytes *got, const struct tu_bytes *want,
		   const char *what, char *why, size_t size);

/* Whole file (NUL added, *len without it), or NULL. */
char *tu_slurp(const char *path, size_t *len);
/* Writes a file of size pseudo-random bytes (seeded). */
void tu_make_file(const char *path, size_t size, unsigned seed);
bool tu_exists(const char *path);

/* ------------------------------------------------------------------ */
/* per test */

void tu_init(void);
void tu_fini(void);
const char *tu_tmp(void);

/* The files of one traced run, all under tu_tmp()/name. */
struct tu_case {
	char dir[256];
	char wire[320];		/* tcpdump's capture */
	char pcap[320];		/* socktap -w */
	char flows[320];	/* socktap --flows */
	char json[320];		/* socktap --json */
	char trace[320];	/* socktap -o (trace and summary) */
};

void tu_case_init(struct tu_case *k, const char *name, bool pcapng);

/* ------------------------------------------------------------------ */
/* processes */

/*
 * From now on every process this test starts runs in a network
 * namespace of its own, with lo up.  Returns false (and why) when the
 * kernel does not allow one.
 */
bool tu_netns_new(char *why, size_t size);

/* Starts argv (PATH searched); stdin is /dev/null; stdout and stderr go
 * to pipes whose read ends come back, when out / err are given (else
 * stdout to /dev/null, stderr inherited).  The pid is remembered and
 * killed by tu_fini() if still running. */
pid_t tu_spawn(char *const argv[], int *out, int *err);
/* Waits for a process tu_spawn started: its exit code, or 128+signal. */
int tu_wait(pid_t pid);
/* True while it runs (reaps it, keeping the status, once it ended). */
bool tu_running(pid_t pid);
/* Signal, then wait. */
int tu_stop(pid_t pid, int sig);
/* Runs argv to its end (60 s at most): exit code; stdout and stderr
 * (NUL-terminated, malloc'd) when out / err are given. */
int tu_run(char *const argv[], char **out, size_t *outlen, char **err);
/* Reads fd until a line containing want arrives: true, the line in line. */
bool tu_wait_line(int fd, const char *want, char *line, size_t size,
		  int timeout_ms);
/* Starts a server that prints "PORT n" once listening; returns n. */
int tu_server(char *const argv[], pid_t *pid);
/* Python's http.server (HTTP/1.1, keep-alive) serving dir. */
int tu_http_server(const char *dir, pid_t *pid);

/* ------------------------------------------------------------------ */
/* tcpdump */

struct tu_capture {
	pid_t pid;
	int err;
};

/* tcpdump -i lo -U --immediate-mode -w path BPF; returns once it
 * listens.  Stopping it asserts that the kernel dropped nothing. */
void tu_capture_start(struct tu_capture *c, const char *path,
		      const char *bpf);
void tu_capture_stop(struct tu_capture *c);

/* ------------------------------------------------------------------ */
/* socktap */

/*
 * socktap -w k->pcap --flows k->flows --json k->json -o k->trace
 * [extra...] -- cmd...  ; asserts exit status 0 (the command's).
 */
void tu_socktap(const struct tu_case *k, char *const extra[],
		char *const cmd[]);
/* The same, started in the background (stdout to *out when given). */
pid_t tu_socktap_bg(const struct tu_case *k, char *const extra[],
		    char *const cmd[], int *out);

/* ------------------------------------------------------------------ */
/* tshark */

struct tu_stream {
	int id;
	char node[2][96];	/* "127.0.0.1:41234", "[::1]:80" */
	struct tu_bytes data[2];	/* what node 0 / node 1 sent */
	struct tu_bytes lens[2];	/* payload length of each packet
					 * (uint32), i.e. datagram sizes */
};

struct tu_streams {
	struct tu_stream *s;
	int n;
	/* socktap's pcap (synth): */
	int bad_len;		/* records that are not exactly one whole
				 * IP packet (cut, or longer than IP says) */
	char bad_len_why[160];
	bool expert_ok;		/* tshark's expert report, checksums
				 * validated: no error, no warning */
	char expert_why[700];
};

struct tu_follow_req {
	const char *pcap;
	const char *proto;	/* "tcp" or "udp" */
	const char *dfilter;	/* display filter selecting the
				 * conversations (NULL: all of proto) */
	bool synth;		/* socktap's pcap: check records and expert */
	int guess;		/* conversations expected */
	struct tu_streams *out;
};

/*
 * Every conversation of proto in pcap that dfilter selects, followed in
 * raw mode (ordered by tshark's stream id).  The requests run
 * concurrently (at most 8).
 */
void tu_follow_many(struct tu_follow_req *r, int n);
void tu_follow(const char *pcap, const char *proto, const char *dfilter,
	       bool synth, struct tu_streams *out);
void tu_streams_free(struct tu_streams *s);
/* The same conversations (endpoints both ways) with the same bytes
 * (and, with boundaries, the same datagram sizes). */
bool tu_streams_same(const struct tu_streams *got,
		     const struct tu_streams *want, bool boundaries,
		     char *why, size_t size);

/* tshark's expert info with checksum validation: no error or warning
 * (and nothing on stderr). */
bool tu_expert_clean(const char *pcap, char *why, size_t size);
/* capinfos reads it without complaint and calls it pcap or pcapng. */
bool tu_capinfos_clean(const char *pcap, bool pcapng, char *why,
		       size_t size);

/* ------------------------------------------------------------------ */
/* socktap's flow files and JSON */

struct tu_row {
	char *f[24];
	int n;
};

struct tu_index {
	struct tu_row *r;
	int n;
};

void tu_index_load(const char *flows, struct tu_index *ix);
void tu_index_free(struct tu_index *ix);

/*
 * The flow files hold the same conversations as want: every one of
 * want, byte for byte, without gaps, and no other conversation of
 * proto ("TCP"/"UDP") touching one of ports (nports 0: any conversation
 * of any protocol counts).  With boundaries the .dgrams files give the
 * same datagram sizes.
 */
bool tu_flows_same(const char *flows, const char *proto,
		   const int *ports, int nports,
		   const struct tu_streams *want, bool boundaries,
		   char *why, size_t size);

/* Every data event of conversation conv, direction "a2b"/"b2a". */
void tu_json_bytes(const char *json, const char *conv, const char *dir,
		   struct tu_bytes *b);
/* "A B" endpoints of every conversation opened in the JSON, one line
 * each (malloc'd), and how many there are in *n. */
char *tu_json_opens(const char *json, int *n);

/* ------------------------------------------------------------------ */
/* the whole check of one run */

/*
 * The wire (k->wire, already narrowed by tcpdump's filter) against
 * socktap's pcap (narrowed by dfilter) and flow files: nstreams
 * conversations of proto, the same on all three; socktap's pcap also
 * passes tu_expert_clean and tu_capinfos_clean.  The wire's streams
 * come back in *wire when given (free with tu_streams_free).
 */
void tu_check_run(const struct tu_case *k, const char *proto,
		  const char *dfilter, const int *ports, int nports,
		  int nstreams, struct tu_streams *wire);

#endif
