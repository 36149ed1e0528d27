/*
 * The printers' fuzz harness under gcc: the corpus (and any crash inputs
 * saved next to it), then 20,000 pseudo-random inputs from a fixed seed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/printers.h"

Test(printers, corpus_replays)
{
	const char *dir = ST_SOURCE_DIR "/tests/fuzz/corpus/printers";
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		char path[1024];
		uint8_t buf[65536];
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		cr_assert_not_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		st_fuzz_printers(buf, n);
		files++;
	}
	closedir(d);
	cr_assert_gt(files, 3);
}

Test(printers, random_inputs)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[600];

	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % (int)sizeof(buf));

		for (size_t k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[k] = (uint8_t)x;
		}
		if (n)
			buf[0] = (uint8_t)(i % 4);
		st_fuzz_printers(buf, n);
	}
}
