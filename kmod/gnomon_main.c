// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon: bounded-uncertainty time and a host-wide hybrid logical clock.
 *
 * /dev/gnomon is a misc device readable by every user.  It offers TT.now()
 * (an interval of CLOCK_REALTIME that contains true time), one HLC shared by
 * all processes, commit-wait, and a read-only page from which userspace
 * computes TT.now() without a system call.  The arithmetic lives in
 * lib/core and is shared with libgnomon; this file holds the device, the
 * page and its writers, and the two things that happen without a caller:
 *
 *  - a clock step.  Timekeeping's notifier chain (the one KVM uses to follow
 *    the host clock) tells us, inside timekeeping, that the wall clock was
 *    set; we mark the page STEPPED there and then, so page readers need only
 *    CLOCK_REALTIME.  Waking waiters must wait for process context: an
 *    irq_work hops out of timekeeping, a work item does the rest.
 *  - a status transition falling due (synchronized -> free-running ->
 *    unsynchronized): a delayed work item notices and counts it.
 *
 * Every status change, wherever TT.now() noticed it, queues status_work,
 * which sends the netlink event; it and every page update judge the leases
 * (gnomon_lease.c) again, so their timers follow the clock.
 *
 * There is one instance, static here.  The ioctls and mmap reach it through
 * the open file's private data, sysfs through the misc device's driver
 * data; the leases reach what they need of it through gnomon_clock_now()
 * and gnomon_count_stale_lease().
 *
 * Lifetime: the page is allocated at load and freed at unload.  Open files
 * and mappings pin the module through the file's owner reference, so the
 * page outlives every user.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pvclock_gtod.h>
#include <linux/version.h>

#include "gnomon_internal.h"

static struct gnomon_dev gnomon;

/* Any context (gnomon_lease_holds() reads the time from a bio's path). */
static void gnomon_observe_status(struct gnomon_dev *gd, u32 status)
{
	if (atomic_xchg(&gd->last_status, status) != status) {
		atomic64_inc(&gd->stats.status_changes);
		schedule_work(&gd->status_work);
	}
}

/* A status change seen anywhere: tell listeners, judge the leases again. */
static void gnomon_status_work(struct work_struct *work)
{
	struct gnomon_dev *gd = container_of(work, struct gnomon_dev,
					     status_work);
	u32 status = atomic_read(&gd->last_status);

	if (status != gd->sent_status) {
		gnomon_genl_clock_status(status, gd->sent_status);
		gd->sent_status = status;
	}
	gnomon_leases_clock_changed();
}

/*
 * The page watches for steps (GNOMON_PAGE_STEP_WATCH), so CLOCK_REALTIME
 * read inside the seq window is all TT.now() needs.  Reading monotonic and
 * realtime one after the other would let a vCPU preempted between the two
 * reads (over the 1 ms step slack) look like a clock step and void the
 * interval, and with it every lease.
 */
void gnomon_now_snapshot(struct gnomon_dev *gd, struct gnomon_tt *tt,
			 struct gnomon_page *snap)
{
	unsigned int tries;
	u64 real = 0;
	u32 seq;

	for (tries = 0; tries < GNOMON_PAGE_READ_TRIES; tries++) {
		seq = gnomon_page_read_begin(gd->page, snap);
		real = ktime_get_real_ns();
		if (!gnomon_page_read_retry(gd->page, seq))
			break;
	}
	if (tries == GNOMON_PAGE_READ_TRIES)
		snap->seq |= 1;
	gnomon_tt_compute_realtime(snap, real, tt);
	gnomon_observe_status(gd, tt->status);
}

void gnomon_now(struct gnomon_dev *gd, struct gnomon_tt *tt)
{
	struct gnomon_page snap;

	gnomon_now_snapshot(gd, tt, &snap);
}

void gnomon_clock_now(struct gnomon_tt *tt, struct gnomon_page *snap)
{
	gnomon_now_snapshot(&gnomon, tt, snap);
}

