/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring services every part of the daemon calls (ring.c): an SQE for an
 * operation, the turn's reading of TT.now(), the fatal path, and the
 * ring's set-up and tear-down.  They call no part: the turn (loop.c) calls
 * into the parts, the parts call these.
 */
#ifndef GNOMOND_DAEMON_RING_H
#define GNOMOND_DAEMON_RING_H

#include <liburing.h>
#include <stdint.h>

struct gnomond;
struct gd_op;

typedef void (*gd_op_fn)(struct gnomond *d, struct gd_op *op, int res,
			 uint32_t flags);

/* One submitted operation: user_data points here. */
struct gd_op {
	gd_op_fn fn;
};

/* An SQE whose completion runs op->fn; NULL (and the member stops) if the
 * submission queue stays full. */
struct io_uring_sqe *gd_sqe(struct gnomond *d, struct gd_op *op);
/* d->now = TT.now(); no bound at all if the clock cannot be read. */
void gd_now(struct gnomond *d);
/* d->now taken after every completion handled so far was posted, hence
 * after every request handled so far arrived: kept if no completion was
 * posted since it was read, else read again. */
void gd_now_fresh(struct gnomond *d);
/* Log what failed and stop the member at the end of the turn. */
void gd_fatal(struct gnomond *d, const char *what, int err);
int gd_ring__init(struct gnomond *d);
void gd_ring__exit(struct gnomond *d);

#endif /* GNOMOND_DAEMON_RING_H */
