/*
 * Golden renderings of real clients against real servers, all on
 * 127.0.0.1 with ports chosen at run time: curl against python3's
 * http.server, dig against st_dns -s, redis-cli against redis-server and
 * openssl s_client against openssl s_server (TLS 1.3 and 1.2).  Only the
 * client is traced.  What legitimately varies (dates, versions, DNS ids,
 * ports inside the text) is masked by patterns that only match the
 * expected shape, so a decoder that garbles those values still fails.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "golden/golden.h"

#define SAMPLE(name)	ST_SAMPLES_BIN "/" name
#define NMASK(m)	(sizeof(m) / sizeof((m)[0]))

TestSuite(golden_tools, .init = gold_setup, .fini = gold_teardown,
	  .timeout = 60);

static void need(const char *prog, const char *package)
{
	cr_assert(gold_have(prog), "%s is not installed (Debian package %s)",
		  prog, package);
}

/* Appends the masked decoded rendering of run name to *all. */
static void collect(char **all, const char *name,
		    const struct gold_mask *m, size_t n)
{
	char *got = gold_decoded(gold_dir(), name, m, n);
	size_t have = *all ? strlen(*all) : 0;
	char *p = realloc(*all, have + strlen(got) + 1);

	cr_assert_not_null(p);
	memcpy(p + have, got, strlen(got) + 1);
	*all = p;
	free(got);
	gold_check_json(gold_dir(), name);
}

/* ------------------------------------------------------------------ */
/* curl and python3 -m http.server                                     */

static const char hello[] = "Hello from a golden file!\n";

static const struct gold_mask http_masks[] = {
	/* the port is in the Host field */
	{ "^(        Host: 127\\.0\\.0\\.1:)[0-9]{1,5}$", "\\1<port>", false },
	{ "^(        User-Agent: curl/)[0-9]+\\.[0-9]+\\.[0-9]+$",
	  "\\1<version>", false },
	{ "^(        Server: SimpleHTTP/)[0-9.]+ Python/[0-9]+\\.[0-9]+"
	  "\\.[0-9]+[a-z0-9+]*$", "\\1<version> Python/<version>", false },
	/* IMF-fixdate (RFC 9110 5.6.7) */
	{ "^(        Date: )(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
	  "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 2[0-9]{3} "
	  "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT$", "\\1<IMF-fixdate>", false },
};

Test(golden_tools, curl_python_http_server)
{
	const char *dir = gold_dir();
	char www[512], fbody[512], fhead[512], url[128], line[256];
	char *got = NULL, *body;
	const char *srv[] = { "python3", "-u", "-m", "http.server",
			      "--bind", "127.0.0.1", "--directory", www,
			      "0", NULL };
	/* a GET, then a HEAD whose response has a length but no body */
	const char *cmd[] = { "curl", "-sS", "-o", fbody, url,
			      "--next", "-sS", "-I", "-o", fhead, url, NULL };
	/* the Last-Modified date: 2024-01-01 00:00:00 UTC */
	struct timespec times[2] = { { 1704067200, 0 }, { 1704067200, 0 } };
	const char *p;
	pid_t pid;
	int port;

	need("python3", "python3");
	need("curl", "curl");
	snprintf(www, sizeof(www), "%s/www", dir);
	snprintf(fbody, sizeof(fbody), "%s/body", dir);
	snprintf(fhead, sizeof(fhead), "%s/head", dir);
	cr_assert_eq(mkdir(www, 0755), 0);
	cr_assert_eq(gold_write(gold_path(www, "hello.txt"), hello,
				sizeof(hello) - 1), 0);
	cr_assert_eq(utimensat(AT_FDCWD, gold_path(www, "hello.txt"), times,
			       0), 0);
	pid = gold_server(srv, gold_path(dir, "http.out"),
			  gold_path(dir, "http.err"));
	cr_assert_gt(pid, 0, "cannot start python3 -m http.server");
	cr_assert_eq(gold_wait_line(gold_path(dir, "http.out"),
				    "Serving HTTP on 127.0.0.1 port ", line,
				    sizeof(line), pid, 15000), 0,
		     "python3 -m http.server did not start");
	p = strstr(line, " port ");
	cr_assert(p && sscanf(p, " port %d", &port) == 1, "%s", line);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello.txt", port);

	gold_trace("curl", cmd, NULL);
	body = gold_slurp(fbody);
	cr_assert_str_eq(body, hello);
	free(body);
	gold_server_stop(pid);

	collect(&got, "curl", http_masks, NMASK(http_masks));
	gold_check("curl", got);
	free(got);
}

