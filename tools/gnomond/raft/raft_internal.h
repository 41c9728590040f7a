/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the Raft core, shared by its files:
 *
 *   raft_log.c        the in-memory log (entries after the snapshot)
 *   raft_core.c       life cycle, roles and terms, persistence bookkeeping,
 *                     raft__ready(), observers
 *   raft_election.c   ticks, pre-vote, vote, check-quorum, transfer
 *   raft_replicate.c  append, on both sides; commit
 *   raft_snapshot.c   snapshot transfer in chunks, on both sides
 *   raft_read.c       leader lease and ReadIndex
 *   raft_conf.c       membership changes and the config in effect
 *
 * Persistence bookkeeping.  Anything that changes durable state (hard state,
 * new entries, an installed snapshot) marks the core dirty; raft__ready()
 * turns the dirty state into one batch numbered ++issued_seq.  A message
 * whose meaning depends on durable state (a vote, an ack, a lease promise)
 * is queued in `held` with the batch that must complete first
 * (raft_need_seq()); raft__persisted() releases it.  Batches complete in
 * order; `stable` is the last index known durable.
 */
#ifndef GNOMOND_RAFT_INTERNAL_H
#define GNOMOND_RAFT_INTERNAL_H

#include <assert.h>
#include <errno.h>
#include "raft.h"

struct raft_log {
	struct raft_entry *e;	/* e[0] has index offset + 1 */
	size_t len, cap;
	uint64_t offset;	/* index of the last compacted entry */
	uint64_t offset_term;	/* its term */
	/* Data of compacted entries, freed a slice per raft__ready(). */
	void **garbage;
	size_t n_garbage, cap_garbage;
};

struct raft_progress {
	uint64_t match;		/* highest index known replicated */
	uint64_t next;		/* next index to send */
	bool probe;		/* unsure of next: one message at a time */
	bool probe_sent;
	bool heartbeat_due;
	bool active;		/* heard from since the last quorum check */
	bool snap_mode;		/* catching up through a snapshot */
	bool snap_inflight;	/* a chunk awaits its answer */
	uint64_t snap_index;	/* the snapshot being sent */
	uint64_t snap_offset;	/* next chunk's offset */
	uint32_t snap_wait;	/* heartbeats since the chunk was sent */
	uint32_t stall;		/* heartbeats without progress */
	uint64_t last_hb_match;
	uint64_t lease_acked;	/* largest promise acked in this term */
	uint64_t read_ctx_acked;
	uint64_t ctx_floor;	/* answers echoing less are from a member
				 * that held the slot before it was added
				 * again: ignored */
};

struct raft_batch {
	uint64_t seq;
	uint64_t last;		/* last index the batch wrote */
	uint64_t limit;		/* lowered when a later truncation cuts it */
	uint64_t promise_end;	/* hard state promise the batch carries */
};

struct raft_held {
	struct raft_msg msg;
	uint64_t need_seq;
};

struct raft_pending_read {
	uint64_t id;
	uint64_t ctx;
};

#define RAFT_VEC(type) struct { type *v; size_t len, cap; }

struct raft {
	struct raft_config cfg;
	struct gnomon_tt now;		/* the latest reading passed in */
	uint64_t rng;

	/* Persistent state and its durability. */
	struct raft_hard_state hs;
	bool hs_dirty;
	struct raft_log log;
	uint64_t unstable;		/* first index not yet in a batch */
	uint64_t stable;		/* last index known durable */
	uint64_t issued_seq, done_seq;
	bool dirty;			/* something for the next batch */
	RAFT_VEC(struct raft_batch) batches;
	uint64_t durable_promise;	/* promise_end known durable */
	uint64_t promise_mem;		/* largest promise given while running */
	uint64_t lost_clear_seq;	/* hs.lost_upto goes once this is done */

	/* Snapshot: the latest one; data owned by us if snap_owned. */
	struct raft_snapshot snap;
	bool snap_owned;
	bool snap_to_persist;		/* installed from the leader */
	bool snap_to_restore;
	struct {			/* a snapshot being received */
		uint64_t index, term, total, len, leader_term;
		uint8_t *buf;
	} rx;

	/* Membership: the latest config in the log, from the conf entry at
	 * conf_index (0: from the snapshot's, r->snap.membership). */
	struct raft_membership conf;
	uint64_t conf_index;
	/* Leader: the slot this leader removed last still gets appends and
	 * heartbeats, counted for nothing, until the next change: so that it
	 * learns its removal and that it committed, and stays quiet. */
	uint32_t leaving_slot;

	/* Volatile state. */
	enum raft_role role;
	uint32_t leader;
	uint64_t applied;
	uint32_t election_elapsed;
	uint32_t election_timeout;	/* randomized */
	uint32_t heartbeat_elapsed;
	uint32_t quorum_elapsed;
	uint32_t votes_granted, votes_rejected;	/* bit per member */
	bool campaign_transfer;

	/* Leader state. */
	struct raft_progress prs[RAFT_MAX_MEMBERS + 1];
	bool committed_in_term;
	bool lease_off_in_term;		/* gave the lease up (transfer) */
	uint64_t lease_offered;		/* largest promise asked in this term */
	uint32_t transfer_target;
	uint32_t transfer_elapsed;
	uint64_t read_ctx;
	bool read_broadcast;
	RAFT_VEC(struct raft_pending_read) pending_reads;

	/* Output. */
	RAFT_VEC(struct raft_msg) msgs;
	RAFT_VEC(struct raft_held) held;
	RAFT_VEC(struct raft_read) reads;
	struct raft_snapshot ready_snap;
	bool handed_out;		/* msgs/reads went out in a ready */
};

