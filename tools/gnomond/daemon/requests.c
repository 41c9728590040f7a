// SPDX-License-Identifier: GPL-2.0
/*
 * Where each client request goes, and how its answer comes back.
 *
 *   write (Put, DeleteRange, Txn, Compact, Alarm: GET too, as etcd)
 *       leader:   proposed (a DeleteRange, Txn or revoke with the leader's
 *                 stamp, leases.c); answered when its entry is applied, with the
 *                 state machine's result; if a different entry lands at
 *                 its index (leadership changed), "leader changed"
 *       follower: forwarded to the leader (forward.h), whose answer is
 *                 relayed once this member has applied what the leader had
 *                 applied when it answered (a serializable read sent next
 *                 to this member sees the write, as with etcd); "no
 *                 leader" when none is known or reachable
 *   linearizable Range
 *       leader:   raft__read(): under the lease it comes back at once, else
 *                 after a quorum round (ReadIndex); served from the local
 *                 store once it has applied the read index
 *       follower: forwarded to the leader like a write
 *   LeaseKeepAlive (each message of the stream), LeaseTimeToLive
 *       leader:   raft__read() like a linearizable Range, then answered
 *                 from the leader's renewal times (leases.c)
 *       follower: forwarded to the leader like a write
 *   serializable Range, Status, MemberList, LeaseLeases,
 *       Defragment
 *       served at once by the member that got it (local.c)
 *   MoveLeader
 *       leader:   a leadership transfer (maintenance.c)
 *       follower: "not leader", as etcd
 *   a write applied here and refused for space
 *       this member proposes its own NOSPACE alarm, as etcd's do
 *   Watch (each message of the stream)
 *       served by the member that got it, from its own store (watch.c)
 *   Lock, Unlock (v3lockpb); Campaign, Proclaim, Leader, Observe, Resign
 *       (v3electionpb, election.c, the same way)
 *       a Txn or DeleteRange written as above, whose answer goes back to
 *       lock.c (target lock_id); the wait for the lock is local
 *
 * While no leader is known (an election), a follower holds what it would
 * forward until one is (or it wins itself).  A request forwarded to a
 * member that is no longer the leader gets "not leader".  Every waiting
 * request has a deadline, etcd's: 5 s plus two election timeouts (7 s with
 * the defaults), counted in ticks, and gets etcd's "request timed out"
 * after it.  Writes wait in a queue ordered by
 * log index; reads and forwards in small lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "forward.h"
#include "local.h"
#include "log.h"

#define REQUEST_TIMEOUT_BASE_MS 5000

static int vec_push(struct gd_pending_vec *v, const struct gd_pending *p)
{
	if (v->head && v->head * 2 >= v->len) {
		memmove(v->v, v->v + v->head, (v->len - v->head) * sizeof(*p));
		v->len -= v->head;
		v->head = 0;
	}
	if (v->len == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *n = realloc(v->v, cap * sizeof(*p));

		if (!n)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->len++] = *p;
	return 0;
}

/* Remove v[i] (not the queue's order: reads and forwards only). */
static void vec_remove(struct gd_pending_vec *v, size_t i)
{
	v->v[i] = v->v[--v->len];
}

/* To the member that forwarded the request: the applied index, then the
 * answer (forward.h). */
static void deliver_peer(struct gnomond *d, const struct gd_target *t,
			 const struct mvcc_result *res)
{
	size_t len = FWD_RESULT_INDEX_SIZE + (res->err ? 0 : res->len);
	uint8_t *body = malloc(len);

	if (!body)
		return;		/* the member times the request out */
	for (int i = 0; i < FWD_RESULT_INDEX_SIZE; i++)
		body[i] = (uint8_t)(d->applied >> (8 * i));
	if (len > FWD_RESULT_INDEX_SIZE)
		memcpy(body + FWD_RESULT_INDEX_SIZE, res->resp, res->len);
	gd_peers__send_fwd(d, t->peer, FWD_RESULT, t->fwd_id, 0,
			   (int32_t)res->err, body, len);
	free(body);
}

