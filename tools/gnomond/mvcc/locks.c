// SPDX-License-Identifier: GPL-2.0
/*
 * What a lock's next holder must wait for (mvcc.h, "Locks";
 * Documentation/lease-safety.rst, "Lock ends"): a table, per lock prefix,
 * of {max_end_ns, last_token}, replicated state like the keys.
 *
 * A lock key is name/<lease ID in lowercase hex>, attached to that lease:
 * what etcd's Lock service and its concurrency.Mutex create.  When the
 * command being applied deletes one (txn.c's DeleteRange, lease_commands.c's
 * revoke, which an expiry is too), locks_ended() folds into its prefix's
 * entry the key's lease end, taken from the leader's stamp on the command
 * (never from a clock here): the end the leader named for that lease if it
 * named one (a revoke, a one-key delete: its renew + TTL), otherwise the
 * leader's TT.now().latest at proposal + TTL, which is no earlier (the
 * leader's renewals are recorded at its TT latest).  Every ended key
 * raises max_end (a waiter's end too: conservative, a waiter never held);
 * one that was the oldest live key under its prefix, the holder, also
 * becomes last_token.  A command without a stamp (logged before stamps
 * existed) records the token but no end.
 *
 * Stamped command: byte 0 MVCC_CMD_VERSION, byte 1 MVCC_CMD_STAMPED, then
 * earliest, latest, lease, end (u64 little endian each), then the inner
 * command with its own header.  Sums saturate at INT64_MAX: a lease whose
 * end the leader could not bound (no clock bound) ends "never".
 *
 * Bounded memory, deterministically: after each stamped command,
 * locks_prune() looks at LOCKS_PRUNE_STEP entries from a cursor (kept in
 * snapshots) and drops one whose prefix has no keys and whose max_end lies
 * more than MVCC_LOCK_KEEP_NS before the stamp's TT.now().earliest.  Only
 * replicated data decides, so every member drops the same entries at the
 * same log index; dropping is safe because any holder's lease then ended
 * more than an hour ago in true time.  A reader's own clock would not do:
 * members would disagree about the table.  An entry costs its prefix plus
 * about 40 bytes, and a prefix whose keys come and go keeps at most one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcdserverpb/rpc.pb-c.h"
#include "lease.h"
#include "locks.h"

#define LOCKS_PRUNE_STEP 4
#define STAMP_LEN (MVCC_CMD_HDR_LEN + 32)
#define NS_PER_S 1000000000ULL

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t v = a + b;

	return v < a || v > INT64_MAX ? INT64_MAX : v;
}

static uint64_t ttl_ns(int64_t ttl)
{
	return (uint64_t)ttl > INT64_MAX / NS_PER_S ? INT64_MAX :
	       (uint64_t)ttl * NS_PER_S;
}

static size_t lower_bound(const struct mvcc_locks *t, const uint8_t *p,
			  size_t plen)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mvcc_key__cmp(t->v[mid]->prefix, t->v[mid]->plen, p,
				  plen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mvcc_lock_entry *find(const struct mvcc_locks *t,
				    const uint8_t *p, size_t plen)
{
	size_t i = lower_bound(t, p, plen);

	return i < t->n && !mvcc_key__cmp(t->v[i]->prefix, t->v[i]->plen, p,
					  plen) ? t->v[i] : NULL;
}

static struct mvcc_lock_entry *insert_at(struct mvcc_locks *t, size_t i,
					 const uint8_t *p, uint32_t plen)
{
	struct mvcc_lock_entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct mvcc_lock_entry **v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	e = calloc(1, sizeof(*e) + plen);
	if (!e)
		return NULL;
	e->plen = plen;
	memcpy(e->prefix, p, plen);
	memmove(t->v + i + 1, t->v + i, (t->n - i) * sizeof(*t->v));
	t->v[i] = e;
	t->n++;
	return e;
}

void locks_table__destroy(struct mvcc_locks *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Is @k name/<hex of @lease>?  Then *plen = length of name/. */
static bool lock_key(const struct mvcc_key *k, int64_t lease, uint32_t *plen)
{
	char hex[20];
	int n = snprintf(hex, sizeof(hex), "%" PRIx64, (uint64_t)lease);

	if (k->klen <= (uint32_t)n ||
	    memcmp(k->key + k->klen - n, hex, n) ||
	    k->key[k->klen - n - 1] != '/')
		return false;
	*plen = k->klen - n;
	return true;
}

