// SPDX-License-Identifier: GPL-2.0
/*
 * Leases in the MVCC state machine: grant and revoke as commands, keys
 * attached through Put and Txn, a revoke deleting every key in one
 * revision, snapshots keeping all of it, and the leader's expiry decision
 * on bounded time (mvcc_leases__due), including the guarantee stated in
 * Documentation/lease-safety.rst: a keepalive sent at the client's
 * TT.now().earliest = s keeps the lease until s + TTL in true time, for
 * any clock errors within the bound, and that the scan which skips the
 * visit until the first lease's end decides exactly what visiting every
 * lease every tick does.
 */
#include <errno.h>
#include <stdio.h>

#include "../ktap.h"
#include "mvcc_helpers.h"
#include "../../tools/gnomond/mvcc/store.h"

static int64_t grant(struct mvcc_store *s, int64_t id, int64_t ttl,
		     enum etcd_err *err)
{
	Etcdserverpb__LeaseGrantRequest r = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	Etcdserverpb__LeaseGrantResponse *g;
	struct mvcc_result res;
	int64_t out = 0;

	r.id = id;
	r.ttl = ttl;
	*err = th_apply(s, MVCC_CMD_LEASE_GRANT, &r.base, &res);
	if (!*err) {
		g = etcdserverpb__lease_grant_response__unpack(NULL, res.len,
							       res.resp);
		if (!g)
			abort();
		out = g->id;
		etcdserverpb__lease_grant_response__free_unpacked(g, NULL);
	}
	mvcc_result__release(&res);
	return out;
}

static enum etcd_err lrevoke(struct mvcc_store *s, int64_t id)
{
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	struct mvcc_result res;
	enum etcd_err err;

	r.id = id;
	err = th_apply(s, MVCC_CMD_LEASE_REVOKE, &r.base, &res);
	mvcc_result__release(&res);
	return err;
}

static enum etcd_err put_lease(struct mvcc_store *s, const char *k,
			       int64_t lease, bool ignore_lease)
{
	Etcdserverpb__PutRequest r = ETCDSERVERPB__PUT_REQUEST__INIT;
	struct mvcc_result res;
	enum etcd_err err;

	r.key = th_bin(k);
	r.value = th_bin("v");
	r.lease = lease;
	r.ignore_lease = ignore_lease;
	err = th_apply(s, MVCC_CMD_PUT, &r.base, &res);
	mvcc_result__release(&res);
	return err;
}

/* The lease of live key @k (-1: absent). */
static int64_t lease_of(struct mvcc_store *s, const char *k)
{
	enum etcd_err err;
	Etcdserverpb__RangeResponse *g = th_get(s, k, NULL, 0, &err);
	int64_t l = g && g->n_kvs ? g->kvs[0]->lease : -1;

	if (g)
		etcdserverpb__range_response__free_unpacked(g, NULL);
	return l;
}

/* TimeToLive's keys count and TTL. */
static size_t ttl_keys(struct mvcc_store *s, int64_t id, uint64_t now,
		       int64_t *ttl)
{
	Etcdserverpb__LeaseTimeToLiveRequest r =
		ETCDSERVERPB__LEASE_TIME_TO_LIVE_REQUEST__INIT;
	Etcdserverpb__LeaseTimeToLiveResponse *t;
	struct mvcc_result res;
	size_t n;

	r.id = id;
	r.keys = true;
	if (mvcc_store__lease_time_to_live(s, &th_hdr, &r, now, &res))
		abort();
	t = etcdserverpb__lease_time_to_live_response__unpack(NULL, res.len,
							      res.resp);
	if (!t)
		abort();
	n = t->n_keys;
	*ttl = t->ttl;
	etcdserverpb__lease_time_to_live_response__free_unpacked(t, NULL);
	mvcc_result__release(&res);
	return n;
}

