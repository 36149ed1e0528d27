/* The decoder fuzz harness, shared by libFuzzer targets and the replay. */
#ifndef ST_FUZZ_HARNESS_H
#define ST_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/dec_util.h"

/*
 * Runs one input through a decoding session with the --decode spec
 * given.  Input: a config byte (bit0 datagrams, bit1 B is the client,
 * bits 2-7 chunking seed: 0 keeps segments whole), then segments of a
 * flags byte (bit0 direction, bit1 gap, bit2 FIN after, bit3 truncated
 * datagram, bit4 a datagram's part), a 2-byte big-endian length and the
 * bytes (a short last segment takes what is left).  Records go to log
 * (rendered as text and checked).  Returns 0, or -1 when a record broke an invariant
 * (log->why says which) or the spec is bad.
 */
int st_fuzz_run(const char *spec, const uint8_t *data, size_t size,
		struct rec_log *log, const char **name, bool *fell_back);

/* st_fuzz_run without keeping anything; why gets the reason of -1. */
int st_fuzz_one(const char *spec, const uint8_t *data, size_t size,
		char *why, size_t wlen);

#endif
