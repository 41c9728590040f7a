// SPDX-License-Identifier: GPL-2.0
/*
 * KV.Range over the MVCC store, with etcd's rules:
 *   - range_end empty: one key; "\0": every key >= key; else [key, end);
 *   - revision <= 0 reads the current revision; below the compaction
 *     revision fails with "compacted", above the current one "future";
 *   - count is the number of keys in the range at that revision, whatever
 *     the limit and the min/max revision filters;
 *   - without sort or filter the limit is applied while scanning; with
 *     them, everything is collected, filtered, sorted, then cut, and
 *     "more" says whether the cut dropped something;
 *   - a sort target other than KEY with order NONE sorts ascending;
 *   - the header revision is the store's current revision.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

void key_range__from(struct key_range *r, const ProtobufCBinaryData *key,
		     const ProtobufCBinaryData *range_end)
{
	memset(r, 0, sizeof(*r));
	r->key = key->data;
	r->klen = key->len;
	if (!range_end->len) {
		r->single = true;
	} else if (range_end->len == 1 && range_end->data[0] == 0) {
		r->unbounded = true;
	} else {
		r->end = range_end->data;
		r->elen = range_end->len;
	}
}

bool key_range__past(const struct key_range *r, const struct mvcc_key *k)
{
	if (r->unbounded)
		return false;
	if (r->single)
		return mvcc_key__cmp(k->key, k->klen, r->key, r->klen) > 0;
	return mvcc_key__cmp(k->key, k->klen, r->end, r->elen) >= 0;
}

bool key_range__contains(const struct key_range *r, const uint8_t *key,
			 size_t klen)
{
	if (mvcc_key__cmp(key, klen, r->key, r->klen) < 0)
		return false;
	if (r->unbounded)
		return true;
	if (r->single)
		return mvcc_key__cmp(key, klen, r->key, r->klen) == 0;
	return mvcc_key__cmp(key, klen, r->end, r->elen) < 0;
}

Mvccpb__KeyValue *ops_kv(struct arena *a, const struct mvcc_key *k,
			 const struct mvcc_rev *r, bool keys_only)
{
	Mvccpb__KeyValue *kv = arena__alloc(a, sizeof(*kv));

	if (!kv)
		return NULL;
	mvccpb__key_value__init(kv);
	kv->key.data = (uint8_t *)k->key;
	kv->key.len = k->klen;
	kv->create_revision = r->create;
	kv->mod_revision = r->main;
	kv->version = r->version;
	kv->lease = r->lease;
	if (!keys_only) {
		kv->value.data = r->value;
		kv->value.len = r->vlen;
	}
	return kv;
}

Etcdserverpb__ResponseHeader *ops_header(struct arena *a,
					 const struct mvcc_header *hdr,
					 int64_t rev)
{
	Etcdserverpb__ResponseHeader *h = arena__alloc(a, sizeof(*h));

	if (!h)
		return NULL;
	etcdserverpb__response_header__init(h);
	if (hdr) {
		h->cluster_id = hdr->cluster_id;
		h->member_id = hdr->member_id;
		h->raft_term = hdr->raft_term;
	}
	h->revision = rev;
	return h;
}

struct sort_spec {
	Etcdserverpb__RangeRequest__SortTarget target;
	bool descend;
};

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int kv_cmp(const void *pa, const void *pb, void *arg)
{
	const Mvccpb__KeyValue *a = *(Mvccpb__KeyValue *const *)pa;
	const Mvccpb__KeyValue *b = *(Mvccpb__KeyValue *const *)pb;
	const struct sort_spec *spec = arg;
	int c;

	switch (spec->target) {
	case ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VERSION:
		c = cmp_i64(a->version, b->version);
		break;
	case ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__CREATE:
		c = cmp_i64(a->create_revision, b->create_revision);
		break;
	case ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__MOD:
		c = cmp_i64(a->mod_revision, b->mod_revision);
		break;
	case ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VALUE:
		c = mvcc_key__cmp(a->value.data, a->value.len, b->value.data,
				  b->value.len);
		break;
	default:
		c = 0;
		break;
	}
	/* Ties (and KEY) fall back to key order: the sort stays deterministic. */
	if (!c)
		c = mvcc_key__cmp(a->key.data, a->key.len, b->key.data,
				  b->key.len);
	return spec->descend ? -c : c;
}

