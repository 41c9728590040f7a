// SPDX-License-Identifier: GPL-2.0
/*
 * Watch streams of the member's clients, on the member's own store: the
 * glue between the I/O-free watch hub (mvcc/watch.h) and the client
 * sessions.  A stream is named by its client (slot and generation, packed
 * into the hub's owner) and its HTTP/2 stream id.  Any member serves
 * watches, follower or leader, from what it has applied: events follow
 * the log, so a leader change makes no gap.
 *
 * The hub hears of every applied command (node.c) and of a snapshot
 * replacing the store; every loop turn gives unsynced watchers a
 * catch-up step, which is also how a congested stream resumes once the
 * socket took its bytes; every ten minutes, watchers that asked for
 * progress notifications get one, as etcd's default.
 */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

#define PROGRESS_MS (10u * 60 * 1000)

static struct api_session *session_of(struct gnomond *d, uint64_t owner)
{
	return gd_clients__session(d, (uint32_t)(owner >> 32),
				   (uint32_t)owner);
}

static int sink_send(void *ctx, uint64_t owner, int32_t stream,
		     const uint8_t *msg, size_t len)
{
	struct api_session *s = session_of(ctx, owner);

	return s ? api_session__send(s, stream, msg, len) : -ENOENT;
}

static size_t sink_queued(void *ctx, uint64_t owner, int32_t stream)
{
	struct api_session *s = session_of(ctx, owner);

	return s ? api_session__queued(s, stream) : 0;
}

static const struct mvcc_watch_sink sink = {
	.send = sink_send,
	.queued = sink_queued,
};

int gd_watch__init(struct gnomond *d)
{
	return mvcc_watch_hub__new(&d->watch, &sink, d);
}

void gd_watch__exit(struct gnomond *d)
{
	mvcc_watch_hub__free(d->watch);
	d->watch = NULL;
}

static void check(struct gnomond *d, int rc)
{
	if (rc)
		gd_fatal(d, "watch", rc);
}

void gd_watch__request(struct gnomond *d, uint32_t slot, uint32_t gen,
		       const struct api_request *req)
{
	struct mvcc_header hdr = gd_answer__header(d);
	struct api_session *s;

	check(d, mvcc_watch_hub__request(d->watch, d->store, &hdr,
					 (uint64_t)slot << 32 | gen,
					 req->stream_id,
		(const Etcdserverpb__WatchRequest *)req->decoded));
	s = gd_clients__session(d, slot, gen);
	if (s)
		api_session__handled(s, req->stream_id);
}

void gd_watch__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
		      int32_t stream)
{
	if (d->watch)	/* connections may close after the node stopped */
		mvcc_watch_hub__closed(d->watch, (uint64_t)slot << 32 | gen,
				       stream);
}

int gd_watch__applied(struct gnomond *d)
{
	struct mvcc_header hdr = gd_answer__header(d);

	return mvcc_watch_hub__applied(d->watch, d->store, &hdr);
}

void gd_watch__store_replaced(struct gnomond *d)
{
	mvcc_watch_hub__store_replaced(d->watch);
}

void gd_watch__turn(struct gnomond *d)
{
	struct mvcc_header hdr = gd_answer__header(d);

	check(d, mvcc_watch_hub__catch_up(d->watch, d->store, &hdr));
}

void gd_watch__tick(struct gnomond *d)
{
	struct mvcc_header hdr = gd_answer__header(d);
	uint64_t every = PROGRESS_MS / d->cfg.heartbeat_ms;

	if (every && !(d->ticks % every))
		check(d, mvcc_watch_hub__progress(d->watch, d->store, &hdr));
}