/* ------------------------------------------------------------------ */
/* dig and st_dns -s                                                   */

static const struct gold_mask dns_masks[] = {
	/* dig picks random ids: name them in order, so an answer's id
	 * must still be its query's */
	{ "(0x[0-9a-f]{4})", "id", true },
};

Test(golden_tools, dig_st_dns)
{
	const char *dir = gold_dir();
	char line[64], port[64], *got = NULL;
	const char *srv[] = { SAMPLE("st_dns"), "-s", "-n", "4", NULL };
	/* per-query options follow their query: the MX one goes by TCP */
	const char *cmd[] = { "dig", "@127.0.0.1", "-p", port,
			      "+noall", "+answer",
			      "www.example.test", "A",
			      "example.test", "MX", "+tcp",
			      "example.test", "TXT",
			      "nope.example.test", "AAAA", NULL };
	char *out;
	pid_t pid;
	int rc;

	need("dig", "dnsutils");
	pid = gold_server(srv, gold_path(dir, "dns.out"),
			  gold_path(dir, "dns.err"));
	cr_assert_gt(pid, 0);
	cr_assert_eq(gold_wait_line(gold_path(dir, "dns.out"), "PORT ", line,
				    sizeof(line), pid, 10000), 0,
		     "st_dns -s did not start");
	snprintf(port, sizeof(port), "%s", line + 5);

	gold_trace("dig", cmd, NULL);
	out = gold_slurp(gold_path(dir, "dig.out"));
	cr_assert(out && strstr(out, "host.example.test.\t300\tIN\tA\t"
				"192.0.2.11\n"), "dig printed:\n%s", out);
	free(out);
	rc = gold_server_wait(pid, 10000);
	cr_assert_eq(rc, 0, "st_dns -s did not see all 4 queries (%d)", rc);

	collect(&got, "dig", dns_masks, NMASK(dns_masks));
	gold_check("dig", got);
	free(got);
}

/* ------------------------------------------------------------------ */
/* redis-cli and redis-server                                          */

static const struct gold_mask redis_masks[] = {
	/* the HELLO 3 reply that redis-cli -3 asks for first */
	{ "(\"version\" \")[0-9]+\\.[0-9]+\\.[0-9]+\"", "\\1<version>\"",
	  false },
	{ "(\"id\" \\(integer\\) )[0-9]+", "\\1<client id>", false },
	{ "(\\{7\\} \"server\" \"redis\" [^\n]*\n        type: map\n"
	  "        bytes: )[0-9]{3}$", "\\1<n>", false },
};

/* One redis-cli invocation per line: one command each, so redis-cli
 * sends nothing else (with commands on stdin it asks COMMAND DOCS). */
static const char *const redis_cmds[][8] = {
	{ "PING" },
	{ "SET", "greeting", "hello world" },
	{ "GET", "greeting" },
	{ "GET", "missing" },
	{ "INCR", "counter" },
	{ "RPUSH", "list", "a", "b", "c" },
	{ "LRANGE", "list", "0", "-1" },
	{ "SET", "blob", "0123456789abcdef0123456789abcdef0123456789" },
	{ "NOSUCHCMD", "x" },
	{ "HSET", "h", "f1", "v1" },
	{ "-3", "HGETALL", "h" },
	{ "ZADD", "z", "1.5", "m" },
	{ "-3", "ZSCORE", "z", "m" },
	{ "-3", "GET", "missing" },
};

#define N_REDIS (sizeof(redis_cmds) / sizeof(redis_cmds[0]))

/* redis-server on a free port; retries if someone took the port. */
static pid_t start_redis(int *port)
{
	const char *dir = gold_dir();
	char ps[16], line[128];

	for (int tries = 0; tries < 3; tries++) {
		const char *srv[] = { "redis-server", "--port", ps,
				      "--bind", "127.0.0.1", "--dir", dir,
				      "--save", "", "--appendonly", "no",
				      "--daemonize", "no", "--logfile", "",
				      NULL };
		pid_t pid;

		*port = gold_free_port();
		cr_assert_gt(*port, 0);
		snprintf(ps, sizeof(ps), "%d", *port);
		unlink(gold_path(dir, "redis.out"));
		pid = gold_server(srv, gold_path(dir, "redis.out"),
				  gold_path(dir, "redis.err"));
		cr_assert_gt(pid, 0, "cannot start redis-server");
		if (gold_wait_line(gold_path(dir, "redis.out"),
				   "Ready to accept connections", line,
				   sizeof(line), pid, 15000) == 0)
			return pid;
		gold_server_stop(pid);
	}
	cr_assert_fail("redis-server did not start (see redis.out)");
	return -1;
}