static bool filtered_out(const Etcdserverpb__RangeRequest *req,
			 const struct mvcc_rev *r)
{
	return (req->max_mod_revision && r->main > req->max_mod_revision) ||
	       (req->min_mod_revision && r->main < req->min_mod_revision) ||
	       (req->max_create_revision &&
		r->create > req->max_create_revision) ||
	       (req->min_create_revision &&
		r->create < req->min_create_revision);
}

enum etcd_err ops_range(struct mvcc_store *s, struct arena *a,
			const Etcdserverpb__RangeRequest *req,
			Etcdserverpb__RangeResponse **out)
{
	Etcdserverpb__RangeResponse *resp;
	struct sort_spec spec = { .target = req->sort_target };
	bool sorted, filtered, pushdown;
	size_t n = 0, cap = 0, total = 0;
	Mvccpb__KeyValue **kvs = NULL;
	struct key_range kr;
	struct mvcc_iter it;
	struct mvcc_key *k;
	enum etcd_err err;
	int64_t rev;

	*out = NULL;
	err = mvcc_core__read_rev(s, req->revision, &rev);
	if (err)
		return err;
	resp = arena__alloc(a, sizeof(*resp));
	if (!resp)
		return ETCD_OK;
	etcdserverpb__range_response__init(resp);
	resp->header = ops_header(a, NULL, mvcc_core__txn_rev(s));
	if (!resp->header)
		return ETCD_OK;

	sorted = req->sort_order != ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE ||
		 req->sort_target != ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY;
	spec.descend = req->sort_order ==
		       ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND;
	filtered = req->min_mod_revision || req->max_mod_revision ||
		   req->min_create_revision || req->max_create_revision;
	pushdown = req->limit > 0 && !sorted && !filtered;

	key_range__from(&kr, &req->key, &req->range_end);
	if (!kr.single && !kr.unbounded &&
	    mvcc_key__cmp(kr.key, kr.klen, kr.end, kr.elen) >= 0)
		goto done;
	mvcc_index__seek(&s->idx, kr.key, kr.klen, &it);
	while ((k = mvcc_iter__next(&it)) && !key_range__past(&kr, k)) {
		const struct mvcc_rev *r = mvcc_key__live_at(k, rev);

		if (!r)
			continue;
		total++;
		if (req->count_only || (pushdown && n >= (size_t)req->limit))
			continue;
		if (filtered_out(req, r))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			Mvccpb__KeyValue **nk =
				arena__calloc(a, ncap, sizeof(*nk));

			if (!nk)
				return ETCD_OK;
			if (n)
				memcpy(nk, kvs, n * sizeof(*nk));
			kvs = nk;
			cap = ncap;
		}
		kvs[n] = ops_kv(a, k, r, false);
		if (!kvs[n])
			return ETCD_OK;
		n++;
	}
	if (sorted && n > 1)
		qsort_r(kvs, n, sizeof(*kvs), kv_cmp, &spec);
	if (pushdown)
		resp->more = total > (size_t)req->limit;
	else if (req->limit > 0 && n > (size_t)req->limit) {
		n = req->limit;
		resp->more = true;
	}
	/* Sorting by value needed the values; keys_only drops them now. */
	for (size_t i = 0; req->keys_only && i < n; i++) {
		kvs[i]->value.len = 0;
		kvs[i]->value.data = NULL;
	}
	resp->kvs = kvs;
	resp->n_kvs = n;
done:
	resp->count = total;
	*out = resp;
	return ETCD_OK;
}

int ops_pack(const ProtobufCMessage *msg, struct mvcc_result *res)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	res->err = ETCD_OK;
	res->resp = malloc(len ? len : 1);
	if (!res->resp)
		return -ENOMEM;
	res->len = protobuf_c_message_pack(msg, res->resp);
	return 0;
}
