// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot encoding of the whole MVCC store, for Raft snapshots.
 *
 *	magic "GNMVCC" 0 2                      8 bytes
 *	rev, compact_rev, flags, nkeys          u64 little endian each
 *	nkeys times, in key order:
 *	  klen, key bytes, nrevs                varints, bytes
 *	  nrevs times: main, sub, create, version, [lease,] vlen
 *	               (varints), value
 *	[nleases, seq (u64), nleases times: id, ttl (varints)]
 *	[nalarms (varint), nalarms times: member (u64), type (varint), in
 *	 the order raised]
 *	nlocks (varint), cursor (u64), nlocks times, by prefix:
 *	  plen, prefix, max_end_ns, last_token  varints, bytes
 *	crc32 (zlib) of everything above        u32 little endian
 *
 * Restore checks everything it reads (bounds, key order, revision order,
 * revisions within the store's, the checksum) and returns -EINVAL without
 * a half-built store on any mismatch.  flags bit 0 (written by gnomond
 * before alarms were per member): a NOSPACE alarm raised, restored as
 * member 0's; bit 1: the bracketed lease parts are present (snapshots from
 * before leases lack them); bit 2: the bracketed alarm part is present.
 * Restore attaches every live key to the lease its latest revision names,
 * which must exist.  The leader's renewal times are not in a snapshot: a
 * restored lease counts as renewed when the leader first looks at it.
 * Format 1 (magic ending 0 1: before lock ends were kept) has no lock
 * section and restores with an empty table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lease.h"
#include "locks.h"
#include "store.h"
#include "mvcc.h"

static const uint8_t snap_magic[8] = { 'G', 'N', 'M', 'V', 'C', 'C', 0, 2 };
#define SNAP_VERSION_NO_LOCKS 1

#define SNAP_BUF (64 * 1024)
#define SNAP_FLAG_NOSPACE 1u
#define SNAP_FLAG_LEASES 2u
#define SNAP_FLAG_ALARMS 4u

struct snap_writer {
	mvcc_write_fn write;
	void *ctx;
	uLong crc;
	size_t n;
	int err;
	uint8_t buf[SNAP_BUF];
};

static void w_flush(struct snap_writer *w)
{
	if (!w->err && w->n)
		w->err = w->write(w->ctx, w->buf, w->n);
	w->n = 0;
}

static void w_bytes(struct snap_writer *w, const void *p, size_t len)
{
	const uint8_t *b = p;

	if (!len)
		return;	/* crc32() of a NULL buffer restarts the checksum */
	w->crc = crc32(w->crc, b, len);
	while (len && !w->err) {
		size_t room = SNAP_BUF - w->n, c = len < room ? len : room;

		memcpy(w->buf + w->n, b, c);
		w->n += c;
		b += c;
		len -= c;
		if (w->n == SNAP_BUF)
			w_flush(w);
	}
}

static void w_u64(struct snap_writer *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = v >> (8 * i);
	w_bytes(w, b, 8);
}

static void w_varint(struct snap_writer *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = v & 0x7f;
		v >>= 7;
		b[n++] |= v ? 0x80 : 0;
	} while (v);
	w_bytes(w, b, n);
}

int mvcc_store__snapshot(const struct mvcc_store *s, mvcc_write_fn write,
			 void *ctx)
{
	struct snap_writer *w = malloc(sizeof(*w));
	struct mvcc_iter it;
	struct mvcc_key *k;
	uint8_t crc[4];
	int err;

	if (!w)
		return -ENOMEM;
	w->write = write;
	w->ctx = ctx;
	w->crc = crc32(0, NULL, 0);
	w->n = 0;
	w->err = 0;
	w_bytes(w, snap_magic, sizeof(snap_magic));
	w_u64(w, s->rev);
	w_u64(w, s->compact_rev);
	w_u64(w, SNAP_FLAG_LEASES | (s->n_alarms ? SNAP_FLAG_ALARMS : 0));
	w_u64(w, s->idx.count);
	mvcc_index__seek(&s->idx, NULL, 0, &it);
	while ((k = mvcc_iter__next(&it)) && !w->err) {
		w_varint(w, k->klen);
		w_bytes(w, k->key, k->klen);
		w_varint(w, k->nrevs);
		for (uint32_t i = 0; i < k->nrevs; i++) {
			const struct mvcc_rev *r = &k->revs[i];

			w_varint(w, r->main);
			w_varint(w, r->sub);
			w_varint(w, r->create);
			w_varint(w, r->version);
			w_varint(w, (uint64_t)r->lease);
			w_varint(w, r->vlen);
			w_bytes(w, r->value, r->vlen);
		}
	}
	w_varint(w, s->leases.n);
	w_u64(w, s->leases.seq);
	for (size_t i = 0; i < s->leases.n; i++) {
		w_varint(w, (uint64_t)s->leases.v[i]->id);
		w_varint(w, (uint64_t)s->leases.v[i]->ttl);
	}
	if (s->n_alarms) {
		w_varint(w, s->n_alarms);
		for (uint32_t i = 0; i < s->n_alarms; i++) {
			w_u64(w, s->alarms[i].member);
			w_varint(w, s->alarms[i].type);
		}
	}
	w_varint(w, s->locks.n);
	w_u64(w, s->locks.cursor);
	for (size_t i = 0; i < s->locks.n; i++) {
		const struct mvcc_lock_entry *e = s->locks.v[i];

		w_varint(w, e->plen);
		w_bytes(w, e->prefix, e->plen);
		w_varint(w, (uint64_t)e->max_end_ns);
		w_varint(w, (uint64_t)e->last_token);
	}
	for (int i = 0; i < 4; i++)
		crc[i] = w->crc >> (8 * i);
	w_bytes(w, crc, 4);
	w_flush(w);
	err = w->err;
	free(w);
	return err;
}

