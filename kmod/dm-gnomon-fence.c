// SPDX-License-Identifier: GPL-2.0
/*
 * dm-gnomon-fence: a device-mapper target that passes writes to its device
 * only while a gnomon lease holds.
 *
 *   <start> <len> gnomon-fence <device> <resource> [<#opts> <opt>...]
 *
 *   park_ms N     hold refused writes up to N ms, waiting for a renewal,
 *                 instead of failing them at once
 *   fence_reads   refuse reads too while the lease does not hold
 *
 * The target maps its sectors one to one onto <device> from sector 0.  On
 * every bio that changes the media (write, write-zeroes, discard, secure
 * erase, zone management; a flush or FUA that carries data is a write) map()
 * asks gnomon_lease_holds(), judged on TT.now() inside gnomon.ko.  When it
 * holds the bio is remapped; when it does not the bio ends with EIO
 * (DM_MAPIO_KILL), or, with park_ms, is parked on our own list:
 * DM_MAPIO_REQUEUE would not hold it (outside a noflush suspend dm ends a
 * requeued bio with an error).  A parked write remembers the resource's
 * token when it was refused.  It is resubmitted when the lease's watch
 * reports that the lease holds again with that same token (a renewal, or a
 * re-grant of it), or failed when its deadline passes.  If the lease holds
 * with any other token, the write fails at once: a new token means a new
 * tenure, and another host may have written between the two, so a write
 * from the old tenure must never land after it.  A suspend (and so a table
 * swap or removal) resubmits or fails every parked write first, so none is
 * ever leaked or left hanging.
 *
 * An empty flush (REQ_PREFLUSH without data) always passes: it changes no
 * sector, it only makes durable writes that passed while the lease held, and
 * failing it would turn those writes' fsync into an error without stopping
 * anything.  Reads pass unless fence_reads is set.
 *
 * Nothing goes around map(): the target has no prepare_ioctl, so dm refuses
 * SG_IO and every other ioctl passthrough, and it leaves 6.12's
 * flush_bypasses_map off.  Persistent-reservation ioctls still reach the
 * device through iterate_devices (dm's pr_ops); which of them do without
 * prepare_ioctl depends on the kernel (Documentation/fencing.rst).
 *
 * State: the target remembers whether it last saw the lease hold ("open")
 * or not ("fenced").  Each open -> fenced change is a lapse; the first write
 * refused after one is reported through gnomon_lease_fence_engaged(), from
 * the target's work item because that call may sleep.  The work item also
 * runs the parking: the lease's watch and each parking deadline queue it.
 *
 * One source builds for 6.1 and 6.12: dm_get_device() gets
 * dm_table_get_mode() as it is (fmode_t or blk_mode_t), the device's size
 * comes from bdev_nr_sectors(), and module_init/exit are spelled out since
 * module_dm() only exists from 6.4.
 */
#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "gnomon_lease.h"

#define DM_MSG_PREFIX "gnomon-fence"

/* The longest park_ms accepted: an hour. */
#define FENCE_PARK_MS_MAX	3600000U

struct fence_ctx {
	struct dm_target *ti;
	struct dm_dev *dev;
	struct gnomon_lease *lease;
	struct gnomon_lease_watch watch;
	struct delayed_work work;
	const char *disk_name;

	unsigned int park_ms;
	bool fence_reads;

	spinlock_t lock;		/* parked, suspending, open */
	struct bio_list parked;
	unsigned int nr_parked;
	bool suspending;		/* no parking from presuspend to resume */
	bool open;			/* the lease held when last looked at */
	bool engaged;			/* a write was refused since the lapse */
	bool report_engaged;		/* ... and the work must report it */
	u64 token;			/* the token it last held with */

	atomic64_t writes_passed;
	atomic64_t writes_refused;
	atomic64_t reads_refused;
	atomic64_t lapses;
};

/* A parked bio's deadline and token, in dm's per-bio data. */
struct fence_io {
	unsigned long deadline;
	u64 token;			/* the resource's token when refused */
};

static struct workqueue_struct *fence_wq;

static bool fence_changes_media(struct bio *bio)
{
	return op_is_write(bio_op(bio)) &&
	       !(bio_op(bio) == REQ_OP_WRITE && !bio_sectors(bio) &&
		 (bio->bi_opf & REQ_PREFLUSH));
}

/*
 * Ask the lease and record open <-> fenced changes.  Returns whether it
 * holds; *token is the resource's token either way.  The common case (no
 * change) takes no lock.
 */
