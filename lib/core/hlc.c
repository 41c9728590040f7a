// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Hybrid logical clock rules (Kulkarni, Demirbas et al., 2014).
 *
 * A timestamp is (l, c): l is the largest physical time seen, c counts events
 * that share that l.  The clock never goes backward even if the physical
 * clock does, stays within the largest clock skew of physical time, and
 * orders every event after its causes.
 *
 * The logical counter is 32 bits.  Should it overflow, the clock borrows one
 * nanosecond from the future (l += 1, c = 0).  Order is kept; the cost is that
 * l may run ahead of physical time by one nanosecond per 2^32 events that
 * share a wall time, which physical time soon overtakes.
 */
#include "gnomon_core.h"

#define GNOMON_HLC_LOGICAL_MAX	0xffffffffU

/* Set clock to (wall, logical + 1), borrowing a nanosecond on overflow. */
static void hlc_set_next(struct gnomon_hlc *clock, __u64 wall, __u32 logical)
{
	if (logical == GNOMON_HLC_LOGICAL_MAX) {
		clock->wall_ns = wall + 1;
		clock->logical = 0;
	} else {
		clock->wall_ns = wall;
		clock->logical = logical + 1;
	}
	clock->__pad = 0;
}

static __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

void gnomon_hlc_tick(struct gnomon_hlc *clock, __u64 physical_ns)
{
	if (physical_ns > clock->wall_ns) {
		clock->wall_ns = physical_ns;
		clock->logical = 0;
		clock->__pad = 0;
		return;
	}
	hlc_set_next(clock, clock->wall_ns, clock->logical);
}

int gnomon_hlc_update(struct gnomon_hlc *clock, const struct gnomon_hlc *msg,
		      __u64 physical_ns, __u64 max_wall_ns)
{
	__u64 old = clock->wall_ns;
	__u64 wall;

	if (msg->wall_ns > max_wall_ns)
		return -ERANGE;

	wall = max_u64(max_u64(old, msg->wall_ns), physical_ns);
	if (wall == old && wall == msg->wall_ns) {
		__u32 c = clock->logical > msg->logical ? clock->logical
							: msg->logical;
		hlc_set_next(clock, wall, c);
	} else if (wall == old) {
		hlc_set_next(clock, wall, clock->logical);
	} else if (wall == msg->wall_ns) {
		hlc_set_next(clock, wall, msg->logical);
	} else {
		clock->wall_ns = wall;
		clock->logical = 0;
		clock->__pad = 0;
	}
	return 0;
}

int gnomon_hlc_compare(const struct gnomon_hlc *a, const struct gnomon_hlc *b)
{
	if (a->wall_ns != b->wall_ns)
		return a->wall_ns < b->wall_ns ? -1 : 1;
	if (a->logical != b->logical)
		return a->logical < b->logical ? -1 : 1;
	return 0;
}

__u64 gnomon_hlc_max_wall(const struct gnomon_tt *now, __u64 max_offset_ns)
{
	/* With no trustworthy interval, fall back to the local reading. */
	__u64 base = now->bound_ns == GNOMON_BOUND_INFINITE ? now->realtime_ns
							    : now->latest_ns;

	if (base > GNOMON_U64_MAX - max_offset_ns)
		return GNOMON_U64_MAX;
	return base + max_offset_ns;
}
