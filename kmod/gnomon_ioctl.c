// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of /dev/gnomon.
 *
 * Reading time, ticking and merging the HLC and commit-wait are open to
 * every user who can open the device.  Discipline and configuration change
 * the clock for everyone and need CAP_SYS_TIME.  The lease ioctls are in
 * gnomon_lease.c.  Every input structure is
 * validated in full (reserved fields must be zero) before it touches state;
 * bad input is an error code, never a warning.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "gnomon_internal.h"

/* While the interval is void, re-check at least this often. */
#define GNOMON_WAIT_POLL_NS	(100 * NSEC_PER_MSEC)

static int gnomon_ioc_now(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_tt tt = {};

	gnomon_now(gd, &tt);
	atomic64_inc(&gd->stats.reads);
	return copy_to_user(argp, &tt, sizeof(tt)) ? -EFAULT : 0;
}

static int gnomon_ioc_hlc_tick(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_hlc ts = {};

	spin_lock(&gd->hlc_lock);
	gnomon_hlc_tick(&gd->hlc, ktime_get_real_ns());
	ts = gd->hlc;
	spin_unlock(&gd->hlc_lock);
	atomic64_inc(&gd->stats.hlc_ticks);
	return copy_to_user(argp, &ts, sizeof(ts)) ? -EFAULT : 0;
}

static int gnomon_ioc_hlc_update(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_hlc msg, ts = {};
	struct gnomon_page snap;
	struct gnomon_tt tt;
	u64 max_wall;
	int err;

	if (copy_from_user(&msg, argp, sizeof(msg)))
		return -EFAULT;
	if (msg.__pad)
		return -EINVAL;

	gnomon_now_snapshot(gd, &tt, &snap);
	max_wall = gnomon_hlc_max_wall(&tt, snap.max_offset_ns);

	spin_lock(&gd->hlc_lock);
	err = gnomon_hlc_update(&gd->hlc, &msg, ktime_get_real_ns(), max_wall);
	ts = gd->hlc;
	spin_unlock(&gd->hlc_lock);
	if (err) {
		atomic64_inc(&gd->stats.hlc_rejections);
		return err;
	}
	atomic64_inc(&gd->stats.hlc_updates);
	return copy_to_user(argp, &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Sleep until TT.now().earliest > until_ns (Spanner's commit wait). */
static int gnomon_ioc_wait_until(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_wait w;
	u64 deadline = 0;

	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (w.flags || w.__pad || w.__reserved[0] || w.__reserved[1])
		return -EINVAL;
	atomic64_inc(&gd->stats.commit_waits);
	if (w.timeout_ns)
		deadline = ktime_get_ns() + min_t(u64, w.timeout_ns, KTIME_MAX / 2);

	for (;;) {
		u64 updates = READ_ONCE(gd->page->updates);
		struct gnomon_tt tt;
		u64 sleep_ns, now;
		long ret;

		gnomon_now(gd, &tt);
		if (tt.bound_ns != GNOMON_BOUND_INFINITE && tt.earliest_ns > w.until_ns)
			return 0;
		now = ktime_get_ns();
		if (deadline && now >= deadline) {
			atomic64_inc(&gd->stats.commit_wait_timeouts);
			return -ETIMEDOUT;
		}
		/*
		 * earliest advances a little slower than real time (the bound
		 * grows), so sleep the gap and look again; a discipline update
		 * can move earliest either way and wakes us at once.
		 */
		if (tt.bound_ns == GNOMON_BOUND_INFINITE)
			sleep_ns = GNOMON_WAIT_POLL_NS;
		else
			sleep_ns = w.until_ns - tt.earliest_ns + 1;
		if (deadline)
			sleep_ns = min(sleep_ns, deadline - now);
		sleep_ns = min_t(u64, sleep_ns, KTIME_MAX / 2);

		ret = wait_event_interruptible_hrtimeout(gd->updates,
				READ_ONCE(gd->page->updates) != updates,
				ns_to_ktime(sleep_ns));
		if (ret == -ERESTARTSYS)
			return -EINTR;
	}
}

static int gnomon_ioc_discipline(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_discipline d;

	if (!capable(CAP_SYS_TIME))
		return -EPERM;
	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	return gnomon_discipline(gd, &d);
}

static int gnomon_ioc_get_config(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_config cfg = {};
	struct gnomon_page snap;

	gnomon_page_snapshot(gd->page, &snap);
	gnomon_page_get_config(&snap, &cfg);
	return copy_to_user(argp, &cfg, sizeof(cfg)) ? -EFAULT : 0;
}

static int gnomon_ioc_set_config(struct gnomon_dev *gd, void __user *argp)
{
	struct gnomon_config cfg;
	int err;

	if (!capable(CAP_SYS_TIME))
		return -EPERM;
	if (copy_from_user(&cfg, argp, sizeof(cfg)))
		return -EFAULT;
	err = gnomon_config_check(&cfg);
	if (err)
		return err;
	gnomon_configure(gd, &cfg);
	return 0;
}

long gnomon_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gnomon_dev *gd = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case GNOMON_IOC_NOW:
		return gnomon_ioc_now(gd, argp);
	case GNOMON_IOC_HLC_TICK:
		return gnomon_ioc_hlc_tick(gd, argp);
	case GNOMON_IOC_HLC_UPDATE:
		return gnomon_ioc_hlc_update(gd, argp);
	case GNOMON_IOC_WAIT_UNTIL:
		return gnomon_ioc_wait_until(gd, argp);
	case GNOMON_IOC_DISCIPLINE:
		return gnomon_ioc_discipline(gd, argp);
	case GNOMON_IOC_GET_CONFIG:
		return gnomon_ioc_get_config(gd, argp);
	case GNOMON_IOC_SET_CONFIG:
		return gnomon_ioc_set_config(gd, argp);
	case GNOMON_IOC_LEASE_GRANT:
	case GNOMON_IOC_LEASE_RENEW:
	case GNOMON_IOC_LEASE_RELEASE:
	case GNOMON_IOC_LEASE_GET:
	case GNOMON_IOC_LEASE_NEXT:
		return gnomon_lease_ioctl(cmd, argp);
	}
	return -ENOTTY;
}
