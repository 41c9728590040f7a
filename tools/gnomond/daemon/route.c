// SPDX-License-Identifier: GPL-2.0
/*
 * Where each request goes (route.h).  From a client of this member:
 *
 *   write (Put, DeleteRange, Txn, Compact, Alarm: GET too, as etcd;
 *   LeaseGrant, LeaseRevoke)
 *       leader:   proposed; answered when its entry is applied
 *       follower: forwarded to the leader, whose answer is relayed
 *   linearizable Range
 *       leader:   raft__read(), under the lease or after a quorum round
 *                 (ReadIndex), served once the store has applied the
 *                 read index
 *       follower: forwarded like a write
 *   LeaseKeepAlive (each message of the stream), LeaseTimeToLive
 *       leader:   raft__read() like a linearizable Range, answered from
 *                 the leader's renewal times (leases.c)
 *       follower: forwarded like a write
 *   MemberAdd, MemberRemove, MemberUpdate, MemberPromote
 *       leader:   proposed as a configuration change (membership.c)
 *       follower: forwarded like a write
 *   Watch (each message), Lock, Unlock, Campaign, Proclaim, Leader,
 *   Observe, Resign, MoveLeader, Snapshot
 *       their own parts, on any member (watch.c, lock.c, election.c,
 *       maintenance.c, which says "not leader" on a follower, as etcd,
 *       backup_send.c)
 *   anything else (serializable Range, Status, MemberList, LeaseLeases,
 *   Defragment, Hash, HashKV)
 *       served at once by the member that got it (local.c)
 *
 * From another member (forwarded), or held by this one while no leader
 * was known: what a follower forwards, served only by the leader; a
 * member that is no longer the leader says "not leader", and nothing is
 * forwarded twice.
 */
#include "route.h"

static bool member_change(enum api_method m)
{
	return m == API_CLUSTER_MEMBER_ADD || m == API_CLUSTER_MEMBER_REMOVE ||
	       m == API_CLUSTER_MEMBER_UPDATE ||
	       m == API_CLUSTER_MEMBER_PROMOTE;
}

enum gd_route gd_route__client(enum api_method m, bool serializable,
			       bool leader)
{
	if (api_method__cmd_type(m, NULL))
		return leader ? GD_ROUTE_PROPOSE : GD_ROUTE_FORWARD;
	if (member_change(m))
		return leader ? GD_ROUTE_MEMBERS : GD_ROUTE_FORWARD;
	switch (m) {
	case API_WATCH:
		return GD_ROUTE_WATCH;
	case API_LOCK_LOCK:
	case API_LOCK_UNLOCK:
		return GD_ROUTE_LOCK;
	case API_ELECTION_CAMPAIGN:
	case API_ELECTION_PROCLAIM:
	case API_ELECTION_LEADER:
	case API_ELECTION_OBSERVE:
	case API_ELECTION_RESIGN:
		return GD_ROUTE_ELECTION;
	case API_LEASE_KEEPALIVE:
	case API_LEASE_TIME_TO_LIVE:
		return leader ? GD_ROUTE_LEASE_READ : GD_ROUTE_FORWARD;
	case API_MAINTENANCE_MOVE_LEADER:
		return GD_ROUTE_MOVE_LEADER;
	case API_MAINTENANCE_SNAPSHOT:
		return GD_ROUTE_BACKUP;
	case API_KV_RANGE:
		if (!serializable)
			return leader ? GD_ROUTE_READ : GD_ROUTE_FORWARD;
		return GD_ROUTE_LOCAL;
	default:
		return GD_ROUTE_LOCAL;
	}
}

enum gd_route gd_route__member(enum api_method m, bool leader)
{
	enum gd_route r;

	if (api_method__cmd_type(m, NULL))
		r = GD_ROUTE_PROPOSE;
	else if (member_change(m))
		r = GD_ROUTE_MEMBERS;
	else if (m == API_KV_RANGE)
		r = GD_ROUTE_READ;
	else if (m == API_LEASE_KEEPALIVE || m == API_LEASE_TIME_TO_LIVE)
		r = GD_ROUTE_LEASE_READ;
	else
		return GD_ROUTE_UNIMPLEMENTED;
	return leader ? r : GD_ROUTE_NOT_LEADER;
}

const char *gd_route__name(enum gd_route r)
{
	static const char *const names[GD_ROUTE__COUNT] = {
		[GD_ROUTE_PROPOSE] = "propose",
		[GD_ROUTE_FORWARD] = "forward",
		[GD_ROUTE_NOT_LEADER] = "not-leader",
		[GD_ROUTE_READ] = "read",
		[GD_ROUTE_LEASE_READ] = "lease-read",
		[GD_ROUTE_LOCAL] = "local",
		[GD_ROUTE_WATCH] = "watch",
		[GD_ROUTE_LOCK] = "lock",
		[GD_ROUTE_ELECTION] = "election",
		[GD_ROUTE_MOVE_LEADER] = "move-leader",
		[GD_ROUTE_BACKUP] = "backup",
		[GD_ROUTE_MEMBERS] = "members",
		[GD_ROUTE_UNIMPLEMENTED] = "unimplemented",
	};

	return (unsigned int)r < GD_ROUTE__COUNT ? names[r] : "?";
}
