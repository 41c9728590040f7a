/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MVCC store's core: keys, revisions, tombstones, compaction and the
 * size quota, with no knowledge of protobuf (see mvcc.h for the request
 * level API built on it).
 *
 * etcd's model: the store has one revision counter.  Every write
 * transaction that changes something takes the next main revision; the
 * changes inside it are numbered by sub-revision.  Each key keeps its
 * history as a list of (main, sub) revisions, a tombstone ending a
 * generation.  Reads name a revision and see, for each key, its latest
 * revision at or below it.  Compaction at C drops, for each key, every
 * revision older than its latest one <= C, and that one too if it is a
 * tombstone; reads below C then fail with "compacted".
 *
 * The quota counts bytes deterministically (key + value + a fixed cost per
 * revision), never malloc's view, so every member of a cluster reaches the
 * same decision at the same log index.
 */
#ifndef GNOMOND_MVCC_STORE_H
#define GNOMOND_MVCC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "index.h"
#include "lease_clock.h"
#include "mvcc.h"	/* struct mvcc_alarm */

/* Accounted cost of a key record and of one revision, beyond their bytes. */
#define MVCC_KEY_COST 48
#define MVCC_REV_COST 48
/* etcd's default --quota-backend-bytes: 2 GiB. */
#define MVCC_DEFAULT_QUOTA (2ULL << 30)

/* A lease (lease_table.c): its replicated part, and the leader's renewal
 * bookkeeping, which only the daemon's clock readings change. */
struct mvcc_lease {
	int64_t id;
	int64_t ttl;			/* seconds, as granted */
	struct mvcc_key **keys;		/* the live keys attached to it */
	uint32_t nkeys, capkeys;
	struct lease_clock clock;	/* the leader's, lease_clock.h */
};

struct mvcc_leases {
	struct mvcc_lease **v;		/* ascending by id */
	int64_t *ids;			/* v[i]->id, searched without a
					 * pointer chase per probe */
	size_t n, cap;
	uint64_t seq;			/* IDs the store has picked */
	/* The leader's expiry scan (lease_commands.c): no lease ends before this
	 * instant, so no scan is needed up to it; 0: scan at the next. */
	uint64_t scan_after_ns;
};

/* A lock prefix's pair (locks.c): the latest possible lease end of any
 * ended key under it, and the token of the latest ended holder. */
struct mvcc_lock_entry {
	int64_t max_end_ns;		/* CLOCK_REALTIME ns, 0: none known */
	int64_t last_token;		/* create revision, 0: none */
	uint32_t plen;
	uint8_t prefix[];		/* up to and including the last '/' */
};

struct mvcc_locks {
	struct mvcc_lock_entry **v;	/* ascending by prefix */
	size_t n, cap;
	uint64_t cursor;		/* where locks_prune() looks next */
};

/* The leader's stamp on the command being applied (locks.c). */
struct mvcc_stamp {
	bool set;
	uint64_t earliest_ns, latest_ns;	/* its TT.now() at proposal */
	int64_t lease;			/* the lease it named an end for */
	uint64_t end_ns;		/* that lease's renew + TTL */
};

/* A change made by the command being applied: k->revs[idx] (watch.c). */
struct mvcc_event {
	struct mvcc_key *k;
	uint32_t idx;
};

struct mvcc_store {
	struct mvcc_index idx;
	struct mvcc_leases leases;
	struct mvcc_locks locks;
	struct mvcc_stamp stamp;	/* set only inside apply() */
	/* The changes of the last command applied, for watchers; valid until
	 * the next one. */
	struct mvcc_event *ev;
	size_t nev, capev;
	int64_t rev;		/* current main revision, 1 when empty */
	int64_t compact_rev;	/* 0: never compacted */
	uint64_t used;		/* accounted bytes */
	uint64_t quota;
	/* Raised alarms, in the order raised: replicated state, the same on
	 * every member.  While any NOSPACE one stands, writes that add data
	 * are refused. */
	struct mvcc_alarm alarms[MVCC_MAX_ALARMS];
	uint32_t n_alarms;
	bool in_txn;
	int64_t txn_main;	/* the revision a write txn will take */
	uint32_t txn_sub;	/* changes made in it so far */
};

void mvcc_core__init(struct mvcc_store *s, uint64_t quota);
void mvcc_core__destroy(struct mvcc_store *s);

/* The latest revision of @k at or below @rev, or NULL; tombstones too. */
const struct mvcc_rev *mvcc_key__at(const struct mvcc_key *k, int64_t rev);

/* The live revision of @k at @rev (NULL if absent or deleted then). */
const struct mvcc_rev *mvcc_key__live_at(const struct mvcc_key *k,
					 int64_t rev);

/*
 * Resolve a requested read revision (<= 0: current) into @out, or return
 * ETCD_ERR_COMPACTED / ETCD_ERR_FUTURE_REV.
 */
enum etcd_err mvcc_core__read_rev(const struct mvcc_store *s, int64_t want,
				  int64_t *out);

/* Write transactions: begin, changes, end.  Reads in a write txn use
 * mvcc_core__txn_rev(), which sees the txn's own changes. */
void mvcc_core__txn_begin(struct mvcc_store *s);
int64_t mvcc_core__txn_rev(const struct mvcc_store *s);
void mvcc_core__txn_end(struct mvcc_store *s);

/* Put in the current txn (attached to @lease, 0: none); @k is the key's record, NULL when the key has
 * none yet (the caller looked it up: one tree descent less).  0 or -ENOMEM
 * (nothing changed). */
int mvcc_core__put(struct mvcc_store *s, struct mvcc_key *k,
		   const uint8_t *key, uint32_t klen, const uint8_t *val,
		   uint32_t vlen, int64_t lease);

/* Tombstone the live key @k in the current txn.  0 or -ENOMEM. */
int mvcc_core__tombstone(struct mvcc_store *s, struct mvcc_key *k);

/* Would adding @bytes of new data exceed the quota? */
bool mvcc_core__over_quota(const struct mvcc_store *s, uint64_t bytes);

/* Cost of a put of this size, as the quota counts it. */
uint64_t mvcc_core__put_cost(uint32_t klen, uint32_t vlen);

/* Compact at @rev (already validated: compact_rev < rev <= rev). */
int mvcc_core__compact(struct mvcc_store *s, int64_t rev);

/* Restore path: append a decoded key record (keys in ascending order). */
int mvcc_core__load_key(struct mvcc_store *s, struct mvcc_key *k);

/* Allocate a key record for @key with room for one revision, or NULL. */
struct mvcc_key *mvcc_key__new(const uint8_t *key, uint32_t klen);
int mvcc_key__reserve(struct mvcc_key *k, uint32_t n);
void mvcc_key__free(struct mvcc_key *k);

#endif /* GNOMOND_MVCC_STORE_H */
