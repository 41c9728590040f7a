// SPDX-License-Identifier: GPL-2.0
/*
 * The write operations of the MVCC state machine, with etcd's semantics:
 *
 * Put: new generation (create_revision = this revision, version 1) when
 * the key is absent or deleted, else version + 1; a lease must exist
 * ("requested lease not found"), and the key moves to it from the lease
 * it had; ignore_value and ignore_lease reuse the current value or lease
 * ("key not found" if there is none).
 *
 * DeleteRange: tombstones every live key of the range, detaching it from
 * its lease; the revision moves only if something was deleted.
 *
 * Txn: every compare reads the store as the txn starts; a compare on a
 * missing key is made against an empty key-value, except that a VALUE
 * compare on a missing key is false.  The chosen branch is first checked
 * as a whole (lease, ignore_value, revisions of its ranges), so that a txn
 * either applies entirely or fails without change; then its operations run
 * in order, each seeing the effects of the ones before (they share one main
 * revision, numbered by sub-revision).
 *
 * Quota: a Put, or a Txn with any put, is refused with "database space
 * exceeded" while any member's NOSPACE alarm stands, or when its cost (a
 * txn costs its costlier branch, as in etcd) would take the store past the
 * quota; a member that applies such a refusal then raises its own NOSPACE
 * alarm through the log, as etcd's members do (the store knows no member
 * ids: the daemon does it).  Deletes and compaction always run: they are
 * how an operator makes room.
 */
#include <errno.h>
#include <string.h>

#include "lease.h"
#include "locks.h"
#include "ops.h"
#include "txn.h"

static enum etcd_err check_put(struct mvcc_store *s,
			       const Etcdserverpb__PutRequest *r)
{
	if (r->lease && !lease_find(s, r->lease))
		return ETCD_ERR_LEASE_NOT_FOUND;
	if (r->ignore_value || r->ignore_lease) {
		const struct mvcc_key *k =
			mvcc_index__find(&s->idx, r->key.data, r->key.len);

		if (!k || !mvcc_key__live_at(k, mvcc_core__txn_rev(s)))
			return ETCD_ERR_KEY_NOT_FOUND;
	}
	return ETCD_OK;
}

static enum etcd_err check_ops(struct mvcc_store *s,
			       Etcdserverpb__RequestOp **ops, size_t n,
			       unsigned int depth);

static bool compare_one(struct mvcc_store *s, const Etcdserverpb__Compare *c);

static enum etcd_err check_txn(struct mvcc_store *s,
			       const Etcdserverpb__TxnRequest *r,
			       unsigned int depth)
{
	bool ok = true;

	if (depth > MVCC_MAX_TXN_DEPTH)
		return ETCD_ERR_TOO_MANY_OPS;
	for (size_t i = 0; ok && i < r->n_compare; i++)
		ok = compare_one(s, r->compare[i]);
	return ok ? check_ops(s, r->success, r->n_success, depth + 1)
		  : check_ops(s, r->failure, r->n_failure, depth + 1);
}

static enum etcd_err check_ops(struct mvcc_store *s,
			       Etcdserverpb__RequestOp **ops, size_t n,
			       unsigned int depth)
{
	enum etcd_err err = ETCD_OK;
	int64_t rev;

	for (size_t i = 0; !err && i < n; i++) {
		const Etcdserverpb__RequestOp *op = ops[i];

		switch (op->request_case) {
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
			err = mvcc_core__read_rev(s,
				op->request_range->revision, &rev);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
			err = check_put(s, op->request_put);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN:
			err = check_txn(s, op->request_txn, depth);
			break;
		default:
			break;
		}
	}
	return err;
}

/* Quota cost of a txn as etcd counts it: the costlier branch's puts. */
static uint64_t txn_cost(const Etcdserverpb__TxnRequest *r)
{
	Etcdserverpb__RequestOp **branch[2] = { r->success, r->failure };
	size_t nb[2] = { r->n_success, r->n_failure };
	uint64_t cost[2] = { 0, 0 };

	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; i < nb[b]; i++) {
			const Etcdserverpb__RequestOp *op = branch[b][i];

			if (op->request_case ==
			    ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT)
				cost[b] += mvcc_core__put_cost(
					op->request_put->key.len,
					op->request_put->value.len);
			else if (op->request_case ==
				 ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN)
				cost[b] += txn_cost(op->request_txn);
		}
	}
	return cost[0] > cost[1] ? cost[0] : cost[1];
}

enum etcd_err txn_quota(struct mvcc_store *s, uint64_t cost)
{
	if (!cost)
		return ETCD_OK;
	return mvcc_store__nospace(s) || mvcc_core__over_quota(s, cost) ?
	       ETCD_ERR_NO_SPACE : ETCD_OK;
}