struct snap_reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t r_u64(struct snap_reader *r)
{
	uint64_t v = 0;

	if (r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return v;
}

static uint64_t r_varint(struct snap_reader *r)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static const uint8_t *r_bytes(struct snap_reader *r, uint64_t len)
{
	const uint8_t *p = r->p;

	if (len > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return NULL;
	}
	r->p += len;
	return p;
}

/* Read one key record; NULL with r->bad set on malformed input. */
/* The raised alarms: NOSPACE ones only, each once, at most the store's. */
static void read_alarms(struct snap_reader *r, struct mvcc_store *s)
{
	uint64_t n = r_varint(r);

	if (!n || n > MVCC_MAX_ALARMS)
		r->bad = true;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		struct mvcc_alarm a = { .member = r_u64(r) };
		uint64_t type = r_varint(r);

		if (type != ETCDSERVERPB__ALARM_TYPE__NOSPACE ||
		    mvcc_store__alarm_raised(s, a.member, type) ||
		    s->n_alarms == MVCC_MAX_ALARMS) {
			r->bad = true;
			break;
		}
		a.type = (uint32_t)type;
		s->alarms[s->n_alarms++] = a;
	}
}

static struct mvcc_key *read_key(struct snap_reader *r, int64_t rev,
				 bool leases, const struct mvcc_key *prev,
				 int *err)
{
	uint64_t klen = r_varint(r), nrevs;
	const uint8_t *key = r_bytes(r, klen);
	struct mvcc_key *k;

	nrevs = r_varint(r);
	if (r->bad || klen > UINT32_MAX || !nrevs || nrevs > UINT32_MAX ||
	    nrevs > (uint64_t)(r->end - r->p) / 5 ||
	    (prev && mvcc_key__cmp(prev->key, prev->klen, key, klen) >= 0)) {
		r->bad = true;
		return NULL;
	}
	k = mvcc_key__new(key, klen);
	if (!k || mvcc_key__reserve(k, nrevs)) {
		if (k)
			mvcc_key__free(k);
		*err = -ENOMEM;
		return NULL;
	}
	for (uint64_t i = 0; i < nrevs; i++) {
		struct mvcc_rev *v = &k->revs[i];
		const struct mvcc_rev *pv = i ? &k->revs[i - 1] : NULL;
		uint64_t vlen;
		const uint8_t *val;

		v->main = r_varint(r);
		v->sub = r_varint(r);
		v->create = r_varint(r);
		v->version = r_varint(r);
		v->lease = leases ? (int64_t)r_varint(r) : 0;
		vlen = r_varint(r);
		val = r_bytes(r, vlen);
		v->vlen = vlen;
		v->value = NULL;
		if (r->bad || vlen > UINT32_MAX || v->main < 1 || v->main > rev ||
		    v->create > v->main || v->version < 0 || (!v->version && vlen) ||
		    v->lease < 0 || (!v->version && v->lease) ||
		    (pv && (pv->main > v->main ||
			    (pv->main == v->main && pv->sub >= v->sub)))) {
			r->bad = true;
			break;
		}
		if (vlen) {
			v->value = malloc(vlen);
			if (!v->value) {
				*err = -ENOMEM;
				break;
			}
			memcpy(v->value, val, vlen);
		}
		k->nrevs++;
	}
	if (r->bad || *err) {
		mvcc_key__free(k);
		return NULL;
	}
	return k;
}