void gd_requests__deliver(struct gnomond *d, const struct gd_target *t,
			  const struct mvcc_result *res)
{
	struct api_session *s;

	if (t->lock_id) {
		gd_lock__result(d, t->lock_id, res);
		return;
	}
	if (t->elect_id) {
		gd_election__result(d, t->elect_id, res);
		return;
	}
	if (t->peer) {
		deliver_peer(d, t, res);
		return;
	}
	s = gd_clients__session(d, t->slot, t->gen);
	if (s)
		api_session__answer(s, t->stream, res);
}

void gd_requests__answer(struct gnomond *d, const struct gd_target *t,
			 const ProtobufCMessage *msg, enum etcd_err err)
{
	struct mvcc_result res = { .err = err };

	if (!err) {
		res.len = protobuf_c_message_get_packed_size(msg);
		res.resp = malloc(res.len ? res.len : 1);
		if (res.resp)
			protobuf_c_message_pack(msg, res.resp);
		else
			res.err = ETCD_ERR_TIMEOUT;
	}
	gd_requests__deliver(d, t, &res);
	mvcc_result__release(&res);
}

void gd_requests__header(struct gnomond *d, Etcdserverpb__ResponseHeader *h)
{
	struct mvcc_header hdr = gd_node__header(d);

	h->cluster_id = hdr.cluster_id;
	h->member_id = hdr.member_id;
	h->raft_term = hdr.raft_term;
	h->revision = mvcc_store__revision(d->store);
}

static void fail(struct gnomond *d, const struct gd_target *t,
		 enum etcd_err err)
{
	struct mvcc_result res = { .err = err };

	gd_requests__deliver(d, t, &res);
}

uint64_t gd_requests__deadline(const struct gnomond *d)
{
	uint64_t ms = REQUEST_TIMEOUT_BASE_MS + 2ull * d->cfg.election_ms;

	return d->ticks + ms / d->cfg.heartbeat_ms + 1;
}

/* Send a waiting forward to the leader: true once it is sent. */
static bool forward_send(struct gnomond *d, struct gd_pending *p)
{
	uint32_t leader = raft__leader(d->raft);

	if (!leader || leader == d->cfg.self ||
	    !gd_peers__send_fwd(d, leader, FWD_REQUEST, p->read_id, p->method,
				0, p->body, p->body_len))
		return false;
	free(p->body);
	p->body = NULL;
	return true;
}

/* To the leader; while none is known (an election), wait for one until
 * the request's deadline, as etcd does. */
static void forward(struct gnomond *d, const struct gd_target *t,
		    enum api_method method, const uint8_t *body, size_t len)
{
	struct gd_pending p = { .t = *t, .deadline = gd_requests__deadline(d),
				.method = method, .body_len = len };

	p.read_id = ++d->next_id;
	p.body = malloc(len ? len : 1);
	if (!p.body) {
		fail(d, t, ETCD_ERR_TIMEOUT);
		return;
	}
	if (len)
		memcpy(p.body, body, len);
	if (!forward_send(d, &p))
		d->n_unsent++;
	if (vec_push(&d->forwards, &p)) {
		if (p.body) {
			free(p.body);
			d->n_unsent--;
		}
		fail(d, t, ETCD_ERR_TIMEOUT);
	}
}

static enum etcd_err raft_error(int rc)
{
	return rc == -ENOTCONN ? ETCD_ERR_NOT_LEADER :
	       rc == -EBUSY ? ETCD_ERR_LEADER_CHANGED : ETCD_ERR_TIMEOUT;
}

