// SPDX-License-Identifier: GPL-2.0
/*
 * MVCC state machine, second part: Txn (compares, branches, one revision
 * with sub-revisions, nested txns), etcd's request checks, the quota and
 * its NOSPACE alarm, snapshot round trips and corrupt snapshots, the B+tree
 * index against a sorted reference, and random garbage commands (which
 * must change nothing).
 */
#include "../ktap.h"
#include "mvcc_helpers.h"
#include <errno.h>

#include "../../tools/gnomond/mvcc/store.h"

static Etcdserverpb__Compare *cmp_new(Etcdserverpb__Compare *c, const char *key,
				      Etcdserverpb__Compare__CompareTarget target,
				      Etcdserverpb__Compare__CompareResult result)
{
	etcdserverpb__compare__init(c);
	c->key = th_bin(key);
	c->target = target;
	c->result = result;
	return c;
}

static Etcdserverpb__RequestOp *put_op(Etcdserverpb__RequestOp *op,
				       Etcdserverpb__PutRequest *p,
				       const char *k, const char *v)
{
	etcdserverpb__request_op__init(op);
	etcdserverpb__put_request__init(p);
	p->key = th_bin(k);
	p->value = th_bin(v);
	op->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	op->request_put = p;
	return op;
}

static Etcdserverpb__TxnResponse *run_txn(struct mvcc_store *s,
					  Etcdserverpb__TxnRequest *r,
					  enum etcd_err *err)
{
	Etcdserverpb__TxnResponse *resp = NULL;
	struct mvcc_result res;

	*err = th_apply(s, MVCC_CMD_TXN, &r->base, &res);
	if (!*err)
		resp = etcdserverpb__txn_response__unpack(NULL, res.len, res.resp);
	mvcc_result__release(&res);
	return resp;
}

