/* libFuzzer entry for the printers (clang, -DSOCKTAP_FUZZ=ON). */
#include "fuzz/printers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return st_fuzz_printers(data, size);
}
