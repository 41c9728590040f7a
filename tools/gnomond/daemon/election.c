// SPDX-License-Identifier: GPL-2.0
/*
 * etcd's Election service (v3electionpb.Election), as etcd's own server
 * builds it from the concurrency recipe, but inside the member:
 *
 *   Campaign(name, lease, value): the candidate's key is name/<lease in
 *       hex>.  A Txn "if create_revision(key) == 0 then put key=value (with
 *       the lease) else get key" goes through the log; its create revision
 *       is the candidate's place in line.  The member then waits, on its
 *       own applied store, until no live key under name/ was created
 *       before it, and answers the LeaderKey {name, key, rev, lease}.  If
 *       the key is gone by then, "requested lease not found".
 *   Proclaim(leader, value): refused with etcd's "election: not leader"
 *       unless the key is the oldest under name/ in the member's store;
 *       then a Txn "if create_revision(key) == rev then put key=value"
 *       (refused the same way if it fails).
 *   Leader(name): a linearizable Range of the oldest key under name/
 *       (through the leader, as a client's), or "election: no leader".
 *   Observe(name): a server stream; the leader's kv now (if any) and each
 *       time the leader's key or its mod revision changes.
 *   Resign(leader): a Txn "if create_revision(key) == rev then delete".
 *
 * The writes' answers come back through gd_answer__deliver() (their
 * target's done).  Waiting campaigns and observers are checked after every
 * applied command.  Protocol logic only: the answers go out through
 * gd_answer__deliver() and api_session__send().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "daemon.h"

struct elect_call {
	uint64_t id;
	struct gd_target client;
	enum api_method method;
	bool waiting;		/* Campaign: the txn is done, waiting to lead */
	int64_t rev, lease;
	uint8_t *prefix, *key;	/* name/, name/<lease> (or the leader's key) */
	size_t plen, klen;
};

struct observer {
	uint32_t slot, gen;
	int32_t stream;
	uint8_t *prefix;
	size_t plen;
	int64_t create_rev, mod_rev;	/* of the last leader sent; 0 none */
};

static struct {
	struct elect_call *v;
	size_t n, cap;
	uint64_t next_id;
	struct observer *o;
	size_t on, ocap;
} el;

static void call_free(size_t i)
{
	free(el.v[i].prefix);
	free(el.v[i].key);
	el.v[i] = el.v[--el.n];
}

static void observer_free(size_t i)
{
	free(el.o[i].prefix);
	el.o[i] = el.o[--el.on];
}

void gd_election__exit(void)
{
	while (el.n)
		call_free(0);
	while (el.on)
		observer_free(0);
	free(el.v);
	free(el.o);
	memset(&el, 0, sizeof(el));
}

/* @r: the oldest key under @prefix (which ends in '/'); @end (@plen
 * bytes, the caller's) ends the range. */
static void leader_range(Etcdserverpb__RangeRequest *r, uint8_t *prefix,
			 size_t plen, uint8_t *end)
{
	memcpy(end, prefix, plen);
	end[plen - 1]++;	/* '/' + 1: the end of the prefix's range */
	r->key.data = prefix;
	r->key.len = plen;
	r->range_end.data = end;
	r->range_end.len = plen;
	r->sort_target = ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__CREATE;
	r->sort_order = ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__ASCEND;
	r->limit = 1;
}

/* A range response with a leader (kvs[0]) from @res, or NULL. */
static Etcdserverpb__RangeResponse *leader_in(const struct mvcc_result *res)
{
	Etcdserverpb__RangeResponse *rr = NULL;

	if (!res->err)
		rr = etcdserverpb__range_response__unpack(NULL, res->len,
							  res->resp);
	if (rr && !rr->n_kvs) {
		etcdserverpb__range_response__free_unpacked(rr, NULL);
		rr = NULL;
	}
	return rr;
}

/* The leader under @prefix in the local store, or NULL. */
static Etcdserverpb__RangeResponse *leader_of(struct gnomond *d,
					      uint8_t *prefix, size_t plen)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct mvcc_header hdr = gd_answer__header(d);
	struct mvcc_result res = { 0 };
	Etcdserverpb__RangeResponse *rr = NULL;
	uint8_t *end = malloc(plen);

	if (!end)
		return NULL;
	leader_range(&r, prefix, plen, end);
	if (!mvcc_store__range(d->store, &hdr, &r, &res))
		rr = leader_in(&res);
	free(end);
	mvcc_result__release(&res);
	return rr;
}