KTAP_TEST(mvcc_txn_compares_and_branches)
{
	Etcdserverpb__TxnRequest r = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__Compare c, *cp = &c;
	Etcdserverpb__RequestOp ops[2], *opp[2] = { &ops[0], &ops[1] };
	Etcdserverpb__PutRequest puts[2];
	Etcdserverpb__RequestOp fop, *fopp = &fop;
	Etcdserverpb__PutRequest fput;
	Etcdserverpb__TxnResponse *resp;
	Etcdserverpb__RangeResponse *g;
	struct mvcc_store *s;
	enum etcd_err err;
	static const struct {
		Etcdserverpb__Compare__CompareTarget target;
		Etcdserverpb__Compare__CompareResult result;
		int64_t num;
		const char *val;
		bool want;
	} cases[] = {
		/* key "x": value "m", version 2, create 2, mod 3 */
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL, 0, "m", true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER, 0, "a", true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS, 0, "a", false },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL, 0, "m", false },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL, 2, NULL, true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER, 2, NULL, false },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL, 2, NULL, true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS, 3, NULL, true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL, 3, NULL, true },
		{ ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD,
		  ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL, 3, NULL, false },
	};

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "x", "first");	/* 2 */
	th_put(s, "x", "m");		/* 3 */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t before = mvcc_store__revision(s);

		cmp_new(&c, "x", cases[i].target, cases[i].result);
		switch (cases[i].target) {
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE:
			c.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE;
			c.value = th_bin(cases[i].val);
			break;
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION:
			c.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION;
			c.version = cases[i].num;
			break;
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE:
			c.target_union_case =
				ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION;
			c.create_revision = cases[i].num;
			break;
		default:
			c.target_union_case =
				ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION;
			c.mod_revision = cases[i].num;
			break;
		}
		r.compare = &cp;
		r.n_compare = 1;
		r.n_success = r.n_failure = 0;
		resp = run_txn(s, &r, &err);
		KTAP_ASSERT(t, resp, "case %zu: err %d", i, err);
		KTAP_EXPECT(t, resp->succeeded == cases[i].want, "case %zu", i);
		KTAP_EXPECT(t, mvcc_store__revision(s) == before,
			    "a txn without writes keeps the revision");
		etcdserverpb__txn_response__free_unpacked(resp, NULL);
	}

	/* Missing key: VALUE compares are false, VERSION sees 0. */
	cmp_new(&c, "nope", ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE,
		ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL);
	r.compare = &cp;
	r.n_compare = 1;
	resp = run_txn(s, &r, &err);
	KTAP_ASSERT(t, resp, "missing value");
	KTAP_EXPECT(t, !resp->succeeded, "value compare on a missing key");
	etcdserverpb__txn_response__free_unpacked(resp, NULL);
	cmp_new(&c, "nope", ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION,
		ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL);
	resp = run_txn(s, &r, &err);
	KTAP_ASSERT(t, resp, "missing version");
	KTAP_EXPECT(t, resp->succeeded, "version of a missing key is 0");
	etcdserverpb__txn_response__free_unpacked(resp, NULL);

	/* Two puts in the success branch share one revision. */
	r.success = opp;
	r.n_success = 2;
	put_op(&ops[0], &puts[0], "t1", "a");
	put_op(&ops[1], &puts[1], "t2", "b");
	r.failure = &fopp;
	r.n_failure = 1;
	put_op(&fop, &fput, "t3", "c");
	resp = run_txn(s, &r, &err);
	KTAP_ASSERT(t, resp && resp->succeeded && resp->n_responses == 2,
		    "success branch");
	KTAP_EXPECT(t, resp->header->revision == 4 &&
		    resp->responses[0]->response_put->header->revision == 4,
		    "one revision: %ld", (long)resp->header->revision);
	etcdserverpb__txn_response__free_unpacked(resp, NULL);
	g = th_get(s, "t", "u", 0, &err);
	KTAP_ASSERT(t, g, "get");
	KTAP_EXPECT(t, g->n_kvs == 2 && g->kvs[0]->mod_revision == 4 &&
		    g->kvs[1]->mod_revision == 4, "both at rev 4, no t3");
	etcdserverpb__range_response__free_unpacked(g, NULL);
	c.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD;
	c.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION;
	c.mod_revision = 1;	/* mod("nope") == 1 is false */
	resp = run_txn(s, &r, &err);
	KTAP_ASSERT(t, resp && !resp->succeeded && resp->n_responses == 1,
		    "failure branch");
	etcdserverpb__txn_response__free_unpacked(resp, NULL);
	KTAP_EXPECT(t, mvcc_store__revision(s) == 5, "failure branch wrote");
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_txn_reads_its_own_writes)
{
	Etcdserverpb__TxnRequest r = ETCDSERVERPB__TXN_REQUEST__INIT, inner =
		ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__RequestOp ops[3], *opp[3] = { &ops[0], &ops[1], &ops[2] };
	Etcdserverpb__RequestOp iop, *iopp = &iop;
	Etcdserverpb__RangeRequest rr = ETCDSERVERPB__RANGE_REQUEST__INIT;
	Etcdserverpb__DeleteRangeRequest dr =
		ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	Etcdserverpb__PutRequest p, ip;
	Etcdserverpb__TxnResponse *resp;
	struct mvcc_store *s;
	enum etcd_err err;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "old", "o");		/* 2 */
	put_op(&ops[0], &p, "new", "n");
	etcdserverpb__request_op__init(&ops[1]);
	rr.key = th_bin("new");
	ops[1].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
	ops[1].request_range = &rr;
	etcdserverpb__request_op__init(&ops[2]);
	ops[2].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN;
	ops[2].request_txn = &inner;
	inner.success = &iopp;
	inner.n_success = 1;
	put_op(&iop, &ip, "nested", "yes");
	r.success = opp;
	r.n_success = 3;
	KTAP_EXPECT(t, mvcc_validate__txn(&r) == ETCD_OK, "valid");
	resp = run_txn(s, &r, &err);
	KTAP_ASSERT(t, resp && resp->n_responses == 3, "txn: err %d", err);
	KTAP_EXPECT(t, resp->responses[1]->response_range->n_kvs == 1 &&
		    resp->responses[1]->response_range->kvs[0]->mod_revision == 3,
		    "the range sees the put before it");
	KTAP_EXPECT(t, resp->responses[2]->response_txn->succeeded &&
		    resp->responses[2]->response_txn->n_responses == 1,
		    "nested txn ran");
	etcdserverpb__txn_response__free_unpacked(resp, NULL);
	KTAP_EXPECT(t, mvcc_store__revision(s) == 3, "one revision for all");

	/* etcd's checks: duplicate put, put inside a deleted range. */
	put_op(&ops[1], &ip, "new", "again");
	r.n_success = 2;
	KTAP_EXPECT(t, mvcc_validate__txn(&r) == ETCD_ERR_DUPLICATE_KEY,
		    "duplicate put");
	dr.key = th_bin("a");
	dr.range_end = th_bin("z");
	ops[1].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
	ops[1].request_delete_range = &dr;
	KTAP_EXPECT(t, mvcc_validate__txn(&r) == ETCD_ERR_DUPLICATE_KEY,
		    "put inside a deleted range");
	dr.key = th_bin("o");
	KTAP_EXPECT(t, mvcc_validate__txn(&r) == ETCD_OK, "disjoint delete");
	r.n_success = 129;
	KTAP_EXPECT(t, mvcc_validate__txn(&r) == ETCD_ERR_TOO_MANY_OPS,
		    "more than 128 ops");
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_txn_nesting_is_bounded_on_the_wire)
{
	/* Txn{success: [Op{txn: Txn{...}}]} nested N deep, built by hand. */
	uint8_t buf[4096], tmp[4096];
	size_t len = 0;

	for (int depth = 0; depth < 40; depth++) {
		/* op = field 4 (txn), len-delimited; txn = field 2 (op). */
		size_t n = 0;

		tmp[n++] = (4 << 3) | 2;
		tmp[n++] = len;
		memcpy(tmp + n, buf, len);
		n += len;
		len = 0;
		buf[len++] = (2 << 3) | 2;
		buf[len++] = n;
		memcpy(buf + len, tmp, n);
		len += n;
		if (len > 120)
			break;
		KTAP_EXPECT(t, mvcc_wire__txn_depth_ok(buf, len, 64),
			    "depth %d fits 64", depth);
		/* Iteration d built d + 1 nested Txns. */
		KTAP_EXPECT(t, mvcc_wire__txn_depth_ok(buf, len, depth + 1) &&
			    !mvcc_wire__txn_depth_ok(buf, len, depth),
			    "depth %d counted exactly", depth);
	}
	buf[0] = 0xff;
	KTAP_EXPECT(t, !mvcc_wire__txn_depth_ok(buf, 1, 64), "truncated varint");
}