#define raft_vec_push(vec, item)					\
	({								\
		int __rc = 0;						\
		if ((vec)->len == (vec)->cap)				\
			__rc = raft_vec_grow((void **)&(vec)->v,	\
					     &(vec)->cap,		\
					     sizeof(*(vec)->v));	\
		if (!__rc)						\
			(vec)->v[(vec)->len++] = (item);		\
		__rc;							\
	})

int raft_vec_grow(void **v, size_t *cap, size_t size);

/* raft_log.c */
void raft_log__init(struct raft_log *log, uint64_t offset, uint64_t term);
void raft_log__free(struct raft_log *log);
uint64_t raft_log__last(const struct raft_log *log);
uint64_t raft_log__term(const struct raft_log *log, uint64_t index);
const struct raft_entry *raft_log__get(const struct raft_log *log,
				       uint64_t index);
int raft_log__append(struct raft_log *log, uint64_t term, uint32_t type,
		     const void *data, uint32_t len);
void raft_log__truncate(struct raft_log *log, uint64_t from);
void raft_log__compact(struct raft_log *log, uint64_t upto);
/* Free up to max compacted entries' data. */
void raft_log__reclaim(struct raft_log *log, size_t max);
void raft_log__reset(struct raft_log *log, uint64_t offset, uint64_t term);
bool raft_log__up_to_date(const struct raft_log *log, uint64_t last_index,
			  uint64_t last_term);

/* Slots 1..RAFT_MAX_MEMBERS as bits 1..9. */
#define RAFT_SLOTS_MASK		(((1U << RAFT_MAX_MEMBERS) - 1) << 1)

/* Every slot s set in mask, in order. */
#define raft_for_each_slot(s, mask)					\
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)		\
		if ((mask) & (1U << s))

static inline uint32_t raft_voters(const struct raft *r)
{
	return r->conf.voters;
}

/* Every other member: the leader replicates to these. */
static inline uint32_t raft_peers(const struct raft *r)
{
	uint32_t leaving = r->leaving_slot ? 1U << r->leaving_slot : 0;

	return (r->conf.voters | r->conf.learners | leaving) &
	       ~(1U << r->cfg.self);
}

static inline bool raft_is_voter(const struct raft *r, uint32_t slot)
{
	return raft_voters(r) & (1U << slot);
}

static inline uint32_t raft_quorum(const struct raft *r)
{
	return (uint32_t)__builtin_popcount(raft_voters(r)) / 2 + 1;
}

/* raft_core.c */

void raft_reclaim(struct raft *r);
int raft_can_propose(struct raft *r);
uint64_t raft_need_seq(const struct raft *r);
void raft_mark_dirty(struct raft *r);
int raft_send(struct raft *r, const struct raft_msg *m);
int raft_send_after_persist(struct raft *r, const struct raft_msg *m);
void raft_become_follower(struct raft *r, uint64_t term, uint32_t leader);
int raft_become_leader(struct raft *r);
void raft_truncate(struct raft *r, uint64_t from);
uint64_t raft_quorum_value(const struct raft *r, const uint64_t *vals);
bool raft_clock_usable(const struct gnomon_tt *now);
void raft_lost__confirmed(struct raft *r, uint64_t upto);

/* A member that lost acknowledged entries neither votes nor campaigns. */
static inline bool raft_lost__no_vote(const struct raft *r)
{
	return r->hs.lost_upto &&
	       !(r->cfg.fault_flags & RAFT_FAULT_LOST_VOTE);
}

/* raft_election.c */
int raft_election__tick(struct raft *r);
int raft_election__campaign(struct raft *r, bool pre, bool transfer);
int raft_election__step(struct raft *r, const struct raft_msg *m);
void raft_election__reset_timeout(struct raft *r);
int raft_election__maybe_transfer(struct raft *r, uint32_t peer);

/* raft_replicate.c */
int raft_replicate__step_append(struct raft *r, const struct raft_msg *m);
int raft_replicate__accept_leader(struct raft *r, const struct raft_msg *m);
int raft_replicate__ack(struct raft *r, const struct raft_msg *m,
			uint64_t match);
void raft_replicate__advance_commit(struct raft *r, uint64_t leader_commit,
				    uint64_t match);
void raft_replicate__fill_leader(struct raft *r, struct raft_msg *m,
				 uint32_t to, uint64_t lease_ask);
int raft_replicate__step_append_resp(struct raft *r, const struct raft_msg *m);
int raft_replicate__flush(struct raft *r);
int raft_replicate__maybe_commit(struct raft *r);
uint64_t raft_replicate__promise(struct raft *r, uint64_t lease_end);

/* raft_snapshot.c */
int raft_snapshot__send(struct raft *r, uint32_t to, uint64_t lease_ask,
			bool heartbeat);
int raft_snapshot__step(struct raft *r, const struct raft_msg *m);
int raft_snapshot__step_resp(struct raft *r, const struct raft_msg *m);
void raft_snapshot__drop_rx(struct raft *r);

/* raft_conf.c */
int raft_conf__apply(const struct raft_membership *cur, uint32_t op,
		     uint32_t slot, struct raft_membership *after);
bool raft_conf__valid(const struct raft_membership *m);
void raft_conf__appended(struct raft *r, const struct raft_entry *e);
void raft_conf__reload(struct raft *r);
int raft_conf__maybe_step_down(struct raft *r);

/* raft_read.c */
void raft_read__on_ack(struct raft *r, uint32_t peer, uint64_t lease_end,
		       uint64_t read_ctx);
int raft_read__complete(struct raft *r);
int raft_read__fail_all(struct raft *r);
uint64_t raft_read__lease_ask(struct raft *r);
bool raft_read__lease_valid(const struct raft *r, const struct gnomon_tt *now);
uint64_t raft_read__lease_end(const struct raft *r);

#endif /* GNOMOND_RAFT_INTERNAL_H */
