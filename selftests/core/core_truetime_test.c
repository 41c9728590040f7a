// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/core/truetime.c: the bound model, the status machine,
 * step detection, input checks and the page seqcount, shared by gnomon.ko
 * and libgnomon.  Clocks are synthetic, so every expectation is exact.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "../ktap.h"
#include "gnomon_core.h"

#define SEC	1000000000ULL
#define MS	1000000ULL
#define T0_MONO	(100 * SEC)
#define T0_REAL	(1700000000 * SEC)

/* A page disciplined at T0 with error 1 ms, 1 s interval, 50 ppm. */
static void disciplined_page(struct gnomon_page *p)
{
	struct gnomon_discipline d = { .error_ns = 1 * MS, .interval_ns = SEC,
				       .source = GNOMON_SOURCE_STATIC };

	*p = (struct gnomon_page){ 0 };
	gnomon_page_init(p);
	gnomon_page_discipline(p, &d, T0_MONO, T0_REAL);
}

static struct gnomon_tt at(const struct gnomon_page *p, __u64 age_ns)
{
	struct gnomon_tt tt;

	gnomon_tt_compute(p, T0_MONO + age_ns, T0_REAL + age_ns, &tt);
	return tt;
}

KTAP_TEST(never_disciplined_is_unsynchronized_and_unbounded)
{
	struct gnomon_page p = { 0 };
	struct gnomon_tt tt;

	gnomon_page_init(&p);
	gnomon_tt_compute(&p, T0_MONO, T0_REAL, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED, "status %u", tt.status);
	KTAP_EXPECT(t, tt.bound_ns == GNOMON_BOUND_INFINITE, "bound must be infinite");
	KTAP_EXPECT(t, tt.earliest_ns == 0 && tt.latest_ns == ~0ULL,
		    "the interval must not pretend to be narrow");
}

KTAP_TEST(bound_grows_by_drift_since_the_update)
{
	struct gnomon_page p;
	struct gnomon_tt tt;

	disciplined_page(&p);
	tt = at(&p, 0);
	KTAP_EXPECT(t, tt.bound_ns == 1 * MS, "fresh bound %llu", (unsigned long long)tt.bound_ns);
	/* 50 ppm for 2 s = 100 us. */
	tt = at(&p, 2 * SEC);
	KTAP_EXPECT(t, tt.bound_ns == 1 * MS + 100000, "bound %llu", (unsigned long long)tt.bound_ns);
	KTAP_EXPECT(t, tt.earliest_ns == T0_REAL + 2 * SEC - tt.bound_ns &&
		       tt.latest_ns == T0_REAL + 2 * SEC + tt.bound_ns, "interval");
	/* 0.5 s: 25 us, from the sub-second part of the age. */
	tt = at(&p, SEC / 2);
	KTAP_EXPECT(t, tt.bound_ns == 1 * MS + 25000, "bound %llu", (unsigned long long)tt.bound_ns);
}

KTAP_TEST(status_timeline_synchronized_free_running_unsynchronized)
{
	struct gnomon_page p;
	struct gnomon_tt tt;

	disciplined_page(&p);
	/* Defaults: 4 intervals of 1 s, holdover 1000 s. */
	KTAP_EXPECT(t, at(&p, 4 * SEC).status == GNOMON_STATUS_SYNCHRONIZED, "at 4 s");
	KTAP_EXPECT(t, at(&p, 4 * SEC + 1).status == GNOMON_STATUS_FREE_RUNNING, "after 4 s");
	tt = at(&p, 1000 * SEC);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_FREE_RUNNING &&
		       tt.bound_ns == 1 * MS + 50 * MS, "at holdover: %u %llu",
		    tt.status, (unsigned long long)tt.bound_ns);
	tt = at(&p, 1000 * SEC + 1);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED &&
		       tt.bound_ns == GNOMON_BOUND_INFINITE, "after holdover");
	KTAP_EXPECT(t, gnomon_tt_next_transition(&p) == T0_MONO + 4 * SEC + 1,
		    "next transition %llu", (unsigned long long)gnomon_tt_next_transition(&p));
}