/* Apply an Alarm request; the alarms it answers with, as "member:type"
 * words in @out. */
static void alarm_do(struct mvcc_store *s, int action, uint64_t member,
		     char *out, size_t size)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	Etcdserverpb__AlarmResponse *r;
	struct mvcc_result res;
	size_t n = 0;

	a.action = action;
	a.memberid = member;
	a.alarm = action == ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__GET ?
		  ETCDSERVERPB__ALARM_TYPE__NONE : ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	if (th_apply(s, MVCC_CMD_ALARM, &a.base, &res))
		abort();
	r = etcdserverpb__alarm_response__unpack(NULL, res.len, res.resp);
	if (!r)
		abort();
	out[0] = 0;
	for (size_t i = 0; i < r->n_alarms; i++)
		n += snprintf(out + n, size - n, "%s%llu:%d", i ? " " : "",
			      (unsigned long long)r->alarms[i]->memberid,
			      (int)r->alarms[i]->alarm);
	etcdserverpb__alarm_response__free_unpacked(r, NULL);
	mvcc_result__release(&res);
}

#define ALARM_GET ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__GET
#define ALARM_ON ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE
#define ALARM_OFF ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__DEACTIVATE

/* Alarms are per member, as etcd's: two members' are two alarms, and the
 * writes stay refused until the last NOSPACE one is disarmed. */
