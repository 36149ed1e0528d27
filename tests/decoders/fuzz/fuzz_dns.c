/* libFuzzer target: the dns decoder through the session API. */
#include <stdio.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];

	if (st_fuzz_one("dns", data, size, why, sizeof(why)) < 0) {
		fprintf(stderr, "invariant broken: %s\n", why);
		__builtin_trap();
	}
	return 0;
}
