// SPDX-License-Identifier: GPL-2.0
/*
 * A client's request, carried where route.c says (gd_route__client()): a
 * write is wrapped as a log command here (a LeaseGrant's TTL raised to
 * the minimum first) and proposed or forwarded (requests.c); a
 * linearizable read or a lease read goes through raft__read() or to the
 * leader (requests.c); Watch, Lock, Election and MoveLeader go to their
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

/* Split a comma-separated list in place into at most max pointers. */
static size_t split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		v[n++] = tok;
	return n;
}

/* The member table as MemberList lists it: this member's advertised
 * client URLs, the others' as their hello frames gave them. */
struct member_list {
	struct api_member m[RAFT_MAX_MEMBERS];
	const char *peer[RAFT_MAX_MEMBERS];
	const char *client[RAFT_MAX_MEMBERS][GD_MAX_URLS];
	char urls[RAFT_MAX_MEMBERS][GD_MAX_URLS * GD_URL_LEN];
};

static void member_list(const struct gnomond *d, struct member_list *l)
{
	const struct gd_url_list *own = &d->cfg.advertise_client;

	for (uint32_t i = 0; i < d->cfg.n_members; i++) {
		uint32_t id = i + 1;
		struct api_member *m = &l->m[i];

		l->peer[i] = d->cfg.members[i].peer.text;
		*m = (struct api_member){
			.id = d->cfg.members[i].id,
			.name = d->cfg.members[i].name,
			.peer_urls = &l->peer[i], .n_peer_urls = 1,
			.client_urls = l->client[i],
		};
		if (id == d->cfg.self) {
			for (unsigned int j = 0; j < own->n; j++)
				l->client[i][j] = own->v[j].text;
			m->n_client_urls = own->n;
			continue;
		}
		snprintf(l->urls[i], sizeof(l->urls[i]), "%s",
			 d->peers[id].client_urls);
		m->n_client_urls = split(l->urls[i], l->client[i],
					 GD_MAX_URLS);
	}
}

/* Answered at once from this member's state (local.c). */
static void serve_local(struct gnomond *d, const struct gd_target *t,
			enum api_method method, const ProtobufCMessage *decoded)
{
	struct member_list ml;
	uint32_t leader = raft__leader(d->raft);
	struct gd_local l = {
		.store = d->store,
		.hdr = gd_answer__header(d),
		.leader = leader ? d->cfg.members[leader - 1].id : 0,
		.last_index = raft__last_index(d->raft),
		.term = raft__term(d->raft),
		.applied = d->applied,
	};
	struct mvcc_result res;

	if (method == API_CLUSTER_MEMBER_LIST) {
		member_list(d, &ml);
		l.members = ml.m;
		l.n_members = d->cfg.n_members;
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
	default:
		serve_local(d, &t, req->method, req->decoded);
		return;
	}
}

void gd_serve__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
		      int32_t stream)
{
	gd_watch__closed(d, slot, gen, stream);
	gd_election__closed(d, slot, gen, stream);
}