KTAP_TEST(mvcc_alarms_per_member)
{
	struct mvcc_store *s;
	char got[256], text[64];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	alarm_do(s, ALARM_ON, 7, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, "7:1"), "ACTIVATE answers the alarm: %s", got);
	alarm_do(s, ALARM_ON, 7, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, ""), "raised once only: %s", got);
	alarm_do(s, ALARM_ON, 11, got, sizeof(got));
	alarm_do(s, ALARM_GET, 0, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, "7:1 11:1"), "two members, two alarms: %s",
		    got);
	KTAP_EXPECT(t, mvcc_store__alarm_text(s, 1, text, sizeof(text)) &&
		    !strcmp(text, "memberID:11 alarm:NOSPACE") &&
		    !mvcc_store__alarm_text(s, 2, text, sizeof(text)),
		    "Status text: %s", text);
	KTAP_EXPECT(t, th_put(s, "k", "v") == -1, "writes refused");
	alarm_do(s, ALARM_OFF, 7, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, "7:1"), "DEACTIVATE answers it: %s", got);
	alarm_do(s, ALARM_GET, 0, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, "11:1"), "the other stays: %s", got);
	KTAP_EXPECT(t, th_put(s, "k", "v") == -1, "writes still refused");
	alarm_do(s, ALARM_OFF, 7, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, ""), "nothing to disarm twice: %s", got);
	alarm_do(s, ALARM_OFF, 11, got, sizeof(got));
	KTAP_EXPECT(t, !mvcc_store__nospace(s) && th_put(s, "k", "v") > 0,
		    "writes resume once none stands");
	for (uint64_t m = 1; m <= MVCC_MAX_ALARMS + 5; m++)
		alarm_do(s, ALARM_ON, m, got, sizeof(got));
	KTAP_EXPECT(t, !strcmp(got, ""), "bounded: past %d, none raised",
		    MVCC_MAX_ALARMS);
	mvcc_store__free(s);
}

KTAP_TEST(mvcc_quota_nospace_alarm)
{
	Etcdserverpb__DeleteRangeResponse *d;
	struct mvcc_store *s;
	enum etcd_err err = ETCD_OK;
	char key[16], val[200], got[64];
	int i;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 4096), "new");
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = 0;
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "q%d", i);
		Etcdserverpb__PutResponse *p = th_put_req(s, key, val, false, &err);

		if (!p)
			break;
		etcdserverpb__put_response__free_unpacked(p, NULL);
	}
	KTAP_ASSERT(t, err == ETCD_ERR_NO_SPACE, "quota hit after %d puts", i);
	KTAP_EXPECT(t, i > 5 && i < 30, "%d puts of 200 bytes fit 4 KiB", i);
	KTAP_EXPECT(t, !mvcc_store__nospace(s),
		    "the store raises no alarm itself (a member does)");
	KTAP_EXPECT(t, th_put(s, "tiny", "") > 0, "a put that fits still fits");
	alarm_do(s, ALARM_ON, 9, got, sizeof(got));
	KTAP_EXPECT(t, mvcc_store__size(s) <= 4096, "never past the quota");
	KTAP_EXPECT(t, !strcmp(etcd_err__message(err),
			       "etcdserver: mvcc: database space exceeded") &&
		    etcd_err__grpc_status(err) == GRPC_RESOURCE_EXHAUSTED,
		    "etcd's error");
	KTAP_EXPECT(t, th_put(s, "tiny", "") == -1, "alarm refuses small puts");
	d = th_del(s, "q", "r", false, &err);
	KTAP_ASSERT(t, d, "deletes still work: err %d", err);
	etcdserverpb__delete_range_response__free_unpacked(d, NULL);
	KTAP_EXPECT(t, th_compact(s, mvcc_store__revision(s)) == ETCD_OK,
		    "compaction still works");
	KTAP_EXPECT(t, th_put(s, "tiny", "") == -1, "alarm holds until disarmed");
	alarm_do(s, ALARM_OFF, 9, got, sizeof(got));
	KTAP_EXPECT(t, !mvcc_store__nospace(s), "alarm cleared");
	KTAP_EXPECT(t, th_put(s, "tiny", "") > 0, "writes resume");
	mvcc_store__free(s);
}

