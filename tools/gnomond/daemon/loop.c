// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: one io_uring for every socket, file and timer.  A turn
 * waits for at least one completion, runs the handler of each (struct
 * gd_op, found through user_data), then lets the node hand out the Raft
 * core's work once (gd_node__turn): every input of the turn (client
 * requests, peer messages, WAL completions) shares one persist batch and
 * one append message per follower.  The tick is an IORING_OP_TIMEOUT
 * re-armed every heartbeat interval.  SIGTERM and SIGINT end the loop at
 * the next turn (the tick bounds the wait).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

#define GD_RING_ENTRIES 4096

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct io_uring_sqe *gd_sqe(struct gnomond *d, struct gd_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe) {
		/* The submission queue is full: hand it to the kernel. */
		io_uring_submit(&d->ring);
		sqe = io_uring_get_sqe(&d->ring);
	}
	if (!sqe) {
		gd_loop__fatal(d, "io_uring submission queue", -EBUSY);
		return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

void gd_now(struct gnomond *d)
{
	struct gnomon_tt tt;
	int rc = gnomon_client__now(d->clock, &tt);

	if (rc) {
		/* No bound at all: leases turn off, Raft carries on. */
		memset(&tt, 0, sizeof(tt));
		tt.latest_ns = UINT64_MAX;
		tt.bound_ns = GNOMON_BOUND_INFINITE;
		tt.status = GNOMON_STATUS_UNSYNCHRONIZED;
	}
	d->now = tt;
}

void gd_loop__fatal(struct gnomond *d, const char *what, int err)
{
	gd_err("%s: %s: stopping", what, strerror(-err));
	d->stop = true;
	d->exit_code = 1;
}

static void arm_tick(struct gnomond *d)
{
	struct io_uring_sqe *sqe = gd_sqe(d, &d->tick_op);

	if (sqe)
		io_uring_prep_timeout(sqe, &d->tick_ts, 0, 0);
}

static void on_tick(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	(void)op;
	(void)flags;
	if (res != -ETIME && res < 0)
		gd_warn("tick timer: %s", strerror(-res));
	d->ticks++;
	gd_now(d);
	gd_node__tick(d);
	gd_peers__tick(d);
	gd_clients__tick(d);
	gd_requests__expire(d);
	arm_tick(d);
}

/*
 * Completions are taken only in io_uring_submit_and_wait(), by this one
 * thread, so the kernel need not interrupt the loop to run their task work:
 * DEFER_TASKRUN (6.1) runs it inside that call, COOP_TASKRUN (5.19) at the
 * next transition, and without either every completion sends the loop an
 * IPI (10-15% of a member's CPU under load).  Older kernels refuse the
 * flags with -EINVAL, so each set is tried in turn.
 */
static int ring_init(struct io_uring *ring)
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

		rc = io_uring_queue_init_params(GD_RING_ENTRIES, ring, &p);
		if (rc != -EINVAL)
			return rc;
	}
	return rc;
}

int gd_loop__init(struct gnomond *d)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t ns = (uint64_t)d->cfg.heartbeat_ms * 1000000;
	int rc;

	rc = ring_init(&d->ring);
	if (rc)
		return rc;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->tick_op.fn = on_tick;
	d->tick_ts.tv_sec = ns / 1000000000;
	d->tick_ts.tv_nsec = ns % 1000000000;
	arm_tick(d);
	return 0;
}

int gd_loop__run(struct gnomond *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;
	int rc;

	while (!d->stop && !stop_signal) {
		rc = io_uring_submit_and_wait(&d->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN &&
		    rc != -ETIME) {
			gd_loop__fatal(d, "io_uring_submit_and_wait", rc);
			break;
		}
		gd_now(d);
		n = 0;
		io_uring_for_each_cqe(&d->ring, head, cqe) {
			struct gd_op *op = io_uring_cqe_get_data(cqe);

			n++;
			if (op)
				op->fn(d, op, cqe->res, cqe->flags);
		}
		io_uring_cq_advance(&d->ring, n);
		gd_node__turn(d);
	}
	if (stop_signal)
		gd_info("signal %d: stopping", (int)stop_signal);
	return d->exit_code;
}