static void submit_write(struct gnomond *d, const struct gd_target *t,
			 enum api_method method, const uint8_t *cmd,
			 size_t len)
{
	struct gd_pending_vec *w = &d->writes;
	struct gd_pending p = { .t = *t, .deadline = gd_requests__deadline(d) };
	int rc;

	if (raft__role(d->raft) != RAFT_LEADER) {
		if (t->peer)
			fail(d, t, ETCD_ERR_NOT_LEADER);
		else
			forward(d, t, method, cmd, len);
		return;
	}
	if (mvcc_cmd__needs_stamp(cmd, len)) {
		uint8_t *stamped;
		size_t slen;

		rc = gd_leases__stamp(d, cmd, len, &stamped, &slen);
		if (!rc) {
			rc = raft__propose(d->raft, stamped, (uint32_t)slen,
					   &p.index);
			free(stamped);
		}
	} else {
		rc = raft__propose(d->raft, cmd, (uint32_t)len, &p.index);
	}
	if (rc) {
		fail(d, t, raft_error(rc));
		return;
	}
	p.term = raft__term(d->raft);
	/* Entries at or above this index from an older term are gone. */
	while (w->len > w->head && w->v[w->len - 1].index >= p.index)
		fail(d, &w->v[--w->len].t, ETCD_ERR_LEADER_CHANGED);
	if (vec_push(w, &p))
		fail(d, t, ETCD_ERR_TIMEOUT);
}

static void free_read(struct gd_pending *p)
{
	if (p->range)
		protobuf_c_message_free_unpacked(&p->range->base, NULL);
	p->range = NULL;
}

void gd_requests__write(struct gnomond *d, const struct gd_target *t,
			enum api_method method, const uint8_t *cmd,
			size_t len)
{
	submit_write(d, t, method, cmd, len);
}

/* A linearizable read (@p: what to serve then); takes p->range. */
static void submit_read(struct gnomond *d, const struct gd_target *t,
			struct gd_pending *p)
{
	int rc;

	p->t = *t;
	p->deadline = gd_requests__deadline(d);
	p->read_id = ++d->next_id;
	rc = raft__read(d->raft, p->read_id, &d->now);
	if (!rc)
		rc = vec_push(&d->reads, p);
	if (rc) {
		fail(d, t, raft_error(rc));
		free_read(p);
	}
}

static void submit_range(struct gnomond *d, const struct gd_target *t,
			 Etcdserverpb__RangeRequest *range)
{
	struct gd_pending p = { .range = range, .method = API_KV_RANGE };

	submit_read(d, t, &p);
}

void gd_requests__range(struct gnomond *d, const struct gd_target *t,
			const uint8_t *msg, size_t len)
{
	Etcdserverpb__RangeRequest *range;

	if (raft__role(d->raft) != RAFT_LEADER) {
		forward(d, t, API_KV_RANGE, msg, len);
		return;
	}
	range = etcdserverpb__range_request__unpack(NULL, len, msg);
	if (range)
		submit_range(d, t, range);
	else
		fail(d, t, ETCD_ERR_BAD_COMMAND);
}

