/* Command-line parsing: strace's and tcpdump's letters where they exist. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

enum { OPT_NO_SECCOMP = 256, OPT_NO_FD_FILTER, OPT_NO_SUMMARY, OPT_STATS,
       OPT_DECODE, OPT_DECODE_LIVE, OPT_PCAPNG, OPT_HEXDUMP, OPT_FLOWS,
       OPT_JSON };

static const struct option long_opts[] = {
	{ "attach", required_argument, NULL, 'p' },
	{ "output", required_argument, NULL, 'o' },
	{ "string-limit", required_argument, NULL, 's' },
	{ "relative-timestamps", no_argument, NULL, 'r' },
	{ "syscall-times", no_argument, NULL, 'T' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "no-fd-filter", no_argument, NULL, OPT_NO_FD_FILTER },
	{ "no-summary", no_argument, NULL, OPT_NO_SUMMARY },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "filter", required_argument, NULL, 'F' },
	{ "decode", required_argument, NULL, OPT_DECODE },
	{ "decode-live", no_argument, NULL, OPT_DECODE_LIVE },
	{ "write", required_argument, NULL, 'w' },
	{ "pcapng", no_argument, NULL, OPT_PCAPNG },
	{ "hexdump", optional_argument, NULL, OPT_HEXDUMP },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void st_options_usage(FILE *f)
{
	fputs(
"usage: socktap [OPTIONS] -- COMMAND [ARGS...]\n"
"       socktap [OPTIONS] -p PID [-p PID ...]\n"
"\n"
"Trace what a process says on the network: its sockets, their endpoints\n"
"and every byte sent and received.\n"
"\n"
"  -p, --attach PID      attach to a running process (all its threads);\n"
"                        repeatable; Ctrl-C detaches and leaves it running\n"
"  -o, --output FILE     write the trace and summary to FILE (default stderr)\n"
"  -s, --string-limit N  show at most N bytes of each buffer (default 32)\n"
"  -t                    prefix lines with the time of day; -tt adds\n"
"                        microseconds; -ttt prints seconds since the epoch\n"
"  -r                    prefix lines with the time since the previous one\n"
"  -T                    show the time spent in each call\n"
"  -q, --quiet           no call lines; the summary at exit (and a live\n"
"                        status line on a terminal)\n"
"      --no-summary      no summary table at exit\n"
"      --stats           at exit, what tracing cost: stops by kind, bytes\n"
"                        copied, CPU time of socktap and of the tracees\n"
"  -F, --filter EXPR     record only the conversations a pcap-filter(7)\n"
"                        expression selects, e.g. 'tcp port 79'\n"
"\n"
"Outputs (any number at once):\n"
"  -w, --write FILE      a pcap of every conversation (synthesized TCP/UDP\n"
"                        that Wireshark follows); '-' writes to stdout,\n"
"                        flushed per packet; FILE.pcapng (or --pcapng)\n"
"                        writes pcapng with pid/comm/fd/syscall comments\n"
"  -x, --hexdump[=FILE]  hexdump of each conversation, both directions\n"
"                        interleaved (default: the trace output)\n"
"      --flows DIR       one file per conversation direction, plus an index\n"
"      --json FILE       JSON Lines, one object per event ('-': stdout)\n"
"      --decode=SPEC     protocol decoders: auto (default), none, or\n"
"                        PROTO[:PORT],... e.g. http:8000,dns; known:\n"
"                        finger, http, dns, redis, tls, raw\n"
"      --decode-live     print decoded records as they complete, not at\n"
"                        the end of each conversation\n"
"      --no-seccomp      launch without the seccomp filter (every traced\n"
"                        call stops, slower; for old kernels)\n"
"      --no-fd-filter    let the filter stop every read and write, not only\n"
"                        those on sockets (slower; a fallback)\n"
"  -h, --help            this help\n"
"  -V, --version         the version\n"
"\n"
"The exit status is the traced command's (128+N if killed by signal N).\n"
"See socktap(1).\n", f);
}

/* An output given twice would silently lose the first: refuse. */
static int set_once(const char **slot, const char *opt, const char *val,
		    char *err, size_t errlen)
{
	if (*slot) {
		snprintf(err, errlen, "%s given twice", opt);
		return -EINVAL;
	}
	*slot = val;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int st_options_parse(int argc, char **argv, struct st_options *o, char *err,
		     size_t errlen)
{
	unsigned tcount = 0;
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->seccomp = true;
	o->fd_filter = true;
	o->text.string_limit = 32;
	opterr = 0;
	optind = 1;
	/* '+': stop at the first non-option, the command */
	while ((c = getopt_long(argc, argv, "+:p:o:s:F:w:xtrTqhV", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, INT_MAX, &v) < 0 || v == 0) {
				snprintf(err, errlen, "invalid pid '%s'",
					 optarg);
				return -EINVAL;
			}
			if (o->npids >= ST_MAX_ATTACH) {
				snprintf(err, errlen, "too many -p (max %d)",
					 ST_MAX_ATTACH);
				return -EINVAL;
			}
			o->pids[o->npids++] = (pid_t)v;
			break;
		case 'o':
			if (set_once(&o->output, "-o", optarg, err, errlen))
				return -EINVAL;
			break;
		case 's':
			if (parse_uint(optarg, 1u << 20, &v) < 0) {
				snprintf(err, errlen,
					 "invalid string limit '%s'", optarg);
				return -EINVAL;
			}
			o->text.string_limit = (unsigned)v;
			break;
		case 't':
			tcount++;
			break;
		case 'r':
			o->text.relative = true;
			break;
		case 'T':
			o->text.time_spent = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_NO_SECCOMP:
			o->seccomp = false;
			break;
		case OPT_NO_FD_FILTER:
			o->fd_filter = false;
			break;
		case OPT_NO_SUMMARY:
			o->no_summary = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case 'F':
			o->filter = optarg;
			break;
		case OPT_DECODE:
			o->decode = optarg;
			break;
		case OPT_DECODE_LIVE:
			o->decode_live = true;
			break;
		case 'w':
			if (set_once(&o->pcap, "-w", optarg, err, errlen))
				return -EINVAL;
			break;
		case OPT_PCAPNG:
			o->pcapng = true;
			break;
		case 'x':
			o->hexdump = true;
			break;
		case OPT_HEXDUMP:
			o->hexdump = true;
			o->hexdump_file = optarg;
			break;
		case OPT_FLOWS:
			if (set_once(&o->flows, "--flows", optarg, err, errlen))
				return -EINVAL;
			break;
		case OPT_JSON:
			if (set_once(&o->json, "--json", optarg, err, errlen))
				return -EINVAL;
			break;
		case 'h':
			o->help = true;
			return 0;
		case 'V':
			o->version = true;
			return 0;
		case ':':
			snprintf(err, errlen, "option '%s' needs an argument",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c'",
					 optopt);
			else
				snprintf(err, errlen, "unknown option '%s'",
					 argv[optind - 1]);
			return -EINVAL;
		}
	}
	o->text.ts = tcount >= 3 ? ST_TS_EPOCH : (enum st_tsmode)tcount;
	if (optind < argc)
		o->argv = &argv[optind];
	if (!o->argv && !o->npids) {
		snprintf(err, errlen, "no command to run and no -p PID "
			 "(try 'socktap --help')");
		return -EINVAL;
	}
	if (o->pcap && o->json && !strcmp(o->pcap, "-") &&
	    !strcmp(o->json, "-")) {
		snprintf(err, errlen, "-w - and --json - cannot both write to "
			 "standard output");
		return -EINVAL;
	}
	if (o->pcapng && !o->pcap) {
		snprintf(err, errlen, "--pcapng needs -w FILE");
		return -EINVAL;
	}
	if (o->argv && o->npids) {
		snprintf(err, errlen, "give either a command or -p PID, not "
			 "both");
		return -EINVAL;
	}
	return 0;
}