KTAP_TEST(flags_unsync_and_disrupted_void_the_interval)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC };
	struct gnomon_page p;

	disciplined_page(&p);
	d.flags = GNOMON_DISC_DISRUPTED;
	gnomon_page_discipline(&p, &d, T0_MONO + SEC, T0_REAL + SEC);
	KTAP_EXPECT(t, at(&p, SEC).status == GNOMON_STATUS_DISRUPTED, "disrupted");
	KTAP_EXPECT(t, at(&p, SEC).bound_ns == GNOMON_BOUND_INFINITE, "void");
	d.flags = GNOMON_DISC_UNSYNC;
	gnomon_page_discipline(&p, &d, T0_MONO + 2 * SEC, T0_REAL + 2 * SEC);
	KTAP_EXPECT(t, at(&p, 2 * SEC).status == GNOMON_STATUS_UNSYNCHRONIZED, "unsync");
	d.flags = 0;
	gnomon_page_discipline(&p, &d, T0_MONO + 3 * SEC, T0_REAL + 3 * SEC);
	KTAP_EXPECT(t, at(&p, 3 * SEC).status == GNOMON_STATUS_SYNCHRONIZED, "recovers");
}

KTAP_TEST(a_clock_step_is_detected_either_way)
{
	struct gnomon_page p;
	struct gnomon_tt tt;

	disciplined_page(&p);
	gnomon_tt_compute(&p, T0_MONO + SEC, T0_REAL + SEC + MS / 2, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_SYNCHRONIZED, "0.5 ms is within slack");
	gnomon_tt_compute(&p, T0_MONO + SEC, T0_REAL + SEC + 2 * MS, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
		       (tt.flags & GNOMON_TT_STEP_DETECTED), "forward step");
	gnomon_tt_compute(&p, T0_MONO + SEC, T0_REAL - 3600 * SEC, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
		       (tt.flags & GNOMON_TT_STEP_DETECTED), "backward step");
	KTAP_EXPECT(t, tt.bound_ns == GNOMON_BOUND_INFINITE, "void after a step");
}

KTAP_TEST(a_marked_step_disrupts_until_the_next_update)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC };
	struct gnomon_page p;
	struct gnomon_tt tt;

	disciplined_page(&p);
	gnomon_page_mark_stepped(&p);
	tt = at(&p, SEC);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
		       (tt.flags & GNOMON_TT_STEP_DETECTED), "stepped page: %u", tt.status);
	KTAP_EXPECT(t, gnomon_tt_next_transition(&p) == ~0ULL, "no timed transition");
	gnomon_page_discipline(&p, &d, T0_MONO + 2 * SEC, T0_REAL + 2 * SEC);
	KTAP_EXPECT(t, at(&p, 2 * SEC).status == GNOMON_STATUS_SYNCHRONIZED, "recovers");
}

KTAP_TEST(realtime_only_reading_matches_the_two_clock_reading)
{
	struct gnomon_page p;
	struct gnomon_tt a, b;

	disciplined_page(&p);
	p.flags |= GNOMON_PAGE_STEP_WATCH;
	for (__u64 age = 0; age < 2000 * SEC; age += 7 * SEC + 12345) {
		gnomon_tt_compute(&p, T0_MONO + age, T0_REAL + age, &a);
		gnomon_tt_compute_realtime(&p, T0_REAL + age, &b);
		KTAP_ASSERT(t, a.status == b.status && a.bound_ns == b.bound_ns &&
			       a.earliest_ns == b.earliest_ns, "differ at age %llu",
			    (unsigned long long)age);
	}
	/* A reading before the update can only be an unflagged step back. */
	gnomon_tt_compute_realtime(&p, T0_REAL - 10 * SEC, &b);
	KTAP_EXPECT(t, b.status == GNOMON_STATUS_DISRUPTED &&
		       (b.flags & GNOMON_TT_STEP_DETECTED), "step back: %u", b.status);
	/* The writer keeps STEP_WATCH across updates. */
	disciplined_page(&p);
	p.flags |= GNOMON_PAGE_STEP_WATCH;
	gnomon_page_discipline(&p, &(struct gnomon_discipline){ .error_ns = MS, .interval_ns = SEC },
			       T0_MONO + SEC, T0_REAL + SEC);
	KTAP_EXPECT(t, p.flags & GNOMON_PAGE_STEP_WATCH, "STEP_WATCH lost");
}

