// SPDX-License-Identifier: GPL-2.0
/*
 * The lease table of the MVCC state machine: an array of lease pointers
 * sorted by ID, with the IDs in an array of their own beside it (binary
 * search touches that array only, which matters when 10,000 keepalives a
 * second each look one up; LeaseLeases lists in ID order), each lease
 * holding the live keys attached to it, so that a revoke finds them
 * without a scan.  The commands and answers on leases (lease_commands.c)
 * and the lock bookkeeping (locks.c) look leases up here; this file calls
 * neither.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "lease.h"

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
		/* Both arrays grow to one capacity; l->cap moves only once both did. */
		size_t capv = l->cap, capids = l->cap;
		struct mvcc_lease **v;
		int64_t *ids;

		v = grow__array(l->v, &capv, l->n + 1, sizeof(*v), 16);
		if (!v)
			return -ENOMEM;
		l->v = v;
		ids = grow__array(l->ids, &capids, l->n + 1, sizeof(*ids), 16);
		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		assert(capv == capids);
		l->cap = capids;
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

void lease_remove(struct mvcc_store *s, int64_t id)
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
		size_t cap = e->capkeys;
		struct mvcc_key **v;

		if (e->nkeys == UINT32_MAX)
			return -ENOMEM;
		v = grow__array(e->keys, &cap, (size_t)e->nkeys + 1, sizeof(*v), 2);
		if (!v)
			return -ENOMEM;
		e->keys = v;
		e->capkeys = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
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
