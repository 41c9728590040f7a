/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomon.ko internals: the one clock device and what its parts share.
 *
 * State lives in a single struct gnomon_dev, static in gnomon_main.c: the
 * device's files reach it through their private data and sysfs through the
 * device's driver data; the leases, which have no file, ask for the clock
 * and a counter through the two functions below.  The page is the source of
 * truth for TT.now(): writers (discipline, configuration, and the
 * timekeeping notifier that marks clock steps) serialise on page_lock and
 * publish through the page's seqcount; readers in the kernel and in
 * userspace take lock-free snapshots.  page_lock is a raw spinlock because
 * the notifier runs inside timekeeping with interrupts off; no clock may be
 * read while holding it (timekeeping may be waiting for it).  The HLC is
 * separate: a pair (wall, logical) under a spinlock, since a tick is a
 * read-modify-write that every process on the host contends for.
 */
#ifndef GNOMON_INTERNAL_H
#define GNOMON_INTERNAL_H

#include <linux/atomic.h>
#include <linux/irq_work.h>
#include <linux/miscdevice.h>
#include <linux/notifier.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "../lib/core/gnomon_core.h"

struct gnomon_counters {
	atomic64_t reads;		/* GNOMON_IOC_NOW calls */
	atomic64_t hlc_ticks;
	atomic64_t hlc_updates;
	atomic64_t hlc_rejections;	/* remote timestamps too far ahead */
	atomic64_t status_changes;	/* transitions the kernel observed */
	atomic64_t disciplines;
	atomic64_t commit_waits;
	atomic64_t commit_wait_timeouts;
	atomic64_t clock_steps;		/* wall clock set while disciplined */
	atomic64_t lease_stale_refused;	/* lease tokens refused as too low */
};

struct gnomon_dev {
	struct miscdevice misc;
	struct gnomon_page *page;	/* mapped read-only into userspace */
	raw_spinlock_t page_lock;	/* serialises page writers */
	unsigned long steps;		/* clock steps; under page_lock */
	struct notifier_block clock_set_nb;
	struct irq_work step_irq_work;	/* from timekeeping to ... */
	struct work_struct step_work;	/* ... process context */
	spinlock_t hlc_lock;
	struct gnomon_hlc hlc;		/* protected by hlc_lock */
	wait_queue_head_t updates;	/* woken on every page update */
	struct delayed_work transition;	/* counts status changes on time */
	atomic_t last_status;
	struct work_struct status_work;	/* sends clock status events */
	u32 sent_status;		/* last status sent; status_work only */
	struct gnomon_counters stats;
};

extern const struct attribute_group *gnomon_attr_groups[];

/* TT.now() from the page and both clocks; records status transitions. */
void gnomon_now(struct gnomon_dev *gd, struct gnomon_tt *tt);
/* The same, also handing back the page snapshot it was computed from. */
void gnomon_now_snapshot(struct gnomon_dev *gd, struct gnomon_tt *tt,
			 struct gnomon_page *snap);
/* The same on the instance, for the leases (gnomon_lease.c); any context. */
void gnomon_clock_now(struct gnomon_tt *tt, struct gnomon_page *snap);
/* Count a lease token refused as too low. */
void gnomon_count_stale_lease(void);
/* After a page update: wake waiters, re-arm the transition work. */
void gnomon_page_updated(struct gnomon_dev *gd);
long gnomon_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
/* Apply a discipline update or a configuration; 0 or -errno. */
int gnomon_discipline(struct gnomon_dev *gd, const struct gnomon_discipline *d);
void gnomon_configure(struct gnomon_dev *gd, const struct gnomon_config *cfg);

/* Leases (gnomon_lease.c): the lease ioctls, 0 or -errno. */
int gnomon_lease_ioctl(unsigned int cmd, void __user *argp);
/* The n-th resource in name order; -ENOENT past the last. */
int gnomon_lease_nth_info(unsigned long n, struct gnomon_lease_info *info);
/* The clock's state changed: judge every lease again. */
void gnomon_leases_clock_changed(void);
/* /sys/class/misc/gnomon/leases under DEV; 0 or -errno. */
int gnomon_leases_init(struct device *dev);
void gnomon_leases_exit(void);

/* Events on the "fencing" multicast group (gnomon_genl.c); process context. */
int gnomon_genl_init(void);
void gnomon_genl_exit(void);
void gnomon_genl_lease_granted(const char *name, const char *holder, u64 token,
			       u64 end_ns, u64 margin_ns);
void gnomon_genl_lease_lapsed(const char *name, u64 token, u32 state,
			      u64 late_ns);
void gnomon_genl_fence_engaged(const char *name, u64 token,
			       const char *device);
void gnomon_genl_stale_refused(const char *name, u64 token, u64 highest);
void gnomon_genl_clock_status(u32 status, u32 old_status);

#endif /* GNOMON_INTERNAL_H */