KTAP_TEST(lease_grant_ids_and_limits)
{
	struct mvcc_store *a, *b;
	enum etcd_err err;
	int64_t ia, ib;

	KTAP_ASSERT(t, !mvcc_store__new(&a, 0) && !mvcc_store__new(&b, 0),
		    "stores");
	ia = grant(a, 0, 10, &err);
	ib = grant(b, 0, 10, &err);
	KTAP_EXPECT(t, ia > 0 && ia == ib,
		    "the picked ID is positive and the same on every member "
		    "(%lld, %lld)", (long long)ia, (long long)ib);
	KTAP_EXPECT(t, grant(a, 0, 10, &err) != ia, "a second one differs");
	KTAP_EXPECT(t, grant(a, 77, 10, &err) == 77 && !err, "a chosen ID");
	grant(a, 77, 10, &err);
	KTAP_EXPECT(t, err == ETCD_ERR_LEASE_EXISTS, "granted twice: %d", err);
	grant(a, 78, MVCC_LEASE_MAX_TTL + 1, &err);
	KTAP_EXPECT(t, err == ETCD_ERR_LEASE_TTL_TOO_LARGE, "TTL too large");
	KTAP_EXPECT(t, mvcc_store__lease_count(a) == 3, "three leases");
	KTAP_EXPECT(t, mvcc_store__revision(a) == 1,
		    "grants do not move the revision");
	KTAP_EXPECT(t, lrevoke(a, 12345) == ETCD_ERR_LEASE_NOT_FOUND,
		    "revoking a missing lease");
	mvcc_store__free(a);
	mvcc_store__free(b);
}

KTAP_TEST(lease_keys_follow_puts_and_deletes)
{
	struct mvcc_store *s;
	enum etcd_err err;
	int64_t ttl;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	KTAP_EXPECT(t, put_lease(s, "k", 5, false) == ETCD_ERR_LEASE_NOT_FOUND,
		    "a put with a missing lease is refused");
	grant(s, 5, 10, &err);
	grant(s, 6, 10, &err);
	KTAP_EXPECT(t, !put_lease(s, "a", 5, false) &&
		    !put_lease(s, "b", 5, false) &&
		    !put_lease(s, "c", 5, false), "three puts with lease 5");
	KTAP_EXPECT(t, lease_of(s, "a") == 5, "the key names its lease");
	KTAP_EXPECT(t, ttl_keys(s, 5, 0, &ttl) == 3 && ttl == 10,
		    "TimeToLive lists 3 keys, TTL %lld", (long long)ttl);
	KTAP_EXPECT(t, !put_lease(s, "b", 6, false) && lease_of(s, "b") == 6,
		    "a put moves b to lease 6");
	KTAP_EXPECT(t, !put_lease(s, "b", 0, true) && lease_of(s, "b") == 6,
		    "ignore_lease keeps it");
	KTAP_EXPECT(t, put_lease(s, "zz", 0, true) == ETCD_ERR_KEY_NOT_FOUND,
		    "ignore_lease on a missing key");
	KTAP_EXPECT(t, !put_lease(s, "c", 0, false) && lease_of(s, "c") == 0,
		    "a put without a lease detaches c");
	KTAP_EXPECT(t, ttl_keys(s, 5, 0, &ttl) == 1, "lease 5 keeps a only");
	KTAP_EXPECT(t, th_del_n(s, "b", NULL) == 1 &&
		    ttl_keys(s, 6, 0, &ttl) == 0, "a delete detaches b");
	ttl_keys(s, 999, 0, &ttl);
	KTAP_EXPECT(t, ttl == -1, "TimeToLive of a missing lease is -1");
	mvcc_store__free(s);
}

KTAP_TEST(lease_revoke_deletes_keys_in_one_revision)
{
	struct mvcc_store *s;
	enum etcd_err err;
	int64_t rev;
	Etcdserverpb__RangeResponse *g;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 9, 10, &err);
	put_lease(s, "x/2", 9, false);
	put_lease(s, "x/1", 9, false);
	put_lease(s, "x/3", 9, false);
	th_put(s, "x/4", "stays");
	rev = mvcc_store__revision(s);
	KTAP_EXPECT(t, lrevoke(s, 9) == ETCD_OK, "revoke");
	KTAP_EXPECT(t, mvcc_store__revision(s) == rev + 1,
		    "one revision for three keys (%lld -> %lld)",
		    (long long)rev, (long long)mvcc_store__revision(s));
	g = th_get(s, "x/", "x0", 0, &err);
	KTAP_EXPECT(t, g && g->n_kvs == 1 && th_val_is(&g->kvs[0]->value,
						       "stays"),
		    "only the key without the lease is left");
	if (g)
		etcdserverpb__range_response__free_unpacked(g, NULL);
	KTAP_EXPECT(t, mvcc_store__lease_count(s) == 0, "the lease is gone");
	KTAP_EXPECT(t, lrevoke(s, 9) == ETCD_ERR_LEASE_NOT_FOUND,
		    "revoked twice");
	mvcc_store__free(s);
}