/* A KeepAlive or TimeToLive on the leader, or one to forward. */
static void lease_read(struct gnomond *d, const struct gd_target *t,
		       uint32_t method, const uint8_t *body, size_t len)
{
	struct gd_pending p = { .method = method };
	ProtobufCMessage *m;

	if (raft__role(d->raft) != RAFT_LEADER) {
		if (t->peer)
			fail(d, t, ETCD_ERR_NOT_LEADER);
		else
			forward(d, t, method, body, len);
		return;
	}
	m = protobuf_c_message_unpack(method == API_LEASE_KEEPALIVE ?
		&etcdserverpb__lease_keep_alive_request__descriptor :
		&etcdserverpb__lease_time_to_live_request__descriptor,
		NULL, len, body);
	if (!m) {
		fail(d, t, ETCD_ERR_BAD_COMMAND);
		return;
	}
	if (method == API_LEASE_KEEPALIVE) {
		p.lease_id = ((Etcdserverpb__LeaseKeepAliveRequest *)m)->id;
	} else {
		p.lease_id = ((Etcdserverpb__LeaseTimeToLiveRequest *)m)->id;
		p.lease_keys = ((Etcdserverpb__LeaseTimeToLiveRequest *)m)->keys;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	/* The leadership check must read the clock after the request came
	 * (lease-safety.rst, K1): the turn's reading may be older. */
	gd_now(d);
	submit_read(d, t, &p);
}

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

void gd_requests__client(struct gnomond *d, uint32_t slot, uint32_t gen,
			 struct api_request *req)
{
	struct gd_target t = { .slot = slot, .gen = gen,
			       .stream = req->stream_id };
	enum mvcc_cmd_type type = api_method__cmd_type(req->method,
						       req->decoded);
	Etcdserverpb__RangeRequest *range;
	uint8_t *cmd;
	size_t len;

	if (type) {
		if (type == MVCC_CMD_LEASE_GRANT ?
		    grant_cmd(d, req->decoded, &cmd, &len) :
		    mvcc_cmd__wrap(type, req->msg, req->len, &cmd, &len)) {
			fail(d, &t, ETCD_ERR_TIMEOUT);
			return;
		}
		submit_write(d, &t, req->method, cmd, len);
		free(cmd);
		return;
	}
	if (req->method == API_WATCH) {
		gd_watch__request(d, slot, gen, req);
		return;
	}
	if (req->method == API_LOCK_LOCK || req->method == API_LOCK_UNLOCK) {
		gd_lock__request(d, &t, req);
		return;
	}
	if (req->method >= API_ELECTION_CAMPAIGN &&
	    req->method <= API_ELECTION_RESIGN) {
		gd_election__request(d, &t, req);
		return;
	}
	if (req->method == API_LEASE_KEEPALIVE ||
	    req->method == API_LEASE_TIME_TO_LIVE) {
		lease_read(d, &t, req->method, req->msg, req->len);
		return;
	}
	if (req->method == API_MAINTENANCE_MOVE_LEADER) {
		gd_maintenance__move_leader(d, &t,
			(const Etcdserverpb__MoveLeaderRequest *)req->decoded);
		return;
	}
	range = (Etcdserverpb__RangeRequest *)req->decoded;
	if (req->method != API_KV_RANGE || range->serializable) {
		gd_local__serve(d, &t, req->method, req->decoded);
		return;
	}
	if (raft__role(d->raft) == RAFT_LEADER)
		submit_range(d, &t, (Etcdserverpb__RangeRequest *)
			     api_request__take(req));
	else
		forward(d, &t, API_KV_RANGE, req->msg, req->len);
}

/* A request as the leader gets it, forwarded (t->peer) or held while no
 * leader was known: a RangeRequest or a write's log command. */
static void route(struct gnomond *d, const struct gd_target *t,
		  uint32_t method, const uint8_t *body, size_t len)
{
	Etcdserverpb__RangeRequest *range;

	switch (method) {
	case API_KV_RANGE:
		range = etcdserverpb__range_request__unpack(NULL, len, body);
		if (!range) {
			fail(d, t, ETCD_ERR_BAD_COMMAND);
			return;
		}
		if (raft__role(d->raft) != RAFT_LEADER) {
			protobuf_c_message_free_unpacked(&range->base, NULL);
			fail(d, t, ETCD_ERR_NOT_LEADER);
			return;
		}
		submit_range(d, t, range);
		return;
	case API_LEASE_KEEPALIVE:
	case API_LEASE_TIME_TO_LIVE:
		lease_read(d, t, method, body, len);
		return;
	case API_LEASE_GRANT:
	case API_LEASE_REVOKE:
	case API_KV_PUT:
	case API_KV_DELETE_RANGE:
	case API_KV_TXN:
	case API_KV_COMPACT:
	case API_MAINTENANCE_ALARM:
		submit_write(d, t, method, body, len);
		return;
	default:
		gd_warn("member %u forwarded unknown method %u", t->peer,
			method);
		fail(d, t, ETCD_ERR_UNIMPLEMENTED);
	}
}

void gd_requests__forwarded(struct gnomond *d, uint32_t from, uint64_t id,
			    uint32_t method, const uint8_t *body, size_t len)
{
	struct gd_target t = { .peer = from, .fwd_id = id };

	route(d, &t, method, body, len);
}

void gd_requests__retry_forwards(struct gnomond *d)
{
	struct gd_pending_vec *f = &d->forwards;
	bool leader = raft__role(d->raft) == RAFT_LEADER;
	struct gd_pending q;

	if (!d->n_unsent || !raft__leader(d->raft))
		return;
	for (size_t i = 0; i < f->len && d->n_unsent;) {
		struct gd_pending *p = &f->v[i];

		if (!p->body) {
			i++;
			continue;
		}
		if (!leader) {
			d->n_unsent -= forward_send(d, p);
			i++;
			continue;
		}
		/* We became the leader ourselves: serve it here. */
		q = *p;
		vec_remove(f, i);
		d->n_unsent--;
		route(d, &q.t, q.method, q.body, q.body_len);
		free(q.body);
	}
}

void gd_requests__result(struct gnomond *d, uint64_t id, int32_t status,
			 const uint8_t *body, size_t len)
{
	struct gd_pending_vec *f = &d->forwards;
	struct mvcc_result res = {
		.err = status >= 0 && status < ETCD_ERR__COUNT ? status :
		       ETCD_ERR_BAD_COMMAND,
	};
	uint64_t index = 0;
	struct gd_pending *p;

	if (len < FWD_RESULT_INDEX_SIZE) {
		res.err = ETCD_ERR_BAD_COMMAND;
	} else {
		for (int i = 0; i < FWD_RESULT_INDEX_SIZE; i++)
			index |= (uint64_t)body[i] << (8 * i);
		res.resp = (uint8_t *)body + FWD_RESULT_INDEX_SIZE;
		res.len = len - FWD_RESULT_INDEX_SIZE;
	}
	for (size_t i = 0; i < f->len; i++) {
		p = &f->v[i];
		if (p->read_id != id || p->resp)
			continue;
		if (!res.err && index > d->applied) {
			/* Hold it until this member has applied as much. */
			p->resp = malloc(res.len ? res.len : 1);
			if (p->resp) {
				memcpy(p->resp, res.resp, res.len);
				p->resp_len = res.len;
				p->index = index;
				return;
			}
			res.err = ETCD_ERR_TIMEOUT;
		}
		gd_requests__deliver(d, &p->t, &res);
		vec_remove(f, i);
		return;
	}
}

void gd_requests__raise_alarms(struct gnomond *d)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	struct gd_target none = { .slot = GD_MAX_CLIENTS };
	uint8_t *cmd;
	size_t len;

	a.memberid = gd_node__header(d).member_id;
	a.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	a.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	if (!d->raise_nospace)
		return;
	if (mvcc_store__alarm_raised(d->store, a.memberid, a.alarm)) {
		d->raise_nospace = false;
		return;
	}
	if (d->ticks < d->nospace_retry ||
	    mvcc_cmd__encode(MVCC_CMD_ALARM, &a.base, &cmd, &len))
		return;
	gd_warn("a write exceeded the space quota: raising the NOSPACE alarm");
	d->nospace_retry = gd_requests__deadline(d);
	submit_write(d, &none, API_MAINTENANCE_ALARM, cmd, len);
	free(cmd);
}

