// SPDX-License-Identifier: GPL-2.0
/*
 * Maintenance.Hash and .HashKV: checksums of a member's state that are the
 * same on every member at the same revision, so that an operator (etcdctl
 * endpoint hashkv, python3-etcd3's hash()) sees a member that diverged.
 *
 * HashKV(rev) is a CRC-32 (zlib's) over every stored revision at or below
 * rev, keys in order and each key's revisions in order: key length, key,
 * then per revision main, sub, create, version, lease, value length (each
 * 8 bytes little-endian) and the value.  A key with no revision at or
 * below rev adds nothing, so HashKV(rev) of a member that is further on
 * equals HashKV of one that stopped at rev, until compaction drops
 * history (which happens at the same log index everywhere).  As etcd:
 * rev 0 is the current revision, rev <= the compaction revision is
 * "compacted", rev past the current one a "future revision".
 *
 * Hash is the CRC-32 that ends the whole store's snapshot encoding
 * (snapshot.c): keys and history, leases, alarms, revisions.  etcd hashes its bbolt
 * file instead, so the numbers compare among gnomond members only.
 *
 * Both walk the whole store on the caller's thread (the daemon's loop),
 * as etcd's walk its backend: the cost grows with the store.
 */
#include <string.h>
#include <zlib.h>

#include "ops.h"

static void put8(uLong *crc, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	*crc = crc32(*crc, b, sizeof(b));
}

static uint32_t hash_kv(const struct mvcc_store *s, int64_t rev)
{
	uLong crc = crc32(0, NULL, 0);
	struct mvcc_iter it;
	struct mvcc_key *k;

	mvcc_index__seek(&s->idx, NULL, 0, &it);
	while ((k = mvcc_iter__next(&it))) {
		if (!k->nrevs || k->revs[0].main > rev)
			continue;
		put8(&crc, k->klen);
		crc = crc32(crc, k->key, k->klen);
		for (uint32_t i = 0; i < k->nrevs && k->revs[i].main <= rev;
		     i++) {
			const struct mvcc_rev *r = &k->revs[i];

			put8(&crc, (uint64_t)r->main);
			put8(&crc, r->sub);
			put8(&crc, (uint64_t)r->create);
			put8(&crc, (uint64_t)r->version);
			put8(&crc, (uint64_t)r->lease);
			put8(&crc, r->vlen);
			if (r->vlen)
				crc = crc32(crc, r->value, r->vlen);
		}
	}
	return (uint32_t)crc;
}

static void header(Etcdserverpb__ResponseHeader *h,
		   const struct mvcc_store *s, const struct mvcc_header *hdr)
{
	h->cluster_id = hdr->cluster_id;
	h->member_id = hdr->member_id;
	h->raft_term = hdr->raft_term;
	h->revision = s->rev;
}

int mvcc_store__hash_kv(const struct mvcc_store *s,
			const struct mvcc_header *hdr,
			const Etcdserverpb__HashKVRequest *req,
			struct mvcc_result *res)
{
	Etcdserverpb__HashKVResponse r = ETCDSERVERPB__HASH_KVRESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	int64_t rev = req->revision > 0 ? req->revision : s->rev;

	memset(res, 0, sizeof(*res));
	if (s->compact_rev && rev <= s->compact_rev) {
		res->err = ETCD_ERR_COMPACTED;
		return 0;
	}
	if (rev > s->rev) {
		res->err = ETCD_ERR_FUTURE_REV;
		return 0;
	}
	header(&h, s, hdr);
	r.header = &h;
	r.hash = hash_kv(s, rev);
	r.compact_revision = s->compact_rev;
	return ops_pack(&r.base, res);
}

/* The snapshot ends with its own CRC-32 of everything before it: keep the
 * last 4 bytes written.  (A CRC over the snapshot including that CRC
 * would be the same constant for every store.) */
static int tail_write(void *ctx, const void *buf, size_t len)
{
	uint8_t *tail = ctx;
	const uint8_t *b = buf;

	if (len >= 4) {
		memcpy(tail, b + len - 4, 4);
	} else {
		memmove(tail, tail + len, 4 - len);
		memcpy(tail + 4 - len, b, len);
	}
	return 0;
}

int mvcc_store__hash(const struct mvcc_store *s, const struct mvcc_header *hdr,
		     struct mvcc_result *res)
{
	Etcdserverpb__HashResponse r = ETCDSERVERPB__HASH_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	uint8_t tail[4] = { 0 };
	int rc = mvcc_store__snapshot(s, tail_write, tail);

	memset(res, 0, sizeof(*res));
	if (rc)
		return rc;
	header(&h, s, hdr);
	r.header = &h;
	r.hash = tail[0] | tail[1] << 8 | tail[2] << 16 | (uint32_t)tail[3] << 24;
	return ops_pack(&r.base, res);
}
