/*
 * Golden renderings of the sample programs' conversations: st_demo
 * (finger), st_http (HTTP/1.1 keep-alive, Content-Length and chunked
 * bodies), st_dns (DNS over UDP and TCP, compression, CNAME chains) and
 * the real finger client against st_fingerd on port 79 in a network
 * namespace of its own.  The samples trace both ends of each
 * connection, so these tests also hold socktap to recording every byte
 * once; their records are compared grouped by direction, since which
 * end's syscall the tracer sees first varies (see golden.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golden/golden.h"

#define SAMPLE(name)	ST_SAMPLES_BIN "/" name

TestSuite(golden_samples, .init = gold_setup, .fini = gold_teardown,
	  .timeout = 60);

/*
 * The bytes each direction of each conversation carried, from the
 * --json "end" events: "PROTO a>b N b>a M" lines, sorted.
 */
static char *conv_bytes(const char *name)
{
	static const char filter[] =
		"(map(select(.type == \"open\")) | "
		" map({key: (.conv | tostring), value: .proto}) | "
		" from_entries) as $p | "
		"[.[] | select(.type == \"end\") | "
		" \"\\($p[.conv | tostring]) a>b \\(.bytes.a2b) "
		"b>a \\(.bytes.b2a)\"] | sort | .[]";
	char *s = gold_jq(gold_dir(), name, filter, true);

	cr_assert_not_null(s, "jq could not read %s.json", name);
	return s;
}

Test(golden_samples, st_demo)
{
	const char *cmd[] = { SAMPLE("st_demo"), NULL };
	char *got;

	gold_trace("run", cmd, NULL);
	got = gold_decoded_opt(gold_dir(), "run", NULL, 0, true);
	gold_check("st_demo", got);
	gold_check_json(gold_dir(), "run");
	free(got);
}

Test(golden_samples, st_http)
{
	const char *cmd[] = { SAMPLE("st_http"), NULL };
	char *got, *out, *bytes;

	gold_trace("run", cmd, NULL);
	out = gold_slurp(gold_path(gold_dir(), "run.out"));
	cr_assert_str_eq(out, "Hello from st_http!\n"
			 "received: name=golden&lang=C\n");
	/*
	 * The fixed bytes of the two requests and two responses.  Both
	 * ends are traced and the server closes before the client reads
	 * the last response: the bytes must still be counted once.
	 */
	bytes = conv_bytes("run");
	cr_expect_str_eq(bytes, "TCP a>b 250 b>a 408\n",
			 "st_http sent 250 bytes to the server and 408 back; "
			 "socktap recorded:\n%s", bytes);
	got = gold_decoded_opt(gold_dir(), "run", NULL, 0, true);
	gold_check("st_http", got);
	gold_check_json(gold_dir(), "run");
	free(got);
	free(out);
	free(bytes);
}

Test(golden_samples, st_dns)
{
	const char *cmd[] = { SAMPLE("st_dns"), NULL };
	char *got, *out, *bytes;

	gold_trace("run", cmd, NULL);
	out = gold_slurp(gold_path(gold_dir(), "run.out"));
	cr_assert_not_null(out);
	cr_assert(strstr(out, ";; A nope.example.test: NXDOMAIN\n"),
		  "st_dns printed:\n%s", out);
	/*
	 * One UDP flow (the client's connected socket and the server's
	 * unconnected one are its two ends) and one TCP connection.
	 */
	bytes = conv_bytes("run");
	cr_expect_str_eq(bytes, "TCP a>b 73 b>a 107\nUDP a>b 164 b>a 472\n",
			 "expected one TCP and one UDP conversation, each "
			 "recorded once; socktap recorded:\n%s", bytes);
	got = gold_decoded_opt(gold_dir(), "run", NULL, 0, true);
	gold_check("st_dns", got);
	gold_check_json(gold_dir(), "run");
	free(got);
	free(out);
	free(bytes);
}

/* ------------------------------------------------------------------ */
/* finger(1) against st_fingerd on the real port 79                    */

