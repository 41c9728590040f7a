// SPDX-License-Identifier: GPL-2.0
/*
 * A client's request, carried where route.c says (gd_route__client()): a
 * write is wrapped as a log command here (a LeaseGrant's TTL raised to
 * the minimum first) and proposed or forwarded (requests.c); a
 * linearizable read or a lease read goes through raft__read() or to the
 * leader (requests.c); a membership change is proposed (membership.c),
 * from a client or forwarded by a member; Watch, Lock, Election and
 * MoveLeader go to their
 * parts; everything else is answered at once from this member's state
 * (local.c).  A client stream that closes is told to the parts that keep
 * streams (watch.c, election.c).  The connections call these through
 * struct gd_client_ops (set by main), so that clients.c calls no part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "local.h"
#include "route.h"

/* A grant's TTL raised to the minimum before it is proposed. */
static int grant_cmd(struct gnomond *d, const ProtobufCMessage *decoded,
		     uint8_t **cmd, size_t *len)
{
	Etcdserverpb__LeaseGrantRequest r =
		*(const Etcdserverpb__LeaseGrantRequest *)decoded;
	int64_t min = gd_leases__min_ttl(d);

	if (r.ttl < min)
		r.ttl = min;
	return mvcc_cmd__encode(MVCC_CMD_LEASE_GRANT, &r.base, cmd, len);
}

static void client_write(struct gnomond *d, const struct gd_target *t,
		  const struct api_request *req, enum gd_route route)
{
	enum mvcc_cmd_type type = api_method__cmd_type(req->method,
						       req->decoded);
	uint8_t *cmd;
	size_t len;

	if (type == MVCC_CMD_LEASE_GRANT ?
	    grant_cmd(d, req->decoded, &cmd, &len) :
	    mvcc_cmd__wrap(type, req->msg, req->len, &cmd, &len)) {
		gd_answer__fail(d, t, ETCD_ERR_TIMEOUT);
		return;
	}
	if (route == GD_ROUTE_PROPOSE)
		gd_requests__propose(d, t, cmd, len);
	else
		gd_requests__forward(d, t, req->method, cmd, len);
	free(cmd);
}

/* Answered at once from this member's state (local.c). */
static void serve_local(struct gnomond *d, const struct gd_target *t,
			enum api_method method, const ProtobufCMessage *decoded)
{
	struct gd_member_list ml;
	uint32_t leader = raft__leader(d->raft);
	struct gd_local l = {
		.store = d->store,
		.hdr = gd_answer__header(d),
		.leader = leader ? d->members.s[leader].id : 0,
		.last_index = raft__last_index(d->raft),
		.term = raft__term(d->raft),
		.applied = d->applied,
		.is_learner = d->members.s[d->cfg.self].learner,
	};
	struct mvcc_result res;

	if (method == API_CLUSTER_MEMBER_LIST) {
		gd_peers__list(d, &ml);
		l.members = ml.m;
		l.n_members = ml.n;
	}
	gd_local__answer(&l, method, decoded, &res);
	gd_answer__deliver(d, t, &res);
	mvcc_result__release(&res);
}

void gd_serve__client(struct gnomond *d, uint32_t slot, uint32_t gen,
		      struct api_request *req)
{
	struct gd_target t = { .slot = slot, .gen = gen,
			       .stream = req->stream_id };
	const Etcdserverpb__RangeRequest *range = (const void *)req->decoded;
	bool serializable = req->method == API_KV_RANGE && range->serializable;
	bool leader = raft__role(d->raft) == RAFT_LEADER;
	enum gd_route route = gd_route__client(req->method, serializable,
					       leader);

	if (api_method__cmd_type(req->method, req->decoded)) {
		client_write(d, &t, req, route);
		return;
	}
	switch (route) {
	case GD_ROUTE_FORWARD:
		gd_requests__forward(d, &t, req->method, req->msg, req->len);
		return;
	case GD_ROUTE_READ:
		gd_requests__read(d, &t, (Etcdserverpb__RangeRequest *)
				  api_request__take(req));
		return;
	case GD_ROUTE_LEASE_READ:
		gd_requests__lease_read(d, &t, req->method, req->msg,
					req->len);
		return;
	case GD_ROUTE_WATCH:
		gd_watch__request(d, slot, gen, req);
		return;
	case GD_ROUTE_LOCK:
		gd_lock__request(d, &t, req);
		return;
	case GD_ROUTE_ELECTION:
		gd_election__request(d, &t, req);
		return;
	case GD_ROUTE_MOVE_LEADER:
		gd_maintenance__move_leader(d, &t,
			(const Etcdserverpb__MoveLeaderRequest *)req->decoded);
		return;
	case GD_ROUTE_BACKUP:
		gd_backup__request(d, &t);
		return;
	case GD_ROUTE_MEMBERS:
		gd_membership__request(d, &t, req->method, req->msg, req->len);
		return;
	default:
		serve_local(d, &t, req->method, req->decoded);
		return;
	}
}

void gd_serve__forwarded(struct gnomond *d, uint32_t from, uint64_t id,
			 uint32_t method, const uint8_t *body, size_t len)
{
	struct gd_target t = { .peer = from, .fwd_id = id };
	bool leader = raft__role(d->raft) == RAFT_LEADER;

	if (method < API_METHOD__COUNT &&
	    gd_route__member(method, leader) == GD_ROUTE_MEMBERS)
		gd_membership__request(d, &t, method, body, len);
	else
		gd_requests__forwarded(d, from, id, method, body, len);
}

void gd_serve__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
		      int32_t stream)
{
	gd_watch__closed(d, slot, gen, stream);
	gd_election__closed(d, slot, gen, stream);
}