void gd_requests__applied(struct gnomond *d, const struct raft_entry *e,
			  struct mvcc_result *res)
{
	struct gd_pending_vec *w = &d->writes;
	struct gd_pending *p;

	/* As etcd: a member that applies a refusal for space while no
	 * NOSPACE alarm stands raises its own, which then refuses every
	 * write that adds data. */
	if (res && res->err == ETCD_ERR_NO_SPACE &&
	    !mvcc_store__nospace(d->store))
		d->raise_nospace = true;

	while (w->head < w->len && w->v[w->head].index < e->index)
		fail(d, &w->v[w->head++].t, ETCD_ERR_LEADER_CHANGED);
	if (w->head == w->len || w->v[w->head].index != e->index)
		return;
	p = &w->v[w->head++];
	if (p->term == e->term && res)
		gd_requests__deliver(d, &p->t, res);
	else
		fail(d, &p->t, ETCD_ERR_LEADER_CHANGED);
}

void gd_requests__read_index(struct gnomond *d, const struct raft_read *rd)
{
	struct gd_pending_vec *r = &d->reads;

	for (size_t i = 0; i < r->len; i++) {
		struct gd_pending *p = &r->v[i];

		if (p->read_id != rd->id)
			continue;
		if (rd->status) {
			fail(d, &p->t, ETCD_ERR_LEADER_CHANGED);
			free_read(p);
			vec_remove(r, i);
			return;
		}
		p->index = rd->index;
		p->read_ready = true;
		return;
	}
}