/* Is any key under @p (the range [p, p with '/' made '0')) live at @rev
 * with a create revision below @before (0: any)? */
static bool live_under(const struct mvcc_store *s, const uint8_t *p,
		       uint32_t plen, int64_t rev, int64_t before)
{
	struct mvcc_iter it;
	struct mvcc_key *k;

	mvcc_index__seek(&s->idx, p, plen, &it);
	while ((k = mvcc_iter__next(&it))) {
		const struct mvcc_rev *r;

		if (k->klen < plen || memcmp(k->key, p, plen - 1) ||
		    k->key[plen - 1] != '/')
			break;
		r = mvcc_key__live_at(k, rev);
		if (r && (!before || r->create < before))
			return true;
	}
	return false;
}

/* The end the leader's stamp gives lease @id. */
static uint64_t stamped_end(const struct mvcc_store *s, int64_t id)
{
	const struct mvcc_lease *e;

	if (!s->stamp.set)
		return 0;
	if (id == s->stamp.lease)
		return s->stamp.end_ns;
	e = lease_find(s, id);
	return sat_add(s->stamp.latest_ns, ttl_ns(e ? e->ttl : 0));
}

int locks_ended(struct mvcc_store *s, const struct mvcc_key *k,
		const struct mvcc_rev *live)
{
	struct mvcc_locks *t = &s->locks;
	struct mvcc_lock_entry *e;
	uint64_t end;
	uint32_t plen;
	size_t i;

	if (!live->lease || !lock_key(k, live->lease, &plen))
		return 0;
	i = lower_bound(t, k->key, plen);
	if (i < t->n && !mvcc_key__cmp(t->v[i]->prefix, t->v[i]->plen, k->key,
				       plen))
		e = t->v[i];
	else
		e = insert_at(t, i, k->key, plen);
	if (!e)
		return -ENOMEM;
	end = stamped_end(s, live->lease);
	if ((int64_t)end > e->max_end_ns)
		e->max_end_ns = (int64_t)end;
	if (!live_under(s, k->key, plen, mvcc_core__txn_rev(s), live->create))
		e->last_token = live->create;
	return 0;
}

void locks_prune(struct mvcc_store *s)
{
	struct mvcc_locks *t = &s->locks;

	if (!s->stamp.set || s->stamp.earliest_ns <= MVCC_LOCK_KEEP_NS)
		return;
	for (int step = 0; step < LOCKS_PRUNE_STEP && t->n; step++) {
		size_t i = t->cursor % t->n;
		struct mvcc_lock_entry *e = t->v[i];

		t->cursor = i + 1;
		if ((uint64_t)e->max_end_ns >=
		    s->stamp.earliest_ns - MVCC_LOCK_KEEP_NS ||
		    live_under(s, e->prefix, e->plen, s->rev, 0))
			continue;
		free(e);
		memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof(*t->v));
		t->n--;
		t->cursor = i;
	}
}

int locks_load(struct mvcc_store *s, const uint8_t *prefix, uint32_t plen,
	       int64_t max_end_ns, int64_t last_token)
{
	struct mvcc_locks *t = &s->locks;
	struct mvcc_lock_entry *e;

	if (!plen || prefix[plen - 1] != '/' || max_end_ns < 0 ||
	    last_token < 0 || last_token > s->rev ||
	    (t->n && mvcc_key__cmp(t->v[t->n - 1]->prefix, t->v[t->n - 1]->plen,
				   prefix, plen) >= 0))
		return -EINVAL;
	e = insert_at(t, t->n, prefix, plen);
	if (!e)
		return -ENOMEM;
	e->max_end_ns = max_end_ns;
	e->last_token = last_token;
	return 0;
}

void mvcc_store__lock_ends(const struct mvcc_store *s, const uint8_t *prefix,
			   size_t plen, struct mvcc_lock_ends *out)
{
	const struct mvcc_lock_entry *e = find(&s->locks, prefix, plen);

	out->max_end_ns = e ? e->max_end_ns : 0;
	out->last_token = e ? e->last_token : 0;
}

