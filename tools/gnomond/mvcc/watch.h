/* SPDX-License-Identifier: GPL-2.0 */
/*
 * etcd's Watch over the MVCC store, free of I/O: the watchers of every
 * Watch stream a member serves, fed from the store it applies to.
 *
 * Each watcher has next_rev, the first revision it has not been sent.  A
 * synced watcher (next_rev past the store's revision) gets each applied
 * command's changes at once (mvcc_watch_hub__applied, after every apply):
 * the store records them as it applies.  A watcher that starts in the
 * past, whose stream is congested, or whose store was replaced by a
 * snapshot is unsynced: mvcc_watch_hub__catch_up() reads its events from
 * the store's history, a bounded window of revisions per watcher and a
 * bounded number of watchers per call, until it is synced again.  A
 * stream counts as congested while more than MVCC_WATCH_HIGH_WATER bytes
 * wait on it, so a slow reader costs that much memory, not more, and
 * never stalls the loop.  Events thus go out in revision order, each once,
 * from whatever member the stream is on; a watcher whose next revision
 * was compacted away is canceled with compact_revision, as etcd does.
 *
 * Answers leave through the sink: packed WatchResponse messages for a
 * stream named by (owner, stream), opaque to the hub.
 */
#ifndef GNOMOND_MVCC_WATCH_H
#define GNOMOND_MVCC_WATCH_H

#include "etcdserverpb/watch.pb-c.h"
#include "mvcc.h"

#define MVCC_WATCH_HIGH_WATER (256u * 1024)
/* Revisions one catch-up step reads, and watchers one call serves. */
#define MVCC_WATCH_CATCHUP_REVS 256
#define MVCC_WATCH_CATCHUP_WATCHERS 64

struct mvcc_watch_hub;

struct mvcc_watch_sink {
	/* Queue a packed WatchResponse: 0, or -errno when the stream is gone
	 * (the hub then drops it). */
	int (*send)(void *ctx, uint64_t owner, int32_t stream,
		    const uint8_t *msg, size_t len);
	/* The bytes waiting on the stream. */
	size_t (*queued)(void *ctx, uint64_t owner, int32_t stream);
};

int mvcc_watch_hub__new(struct mvcc_watch_hub **out,
			const struct mvcc_watch_sink *sink, void *ctx);
void mvcc_watch_hub__free(struct mvcc_watch_hub *h);
size_t mvcc_watch_hub__count(const struct mvcc_watch_hub *h);

/* A create, cancel or progress request on a stream, answered through the
 * sink.  0 or -ENOMEM. */
int mvcc_watch_hub__request(struct mvcc_watch_hub *h, struct mvcc_store *s,
			    const struct mvcc_header *hdr, uint64_t owner,
			    int32_t stream, const Etcdserverpb__WatchRequest *r);
/* The stream went away: drop its watchers. */
void mvcc_watch_hub__closed(struct mvcc_watch_hub *h, uint64_t owner,
			    int32_t stream);

/* After each mvcc_store__apply(): the command's changes to synced
 * watchers.  0 or -ENOMEM. */
int mvcc_watch_hub__applied(struct mvcc_watch_hub *h, struct mvcc_store *s,
			    const struct mvcc_header *hdr);
/* Unsynced watchers catch up a step.  0 or -ENOMEM. */
int mvcc_watch_hub__catch_up(struct mvcc_watch_hub *h, struct mvcc_store *s,
			     const struct mvcc_header *hdr);
/* The store was replaced by a snapshot: everyone catches up from it. */
void mvcc_watch_hub__store_replaced(struct mvcc_watch_hub *h);
/* An empty response (the revision) to every synced watcher that asked
 * for progress notifications.  0 or -ENOMEM. */
int mvcc_watch_hub__progress(struct mvcc_watch_hub *h, struct mvcc_store *s,
			     const struct mvcc_header *hdr);

#endif /* GNOMOND_MVCC_WATCH_H */