/* Does @c's key lead now?  1 yes, 0 not yet, -1 its key is gone. */
static int leads(struct gnomond *d, const struct elect_call *c)
{
	Etcdserverpb__RangeResponse *rr;
	int out;

	if (mvcc_store__revision(d->store) < c->rev)
		return 0;
	rr = leader_of(d, c->prefix, c->plen);
	if (!rr || rr->kvs[0]->create_revision > c->rev)
		out = -1;
	else
		out = rr->kvs[0]->create_revision == c->rev;
	if (rr)
		etcdserverpb__range_response__free_unpacked(rr, NULL);
	return out;
}

static void campaign_won(struct gnomond *d, struct elect_call *c, int st)
{
	V3electionpb__CampaignResponse resp =
		V3ELECTIONPB__CAMPAIGN_RESPONSE__INIT;
	V3electionpb__LeaderKey lk = V3ELECTIONPB__LEADER_KEY__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;

	gd_answer__etcd_header(d, &h);
	lk.name.data = c->prefix;
	lk.name.len = c->plen - 1;
	lk.key.data = c->key;
	lk.key.len = c->klen;
	lk.rev = c->rev;
	lk.lease = c->lease;
	resp.header = &h;
	resp.leader = &lk;
	gd_answer__message(d, &c->client, &resp.base,
	       st > 0 ? ETCD_OK : ETCD_ERR_LEASE_NOT_FOUND);
}

/* Send @o the leader's kv if it changed since the last one sent.  0 or
 * -ENOENT when the stream is gone. */
static int observe(struct gnomond *d, struct observer *o)
{
	V3electionpb__LeaderResponse resp = V3ELECTIONPB__LEADER_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	Etcdserverpb__RangeResponse *rr = leader_of(d, o->prefix, o->plen);
	struct api_session *s;
	uint8_t *buf;
	size_t len;
	int rc = 0;

	if (!rr)
		return 0;
	if (rr->kvs[0]->create_revision == o->create_rev &&
	    rr->kvs[0]->mod_revision == o->mod_rev)
		goto out;
	gd_answer__etcd_header(d, &h);
	resp.header = &h;
	resp.kv = rr->kvs[0];
	len = protobuf_c_message_get_packed_size(&resp.base);
	buf = malloc(len ? len : 1);
	s = gd_clients__session(d, o->slot, o->gen);
	if (!s) {
		rc = -ENOENT;
	} else if (buf) {
		protobuf_c_message_pack(&resp.base, buf);
		rc = api_session__send(s, o->stream, buf, len);
		o->create_rev = rr->kvs[0]->create_revision;
		o->mod_rev = rr->kvs[0]->mod_revision;
	}
	free(buf);
out:
	etcdserverpb__range_response__free_unpacked(rr, NULL);
	return rc;
}

void gd_election__applied(struct gnomond *d)
{
	for (size_t i = 0; i < el.n;) {
		struct elect_call *c = &el.v[i];
		int st = c->waiting ? leads(d, c) : 0;

		if (!st) {
			i++;
			continue;
		}
		campaign_won(d, c, st);
		call_free(i);
	}
	for (size_t i = 0; i < el.on;) {
		if (observe(d, &el.o[i]))
			observer_free(i);
		else
			i++;
	}
}

void gd_election__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
			 int32_t stream)
{
	(void)d;
	for (size_t i = 0; i < el.on; i++)
		if (el.o[i].slot == slot && el.o[i].gen == gen &&
		    el.o[i].stream == stream) {
			observer_free(i);
			return;
		}
}

/* Leader's answer, from the linearizable Range's result @res. */
static void leader_answer(struct gnomond *d, const struct gd_target *t,
			  const struct mvcc_result *res)
{
	V3electionpb__LeaderResponse resp = V3ELECTIONPB__LEADER_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	Etcdserverpb__RangeResponse *rr = leader_in(res);

	gd_answer__etcd_header(d, &h);
	resp.header = &h;
	resp.kv = rr ? rr->kvs[0] : NULL;
	gd_answer__message(d, t, &resp.base, res->err ? res->err :
			   rr ? ETCD_OK : ETCD_ERR_ELECTION_NO_LEADER);
	if (rr)
		etcdserverpb__range_response__free_unpacked(rr, NULL);
}

static struct elect_call *call_find(uint64_t id, size_t *pos)
{
	for (size_t i = 0; i < el.n; i++)
		if (el.v[i].id == id) {
			*pos = i;
			return &el.v[i];
		}
	return NULL;
}

static void answer_done(struct gnomond *d, struct elect_call *c,
			enum etcd_err err)
{
	V3electionpb__ProclaimResponse pr = V3ELECTIONPB__PROCLAIM_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;

	/* ProclaimResponse and ResignResponse are both {header = 1}. */
	gd_answer__etcd_header(d, &h);
	pr.header = &h;
	gd_answer__message(d, &c->client, &pr.base, err);
}