static const char *const finger_args[][3] = {
	{ "root@127.0.0.1" },
	{ "-l", "alice@127.0.0.1" },		/* sends "/W alice" */
	{ "@127.0.0.1" },			/* list users */
	{ "root@localhost@127.0.0.1" },		/* forwarding, refused */
};

#define N_FINGER (sizeof(finger_args) / sizeof(finger_args[0]))

/* Exit codes of the namespace child. */
enum { NS_OK = 0, NS_REFUSED = 77, NS_LO = 70, NS_SERVER, NS_PORT,
       NS_SOCKTAP, NS_SERVER_EXIT };

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	close(fd);
	return rc;
}

/* In a fresh network namespace (port 79 is ours there): the server,
 * then socktap -- finger for each query.  Returns an NS_ code. */
static int finger_in_netns(const char *dir)
{
	const char *srv[] = { SAMPLE("st_fingerd"), "-p", "79", "-n", "4",
			      NULL };
	char line[64], name[16];
	pid_t pid;
	size_t i;

	if (unshare(CLONE_NEWNET) < 0)
		return errno == EPERM ? NS_REFUSED : NS_LO;
	if (lo_up() < 0)
		return NS_LO;
	pid = gold_spawn(srv, NULL, gold_path(dir, "fingerd.out"),
			 gold_path(dir, "fingerd.err"));
	if (pid < 0)
		return NS_SERVER;
	if (gold_wait_line(gold_path(dir, "fingerd.out"), "PORT 79", line,
			   sizeof(line), pid, 10000) < 0) {
		gold_stop(pid);
		return NS_PORT;
	}
	for (i = 0; i < N_FINGER; i++) {
		const char *cmd[4] = { "finger" };

		for (size_t k = 0; k < 2 && finger_args[i][k]; k++)
			cmd[k + 1] = finger_args[i][k];
		snprintf(name, sizeof(name), "finger-%zu", i);
		if (gold_socktap(dir, name, cmd, NULL) != 0) {
			gold_stop(pid);
			return NS_SOCKTAP;
		}
	}
	return gold_wait(pid, 10000) == 0 ? NS_OK : NS_SERVER_EXIT;
}

Test(golden_samples, finger_client_port_79)
{
	static const char *const why[] = {
		[NS_LO] = "could not bring up lo in the new namespace",
		[NS_SERVER] = "could not start st_fingerd",
		[NS_PORT] = "st_fingerd did not listen on port 79",
		[NS_SOCKTAP] = "socktap -- finger failed (see finger-N.err)",
		[NS_SERVER_EXIT] = "st_fingerd did not answer all queries",
	};
	char name[16], *all = NULL;
	size_t len = 0, i;
	int ws, rc;
	pid_t pid;

	cr_assert(gold_have("finger"), "finger(1) is not installed "
		  "(package finger)");
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(finger_in_netns(gold_dir()));
	while (waitpid(pid, &ws, 0) < 0)
		cr_assert_eq(errno, EINTR);
	cr_assert(WIFEXITED(ws), "namespace child died (status 0x%x)", ws);
	rc = WEXITSTATUS(ws);
	if (rc == NS_REFUSED)
		cr_skip_test("unshare(CLONE_NEWNET) is not permitted here "
			     "(EPERM): port 79 needs a namespace of its own");
	cr_assert_eq(rc, NS_OK, "%s",
		     rc >= NS_LO && rc <= NS_SERVER_EXIT ? why[rc] : "?");

	for (i = 0; i < N_FINGER; i++) {
		char *got, *n;

		snprintf(name, sizeof(name), "finger-%zu", i);
		got = gold_decoded(gold_dir(), name, NULL, 0);
		gold_check_json(gold_dir(), name);
		n = realloc(all, len + strlen(got) + 1);
		cr_assert_not_null(n);
		all = n;
		memcpy(all + len, got, strlen(got) + 1);
		len += strlen(got);
		free(got);
	}
	gold_check("finger", all);
	free(all);
}
