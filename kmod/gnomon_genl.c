// SPDX-License-Identifier: GPL-2.0
/*
 * The "gnomon" generic netlink family: fencing events and a lease dump.
 *
 * Events go to the "fencing" multicast group, one message per event, as
 * they happen: a lease granted (or renewed), a lease lapsed (with how far
 * past its end TT.now().latest + margin was when the lapse was noticed), a
 * fence engaged (the first write a target refused after a lapse), a stale
 * token refused, and the clock's status changed.  Every sender runs in
 * process context (an ioctl, or the lease's or the clock's work item), so
 * messages are allocated with GFP_KERNEL and are not built at all when
 * nobody listens.  A listener that falls behind loses messages (ENOBUFS on
 * its socket); the lease state itself is always in the dump, the ioctls and
 * sysfs.
 *
 * GNOMON_CMD_LEASE_GET is a dump open to every user, like the lease ioctls
 * that read.  It has a policy that accepts no attribute: 6.1 rejects every
 * attribute of an op without one, and this keeps both kernels strict.  The
 * multicast group asks for CAP_SYS_ADMIN, the capability that grants leases,
 * where the kernel offers group flags (6.1.0-57 and 6.12 do; older 6.1.y
 * do not, and there anyone may listen).  No genl_split_ops: 6.1 has none.
 */
#include <linux/ktime.h>
#include <net/genetlink.h>

#include "gnomon_internal.h"

static const struct nla_policy gnomon_dump_policy[GNOMON_A_MAX + 1] = {};

static int gnomon_genl_dump(struct sk_buff *skb, struct netlink_callback *cb);

static const struct genl_ops gnomon_genl_ops[] = {
	{
		.cmd	= GNOMON_CMD_LEASE_GET,
		.dumpit	= gnomon_genl_dump,
		.policy	= gnomon_dump_policy,
		.maxattr = GNOMON_A_MAX,
	},
};

static const struct genl_multicast_group gnomon_genl_mcgrps[] = {
	{
		.name	= GNOMON_GENL_MCGRP_FENCING,
#ifdef GENL_MCAST_CAP_SYS_ADMIN
		.flags	= GENL_MCAST_CAP_SYS_ADMIN,
#endif
	},
};

static struct genl_family gnomon_genl_family = {
	.name		= GNOMON_GENL_NAME,
	.version	= GNOMON_GENL_VERSION,
	.maxattr	= GNOMON_A_MAX,
	.module		= THIS_MODULE,
	.ops		= gnomon_genl_ops,
	.n_ops		= ARRAY_SIZE(gnomon_genl_ops),
	.mcgrps		= gnomon_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(gnomon_genl_mcgrps),
};

static int put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, GNOMON_A_PAD);
}

static int put_info(struct sk_buff *skb, const struct gnomon_lease_info *info)
{
	if (nla_put_string(skb, GNOMON_A_NAME, info->name) ||
	    nla_put_string(skb, GNOMON_A_HOLDER, info->holder) ||
	    put_u64(skb, GNOMON_A_TOKEN, info->token) ||
	    put_u64(skb, GNOMON_A_END_NS, info->end_ns) ||
	    put_u64(skb, GNOMON_A_MARGIN_NS, info->margin_ns) ||
	    put_u64(skb, GNOMON_A_JUDGED_LATEST_NS, info->judged_latest_ns) ||
	    nla_put_u32(skb, GNOMON_A_STATE, info->state) ||
	    nla_put_u32(skb, GNOMON_A_CLOCK_STATUS, info->clock_status) ||
	    put_u64(skb, GNOMON_A_GRANTS, info->grants) ||
	    put_u64(skb, GNOMON_A_RENEWALS, info->renewals) ||
	    put_u64(skb, GNOMON_A_RELEASES, info->releases) ||
	    put_u64(skb, GNOMON_A_STALE_REFUSED, info->stale_refused) ||
	    put_u64(skb, GNOMON_A_LAPSES, info->lapses) ||
	    put_u64(skb, GNOMON_A_FENCES, info->fences) ||
	    put_u64(skb, GNOMON_A_LATE_NS, info->lapse_late_ns))
		return -EMSGSIZE;
	return 0;
}