/* A step's answer (its target's done). */
static void step_done(struct gnomond *d, uint64_t id,
		      const struct mvcc_result *res)
{
	Etcdserverpb__TxnResponse *tr = NULL;
	size_t pos;
	struct elect_call *c = call_find(id, &pos);

	if (!c)
		return;
	if (c->method == API_ELECTION_LEADER) {
		leader_answer(d, &c->client, res);
		call_free(pos);
		return;
	}
	if (!res->err)
		tr = etcdserverpb__txn_response__unpack(NULL, res->len,
							res->resp);
	if (res->err || !tr || !tr->header) {
		gd_answer__message(d, &c->client, NULL,
		       res->err ? res->err : ETCD_ERR_BAD_COMMAND);
		call_free(pos);
	} else if (c->method == API_ELECTION_PROCLAIM) {
		answer_done(d, c, tr->succeeded ? ETCD_OK :
			    ETCD_ERR_ELECTION_NOT_LEADER);
		call_free(pos);
	} else if (c->method == API_ELECTION_RESIGN) {
		answer_done(d, c, ETCD_OK);
		call_free(pos);
	} else {
		if (!tr->succeeded && tr->n_responses &&
		    tr->responses[0]->response_range &&
		    tr->responses[0]->response_range->n_kvs)
			c->rev = tr->responses[0]->response_range->kvs[0]
					->create_revision;
		else
			c->rev = tr->header->revision;
		c->waiting = true;
		gd_election__applied(d);
	}
	if (tr)
		etcdserverpb__txn_response__free_unpacked(tr, NULL);
}

/* The one Txn of every write here and of Lock (lock.c): "if
 * create_revision(@key) == @rev then @then else (@get_else) get @key".
 * @then is a put of @value with @lease, or a delete when @value is NULL. */
int gd_election__txn(ProtobufCBinaryData key, int64_t rev,
		     const ProtobufCBinaryData *value, int64_t lease,
		     bool get_else, uint8_t **cmd, size_t *len)
{
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__Compare cmp = ETCDSERVERPB__COMPARE__INIT, *cp = &cmp;
	Etcdserverpb__RequestOp op = ETCDSERVERPB__REQUEST_OP__INIT, *opp = &op;
	Etcdserverpb__RequestOp get = ETCDSERVERPB__REQUEST_OP__INIT, *gp = &get;
	Etcdserverpb__PutRequest p = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__DeleteRangeRequest del =
		ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	Etcdserverpb__RangeRequest g = ETCDSERVERPB__RANGE_REQUEST__INIT;

	cmp.key = key;
	cmp.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE;
	cmp.target_union_case =
		ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION;
	cmp.create_revision = rev;
	if (value) {
		p.key = key;
		p.value = *value;
		p.lease = lease;
		op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
		op.request_put = &p;
	} else {
		del.key = key;
		op.request_case =
			ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
		op.request_delete_range = &del;
	}
	g.key = key;
	get.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
	get.request_range = &g;
	txn.compare = &cp;
	txn.n_compare = 1;
	txn.success = &opp;
	txn.n_success = 1;
	if (get_else) {
		txn.failure = &gp;
		txn.n_failure = 1;
	}
	return mvcc_cmd__encode(MVCC_CMD_TXN, &txn.base, cmd, len);
}

static int txn_cmd(const struct elect_call *c, int64_t rev,
		   const ProtobufCBinaryData *value, uint8_t **cmd,
		   size_t *len)
{
	ProtobufCBinaryData key = { c->klen, c->key };

	return gd_election__txn(key, rev, value, c->lease,
				c->method == API_ELECTION_CAMPAIGN, cmd, len);
}

/* @c's prefix (@name + '/') and key (@key, or name/<lease in hex>). */
static int call_keys(struct elect_call *c, const ProtobufCBinaryData *name,
		     const ProtobufCBinaryData *key)
{
	char hex[20];
	int n = snprintf(hex, sizeof(hex), "%" PRIx64, (uint64_t)c->lease);

	c->plen = name->len + 1;
	c->klen = key ? key->len : c->plen + (size_t)n;
	c->prefix = malloc(c->plen);
	c->key = malloc(c->klen ? c->klen : 1);
	if (!c->prefix || !c->key)
		return -ENOMEM;
	memcpy(c->prefix, name->data, name->len);
	c->prefix[name->len] = '/';
	if (key) {
		memcpy(c->key, key->data, key->len);
	} else {
		memcpy(c->key, c->prefix, c->plen);
		memcpy(c->key + c->plen, hex, (size_t)n);
	}
	return 0;
}

/* Leader: a linearizable Range of the oldest key under name/. */
static int leader_cmd(struct elect_call *c, const ProtobufCBinaryData *name,
		      uint8_t **msg, size_t *len)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;

	/* c->key (name/0, longer than the prefix) holds the range's end. */
	if (call_keys(c, name, NULL))
		return -ENOMEM;
	leader_range(&r, c->prefix, c->plen, c->key);
	*len = protobuf_c_message_get_packed_size(&r.base);
	*msg = malloc(*len ? *len : 1);
	if (!*msg)
		return -ENOMEM;
	protobuf_c_message_pack(&r.base, *msg);
	return 0;
}

