/* SPDX-License-Identifier: GPL-2.0 */
/* gnomon-syncd's command line. */
#ifndef GNOMON_SYNCD_OPTIONS_H
#define GNOMON_SYNCD_OPTIONS_H

#include "syncd.h"

/* How the agent should act on a parsed command line. */
enum syncd_action {
	SYNCD_RUN,
	SYNCD_EXIT_OK,		/* --help, --version: done */
	SYNCD_EXIT_USAGE,	/* bad command line: reported, exit 2 */
};

/*
 * Parse argv into *opt.  *use_shm tells whether the shared-memory sink was
 * asked for explicitly (--shm); *verbosity counts -v.
 */
enum syncd_action syncd_options__parse(int argc, char **argv,
				       struct syncd_options *opt,
				       bool *use_shm, int *verbosity);

/* Parse "250ms", "2s", "1.5", "100us", "10ns" (bare numbers are seconds). */
int syncd_parse_duration(const char *s, uint64_t *ns);

#endif /* GNOMON_SYNCD_OPTIONS_H */
