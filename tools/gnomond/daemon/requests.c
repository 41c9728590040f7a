// SPDX-License-Identifier: GPL-2.0
/*
 * How a request is carried out once route.c has said where it goes, and
 * how its answer comes back (answer.c delivers it).
 *
 *   propose  a write's log command (a DeleteRange, Txn or revoke with the
 *            leader's stamp, leases.c) waits, in a queue ordered by log
 *            index, until its entry is applied, and is answered with the
 *            state machine's result; if a different entry lands at its
 *            index (leadership changed), "leader changed"
 *   forward  to the leader (forward.h), whose answer is relayed once this
 *            member has applied what the leader had applied when it
 *            answered (a serializable read sent next to this member sees
 *            the write, as with etcd)
 *   read     raft__read(), then served from the local store once it has
 *            applied the read index (a Range, or a lease's KeepAlive or
 *            TimeToLive from the leader's renewal times)
 *
 * A write applied here and refused for space makes this member propose
 * its own NOSPACE alarm, as etcd's do.
 *
 * While no leader is known (an election), a follower holds what it would
 * forward until one is (or it wins itself, and serves it as one forwarded
 * to it).  Every waiting request has a deadline, etcd's: 5 s plus two
 * election timeouts (7 s with the defaults), counted in ticks, and gets
 * etcd's "request timed out" after it.  Writes wait in a queue ordered by
 * log index; reads and forwards in small lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "daemon.h"
#include "forward.h"
#include "log.h"
#include "route.h"

#define REQUEST_TIMEOUT_BASE_MS 5000

static int vec_push(struct gd_pending_vec *v, const struct gd_pending *p)
{
	if (v->head && v->head * 2 >= v->len) {
		memmove(v->v, v->v + v->head, (v->len - v->head) * sizeof(*p));
		v->len -= v->head;
		v->head = 0;
	}
	if (v->len == v->cap) {
		void *n = grow__array(v->v, &v->cap, v->len + 1, sizeof(*p),
				      64);

		if (!n)
			return -ENOMEM;
		v->v = n;
	}
	v->v[v->len++] = *p;
	return 0;
}

/* Remove v[i] (not the queue's order: reads and forwards only). */
static void vec_remove(struct gd_pending_vec *v, size_t i)
{
	v->v[i] = v->v[--v->len];
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
void gd_requests__forward(struct gnomond *d, const struct gd_target *t,
			  enum api_method method, const uint8_t *body,
			  size_t len)
{
	struct gd_pending p = { .t = *t, .deadline = gd_requests__deadline(d),
				.method = method, .body_len = len };

	p.read_id = ++d->next_id;
	p.body = malloc(len ? len : 1);
	if (!p.body) {
		gd_answer__fail(d, t, ETCD_ERR_TIMEOUT);
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
		gd_answer__fail(d, t, ETCD_ERR_TIMEOUT);
	}
}

static enum etcd_err raft_error(int rc)
{
	return rc == -ENOTCONN ? ETCD_ERR_NOT_LEADER :
	       rc == -EBUSY ? ETCD_ERR_LEADER_CHANGED : ETCD_ERR_TIMEOUT;
}

void gd_requests__propose(struct gnomond *d, const struct gd_target *t,
			  const uint8_t *cmd, size_t len)
{
	uint64_t index = 0;
	int rc;

	if (mvcc_cmd__needs_stamp(cmd, len)) {
		uint8_t *stamped;
		size_t slen;

		rc = gd_leases__stamp(d, cmd, len, &stamped, &slen);
		if (!rc) {
			rc = raft__propose(d->raft, stamped, (uint32_t)slen,
					   &index);
			free(stamped);
		}
	} else {
		rc = raft__propose(d->raft, cmd, (uint32_t)len, &index);
	}
	if (rc) {
		gd_answer__fail(d, t, raft_error(rc));
		return;
	}
	gd_requests__wait(d, t, index);
}

void gd_requests__wait(struct gnomond *d, const struct gd_target *t,
		       uint64_t index)
{
	struct gd_pending_vec *w = &d->writes;
	struct gd_pending p = { .t = *t, .deadline = gd_requests__deadline(d),
				.index = index, .term = raft__term(d->raft) };

	/* Entries at or above this index from an older term are gone. */
	while (w->len > w->head && w->v[w->len - 1].index >= p.index)
		gd_answer__fail(d, &w->v[--w->len].t,
				ETCD_ERR_LEADER_CHANGED);
	if (vec_push(w, &p))
		gd_answer__fail(d, t, ETCD_ERR_TIMEOUT);
}

static bool leader(const struct gnomond *d)
{
	return raft__role(d->raft) == RAFT_LEADER;
}

void gd_requests__write(struct gnomond *d, const struct gd_target *t,
			enum api_method method, const uint8_t *cmd,
			size_t len)
{
	if (gd_route__client(method, false, leader(d)) == GD_ROUTE_PROPOSE)
		gd_requests__propose(d, t, cmd, len);
	else
		gd_requests__forward(d, t, method, cmd, len);
}

static void free_read(struct gd_pending *p)
{
	if (p->range)
		protobuf_c_message_free_unpacked(&p->range->base, NULL);
	p->range = NULL;
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
		gd_answer__fail(d, t, raft_error(rc));
		free_read(p);
	}
}

void gd_requests__read(struct gnomond *d, const struct gd_target *t,
		       Etcdserverpb__RangeRequest *range)
{
	struct gd_pending p = { .range = range, .method = API_KV_RANGE };

	submit_read(d, t, &p);
}

