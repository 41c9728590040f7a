// SPDX-License-Identifier: GPL-2.0
/*
 * The reading a keepalive is judged and renewed at (tools/gnomond/daemon/
 * ring.c, gd_now_fresh(); lease-safety.rst, K1) must be taken after the
 * request arrived.  On a real ring, with the clock's fallback source: the
 * turn's reading is kept while no completion has been posted since it was
 * taken, and read again once one has (a NOP completed after the reading
 * stands for a request that arrived after it).  A marker written into
 * d->now tells a kept reading from a new one.
 */
#include <errno.h>
#include <string.h>

#include "../ktap.h"
#include "../../tools/gnomond/daemon/daemon.h"

#define MARK_NS 12345ull

/* A member with a clock and, if @ring, a ring; false (skipped) if the
 * host has no io_uring. */
static bool member(struct ktap *t, struct gnomond *d, bool ring)
{
	int rc;

	memset(d, 0, sizeof(*d));
	rc = gnomon_client__open(&d->clock, GNOMON_OPEN_NO_KERNEL |
				 GNOMON_OPEN_NO_AGENT);
	KTAP_EXPECT(t, !rc, "gnomon_client__open: %s", strerror(-rc));
	if (rc)
		return false;
	if (!ring)
		return true;
	rc = gd_ring__init(d);
	if (rc == -ENOSYS || rc == -EPERM) {
		gnomon_client__close(d->clock);
		ktap_skip(t, "no io_uring here: %s", strerror(-rc));
		return false;
	}
	KTAP_EXPECT(t, !rc, "gd_ring__init: %s", strerror(-rc));
	if (rc)
		gnomon_client__close(d->clock);
	return !rc;
}

/* Past the ring's end the reading still works (main.c may read late). */
static void member_end(struct ktap *t, struct gnomond *d)
{
	gd_ring__exit(d);
	gd_now(d);
	d->now.earliest_ns = MARK_NS;
	gd_now_fresh(d);
	KTAP_EXPECT(t, d->now.earliest_ns == MARK_NS,
		    "after the ring: the reading is kept");
	gnomon_client__close(d->clock);
}

/* Complete a NOP; its completion is posted, not yet taken. */
static void post_completion(struct ktap *t, struct gnomond *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	KTAP_ASSERT(t, sqe, "no SQE");
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, NULL);
	KTAP_ASSERT(t, io_uring_submit_and_wait(&d->ring, 1) == 1, "submit");
}

KTAP_TEST(reading_before_the_ring)
{
	struct gnomond d;

	if (!member(t, &d, false))
		return;
	gd_now(&d);
	d.now.earliest_ns = MARK_NS;
	gd_now_fresh(&d);
	KTAP_EXPECT(t, d.now.earliest_ns == MARK_NS,
		    "no ring, no completion: the reading is kept");
	gnomon_client__close(d.clock);
}

KTAP_TEST(reading_kept_while_no_completion)
{
	struct gnomond d;

	if (!member(t, &d, true))
		return;
	post_completion(t, &d);
	gd_now(&d);
	d.now.earliest_ns = MARK_NS;
	gd_now_fresh(&d);
	KTAP_EXPECT(t, d.now.earliest_ns == MARK_NS,
		    "a completion posted before the reading: kept");
	io_uring_cq_advance(&d.ring, 1);
	gd_now_fresh(&d);
	KTAP_EXPECT(t, d.now.earliest_ns == MARK_NS,
		    "taking that completion: kept");
	member_end(t, &d);
}

KTAP_TEST(reading_again_after_a_completion)
{
	struct gnomond d;
	unsigned int before;

	if (!member(t, &d, true))
		return;
	gd_now(&d);
	before = d.now_cq_tail;
	d.now.earliest_ns = MARK_NS;
	post_completion(t, &d);
	gd_now_fresh(&d);
	KTAP_EXPECT(t, d.now.earliest_ns != MARK_NS,
		    "a completion posted after the reading: read again");
	KTAP_EXPECT(t, d.now_cq_tail == before + 1,
		    "the new reading follows the completion (tail %u, was %u)",
		    d.now_cq_tail, before);
	d.now.earliest_ns = MARK_NS;
	io_uring_cq_advance(&d.ring, 1);
	gd_now_fresh(&d);
	KTAP_EXPECT(t, d.now.earliest_ns == MARK_NS,
		    "nothing posted since the new reading: kept");
	member_end(t, &d);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
