// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and state under /sys/class/misc/gnomon/, all read-only:
 * reads, hlc_ticks, hlc_updates, hlc_rejections, status_changes,
 * disciplines, commit_waits, commit_wait_timeouts, clock_steps (the wall
 * clock set while disciplined), lease_stale_refused (lease tokens refused
 * as too low, all resources; each lease's own view is under leases/), and
 * status, bound_ns, source, hlc for a
 * quick look.  "reads" counts GNOMON_IOC_NOW calls; reads
 * of the mapped page cost the kernel nothing and are not counted.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "gnomon_internal.h"

/* misc_register() made the miscdevice the device's driver data. */
static struct gnomon_dev *to_gnomon(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct gnomon_dev, misc);
}

#define GNOMON_COUNTER_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  (long long)atomic64_read(&to_gnomon(dev)->stats.name)); \
}									\
static DEVICE_ATTR_RO(name)

GNOMON_COUNTER_ATTR(reads);
GNOMON_COUNTER_ATTR(hlc_ticks);
GNOMON_COUNTER_ATTR(hlc_updates);
GNOMON_COUNTER_ATTR(hlc_rejections);
GNOMON_COUNTER_ATTR(status_changes);
GNOMON_COUNTER_ATTR(disciplines);
GNOMON_COUNTER_ATTR(commit_waits);
GNOMON_COUNTER_ATTR(commit_wait_timeouts);
GNOMON_COUNTER_ATTR(clock_steps);
GNOMON_COUNTER_ATTR(lease_stale_refused);

static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct gnomon_tt tt;

	gnomon_now(to_gnomon(dev), &tt);
	return sysfs_emit(buf, "%s\n", gnomon_status_name(tt.status));
}
static DEVICE_ATTR_RO(status);

static ssize_t bound_ns_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct gnomon_tt tt;

	gnomon_now(to_gnomon(dev), &tt);
	if (tt.bound_ns == GNOMON_BOUND_INFINITE)
		return sysfs_emit(buf, "infinite\n");
	return sysfs_emit(buf, "%llu\n", tt.bound_ns);
}
static DEVICE_ATTR_RO(bound_ns);

static ssize_t source_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct gnomon_page snap;

	gnomon_page_snapshot(to_gnomon(dev)->page, &snap);
	return sysfs_emit(buf, "%s\n", gnomon_source_name(snap.source));
}
static DEVICE_ATTR_RO(source);

static ssize_t hlc_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct gnomon_dev *gd = to_gnomon(dev);
	struct gnomon_hlc ts;

	spin_lock(&gd->hlc_lock);
	ts = gd->hlc;
	spin_unlock(&gd->hlc_lock);
	return sysfs_emit(buf, "%llu.%u\n", ts.wall_ns, ts.logical);
}
static DEVICE_ATTR_RO(hlc);

static struct attribute *gnomon_attrs[] = {
	&dev_attr_reads.attr,
	&dev_attr_hlc_ticks.attr,
	&dev_attr_hlc_updates.attr,
	&dev_attr_hlc_rejections.attr,
	&dev_attr_status_changes.attr,
	&dev_attr_disciplines.attr,
	&dev_attr_commit_waits.attr,
	&dev_attr_commit_wait_timeouts.attr,
	&dev_attr_clock_steps.attr,
	&dev_attr_lease_stale_refused.attr,
	&dev_attr_status.attr,
	&dev_attr_bound_ns.attr,
	&dev_attr_source.attr,
	&dev_attr_hlc.attr,
	NULL,
};

static const struct attribute_group gnomon_attr_group = {
	.attrs = gnomon_attrs,
};

const struct attribute_group *gnomon_attr_groups[] = {
	&gnomon_attr_group,
	NULL,
};
