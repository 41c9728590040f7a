// SPDX-License-Identifier: GPL-2.0
/*
 * Maintenance.MoveLeader: an operator moves the leadership to another
 * member, as etcd does, through Raft's leadership transfer
 * (raft__transfer(): the leader brings the target up to date, then tells
 * it to campaign at once; the target's vote request carries the transfer
 * flag, so the other members' lease promises do not hold it back).
 *
 * As etcd: only the leader takes it ("not leader" elsewhere; etcdctl
 * move-leader finds the leader itself), a target that is not a member is
 * a "bad leader transferee", moving to the leader itself succeeds at
 * once, and the answer comes when this member sees the target lead, or
 * "leader transfer took too long" at the request deadline.  One transfer
 * runs at a time: a second request meanwhile waits for the same target or
 * gets "leader changed".
 *
 * Maintenance.Snapshot is backup_send.c's; its streams move every turn
 * from here.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../common/grow.h"
#include "daemon.h"
#include "log.h"

static void answer(struct gnomond *d, const struct gd_target *t,
		   enum etcd_err err)
{
	struct mvcc_header hdr = gd_answer__header(d);
	struct mvcc_result res = { .err = err };

	if (!err && api_header_only__pack(API_MAINTENANCE_MOVE_LEADER, &hdr,
					  mvcc_store__revision(d->store),
					  &res.resp, &res.len))
		res.err = ETCD_ERR_TIMEOUT;
	gd_answer__deliver(d, t, &res);
	mvcc_result__release(&res);
}

void gd_maintenance__move_leader(struct gnomond *d, const struct gd_target *t,
				 const Etcdserverpb__MoveLeaderRequest *req)
{
	struct gd_pending p = { .t = *t, .deadline = gd_requests__deadline(d) };
	uint32_t target = gd_members__by_id(&d->members, req->targetid);
	struct gd_pending_vec *v = &d->moves;
	int rc;

	if (raft__role(d->raft) != RAFT_LEADER) {
		answer(d, t, ETCD_ERR_NOT_LEADER);
		return;
	}
	if (!target) {
		answer(d, t, ETCD_ERR_BAD_LEADER_TRANSFEREE);
		return;
	}
	if (target == d->cfg.self) {
		answer(d, t, ETCD_OK);
		return;
	}
	rc = raft__transfer(d->raft, target);
	if (rc == -EBUSY && v->len && v->v[0].index == target)
		rc = 0;		/* the same move: wait with it */
	if (rc) {
		answer(d, t, rc == -ENOTCONN ? ETCD_ERR_NOT_LEADER :
			     ETCD_ERR_LEADER_CHANGED);
		return;
	}
	gd_info("moving the leadership to %s at an operator's request",
		gd_peers__name(d, target));
	p.index = target;
	if (v->len == v->cap) {
		struct gd_pending *n = grow__array(v->v, &v->cap, v->len + 1,
						   sizeof(*n), 4);

		if (!n) {
			answer(d, t, ETCD_ERR_TIMEOUT);
			return;
		}
		v->v = n;
	}
	v->v[v->len++] = p;
}

void gd_maintenance__turn(struct gnomond *d)
{
	struct gd_pending_vec *v = &d->moves;
	uint32_t leader = raft__leader(d->raft);

	gd_backup__turn(d);

	for (size_t i = 0; i < v->len;) {
		struct gd_pending *p = &v->v[i];

		if (leader == p->index)
			answer(d, &p->t, ETCD_OK);
		else if (p->deadline <= d->ticks)
			answer(d, &p->t, ETCD_ERR_TIMEOUT_LEADER_TRANSFER);
		else {
			i++;
			continue;
		}
		v->v[i] = v->v[--v->len];
	}
}

void gd_maintenance__drop_all(struct gnomond *d)
{
	free(d->moves.v);
	d->moves = (struct gd_pending_vec){ 0 };
	gd_backup__exit();
}
