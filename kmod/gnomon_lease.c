// SPDX-License-Identifier: GPL-2.0
/*
 * Leases: named fencing resources judged on TT.now() (gnomon_lease.h).
 *
 * A resource is {name, token, end, margin, holder} plus counters.  It holds
 * while it is granted, the clock's status is SYNCHRONIZED or FREE_RUNNING
 * with a finite bound (a free-running bound still contains true time under
 * the declared drift; it only grows), and TT.now().latest + margin < end.
 * Nothing is cached: every gnomon_lease_holds() judges afresh, so a clock
 * step (the page is marked STEPPED from inside timekeeping) or a lapse stops
 * the lease for the very next bio, whatever the timer is doing.
 *
 * Three things notice that a lease stopped holding without being asked:
 *  - an hrtimer (CLOCK_MONOTONIC, hard irq) armed at the first instant
 *    latest + margin can reach end.  Realtime and monotonic advance
 *    together between steps and the bound grows by drift_ppb per ns, so
 *    that instant is now + (end - margin - latest) / (1 + drift);
 *  - gnomon_leases_clock_changed(), which the clock's writers (discipline,
 *    configuration, the step work, the status transition work) call;
 *  - any judgement (holds(), GET, sysfs) that finds it so.
 * Whoever notices first records the lapse under the lease's spinlock and
 * queues the lease's work, which sends the events and runs the watches in
 * process context.
 *
 * Tokens never go backwards: a grant or renewal below the highest token
 * seen, or equal to it from another holder, is refused (-ESTALE) and
 * counted.  Release keeps the resource, its highest token and its counters
 * until the module unloads.  Unloading forgets everything; that is safe
 * because gnomon.ko cannot unload while a module using these symbols
 * (dm-gnomon-fence) is loaded, so no fence outlives its leases, and after a
 * reload nothing holds until userspace (CAP_SYS_ADMIN) grants again.
 *
 * Locking: leases.lock (a mutex) guards the name-sorted list; each lease's
 * spinlock (irq-safe, since holds() may run in any context) guards its
 * terms, counters and pending events; watch_lock (a mutex) guards the watch
 * list and is held while changed() runs.  A lease is a kobject
 * (/sys/class/misc/gnomon/leases/NAME/); its reference count is the
 * kobject's, and the list holds one reference until unload.
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "gnomon_internal.h"
#include "gnomon_lease.h"

#define LEASE_DEVICE_MAX	32

/* Events waiting for the lease's work. */
#define LEASE_PENDING_LAPSED	(1U << 0)
#define LEASE_PENDING_FENCED	(1U << 1)

struct gnomon_lease {
	struct kobject kobj;
	struct list_head node;		/* in leases.list, under leases.lock */
	char name[GNOMON_LEASE_NAME_MAX];
	spinlock_t lock;		/* everything below but the watches */
	char holder[GNOMON_LEASE_HOLDER_MAX];
	u64 token;
	u64 end_ns;
	u64 margin_ns;
	bool granted;
	bool holding;			/* held at the last judgement */
	u32 pending;			/* LEASE_PENDING_* */
	u32 lapse_state;		/* why it lapsed last */
	u64 lapse_late_ns;
	char fence_device[LEASE_DEVICE_MAX];
	u64 grants, renewals, releases, stale_refused, lapses, fences;
	struct hrtimer timer;
	struct work_struct work;
	struct mutex watch_lock;
	struct list_head watches;
};

/* The terms and verdict of one judgement. */
struct lease_view {
	struct gnomon_tt tt;
	u64 lapse_mono_ns;		/* when it will lapse, if held */
	u64 token;
	u32 state;
};

static struct {
	struct mutex lock;
	struct list_head list;
	unsigned int count;
	struct kobject *dir;		/* /sys/class/misc/gnomon/leases */
} leases = {
	/* Ready before init: a clock step may ask to judge them at any time. */
	.lock = __MUTEX_INITIALIZER(leases.lock),
	.list = LIST_HEAD_INIT(leases.list),
};

