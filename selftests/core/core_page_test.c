// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the page reader's bounds in lib/core/truetime.c: a reader
 * never waits for good on a writer that died mid-update (odd seq), judges
 * magic, version and size on every copy, and a later writer can close the
 * dead one's section (gnomon_page_recover).  An agent file is anyone's to
 * write, so each case is what a damaged file looks like.
 */
#include <unistd.h>

#include "../ktap.h"
#include "gnomon_core.h"

#define SEC	1000000000ULL
#define MS	1000000ULL
#define T0_MONO	(100 * SEC)
#define T0_REAL	(1700000000 * SEC)
/* Far more than a bounded reader needs; the unbounded one hung here. */
#define HANG_S	20

static void disciplined_page(struct gnomon_page *p)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC,
				       .source = GNOMON_SOURCE_STATIC };

	*p = (struct gnomon_page){ 0 };
	gnomon_page_init(p);
	gnomon_page_discipline(p, &d, T0_MONO, T0_REAL);
}

static struct gnomon_tt read_at(const struct gnomon_page *p, __u64 age)
{
	struct gnomon_page snap;
	struct gnomon_tt tt;

	gnomon_page_snapshot(p, &snap);
	gnomon_tt_compute(&snap, T0_MONO + age, T0_REAL + age, &tt);
	return tt;
}

KTAP_TEST(an_odd_seq_left_by_a_dead_writer_reads_as_disrupted)
{
	struct gnomon_page p, snap;
	struct gnomon_tt tt;
	__u32 seq;

	disciplined_page(&p);
	p.seq++;			/* killed between its two increments */
	alarm(HANG_S);
	KTAP_EXPECT(t, !gnomon_page_snapshot(&p, &snap), "a snapshot of an odd seq");
	KTAP_EXPECT(t, snap.seq & 1, "the copy keeps the odd seq");
	gnomon_tt_compute(&snap, T0_MONO + SEC, T0_REAL + SEC, &tt);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
		       tt.bound_ns == GNOMON_BOUND_INFINITE &&
		       tt.earliest_ns == 0 && tt.latest_ns == ~0ULL,
		    "status %s bound %llu", gnomon_status_name(tt.status),
		    (unsigned long long)tt.bound_ns);
	/* The open-coded reader loop ends too. */
	seq = gnomon_page_read_begin(&p, &snap);
	KTAP_EXPECT(t, (seq & 1) && !gnomon_page_read_retry(&p, seq),
		    "read_begin returns the odd seq %u", seq);
	alarm(0);
	/* The writer's next section makes it whole again. */
	p.seq++;
	KTAP_EXPECT(t, read_at(&p, SEC).status == GNOMON_STATUS_SYNCHRONIZED,
		    "even again: synchronized");
}

KTAP_TEST(a_copy_that_is_no_page_reads_as_unsynchronized)
{
	static const struct {
		const char *what;
		__u32 magic;
		__u16 version, size;
	} bad[] = {
		{ "zeroed (truncated file)", 0, 0, 0 },
		{ "magic", GNOMON_PAGE_MAGIC ^ 1, GNOMON_PAGE_VERSION, sizeof(struct gnomon_page) },
		{ "version", GNOMON_PAGE_MAGIC, GNOMON_PAGE_VERSION + 1, sizeof(struct gnomon_page) },
		{ "size too small", GNOMON_PAGE_MAGIC, GNOMON_PAGE_VERSION, sizeof(struct gnomon_page) - 8 },
		{ "size past the page", GNOMON_PAGE_MAGIC, GNOMON_PAGE_VERSION, GNOMON_PAGE_SIZE + 1 },
	};
	struct gnomon_page p;
	struct gnomon_tt tt;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		disciplined_page(&p);
		KTAP_ASSERT(t, gnomon_page_valid(&p), "a written page is valid");
		p.magic = bad[i].magic;
		p.version = bad[i].version;
		p.size = bad[i].size;
		KTAP_EXPECT(t, !gnomon_page_valid(&p), "%s: valid", bad[i].what);
		tt = read_at(&p, SEC);
		KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED &&
			       tt.bound_ns == GNOMON_BOUND_INFINITE,
			    "%s: status %s", bad[i].what, gnomon_status_name(tt.status));
		gnomon_tt_compute_realtime(&p, T0_REAL + SEC, &tt);
		KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED,
			    "%s, one clock: status %s", bad[i].what,
			    gnomon_status_name(tt.status));
	}
}

KTAP_TEST(recover_closes_a_dead_writers_section)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC };
	struct gnomon_config cfg;
	struct gnomon_page p, before;

	/* Even seq: nothing to recover, nothing changes. */
	disciplined_page(&p);
	before = p;
	gnomon_page_recover(&p);
	KTAP_EXPECT(t, !memcmp(&p, &before, sizeof(p)), "an even page is left alone");

	/* Died half-way through an update: the fields are a mix. */
	p.seq++;
	p.error_ns = 7;
	p.drift_ppb = ~0U;
	p.holdover_ns = 1;
	gnomon_page_recover(&p);
	KTAP_EXPECT(t, !(p.seq & 1) && p.seq == before.seq + 2, "seq %u", p.seq);
	KTAP_EXPECT(t, read_at(&p, SEC).status == GNOMON_STATUS_UNSYNCHRONIZED,
		    "says nothing until the next update");
	gnomon_page_get_config(&p, &cfg);
	KTAP_EXPECT(t, cfg.drift_ppb == GNOMON_DEFAULT_DRIFT_PPB &&
		       cfg.holdover_ns == GNOMON_DEFAULT_HOLDOVER_NS, "default configuration");
	KTAP_EXPECT(t, p.updates == before.updates && gnomon_page_valid(&p),
		    "the constant part and the update count stay");
	/* The next writer's sections work as ever (they assert seq parity). */
	gnomon_page_discipline(&p, &d, T0_MONO + 2 * SEC, T0_REAL + 2 * SEC);
	KTAP_EXPECT(t, read_at(&p, 2 * SEC).status == GNOMON_STATUS_SYNCHRONIZED &&
		       read_at(&p, 2 * SEC).bound_ns == MS, "synchronized after an update");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