/* A RangeRequest, packed, at the leader. */
static void read_packed(struct gnomond *d, const struct gd_target *t,
			const uint8_t *msg, size_t len)
{
	Etcdserverpb__RangeRequest *range;

	range = etcdserverpb__range_request__unpack(NULL, len, msg);
	if (range)
		gd_requests__read(d, t, range);
	else
		gd_answer__fail(d, t, ETCD_ERR_BAD_COMMAND);
}

void gd_requests__range(struct gnomond *d, const struct gd_target *t,
			const uint8_t *msg, size_t len)
{
	if (gd_route__client(API_KV_RANGE, false, leader(d)) == GD_ROUTE_READ)
		read_packed(d, t, msg, len);
	else
		gd_requests__forward(d, t, API_KV_RANGE, msg, len);
}

void gd_requests__lease_read(struct gnomond *d, const struct gd_target *t,
			     enum api_method method, const uint8_t *body,
			     size_t len)
{
	struct gd_pending p = { .method = method };
	ProtobufCMessage *m;

	m = protobuf_c_message_unpack(method == API_LEASE_KEEPALIVE ?
		&etcdserverpb__lease_keep_alive_request__descriptor :
		&etcdserverpb__lease_time_to_live_request__descriptor,
		NULL, len, body);
	if (!m) {
		gd_answer__fail(d, t, ETCD_ERR_BAD_COMMAND);
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
	 * (lease-safety.rst, K1): the turn's reading, if no completion was
	 * posted since it, else a new one. */
	gd_now_fresh(d);
	submit_read(d, t, &p);
}

/* A request from a member (t->peer) or held here while no leader was
 * known: a write's log command, a RangeRequest, or a lease read. */
static void serve_member(struct gnomond *d, const struct gd_target *t,
			 enum api_method method, const uint8_t *body,
			 size_t len)
{
	switch (gd_route__member(method, leader(d))) {
	case GD_ROUTE_PROPOSE:
		gd_requests__propose(d, t, body, len);
		return;
	case GD_ROUTE_READ:
		read_packed(d, t, body, len);
		return;
	case GD_ROUTE_LEASE_READ:
		gd_requests__lease_read(d, t, method, body, len);
		return;
	case GD_ROUTE_NOT_LEADER:
		gd_answer__fail(d, t, ETCD_ERR_NOT_LEADER);
		return;
	case GD_ROUTE_MEMBERS:
		/* Held while no leader was known, and this member won: the
		 * membership part sits above this one; the client retries. */
		gd_answer__fail(d, t, ETCD_ERR_LEADER_CHANGED);
		return;
	default:
		gd_warn("member %u forwarded unknown method %u", t->peer,
			method);
		gd_answer__fail(d, t, ETCD_ERR_UNIMPLEMENTED);
	}
}

void gd_requests__forwarded(struct gnomond *d, uint32_t from, uint64_t id,
			    uint32_t method, const uint8_t *body, size_t len)
{
	struct gd_target t = { .peer = from, .fwd_id = id };

	serve_member(d, &t, method, body, len);
}

void gd_requests__retry_forwards(struct gnomond *d)
{
	struct gd_pending_vec *f = &d->forwards;
	bool leads = leader(d);
	struct gd_pending q;

	if (!d->n_unsent || !raft__leader(d->raft))
		return;
	for (size_t i = 0; i < f->len && d->n_unsent;) {
		struct gd_pending *p = &f->v[i];

		if (!p->body) {
			i++;
			continue;
		}
		if (!leads) {
			d->n_unsent -= forward_send(d, p);
			i++;
			continue;
		}
		/* We became the leader ourselves: serve it here. */
		q = *p;
		vec_remove(f, i);
		d->n_unsent--;
		serve_member(d, &q.t, q.method, q.body, q.body_len);
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
		gd_answer__deliver(d, &p->t, &res);
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

	a.memberid = gd_answer__header(d).member_id;
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
	gd_requests__write(d, &none, API_MAINTENANCE_ALARM, cmd, len);
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
		gd_answer__fail(d, &w->v[w->head++].t, ETCD_ERR_LEADER_CHANGED);
	if (w->head == w->len || w->v[w->head].index != e->index)
		return;
	p = &w->v[w->head++];
	if (p->term == e->term && res)
		gd_answer__deliver(d, &p->t, res);
	else
		gd_answer__fail(d, &p->t, ETCD_ERR_LEADER_CHANGED);
}

void gd_requests__read_index(struct gnomond *d, const struct raft_read *rd)
{
	struct gd_pending_vec *r = &d->reads;

	for (size_t i = 0; i < r->len; i++) {
		struct gd_pending *p = &r->v[i];

		if (p->read_id != rd->id)
			continue;
		if (rd->status) {
			gd_answer__fail(d, &p->t, ETCD_ERR_LEADER_CHANGED);
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
		gd_answer__deliver(d, &p->t, &res);
		free(p->resp);
		vec_remove(f, i);
	}
}

void gd_requests__serve_reads(struct gnomond *d)
{
	struct gd_pending_vec *r = &d->reads;
	struct mvcc_header hdr = gd_answer__header(d);

	serve_forwards(d);
	for (size_t i = 0; i < r->len;) {
		struct gd_pending *p = &r->v[i];
		struct mvcc_result res = { 0 };

		if (!p->read_ready || p->index > d->applied) {
			i++;
			continue;
		}
		if (serve_read(d, &hdr, p, &res))
			gd_answer__fail(d, &p->t, ETCD_ERR_TIMEOUT);
		else
			gd_answer__deliver(d, &p->t, &res);
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
		gd_answer__fail(d, &v->v[i].t, ETCD_ERR_TIMEOUT);
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
		gd_answer__fail(d, &w->v[w->head++].t, ETCD_ERR_TIMEOUT);
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
