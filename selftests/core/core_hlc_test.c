// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/core/hlc.c, the HLC rules shared by gnomon.ko and
 * libgnomon.  Each case states the rule from Kulkarni et al. it checks; the
 * expected values are derived by hand from the rule, not from the code.
 */
#include "../ktap.h"
#include "gnomon_core.h"

static struct gnomon_hlc ts(__u64 wall, __u32 logical)
{
	struct gnomon_hlc t = { .wall_ns = wall, .logical = logical };

	return t;
}

#define EXPECT_HLC(t, got, w, l)					\
	KTAP_EXPECT(t, (got).wall_ns == (w) && (got).logical == (l),	\
		    "got %llu.%u, want %llu.%u",			\
		    (unsigned long long)(got).wall_ns, (got).logical,	\
		    (unsigned long long)(w), (unsigned)(l))

KTAP_TEST(tick_takes_physical_time_when_ahead)
{
	struct gnomon_hlc c = ts(100, 7);

	gnomon_hlc_tick(&c, 200);
	EXPECT_HLC(t, c, 200ULL, 0);
}

KTAP_TEST(tick_counts_when_physical_time_stalls_or_goes_back)
{
	struct gnomon_hlc c = ts(100, 7);

	gnomon_hlc_tick(&c, 100);
	EXPECT_HLC(t, c, 100ULL, 8);
	gnomon_hlc_tick(&c, 50);	/* wall clock stepped back */
	EXPECT_HLC(t, c, 100ULL, 9);
}

KTAP_TEST(update_all_three_equal_takes_max_logical_plus_one)
{
	struct gnomon_hlc c = ts(100, 3), m = ts(100, 9);

	KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, 100, ~0ULL) == 0, "update failed");
	EXPECT_HLC(t, c, 100ULL, 10);
}

KTAP_TEST(update_local_wall_wins)
{
	struct gnomon_hlc c = ts(300, 3), m = ts(100, 9);

	KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, 200, ~0ULL) == 0, "update failed");
	EXPECT_HLC(t, c, 300ULL, 4);
}

KTAP_TEST(update_remote_wall_wins)
{
	struct gnomon_hlc c = ts(100, 3), m = ts(300, 9);

	KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, 200, ~0ULL) == 0, "update failed");
	EXPECT_HLC(t, c, 300ULL, 10);
}

KTAP_TEST(update_physical_time_wins)
{
	struct gnomon_hlc c = ts(100, 3), m = ts(150, 9);

	KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, 400, ~0ULL) == 0, "update failed");
	EXPECT_HLC(t, c, 400ULL, 0);
}

KTAP_TEST(update_rejects_remote_beyond_max_wall)
{
	struct gnomon_hlc c = ts(100, 3), m = ts(1001, 0);

	KTAP_EXPECT(t, gnomon_hlc_update(&c, &m, 100, 1000) == -ERANGE,
		    "a remote wall past max_wall must be -ERANGE");
	EXPECT_HLC(t, c, 100ULL, 3);	/* untouched */
	m.wall_ns = 1000;
	KTAP_EXPECT(t, gnomon_hlc_update(&c, &m, 100, 1000) == 0,
		    "a remote wall at max_wall is accepted");
	EXPECT_HLC(t, c, 1000ULL, 1);
}

KTAP_TEST(logical_overflow_borrows_a_nanosecond)
{
	struct gnomon_hlc c = ts(100, 0xffffffffU), m = ts(100, 0xffffffffU);
	struct gnomon_hlc before = c;

	gnomon_hlc_tick(&c, 100);
	EXPECT_HLC(t, c, 101ULL, 0);
	KTAP_EXPECT(t, gnomon_hlc_compare(&before, &c) < 0, "order lost on overflow");

	c = ts(100, 5);
	KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, 100, ~0ULL) == 0, "update failed");
	EXPECT_HLC(t, c, 101ULL, 0);
}

KTAP_TEST(max_wall_uses_latest_or_realtime_when_unbounded)
{
	struct gnomon_tt now = { .earliest_ns = 900, .latest_ns = 1100,
				 .bound_ns = 100, .realtime_ns = 1000 };

	KTAP_EXPECT(t, gnomon_hlc_max_wall(&now, 50) == 1150, "bounded: latest + offset");
	now.bound_ns = GNOMON_BOUND_INFINITE;
	now.latest_ns = ~0ULL;
	KTAP_EXPECT(t, gnomon_hlc_max_wall(&now, 50) == 1050, "unbounded: realtime + offset");
	now.realtime_ns = ~0ULL - 10;
	KTAP_EXPECT(t, gnomon_hlc_max_wall(&now, 50) == ~0ULL, "saturates");
}

/* A random walk of events never produces a timestamp that is not after the
 * previous one, whatever the physical clock does. */
KTAP_TEST(random_events_are_strictly_increasing)
{
	struct gnomon_hlc c = ts(0, 0), prev = c, m;
	unsigned int seed = 12345;
	__u64 pt = 1000000;

	for (int i = 0; i < 1000000; i++) {
		seed = seed * 1103515245 + 12345;
		pt += (seed >> 8) % 3 == 0 ? 0 : (seed >> 4) % 1000;
		if ((seed >> 12) % 50 == 0)
			pt -= pt > 5000 ? 5000 : 0;	/* steps back */
		if ((seed >> 16) & 1) {
			gnomon_hlc_tick(&c, pt);
		} else {
			m = ts(pt + (seed >> 20) % 3000 - 1500, (seed >> 3) & 0xff);
			KTAP_ASSERT(t, gnomon_hlc_update(&c, &m, pt, ~0ULL) == 0,
				    "update failed");
			KTAP_ASSERT(t, gnomon_hlc_compare(&m, &c) < 0,
				    "event %d not after the message it received", i);
		}
		KTAP_ASSERT(t, gnomon_hlc_compare(&prev, &c) < 0,
			    "event %d: %llu.%u not after %llu.%u", i,
			    (unsigned long long)c.wall_ns, c.logical,
			    (unsigned long long)prev.wall_ns, prev.logical);
		prev = c;
	}
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