size_t mvcc_store__lock_count(const struct mvcc_store *s)
{
	return s->locks.n;
}

bool mvcc_cmd__needs_stamp(const uint8_t *cmd, size_t len)
{
	return len >= MVCC_CMD_HDR_LEN && cmd[0] == MVCC_CMD_VERSION &&
	       (cmd[1] == MVCC_CMD_DELETE_RANGE || cmd[1] == MVCC_CMD_TXN ||
		cmd[1] == MVCC_CMD_LEASE_REVOKE);
}

/* The lease a revoke names, or the one a one-key delete's key is
 * attached to now; 0 if none. */
static int64_t named_lease(const struct mvcc_store *s, const uint8_t *cmd,
			   size_t len)
{
	const uint8_t *pb = cmd + MVCC_CMD_HDR_LEN;
	size_t pblen = len - MVCC_CMD_HDR_LEN;
	Etcdserverpb__LeaseRevokeRequest *rv;
	Etcdserverpb__DeleteRangeRequest *dr;
	const struct mvcc_rev *live;
	struct mvcc_key *k;
	int64_t id = 0;

	if (cmd[1] == MVCC_CMD_LEASE_REVOKE) {
		rv = etcdserverpb__lease_revoke_request__unpack(NULL, pblen, pb);
		if (rv) {
			id = rv->id;
			etcdserverpb__lease_revoke_request__free_unpacked(rv,
									  NULL);
		}
	} else if (cmd[1] == MVCC_CMD_DELETE_RANGE) {
		dr = etcdserverpb__delete_range_request__unpack(NULL, pblen, pb);
		if (dr && !dr->range_end.len) {
			k = mvcc_index__find(&s->idx, dr->key.data, dr->key.len);
			live = k ? mvcc_key__live_at(k, s->rev) : NULL;
			id = live ? live->lease : 0;
		}
		if (dr)
			etcdserverpb__delete_range_request__free_unpacked(dr,
									  NULL);
	}
	return id;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int mvcc_cmd__stamp(const struct mvcc_store *s, const uint8_t *cmd,
		    size_t len, uint64_t earliest_ns, uint64_t latest_ns,
		    uint8_t **out, size_t *outlen)
{
	const struct mvcc_lease *e;
	uint64_t end = 0;
	int64_t id;
	uint8_t *buf;

	if (!mvcc_cmd__needs_stamp(cmd, len))
		return -EINVAL;
	id = named_lease(s, cmd, len);
	e = id ? lease_find(s, id) : NULL;
	if (e)
		end = lease_clock__end(&e->clock, ttl_ns(e->ttl), latest_ns);
	else
		id = 0;
	buf = malloc(STAMP_LEN + len);
	if (!buf)
		return -ENOMEM;
	buf[0] = MVCC_CMD_VERSION;
	buf[1] = MVCC_CMD_STAMPED;
	put_u64(buf + 2, earliest_ns);
	put_u64(buf + 10, latest_ns);
	put_u64(buf + 18, (uint64_t)id);
	put_u64(buf + 26, end);
	memcpy(buf + STAMP_LEN, cmd, len);
	*out = buf;
	*outlen = STAMP_LEN + len;
	return 0;
}

int locks_unstamp(struct mvcc_store *s, const uint8_t **cmd, size_t *len)
{
	const uint8_t *c = *cmd;

	if (*len < STAMP_LEN + MVCC_CMD_HDR_LEN ||
	    c[STAMP_LEN + 1] == MVCC_CMD_STAMPED)
		return -EINVAL;
	s->stamp = (struct mvcc_stamp){
		.set = true,
		.earliest_ns = get_u64(c + 2),
		.latest_ns = get_u64(c + 10),
		.lease = (int64_t)get_u64(c + 18),
		.end_ns = get_u64(c + 26),
	};
	if (s->stamp.end_ns > INT64_MAX)
		s->stamp.end_ns = INT64_MAX;
	*cmd = c + STAMP_LEN;
	*len -= STAMP_LEN;
	return 0;
}
