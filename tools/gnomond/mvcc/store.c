// SPDX-License-Identifier: GPL-2.0
/*
 * MVCC core (see store.h): key records with revision histories in the
 * B+tree index, write transactions, tombstones, compaction, quota
 * accounting and the alarms that stop writes.  Deterministic: no clock, no randomness, no I/O.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

void mvcc_core__init(struct mvcc_store *s, uint64_t quota)
{
	memset(s, 0, sizeof(*s));
	mvcc_index__init(&s->idx);
	s->rev = 1;
	s->quota = quota ? quota : MVCC_DEFAULT_QUOTA;
}

void mvcc_key__free(struct mvcc_key *k)
{
	for (uint32_t i = 0; i < k->nrevs; i++)
		free(k->revs[i].value);
	free(k->revs);
	free(k);
}

void mvcc_core__destroy(struct mvcc_store *s)
{
	free(s->ev);
	mvcc_index__destroy(&s->idx, mvcc_key__free);
}

struct mvcc_key *mvcc_key__new(const uint8_t *key, uint32_t klen)
{
	struct mvcc_key *k = malloc(sizeof(*k) + klen);

	if (!k)
		return NULL;
	k->revs = NULL;
	k->nrevs = 0;
	k->caprevs = 0;
	k->klen = klen;
	if (klen)
		memcpy(k->key, key, klen);
	return k;
}

int mvcc_key__reserve(struct mvcc_key *k, uint32_t n)
{
	struct mvcc_rev *r;
	uint32_t cap;

	if (n <= k->caprevs)
		return 0;
	cap = k->caprevs ? k->caprevs * 2 : 1;
	if (cap < n)
		cap = n;
	r = realloc(k->revs, (size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	k->revs = r;
	k->caprevs = cap;
	return 0;
}

const struct mvcc_rev *mvcc_key__at(const struct mvcc_key *k, int64_t rev)
{
	uint32_t lo = 0, hi = k->nrevs;

	/* Binary search for the first revision newer than @rev. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (k->revs[mid].main <= rev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &k->revs[lo - 1] : NULL;
}

const struct mvcc_rev *mvcc_key__live_at(const struct mvcc_key *k,
					 int64_t rev)
{
	const struct mvcc_rev *r = mvcc_key__at(k, rev);

	return r && r->version ? r : NULL;
}

enum etcd_err mvcc_core__read_rev(const struct mvcc_store *s, int64_t want,
				  int64_t *out)
{
	int64_t cur = mvcc_core__txn_rev(s);

	if (want <= 0) {
		*out = cur;
		return ETCD_OK;
	}
	if (want > cur)
		return ETCD_ERR_FUTURE_REV;
	if (want < s->compact_rev)
		return ETCD_ERR_COMPACTED;
	*out = want;
	return ETCD_OK;
}

void mvcc_core__txn_begin(struct mvcc_store *s)
{
	assert(!s->in_txn);
	s->in_txn = true;
	s->txn_main = s->rev + 1;
	s->txn_sub = 0;
}

int64_t mvcc_core__txn_rev(const struct mvcc_store *s)
{
	return s->in_txn && s->txn_sub ? s->txn_main : s->rev;
}

void mvcc_core__txn_end(struct mvcc_store *s)
{
	assert(s->in_txn);
	if (s->txn_sub)
		s->rev = s->txn_main;
	s->in_txn = false;
}

uint64_t mvcc_core__put_cost(uint32_t klen, uint32_t vlen)
{
	return (uint64_t)klen + vlen + MVCC_REV_COST;
}

bool mvcc_core__over_quota(const struct mvcc_store *s, uint64_t bytes)
{
	return s->used + bytes > s->quota;
}

/* The alarms (replicated state): with NOSPACE raised, writes that add
 * bytes are refused, as with the quota exceeded. */
bool mvcc_store__alarm_raised(const struct mvcc_store *s, uint64_t member,
			      uint32_t type)
{
	for (uint32_t i = 0; i < s->n_alarms; i++)
		if (s->alarms[i].member == member && s->alarms[i].type == type)
			return true;
	return false;
}

bool mvcc_store__nospace(const struct mvcc_store *s)
{
	for (uint32_t i = 0; i < s->n_alarms; i++)
		if (s->alarms[i].type == ETCDSERVERPB__ALARM_TYPE__NOSPACE)
			return true;
	return false;
}

