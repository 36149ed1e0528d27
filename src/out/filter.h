/* -F EXPR: which conversations are recorded, by a pcap-filter(7). */
#ifndef SOCKTAP_FILTER_H
#define SOCKTAP_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "socktap/model.h"

struct st_filter;

/* Compiles expr; a bad one gives -EINVAL and libpcap's reason in err. */
int st_filter_new(const char *expr, struct st_filter **out, char *err,
		  size_t errlen);
void st_filter_free(struct st_filter *f);
/* Would a packet of this conversation, either way, match?  Non-IP
 * conversations are judged on synth_a/synth_b (their pcap addresses). */
bool st_filter_match(const struct st_filter *f, const struct st_conv *c,
		     const struct st_endpoint *synth_a,
		     const struct st_endpoint *synth_b);

#endif