static bool fence_check(struct fence_ctx *fc, u64 *token)
{
	unsigned long flags;
	bool holds;

	holds = gnomon_lease_holds(fc->lease, token);
	if (READ_ONCE(fc->open) == holds &&
	    (!holds || READ_ONCE(fc->token) == *token))
		return holds;

	spin_lock_irqsave(&fc->lock, flags);
	if (holds) {
		fc->open = true;
		fc->engaged = false;
		fc->token = *token;
	} else if (fc->open) {
		fc->open = false;
		atomic64_inc(&fc->lapses);
	}
	spin_unlock_irqrestore(&fc->lock, flags);
	return holds;
}

/* Count a refused write; the first after a lapse is reported. */
static void fence_refused(struct fence_ctx *fc)
{
	unsigned long flags;
	bool kick = false;

	atomic64_inc(&fc->writes_refused);
	if (READ_ONCE(fc->engaged))
		return;
	spin_lock_irqsave(&fc->lock, flags);
	if (!fc->engaged && !fc->open) {
		fc->engaged = true;
		fc->report_engaged = true;
		kick = true;
	}
	spin_unlock_irqrestore(&fc->lock, flags);
	if (kick)
		mod_delayed_work(fence_wq, &fc->work, 0);
}

static void fence_remap(struct fence_ctx *fc, struct bio *bio)
{
	bio_set_dev(bio, fc->dev->bdev);
	if (bio_sectors(bio) || op_is_zone_mgmt(bio_op(bio)))
		bio->bi_iter.bi_sector = dm_target_offset(fc->ti,
							  bio->bi_iter.bi_sector);
}

/*
 * Park a write the lease refused while the resource's token was token.
 * False when parking is off or a suspend has begun: the caller fails the
 * bio instead.
 */
static bool fence_park(struct fence_ctx *fc, struct bio *bio, u64 token)
{
	struct fence_io *io = dm_per_bio_data(bio, sizeof(struct fence_io));
	unsigned long flags, delay;
	u64 holding_token;
	bool first;

	if (!fc->park_ms)
		return false;
	delay = msecs_to_jiffies(fc->park_ms);
	io->deadline = jiffies + delay;
	io->token = token;
	spin_lock_irqsave(&fc->lock, flags);
	if (fc->suspending) {
		spin_unlock_irqrestore(&fc->lock, flags);
		return false;
	}
	first = bio_list_empty(&fc->parked);
	bio_list_add(&fc->parked, bio);
	fc->nr_parked++;
	spin_unlock_irqrestore(&fc->lock, flags);

	/*
	 * The lease may have been renewed between the check in map() and the
	 * bio joining the list, after the watch's work found the list empty:
	 * the work then resubmits or fails it at once.
	 */
	if (gnomon_lease_holds(fc->lease, &holding_token))
		mod_delayed_work(fence_wq, &fc->work, 0);
	else if (first)
		queue_delayed_work(fence_wq, &fc->work, delay);
	return true;
}

static int fence_map(struct dm_target *ti, struct bio *bio)
{
	struct fence_ctx *fc = ti->private;
	u64 token;

	if (!fence_changes_media(bio)) {
		if (fc->fence_reads && bio_op(bio) == REQ_OP_READ && bio_sectors(bio) &&
		    !fence_check(fc, &token)) {
			atomic64_inc(&fc->reads_refused);
			return DM_MAPIO_KILL;
		}
		fence_remap(fc, bio);
		return DM_MAPIO_REMAPPED;
	}
	if (fence_check(fc, &token)) {
		atomic64_inc(&fc->writes_passed);
		fence_remap(fc, bio);
		return DM_MAPIO_REMAPPED;
	}
	if (fence_park(fc, bio, token))
		return DM_MAPIO_SUBMITTED;
	fence_refused(fc);
	return DM_MAPIO_KILL;
}

/*
 * The work item: report an engaged fence; if the lease holds, resubmit the
 * parked writes refused under the token it holds with and fail the rest;
 * else fail those whose deadline passed (all of them once a suspend has
 * begun), and wait for the next deadline.
 */
