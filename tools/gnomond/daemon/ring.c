// SPDX-License-Identifier: GPL-2.0
/*
 * The ring services (ring.h): the one io_uring of the member, an SQE for
 * each operation (struct gd_op, found again through user_data), the
 * turn's reading of TT.now(), and the fatal path, which stops the member
 * at the end of the turn.  Every part calls these; they call no part.
 *
 * A reading that must come after a request arrived (lease-safety.rst, K1)
 * need not be a new one: every byte the member handles came in with a
 * completion, and a completion is posted before the ring's CQ tail moves
 * past it.  gd_now() loads the tail (acquire) before it reads the clock,
 * so while the tail has not moved since, every completion taken so far was
 * posted, and its request arrived, before that reading: gd_now_fresh()
 * keeps it, and reads again only if the tail moved (a completion posted
 * while the turn runs: without DEFER_TASKRUN, or at a submission made in
 * the turn).  With DEFER_TASKRUN a turn's keepalives share its reading.
 */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

#define GD_RING_ENTRIES 4096

struct io_uring_sqe *gd_sqe(struct gnomond *d, struct gd_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		/* The submission queue is full: hand it to the kernel. */
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	if (!sqe) {
		gd_fatal(d, "io_uring submission queue", -EBUSY);
		return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

/* The CQ tail now; 0 before the ring is set up (no completion yet). */
static unsigned int cq_tail(const struct gnomond *d)
{
	return d->ring.cq.ktail ?
	       io_uring_smp_load_acquire(d->ring.cq.ktail) : 0;
}

void gd_now(struct gnomond *d)
{
	struct gnomon_tt tt;
	int rc;

	d->now_cq_tail = cq_tail(d);
	rc = gnomon_client__now(d->clock, &tt);
	if (rc) {
		/* No bound at all: leases turn off, Raft carries on. */
		memset(&tt, 0, sizeof(tt));
		tt.latest_ns = UINT64_MAX;
		tt.bound_ns = GNOMON_BOUND_INFINITE;
		tt.status = GNOMON_STATUS_UNSYNCHRONIZED;
	}
	d->now = tt;
}

void gd_now_fresh(struct gnomond *d)
{
	if (cq_tail(d) != d->now_cq_tail)
		gd_now(d);
}

void gd_fatal(struct gnomond *d, const char *what, int err)
{
	gd_err("%s: %s: stopping", what, strerror(-err));
	d->stop = true;
	d->exit_code = 1;
}

/*
 * Completions are taken only in io_uring_submit_and_wait(), by this one
 * thread, so the kernel need not interrupt the loop to run their task work:
 * DEFER_TASKRUN (6.1) runs it inside that call, COOP_TASKRUN (5.19) at the
 * next transition, and without either every completion sends the loop an
 * IPI (10-15% of a member's CPU under load).  Older kernels refuse the
 * flags with -EINVAL, so each set is tried in turn.
 */
int gd_ring__init(struct gnomond *d)
{
	static const unsigned int taskrun_flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	unsigned int i;
	int rc = -EINVAL;

	for (i = 0; i < sizeof(taskrun_flags) / sizeof(taskrun_flags[0]); i++) {
		struct io_uring_params p = {
			.flags = IORING_SETUP_CQSIZE | taskrun_flags[i],
			.cq_entries = 4 * GD_RING_ENTRIES,
		};

		rc = io_uring_queue_init_params(GD_RING_ENTRIES, &d->ring, &p);
		if (rc != -EINVAL)
			return rc;
	}
	return rc;
}

void gd_ring__exit(struct gnomond *d)
{
	if (d->ring.ring_fd > 0)
		io_uring_queue_exit(&d->ring);
	/* gd_now() must not read the unmapped CQ tail. */
	memset(&d->ring, 0, sizeof(d->ring));
}
