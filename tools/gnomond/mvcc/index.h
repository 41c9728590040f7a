/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ordered key index of the MVCC store: a B+tree of key records, sorted
 * by key bytes (memcmp, shorter first on a tie, like Go's bytes.Compare).
 *
 * Each key has one record, allocated once and never moved, holding the key
 * bytes and the key's revision history (a growable array, ascending by
 * revision).  Leaves hold up to INDEX_FANOUT record pointers and are
 * chained for in-order scans; inner nodes keep, for each child, a pointer to
 * the smallest record below it.  Records leave the index only through
 * mvcc_index__retain() (compaction), which rebuilds the tree, so the
 * separators never dangle.  A million keys cost about 10 MB of tree.
 */
#ifndef GNOMOND_MVCC_INDEX_H
#define GNOMOND_MVCC_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One revision of a key.  version == 0 marks a tombstone (a delete). */
struct mvcc_rev {
	int64_t main;		/* the store revision that wrote it */
	int64_t create;		/* create_revision of its generation */
	int64_t version;	/* 1 on creation, +1 per put, 0 = tombstone */
	int64_t lease;		/* the lease it is attached to, 0: none */
	uint32_t sub;		/* order within the main revision's txn */
	uint32_t vlen;
	uint8_t *value;		/* malloc'd, NULL when vlen == 0 */
};

struct mvcc_key {
	struct mvcc_rev *revs;	/* ascending by (main, sub) */
	uint32_t nrevs;
	uint32_t caprevs;
	uint32_t klen;
	uint8_t key[];
};

struct mvcc_index_leaf;

struct mvcc_index {
	void *root;		/* a leaf when height == 0 */
	unsigned int height;
	size_t count;		/* key records */
};

struct mvcc_iter {
	const struct mvcc_index_leaf *leaf;
	unsigned int pos;
};

/* Compare key bytes the way etcd does (bytes.Compare). */
int mvcc_key__cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

void mvcc_index__init(struct mvcc_index *idx);

/* Free the tree; @drop (may be NULL) is called on every record. */
void mvcc_index__destroy(struct mvcc_index *idx,
			 void (*drop)(struct mvcc_key *k));

struct mvcc_key *mvcc_index__find(const struct mvcc_index *idx,
				  const uint8_t *key, size_t klen);

/* Insert @k, whose key is not in the index yet.  0 or -ENOMEM. */
int mvcc_index__insert(struct mvcc_index *idx, struct mvcc_key *k);

/* Position @it at the first record whose key is >= @key. */
void mvcc_index__seek(const struct mvcc_index *idx, const uint8_t *key,
		      size_t klen, struct mvcc_iter *it);

/* The record at @it, advancing it; NULL past the last record. */
struct mvcc_key *mvcc_iter__next(struct mvcc_iter *it);

/*
 * Keep the records for which @keep returns true, in order; @keep frees
 * those it rejects.  Rebuilds the tree.  0, or -ENOMEM with the index
 * unchanged (then @keep has been called on no record).
 */
int mvcc_index__retain(struct mvcc_index *idx,
		       bool (*keep)(struct mvcc_key *k, void *ctx), void *ctx);

#endif /* GNOMOND_MVCC_INDEX_H */
