/* Command-line options. */
#ifndef SOCKTAP_OPTIONS_H
#define SOCKTAP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "out/out_text.h"

#define ST_MAX_ATTACH 64

struct st_options {
	char *const *argv;		/* the command to launch */
	pid_t pids[ST_MAX_ATTACH];
	size_t npids;
	const char *output;		/* -o: trace and summary */
	struct st_text_opts text;
	bool quiet;			/* -q */
	bool no_summary;		/* --no-summary */
	bool stats;			/* --stats: costs at exit */
	const char *filter;		/* -F: pcap-filter expression */
	const char *decode;		/* --decode spec */
	const char *pcap;		/* -w FILE ("-": stdout) */
	bool pcapng;			/* --pcapng */
	bool hexdump;			/* -x */
	const char *hexdump_file;	/* --hexdump=FILE */
	const char *flows;		/* --flows DIR */
	const char *json;		/* --json FILE ("-": stdout) */
	bool decode_live;		/* --decode-live */
	bool seccomp;			/* off with --no-seccomp */
	bool fd_filter;			/* off with --no-fd-filter */
	bool help, version;
};

/* Parses argv.  Returns 0, or -EINVAL with a one-line reason in err. */
int st_options_parse(int argc, char **argv, struct st_options *o, char *err,
		     size_t errlen);
void st_options_usage(FILE *f);

#endif
