// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon: bounded-uncertainty time and a host-wide hybrid logical clock.
 *
 * /dev/gnomon is a misc device readable by every user.  It offers TT.now()
 * (an interval of CLOCK_REALTIME that contains true time), one HLC shared by
 * all processes, commit-wait, and a read-only page from which userspace
 * computes TT.now() without a system call.  The arithmetic lives in
 * lib/core and is shared with libgnomon; this file holds the device, the
 * page and its mapping, and the work item that notices status transitions
 * (synchronized -> free-running -> unsynchronized) when they fall due.
 *
 * Lifetime: the page is allocated at load and freed at unload.  Open files
 * and mappings pin the module through the file's owner reference, so the
 * page outlives every user.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/version.h>

#include "gnomon_internal.h"

struct gnomon_dev gnomon;

static void gnomon_observe_status(struct gnomon_dev *gd, u32 status)
{
	if (atomic_xchg(&gd->last_status, status) != status)
		atomic64_inc(&gd->stats.status_changes);
}

void gnomon_now(struct gnomon_dev *gd, struct gnomon_tt *tt)
{
	struct gnomon_page snap;
	u64 mono, real;

	gnomon_page_snapshot(gd->page, &snap);
	mono = ktime_get_ns();
	real = ktime_get_real_ns();
	gnomon_tt_compute(&snap, mono, real, tt);
	gnomon_observe_status(gd, tt->status);
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
}

void gnomon_page_updated(struct gnomon_dev *gd)
{
	struct gnomon_tt tt;

	gnomon_now(gd, &tt);
	wake_up_all(&gd->updates);
	gnomon_arm_transition(gd);
}

static int gnomon_mmap(struct file *file, struct vm_area_struct *vma)
{
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
	return vm_insert_page(vma, vma->vm_start, virt_to_page(gnomon.page));
}

static const struct file_operations gnomon_fops = {
	.owner		= THIS_MODULE,
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

	mutex_init(&gnomon.write_lock);
	spin_lock_init(&gnomon.hlc_lock);
	init_waitqueue_head(&gnomon.updates);
	INIT_DELAYED_WORK(&gnomon.transition, gnomon_transition_work);
	atomic_set(&gnomon.last_status, GNOMON_STATUS_UNSYNCHRONIZED);

	gnomon.misc.minor = MISC_DYNAMIC_MINOR;
	gnomon.misc.name = "gnomon";
	gnomon.misc.fops = &gnomon_fops;
	gnomon.misc.mode = 0444;
	gnomon.misc.groups = gnomon_attr_groups;
	err = misc_register(&gnomon.misc);
	if (err)
		goto free_page;
	return 0;

free_page:
	free_page((unsigned long)gnomon.page);
	return err;
}

static void __exit gnomon_exit(void)
{
	misc_deregister(&gnomon.misc);
	cancel_delayed_work_sync(&gnomon.transition);
	free_page((unsigned long)gnomon.page);
}

module_init(gnomon_init);
module_exit(gnomon_exit);

MODULE_DESCRIPTION("gnomon: bounded-uncertainty time and a host-wide HLC");
MODULE_LICENSE("GPL");
