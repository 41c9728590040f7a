// SPDX-License-Identifier: GPL-2.0
/*
 * etcd's Lock service (v3lockpb.Lock), as etcd's own server builds it
 * from the concurrency recipe, but inside the member:
 *
 *   Lock(name, lease): the holder's key is name/<lease in hex>.  A Txn
 *       "if create_revision(key) == 0 then put key (with the lease) else
 *       get key" goes through the log like any write; its create revision
 *       is the caller's place in line and the lock's fencing token.  Then
 *       the member waits, on its own applied store, until no live key
 *       under name/ was created before it, and answers with the key.  If
 *       the key is gone by then (its lease expired, or Unlock), the call
 *       fails with "requested lease not found".
 *   Unlock(key): a DeleteRange of the key, answered as UnlockResponse.
 *
 * The writes' answers come back here through gd_answer__deliver()
 * (their target's done).  Waiting calls are checked after every applied
 * command; a client that went away is noticed when its answer finds no
 * stream.  Fencing: a storage system keeps the highest token it has
 * seen and refuses a write with a lower one (Documentation/operations.rst).
 * The answer also carries gnomond's fields 1000-1002: the token, and from
 * the applied store the lock's E and P (mvcc.h, "Locks"), which an agent
 * such as gnomon-fenced waits out before it writes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "daemon.h"

struct lock_call {
	uint64_t id;
	struct gd_target client;
	bool unlock;
	bool waiting;		/* the txn is done: waiting for the lock */
	int64_t rev;		/* the key's create revision */
	uint8_t *prefix, *key;	/* name/, name/<lease> */
	size_t plen, klen;
};

static struct {
	struct lock_call *v;
	size_t n, cap;
	uint64_t next_id;
} calls;

static int grow(void)
{
	struct lock_call *v = grow__array(calls.v, &calls.cap, calls.n + 1,
					  sizeof(*v), 16);

	if (!v)
		return -1;
	calls.v = v;
	return 0;
}

static void call_free(size_t i)
{
	free(calls.v[i].prefix);
	free(calls.v[i].key);
	calls.v[i] = calls.v[--calls.n];
}

void gd_lock__exit(void)
{
	while (calls.n)
		call_free(0);
	free(calls.v);
	memset(&calls, 0, sizeof(calls));
}

/* Is @c's key the oldest live key under its prefix in the local store?
 * 1 yes, 0 not yet, -1 its key is gone. */
static int holds(struct gnomond *d, struct lock_call *c)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct mvcc_header hdr = gd_answer__header(d);
	struct mvcc_result res = { 0 };
	Etcdserverpb__RangeResponse *rr;
	int out;

	if (mvcc_store__revision(d->store) < c->rev)
		return 0;
	/* The oldest key under name/ (name0 ends the range, '0' being '/'
	 * + 1): sort by create revision, limit 1. */
	r.key.data = c->prefix;
	r.key.len = c->plen;
	r.range_end.data = c->key;
	r.range_end.len = c->plen;
	c->key[c->plen - 1] = '0';
	r.sort_target = ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__CREATE;
	r.sort_order = ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__ASCEND;
	r.limit = 1;
	r.keys_only = true;
	out = mvcc_store__range(d->store, &hdr, &r, &res);
	c->key[c->plen - 1] = '/';
	if (out || res.err) {
		mvcc_result__release(&res);
		return 0;
	}
	rr = etcdserverpb__range_response__unpack(NULL, res.len, res.resp);
	mvcc_result__release(&res);
	if (!rr)
		return 0;
	if (!rr->n_kvs || rr->kvs[0]->create_revision > c->rev)
		out = -1;
	else
		out = rr->kvs[0]->create_revision == c->rev;
	etcdserverpb__range_response__free_unpacked(rr, NULL);
	return out;
}

/* Answer the waiting calls that hold their lock now. */
void gd_lock__applied(struct gnomond *d)
{
	for (size_t i = 0; i < calls.n;) {
		V3lockpb__LockResponse resp = V3LOCKPB__LOCK_RESPONSE__INIT;
		Etcdserverpb__ResponseHeader h =
			ETCDSERVERPB__RESPONSE_HEADER__INIT;
		struct lock_call *c = &calls.v[i];
		int st = c->waiting ? holds(d, c) : 0;

		if (!st) {
			i++;
			continue;
		}
		gd_answer__etcd_header(d, &h);
		resp.header = &h;
		resp.key.data = c->key;
		resp.key.len = c->klen;
		if (st > 0) {
			struct mvcc_lock_ends le;

			mvcc_store__lock_ends(d->store, c->prefix, c->plen, &le);
			resp.gnomon_token = c->rev;
			resp.gnomon_prev_end_ns = le.max_end_ns;
			resp.gnomon_prev_token = le.last_token;
		}
		gd_answer__message(d, &c->client, &resp.base,
		       st > 0 ? ETCD_OK : ETCD_ERR_LEASE_NOT_FOUND);
		call_free(i);
	}
}

