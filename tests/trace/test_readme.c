/*
 * README's examples are true: the demo's output block is compared with a
 * real run of the same command, numbers (pids, ports, inodes, times)
 * masked, every line of the block required to appear.
 */
#include <ctype.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "trace/runner.h"

/* Digits runs become one '#', runs of spaces one space. */
static char *mask(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i])) {
			while (i + 1 < n && isdigit((unsigned char)s[i + 1]))
				i++;
			*o++ = '#';
		} else if (s[i] == ' ') {
			while (i + 1 < n && s[i + 1] == ' ')
				i++;
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

Test(readme, demo_output_is_what_socktap_prints, .timeout = 60)
{
	char *readme = st_slurp(ST_SOURCE_DIR "/README.md", NULL);
	char *argv[] = { ST_BIN, "-s", "40", "--",
			 (char *)st_sample("st_demo"), NULL };
	struct st_run r;
	const char *block, *end, *line;
	char *got;
	int checked = 0;

	cr_assert_not_null(readme);
	block = strstr(readme, "<!-- demo-output");
	cr_assert_not_null(block, "README lost its demo block");
	block = strstr(block, "```\n");
	cr_assert_not_null(block);
	block += 4;
	end = strstr(block, "```");
	cr_assert_not_null(end);
	cr_assert_eq(st_run(argv, &r), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	got = mask(r.err, strlen(r.err));
	for (line = block; line < end; ) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
		char *want = mask(line, len);

		cr_assert(strstr(got, want), "README line not printed:\n%s\n"
			  "in:\n%s", want, got);
		free(want);
		checked++;
		line = nl ? nl + 1 : end;
	}
	cr_assert_gt(checked, 10);
	free(got);
	free(readme);
	st_run_free(&r);
}