static int serve_read(struct gnomond *d, const struct mvcc_header *hdr,
		      const struct gd_pending *p, struct mvcc_result *res)
{
	Etcdserverpb__LeaseTimeToLiveRequest ttl =
		ETCDSERVERPB__LEASE_TIME_TO_LIVE_REQUEST__INIT;

	switch (p->method) {
	case API_LEASE_KEEPALIVE:
		return mvcc_store__lease_keepalive(d->store, hdr, p->lease_id,
						   d->now.latest_ns, res);
	case API_LEASE_TIME_TO_LIVE:
		ttl.id = p->lease_id;
		ttl.keys = p->lease_keys;
		return mvcc_store__lease_time_to_live(d->store, hdr, &ttl,
						      d->now.earliest_ns, res);
	default:
		return mvcc_store__range(d->store, hdr, p->range, res);
	}
}

/* Answers from the leader that waited for this member's apply. */
static void serve_forwards(struct gnomond *d)
{
	struct gd_pending_vec *f = &d->forwards;

	for (size_t i = 0; i < f->len;) {
		struct gd_pending *p = &f->v[i];
		struct mvcc_result res = { .resp = p->resp,
					   .len = p->resp_len };

		if (!p->resp || p->index > d->applied) {
			i++;
			continue;
		}
		gd_requests__deliver(d, &p->t, &res);
		free(p->resp);
		vec_remove(f, i);
	}
}

void gd_requests__serve_reads(struct gnomond *d)
{
	struct gd_pending_vec *r = &d->reads;
	struct mvcc_header hdr = gd_node__header(d);

	serve_forwards(d);
	for (size_t i = 0; i < r->len;) {
		struct gd_pending *p = &r->v[i];
		struct mvcc_result res = { 0 };

		if (!p->read_ready || p->index > d->applied) {
			i++;
			continue;
		}
		if (serve_read(d, &hdr, p, &res))
			fail(d, &p->t, ETCD_ERR_TIMEOUT);
		else
			gd_requests__deliver(d, &p->t, &res);
		mvcc_result__release(&res);
		free_read(p);
		vec_remove(r, i);
	}
}

static void expire_list(struct gnomond *d, struct gd_pending_vec *v)
{
	for (size_t i = 0; i < v->len;) {
		if (v->v[i].deadline > d->ticks) {
			i++;
			continue;
		}
		fail(d, &v->v[i].t, ETCD_ERR_TIMEOUT);
		if (v->v[i].body) {
			free(v->v[i].body);
			d->n_unsent--;
		}
		free_read(&v->v[i]);
		free(v->v[i].resp);
		vec_remove(v, i);
	}
}

void gd_requests__expire(struct gnomond *d)
{
	struct gd_pending_vec *w = &d->writes;

	while (w->head < w->len && w->v[w->head].deadline <= d->ticks)
		fail(d, &w->v[w->head++].t, ETCD_ERR_TIMEOUT);
	expire_list(d, &d->reads);
	expire_list(d, &d->forwards);
}

void gd_requests__drop_all(struct gnomond *d)
{
	for (size_t i = 0; i < d->reads.len; i++)
		free_read(&d->reads.v[i]);
	for (size_t i = 0; i < d->forwards.len; i++) {
		free(d->forwards.v[i].body);
		free(d->forwards.v[i].resp);
	}
	d->n_unsent = 0;
	free(d->writes.v);
	free(d->reads.v);
	free(d->forwards.v);
	memset(&d->writes, 0, sizeof(d->writes));
	memset(&d->reads, 0, sizeof(d->reads));
	memset(&d->forwards, 0, sizeof(d->forwards));
}
