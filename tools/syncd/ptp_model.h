/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The error model for ptp4l: what its management data sets and an optional
 * PHC-to-system-clock reading say about CLOCK_REALTIME.  Pure: the caller
 * queries ptp4l and the PHC and passes the answers in.
 */
#ifndef GNOMON_SYNCD_PTP_MODEL_H
#define GNOMON_SYNCD_PTP_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/gnomon.h>

#include "pmc_codec.h"

struct ptp_observation {
	struct pmc_time_status time_status;	/* TIME_STATUS_NP */
	struct pmc_current_ds current;		/* CURRENT_DATA_SET */
	uint8_t port_state;			/* best of PORT_DATA_SET */
	bool have_phc;
	int64_t phc_offset_ns;	/* PHC - CLOCK_REALTIME, timescale corrected */
	uint64_t phc_window_ns;	/* width of the system-clock read window */
	int64_t clock_now_ns;	/* ptp4l's clock now (realtime or PHC) */
	uint64_t mono_ns;	/* CLOCK_MONOTONIC at clock_now_ns */
};

/* < 0: allow the mean path delay as asymmetry (the worst case). */
struct ptp_model_params {
	int64_t asymmetry_ns;
};

/* The better of two port states, for a clock with several ports. */
uint8_t ptp_model__best_state(uint8_t a, uint8_t b);

/*
 * Fill error_ns, as_of_ns, flags and source of *d.  Returns 0; *why (if not
 * NULL) says why the update is flagged unsynchronised.
 */
int ptp_model__assess(const struct ptp_observation *obs,
		      const struct ptp_model_params *params,
		      struct gnomon_discipline *d, const char **why);

#endif /* GNOMON_SYNCD_PTP_MODEL_H */