static bool lease_name_valid(const char *name, size_t size)
{
	size_t len = strnlen(name, size), i;

	if (!len || len == size || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	return !memchr_inv(name + len, 0, size - len);
}

static bool lease_holder_valid(const char *holder, size_t size)
{
	size_t len = strnlen(holder, size), i;

	if (len == size)
		return false;
	for (i = 0; i < len; i++)
		if (holder[i] < 0x20 || holder[i] > 0x7e)
			return false;
	return !memchr_inv(holder + len, 0, size - len);
}

/*
 * The verdict on a lease's terms at TT.now() = tt, and with a drift rate of
 * drift_ppb, the CLOCK_MONOTONIC instant mono_ns + delay at which a held
 * lease will stop holding.  Called with lease->lock held.
 */
static u32 lease_judge(const struct gnomon_lease *lease,
		       const struct gnomon_tt *tt, u32 drift_ppb, u64 mono_ns,
		       u64 *lapse_mono_ns)
{
	u64 reach, gap;

	if (!lease->granted)
		return GNOMON_LEASE_RELEASED;
	if (tt->bound_ns == GNOMON_BOUND_INFINITE ||
	    (tt->status != GNOMON_STATUS_SYNCHRONIZED &&
	     tt->status != GNOMON_STATUS_FREE_RUNNING))
		return GNOMON_LEASE_CLOCK;
	reach = tt->latest_ns + lease->margin_ns;
	if (reach < tt->latest_ns || reach >= lease->end_ns)
		return GNOMON_LEASE_EXPIRED;
	/* latest grows by 1 + drift_ppb / 1e9 per ns: round the delay up. */
	gap = lease->end_ns - reach;
	*lapse_mono_ns = mono_ns + 1 +
		mul_u64_u64_div_u64(gap, NSEC_PER_SEC, NSEC_PER_SEC + drift_ppb);
	return GNOMON_LEASE_HELD;
}

/*
 * Judge the lease now; record a lapse if it was holding and no longer is.
 * Any context.  Returns true if the lease's work must run.
 */
static bool lease_evaluate(struct gnomon_lease *lease, struct lease_view *v)
{
	struct gnomon_page snap;
	unsigned long flags;
	bool notify = false;
	u64 mono;

	spin_lock_irqsave(&lease->lock, flags);
	gnomon_clock_now(&v->tt, &snap);
	mono = ktime_get_ns();
	v->state = lease_judge(lease, &v->tt, snap.drift_ppb, mono,
			       &v->lapse_mono_ns);
	v->token = lease->token;
	if (v->state == GNOMON_LEASE_HELD) {
		lease->holding = true;
	} else if (lease->holding) {
		lease->holding = false;
		if (v->state != GNOMON_LEASE_RELEASED) {
			lease->lapses++;
			lease->lapse_state = v->state;
			lease->lapse_late_ns = v->state == GNOMON_LEASE_EXPIRED ?
				v->tt.latest_ns + lease->margin_ns - lease->end_ns : 0;
			lease->pending |= LEASE_PENDING_LAPSED;
			notify = true;
		}
	}
	spin_unlock_irqrestore(&lease->lock, flags);
	return notify;
}

static enum hrtimer_restart lease_timer_fn(struct hrtimer *timer)
{
	struct gnomon_lease *lease = container_of(timer, struct gnomon_lease,
						  timer);
	struct lease_view v;

	if (lease_evaluate(lease, &v))
		schedule_work(&lease->work);
	if (v.state != GNOMON_LEASE_HELD)
		return HRTIMER_NORESTART;
	hrtimer_set_expires(timer, ns_to_ktime(v.lapse_mono_ns));
	return HRTIMER_RESTART;
}

/*
 * Judge now, queue the work if needed, and (re)arm or stop the timer.
 * Process context.
 */
static void lease_check(struct gnomon_lease *lease, struct lease_view *v)
{
	if (lease_evaluate(lease, v))
		schedule_work(&lease->work);
	if (v->state == GNOMON_LEASE_HELD)
		hrtimer_start(&lease->timer, ns_to_ktime(v->lapse_mono_ns),
			      HRTIMER_MODE_ABS);
	else
		hrtimer_try_to_cancel(&lease->timer);
}

/* The terms changed: judge, re-arm, and run the watches. */
static void lease_changed(struct gnomon_lease *lease)
{
	struct lease_view v;

	lease_check(lease, &v);
	schedule_work(&lease->work);
}

static void lease_work_fn(struct work_struct *work)
{
	struct gnomon_lease *lease = container_of(work, struct gnomon_lease,
						  work);
	struct gnomon_lease_watch *watch;
	char device[LEASE_DEVICE_MAX];
	u64 token, late_ns;
	unsigned long flags;
	u32 pending, why;

	spin_lock_irqsave(&lease->lock, flags);
	pending = lease->pending;
	lease->pending = 0;
	token = lease->token;
	why = lease->lapse_state;
	late_ns = lease->lapse_late_ns;
	memcpy(device, lease->fence_device, sizeof(device));
	spin_unlock_irqrestore(&lease->lock, flags);

	if (pending & LEASE_PENDING_LAPSED)
		gnomon_genl_lease_lapsed(lease->name, token, why, late_ns);
	if (pending & LEASE_PENDING_FENCED)
		gnomon_genl_fence_engaged(lease->name, token, device);

	mutex_lock(&lease->watch_lock);
	list_for_each_entry(watch, &lease->watches, node)
		watch->changed(watch);
	mutex_unlock(&lease->watch_lock);
}

/* sysfs: /sys/class/misc/gnomon/leases/NAME/ */

static struct gnomon_lease *kobj_lease(struct kobject *kobj)
{
	return container_of(kobj, struct gnomon_lease, kobj);
}

static const char *const lease_state_names[] = {
	[GNOMON_LEASE_RELEASED] = "released",
	[GNOMON_LEASE_HELD] = "held",
	[GNOMON_LEASE_EXPIRED] = "expired",
	[GNOMON_LEASE_CLOCK] = "clock",
};

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct gnomon_lease *lease = kobj_lease(kobj);
	struct lease_view v;

	lease_check(lease, &v);
	return sysfs_emit(buf, "%s\n", lease_state_names[v.state]);
}
static struct kobj_attribute lease_attr_state = __ATTR_RO(state);