KTAP_TEST(as_of_in_the_past_ages_the_bound_from_the_measurement)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC,
				       .as_of_ns = T0_MONO - 10 * SEC };
	struct gnomon_page p = { 0 };
	struct gnomon_tt tt;

	gnomon_page_init(&p);
	KTAP_ASSERT(t, gnomon_discipline_check(&p, &d, T0_MONO) == 0, "check");
	gnomon_page_discipline(&p, &d, T0_MONO, T0_REAL);
	gnomon_tt_compute(&p, T0_MONO, T0_REAL, &tt);
	/* 10 s at 50 ppm = 500 us. */
	KTAP_EXPECT(t, tt.bound_ns == MS + 500000, "bound %llu", (unsigned long long)tt.bound_ns);
	KTAP_EXPECT(t, p.as_of_real_ns == T0_REAL - 10 * SEC, "as_of_real");
}

KTAP_TEST(discipline_check_rejects_bad_updates)
{
	struct gnomon_discipline good = { .error_ns = MS, .interval_ns = SEC };
	struct gnomon_discipline d;
	struct gnomon_page p;

	disciplined_page(&p);
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &good, T0_MONO + SEC) == 0, "good");
	d = good; d.__pad = 1;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "pad");
	d = good; d.flags = 1U << 7;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "flags");
	d = good; d.interval_ns = 0;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "interval 0");
	d = good; d.source = 99;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "source");
	d = good; d.drift_ppb = GNOMON_MAX_DRIFT_PPB + 1;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "drift");
	d = good; d.error_ns = GNOMON_MAX_ERROR_NS + 1;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "error");
	d = good; d.as_of_ns = T0_MONO + 2 * SEC;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL, "future");
	d = good; d.as_of_ns = T0_MONO - 1;
	KTAP_EXPECT(t, gnomon_discipline_check(&p, &d, T0_MONO + SEC) == -EINVAL,
		    "older than the current update");
}

KTAP_TEST(config_check_and_zero_keeps_value)
{
	struct gnomon_config c = { .holdover_ns = 5 * SEC };
	struct gnomon_config got;
	struct gnomon_page p;

	disciplined_page(&p);
	KTAP_ASSERT(t, gnomon_config_check(&c) == 0, "valid");
	gnomon_page_configure(&p, &c);
	memset(&got, 0xa5, sizeof(got));
	gnomon_page_get_config(&p, &got);
	KTAP_EXPECT(t, !got.flags && !got.__pad && !got.__reserved[0] && !got.__reserved[1],
		    "reserved fields come back zero");
	KTAP_EXPECT(t, got.holdover_ns == 5 * SEC && got.drift_ppb == GNOMON_DEFAULT_DRIFT_PPB &&
		       got.max_offset_ns == GNOMON_DEFAULT_MAX_OFFSET_NS &&
		       got.freerun_intervals == GNOMON_DEFAULT_FREERUN_INTERVALS, "merged");
	c.drift_ppb = GNOMON_MAX_DRIFT_PPB + 1;
	KTAP_EXPECT(t, gnomon_config_check(&c) == -EINVAL, "drift too large");
	c = (struct gnomon_config){ .freerun_intervals = GNOMON_MAX_FREERUN_INTERVALS + 1 };
	KTAP_EXPECT(t, gnomon_config_check(&c) == -EINVAL, "intervals too many");
	c = (struct gnomon_config){ .flags = 1 };
	KTAP_EXPECT(t, gnomon_config_check(&c) == -EINVAL, "flags");
	c = (struct gnomon_config){ .__pad = 1 };
	KTAP_EXPECT(t, gnomon_config_check(&c) == -EINVAL, "padding");
	c = (struct gnomon_config){ .__reserved = { 0, 1 } };
	KTAP_EXPECT(t, gnomon_config_check(&c) == -EINVAL, "reserved");
}