static void fence_work(struct work_struct *work)
{
	struct fence_ctx *fc = container_of(to_delayed_work(work),
					    struct fence_ctx, work);
	struct bio_list resubmit = BIO_EMPTY_LIST;
	struct bio_list expired = BIO_EMPTY_LIST;
	unsigned long flags, next = 0;
	bool holds, report, rearm = false;
	struct fence_io *io;
	struct bio *bio;
	u64 token;

	holds = fence_check(fc, &token);

	spin_lock_irqsave(&fc->lock, flags);
	report = fc->report_engaged;
	fc->report_engaged = false;
	while (holds && (bio = bio_list_pop(&fc->parked))) {
		io = dm_per_bio_data(bio, sizeof(struct fence_io));
		bio_list_add(io->token == token ? &resubmit : &expired, bio);
		fc->nr_parked--;
	}
	while ((bio = bio_list_peek(&fc->parked))) {
		io = dm_per_bio_data(bio, sizeof(struct fence_io));
		if (!fc->suspending && time_before(jiffies, io->deadline)) {
			next = io->deadline;
			rearm = true;
			break;
		}
		bio_list_add(&expired, bio_list_pop(&fc->parked));
		fc->nr_parked--;
	}
	spin_unlock_irqrestore(&fc->lock, flags);

	if (rearm)
		queue_delayed_work(fence_wq, &fc->work,
				   time_after(next, jiffies) ? next - jiffies : 0);

	while ((bio = bio_list_pop(&resubmit))) {
		atomic64_inc(&fc->writes_passed);
		fence_remap(fc, bio);
		dm_submit_bio_remap(bio, NULL);
	}
	while ((bio = bio_list_pop(&expired))) {
		fence_refused(fc);
		bio_io_error(bio);
	}
	/* fence_refused() above may have set it again: the next run reports. */
	if (report)
		gnomon_lease_fence_engaged(fc->lease, fc->disk_name);
}

static void fence_lease_changed(struct gnomon_lease_watch *watch)
{
	struct fence_ctx *fc = container_of(watch, struct fence_ctx, watch);

	mod_delayed_work(fence_wq, &fc->work, 0);
}

/* Resubmit or fail every parked write, and park no more until resume. */
static void fence_presuspend(struct dm_target *ti)
{
	struct fence_ctx *fc = ti->private;
	unsigned long flags;

	spin_lock_irqsave(&fc->lock, flags);
	fc->suspending = true;
	spin_unlock_irqrestore(&fc->lock, flags);
	mod_delayed_work(fence_wq, &fc->work, 0);
	flush_delayed_work(&fc->work);
}

static void fence_resume(struct dm_target *ti)
{
	struct fence_ctx *fc = ti->private;
	unsigned long flags;

	spin_lock_irqsave(&fc->lock, flags);
	fc->suspending = false;
	spin_unlock_irqrestore(&fc->lock, flags);
}

static int fence_parse_opts(struct fence_ctx *fc, struct dm_arg_set *as,
			    char **error)
{
	static const struct dm_arg nr_opts = { 0, 3, "Invalid number of optional arguments" };
	unsigned int argc, ms;
	const char *opt;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(&nr_opts, as, &argc, error);
	if (r)
		return r;
	while (argc) {
		opt = dm_shift_arg(as);
		argc--;
		if (!strcasecmp(opt, "fence_reads")) {
			fc->fence_reads = true;
		} else if (!strcasecmp(opt, "park_ms")) {
			if (!argc || kstrtouint(dm_shift_arg(as), 10, &ms) ||
			    !ms || ms > FENCE_PARK_MS_MAX) {
				*error = "park_ms needs a value from 1 to 3600000";
				return -EINVAL;
			}
			argc--;
			fc->park_ms = ms;
		} else {
			*error = "Unknown optional argument (park_ms N, fence_reads)";
			return -EINVAL;
		}
	}
	if (as->argc) {
		*error = "Arguments after the optional ones";
		return -EINVAL;
	}
	return 0;
}

static int fence_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct fence_ctx *fc;
	int r;

	if (argc < 2) {
		ti->error = "Needs <device> <resource> [<#opts> <opt>...]";
		return -EINVAL;
	}
	fc = kzalloc(sizeof(*fc), GFP_KERNEL);
	if (!fc) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	fc->ti = ti;
	spin_lock_init(&fc->lock);
	bio_list_init(&fc->parked);
	INIT_DELAYED_WORK(&fc->work, fence_work);
	fc->watch.changed = fence_lease_changed;
	fc->disk_name = dm_disk(dm_table_get_md(ti->table))->disk_name;

	dm_consume_args(&as, 2);
	r = fence_parse_opts(fc, &as, &ti->error);
	if (r)
		goto free_ctx;

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &fc->dev);
	if (r) {
		ti->error = "Cannot open the device";
		goto free_ctx;
	}
	if (ti->len > bdev_nr_sectors(fc->dev->bdev)) {
		ti->error = "The device is smaller than the target";
		r = -EINVAL;
		goto put_device;
	}

	r = gnomon_lease_get(argv[1], &fc->lease);
	if (r == -ENOENT) {
		ti->error = "No such lease resource (grant it with gnomonctl lease grant first)";
		goto put_device;
	}
	if (r) {
		ti->error = "Invalid lease resource name";
		goto put_device;
	}

	fc->open = gnomon_lease_holds(fc->lease, &fc->token);
	gnomon_lease_watch(fc->lease, &fc->watch);

	ti->private = fc;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct fence_io);
	return 0;