static void observe_start(struct gnomond *d, const struct gd_target *t,
			  const ProtobufCBinaryData *name)
{
	struct observer o = { .slot = t->slot, .gen = t->gen,
			      .stream = t->stream, .plen = name->len + 1 };
	struct api_session *s = gd_clients__session(d, t->slot, t->gen);

	if (!s)
		return;
	if (el.on == el.ocap) {
		struct observer *v = grow__array(el.o, &el.ocap, el.on + 1,
						 sizeof(*v), 16);

		if (!v) {
			api_session__fail_etcd(s, t->stream, ETCD_ERR_TIMEOUT);
			return;
		}
		el.o = v;
	}
	o.prefix = malloc(o.plen);
	if (!o.prefix) {
		api_session__fail_etcd(s, t->stream, ETCD_ERR_TIMEOUT);
		return;
	}
	memcpy(o.prefix, name->data, name->len);
	o.prefix[name->len] = '/';
	api_session__handled(s, t->stream);
	el.o[el.on++] = o;
	if (observe(d, &el.o[el.on - 1]))
		observer_free(el.on - 1);
}

/* Is the LeaderKey @lk the leader now, in the local store? */
static bool still_leads(struct gnomond *d, const struct elect_call *c)
{
	Etcdserverpb__RangeResponse *rr = leader_of(d, c->prefix, c->plen);
	bool out = rr && rr->kvs[0]->create_revision == c->rev &&
		   rr->kvs[0]->key.len == c->klen &&
		   !memcmp(rr->kvs[0]->key.data, c->key, c->klen);

	if (rr)
		etcdserverpb__range_response__free_unpacked(rr, NULL);
	return out;
}

static int call_new(struct gnomond *d, struct elect_call *c,
		    const struct api_request *req, uint8_t **cmd, size_t *len)
{
	const V3electionpb__CampaignRequest *cr = (const void *)req->decoded;
	const V3electionpb__ProclaimRequest *pr = (const void *)req->decoded;
	const V3electionpb__ResignRequest *rr = (const void *)req->decoded;
	const V3electionpb__LeaderKey *lk;

	if (req->method == API_ELECTION_CAMPAIGN) {
		c->lease = cr->lease;
		if (call_keys(c, &cr->name, NULL))
			return -ENOMEM;
		return txn_cmd(c, 0, &cr->value, cmd, len);
	}
	lk = req->method == API_ELECTION_PROCLAIM ? pr->leader : rr->leader;
	if (!lk)
		return -EINVAL;
	c->lease = lk->lease;
	c->rev = lk->rev;
	if (call_keys(c, &lk->name, &lk->key))
		return -ENOMEM;
	if (req->method == API_ELECTION_RESIGN)
		return txn_cmd(c, lk->rev, NULL, cmd, len);
	if (!still_leads(d, c))
		return -EPERM;
	return txn_cmd(c, lk->rev, &pr->value, cmd, len);
}

void gd_election__request(struct gnomond *d, const struct gd_target *t,
			  const struct api_request *req)
{
	const V3electionpb__LeaderRequest *lr = (const void *)req->decoded;
	struct elect_call c = { .client = *t, .id = ++el.next_id,
				.method = req->method };
	struct gd_target step = { .done = step_done, .id = c.id };
	uint8_t *cmd = NULL;
	size_t len;
	int rc;

	if (req->method == API_ELECTION_OBSERVE) {
		observe_start(d, t, &lr->name);
		return;
	}
	if (req->method == API_ELECTION_LEADER)
		rc = leader_cmd(&c, &lr->name, &cmd, &len);
	else
		rc = call_new(d, &c, req, &cmd, &len);
	if (!rc && el.n == el.cap) {
		struct elect_call *v = grow__array(el.v, &el.cap, el.n + 1,
						   sizeof(*v), 16);

		if (v)
			el.v = v;
		else
			rc = -ENOMEM;
	}
	if (rc) {
		free(c.prefix);
		free(c.key);
		free(cmd);
		gd_answer__message(d, t, NULL,
				   rc == -EPERM ? ETCD_ERR_ELECTION_NOT_LEADER :
				   rc == -EINVAL ? ETCD_ERR_EMPTY_KEY :
				   ETCD_ERR_TIMEOUT);
		return;
	}
	el.v[el.n++] = c;
	if (c.method == API_ELECTION_LEADER)
		gd_requests__range(d, &step, cmd, len);
	else
		gd_requests__write(d, &step, API_KV_TXN, cmd, len);
	free(cmd);
}