/* The lock section: entries in prefix order. */
static int read_locks(struct snap_reader *r, struct mvcc_store *s)
{
	uint64_t n = r_varint(r);
	int err = 0;

	s->locks.cursor = r_u64(r);
	for (uint64_t i = 0; i < n && !r->bad && !err; i++) {
		uint64_t plen = r_varint(r);
		const uint8_t *p = r_bytes(r, plen);
		uint64_t end = r_varint(r), token = r_varint(r);

		if (r->bad || plen > UINT32_MAX || end > INT64_MAX ||
		    token > INT64_MAX) {
			r->bad = true;
			break;
		}
		err = locks_load(s, p, (uint32_t)plen, (int64_t)end,
				 (int64_t)token);
		if (err == -EINVAL) {
			r->bad = true;
			err = 0;
		}
	}
	return err;
}

/* The lease section, then every live key attached to its lease. */
static int read_leases(struct snap_reader *r, struct mvcc_store *s)
{
	uint64_t n = r_varint(r);
	struct mvcc_iter it;
	struct mvcc_key *k;
	int err = 0;

	s->leases.seq = r_u64(r);
	for (uint64_t i = 0; i < n && !r->bad && !err; i++) {
		int64_t id = (int64_t)r_varint(r);
		int64_t ttl = (int64_t)r_varint(r);

		if (r->bad || id <= 0 || ttl <= 0 || ttl > MVCC_LEASE_MAX_TTL) {
			r->bad = true;
			break;
		}
		err = lease_insert(s, id, ttl);
		if (err == -EEXIST) {
			r->bad = true;
			err = 0;
		}
	}
	mvcc_index__seek(&s->idx, NULL, 0, &it);
	while (!err && !r->bad && (k = mvcc_iter__next(&it))) {
		int64_t lease = k->revs[k->nrevs - 1].lease;

		if (!lease)
			continue;
		err = lease_attach(s, lease, k);
		if (err == -ENOENT) {
			r->bad = true;
			err = 0;
		}
	}
	return err;
}

int mvcc_store__restore(struct mvcc_store **out, const uint8_t *buf,
			size_t len, uint64_t quota_bytes)
{
	struct snap_reader r = { .p = buf, .end = buf + len };
	struct mvcc_key *prev = NULL;
	uint64_t nkeys, flags;
	struct mvcc_store *s;
	uint32_t crc = 0;
	int err = 0;

	if (len < sizeof(snap_magic) + 36 || memcmp(buf, snap_magic, 7) ||
	    (buf[7] != snap_magic[7] && buf[7] != SNAP_VERSION_NO_LOCKS))
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		crc |= (uint32_t)buf[len - 4 + i] << (8 * i);
	if (crc != crc32(crc32(0, NULL, 0), buf, len - 4))
		return -EINVAL;
	r.end -= 4;
	r.p += sizeof(snap_magic);
	err = mvcc_store__new(&s, quota_bytes);
	if (err)
		return err;
	s->rev = r_u64(&r);
	s->compact_rev = r_u64(&r);
	flags = r_u64(&r);
	nkeys = r_u64(&r);
	if (s->rev < 1 || s->compact_rev < 0 || s->compact_rev > s->rev ||
	    flags & ~(uint64_t)(SNAP_FLAG_NOSPACE | SNAP_FLAG_LEASES |
				SNAP_FLAG_ALARMS))
		r.bad = true;
	if (flags & SNAP_FLAG_NOSPACE)
		s->alarms[s->n_alarms++] = (struct mvcc_alarm){
			.type = ETCDSERVERPB__ALARM_TYPE__NOSPACE };
	for (uint64_t i = 0; i < nkeys && !r.bad && !err; i++) {
		struct mvcc_key *k = read_key(&r, s->rev,
					      flags & SNAP_FLAG_LEASES, prev,
					      &err);

		if (!k)
			break;
		err = mvcc_core__load_key(s, k);
		if (err) {
			mvcc_key__free(k);
			break;
		}
		prev = k;
	}
	if (!err && !r.bad && flags & SNAP_FLAG_LEASES)
		err = read_leases(&r, s);
	if (!err && !r.bad && flags & SNAP_FLAG_ALARMS)
		read_alarms(&r, s);
	if (!err && !r.bad && buf[7] != SNAP_VERSION_NO_LOCKS)
		err = read_locks(&r, s);
	if (!err && (r.bad || r.p != r.end))
		err = -EINVAL;
	if (err) {
		mvcc_store__free(s);
		return err;
	}
	*out = s;
	return 0;
}