KTAP_TEST(huge_values_saturate_instead_of_wrapping)
{
	struct gnomon_page p;
	struct gnomon_tt tt;

	disciplined_page(&p);
	p.holdover_ns = ~0ULL;
	p.drift_ppb = GNOMON_MAX_DRIFT_PPB;
	p.freerun_intervals = GNOMON_MAX_FREERUN_INTERVALS;
	p.interval_ns = ~0ULL / 2;
	gnomon_tt_compute(&p, ~0ULL - 1, T0_REAL + (~0ULL - 1 - T0_MONO), &tt);
	KTAP_EXPECT(t, tt.bound_ns != GNOMON_BOUND_INFINITE || tt.status != GNOMON_STATUS_SYNCHRONIZED,
		    "a synchronized clock never reports the void bound");
	KTAP_EXPECT(t, tt.earliest_ns <= tt.realtime_ns && tt.realtime_ns <= tt.latest_ns,
		    "realtime inside the interval");

	/* Anyone can write an agent file: absurd values read as no bound,
	 * never as a crash or a narrow interval. */
	disciplined_page(&p);
	p.error_ns = ~0ULL;
	tt = at(&p, SEC);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED &&
		       tt.bound_ns == GNOMON_BOUND_INFINITE, "error_ns = U64_MAX: %u", tt.status);
	disciplined_page(&p);
	p.drift_ppb = ~0U;
	tt = at(&p, 3 * SEC);
	KTAP_EXPECT(t, tt.bound_ns == MS + 3ULL * ~0U, "drift 2^32-1: bound %llu",
		    (unsigned long long)tt.bound_ns);
	disciplined_page(&p);
	gnomon_tt_compute_realtime(&p, T0_REAL + SEC, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED, "one clock without STEP_WATCH");
}

/* drift * age / 1e9, exactly, saturating at U64_MAX: the reference. */
static __u64 drift_reference(__u64 age_ns, __u32 drift_ppb)
{
	unsigned __int128 g = (unsigned __int128)age_ns * drift_ppb / SEC;

	return g > ~0ULL ? ~0ULL : (__u64)g;
}

/*
 * Every drift an agent file can carry, at every kind of age: from 0 (the
 * sub-second ages divided by zero once), across the 1 s and the fast-path
 * (2^43 ns) boundaries, up to U64_MAX.  The bound is the exact growth
 * plus the error, or void when that saturates; never a crash.
 */
