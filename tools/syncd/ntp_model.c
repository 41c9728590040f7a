// SPDX-License-Identifier: GPL-2.0
/*
 * chrony / ntpd error model.
 *
 *	error = maxerror + |offset|
 *
 * maxerror is the kernel's maximum error: chrony sets it to
 * root_delay / 2 + root_dispersion at each clock update and the kernel adds
 * 500 us every second after that, so it is a bound "as of now", not as of the
 * last update.  |offset| is the correction ntpd's kernel PLL has still to
 * slew in (chrony slews through the frequency and leaves it at zero).
 * esterror is a statistical estimate (offset_sd), not a bound: it is only
 * logged.
 *
 * The source is unsynchronised when the kernel says so: STA_UNSYNC in status
 * (set by the daemon when it loses its sources, and by the kernel once
 * maxerror passes 16 s) or TIME_ERROR from adjtimex.
 *
 * A step (settimeofday, ADJ_SETOFFSET, chrony's makestep) changes
 * realtime - monotonic, which slewing never does; the first update after a
 * step is flagged GNOMON_DISC_DISRUPTED, once.
 */
#include <assert.h>
#include <errno.h>
#include <sys/timex.h>

#include "gnomon_core.h"
#include "ntp_model.h"

static uint64_t abs64(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

static uint64_t clamp_error(uint64_t ns)
{
	return ns > GNOMON_MAX_ERROR_NS ? GNOMON_MAX_ERROR_NS : ns;
}

int ntp_model__assess(struct ntp_tracker *tracker, const struct ntp_reading *r,
		      struct gnomon_discipline *d)
{
	int64_t real_minus_mono = (int64_t)(r->real_ns - r->mono_ns);
	uint64_t offset_ns, error_ns;

	if (r->maxerror_us < 0)
		return -EINVAL;

	/* Both terms are clamped before scaling, so nothing can overflow. */
	offset_ns = clamp_error(abs64(r->offset));
	if (!(r->status & STA_NANO))
		offset_ns *= 1000;
	error_ns = clamp_error((uint64_t)r->maxerror_us) * 1000 + offset_ns;
	error_ns = clamp_error(error_ns);

	d->error_ns = error_ns;
	d->as_of_ns = r->mono_ns;
	d->source = GNOMON_SOURCE_NTP;
	d->flags = 0;
	if ((r->status & STA_UNSYNC) || r->state == TIME_ERROR)
		d->flags |= GNOMON_DISC_UNSYNC;
	if (tracker->have_prev &&
	    abs64(real_minus_mono - tracker->prev_real_minus_mono) >
	    GNOMON_STEP_SLACK_NS)
		d->flags |= GNOMON_DISC_DISRUPTED;
	assert(d->error_ns <= GNOMON_MAX_ERROR_NS);
	tracker->have_prev = true;
	tracker->prev_real_minus_mono = real_minus_mono;
	return 0;
}
