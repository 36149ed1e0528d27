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
#include "resolve/resolve.h"
#include "out/filter.h"
#include "out/out_decode.h"
#include "out/out_status.h"
#include "out/out_text.h"
#include "out/outputs.h"
#include "tracer/tracer.h"

/* Everything main sets up, so one function can take it down. */
struct app {
	struct st_options opt;
	struct st_model *model;
	struct st_handlers h;
	struct st_text_out text;
	FILE *out;			/* the trace: stderr or -o */
	struct st_filter *filter;
	struct st_decsel *decsel;
	struct st_outputs outs;
	bool filtering;
};

static bool select_conv(void *arg, const struct st_conv *c)
{
	struct st_endpoint a, b;

	st_outputs_synth_endpoints(c, &a, &b);
	return st_filter_match(arg, c, &a, &b);
}

static void hold_outside(void *arg, uint64_t ino)
{
	st_model_hold_outside(arg, ino);
}

static bool sock_selected(const struct st_socket *s)
{
	return s && s->conv && s->conv->selected;
}

/* With -F, a call line is shown only for a selected conversation. */
static void on_call(void *priv, const struct st_call *call)
{
	struct app *app = priv;
	bool show = !app->filtering || sock_selected(call->ret_sock);

	for (unsigned i = 0; !show && i < call->nargs; i++)
		if (call->args[i].kind == ST_ARG_FD)
			show = sock_selected(call->args[i].sock);
	if (show)
		st_text_on_call(&app->text, call);
}

/* An output failed (disk full, closed pipe): say so when it happens. */
static void on_sink_error(void *arg, const char *name, int err)
{
	fprintf(stderr, "socktap: %s output failed: %s (socktap will exit "
		"non-zero)\n", name, strerror(-err));
}

/* The tracer has nothing to do for a moment: the trace and the other
 * streams go to their files now, as strace's would, rather than when a
 * buffer fills (a quiet program's lines would wait for hours). */
static void on_idle(void *arg)
{
	struct app *app = arg;

	st_outputs_idle(&app->outs, app->out);
}

/* The tracer polls for its next stop: the capture's writing that a
 * thread would do may be done here. */
static size_t on_spare(void *arg, size_t piece)
{
	struct app *app = arg;

	return st_model_spare(app->model, piece);
}

/* SI_KERNEL: sent by the terminal (Ctrl-C, hangup) to its foreground
 * process group, not by kill(2) to socktap alone. */
static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	st_tracer_request_stop(sig, si && si->si_code == SI_KERNEL);
}

/*
 * Before the tracer starts: a Ctrl-C while the threads of a busy process
 * are being seized, or before a command runs, is a stop request like any
 * other.  *ignored: those socktap was started with ignored, which the
 * command starts with ignored too, as it would without socktap.  SIGHUP
 * ignored (nohup) stays ignored by socktap as well: both are to outlive
 * the terminal.  SIGINT or SIGTERM sent to socktap is a request to it
 * even so (a background job has SIGINT ignored, and kill -INT of it
 * must still stop the trace).
 */
static void install_stop_signals(sigset_t *ignored)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stop_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: waitpid must return to notice the request */
	sigemptyset(ignored);
	for (const int *sig = st_tracer_stop_signals; *sig; sig++) {
		if (sigaction(*sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN) {
			sigaddset(ignored, *sig);
			if (*sig == SIGHUP)
				continue;
		}
		sigaction(*sig, &sa, NULL);
	}
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* socktap's own peak RSS: the kernel's high-water mark of this image.
 * ru_maxrss would not do: it starts from the RSS of whatever process
 * forked us (a Python benchmark: 16 MiB), kept across exec. */
static long peak_rss_kib(const struct rusage *self)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib >= 0 ? kib : self->ru_maxrss;
}

/* --stats: one line a script can split on spaces and '='.  The tracees'
 * CPU time: a launched command's from getrusage (socktap's children),
 * attached processes' from their CPU clocks (the tracer's). */