Test(golden_tools, redis_cli)
{
	char port[16], name[16], *got = NULL;
	pid_t pid;
	int p;

	need("redis-server", "redis-server");
	need("redis-cli", "redis-tools");
	pid = start_redis(&p);
	snprintf(port, sizeof(port), "%d", p);
	for (size_t i = 0; i < N_REDIS; i++) {
		const char *cmd[16] = { "redis-cli", "-p", port };
		size_t n = 3;

		for (size_t k = 0; k < 8 && redis_cmds[i][k]; k++)
			cmd[n++] = redis_cmds[i][k];
		snprintf(name, sizeof(name), "redis-%02zu", i);
		gold_trace(name, cmd, NULL);
	}
	gold_server_stop(pid);
	for (size_t i = 0; i < N_REDIS; i++) {
		snprintf(name, sizeof(name), "redis-%02zu", i);
		collect(&got, name, redis_masks, NMASK(redis_masks));
	}
	gold_check("redis", got);
	free(got);
}

/* ------------------------------------------------------------------ */
/* openssl s_client and s_server                                       */

/* A config of our own: the certificate does not depend on the system's
 * openssl.cnf, so the handshake sizes are the same everywhere. */
static const char tls_cnf[] =
	"[req]\n"
	"distinguished_name = dn\n"
	"prompt = no\n"
	"x509_extensions = v3\n"
	"[dn]\n"
	"CN = example.test\n"
	"[v3]\n"
	"basicConstraints = critical, CA:FALSE\n"
	"keyUsage = critical, digitalSignature\n"
	"subjectAltName = DNS:example.test\n";

Test(golden_tools, openssl_s_client)
{
	const char *dir = gold_dir();
	char cnf[512], key[512], cert[512], line[128], hp[64], *got = NULL;
	/* Ed25519: fixed-size signatures, so fixed handshake sizes */
	const char *req[] = { "openssl", "req", "-x509", "-config", cnf,
			      "-newkey", "ed25519", "-nodes",
			      "-keyout", key, "-out", cert,
			      "-days", "3650", "-set_serial", "1", NULL };
	/* -rev: the server never reads its stdin; no TLS 1.3 tickets */
	const char *srv[] = { "openssl", "s_server",
			      "-accept", "127.0.0.1:0",
			      "-cert", cert, "-key", key,
			      "-alpn", "http/1.1", "-naccept", "2",
			      "-num_tickets", "0", "-rev", NULL };
	/* the offer is pinned so the ClientHello is the same everywhere;
	 * the last slot but one takes -tls1_2 for the second run */
	const char *cli[] = { "openssl", "s_client", "-connect", hp,
			      "-servername", "example.test",
			      "-alpn", "h2,http/1.1",
			      "-groups", "x25519:secp256r1",
			      "-ciphersuites", "TLS_AES_128_GCM_SHA256:"
					       "TLS_CHACHA20_POLY1305_SHA256",
			      "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256",
			      NULL, NULL };
	const char *p;
	pid_t pid;
	int rc, port;

	need("openssl", "openssl");
	snprintf(cnf, sizeof(cnf), "%s/req.cnf", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	cr_assert_eq(gold_write(cnf, tls_cnf, sizeof(tls_cnf) - 1), 0);
	rc = gold_run(req, NULL, gold_path(dir, "req.out"),
		      gold_path(dir, "req.err"), 20000);
	cr_assert_eq(rc, 0, "openssl req failed (%d)", rc);

	pid = gold_server(srv, gold_path(dir, "srv.out"),
			  gold_path(dir, "srv.err"));
	cr_assert_gt(pid, 0);
	cr_assert_eq(gold_wait_line(gold_path(dir, "srv.out"),
				    "ACCEPT 127.0.0.1:", line, sizeof(line),
				    pid, 15000), 0,
		     "openssl s_server did not start");
	p = strstr(line, "127.0.0.1:");
	cr_assert(p && sscanf(p, "127.0.0.1:%d", &port) == 1, "%s", line);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);

	gold_trace("tls13", cli, NULL);
	cli[sizeof(cli) / sizeof(cli[0]) - 2] = "-tls1_2";
	gold_trace("tls12", cli, NULL);
	rc = gold_server_wait(pid, 10000);
	cr_assert_eq(rc, 0, "openssl s_server did not finish both "
		     "handshakes (%d)", rc);

	collect(&got, "tls13", NULL, 0);
	collect(&got, "tls12", NULL, 0);
	gold_check("tls", got);
	free(got);
}
