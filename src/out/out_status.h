/* The live one-line status shown with -q on a terminal. */
#ifndef SOCKTAP_OUT_STATUS_H
#define SOCKTAP_OUT_STATUS_H

#include <stdio.h>

#include "socktap/model.h"

int st_status_sink_new(FILE *f, struct st_sink *sink);

#endif