/* The same answer for the same range at the same revision? */
static bool same_range(struct mvcc_store *a, struct mvcc_store *b, int64_t rev)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct mvcc_result ra, rb;
	bool same;

	r.key = th_bin("\x01");
	r.range_end = (ProtobufCBinaryData){ 1, (uint8_t *)"" };
	r.revision = rev;
	if (mvcc_store__range(a, &th_hdr, &r, &ra) ||
	    mvcc_store__range(b, &th_hdr, &r, &rb))
		abort();
	same = ra.err == rb.err && ra.len == rb.len &&
	       (!ra.len || !memcmp(ra.resp, rb.resp, ra.len));
	mvcc_result__release(&ra);
	mvcc_result__release(&rb);
	return same;
}

KTAP_TEST(mvcc_snapshot_round_trip)
{
	struct mvcc_store *s, *r;
	struct th_snap m = { 0 };
	unsigned int seed = 12345;
	char k[16], v[32];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "k%03d", rand_r(&seed) % 500);
		snprintf(v, sizeof(v), "v%d", i);
		if (rand_r(&seed) % 5 == 0)
			th_del_n(s, k, NULL);
		else
			th_put(s, k, v);
		if (i == 1500)
			th_compact(s, mvcc_store__revision(s) - 200);
	}
	alarm_do(s, ALARM_ON, 5, k, sizeof(k));
	alarm_do(s, ALARM_ON, 3, k, sizeof(k));
	KTAP_ASSERT(t, !mvcc_store__snapshot(s, th_snap_write, &m), "snapshot");
	KTAP_ASSERT(t, !mvcc_store__restore(&r, m.p, m.len, 0), "restore");
	KTAP_EXPECT(t, mvcc_store__revision(r) == mvcc_store__revision(s) &&
		    mvcc_store__compact_revision(r) ==
		    mvcc_store__compact_revision(s) &&
		    mvcc_store__size(r) == mvcc_store__size(s) &&
		    mvcc_store__key_records(r) == mvcc_store__key_records(s),
		    "same revisions, size and keys");
	alarm_do(r, ALARM_GET, 0, v, sizeof(v));
	KTAP_EXPECT(t, !strcmp(v, "5:1 3:1"), "the same alarms: %s", v);
	alarm_do(r, ALARM_OFF, 5, k, sizeof(k));
	alarm_do(r, ALARM_OFF, 3, k, sizeof(k));
	alarm_do(s, ALARM_OFF, 5, k, sizeof(k));
	alarm_do(s, ALARM_OFF, 3, k, sizeof(k));
	for (int64_t rev = mvcc_store__compact_revision(s) - 1;
	     rev <= mvcc_store__revision(s) + 1; rev += 97)
		KTAP_EXPECT(t, same_range(s, r, rev), "same answer at %ld",
			    (long)rev);
	KTAP_EXPECT(t, same_range(s, r, 0), "same answer now");
	KTAP_EXPECT(t, th_put(r, "k000", "after") == th_put(s, "k000", "after"),
		    "the restored store continues identically");
	mvcc_store__free(r);

	/* Any flipped byte, any truncation: refused, not half restored. */
	for (size_t i = 0; i < m.len; i += 1 + m.len / 300) {
		m.p[i] ^= 0x5a;
		KTAP_EXPECT(t, mvcc_store__restore(&r, m.p, m.len, 0) == -EINVAL,
			    "flip at %zu", i);
		m.p[i] ^= 0x5a;
		KTAP_EXPECT(t, mvcc_store__restore(&r, m.p, i, 0) == -EINVAL,
			    "cut at %zu", i);
	}
	free(m.p);
	mvcc_store__free(s);
}

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

