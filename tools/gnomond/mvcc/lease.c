// SPDX-License-Identifier: GPL-2.0
/*
 * Leases of the MVCC state machine: the table, grant and revoke as
 * commands, the answers (TimeToLive, Leases, KeepAlive) and the leader's
 * renewal bookkeeping (see mvcc.h), whose clock judgement is
 * lease_clock.c's.
 *
 * The table is an array of lease pointers sorted by ID, with the IDs in
 * an array of their own beside it (binary search touches that array only,
 * which matters when 10,000 keepalives a second each look one up;
 * LeaseLeases lists in ID order), each lease holding the live keys
 * attached to it, so that a revoke finds them without a scan.  An ID the
 * client leaves 0 is picked deterministically from a counter that the
 * snapshot carries, so every member picks the same one.  Nothing here
 * reads a clock: the times come in as arguments.
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

static size_t lower_bound(const struct mvcc_leases *l, int64_t id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mvcc_lease *lease_find(const struct mvcc_store *s, int64_t id)
{
	const struct mvcc_leases *l = &s->leases;
	size_t i = lower_bound(l, id);

	return i < l->n && l->ids[i] == id ? l->v[i] : NULL;
}

int lease_insert(struct mvcc_store *s, int64_t id, int64_t ttl)
{
	struct mvcc_leases *l = &s->leases;
	size_t i = lower_bound(l, id);
	struct mvcc_lease *e;

	if (i < l->n && l->ids[i] == id)
		return -EEXIST;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct mvcc_lease **v = realloc(l->v, cap * sizeof(*v));
		int64_t *ids;

		if (!v)
			return -ENOMEM;
		l->v = v;
		ids = realloc(l->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		l->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = id;
	e->ttl = ttl;
	memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof(*l->v));
	memmove(l->ids + i + 1, l->ids + i, (l->n - i) * sizeof(*l->ids));
	l->v[i] = e;
	l->ids[i] = id;
	l->n++;
	l->scan_after_ns = 0;		/* not looked at yet */
	return 0;
}

static void lease_free(struct mvcc_lease *e)
{
	free(e->keys);
	free(e);
}

static void lease_remove(struct mvcc_store *s, int64_t id)
{
	struct mvcc_leases *l = &s->leases;
	size_t i = lower_bound(l, id);

	if (i == l->n || l->ids[i] != id)
		return;
	lease_free(l->v[i]);
	memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
	memmove(l->ids + i, l->ids + i + 1, (l->n - i - 1) * sizeof(*l->ids));
	l->n--;
}

void lease_table__destroy(struct mvcc_leases *l)
{
	for (size_t i = 0; i < l->n; i++)
		lease_free(l->v[i]);
	free(l->v);
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

int lease_attach(struct mvcc_store *s, int64_t id, struct mvcc_key *k)
{
	struct mvcc_lease *e = lease_find(s, id);

	if (!e)
		return -ENOENT;
	if (e->nkeys == e->capkeys) {
		uint32_t cap = e->capkeys ? e->capkeys * 2 : 2;
		struct mvcc_key **v = realloc(e->keys, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->keys = v;
		e->capkeys = cap;
	}
	e->keys[e->nkeys++] = k;
	return 0;
}

void lease_detach(struct mvcc_store *s, int64_t id, const struct mvcc_key *k)
{
	struct mvcc_lease *e = lease_find(s, id);

	if (!e)
		return;
	for (uint32_t i = 0; i < e->nkeys; i++)
		if (e->keys[i] == k) {
			e->keys[i] = e->keys[--e->nkeys];
			return;
		}
}

size_t mvcc_store__lease_count(const struct mvcc_store *s)
{
	return s->leases.n;
}

int64_t mvcc_store__lease_ttl_of(const struct mvcc_store *s, int64_t id)
{
	const struct mvcc_lease *e = lease_find(s, id);

	return e ? e->ttl : 0;
}

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
