/* socktap: what is this process saying on the network? */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "options.h"
#include "out/filter.h"
#include "out/out_decode.h"
#include "out/out_status.h"
#include "out/out_text.h"
#include "tracer/tracer.h"

static bool select_conv(void *arg, const struct st_conv *c)
{
	return st_filter_match(arg, c, NULL, NULL);
}

/* With -F, a call line is shown only for a selected conversation. */
struct call_filter {
	struct st_text_out *text;
	bool filtering;
};

static bool sock_selected(const struct st_socket *s)
{
	return s && s->conv && s->conv->selected;
}

static void on_call(void *priv, const struct st_call *call)
{
	struct call_filter *cf = priv;
	bool show = !cf->filtering || sock_selected(call->ret_sock);

	for (unsigned i = 0; !show && i < call->nargs; i++)
		if (call->args[i].kind == ST_ARG_FD)
			show = sock_selected(call->args[i].sock);
	if (show)
		st_text_on_call(cf->text, call);
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* --stats: one line a script can split on spaces and '='. */
static void print_stats(const struct st_tracer_stats *ts,
			const struct st_handlers *h)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	fprintf(stderr, "socktap: stats: stops_seccomp=%llu stops_entry=%llu "
		"stops_exit=%llu stops_signal=%llu stops_event=%llu "
		"entries_skipped=%llu filters_injected=%llu "
		"filter_failures=%llu calls=%llu bytes_copied=%llu "
		"tracer_cpu_s=%.3f tracee_cpu_s=%.3f maxrss_kib=%ld\n",
		(unsigned long long)ts->stops_seccomp,
		(unsigned long long)ts->stops_entry,
		(unsigned long long)ts->stops_exit,
		(unsigned long long)ts->stops_signal,
		(unsigned long long)ts->stops_event,
		(unsigned long long)ts->entries_skipped,
		(unsigned long long)ts->filters_injected,
		(unsigned long long)ts->filter_failures,
		(unsigned long long)h->ncalls,
		(unsigned long long)h->bytes_copied,
		tv_s(&self.ru_utime) + tv_s(&self.ru_stime),
		tv_s(&kids.ru_utime) + tv_s(&kids.ru_stime),
		self.ru_maxrss);
}

static void on_stop_signal(int sig)
{
	st_tracer_request_stop(sig);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: waitpid must return to notice the request */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed output pipe is an error to report, not a death */
	signal(SIGPIPE, SIG_IGN);
}

/* Creates an output file the way tcpdump and strace replace one: truncate
 * a regular file, never follow a symlink planted in its place. */
static FILE *open_output(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
			    O_CLOEXEC | O_NOCTTY, 0600);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path,
			 errno == ELOOP ? "is a symbolic link" :
			 strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write '%s': %s", path,
			 strerror(errno));
		close(fd);
	}
	return f;
}

int main(int argc, char **argv)
{
	struct st_options opt;
	struct st_handlers h;
	struct st_tracer_hooks hooks;
	struct st_tracer_opts topts;
	struct st_tracer *tracer = NULL;
	struct st_text_out text;
	struct st_model *model = NULL;
	struct st_filter *filter = NULL;
	struct st_decsel *decsel = NULL;
	struct call_filter cf;
	struct st_tracer_stats tstats;
	struct timespec now;
	FILE *out = stderr;
	char err[512] = "";
	int status = 0, rc;

	if (getuid() != geteuid() || getgid() != getegid()) {
		fprintf(stderr, "socktap: refusing to run setuid or setgid\n");
		return 1;
	}
	if (st_options_parse(argc, argv, &opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		return 2;
	}
	if (opt.help) {
		st_options_usage(stdout);
		return 0;
	}
	if (opt.version) {
		printf("socktap %s\n", ST_VERSION);
		return 0;
	}
	if (opt.filter &&
	    st_filter_new(opt.filter, &filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		return 2;
	}
	if (st_decsel_new(opt.decode, err, sizeof(err), &decsel) < 0) {
		fprintf(stderr, "socktap: --decode: %s\n", err);
		st_filter_free(filter);
		return 2;
	}
	if (opt.output) {
		out = open_output(opt.output, err, sizeof(err));
		if (!out) {
			fprintf(stderr, "socktap: %s\n", err);
			return 1;
		}
	}
	/* stderr is unbuffered; a file gets a large buffer */
	if (out != stderr)
		setvbuf(out, NULL, _IOFBF, 1 << 16);

	model = st_model_new();
	memset(&h, 0, sizeof(h));
	if (!model || st_handlers_init(&h, model) < 0) {
		fprintf(stderr, "socktap: out of memory\n");
		return 1;
	}
	st_text_init(&text, out, &opt.text);
	h.opts.string_limit = opt.text.string_limit;
	if (filter)
		st_model_set_select(model, select_conv, filter);
	cf.text = &text;
	cf.filtering = filter != NULL;
	if (!opt.quiet) {
		h.calls.priv = &cf;
		h.calls.on_call = on_call;
	}
	if (opt.quiet && isatty(fileno(out))) {
		struct st_sink live;

		if (st_status_sink_new(out, &live) == 0)
			st_model_add_sink(model, &live);
	}
	if (st_decsel_enabled(decsel)) {
		struct st_sink dec;

		if (st_decode_sink_new(decsel, opt.quiet ? NULL : out, NULL,
				       opt.decode_live, &dec) == 0)
			st_model_add_sink(model, &dec);
	}
	h.warn = st_text_warning;
	h.warn_arg = &text;
	st_handlers_hooks(&h, &hooks);

	memset(&topts, 0, sizeof(topts));
	topts.seccomp = opt.seccomp;
	topts.fd_filter = opt.fd_filter;
	topts.argv = opt.argv;
	topts.pids = opt.pids;
	topts.npids = opt.npids;
	rc = st_tracer_start(&topts, &hooks, &tracer, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		st_handlers_cleanup(&h);
		st_model_free(model);
		return opt.npids ? 1 : 127;
	}
	install_signals();
	rc = st_tracer_run(tracer, &status);
	if (rc < 0)
		fprintf(stderr, "socktap: cannot execute '%s': %s\n",
			opt.argv ? opt.argv[0] : "?", strerror(-rc));
	clock_gettime(CLOCK_REALTIME, &now);
	st_tracer_get_stats(tracer, &tstats);
	st_tracer_free(tracer);	/* drops every task: closes their sockets */
	if (st_model_finish(model, &now) < 0)
		status = status ? status : 1;
	if (!opt.no_summary && rc == 0)
		st_text_summary(out, model);
	if (fflush(out) != 0 || text.error) {
		fprintf(stderr, "socktap: writing the trace failed: %s\n",
			strerror(errno ? errno : EIO));
		if (!status)
			status = 1;
	}
	if (out != stderr)
		fclose(out);
	if (opt.stats)
		print_stats(&tstats, &h);
	st_handlers_cleanup(&h);
	st_model_free(model);
	st_filter_free(filter);
	st_decsel_free(decsel);
	return status;
}