put_device:
	dm_put_device(ti, fc->dev);
free_ctx:
	kfree(fc);
	return r;
}

static void fence_dtr(struct dm_target *ti)
{
	struct fence_ctx *fc = ti->private;
	struct bio *bio;

	gnomon_lease_unwatch(fc->lease, &fc->watch);
	cancel_delayed_work_sync(&fc->work);
	/* A suspend came first and emptied the list; this is a last guard. */
	while ((bio = bio_list_pop(&fc->parked))) {
		atomic64_inc(&fc->writes_refused);
		bio_io_error(bio);
	}
	gnomon_lease_put(fc->lease);
	dm_put_device(ti, fc->dev);
	kfree(fc);
}

static void fence_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct fence_ctx *fc = ti->private;
	unsigned int nr_opts, sz = 0;
	unsigned long flags;
	unsigned int parked;
	bool holds;
	u64 token;

	switch (type) {
	case STATUSTYPE_INFO:
		holds = fence_check(fc, &token);
		spin_lock_irqsave(&fc->lock, flags);
		token = fc->token;
		parked = fc->nr_parked;
		spin_unlock_irqrestore(&fc->lock, flags);
		DMEMIT("%s %llu %s %lld %lld %lld %u %lld",
		       gnomon_lease_name(fc->lease), token,
		       holds ? "open" : "fenced",
		       (long long)atomic64_read(&fc->writes_passed),
		       (long long)atomic64_read(&fc->writes_refused),
		       (long long)atomic64_read(&fc->lapses), parked,
		       (long long)atomic64_read(&fc->reads_refused));
		break;
	case STATUSTYPE_TABLE:
		nr_opts = (fc->park_ms ? 2 : 0) + (fc->fence_reads ? 1 : 0);
		DMEMIT("%s %s", fc->dev->name, gnomon_lease_name(fc->lease));
		if (nr_opts)
			DMEMIT(" %u", nr_opts);
		if (fc->park_ms)
			DMEMIT(" park_ms %u", fc->park_ms);
		if (fc->fence_reads)
			DMEMIT(" fence_reads");
		break;
	case STATUSTYPE_IMA:
		DMEMIT("target_name=%s,target_version=%u.%u.%u,device_name=%s,resource=%s,park_ms=%u,fence_reads=%c;",
		       ti->type->name, ti->type->version[0],
		       ti->type->version[1], ti->type->version[2],
		       fc->dev->name, gnomon_lease_name(fc->lease),
		       fc->park_ms, fc->fence_reads ? 'y' : 'n');
		break;
	default:
		*result = '\0';
		break;
	}
}

static int fence_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct fence_ctx *fc = ti->private;

	return fn(ti, fc->dev, 0, ti->len, data);
}

static struct target_type fence_target = {
	.name = "gnomon-fence",
	.version = { 1, 0, 0 },
	.module = THIS_MODULE,
	.ctr = fence_ctr,
	.dtr = fence_dtr,
	.map = fence_map,
	.presuspend = fence_presuspend,
	.presuspend_undo = fence_resume,
	.resume = fence_resume,
	.status = fence_status,
	.iterate_devices = fence_iterate_devices,
};

static int __init dm_gnomon_fence_init(void)
{
	int r;

	fence_wq = alloc_workqueue("dm_gnomon_fence", WQ_MEM_RECLAIM, 0);
	if (!fence_wq)
		return -ENOMEM;
	r = dm_register_target(&fence_target);
	if (r)
		goto destroy_wq;
	return 0;

destroy_wq:
	destroy_workqueue(fence_wq);
	return r;
}

static void __exit dm_gnomon_fence_exit(void)
{
	dm_unregister_target(&fence_target);
	destroy_workqueue(fence_wq);
}

module_init(dm_gnomon_fence_init);
module_exit(dm_gnomon_fence_exit);

MODULE_DESCRIPTION("device-mapper target passing writes only while a gnomon lease holds");
MODULE_LICENSE("GPL");