static void print_stats(const struct st_tracer_stats *ts,
			const struct st_handlers *h)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	fprintf(stderr, "socktap: stats: stops_seccomp=%llu stops_entry=%llu "
		"stops_exit=%llu stops_signal=%llu stops_event=%llu "
		"entries_skipped=%llu filters_injected=%llu "
		"filter_failures=%llu fds_receive_free=%llu "
		"released_early=%llu exits_unasked=%llu calls=%llu "
		"receives_unstopped=%llu sends_prefetched=%llu "
		"bytes_copied=%llu "
		"tracer_cpu_s=%.3f tracee_cpu_s=%.3f tracees_cpu_unread=%llu "
		"maxrss_kib=%ld\n",
		(unsigned long long)ts->stops_seccomp,
		(unsigned long long)ts->stops_entry,
		(unsigned long long)ts->stops_exit,
		(unsigned long long)ts->stops_signal,
		(unsigned long long)ts->stops_event,
		(unsigned long long)ts->entries_skipped,
		(unsigned long long)ts->filters_injected,
		(unsigned long long)ts->filter_failures,
		(unsigned long long)ts->fds_receive_free,
		(unsigned long long)ts->released_early,
		(unsigned long long)ts->exits_unasked,
		(unsigned long long)h->ncalls,
		(unsigned long long)h->receives_unstopped,
		(unsigned long long)h->prefetched,
		(unsigned long long)h->bytes_copied,
		tv_s(&self.ru_utime) + tv_s(&self.ru_stime),
		tv_s(&kids.ru_utime) + tv_s(&kids.ru_stime) +
		(double)ts->tracee_cpu_ns / 1e9,
		(unsigned long long)ts->tracees_cpu_unread,
		peak_rss_kib(&self));
}

/* Sets up the model, its outputs and the handlers.  0, or an exit
 * status with the reason already printed. */
