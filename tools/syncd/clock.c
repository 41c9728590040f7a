// SPDX-License-Identifier: GPL-2.0
/* The two clocks every discipline update is built on, in nanoseconds. */
#include <assert.h>
#include <time.h>

#include "syncd.h"

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;
	int ret = clock_gettime(id, &ts);

	assert(ret == 0);
	(void)ret;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t syncd_mono_ns(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

uint64_t syncd_real_ns(void)
{
	return read_clock(CLOCK_REALTIME);
}