static ssize_t holder_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct gnomon_lease *lease = kobj_lease(kobj);
	char holder[GNOMON_LEASE_HOLDER_MAX];
	unsigned long flags;

	spin_lock_irqsave(&lease->lock, flags);
	memcpy(holder, lease->holder, sizeof(holder));
	spin_unlock_irqrestore(&lease->lock, flags);
	return sysfs_emit(buf, "%s\n", holder);
}
static struct kobj_attribute lease_attr_holder = __ATTR_RO(holder);

#define LEASE_U64_ATTR(field)						\
static ssize_t field##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct gnomon_lease *lease = kobj_lease(kobj);			\
	unsigned long flags;						\
	u64 v;								\
									\
	spin_lock_irqsave(&lease->lock, flags);				\
	v = lease->field;						\
	spin_unlock_irqrestore(&lease->lock, flags);			\
	return sysfs_emit(buf, "%llu\n", v);				\
}									\
static struct kobj_attribute lease_attr_##field = __ATTR_RO(field)

LEASE_U64_ATTR(token);
LEASE_U64_ATTR(end_ns);
LEASE_U64_ATTR(margin_ns);
LEASE_U64_ATTR(grants);
LEASE_U64_ATTR(renewals);
LEASE_U64_ATTR(releases);
LEASE_U64_ATTR(stale_refused);
LEASE_U64_ATTR(lapses);
LEASE_U64_ATTR(fences);
LEASE_U64_ATTR(lapse_late_ns);

static struct attribute *lease_attrs[] = {
	&lease_attr_state.attr,
	&lease_attr_holder.attr,
	&lease_attr_token.attr,
	&lease_attr_end_ns.attr,
	&lease_attr_margin_ns.attr,
	&lease_attr_grants.attr,
	&lease_attr_renewals.attr,
	&lease_attr_releases.attr,
	&lease_attr_stale_refused.attr,
	&lease_attr_lapses.attr,
	&lease_attr_fences.attr,
	&lease_attr_lapse_late_ns.attr,
	NULL,
};
ATTRIBUTE_GROUPS(lease);

