/* SPDX-License-Identifier: GPL-2.0 */
/* gnomonctl: what the command parser shares with the output formatter. */
#ifndef GNOMONCTL_H
#define GNOMONCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "gnomon.h"

#define EXIT_USAGE	2

struct ctl {
	struct gnomon_client *client;
	bool json;
};

void print_now(const struct ctl *ctl, const struct gnomon_tt *tt,
	       const struct gnomon_hlc *hlc);
void print_status(const struct ctl *ctl, const struct gnomon_tt *tt,
		  const struct gnomon_config *cfg);
void print_hlc(const struct ctl *ctl, const struct gnomon_hlc *ts);
void print_waited(const struct ctl *ctl, uint64_t until_ns,
		  const struct gnomon_tt *tt);
void print_config(const struct ctl *ctl, const struct gnomon_config *cfg);
/* S as a JSON string, quoted and escaped. */
void json_string(const char *s);

/* A usage error: the message on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
/* gnomonctl lease ... (lease.c); argv[0] is "lease". */
int cmd_lease(const struct ctl *ctl, int argc, char **argv);
/* gnomonctl monitor ... (monitor.c, libnl-genl-3); argv[0] is "monitor". */
int cmd_monitor(const struct ctl *ctl, int argc, char **argv);

/* fence_pr.c: gnomonctl fence pr ... */
int cmd_fence(struct ctl *ctl, int argc, char **argv);

#endif /* GNOMONCTL_H */