void gnomon_count_stale_lease(void)
{
	atomic64_inc(&gnomon.stats.lease_stale_refused);
}

static void gnomon_arm_transition(struct gnomon_dev *gd)
{
	struct gnomon_page snap;
	u64 due, now;

	gnomon_page_snapshot(gd->page, &snap);
	due = gnomon_tt_next_transition(&snap);
	if (due == GNOMON_U64_MAX)
		return;
	now = ktime_get_ns();
	mod_delayed_work(system_wq, &gd->transition,
			 due > now ? nsecs_to_jiffies(due - now) + 1 : 0);
}

static void gnomon_transition_work(struct work_struct *work)
{
	struct gnomon_dev *gd = container_of(to_delayed_work(work),
					     struct gnomon_dev, transition);
	struct gnomon_tt tt;

	gnomon_now(gd, &tt);
	gnomon_arm_transition(gd);
	gnomon_leases_clock_changed();
}

void gnomon_page_updated(struct gnomon_dev *gd)
{
	struct gnomon_tt tt;

	gnomon_now(gd, &tt);
	/* A status change this update made is announced before the caller
	 * (a discipline ioctl, say) goes on to cause anything else. */
	flush_work(&gd->status_work);
	wake_up_all(&gd->updates);
	gnomon_arm_transition(gd);
	gnomon_leases_clock_changed();
}

int gnomon_discipline(struct gnomon_dev *gd, const struct gnomon_discipline *d)
{
	unsigned long flags, steps;
	u64 mono, real;
	int err;

	/*
	 * The clocks are read outside page_lock (timekeeping may hold its own
	 * lock while it waits for ours); a step in between is caught by the
	 * step count and the reading taken again.
	 */
	for (;;) {
		steps = READ_ONCE(gd->steps);
		mono = ktime_get_ns();
		real = ktime_get_real_ns();
		raw_spin_lock_irqsave(&gd->page_lock, flags);
		if (steps == gd->steps)
			break;
		raw_spin_unlock_irqrestore(&gd->page_lock, flags);
	}
	err = gnomon_discipline_check(gd->page, d, mono);
	if (!err)
		gnomon_page_discipline(gd->page, d, mono, real);
	raw_spin_unlock_irqrestore(&gd->page_lock, flags);
	if (err)
		return err;
	atomic64_inc(&gd->stats.disciplines);
	gnomon_page_updated(gd);
	return 0;
}

void gnomon_configure(struct gnomon_dev *gd, const struct gnomon_config *cfg)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&gd->page_lock, flags);
	gnomon_page_configure(gd->page, cfg);
	raw_spin_unlock_irqrestore(&gd->page_lock, flags);
	gnomon_page_updated(gd);
}

/* Called from timekeeping on every update, with its seqcount held for
 * writing and interrupts off: do the minimum and read no clock. */
static int gnomon_clock_set_notify(struct notifier_block *nb,
				   unsigned long was_set, void *priv)
{
	struct gnomon_dev *gd = container_of(nb, struct gnomon_dev, clock_set_nb);
	bool disciplined;

	if (!was_set)
		return NOTIFY_DONE;
	raw_spin_lock(&gd->page_lock);
	gd->steps++;
	disciplined = gd->page->flags & GNOMON_PAGE_DISCIPLINED;
	if (disciplined)
		gnomon_page_mark_stepped(gd->page);
	raw_spin_unlock(&gd->page_lock);
	if (disciplined) {
		atomic64_inc(&gd->stats.clock_steps);
		irq_work_queue(&gd->step_irq_work);
	}
	return NOTIFY_OK;
}

static void gnomon_step_irq_work(struct irq_work *work)
{
	struct gnomon_dev *gd = container_of(work, struct gnomon_dev,
					     step_irq_work);

	schedule_work(&gd->step_work);
}

static void gnomon_step_work(struct work_struct *work)
{
	gnomon_page_updated(container_of(work, struct gnomon_dev, step_work));
}

/* misc_open() hands us the miscdevice in private_data. */
static int gnomon_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;

	file->private_data = container_of(misc, struct gnomon_dev, misc);
	return 0;
}

