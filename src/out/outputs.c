/* The capture outputs chosen on the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/outfile.h"
#include "out/out_sinks.h"
#include "out/outputs.h"
#include "pcap/pcap_out.h"

FILE *st_output_open(const char *path, struct st_outfile_id *id, char *err,
		     size_t errlen)
{
	FILE *f;
	int fd;

	if (st_outfile_open(path, &fd, id, err, errlen) < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write '%s': %s", path,
			 strerror(errno));
		close(fd);
	}
	return f;
}

static bool is_stdout(const char *path)
{
	return !strcmp(path, "-");
}

/* Adds a sink, or destroys it when the model has no room left. */
static int add(struct st_model *m, struct st_sink *sink, char *err,
	       size_t errlen)
{
	int rc = st_model_add_sink(m, sink);

	if (rc < 0) {
		snprintf(err, errlen, "too many outputs (%s)", sink->name);
		if (sink->destroy)
			sink->destroy(sink->priv);
		return rc;
	}
	return 0;
}

/* Notes the file this run made at path, for st_outputs_abandon: what
 * was there before (a file to replace, a device such as /dev/null) is
 * never removed. */
static void remember(struct st_outputs *outs, const char *path,
		     const struct st_outfile_id *id)
{
	const unsigned max = sizeof(outs->made) / sizeof(outs->made[0]);

	if (!id->made || outs->nmade >= max)
		return;
	outs->made[outs->nmade].path = path;
	outs->made[outs->nmade++].id = *id;
}

/* A text output: standard output for "-", else a file made here. */
static FILE *open_stream(struct st_outputs *outs, const char *path,
			 bool *owned, char *err, size_t errlen)
{
	struct st_outfile_id id;
	FILE *f;

	*owned = false;
	if (is_stdout(path))
		return stdout;
	f = st_output_open(path, &id, err, errlen);
	if (f) {
		*owned = true;
		remember(outs, path, &id);
	}
	return f;
}

int st_outputs_open(struct st_outputs *outs, const struct st_options *o,
		    FILE *trace, struct st_model *m, char *err,
		    size_t errlen)
{
	struct st_sink sink;
	int rc;

	memset(outs, 0, sizeof(*outs));
	if (o->pcap) {
		struct st_outfile_id id = { .made = false };
		struct st_pcap_opts po = {
			.path = o->pcap, .pcapng = o->pcapng,
			.live = is_stdout(o->pcap),
			.errbuf = err, .errbuf_size = errlen, .opened = &id,
		};

		rc = st_pcap_sink_new(&po, &sink);
		if (rc < 0) {
			if (!err[0])
				snprintf(err, errlen, "cannot write '%s': %s",
					 o->pcap, strerror(-rc));
			return rc;
		}
		remember(outs, o->pcap, &id);
		if ((rc = add(m, &sink, err, errlen)) < 0)
			return rc;
	}
	if (o->json) {
		outs->json = open_stream(outs, o->json, &outs->json_owned,
					 err, errlen);
		if (!outs->json)
			return -EIO;
		setvbuf(outs->json, NULL, _IOFBF, 1 << 16);
		rc = st_json_sink_new(outs->json, &sink);
		if (rc < 0) {
			snprintf(err, errlen, "--json: %s", strerror(-rc));
			return rc;
		}
		if ((rc = add(m, &sink, err, errlen)) < 0)
			return rc;
	}
	if (o->flows) {
		rc = st_flows_sink_new(o->flows, &sink, err, errlen);
		if (rc < 0) {
			if (!err[0])
				snprintf(err, errlen, "--flows %s: %s",
					 o->flows, strerror(-rc));
			return rc;
		}
		if ((rc = add(m, &sink, err, errlen)) < 0)
			return rc;
	}
	if (o->hexdump) {
		outs->hexdump = o->hexdump_file ?
			open_stream(outs, o->hexdump_file,
				    &outs->hexdump_owned, err, errlen) : trace;
		if (!outs->hexdump)
			return -EIO;
		rc = st_hexdump_sink_new(outs->hexdump,
					 st_hexdump_want_color(outs->hexdump),
					 &sink);
		if (rc < 0) {
			snprintf(err, errlen, "--hexdump: %s", strerror(-rc));
			return rc;
		}
		if ((rc = add(m, &sink, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* What f holds goes to its file; a failure stays in its error flag,
 * for the end of the run. */
static void flush_pending(FILE *f)
{
	if (f && __fpending(f))
		fflush(f);
}

void st_outputs_idle(struct st_outputs *outs, FILE *trace)
{
	flush_pending(trace);
	flush_pending(outs->json);
	flush_pending(outs->hexdump);
}

int st_outputs_finish(struct st_outputs *outs, char *err, size_t errlen)
{
	if (outs->json && (fflush(outs->json) != 0 || ferror(outs->json))) {
		snprintf(err, errlen, "writing the JSON output failed: %s",
			 strerror(errno));
		return -EIO;
	}
	if (outs->hexdump &&
	    (fflush(outs->hexdump) != 0 || ferror(outs->hexdump))) {
		snprintf(err, errlen, "writing the hexdump failed: %s",
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

void st_outputs_abandon(struct st_outputs *outs)
{
	for (unsigned i = 0; i < outs->nmade; i++) {
		struct stat st;

		/* still the file made, not one put there since */
		if (lstat(outs->made[i].path, &st) == 0 &&
		    S_ISREG(st.st_mode) && st.st_dev == outs->made[i].id.dev &&
		    st.st_ino == outs->made[i].id.ino)
			unlink(outs->made[i].path);
	}
	outs->nmade = 0;
}

void st_outputs_close(struct st_outputs *outs)
{
	if (outs->json && outs->json_owned)
		fclose(outs->json);
	if (outs->hexdump && outs->hexdump_owned)
		fclose(outs->hexdump);
	outs->json = outs->hexdump = NULL;
}

void st_outputs_synth_endpoints(const struct st_conv *c, struct st_endpoint *a,
				struct st_endpoint *b)
{
	if (st_pcap_conv_is_synthetic(c)) {
		st_pcap_synth_endpoints(c, a, b);
	} else {
		*a = c->a;
		*b = c->b;
	}
}