KTAP_TEST(any_drift_at_any_age_gives_the_exact_bound_or_none)
{
	static const __u64 ages[] = {
		0, 1, 2, 999, SEC / 2, SEC - 1, SEC, SEC + 1, 2 * SEC - 1,
		3 * SEC, 1000 * SEC, (1ULL << 43) - 1, 1ULL << 43,
		(1ULL << 43) + 1, 1ULL << 52, 1ULL << 62, ~0ULL / 2, ~0ULL - 1,
		~0ULL,
	};
	static const __u32 edges[] = {
		0, 1, 2, GNOMON_DEFAULT_DRIFT_PPB, GNOMON_MAX_DRIFT_PPB,
		GNOMON_MAX_DRIFT_PPB + 1, 1U << 31, ~0U - 1, ~0U,
	};
	unsigned long checked = 0, wrong = 0;
	struct gnomon_page p = { 0 };

	gnomon_page_init(&p);
	p.flags = GNOMON_PAGE_DISCIPLINED;
	p.error_ns = MS;
	p.interval_ns = SEC;
	p.holdover_ns = ~0ULL;
	for (__u64 d = 0; d < (1ULL << 32) + sizeof(edges) / sizeof(edges[0]);
	     d += d < (1ULL << 32) ? 1048573 : 1) {
		__u32 drift = d < (1ULL << 32) ? (__u32)d : edges[d - (1ULL << 32)];

		p.drift_ppb = drift;
		for (unsigned int i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
			/* Smaller ages too: every age below 1 s by a stride. */
			for (__u64 a = ages[i], n = 0; n < (i ? 1 : 64); n++, a += 15624997) {
				__u64 want = drift_reference(a, drift);
				struct gnomon_tt tt;

				want = want > ~0ULL - MS ? ~0ULL : want + MS;
				gnomon_tt_compute(&p, a, a, &tt);
				checked++;
				if (want == ~0ULL ? tt.bound_ns == GNOMON_BOUND_INFINITE &&
						    tt.status == GNOMON_STATUS_UNSYNCHRONIZED
						  : tt.bound_ns == want &&
						    tt.earliest_ns == (a > want ? a - want : 0))
					continue;
				if (wrong++ < 5)
					ktap_diag("drift %u age %llu: bound %llu, want %llu",
						  drift, (unsigned long long)a,
						  (unsigned long long)tt.bound_ns,
						  (unsigned long long)want);
			}
		}
	}
	ktap_diag("%lu (drift, age) pairs checked", checked);
	KTAP_EXPECT(t, wrong == 0, "%lu wrong bounds", wrong);
}

/* Seqcount torture: a writer keeps the invariant error_ns == interval_ns;
 * readers must never take a torn snapshot for a consistent one.  A writer
 * preempted mid-update makes a reader give up (bounded reads): that copy
 * must say so, with an odd seq. */
static struct gnomon_page shared_page;
static atomic_bool writer_done;

static void *writer(void *arg)
{
	struct gnomon_discipline d = { .source = GNOMON_SOURCE_STATIC };

	(void)arg;
	for (__u64 i = 1; i <= 200000; i++) {
		d.error_ns = i;
		d.interval_ns = i;
		gnomon_page_discipline(&shared_page, &d, T0_MONO + i, T0_REAL + i);
	}
	atomic_store(&writer_done, true);
	return NULL;
}

KTAP_TEST(seqcount_snapshots_are_never_torn)
{
	struct gnomon_page snap;
	pthread_t w;
	long reads = 0, torn = 0, gave_up = 0, unmarked = 0;

	gnomon_page_init(&shared_page);
	KTAP_ASSERT(t, pthread_create(&w, NULL, writer, NULL) == 0, "thread");
	while (!atomic_load(&writer_done)) {
		reads++;
		if (!gnomon_page_snapshot(&shared_page, &snap)) {
			gave_up++;
			unmarked += !(snap.seq & 1);
			continue;
		}
		if (snap.updates && (snap.error_ns != snap.interval_ns ||
				     snap.as_of_mono_ns != T0_MONO + snap.error_ns ||
				     snap.updates != snap.error_ns))
			torn++;
	}
	pthread_join(w, NULL);
	ktap_diag("%ld snapshots, %ld torn, %ld gave up on a busy writer",
		  reads, torn, gave_up);
	KTAP_EXPECT(t, torn == 0, "%ld torn snapshots", torn);
	KTAP_EXPECT(t, unmarked == 0, "%ld unfinished copies with an even seq", unmarked);
	KTAP_EXPECT(t, shared_page.updates == 200000 && !(shared_page.seq & 1), "final state");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
