// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libgnomon without the kernel device: per-process HLC, commit-wait by
 * sleeping, and TT.now() from the kernel's NTP state.
 *
 * adjtimex(2) reports maxerror, which the kernel grows by 500 ppm every
 * second on its own and which chrony resets to root_delay/2 +
 * root_dispersion at each update: it is already a bound, so it is used as
 * the measured error "as of now" and run through gnomon_tt_compute like a
 * page would be.  STA_UNSYNC (or TIME_ERROR) means no bound at all.
 */
#include <errno.h>
#include <sys/timex.h>

#include "client_internal.h"

/* While the interval is void, re-check at least this often. */
#define FALLBACK_WAIT_POLL_NS	(100 * 1000 * 1000ULL)

int gnomon_fallback_now(struct gnomon_tt *now)
{
	struct gnomon_page snap = { 0 };
	struct timex tx = { 0 };
	uint64_t mono, real;
	int state;

	state = adjtimex(&tx);
	if (state < 0)
		return -errno;
	gnomon_clock_pair(&mono, &real);

	gnomon_page_init(&snap);
	snap.flags = GNOMON_PAGE_DISCIPLINED;
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC))
		snap.flags |= GNOMON_PAGE_UNSYNC;
	snap.source = GNOMON_SOURCE_NTP;
	snap.as_of_mono_ns = mono;
	snap.as_of_real_ns = real;
	snap.error_ns = (uint64_t)(tx.maxerror > 0 ? tx.maxerror : 0) * 1000;
	snap.interval_ns = GNOMON_NSEC_PER_SEC;
	gnomon_tt_compute(&snap, mono, real, now);
	return 0;
}

int gnomon_fallback_hlc_tick(struct gnomon_client *c, uint64_t physical_ns,
			     struct gnomon_hlc *ts)
{
	pthread_mutex_lock(&c->hlc_lock);
	gnomon_hlc_tick(&c->hlc, physical_ns);
	*ts = c->hlc;
	pthread_mutex_unlock(&c->hlc_lock);
	return 0;
}

int gnomon_fallback_hlc_update(struct gnomon_client *c,
			       const struct gnomon_hlc *remote,
			       uint64_t physical_ns, uint64_t max_wall_ns,
			       struct gnomon_hlc *ts)
{
	int err;

	pthread_mutex_lock(&c->hlc_lock);
	err = gnomon_hlc_update(&c->hlc, remote, physical_ns, max_wall_ns);
	if (!err)
		*ts = c->hlc;
	pthread_mutex_unlock(&c->hlc_lock);
	return err;
}

int gnomon_fallback_wait_until(struct gnomon_client *c, uint64_t until_ns,
			       uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns ? gnomon_clock_ns(CLOCK_MONOTONIC) + timeout_ns : 0;

	for (;;) {
		struct gnomon_tt now;
		struct timespec ts;
		uint64_t sleep_ns, mono;
		int err = gnomon_client__now(c, &now);

		if (err)
			return err;
		if (now.bound_ns != GNOMON_BOUND_INFINITE && now.earliest_ns > until_ns)
			return 0;
		mono = gnomon_clock_ns(CLOCK_MONOTONIC);
		if (deadline && mono >= deadline)
			return -ETIMEDOUT;
		if (now.bound_ns == GNOMON_BOUND_INFINITE)
			sleep_ns = FALLBACK_WAIT_POLL_NS;
		else
			sleep_ns = until_ns - now.earliest_ns + 1;
		if (deadline && sleep_ns > deadline - mono)
			sleep_ns = deadline - mono;
		ts.tv_sec = (time_t)(sleep_ns / GNOMON_NSEC_PER_SEC);
		ts.tv_nsec = (long)(sleep_ns % GNOMON_NSEC_PER_SEC);
		err = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		if (err == EINTR)
			return -EINTR;
	}
}
