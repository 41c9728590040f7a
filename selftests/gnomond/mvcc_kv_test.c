// SPDX-License-Identifier: GPL-2.0
/*
 * MVCC semantics of gnomond's state machine against etcd's rules:
 * revisions, versions, tombstones, historical reads, compaction, and the
 * Range options (prefix, "\0", limit/more/count, keys_only, count_only,
 * sort, revision filters).  Every request goes through the command
 * encoding and apply(), as on a cluster member.
 */
#include "../ktap.h"
#include "mvcc_helpers.h"
#include "../../tools/gnomond/mvcc/index.h"

KTAP_TEST(mvcc_revisions_and_versions)
{
	struct mvcc_store *s;
	enum etcd_err err;
	Etcdserverpb__RangeResponse *g;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	KTAP_EXPECT(t, mvcc_store__revision(s) == 1, "empty store at rev 1");
	KTAP_EXPECT(t, th_put(s, "a", "1") == 2, "first put takes rev 2");
	KTAP_EXPECT(t, th_put(s, "a", "2") == 3, "second put rev 3");
	KTAP_EXPECT(t, th_put(s, "b", "x") == 4, "put b rev 4");
	g = th_get(s, "a", NULL, 0, &err);
	KTAP_ASSERT(t, g && g->n_kvs == 1, "get a");
	KTAP_EXPECT(t, g->kvs[0]->create_revision == 2 &&
		    g->kvs[0]->mod_revision == 3 && g->kvs[0]->version == 2,
		    "create %ld mod %ld version %ld",
		    (long)g->kvs[0]->create_revision,
		    (long)g->kvs[0]->mod_revision, (long)g->kvs[0]->version);
	KTAP_EXPECT(t, th_val_is(&g->kvs[0]->value, "2"), "latest value");
	KTAP_EXPECT(t, g->header->revision == 4 && g->header->cluster_id == 7 &&
		    g->header->member_id == 9 && g->header->raft_term == 3,
		    "header rev %ld", (long)g->header->revision);
	etcdserverpb__range_response__free_unpacked(g, NULL);
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_delete_makes_tombstone)
{
	Etcdserverpb__DeleteRangeResponse *d;
	Etcdserverpb__RangeResponse *g;
	Etcdserverpb__PutResponse *p;
	struct mvcc_store *s;
	enum etcd_err err;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "k", "v1");
	th_put(s, "k", "v2");
	d = th_del(s, "k", NULL, true, &err);
	KTAP_ASSERT(t, d, "delete: err %d", err);
	KTAP_EXPECT(t, d->deleted == 1 && d->header->revision == 4,
		    "deleted %ld rev %ld", (long)d->deleted,
		    (long)d->header->revision);
	KTAP_EXPECT(t, d->n_prev_kvs == 1 &&
		    th_val_is(&d->prev_kvs[0]->value, "v2"), "prev_kv");
	etcdserverpb__delete_range_response__free_unpacked(d, NULL);

	/* Deleting nothing leaves the revision alone. */
	d = th_del(s, "k", NULL, false, &err);
	KTAP_ASSERT(t, d, "delete again");
	KTAP_EXPECT(t, d->deleted == 0 && d->header->revision == 4,
		    "no-op delete rev %ld", (long)d->header->revision);
	etcdserverpb__delete_range_response__free_unpacked(d, NULL);
	KTAP_EXPECT(t, mvcc_store__revision(s) == 4, "rev unchanged");

	g = th_get(s, "k", NULL, 0, &err);
	KTAP_ASSERT(t, g, "get");
	KTAP_EXPECT(t, g->n_kvs == 0 && g->count == 0, "deleted key is gone");
	etcdserverpb__range_response__free_unpacked(g, NULL);

	/* A put after the delete starts a new generation. */
	p = th_put_req(s, "k", "v3", true, &err);
	KTAP_ASSERT(t, p, "put");
	KTAP_EXPECT(t, !p->prev_kv, "no prev_kv across a tombstone");
	etcdserverpb__put_response__free_unpacked(p, NULL);
	g = th_get(s, "k", NULL, 0, &err);
	KTAP_ASSERT(t, g && g->n_kvs == 1, "get");
	KTAP_EXPECT(t, g->kvs[0]->create_revision == 5 && g->kvs[0]->version == 1,
		    "new generation create %ld version %ld",
		    (long)g->kvs[0]->create_revision, (long)g->kvs[0]->version);
	etcdserverpb__range_response__free_unpacked(g, NULL);
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_historical_reads)
{
	Etcdserverpb__RangeResponse *g;
	struct mvcc_store *s;
	enum etcd_err err;
	char v[16];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	for (int i = 0; i < 10; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		th_put(s, "h", v);	/* rev i + 2 */
	}
	KTAP_EXPECT(t, th_del_n(s, "h", NULL) == 1, "delete at rev 12");
	for (int i = 0; i < 10; i++) {
		g = th_get(s, "h", NULL, i + 2, &err);
		KTAP_ASSERT(t, g && g->n_kvs == 1, "get at %d", i + 2);
		snprintf(v, sizeof(v), "v%d", i);
		KTAP_EXPECT(t, th_val_is(&g->kvs[0]->value, v) &&
			    g->kvs[0]->version == i + 1, "value at rev %d", i + 2);
		KTAP_EXPECT(t, g->header->revision == 12,
			    "header carries the current revision");
		etcdserverpb__range_response__free_unpacked(g, NULL);
	}
	g = th_get(s, "h", NULL, 1, &err);
	KTAP_ASSERT(t, g, "get at 1");
	KTAP_EXPECT(t, g->n_kvs == 0, "absent before its creation");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	g = th_get(s, "h", NULL, 12, &err);
	KTAP_EXPECT(t, g && g->n_kvs == 0, "absent at its tombstone");
	if (g)
		etcdserverpb__range_response__free_unpacked(g, NULL);
	g = th_get(s, "h", NULL, 13, &err);
	KTAP_EXPECT(t, !g && err == ETCD_ERR_FUTURE_REV, "future: err %d", err);
	KTAP_EXPECT(t, etcd_err__grpc_status(err) == GRPC_OUT_OF_RANGE &&
		    !strcmp(etcd_err__message(err),
			    "etcdserver: mvcc: required revision is a future revision"),
		    "etcd's text and code");
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_compaction)
{
	Etcdserverpb__RangeResponse *g;
	struct mvcc_store *s;
	enum etcd_err err;
	uint64_t before;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "a", "a1");		/* 2 */
	th_put(s, "a", "a2");		/* 3 */
	th_put(s, "gone", "x");		/* 4 */
	th_del_n(s, "gone", NULL);	/* 5 */
	th_put(s, "a", "a3");		/* 6 */
	th_put(s, "b", "b1");		/* 7 */
	before = mvcc_store__size(s);
	KTAP_EXPECT(t, mvcc_store__key_records(s) == 3, "3 key records");
	KTAP_EXPECT(t, th_compact(s, 8) == ETCD_ERR_FUTURE_REV, "future compact");
	KTAP_ASSERT(t, th_compact(s, 5) == ETCD_OK, "compact at 5");
	KTAP_EXPECT(t, mvcc_store__compact_revision(s) == 5, "compact rev");
	KTAP_EXPECT(t, mvcc_store__key_records(s) == 2,
		    "the key deleted before 5 is removed: %zu",
		    mvcc_store__key_records(s));
	KTAP_EXPECT(t, mvcc_store__size(s) < before, "size shrinks %lu -> %lu",
		    (unsigned long)before, (unsigned long)mvcc_store__size(s));
	KTAP_EXPECT(t, th_compact(s, 5) == ETCD_ERR_COMPACTED, "same rev again");
	KTAP_EXPECT(t, th_compact(s, 3) == ETCD_ERR_COMPACTED, "older rev");

	g = th_get(s, "a", NULL, 4, &err);
	KTAP_EXPECT(t, !g && err == ETCD_ERR_COMPACTED, "read below: err %d", err);
	KTAP_EXPECT(t, !strcmp(etcd_err__message(err),
			       "etcdserver: mvcc: required revision has been compacted"),
		    "etcd's text");
	g = th_get(s, "a", NULL, 5, &err);
	KTAP_ASSERT(t, g && g->n_kvs == 1, "read at the compact rev: err %d", err);
	KTAP_EXPECT(t, th_val_is(&g->kvs[0]->value, "a2"),
		    "the latest revision <= 5 survives");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	g = th_get(s, "a", NULL, 6, &err);
	KTAP_ASSERT(t, g && g->n_kvs == 1, "read at 6");
	KTAP_EXPECT(t, th_val_is(&g->kvs[0]->value, "a3") &&
		    g->kvs[0]->version == 3 && g->kvs[0]->create_revision == 2,
		    "versions survive compaction");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	KTAP_EXPECT(t, th_compact(s, 7) == ETCD_OK, "compact at head");
	KTAP_EXPECT(t, th_put(s, "a", "a4") == 8, "writes continue");
	mvcc_store__free(s);
}

