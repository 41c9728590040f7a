/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The error model for chrony and ntpd, which both publish their state
 * through the kernel's NTP variables (adjtimex(2)).  Pure: the caller reads
 * adjtimex and the clocks and passes the values in.
 */
#ifndef GNOMON_SYNCD_NTP_MODEL_H
#define GNOMON_SYNCD_NTP_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/gnomon.h>

struct ntp_reading {
	int state;		/* adjtimex's return value: TIME_OK ... TIME_ERROR */
	int status;		/* struct timex.status: STA_* */
	long maxerror_us;	/* struct timex.maxerror */
	long esterror_us;	/* struct timex.esterror (logged, not trusted) */
	long offset;		/* struct timex.offset: remaining PLL correction */
	uint64_t mono_ns;	/* CLOCK_MONOTONIC right after adjtimex */
	uint64_t real_ns;	/* CLOCK_REALTIME right after that */
};

/* What the model remembers between polls: realtime - monotonic, which only
 * a step changes. */
struct ntp_tracker {
	bool have_prev;
	int64_t prev_real_minus_mono;
};

/*
 * Turn one reading into a discipline update (error_ns, as_of_ns, flags,
 * source; interval and drift are the caller's).  Returns 0, or -EINVAL for
 * a reading that cannot come from the kernel (negative maxerror).
 */
int ntp_model__assess(struct ntp_tracker *tracker, const struct ntp_reading *r,
		      struct gnomon_discipline *d);

#endif /* GNOMON_SYNCD_NTP_MODEL_H */
