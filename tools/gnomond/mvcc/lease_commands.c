// SPDX-License-Identifier: GPL-2.0
/*
 * Leases of the MVCC state machine: grant and revoke as commands, the
 * answers (TimeToLive, Leases, KeepAlive) and the leader's renewal
 * bookkeeping (see mvcc.h), whose clock judgement is lease_clock.c's.
 * The table they work on is lease_table.c's.  An ID the client leaves 0
 * is picked deterministically from a counter that the snapshot carries,
 * so every member picks the same one.  Nothing here reads a clock: the
 * times come in as arguments.
 *
 * The expiry scan runs every tick, but visits the leases only once the
 * judge's instant has passed the earliest end (renew + TTL) any lease had
 * at the last full visit, scan_after_ns: until then none can be due,
 * because a keepalive only moves a renewal later.  Whatever can make an
 * end earlier or unknown clears it, so the next scan visits them all: a
 * new lease (grant, restore), a reset (a new term) and a renewal at a
 * reading without a bound.  A lease whose expiry is proposed keeps its
 * past end, so the scans go on each tick until the revoke applies, to
 * hand it out again after the retry.  With 10,000 leases kept alive
 * every TTL/3, a visit comes every two thirds of a TTL instead of every
 * tick.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "locks.h"
#include "ops.h"

static void header(Etcdserverpb__ResponseHeader *h,
		   const struct mvcc_header *hdr, int64_t rev)
{
	h->cluster_id = hdr->cluster_id;
	h->member_id = hdr->member_id;
	h->raft_term = hdr->raft_term;
	h->revision = rev;
}

/* splitmix64: IDs that look random but are the same on every member. */
static int64_t pick_id(struct mvcc_store *s)
{
	for (;;) {
		uint64_t z = ++s->leases.seq * 0x9e3779b97f4a7c15ull;
		int64_t id;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		id = (int64_t)((z ^ (z >> 31)) >> 1);
		if (id && !lease_find(s, id))
			return id;
	}
}

int lease_grant(struct mvcc_store *s, const struct mvcc_header *hdr,
		const Etcdserverpb__LeaseGrantRequest *r,
		struct mvcc_result *res)
{
	Etcdserverpb__LeaseGrantResponse resp =
		ETCDSERVERPB__LEASE_GRANT_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	int64_t id = r->id;
	int rc;

	memset(res, 0, sizeof(*res));
	if (r->ttl > MVCC_LEASE_MAX_TTL) {
		res->err = ETCD_ERR_LEASE_TTL_TOO_LARGE;
		return 0;
	}
	if (id && lease_find(s, id)) {
		res->err = ETCD_ERR_LEASE_EXISTS;
		return 0;
	}
	if (s->leases.n >= MVCC_MAX_LEASES) {
		res->err = ETCD_ERR_TOO_MANY_REQUESTS;
		return 0;
	}
	if (!id)
		id = pick_id(s);
	rc = lease_insert(s, id, r->ttl > 0 ? r->ttl : 1);
	if (rc)
		return rc;
	header(&h, hdr, s->rev);
	resp.header = &h;
	resp.id = id;
	resp.ttl = r->ttl > 0 ? r->ttl : 1;
	return ops_pack(&resp.base, res);
}

static int key_order(const void *a, const void *b)
{
	const struct mvcc_key *x = *(struct mvcc_key *const *)a;
	const struct mvcc_key *y = *(struct mvcc_key *const *)b;

	return mvcc_key__cmp(x->key, x->klen, y->key, y->klen);
}

int lease_revoke(struct mvcc_store *s, const struct mvcc_header *hdr,
		 const Etcdserverpb__LeaseRevokeRequest *r,
		 struct mvcc_result *res)
{
	Etcdserverpb__LeaseRevokeResponse resp =
		ETCDSERVERPB__LEASE_REVOKE_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	struct mvcc_lease *e = lease_find(s, r->id);
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!e) {
		res->err = ETCD_ERR_LEASE_NOT_FOUND;
		return 0;
	}
	/* Every key in one revision, in key order as etcd deletes them. */
	if (e->nkeys > 1)
		qsort(e->keys, e->nkeys, sizeof(*e->keys), key_order);
	mvcc_core__txn_begin(s);
	for (uint32_t i = 0; i < e->nkeys && !rc; i++) {
		struct mvcc_key *k = e->keys[i];

		rc = locks_ended(s, k, &k->revs[k->nrevs - 1]);
		if (!rc)
			rc = mvcc_core__tombstone(s, k);
	}
	mvcc_core__txn_end(s);
	if (rc)
		return rc;
	lease_remove(s, r->id);
	header(&h, hdr, s->rev);
	resp.header = &h;
	return ops_pack(&resp.base, res);
}

