// SPDX-License-Identifier: GPL-2.0
/*
 * ptp4l error model.
 *
 *	error = |offset from master|
 *	      + asymmetry allowance
 *	      + |PHC - system clock| + read window / 2	(with --phc only)
 *
 * offset from master: the larger of TIME_STATUS_NP.master_offset and
 *	CURRENT_DATA_SET.offsetFromMaster, the last measured offset of ptp4l's
 *	clock from the master, before the servo corrected it.
 * asymmetry allowance: PTP computes the offset assuming the path delay is
 *	the same both ways; if it is not, the offset is wrong by half the
 *	difference, which is at most the mean path delay itself (all of the
 *	round trip in one direction).  That worst case is the default; a link
 *	known to be symmetric can declare a smaller allowance.
 * PHC term: with hardware timestamping ptp4l disciplines the NIC's PHC and
 *	phc2sys disciplines CLOCK_REALTIME from it; the residual between the
 *	two, read with PTP_SYS_OFFSET_EXTENDED, adds to the error, and so does
 *	half the read window, since the PHC was read somewhere inside it.
 *
 * The measurement is as of the last Sync's ingress (TIME_STATUS_NP
 * .ingress_time, in ptp4l's clock), so the bound starts growing from there.
 *
 * Unsynchronised unless a port is SLAVE with a sync received, or the clock
 * is the grandmaster (a MASTER port and gmPresent false), whose time is the
 * domain's reference: its own error against UTC comes from whatever
 * disciplines it and is not visible to ptp4l.
 */
#include <assert.h>
#include <stddef.h>

#include "gnomon_core.h"
#include "ptp_model.h"

static uint64_t abs64(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Scaled nanoseconds (ns * 2^16) to ns, rounding away from zero. */
static uint64_t scaled_abs_ns(int64_t scaled)
{
	uint64_t a = abs64(scaled);

	return (a >> 16) + ((a & 0xffff) ? 1 : 0);
}

static int state_rank(uint8_t state)
{
	switch (state) {
	case PMC_PS_SLAVE:
		return 3;
	case PMC_PS_MASTER:
		return 2;
	case PMC_PS_UNCALIBRATED:
		return 1;
	}
	return 0;
}

uint8_t ptp_model__best_state(uint8_t a, uint8_t b)
{
	return state_rank(b) > state_rank(a) ? b : a;
}

static bool is_grandmaster(const struct ptp_observation *obs)
{
	return obs->port_state == PMC_PS_MASTER && !obs->time_status.gm_present;
}

static const char *unsync_reason(const struct ptp_observation *obs)
{
	if (is_grandmaster(obs))
		return NULL;
	if (obs->port_state != PMC_PS_SLAVE)
		return "no port is SLAVE";
	if (!obs->time_status.gm_present)
		return "no grandmaster present";
	if (!obs->time_status.ingress_time_ns)
		return "no Sync received yet";
	return NULL;
}

static uint64_t measurement_as_of(const struct ptp_observation *obs)
{
	int64_t age;

	if (is_grandmaster(obs) || !obs->time_status.ingress_time_ns)
		return obs->mono_ns;
	age = obs->clock_now_ns - obs->time_status.ingress_time_ns;
	/* A Sync from the future (another timescale): take it as fresh. */
	if (age <= 0)
		return obs->mono_ns;
	if ((uint64_t)age >= obs->mono_ns)
		return 1;
	return obs->mono_ns - (uint64_t)age;
}

int ptp_model__assess(const struct ptp_observation *obs,
		      const struct ptp_model_params *params,
		      struct gnomon_discipline *d, const char **why)
{
	const char *reason = unsync_reason(obs);
	uint64_t offset, asym, error = 0;

	if (!is_grandmaster(obs)) {
		offset = abs64(obs->time_status.master_offset_ns);
		if (scaled_abs_ns(obs->current.offset_scaled) > offset)
			offset = scaled_abs_ns(obs->current.offset_scaled);
		asym = params->asymmetry_ns >= 0 ?
		       (uint64_t)params->asymmetry_ns :
		       scaled_abs_ns(obs->current.path_delay_scaled);
		error = sat_add(offset, asym);
	}
	if (obs->have_phc)
		error = sat_add(sat_add(error, abs64(obs->phc_offset_ns)),
				(obs->phc_window_ns + 1) / 2);
	if (error > GNOMON_MAX_ERROR_NS)
		error = GNOMON_MAX_ERROR_NS;

	d->error_ns = error;
	d->as_of_ns = measurement_as_of(obs);
	assert(d->as_of_ns <= obs->mono_ns);
	d->source = GNOMON_SOURCE_PTP;
	d->flags = reason ? GNOMON_DISC_UNSYNC : 0;
	if (why)
		*why = reason;
	return 0;
}