/* cb->args[0]: how many resources (in name order) earlier parts sent. */
static int gnomon_genl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct gnomon_lease_info info;
	unsigned long n = cb->args[0];
	void *hdr;

	while (!gnomon_lease_nth_info(n, &info)) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &gnomon_genl_family,
				  NLM_F_MULTI, GNOMON_CMD_LEASE_GET);
		if (!hdr)
			break;
		if (put_info(skb, &info)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		n++;
	}
	cb->args[0] = n;
	return skb->len;
}

/* A new event message with its time stamp, or NULL (nobody listens). */
static struct sk_buff *event_new(u8 cmd, void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&gnomon_genl_family, &init_net, 0))
		return NULL;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &gnomon_genl_family, 0, cmd);
	if (!*hdr || put_u64(skb, GNOMON_A_TIME_NS, ktime_get_real_ns())) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

/* Send the message, or drop it if building it failed (err). */
static void event_send(struct sk_buff *skb, void *hdr, int err)
{
	if (err) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&gnomon_genl_family, skb, 0, 0, GFP_KERNEL);
}

void gnomon_genl_lease_granted(const char *name, const char *holder, u64 token,
			       u64 end_ns, u64 margin_ns)
{
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(GNOMON_CMD_LEASE_GRANTED, &hdr);
	if (!skb)
		return;
	event_send(skb, hdr,
		   nla_put_string(skb, GNOMON_A_NAME, name) ||
		   nla_put_string(skb, GNOMON_A_HOLDER, holder) ||
		   put_u64(skb, GNOMON_A_TOKEN, token) ||
		   put_u64(skb, GNOMON_A_END_NS, end_ns) ||
		   put_u64(skb, GNOMON_A_MARGIN_NS, margin_ns));
}

void gnomon_genl_lease_lapsed(const char *name, u64 token, u32 state,
			      u64 late_ns)
{
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(GNOMON_CMD_LEASE_LAPSED, &hdr);
	if (!skb)
		return;
	event_send(skb, hdr,
		   nla_put_string(skb, GNOMON_A_NAME, name) ||
		   put_u64(skb, GNOMON_A_TOKEN, token) ||
		   nla_put_u32(skb, GNOMON_A_STATE, state) ||
		   put_u64(skb, GNOMON_A_LATE_NS, late_ns));
}

void gnomon_genl_fence_engaged(const char *name, u64 token, const char *device)
{
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(GNOMON_CMD_FENCE_ENGAGED, &hdr);
	if (!skb)
		return;
	event_send(skb, hdr,
		   nla_put_string(skb, GNOMON_A_NAME, name) ||
		   put_u64(skb, GNOMON_A_TOKEN, token) ||
		   nla_put_string(skb, GNOMON_A_DEVICE, device));
}

void gnomon_genl_stale_refused(const char *name, u64 token, u64 highest)
{
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(GNOMON_CMD_STALE_REFUSED, &hdr);
	if (!skb)
		return;
	event_send(skb, hdr,
		   nla_put_string(skb, GNOMON_A_NAME, name) ||
		   put_u64(skb, GNOMON_A_TOKEN, token) ||
		   put_u64(skb, GNOMON_A_HIGHEST_TOKEN, highest));
}

void gnomon_genl_clock_status(u32 status, u32 old_status)
{
	struct sk_buff *skb;
	void *hdr;

	skb = event_new(GNOMON_CMD_CLOCK_STATUS, &hdr);
	if (!skb)
		return;
	event_send(skb, hdr,
		   nla_put_u32(skb, GNOMON_A_CLOCK_STATUS, status) ||
		   nla_put_u32(skb, GNOMON_A_OLD_CLOCK_STATUS, old_status));
}

int gnomon_genl_init(void)
{
	return genl_register_family(&gnomon_genl_family);
}

void gnomon_genl_exit(void)
{
	genl_unregister_family(&gnomon_genl_family);
}