static int do_put(struct mvcc_store *s, struct arena *a,
		  const Etcdserverpb__PutRequest *r,
		  Etcdserverpb__PutResponse **out)
{
	Etcdserverpb__PutResponse *resp = arena__alloc(a, sizeof(*resp));
	struct mvcc_key *k;
	const struct mvcc_rev *prev = NULL;
	const uint8_t *val = r->value.data;
	uint32_t vlen = r->value.len;
	int64_t lease = r->lease, old = 0;

	if (!resp)
		return -ENOMEM;
	etcdserverpb__put_response__init(resp);
	k = mvcc_index__find(&s->idx, r->key.data, r->key.len);
	if (k)
		prev = mvcc_key__live_at(k, mvcc_core__txn_rev(s));
	if (prev && r->prev_kv) {
		/* Copies prev's fields now: the history may move below. */
		resp->prev_kv = ops_kv(a, k, prev, false);
		if (!resp->prev_kv)
			return -ENOMEM;
	}
	if (r->ignore_value && prev) {
		val = prev->value;
		vlen = prev->vlen;
	}
	if (prev)
		old = prev->lease;
	if (r->ignore_lease)
		lease = old;
	if (mvcc_core__put(s, k, r->key.data, r->key.len, val, vlen, lease))
		return -ENOMEM;
	if (old != lease) {
		if (!k)
			k = mvcc_index__find(&s->idx, r->key.data, r->key.len);
		if (old)
			lease_detach(s, old, k);
		if (lease && lease_attach(s, lease, k))
			return -ENOMEM;
	}
	resp->header = ops_header(a, NULL, s->txn_main);
	*out = resp;
	return resp->header ? 0 : -ENOMEM;
}

static int do_delete(struct mvcc_store *s, struct arena *a,
		     const Etcdserverpb__DeleteRangeRequest *r,
		     Etcdserverpb__DeleteRangeResponse **out)
{
	Etcdserverpb__DeleteRangeResponse *resp = arena__alloc(a, sizeof(*resp));
	int64_t rev = mvcc_core__txn_rev(s);
	size_t cap = 0;
	struct key_range kr;
	struct mvcc_iter it;
	struct mvcc_key *k;

	if (!resp)
		return -ENOMEM;
	etcdserverpb__delete_range_response__init(resp);
	key_range__from(&kr, &r->key, &r->range_end);
	mvcc_index__seek(&s->idx, kr.key, kr.klen, &it);
	while ((k = mvcc_iter__next(&it)) && !key_range__past(&kr, k)) {
		const struct mvcc_rev *live = mvcc_key__live_at(k, rev);

		if (!live)
			continue;
		if (r->prev_kv) {
			if (resp->n_prev_kvs == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				Mvccpb__KeyValue **n =
					arena__calloc(a, ncap, sizeof(*n));

				if (!n)
					return -ENOMEM;
				if (cap)
					memcpy(n, resp->prev_kvs,
					       cap * sizeof(*n));
				resp->prev_kvs = n;
				cap = ncap;
			}
			resp->prev_kvs[resp->n_prev_kvs] = ops_kv(a, k, live, false);
			if (!resp->prev_kvs[resp->n_prev_kvs++])
				return -ENOMEM;
		}
		if (live->lease && locks_ended(s, k, live))
			return -ENOMEM;
		if (live->lease)
			lease_detach(s, live->lease, k);
		if (mvcc_core__tombstone(s, k))
			return -ENOMEM;
		resp->deleted++;
	}
	resp->header = ops_header(a, NULL, mvcc_core__txn_rev(s));
	*out = resp;
	return resp->header ? 0 : -ENOMEM;
}