static int gnomon_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gnomon_dev *gd = file->private_data;

	if (vma->vm_pgoff || vma_pages(vma) != 1)
		return -EINVAL;
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EPERM;
	/* Without VM_MAYWRITE, mprotect(PROT_WRITE) fails later too. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE | VM_MAYEXEC);
#else
	vma->vm_flags &= ~(VM_MAYWRITE | VM_MAYEXEC);
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
#endif
	return vm_insert_page(vma, vma->vm_start, virt_to_page(gd->page));
}

static const struct file_operations gnomon_fops = {
	.owner		= THIS_MODULE,
	.open		= gnomon_open,
	.unlocked_ioctl	= gnomon_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= gnomon_mmap,
	.llseek		= noop_llseek,
};

static int __init gnomon_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct gnomon_page) > GNOMON_PAGE_SIZE);
	BUILD_BUG_ON(GNOMON_PAGE_SIZE != PAGE_SIZE);

	gnomon.page = (struct gnomon_page *)get_zeroed_page(GFP_KERNEL);
	if (!gnomon.page)
		return -ENOMEM;
	gnomon_page_init(gnomon.page);
	gnomon.page->flags = GNOMON_PAGE_STEP_WATCH;

	raw_spin_lock_init(&gnomon.page_lock);
	spin_lock_init(&gnomon.hlc_lock);
	init_waitqueue_head(&gnomon.updates);
	INIT_DELAYED_WORK(&gnomon.transition, gnomon_transition_work);
	init_irq_work(&gnomon.step_irq_work, gnomon_step_irq_work);
	INIT_WORK(&gnomon.step_work, gnomon_step_work);
	INIT_WORK(&gnomon.status_work, gnomon_status_work);
	atomic_set(&gnomon.last_status, GNOMON_STATUS_UNSYNCHRONIZED);
	gnomon.sent_status = GNOMON_STATUS_UNSYNCHRONIZED;

	err = gnomon_genl_init();
	if (err)
		goto free_page;
	gnomon.clock_set_nb.notifier_call = gnomon_clock_set_notify;
	err = pvclock_gtod_register_notifier(&gnomon.clock_set_nb);
	if (err)
		goto unregister_genl;

	gnomon.misc.minor = MISC_DYNAMIC_MINOR;
	gnomon.misc.name = "gnomon";
	gnomon.misc.fops = &gnomon_fops;
	gnomon.misc.mode = 0444;
	gnomon.misc.groups = gnomon_attr_groups;
	err = misc_register(&gnomon.misc);
	if (err)
		goto unregister_notifier;
	err = gnomon_leases_init(gnomon.misc.this_device);
	if (err)
		goto deregister_misc;
	return 0;

deregister_misc:
	misc_deregister(&gnomon.misc);
unregister_notifier:
	pvclock_gtod_unregister_notifier(&gnomon.clock_set_nb);
	irq_work_sync(&gnomon.step_irq_work);
	cancel_work_sync(&gnomon.step_work);
	cancel_work_sync(&gnomon.status_work);
unregister_genl:
	gnomon_genl_exit();
free_page:
	free_page((unsigned long)gnomon.page);
	return err;
}

static void __exit gnomon_exit(void)
{
	gnomon_leases_exit();
	misc_deregister(&gnomon.misc);
	pvclock_gtod_unregister_notifier(&gnomon.clock_set_nb);
	irq_work_sync(&gnomon.step_irq_work);
	cancel_work_sync(&gnomon.step_work);
	cancel_delayed_work_sync(&gnomon.transition);
	/* The works above may have queued it. */
	cancel_work_sync(&gnomon.status_work);
	gnomon_genl_exit();
	free_page((unsigned long)gnomon.page);
}

module_init(gnomon_init);
module_exit(gnomon_exit);

MODULE_DESCRIPTION("gnomon: bounded-uncertainty time and a host-wide HLC");
MODULE_LICENSE("GPL");
