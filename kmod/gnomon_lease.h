/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomon.ko's leases, as other modules see them.
 *
 * A lease is a named resource on this host holding {token, lease end (a
 * CLOCK_REALTIME instant), holder id}.  It holds only while the clock's
 * status allows it and TT.now().latest + margin < lease end; userspace
 * grants, renews and releases it through /dev/gnomon, and gnomon.ko judges
 * it on every call below, with no userspace process in the loop.
 *
 * The device-mapper target (dm-gnomon-fence.ko) is the first user: it looks
 * a resource up when its table is loaded, asks gnomon_lease_holds() for
 * every bio that changes the media, and is told through a watch whenever
 * the lease's state changes, so that it can resubmit or fail the writes it
 * parked.
 */
#ifndef GNOMON_LEASE_H
#define GNOMON_LEASE_H

#include <linux/list.h>
#include <linux/types.h>

struct gnomon_lease;

/*
 * Find the resource NAME and take a reference on it.  0, -EINVAL for a name
 * that is not a valid resource name, -ENOENT when no such resource exists.
 */
int gnomon_lease_get(const char *name, struct gnomon_lease **out);
void gnomon_lease_put(struct gnomon_lease *lease);
const char *gnomon_lease_name(const struct gnomon_lease *lease);

/*
 * Whether the lease holds at this instant, judged on TT.now().  *token is
 * always set to the resource's token: the one it holds with, or else the
 * last one granted (0 if none ever was).  Callable from any context,
 * including a bio's submission path; never sleeps.
 */
bool gnomon_lease_holds(struct gnomon_lease *lease, u64 *token);

/*
 * A watch: changed() runs in process context, with no gnomon spinlock
 * held, after every change of the lease's state (granted, renewed,
 * released, lapsed).  It may call gnomon_lease_holds().  Changes that come
 * close together may share one call.  A per-lease mutex serialises it with
 * gnomon_lease_watch() and gnomon_lease_unwatch(), so changed() must call
 * neither, and nobody may hold a lock across unwatch that changed() takes.
 */
struct gnomon_lease_watch {
	struct list_head node;
	void (*changed)(struct gnomon_lease_watch *watch);
};

void gnomon_lease_watch(struct gnomon_lease *lease,
			struct gnomon_lease_watch *watch);
/* After it returns, changed() is neither running nor will run again. */
void gnomon_lease_unwatch(struct gnomon_lease *lease,
			  struct gnomon_lease_watch *watch);

/*
 * The target refused the first write after a lapse on DEVICE (a name such
 * as "dm-3"): counted, and sent as a "fence engaged" event.
 */
void gnomon_lease_fence_engaged(struct gnomon_lease *lease,
				const char *device);

#endif /* GNOMON_LEASE_H */