int mvcc_store__lease_leases(struct mvcc_store *s,
			     const struct mvcc_header *hdr,
			     struct mvcc_result *res)
{
	Etcdserverpb__LeaseLeasesResponse resp =
		ETCDSERVERPB__LEASE_LEASES_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	size_t n = s->leases.n;
	Etcdserverpb__LeaseStatus *st = calloc(n ? n : 1, sizeof(*st));
	Etcdserverpb__LeaseStatus **pv = calloc(n ? n : 1, sizeof(*pv));
	int rc = -ENOMEM;

	memset(res, 0, sizeof(*res));
	if (st && pv) {
		for (size_t i = 0; i < n; i++) {
			etcdserverpb__lease_status__init(&st[i]);
			st[i].id = s->leases.v[i]->id;
			pv[i] = &st[i];
		}
		header(&h, hdr, s->rev);
		resp.header = &h;
		resp.leases = pv;
		resp.n_leases = n;
		rc = ops_pack(&resp.base, res);
	}
	free(st);
	free(pv);
	return rc;
}

/* Seconds from @now_ns to the lease's end, rounded up, at least 0. */
static int64_t remaining(const struct mvcc_lease *e, uint64_t now_ns)
{
	uint64_t end;

	if (!e->clock.renew_ns)
		return e->ttl;
	end = e->clock.renew_ns + (uint64_t)e->ttl * 1000000000ull;
	if (now_ns >= end)
		return 0;
	return (int64_t)((end - now_ns + 999999999ull) / 1000000000ull);
}

int mvcc_store__lease_time_to_live(struct mvcc_store *s,
				   const struct mvcc_header *hdr,
				   const Etcdserverpb__LeaseTimeToLiveRequest *r,
				   uint64_t earliest_ns, struct mvcc_result *res)
{
	Etcdserverpb__LeaseTimeToLiveResponse resp =
		ETCDSERVERPB__LEASE_TIME_TO_LIVE_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	const struct mvcc_lease *e = lease_find(s, r->id);
	ProtobufCBinaryData *keys = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	header(&h, hdr, s->rev);
	resp.header = &h;
	resp.id = r->id;
	resp.ttl = -1;
	if (e) {
		resp.ttl = remaining(e, earliest_ns);
		resp.grantedttl = e->ttl;
	}
	if (e && r->keys && e->nkeys) {
		keys = calloc(e->nkeys, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (uint32_t i = 0; i < e->nkeys; i++) {
			keys[i].data = e->keys[i]->key;
			keys[i].len = e->keys[i]->klen;
		}
		resp.keys = keys;
		resp.n_keys = e->nkeys;
	}
	rc = ops_pack(&resp.base, res);
	free(keys);
	return rc;
}

int mvcc_store__lease_keepalive(struct mvcc_store *s,
				const struct mvcc_header *hdr, int64_t id,
				uint64_t latest_ns, struct mvcc_result *res)
{
	Etcdserverpb__LeaseKeepAliveResponse resp =
		ETCDSERVERPB__LEASE_KEEP_ALIVE_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	struct mvcc_lease *e = lease_find(s, id);

	memset(res, 0, sizeof(*res));
	header(&h, hdr, s->rev);
	resp.header = &h;
	resp.id = id;
	if (e && lease_clock__renew(&e->clock, latest_ns))
		resp.ttl = e->ttl;
	if (e && !e->clock.renew_ns)
		s->leases.scan_after_ns = 0;	/* renewed without a bound */
	return ops_pack(&resp.base, res);
}

void mvcc_leases__renew_all(struct mvcc_store *s, uint64_t latest_ns)
{
	for (size_t i = 0; i < s->leases.n; i++)
		lease_clock__reset(&s->leases.v[i]->clock, latest_ns);
	s->leases.scan_after_ns = 0;
}

size_t mvcc_leases__due(struct mvcc_store *s, uint64_t earliest_ns,
			uint64_t latest_ns, uint64_t tick,
			uint64_t retry_ticks, int64_t *ids, size_t max)
{
	struct mvcc_leases *l = &s->leases;
	uint64_t first_end = UINT64_MAX;
	size_t n = 0, i;

	/* Due means earliest > renew + TTL: none is, up to the first end. */
	if (earliest_ns <= l->scan_after_ns)
		return 0;
	for (i = 0; i < l->n && n < max; i++) {
		struct mvcc_lease *e = l->v[i];
		uint64_t ttl_ns = (uint64_t)e->ttl * 1000000000ull;
		uint64_t end;

		if (lease_clock__due(&e->clock, ttl_ns, earliest_ns, latest_ns,
				     tick, retry_ticks))
			ids[n++] = e->id;
		end = lease_clock__end(&e->clock, ttl_ns, latest_ns);
		if (end < first_end)
			first_end = end;
	}
	/* A visit cut short by @max saw only some. */
	l->scan_after_ns = i == l->n ? first_end : 0;
	return n;
}