KTAP_TEST(lease_txn_put_and_compare)
{
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__Compare c = ETCDSERVERPB__COMPARE__INIT, *cp = &c;
	Etcdserverpb__RequestOp op = ETCDSERVERPB__REQUEST_OP__INIT, *opp = &op;
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__TxnResponse *tr;
	struct mvcc_store *s;
	struct mvcc_result res;
	enum etcd_err err;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	put.key = th_bin("lk");
	put.value = th_bin("v");
	put.lease = 42;
	op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	op.request_put = &put;
	txn.success = &opp;
	txn.n_success = 1;
	KTAP_EXPECT(t, th_apply(s, MVCC_CMD_TXN, &txn.base, &res) ==
		    ETCD_ERR_LEASE_NOT_FOUND, "a txn put with a missing lease");
	mvcc_result__release(&res);
	grant(s, 42, 10, &err);
	KTAP_EXPECT(t, th_apply(s, MVCC_CMD_TXN, &txn.base, &res) == ETCD_OK &&
		    lease_of(s, "lk") == 42, "a txn put attaches the key");
	mvcc_result__release(&res);
	c.key = th_bin("lk");
	c.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE;
	c.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE;
	c.lease = 42;
	txn.compare = &cp;
	txn.n_compare = 1;
	txn.n_success = 0;
	th_apply(s, MVCC_CMD_TXN, &txn.base, &res);
	tr = etcdserverpb__txn_response__unpack(NULL, res.len, res.resp);
	KTAP_EXPECT(t, tr && tr->succeeded, "compare lease == 42 holds");
	if (tr)
		etcdserverpb__txn_response__free_unpacked(tr, NULL);
	mvcc_result__release(&res);
	mvcc_store__free(s);
}

KTAP_TEST(lease_snapshot_round_trip)
{
	struct mvcc_store *s, *r, *r2;
	struct th_snap b = { 0 };
	enum etcd_err err;
	int64_t ttl, id;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	id = grant(s, 0, 20, &err);
	grant(s, 3, 7, &err);
	put_lease(s, "p", id, false);
	put_lease(s, "q", 3, false);
	th_put(s, "plain", "v");
	KTAP_ASSERT(t, !mvcc_store__snapshot(s, th_snap_write, &b), "snapshot");
	KTAP_ASSERT(t, !mvcc_store__restore(&r, b.p, b.len, 0), "restore");
	KTAP_EXPECT(t, mvcc_store__lease_count(r) == 2 &&
		    mvcc_store__lease_ttl_of(r, 3) == 7, "the leases came back");
	KTAP_EXPECT(t, lease_of(r, "p") == id && ttl_keys(r, id, 0, &ttl) == 1,
		    "with their keys attached");
	KTAP_EXPECT(t, grant(r, 0, 5, &err) == grant(s, 0, 5, &err),
		    "the next picked ID agrees");
	KTAP_EXPECT(t, !lrevoke(r, id) && lease_of(r, "p") == -1 &&
		    lease_of(r, "plain") == 0, "a revoke after restore");
	b.p[b.len - 5] ^= 1;
	KTAP_EXPECT(t, mvcc_store__restore(&r2, b.p, b.len, 0) == -EINVAL,
		    "a damaged snapshot is refused");
	free(b.p);
	mvcc_store__free(r);
	mvcc_store__free(s);
}

#define SEC 1000000000ull