static void lease_release(struct kobject *kobj)
{
	kfree(kobj_lease(kobj));
}

static const struct kobj_type lease_ktype = {
	.release	= lease_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= lease_groups,
};

/* The in-kernel interface (gnomon_lease.h). */

/* Under leases.lock. */
static struct gnomon_lease *lease_find(const char *name)
{
	struct gnomon_lease *lease;

	list_for_each_entry(lease, &leases.list, node)
		if (!strcmp(lease->name, name))
			return lease;
	return NULL;
}

int gnomon_lease_get(const char *name, struct gnomon_lease **out)
{
	char key[GNOMON_LEASE_NAME_MAX] = {};
	struct gnomon_lease *lease;

	if (!name || strscpy(key, name, sizeof(key)) < 0 ||
	    !lease_name_valid(key, sizeof(key)))
		return -EINVAL;
	mutex_lock(&leases.lock);
	lease = lease_find(key);
	if (lease)
		kobject_get(&lease->kobj);
	mutex_unlock(&leases.lock);
	if (!lease)
		return -ENOENT;
	*out = lease;
	return 0;
}
EXPORT_SYMBOL_GPL(gnomon_lease_get);

void gnomon_lease_put(struct gnomon_lease *lease)
{
	kobject_put(&lease->kobj);
}
EXPORT_SYMBOL_GPL(gnomon_lease_put);

const char *gnomon_lease_name(const struct gnomon_lease *lease)
{
	return lease->name;
}
EXPORT_SYMBOL_GPL(gnomon_lease_name);

bool gnomon_lease_holds(struct gnomon_lease *lease, u64 *token)
{
	struct lease_view v;

	if (lease_evaluate(lease, &v))
		schedule_work(&lease->work);
	*token = v.token;
	return v.state == GNOMON_LEASE_HELD;
}
EXPORT_SYMBOL_GPL(gnomon_lease_holds);

void gnomon_lease_watch(struct gnomon_lease *lease,
			struct gnomon_lease_watch *watch)
{
	mutex_lock(&lease->watch_lock);
	list_add_tail(&watch->node, &lease->watches);
	mutex_unlock(&lease->watch_lock);
}
EXPORT_SYMBOL_GPL(gnomon_lease_watch);

void gnomon_lease_unwatch(struct gnomon_lease *lease,
			  struct gnomon_lease_watch *watch)
{
	mutex_lock(&lease->watch_lock);
	list_del_init(&watch->node);
	mutex_unlock(&lease->watch_lock);
}
EXPORT_SYMBOL_GPL(gnomon_lease_unwatch);

void gnomon_lease_fence_engaged(struct gnomon_lease *lease, const char *device)
{
	unsigned long flags;

	spin_lock_irqsave(&lease->lock, flags);
	lease->fences++;
	strscpy(lease->fence_device, device, sizeof(lease->fence_device));
	lease->pending |= LEASE_PENDING_FENCED;
	spin_unlock_irqrestore(&lease->lock, flags);
	schedule_work(&lease->work);
}
EXPORT_SYMBOL_GPL(gnomon_lease_fence_engaged);

/* Grant, renew, release. */