static int setup(struct app *app)
{
	struct st_options *o = &app->opt;
	char err[512] = "";

	if (o->filter &&
	    st_filter_new(o->filter, &app->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		return 2;
	}
	if (st_decsel_new(o->decode, err, sizeof(err), &app->decsel) < 0) {
		fprintf(stderr, "socktap: --decode: %s\n", err);
		return 2;
	}
	app->out = stderr;
	if (o->output) {
		app->out = st_output_open(o->output, NULL, err, sizeof(err));
		if (!app->out) {
			fprintf(stderr, "socktap: %s\n", err);
			return 1;
		}
		/* stderr is unbuffered; a file gets a large buffer */
		setvbuf(app->out, NULL, _IOFBF, 1 << 16);
	}
	app->model = st_model_new();
	if (!app->model || st_handlers_init(&app->h, app->model) < 0) {
		fprintf(stderr, "socktap: out of memory\n");
		return 1;
	}
	st_model_set_error_handler(app->model, on_sink_error, app);
	if (app->filter) {
		st_model_set_select(app->model, select_conv, app->filter);
		app->filtering = true;
	}
	/* the capture outputs, in the order their files should be made */
	if (st_outputs_open(&app->outs, o, app->out, app->model, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		return 1;
	}
	if (st_decsel_enabled(app->decsel)) {
		struct st_sink dec;

		if (st_decode_sink_new(app->decsel, o->quiet ? NULL : app->out,
				       app->outs.json, o->decode_live,
				       &dec) == 0)
			st_model_add_sink(app->model, &dec);
	}
	if (o->quiet && isatty(fileno(app->out))) {
		struct st_sink live;

		if (st_status_sink_new(app->out, &live) == 0)
			st_model_add_sink(app->model, &live);
	}
	st_text_init(&app->text, app->out, &o->text);
	app->h.opts.string_limit = o->text.string_limit;
	if (!o->quiet) {
		app->h.calls.priv = app;
		app->h.calls.on_call = on_call;
	}
	app->h.warn = st_text_warning;
	app->h.warn_arg = &app->text;
	return 0;
}

static void teardown(struct app *app)
{
	st_handlers_cleanup(&app->h);
	st_model_free(app->model);	/* destroys the sinks */
	st_outputs_close(&app->outs);
	if (app->out && app->out != stderr)
		fclose(app->out);
	st_filter_free(app->filter);
	st_decsel_free(app->decsel);
}

int main(int argc, char **argv)
{
	static struct app app;
	struct st_tracer_hooks hooks;
	struct st_tracer_opts topts;
	struct st_tracer_stats tstats;
	struct st_tracer *tracer = NULL;
	struct timespec now;
	char err[512] = "";
	int status = 0, rc;

	if (getuid() != geteuid() || getgid() != getegid()) {
		fprintf(stderr, "socktap: refusing to run setuid or setgid\n");
		return 1;
	}
	if (st_options_parse(argc, argv, &app.opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		return 2;
	}
	if (app.opt.help) {
		st_options_usage(stdout);
		return 0;
	}
	if (app.opt.version) {
		printf("socktap %s\n", ST_VERSION);
		return 0;
	}
	rc = setup(&app);
	if (rc) {
		teardown(&app);
		return rc;
	}
	st_handlers_hooks(&app.h, &hooks);
	hooks.on_idle = on_idle;
	hooks.on_spare = on_spare;
	hooks.idle_arg = &app;
	memset(&topts, 0, sizeof(topts));
	topts.seccomp = app.opt.seccomp;
	topts.fd_filter = app.opt.fd_filter;
	topts.stdout_to_stderr = (app.opt.pcap && !strcmp(app.opt.pcap, "-")) ||
				 (app.opt.json && !strcmp(app.opt.json, "-")) ||
				 (app.opt.hexdump_file &&
				  !strcmp(app.opt.hexdump_file, "-"));
	topts.argv = app.opt.argv;
	topts.pids = app.opt.pids;
	topts.npids = app.opt.npids;
	/* sockets held outside the trace too get no made-up FIN: socktap's
	 * own, which a launched command inherits; at an attach, those
	 * another process shares */
	if (!app.opt.npids)
		st_resolve_own_sockets(hold_outside, app.model);
	else
		st_resolve_shared_sockets(app.opt.pids, app.opt.npids,
					  hold_outside, app.model);
	install_stop_signals(&topts.ignored);
	rc = st_tracer_start(&topts, &hooks, &tracer, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		st_outputs_abandon(&app.outs);
		teardown(&app);
		return app.opt.npids ? 1 : 127;
	}
	/* A closed output pipe is an error to report, not a death.  Not
	 * before the command started: an ignored signal stays ignored
	 * across exec, and the command's own SIGPIPE is its business. */
	signal(SIGPIPE, SIG_IGN);
	rc = st_tracer_run(tracer, &status);
	if (rc < 0)
		fprintf(stderr, "socktap: cannot execute '%s': %s\n",
			app.opt.argv ? app.opt.argv[0] : "?", strerror(-rc));
	clock_gettime(CLOCK_REALTIME, &now);
	st_tracer_get_stats(tracer, &tstats);
	st_tracer_free(tracer);	/* drops every task: closes their sockets */
	/* ends every conversation and flushes every output */
	if (st_model_finish(app.model, &now) < 0 && !status)
		status = 1;
	if (!app.opt.no_summary && rc == 0)
		st_text_summary(app.out, app.model, app.opt.pcap != NULL);
	if (fflush(app.out) != 0 || ferror(app.out) || app.text.error) {
		fprintf(stderr, "socktap: writing the trace failed: %s\n",
			strerror(errno ? errno : EIO));
		if (!status)
			status = 1;
	}
	if (st_outputs_finish(&app.outs, err, sizeof(err)) < 0) {
		fprintf(stderr, "socktap: %s\n", err);
		if (!status)
			status = 1;
	}
	if (app.opt.stats)
		print_stats(&tstats, &app.h);
	teardown(&app);
	return status;
}