static struct lock_call *call_find(uint64_t id, size_t *pos)
{
	for (size_t i = 0; i < calls.n; i++)
		if (calls.v[i].id == id) {
			*pos = i;
			return &calls.v[i];
		}
	return NULL;
}

/* A step's answer (its target's done). */
static void step_done(struct gnomond *d, uint64_t id,
		      const struct mvcc_result *res)
{
	V3lockpb__UnlockResponse un = V3LOCKPB__UNLOCK_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	Etcdserverpb__TxnResponse *tr;
	size_t pos;
	struct lock_call *c = call_find(id, &pos);

	if (!c)
		return;
	if (res->err || c->unlock) {
		gd_answer__etcd_header(d, &h);
		un.header = &h;
		gd_answer__message(d, &c->client, &un.base, res->err);
		call_free(pos);
		return;
	}
	tr = etcdserverpb__txn_response__unpack(NULL, res->len, res->resp);
	if (!tr || !tr->header) {
		gd_answer__message(d, &c->client, NULL, ETCD_ERR_BAD_COMMAND);
		call_free(pos);
	} else if (tr->succeeded) {
		c->rev = tr->header->revision;
	} else if (tr->n_responses && tr->responses[0]->response_range &&
		   tr->responses[0]->response_range->n_kvs) {
		c->rev = tr->responses[0]->response_range->kvs[0]->create_revision;
	} else {
		c->rev = tr->header->revision;
	}
	if (tr)
		etcdserverpb__txn_response__free_unpacked(tr, NULL);
	c = call_find(id, &pos);
	if (c) {
		c->waiting = true;
		gd_lock__applied(d);
	}
}

/* The Txn of Lock: put the holder's key unless it exists, else read it. */
static int lock_txn(const struct lock_call *c, int64_t lease, uint8_t **cmd,
		    size_t *len)
{
	ProtobufCBinaryData key = { c->klen, c->key }, none = { 0, NULL };

	return gd_election__txn(key, 0, &none, lease, true, cmd, len);
}

static int unlock_cmd(const V3lockpb__UnlockRequest *u, uint8_t **cmd,
		      size_t *len)
{
	Etcdserverpb__DeleteRangeRequest r =
		ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;

	r.key = u->key;
	return mvcc_cmd__encode(MVCC_CMD_DELETE_RANGE, &r.base, cmd, len);
}

static int call_new(struct lock_call *c, const V3lockpb__LockRequest *l)
{
	char hex[20];
	int n = snprintf(hex, sizeof(hex), "%" PRIx64, (uint64_t)l->lease);

	c->plen = l->name.len + 1;
	c->klen = c->plen + n;
	c->prefix = malloc(c->plen);
	c->key = malloc(c->klen);
	if (!c->prefix || !c->key)
		return -1;
	memcpy(c->prefix, l->name.data, l->name.len);
	c->prefix[l->name.len] = '/';
	memcpy(c->key, c->prefix, c->plen);
	memcpy(c->key + c->plen, hex, n);
	return 0;
}

void gd_lock__request(struct gnomond *d, const struct gd_target *t,
		      const struct api_request *req)
{
	struct lock_call c = { .client = *t, .id = ++calls.next_id };
	struct gd_target step = { .done = step_done, .id = c.id };
	const V3lockpb__LockRequest *l = (const void *)req->decoded;
	uint8_t *cmd = NULL;
	size_t len;
	int rc;

	c.unlock = req->method == API_LOCK_UNLOCK;
	if (c.unlock)
		rc = unlock_cmd((const void *)req->decoded, &cmd, &len);
	else
		rc = call_new(&c, l) ? -1 : lock_txn(&c, l->lease, &cmd, &len);
	if (!rc && calls.n == calls.cap)
		rc = grow();
	if (rc) {
		free(c.prefix);
		free(c.key);
		free(cmd);
		gd_answer__message(d, t, NULL, ETCD_ERR_TIMEOUT);
		return;
	}
	calls.v[calls.n++] = c;
	gd_requests__write(d, &step, c.unlock ? API_KV_DELETE_RANGE :
			   API_KV_TXN, cmd, len);
	free(cmd);
}
