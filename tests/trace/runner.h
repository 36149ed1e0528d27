/* Helpers for tests that run socktap on real programs. */
#ifndef SOCKTAP_TEST_RUNNER_H
#define SOCKTAP_TEST_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct st_run {
	int status;		/* exit status (128+N for a signal) */
	char *out;		/* the child's stdout, NUL-terminated */
	char *err;		/* the child's stderr */
};

/* Runs argv (NULL-terminated) to completion, capturing its output. */
int st_run(char *const argv[], struct st_run *r);
void st_run_free(struct st_run *r);

/* Starts a sample server that prints "PORT n"; returns its pid. */
pid_t st_server_start(char *const argv[], int *port);
/* Waits for a server (killing it after timeout_ms); returns its status. */
int st_server_wait(pid_t pid, int timeout_ms);

/* A port number as text, for argv (a few live at once). */
const char *st_port_str(int port);
/* A sample program's path: ST_SAMPLES_BIN "/" name. */
const char *st_sample(const char *name);
/* A temporary file path unique to this test process. */
const char *st_tmpfile(const char *suffix);
/* The file's whole contents (NUL-terminated), or NULL. */
char *st_slurp(const char *path, size_t *len);
/* Counts lines of text that contain every one of the NULL-terminated
 * substrings given. */
int st_lines_with(const char *text, ...);

#endif
