// SPDX-License-Identifier: GPL-2.0
/*
 * The checks etcd's gRPC layer makes before it proposes a request
 * (api/v3rpc/key.go), so that gnomond refuses the same requests with the
 * same errors: an empty key, ignore_value with a value, ignore_lease with
 * a lease, more than 128 compares or operations per branch, and, within
 * one branch of a txn (nested txns included), the same key put twice or a
 * put inside a range that the branch deletes.  The duplicate check sorts
 * the put keys, so a large txn costs O(n log n), not O(n^2).  Should the
 * key lists not fit in memory, the request is refused as too large.
 */
#include <stdlib.h>

#include "../../common/grow.h"
#include "ops.h"

enum etcd_err mvcc_validate__range(const Etcdserverpb__RangeRequest *r)
{
	if (!r->key.len)
		return ETCD_ERR_EMPTY_KEY;
	if ((unsigned int)r->sort_order >
	    ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND ||
	    (unsigned int)r->sort_target >
	    ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VALUE)
		return ETCD_ERR_INVALID_SORT;
	return ETCD_OK;
}

enum etcd_err mvcc_validate__put(const Etcdserverpb__PutRequest *r)
{
	if (!r->key.len)
		return ETCD_ERR_EMPTY_KEY;
	if (r->ignore_value && r->value.len)
		return ETCD_ERR_VALUE_PROVIDED;
	if (r->ignore_lease && r->lease)
		return ETCD_ERR_LEASE_PROVIDED;
	return ETCD_OK;
}

enum etcd_err mvcc_validate__delete_range(
	const Etcdserverpb__DeleteRangeRequest *r)
{
	return r->key.len ? ETCD_OK : ETCD_ERR_EMPTY_KEY;
}

struct branch_keys {
	const ProtobufCBinaryData **puts;
	size_t nputs, capputs;
	const Etcdserverpb__DeleteRangeRequest **dels;
	size_t ndels, capdels;
};

static bool grow(void *arrp, size_t *cap, size_t n)
{
	void **arr = arrp;
	void *p = grow__array(*arr, cap, n + 1, sizeof(void *), 16);

	if (!p)
		return false;
	*arr = p;
	return true;
}

static enum etcd_err check_txn(const Etcdserverpb__TxnRequest *r,
			       unsigned int depth, struct branch_keys *outer);

/* Check the ops of one branch, collecting its puts and deletes in @bk. */
static enum etcd_err check_ops(Etcdserverpb__RequestOp **ops, size_t n,
			       unsigned int depth, struct branch_keys *bk)
{
	enum etcd_err err = ETCD_OK;

	if (n > MVCC_MAX_TXN_OPS)
		return ETCD_ERR_TOO_MANY_OPS;
	for (size_t i = 0; !err && i < n; i++) {
		const Etcdserverpb__RequestOp *op = ops[i];

		switch (op->request_case) {
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
			err = mvcc_validate__range(op->request_range);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
			err = mvcc_validate__put(op->request_put);
			if (err)
				break;
			if (!grow(&bk->puts, &bk->capputs, bk->nputs))
				return ETCD_ERR_REQUEST_TOO_LARGE;
			bk->puts[bk->nputs++] = &op->request_put->key;
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
			err = mvcc_validate__delete_range(op->request_delete_range);
			if (err)
				break;
			if (!grow(&bk->dels, &bk->capdels, bk->ndels))
				return ETCD_ERR_REQUEST_TOO_LARGE;
			bk->dels[bk->ndels++] = op->request_delete_range;
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN:
			err = check_txn(op->request_txn, depth + 1, bk);
			break;
		default:
			break;
		}
	}
	return err;
}

static int key_cmp(const void *a, const void *b)
{
	const ProtobufCBinaryData *x = *(const ProtobufCBinaryData *const *)a;
	const ProtobufCBinaryData *y = *(const ProtobufCBinaryData *const *)b;

	return mvcc_key__cmp(x->data, x->len, y->data, y->len);
}

static enum etcd_err check_duplicates(struct branch_keys *bk)
{
	if (bk->nputs > 1)
		qsort(bk->puts, bk->nputs, sizeof(*bk->puts), key_cmp);
	for (size_t i = 1; i < bk->nputs; i++)
		if (!key_cmp(&bk->puts[i - 1], &bk->puts[i]))
			return ETCD_ERR_DUPLICATE_KEY;
	for (size_t d = 0; d < bk->ndels; d++) {
		const Etcdserverpb__DeleteRangeRequest *del = bk->dels[d];
		struct key_range kr;
		size_t lo = 0, hi = bk->nputs;

		key_range__from(&kr, &del->key, &del->range_end);
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const ProtobufCBinaryData *p = bk->puts[mid];

			if (mvcc_key__cmp(p->data, p->len, kr.key, kr.klen) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < bk->nputs &&
		    key_range__contains(&kr, bk->puts[lo]->data,
					bk->puts[lo]->len))
			return ETCD_ERR_DUPLICATE_KEY;
	}
	return ETCD_OK;
}

static void branch_keys__release(struct branch_keys *bk)
{
	free(bk->puts);
	free(bk->dels);
}

static bool append_keys(struct branch_keys *to, const struct branch_keys *from)
{
	for (size_t i = 0; i < from->nputs; i++) {
		if (!grow(&to->puts, &to->capputs, to->nputs))
			return false;
		to->puts[to->nputs++] = from->puts[i];
	}
	for (size_t i = 0; i < from->ndels; i++) {
		if (!grow(&to->dels, &to->capdels, to->ndels))
			return false;
		to->dels[to->ndels++] = from->dels[i];
	}
	return true;
}

/*
 * Each branch is checked on its own.  A nested txn's branches are
 * alternatives, so the enclosing branch then sees the union of their keys,
 * a key put in both counting once.
 */
static enum etcd_err check_txn(const Etcdserverpb__TxnRequest *r,
			       unsigned int depth, struct branch_keys *outer)
{
	Etcdserverpb__RequestOp **br[2] = { r->success, r->failure };
	size_t nb[2] = { r->n_success, r->n_failure };
	struct branch_keys merged = { 0 };
	enum etcd_err err = ETCD_OK;

	if (depth > MVCC_MAX_TXN_DEPTH || r->n_compare > MVCC_MAX_TXN_OPS)
		return ETCD_ERR_TOO_MANY_OPS;
	for (size_t i = 0; i < r->n_compare; i++)
		if (!r->compare[i]->key.len)
			return ETCD_ERR_EMPTY_KEY;
	for (int b = 0; !err && b < 2; b++) {
		struct branch_keys bk = { 0 };

		err = check_ops(br[b], nb[b], depth, &bk);
		if (!err)
			err = check_duplicates(&bk);
		if (!err && outer && !append_keys(&merged, &bk))
			err = ETCD_ERR_REQUEST_TOO_LARGE;
		branch_keys__release(&bk);
	}
	if (!err && outer) {
		size_t n = 0;

		if (merged.nputs > 1)
			qsort(merged.puts, merged.nputs, sizeof(*merged.puts),
			      key_cmp);
		for (size_t i = 0; i < merged.nputs; i++)
			if (!n || key_cmp(&merged.puts[n - 1], &merged.puts[i]))
				merged.puts[n++] = merged.puts[i];
		merged.nputs = n;
		if (!append_keys(outer, &merged))
			err = ETCD_ERR_REQUEST_TOO_LARGE;
	}
	branch_keys__release(&merged);
	return err;
}

enum etcd_err mvcc_validate__txn(const Etcdserverpb__TxnRequest *r)
{
	return check_txn(r, 0, NULL);
}