static bool keep_even(struct mvcc_key *k, void *ctx)
{
	(void)ctx;
	if (k->key[7] % 2 == 0)
		return true;
	mvcc_key__free(k);
	return false;
}

/* HashKV at @rev (0: now) and Hash of @s; -1 for an error. */
static int64_t hash_kv(struct mvcc_store *s, int64_t rev)
{
	Etcdserverpb__HashKVRequest q = ETCDSERVERPB__HASH_KVREQUEST__INIT;
	Etcdserverpb__HashKVResponse *r;
	struct mvcc_result res;
	int64_t h = -1;

	q.revision = rev;
	if (mvcc_store__hash_kv(s, &th_hdr, &q, &res))
		abort();
	r = res.err ? NULL :
	    etcdserverpb__hash_kvresponse__unpack(NULL, res.len, res.resp);
	if (r)
		h = r->hash;
	etcdserverpb__hash_kvresponse__free_unpacked(r, NULL);
	mvcc_result__release(&res);
	return h;
}

static int64_t hash_all(struct mvcc_store *s)
{
	Etcdserverpb__HashResponse *r;
	struct mvcc_result res;
	int64_t h;

	if (mvcc_store__hash(s, &th_hdr, &res))
		abort();
	r = etcdserverpb__hash_response__unpack(NULL, res.len, res.resp);
	if (!r)
		abort();
	h = r->hash;
	etcdserverpb__hash_response__free_unpacked(r, NULL);
	mvcc_result__release(&res);
	return h;
}

/* Hash and HashKV agree on stores with the same history, and tell apart
 * stores that differ in a single value. */
KTAP_TEST(mvcc_hash_agrees_and_discriminates)
{
	struct mvcc_store *a, *b, *c;
	struct th_snap m = { 0 };
	int64_t mid = 0;
	char k[16], v[16];

	KTAP_ASSERT(t, !mvcc_store__new(&a, 0) && !mvcc_store__new(&b, 0) &&
		    !mvcc_store__new(&c, 0), "new");
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "k%d", i % 37);
		snprintf(v, sizeof(v), "v%d", i);
		th_put(a, k, v);
		th_put(b, k, v);
		th_put(c, k, i == 150 ? "x" : v);
		if (i == 99)
			mid = mvcc_store__revision(a);
	}
	KTAP_EXPECT(t, hash_kv(a, 0) == hash_kv(b, 0) && hash_all(a) == hash_all(b),
		    "same history, same hashes");
	KTAP_EXPECT(t, hash_kv(a, 0) != hash_kv(c, 0) && hash_all(a) != hash_all(c),
		    "one value differs: the hashes differ");
	KTAP_EXPECT(t, hash_kv(a, mid) == hash_kv(c, mid),
		    "before the difference, HashKV agrees");
	KTAP_EXPECT(t, hash_kv(a, mid) != hash_kv(a, 0), "revisions differ");
	th_compact(a, mid);
	th_compact(b, mid);
	KTAP_EXPECT(t, hash_kv(a, mid) == -1 && hash_kv(a, 0) == hash_kv(b, 0),
		    "compacted below; the same compaction, the same hash");
	KTAP_EXPECT(t, hash_kv(a, mvcc_store__revision(a) + 1) == -1,
		    "a future revision is refused");
	mvcc_store__free(c);
	KTAP_ASSERT(t, !mvcc_store__snapshot(a, th_snap_write, &m) &&
		    !mvcc_store__restore(&c, m.p, m.len, 0), "snapshot");
	KTAP_EXPECT(t, hash_kv(c, 0) == hash_kv(a, 0) && hash_all(c) == hash_all(a),
		    "a restored store hashes the same");
	free(m.p);
	mvcc_store__free(a);
	mvcc_store__free(b);
	mvcc_store__free(c);
}