static Etcdserverpb__RangeResponse *ranged(struct mvcc_store *s,
					   Etcdserverpb__RangeRequest *r,
					   const char *k, const char *end)
{
	enum etcd_err err;

	r->key = th_bin(k);
	r->range_end = end ? th_bin(end) : (ProtobufCBinaryData){ 1, (uint8_t *)"" };
	return th_range_req(s, r, &err);
}

KTAP_TEST(mvcc_range_options)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	Etcdserverpb__RangeResponse *g;
	struct mvcc_store *s;
	char k[16];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "a", "z");
	for (int i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "p/%d", i);
		th_put(s, k, i % 2 ? "odd" : "even");	/* revs 3..12 */
	}
	th_put(s, "q", "last");
	th_put(s, "p/3", "again");		/* version 2, mod 14 */

	g = ranged(s, &r, "p/", "p0");		/* etcdctl --prefix p/ */
	KTAP_ASSERT(t, g, "prefix");
	KTAP_EXPECT(t, g->n_kvs == 10 && g->count == 10 && !g->more,
		    "n %zu count %ld", g->n_kvs, (long)g->count);
	for (size_t i = 1; i < g->n_kvs; i++)
		KTAP_EXPECT(t, mvcc_key__cmp(g->kvs[i - 1]->key.data,
					     g->kvs[i - 1]->key.len,
					     g->kvs[i]->key.data,
					     g->kvs[i]->key.len) < 0, "key order");
	etcdserverpb__range_response__free_unpacked(g, NULL);

	g = ranged(s, &r, "p/5", NULL);		/* "\0": from p/5 on */
	KTAP_ASSERT(t, g, "from key");
	KTAP_EXPECT(t, g->n_kvs == 6 && th_val_is(&g->kvs[5]->key, "q"),
		    "n %zu", g->n_kvs);
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.limit = 3;
	g = ranged(s, &r, "p/", "p0");
	KTAP_ASSERT(t, g, "limit");
	KTAP_EXPECT(t, g->n_kvs == 3 && g->more && g->count == 10,
		    "n %zu more %d count %ld", g->n_kvs, g->more, (long)g->count);
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.limit = 0;
	r.count_only = true;
	g = ranged(s, &r, "a", NULL);
	KTAP_ASSERT(t, g, "count_only");
	KTAP_EXPECT(t, g->n_kvs == 0 && g->count == 12, "count %ld",
		    (long)g->count);
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.count_only = false;
	r.keys_only = true;
	g = ranged(s, &r, "p/", "p0");
	KTAP_ASSERT(t, g && g->n_kvs == 10, "keys_only");
	KTAP_EXPECT(t, g->kvs[0]->value.len == 0 && g->kvs[0]->key.len == 3 &&
		    g->kvs[0]->mod_revision == 3, "no value, metadata kept");
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.keys_only = false;
	r.sort_order = ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND;
	r.sort_target = ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__MOD;
	r.limit = 2;
	g = ranged(s, &r, "p/", "p0");
	KTAP_ASSERT(t, g && g->n_kvs == 2, "sort");
	KTAP_EXPECT(t, th_val_is(&g->kvs[0]->key, "p/3") &&
		    th_val_is(&g->kvs[1]->key, "p/9") && g->more &&
		    g->count == 10, "newest first");
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.sort_order = ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE;
	r.sort_target = ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY;
	r.limit = 0;
	r.min_mod_revision = 10;
	r.max_create_revision = 11;
	g = ranged(s, &r, "p/", "p0");
	KTAP_ASSERT(t, g, "filters");
	/* mod >= 10: p/7 (10), p/8 (11), p/9 (12), p/3 (14); create <= 11
	 * drops p/9 (12). */
	KTAP_EXPECT(t, g->n_kvs == 3 && g->count == 10, "n %zu", g->n_kvs);
	etcdserverpb__range_response__free_unpacked(g, NULL);

	r.sort_order = 7;
	KTAP_EXPECT(t, mvcc_validate__range(&r) == ETCD_ERR_INVALID_SORT &&
		    !strcmp(etcd_err__message(ETCD_ERR_INVALID_SORT),
			    "etcdserver: invalid sort option"), "bad sort order");
	r.sort_order = ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE;
	KTAP_EXPECT(t, mvcc_validate__range(&r) == ETCD_OK, "valid range");
	r.min_mod_revision = 0;
	r.max_create_revision = 0;
	g = ranged(s, &r, "p/9", "p/1");	/* end before key: empty */
	KTAP_ASSERT(t, g, "inverted range");
	KTAP_EXPECT(t, g->n_kvs == 0 && g->count == 0, "empty");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_put_options)
{
	Etcdserverpb__PutRequest r = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__RangeResponse *g;
	struct mvcc_result res;
	struct mvcc_store *s;
	enum etcd_err err;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	r.key = th_bin("k");
	r.value = th_bin("v");
	r.lease = 42;
	err = th_apply(s, MVCC_CMD_PUT, &r.base, &res);
	KTAP_EXPECT(t, err == ETCD_ERR_LEASE_NOT_FOUND &&
		    etcd_err__grpc_status(err) == GRPC_NOT_FOUND,
		    "no leases: err %d", err);
	mvcc_result__release(&res);
	r.lease = 0;
	r.ignore_value = true;
	r.value = th_bin(NULL);
	err = th_apply(s, MVCC_CMD_PUT, &r.base, &res);
	KTAP_EXPECT(t, err == ETCD_ERR_KEY_NOT_FOUND, "ignore_value on missing");
	mvcc_result__release(&res);
	KTAP_EXPECT(t, mvcc_store__revision(s) == 1, "nothing applied");
	th_put(s, "k", "keep");
	err = th_apply(s, MVCC_CMD_PUT, &r.base, &res);
	KTAP_EXPECT(t, err == ETCD_OK, "ignore_value on existing");
	mvcc_result__release(&res);
	g = th_get(s, "k", NULL, 0, &err);
	KTAP_ASSERT(t, g && g->n_kvs == 1, "get");
	KTAP_EXPECT(t, th_val_is(&g->kvs[0]->value, "keep") &&
		    g->kvs[0]->version == 2, "value kept, version bumped");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	KTAP_EXPECT(t, mvcc_validate__put(&r) == ETCD_OK, "valid");
	r.value = th_bin("x");
	KTAP_EXPECT(t, mvcc_validate__put(&r) == ETCD_ERR_VALUE_PROVIDED,
		    "value with ignore_value");
	r.key = th_bin(NULL);
	KTAP_EXPECT(t, mvcc_validate__put(&r) == ETCD_ERR_EMPTY_KEY, "empty key");
	mvcc_store__free(s);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
