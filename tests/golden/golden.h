/*
 * Golden tests: socktap runs real programs, the decoded part of its trace
 * (the "socktap: conversation ..., decoded as X" headers and their record
 * lines) is masked where it legitimately varies and compared with
 * tests/golden/expected/NAME.txt.  ST_GOLDEN_UPDATE=1 rewrites the
 * expected files instead (review them before committing).
 *
 * The process and file helpers return 0 or a negative errno and never
 * assert, so they may also run in a forked child (the network namespace
 * of the finger test); gold_check and gold_check_json assert.
 */
#ifndef SOCKTAP_TEST_GOLDEN_H
#define SOCKTAP_TEST_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ */
/* Files                                                               */

/* A fresh directory /tmp/socktap-golden-XXXXXX into dir (>= 64 bytes). */
int gold_tmpdir(char *dir, size_t size);
/* Removes dir and everything below it. */
void gold_rmtree(const char *dir);
/* dir "/" name, in one of a few rotating static buffers. */
const char *gold_path(const char *dir, const char *name);
/* The whole file, NUL-terminated (malloc'd), or NULL. */
char *gold_slurp(const char *path);
int gold_write(const char *path, const char *text, size_t len);

/* ------------------------------------------------------------------ */
/* Processes                                                           */

/*
 * Starts argv (argv[0] looked up in PATH) with stdin from in (NULL:
 * /dev/null) and stdout/stderr appended to out/err (NULL: /dev/null).
 * Returns the pid or a negative errno.
 */
pid_t gold_spawn(const char *const argv[], const char *in, const char *out,
		 const char *err);
/* Waits up to timeout_ms; then kills it.  Returns the exit status
 * (128+N for signal N) or -ETIMEDOUT. */
int gold_wait(pid_t pid, int timeout_ms);
/* Asks a server to stop (SIGTERM, then SIGKILL after 2 s) and reaps it. */
void gold_stop(pid_t pid);
/* Runs argv to completion (gold_spawn + gold_wait). */
int gold_run(const char *const argv[], const char *in, const char *out,
	     const char *err, int timeout_ms);

/*
 * Waits until file has a line containing needle; copies that line
 * (without its newline) into line.  Gives up early with -ECHILD when
 * pid (if > 0) exits first.
 */
int gold_wait_line(const char *file, const char *needle, char *line,
		   size_t size, pid_t pid, int timeout_ms);
/* A TCP port of 127.0.0.1 that was free a moment ago. */
int gold_free_port(void);
/* Is python3 (or another program) in PATH? */
bool gold_have(const char *prog);

/* ------------------------------------------------------------------ */
/* socktap                                                             */

/*
 * Runs socktap -o DIR/NAME.trace --json DIR/NAME.json -- cmd..., with
 * the command's stdin from in and its output in DIR/NAME.out and
 * DIR/NAME.err.  Returns socktap's exit status (the command's) or a
 * negative errno.
 */
int gold_socktap(const char *dir, const char *name,
		 const char *const cmd[],
		 const char *in);

/* ------------------------------------------------------------------ */
/* Renderings                                                          */

/*
 * The decoded blocks of a trace: each header with its digits masked
 * ('#' per run), then its "  > " / "  < " record lines and their
 * field lines.  Blocks are sorted, so the order in which conversations
 * end (which depends on scheduling) does not matter.  malloc'd.
 */
char *gold_extract(const char *trace);

struct gold_mask;
/*
 * The same with masks applied to each block on its own (renamed values
 * are numbered per conversation) before sorting; with bydir, each
 * block's records regrouped by direction (A to B first), each direction
 * in its own order: for conversations whose two ends are both traced,
 * where the interleaving of the directions depends on scheduling.
 */
char *gold_extract_masked(const char *trace, const struct gold_mask *m,
			  size_t n, bool bydir);

/*
 * A mask: every match of re (POSIX extended, matched per line: '^' and
 * '$' are line bounds, '.' stops at newlines) is replaced with rep, in
 * which \1..\9 are the groups.  With rename set, group 1 of each match
 * is replaced by "<rep N>", N counting distinct values in order of
 * first appearance: equal values stay equal, so an answer's id must
 * still match its query's.
 */
struct gold_mask {
	const char *re;
	const char *rep;
	bool rename;
};

/* text with the masks applied in order (malloc'd). */
char *gold_apply(const char *text, const struct gold_mask *m, size_t n);

/*
 * Compares got with tests/golden/expected/NAME.txt (or rewrites it under
 * ST_GOLDEN_UPDATE=1); fails with the first difference and both texts.
 */
void gold_check(const char *name, const char *got);

/* jq -r (-rs with slurp) FILTER DIR/NAME.json; its output (malloc'd)
 * or NULL when jq failed. */
char *gold_jq(const char *dir, const char *name, const char *filter,
	      bool slurp);

/*
 * The JSON Lines export agrees with the text: the same decoded records
 * (direction, decoder, kind and summary), as many of each.
 */
void gold_check_json(const char *dir, const char *name);

/* Trace of socktap run NAME in dir, extracted and masked (malloc'd);
 * asserts there is one. */
char *gold_decoded(const char *dir, const char *name,
		   const struct gold_mask *m, size_t n);
/* The same, regrouped by direction (see gold_extract_masked). */
char *gold_decoded_opt(const char *dir, const char *name,
		       const struct gold_mask *m, size_t n, bool bydir);

/* ------------------------------------------------------------------ */
/* Per-test fixture                                                    */

/* .init: a fresh temporary directory; .fini: stops the servers still
 * tracked and removes the directory. */
void gold_setup(void);
void gold_teardown(void);
/* The test's temporary directory. */
const char *gold_dir(void);
/* gold_spawn of a server that teardown stops if it is still running. */
pid_t gold_server(const char *const argv[], const char *out, const char *err);
/* Waits for a tracked server to exit by itself; see gold_wait. */
int gold_server_wait(pid_t pid, int timeout_ms);
/* Stops a tracked server now. */
void gold_server_stop(pid_t pid);

/* Runs socktap -- cmd as run NAME in gold_dir(); asserts it exited 0
 * (showing the command's stderr otherwise). */
void gold_trace(const char *name, const char *const cmd[],
		const char *in);

#endif
