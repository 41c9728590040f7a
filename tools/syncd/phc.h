/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PHC-to-system-clock offset, read with PTP_SYS_OFFSET_EXTENDED: the
 * kernel reads CLOCK_REALTIME, the PHC, CLOCK_REALTIME again, n times; the
 * PHC reading lies somewhere inside each [before, after] window.
 */
#ifndef GNOMON_SYNCD_PHC_H
#define GNOMON_SYNCD_PHC_H

#include <stdint.h>

struct phc_sample {
	int64_t before_ns;	/* CLOCK_REALTIME */
	int64_t phc_ns;
	int64_t after_ns;	/* CLOCK_REALTIME */
};

struct phc_offset {
	int64_t offset_ns;	/* PHC - midpoint of the window */
	uint64_t window_ns;	/* after - before of the sample used */
	int64_t phc_ns;		/* the PHC reading itself */
};

/* Pick the narrowest well-ordered window; -EINVAL if none is. */
int phc_offset__pick(const struct phc_sample *samples, unsigned int n,
		     struct phc_offset *out);

/* Open /dev/ptpN read-only; returns an fd or -errno. */
int phc__open(const char *path);
/* Take n samples (1..25) and pick the best; 0 or -errno. */
int phc__read_offset(int fd, unsigned int n, struct phc_offset *out);

#endif /* GNOMON_SYNCD_PHC_H */
