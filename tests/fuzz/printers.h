/* The printers' fuzz harness: shared by libFuzzer and the gcc replay. */
#ifndef SOCKTAP_FUZZ_PRINTERS_H
#define SOCKTAP_FUZZ_PRINTERS_H

#include <stddef.h>
#include <stdint.h>

/* Feeds data to one printer (chosen by its first byte); aborts when a
 * printer lets a raw control byte through.  Returns 0. */
int st_fuzz_printers(const uint8_t *data, size_t n);

#endif
