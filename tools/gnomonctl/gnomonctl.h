/* SPDX-License-Identifier: GPL-2.0 */
/* gnomonctl: what the command parser shares with the output formatter. */
#ifndef GNOMONCTL_H
#define GNOMONCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "gnomon.h"

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

#endif /* GNOMONCTL_H */