static int compare_int(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static bool compare_kv(const Etcdserverpb__Compare *c,
		       const struct mvcc_rev *r)
{
	ProtobufCBinaryData want = { 0, NULL };
	int64_t iwant = 0;
	int res;

	switch (c->target) {
	case ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE:
		if (c->target_union_case == ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE)
			want = c->value;
		res = mvcc_key__cmp(r ? r->value : NULL, r ? r->vlen : 0,
				    want.data, want.len);
		break;
	case ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION:
		if (c->target_union_case == ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION)
			iwant = c->version;
		res = compare_int(r ? r->version : 0, iwant);
		break;
	case ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE:
		if (c->target_union_case ==
		    ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION)
			iwant = c->create_revision;
		res = compare_int(r ? r->create : 0, iwant);
		break;
	case ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD:
		if (c->target_union_case ==
		    ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION)
			iwant = c->mod_revision;
		res = compare_int(r ? r->main : 0, iwant);
		break;
	case ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE:
		if (c->target_union_case == ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE)
			iwant = c->lease;
		res = compare_int(r ? r->lease : 0, iwant);
		break;
	default:
		return false;
	}
	switch (c->result) {
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL:
		return res == 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER:
		return res > 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS:
		return res < 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL:
		return res != 0;
	default:
		return false;
	}
}

static bool compare_one(struct mvcc_store *s, const Etcdserverpb__Compare *c)
{
	int64_t rev = mvcc_core__txn_rev(s);
	struct key_range kr;
	struct mvcc_iter it;
	struct mvcc_key *k;
	bool any = false;

	key_range__from(&kr, &c->key, &c->range_end);
	mvcc_index__seek(&s->idx, kr.key, kr.klen, &it);
	while ((k = mvcc_iter__next(&it)) && !key_range__past(&kr, k)) {
		const struct mvcc_rev *r = mvcc_key__live_at(k, rev);

		if (!r)
			continue;
		any = true;
		if (!compare_kv(c, r))
			return false;
	}
	if (any)
		return true;
	if (c->target == ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE)
		return false;
	return compare_kv(c, NULL);
}

static int run_txn(struct mvcc_store *s, struct arena *a,
		   const Etcdserverpb__TxnRequest *r,
		   Etcdserverpb__TxnResponse **out);

static int run_op(struct mvcc_store *s, struct arena *a,
		  const Etcdserverpb__RequestOp *op, Etcdserverpb__ResponseOp *ro)
{
	etcdserverpb__response_op__init(ro);
	switch (op->request_case) {
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
		ro->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE;
		/* Checked beforehand, except in a nested txn whose compares
		 * flipped during the txn: a bad revision then reads nothing. */
		if (ops_range(s, a, op->request_range, &ro->response_range)) {
			ro->response_range = arena__alloc(a,
				sizeof(*ro->response_range));
			if (!ro->response_range)
				return -ENOMEM;
			etcdserverpb__range_response__init(ro->response_range);
		}
		return ro->response_range ? 0 : -ENOMEM;
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
		ro->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT;
		return do_put(s, a, op->request_put, &ro->response_put);
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
		ro->response_case =
			ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE;
		return do_delete(s, a, op->request_delete_range,
				 &ro->response_delete_range);
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN:
		ro->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_TXN;
		return run_txn(s, a, op->request_txn, &ro->response_txn);
	default:
		/* An empty op: etcd answers it with an empty response. */
		return 0;
	}
}

static int run_txn(struct mvcc_store *s, struct arena *a,
		   const Etcdserverpb__TxnRequest *r,
		   Etcdserverpb__TxnResponse **out)
{
	Etcdserverpb__TxnResponse *resp = arena__alloc(a, sizeof(*resp));
	Etcdserverpb__RequestOp **ops;
	bool ok = true;
	size_t n;

	if (!resp)
		return -ENOMEM;
	etcdserverpb__txn_response__init(resp);
	for (size_t i = 0; ok && i < r->n_compare; i++)
		ok = compare_one(s, r->compare[i]);
	ops = ok ? r->success : r->failure;
	n = ok ? r->n_success : r->n_failure;
	resp->succeeded = ok;
	resp->responses = arena__calloc(a, n, sizeof(*resp->responses));
	if (n && !resp->responses)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Etcdserverpb__ResponseOp *ro = arena__alloc(a, sizeof(*ro));

		if (!ro || run_op(s, a, ops[i], ro))
			return -ENOMEM;
		resp->responses[resp->n_responses++] = ro;
	}
	resp->header = ops_header(a, NULL, mvcc_core__txn_rev(s));
	*out = resp;
	return resp->header ? 0 : -ENOMEM;
}

/* The etcd error that refuses @req before it changes anything. */
static enum etcd_err txn_check(struct mvcc_store *s, enum mvcc_cmd_type type,
			       const ProtobufCMessage *req)
{
	const Etcdserverpb__PutRequest *put = (const void *)req;
	enum etcd_err err;

	switch (type) {
	case MVCC_CMD_PUT:
		err = check_put(s, put);
		return err ? err : txn_quota(s, mvcc_core__put_cost(put->key.len,
							       put->value.len));
	case MVCC_CMD_TXN:
		err = txn_quota(s, txn_cost((const void *)req));
		return err ? err : check_txn(s, (const void *)req, 0);
	default:
		return ETCD_OK;
	}
}

int txn_apply(struct mvcc_store *s, struct arena *a, enum mvcc_cmd_type type,
	      const ProtobufCMessage *req, ProtobufCMessage **resp,
	      enum etcd_err *err)
{
	int ret;

	*resp = NULL;
	*err = txn_check(s, type, req);
	if (*err)
		return 0;
	mvcc_core__txn_begin(s);
	switch (type) {
	case MVCC_CMD_PUT:
		ret = do_put(s, a, (const void *)req, (void *)resp);
		break;
	case MVCC_CMD_DELETE_RANGE:
		ret = do_delete(s, a, (const void *)req, (void *)resp);
		break;
	case MVCC_CMD_TXN:
		ret = run_txn(s, a, (const void *)req, (void *)resp);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	mvcc_core__txn_end(s);
	return ret;
}
