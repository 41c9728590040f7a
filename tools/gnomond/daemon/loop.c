// SPDX-License-Identifier: GPL-2.0
/*
 * The turn: the loop that calls into every part (the ring services it and
 * the parts share are in ring.c; only main calls this file).  A turn
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

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
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

void gd_loop__init(struct gnomond *d)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t ns = (uint64_t)d->cfg.heartbeat_ms * 1000000;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->tick_op.fn = on_tick;
	d->tick_ts.tv_sec = ns / 1000000000;
	d->tick_ts.tv_nsec = ns % 1000000000;
	arm_tick(d);
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
			gd_fatal(d, "io_uring_submit_and_wait", rc);
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