KTAP_TEST(lease_expiry_bookkeeping)
{
	struct mvcc_store *s;
	struct mvcc_result res;
	enum etcd_err err;
	int64_t ids[4];
	uint64_t t0 = 1000 * SEC;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 1, 10, &err);
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0, t0, 1, 5, ids, 4),
		    "the first look counts as a renewal");
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0 + 10 * SEC, t0 + 10 * SEC, 2, 5,
					 ids, 4), "not at renewal + TTL");
	mvcc_store__lease_keepalive(s, &th_hdr, 1, t0 + 5 * SEC, &res);
	mvcc_result__release(&res);
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0 + 15 * SEC, t0 + 15 * SEC, 3, 5,
					 ids, 4), "a keepalive moved it");
	KTAP_EXPECT(t, mvcc_leases__due(s, t0 + 15 * SEC + 1, t0 + 16 * SEC, 4,
					5, ids, 4) == 1 && ids[0] == 1,
		    "due just past renewal + TTL");
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0 + 20 * SEC, t0 + 20 * SEC, 5, 5,
					 ids, 4), "not proposed twice at once");
	KTAP_EXPECT(t, mvcc_leases__due(s, t0 + 20 * SEC, t0 + 20 * SEC, 9, 5,
					ids, 4) == 1, "again after the retry");
	mvcc_leases__renew_all(s, t0 + 30 * SEC);
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0 + 40 * SEC, t0 + 40 * SEC, 10, 5,
					 ids, 4), "a new leader renews all");
	mvcc_store__free(s);
}

/*
 * A leader whose clock has no bound (TT.now().latest = U64_MAX) when it is
 * elected or answers a keepalive cannot tell when the lease was renewed:
 * it counts as renewed at its next reading with a bound, not for ever.
 */
KTAP_TEST(lease_renewal_without_bound_is_not_for_ever)
{
	struct mvcc_store *s;
	struct mvcc_result res;
	enum etcd_err err;
	int64_t ids[4];
	uint64_t t0 = 1000 * SEC;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 1, 10, &err);
	grant(s, 2, 10, &err);
	mvcc_leases__renew_all(s, UINT64_MAX);
	mvcc_store__lease_keepalive(s, &th_hdr, 2, t0, &res);
	mvcc_result__release(&res);
	mvcc_store__lease_keepalive(s, &th_hdr, 2, UINT64_MAX, &res);
	mvcc_result__release(&res);
	KTAP_EXPECT(t, !mvcc_leases__due(s, t0 + 20 * SEC, t0 + 20 * SEC, 1, 5,
					 ids, 4),
		    "the first reading with a bound counts as the renewal");
	KTAP_EXPECT(t, mvcc_leases__due(s, t0 + 30 * SEC + 1, t0 + 31 * SEC, 2,
					5, ids, 4) == 2,
		    "then both expire a TTL later");
	mvcc_store__free(s);
}

/*
 * The guarantee, with clocks off by up to ERR: the client sends at true
 * time c (its earliest s <= c), the leader receives at r >= c and renews
 * at its latest; it expires only when its earliest is past renewal + TTL.
 * No expiry may come at a true time before s + TTL.  With @before_ns > 0
 * the renewal is read that long before the request arrived (a reading
 * kept from earlier in the turn, which K1 forbids): then some do.
 */
static unsigned int early_expiries(struct ktap *t, uint64_t before_ns)
{
	const uint64_t err_ns = 50 * 1000000ull;
	uint64_t x = 88172645463325252ull;
	unsigned int early = 0, expired = 0;

	for (int i = 0; i < 2000; i++) {
		struct mvcc_store *s;
		struct mvcc_result res;
		enum etcd_err err;
		int64_t ids[1];
		uint64_t c = 1000 * SEC + ktap_rng(&x) % SEC;
		uint64_t s_client = c - ktap_rng(&x) % (2 * err_ns + 1);
		uint64_t recv = c + ktap_rng(&x) % (err_ns * 4);
		uint64_t lat = recv - before_ns + ktap_rng(&x) % (2 * err_ns + 1);

		if (mvcc_store__new(&s, 0))
			abort();
		grant(s, 1, 2, &err);
		mvcc_leases__renew_all(s, c - 3 * SEC);
		mvcc_store__lease_keepalive(s, &th_hdr, 1, lat, &res);
		mvcc_result__release(&res);
		for (uint64_t now = recv; now < recv + 4 * SEC;
		     now += 10 * 1000000ull) {
			uint64_t e = ktap_rng(&x) % (2 * err_ns + 1);
			uint64_t earliest = now - e;

			if (!mvcc_leases__due(s, earliest, earliest + 2 * err_ns,
					      2, 100, ids, 1))
				continue;
			expired++;
			if (now < s_client + 2 * SEC)
				early++;
			break;
		}
		mvcc_store__free(s);
	}
	KTAP_EXPECT(t, expired == 2000, "every lease expired in the end (%u)",
		    expired);
	return early;
}