KTAP_TEST(mvcc_index_against_reference)
{
	enum { N = 60000 };
	static uint8_t ref[N][8];
	struct mvcc_index idx;
	unsigned int seed = 7;
	struct mvcc_iter it;
	struct mvcc_key *k;
	size_t n = 0, i = 0;

	mvcc_index__init(&idx);
	for (int j = 0; j < N; j++) {
		for (int b = 0; b < 8; b++)
			ref[j][b] = rand_r(&seed);
		if (j % 3 == 0) {	/* ascending runs too */
			memcpy(ref[j], "seq\0\0\0\0", 8);
			ref[j][5] = j >> 8;
			ref[j][6] = j;
			ref[j][7] = j & 0xfe;
		}
		if (mvcc_index__find(&idx, ref[j], 8))
			continue;
		k = mvcc_key__new(ref[j], 8);
		KTAP_ASSERT(t, k && !mvcc_index__insert(&idx, k), "insert");
		memcpy(ref[n++], ref[j], 8);
	}
	qsort(ref, n, 8, ref_cmp);
	KTAP_EXPECT(t, idx.count == n, "count %zu vs %zu", idx.count, n);
	mvcc_index__seek(&idx, NULL, 0, &it);
	while ((k = mvcc_iter__next(&it)) && i < n)
		KTAP_ASSERT(t, !memcmp(k->key, ref[i++], 8), "order at %zu", i);
	KTAP_EXPECT(t, i == n && !k, "iterated %zu of %zu", i, n);
	KTAP_ASSERT(t, !mvcc_index__retain(&idx, keep_even, NULL), "retain");
	i = 0;
	mvcc_index__seek(&idx, NULL, 0, &it);
	for (size_t j = 0; j < n; j++) {
		if (ref[j][7] % 2)
			continue;
		k = mvcc_iter__next(&it);
		KTAP_ASSERT(t, k && !memcmp(k->key, ref[j], 8), "kept %zu", j);
		KTAP_ASSERT(t, mvcc_index__find(&idx, ref[j], 8) == k, "find");
		i++;
	}
	KTAP_EXPECT(t, !mvcc_iter__next(&it) && idx.count == i, "only evens");
	/* Inserting after a rebuild still works. */
	k = mvcc_key__new((const uint8_t *)"\x01odd\x01\x01\x01\x01", 8);
	KTAP_ASSERT(t, k && !mvcc_index__insert(&idx, k), "insert after");
	KTAP_EXPECT(t, mvcc_index__find(&idx, k->key, 8) == k, "found");
	mvcc_index__destroy(&idx, mvcc_key__free);
}

KTAP_TEST(mvcc_garbage_commands_change_nothing)
{
	struct mvcc_result res;
	struct mvcc_store *s;
	unsigned int seed = 99;
	uint8_t cmd[64];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "new");
	th_put(s, "k", "v");
	for (int i = 0; i < 20000; i++) {
		size_t len = rand_r(&seed) % sizeof(cmd);

		for (size_t j = 0; j < len; j++)
			cmd[j] = rand_r(&seed);
		if (len > 1) {
			cmd[0] = MVCC_CMD_VERSION;
			cmd[1] = 1 + rand_r(&seed) % 6;
		}
		KTAP_ASSERT(t, !mvcc_store__apply(s, &th_hdr, cmd, len, &res),
			    "apply");
		mvcc_result__release(&res);
	}
	/* Random bytes can be valid protobuf; only require consistency. */
	KTAP_EXPECT(t, mvcc_store__revision(s) >= 2, "revision sane");
	cmd[0] = 9;
	KTAP_EXPECT(t, !mvcc_store__apply(s, &th_hdr, cmd, 2, &res) &&
		    res.err == ETCD_ERR_BAD_COMMAND, "bad version refused");
	mvcc_result__release(&res);
	mvcc_store__free(s);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