static int append_rev(struct mvcc_store *s, struct mvcc_key *k,
		      const uint8_t *val, uint32_t vlen, int64_t lease,
		      bool tombstone)
{
	const struct mvcc_rev *last = k->nrevs ? &k->revs[k->nrevs - 1] : NULL;
	bool live = last && last->version;
	struct mvcc_rev r = {
		.main = s->txn_main,
		.sub = s->txn_sub,
		.vlen = vlen,
		.lease = lease,
	};

	assert(s->in_txn);
	assert(!last || last->main < r.main ||
	       (last->main == r.main && last->sub < r.sub));
	if (!tombstone) {
		r.create = live ? last->create : r.main;
		r.version = live ? last->version + 1 : 1;
	}
	/* @last dies here: the history may move. */
	if (mvcc_key__reserve(k, k->nrevs + 1))
		return -ENOMEM;
	if (vlen) {
		r.value = malloc(vlen);
		if (!r.value)
			return -ENOMEM;
		memcpy(r.value, val, vlen);
	}
	if (s->nev == s->capev) {
		size_t cap = s->capev ? s->capev * 2 : 16;
		struct mvcc_event *ev = realloc(s->ev, cap * sizeof(*ev));

		if (!ev) {
			free(r.value);
			return -ENOMEM;
		}
		s->ev = ev;
		s->capev = cap;
	}
	s->ev[s->nev++] = (struct mvcc_event){ k, k->nrevs };
	k->revs[k->nrevs++] = r;
	s->txn_sub++;
	s->used += mvcc_core__put_cost(k->klen, vlen);
	return 0;
}

int mvcc_core__put(struct mvcc_store *s, struct mvcc_key *k,
		   const uint8_t *key, uint32_t klen, const uint8_t *val,
		   uint32_t vlen, int64_t lease)
{
	int err;

	if (k)
		return append_rev(s, k, val, vlen, lease, false);
	k = mvcc_key__new(key, klen);
	if (!k)
		return -ENOMEM;
	err = append_rev(s, k, val, vlen, lease, false);
	if (!err)
		err = mvcc_index__insert(&s->idx, k);
	if (err) {
		if (k->nrevs) {
			s->txn_sub--;
			s->nev--;
			s->used -= mvcc_core__put_cost(klen, vlen);
		}
		mvcc_key__free(k);
		return err;
	}
	s->used += MVCC_KEY_COST;
	return 0;
}

int mvcc_core__tombstone(struct mvcc_store *s, struct mvcc_key *k)
{
	assert(k->nrevs && k->revs[k->nrevs - 1].version);
	return append_rev(s, k, NULL, 0, 0, true);
}

struct compact_ctx {
	struct mvcc_store *s;
	int64_t rev;
};

/* Trim one key's history at the compaction revision; false drops it. */
static bool compact_key(struct mvcc_key *k, void *arg)
{
	struct compact_ctx *c = arg;
	uint32_t drop = 0;

	while (drop + 1 < k->nrevs && k->revs[drop + 1].main <= c->rev)
		drop++;
	/* revs[drop] is the latest <= rev if revs[0] is; drop a tombstone. */
	if (k->revs[drop].main <= c->rev && !k->revs[drop].version)
		drop++;
	for (uint32_t i = 0; i < drop; i++) {
		c->s->used -= mvcc_core__put_cost(k->klen, k->revs[i].vlen);
		free(k->revs[i].value);
		k->revs[i].value = NULL;
	}
	if (drop == k->nrevs) {
		c->s->used -= MVCC_KEY_COST;
		mvcc_key__free(k);
		return false;
	}
	memmove(k->revs, &k->revs[drop], (k->nrevs - drop) * sizeof(k->revs[0]));
	k->nrevs -= drop;
	return true;
}

int mvcc_core__compact(struct mvcc_store *s, int64_t rev)
{
	struct compact_ctx c = { .s = s, .rev = rev };
	int err;

	assert(rev > s->compact_rev && rev <= s->rev && !s->in_txn);
	err = mvcc_index__retain(&s->idx, compact_key, &c);
	if (err)
		return err;
	s->compact_rev = rev;
	return 0;
}

int mvcc_core__load_key(struct mvcc_store *s, struct mvcc_key *k)
{
	int err = mvcc_index__insert(&s->idx, k);

	if (err)
		return err;
	s->used += MVCC_KEY_COST;
	for (uint32_t i = 0; i < k->nrevs; i++)
		s->used += mvcc_core__put_cost(k->klen, k->revs[i].vlen);
	return 0;
}