/* A new resource, in the list and in sysfs; under leases.lock. */
static int lease_create(const char *name, struct gnomon_lease **out)
{
	struct gnomon_lease *lease, *pos;
	int err;

	if (leases.count >= GNOMON_LEASE_MAX_RESOURCES)
		return -ENOSPC;
	lease = kzalloc(sizeof(*lease), GFP_KERNEL);
	if (!lease)
		return -ENOMEM;
	strscpy(lease->name, name, sizeof(lease->name));
	spin_lock_init(&lease->lock);
	hrtimer_init(&lease->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	lease->timer.function = lease_timer_fn;
	INIT_WORK(&lease->work, lease_work_fn);
	mutex_init(&lease->watch_lock);
	INIT_LIST_HEAD(&lease->watches);
	err = kobject_init_and_add(&lease->kobj, &lease_ktype, leases.dir,
				   "%s", lease->name);
	if (err) {
		kobject_put(&lease->kobj);
		return err;
	}
	/* Keep the list sorted by name for GNOMON_IOC_LEASE_NEXT. */
	list_for_each_entry(pos, &leases.list, node)
		if (strcmp(pos->name, name) > 0)
			break;
	list_add_tail(&lease->node, &pos->node);
	leases.count++;
	*out = lease;
	return 0;
}

/* Whether req may set the terms of lease: 0 or -ESTALE.  Under lease->lock. */
static int lease_token_check(const struct gnomon_lease *lease,
			     const struct gnomon_lease_req *req, bool renew)
{
	if (req->token > lease->token)
		return 0;
	if (req->token < lease->token)
		return -ESTALE;
	if (renew && !req->holder[0])
		return 0;
	return strcmp(req->holder, lease->holder) ? -ESTALE : 0;
}

static int lease_req_check(const struct gnomon_lease_req *req, bool release)
{
	if (!lease_name_valid(req->name, sizeof(req->name)) ||
	    !lease_holder_valid(req->holder, sizeof(req->holder)))
		return -EINVAL;
	if (req->flags || req->__pad || req->__reserved[0] || req->__reserved[1])
		return -EINVAL;
	if (release)
		return req->end_ns || req->margin_ns ? -EINVAL : 0;
	if (!req->end_ns || req->margin_ns > GNOMON_LEASE_MAX_MARGIN_NS)
		return -EINVAL;
	return 0;
}

static int lease_set(const struct gnomon_lease_req *req, bool renew)
{
	struct gnomon_lease *lease;
	unsigned long flags;
	bool created = false;
	u64 highest = 0;
	int err;

	mutex_lock(&leases.lock);
	lease = lease_find(req->name);
	if (!lease && renew) {
		err = -ENOENT;
		goto unlock;
	}
	if (!lease) {
		err = lease_create(req->name, &lease);
		if (err)
			goto unlock;
		created = true;
	}
	spin_lock_irqsave(&lease->lock, flags);
	if (renew && !lease->granted) {
		err = -ENOENT;
	} else {
		err = created ? 0 : lease_token_check(lease, req, renew);
		highest = lease->token;
	}
	if (err == -ESTALE)
		lease->stale_refused++;
	if (!err) {
		if (created || req->token > lease->token)
			lease->grants++;
		else
			lease->renewals++;
		if (!renew || req->holder[0])
			memcpy(lease->holder, req->holder, sizeof(lease->holder));
		lease->token = req->token;
		lease->end_ns = req->end_ns;
		lease->margin_ns = req->margin_ns;
		lease->granted = true;
	}
	spin_unlock_irqrestore(&lease->lock, flags);
	if (!err)
		lease_changed(lease);
unlock:
	mutex_unlock(&leases.lock);
	if (err == -ESTALE) {
		gnomon_count_stale_lease();
		gnomon_genl_stale_refused(req->name, req->token, highest);
	} else if (!err) {
		gnomon_genl_lease_granted(req->name, req->holder, req->token,
					  req->end_ns, req->margin_ns);
	}
	return err;
}

static int lease_release_req(const struct gnomon_lease_req *req)
{
	struct gnomon_lease *lease;
	unsigned long flags;
	int err = 0;

	mutex_lock(&leases.lock);
	lease = lease_find(req->name);
	if (!lease) {
		err = -ENOENT;
		goto unlock;
	}
	spin_lock_irqsave(&lease->lock, flags);
	if (req->token < lease->token ||
	    (req->holder[0] && strcmp(req->holder, lease->holder)))
		err = -ESTALE;
	else if (req->token > lease->token)
		err = -EINVAL;
	else if (lease->granted) {
		lease->granted = false;
		lease->end_ns = 0;
		lease->releases++;
	}
	spin_unlock_irqrestore(&lease->lock, flags);
	if (!err)
		lease_changed(lease);
unlock:
	mutex_unlock(&leases.lock);
	return err;
}

static void lease_fill_info(struct gnomon_lease *lease,
			    struct gnomon_lease_info *info)
{
	struct lease_view v;
	unsigned long flags;

	lease_check(lease, &v);
	memset(info, 0, sizeof(*info));
	spin_lock_irqsave(&lease->lock, flags);
	memcpy(info->name, lease->name, sizeof(info->name));
	memcpy(info->holder, lease->holder, sizeof(info->holder));
	info->token = lease->token;
	info->end_ns = lease->end_ns;
	info->margin_ns = lease->margin_ns;
	info->grants = lease->grants;
	info->renewals = lease->renewals;
	info->releases = lease->releases;
	info->stale_refused = lease->stale_refused;
	info->lapses = lease->lapses;
	info->fences = lease->fences;
	info->lapse_late_ns = lease->lapse_late_ns;
	spin_unlock_irqrestore(&lease->lock, flags);
	info->judged_latest_ns = v.tt.latest_ns;
	info->state = v.state;
	info->clock_status = v.tt.status;
}

/* GET (next == false) or NEXT; info->name is the key or the cursor. */
static int lease_lookup(struct gnomon_lease_info *info, bool next)
{
	struct gnomon_lease *lease, *found = NULL;
	char key[GNOMON_LEASE_NAME_MAX];

	memcpy(key, info->name, sizeof(key));
	if (!(next && !key[0]) && !lease_name_valid(key, sizeof(key)))
		return -EINVAL;
	mutex_lock(&leases.lock);
	list_for_each_entry(lease, &leases.list, node) {
		int cmp = strcmp(lease->name, key);

		if (next ? cmp > 0 : !cmp) {
			found = lease;
			break;
		}
	}
	if (found)
		lease_fill_info(found, info);
	mutex_unlock(&leases.lock);
	return found ? 0 : -ENOENT;
}

int gnomon_lease_ioctl(unsigned int cmd, void __user *argp)
{
	struct gnomon_lease_info info;
	struct gnomon_lease_req req;
	int err;

	switch (cmd) {
	case GNOMON_IOC_LEASE_GRANT:
	case GNOMON_IOC_LEASE_RENEW:
	case GNOMON_IOC_LEASE_RELEASE:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&req, argp, sizeof(req)))
			return -EFAULT;
		err = lease_req_check(&req, cmd == GNOMON_IOC_LEASE_RELEASE);
		if (err)
			return err;
		if (cmd == GNOMON_IOC_LEASE_RELEASE)
			return lease_release_req(&req);
		return lease_set(&req, cmd == GNOMON_IOC_LEASE_RENEW);
	case GNOMON_IOC_LEASE_GET:
	case GNOMON_IOC_LEASE_NEXT:
		if (copy_from_user(info.name, argp, sizeof(info.name)))
			return -EFAULT;
		err = lease_lookup(&info, cmd == GNOMON_IOC_LEASE_NEXT);
		if (err)
			return err;
		return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

int gnomon_lease_nth_info(unsigned long n, struct gnomon_lease_info *info)
{
	struct gnomon_lease *lease;
	int err = -ENOENT;

	mutex_lock(&leases.lock);
	list_for_each_entry(lease, &leases.list, node) {
		if (n--)
			continue;
		lease_fill_info(lease, info);
		err = 0;
		break;
	}
	mutex_unlock(&leases.lock);
	return err;
}

void gnomon_leases_clock_changed(void)
{
	struct gnomon_lease *lease;
	struct lease_view v;

	mutex_lock(&leases.lock);
	list_for_each_entry(lease, &leases.list, node)
		lease_check(lease, &v);
	mutex_unlock(&leases.lock);
}

int gnomon_leases_init(struct device *dev)
{
	leases.dir = kobject_create_and_add("leases", &dev->kobj);
	return leases.dir ? 0 : -ENOMEM;
}

void gnomon_leases_exit(void)
{
	struct gnomon_lease *lease, *tmp;

	mutex_lock(&leases.lock);
	list_for_each_entry_safe(lease, tmp, &leases.list, node) {
		list_del(&lease->node);
		hrtimer_cancel(&lease->timer);
		cancel_work_sync(&lease->work);
		WARN_ON_ONCE(!list_empty(&lease->watches));
		kobject_del(&lease->kobj);
		kobject_put(&lease->kobj);
	}
	leases.count = 0;
	mutex_unlock(&leases.lock);
	kobject_put(leases.dir);
}