KTAP_TEST(lease_expiry_never_before_s_plus_ttl)
{
	unsigned int early = early_expiries(t, 0);

	KTAP_EXPECT(t, !early, "%u of 2000 expired before s + TTL", early);
}

/* Why K1 wants the reading after the arrival: 200 ms before it, the
 * same trials see leases expire before s + TTL. */
KTAP_TEST(lease_renewal_read_before_arrival_is_unsafe)
{
	unsigned int early = early_expiries(t, 200 * 1000000ull);

	KTAP_EXPECT(t, early > 0, "no early expiry with the renewal read "
		    "200 ms before the arrival: the check is blind");
}

/*
 * The expiry scan visits the leases only once the first end may have
 * passed (lease.c).  Two stores get the same random grants, keepalives
 * (some at a reading without a bound), new terms, revokes of what came
 * due (some lost) and ticks; one of them is made to visit every lease at
 * every scan, as before the skip.  Both must hand out the same leases at
 * every tick.
 */
KTAP_TEST(lease_scan_skip_changes_nothing)
{
	const uint64_t err_ns = 20 * 1000000ull;
	uint64_t x = 0x2545f4914f6cdd1dull, now = 1000 * SEC;
	struct mvcc_store *st[2];
	unsigned int differ = 0, expired = 0, skipped = 0;

	for (int k = 0; k < 2; k++)
		KTAP_ASSERT(t, !mvcc_store__new(&st[k], 0), "store");
	for (uint64_t tick = 1; tick <= 20000; tick++) {
		uint64_t op = ktap_rng(&x) % 100, pick = ktap_rng(&x);
		uint64_t ttl = 1 + ktap_rng(&x) % 8, lost = ktap_rng(&x) % 4;
		uint64_t e = ktap_rng(&x) % (2 * err_ns + 1);
		uint64_t latest = pick % 7 ? now + e : UINT64_MAX;
		int64_t ids[2][8];
		size_t n[2], max = pick % 3 ? 8 : 2;

		now += ktap_rng(&x) % (200 * 1000000ull);
		for (int k = 0; k < 2; k++) {
			struct mvcc_store *s = st[k];
			struct mvcc_result res;
			enum etcd_err err;
			size_t nl = s->leases.n;

			if (op < 3)
				grant(s, 0, (int64_t)ttl, &err);
			else if (op < 4)
				mvcc_leases__renew_all(s, latest);
			else if (op < 60 && nl) {
				mvcc_store__lease_keepalive(s, &th_hdr,
					s->leases.ids[pick % nl], latest, &res);
				mvcc_result__release(&res);
			}
			if (k == 1)
				s->leases.scan_after_ns = 0;
			else if (now - err_ns <= s->leases.scan_after_ns)
				skipped++;
			n[k] = mvcc_leases__due(s, now - err_ns, now + err_ns,
						tick, 10, ids[k], max);
			for (size_t i = 0; i < n[k] && lost; i++)
				lrevoke(s, ids[k][i]);
		}
		if (n[0] != n[1] ||
		    memcmp(ids[0], ids[1], n[0] * sizeof(ids[0][0])))
			differ++;
		expired += (unsigned int)n[0];
	}
	KTAP_EXPECT(t, !differ, "%u of 20000 ticks handed out other leases",
		    differ);
	KTAP_EXPECT(t, expired > 100 && skipped > 1000,
		    "the trial expired %u leases, skipped %u visits", expired,
		    skipped);
	for (int k = 0; k < 2; k++)
		mvcc_store__free(st[k]);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
