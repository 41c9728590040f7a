/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Raft core of gnomond: protocol logic only, no I/O, no clock reads, no
 * randomness of its own.  A driver (the io_uring loop, or the deterministic
 * simulator) owns every file, socket and timer and feeds the core:
 *
 *	raft__tick()		every heartbeat interval, with a TT.now() reading
 *	raft__step()		every peer message that passed authentication
 *	raft__persisted()	when a persist batch it was handed is durable
 *	raft__propose()		a client write (leader only)
 *	raft__read()		a linearizable read request (leader only)
 *	raft__transfer()	an operator's leadership transfer
 *	raft__snapshot_taken()	the state machine was snapshotted to a file
 *
 * and after any of those calls raft__ready() to collect the work, in order:
 *
 *   1. persist:  rd.hs (if rd.has_hard_state), rd.snapshot (if set) and
 *                rd.entries, as one batch numbered rd.persist_seq; entries
 *                replace any persisted entries from rd.entries[0].index on.
 *                Batches may be in flight together but must complete in
 *                order: call raft__persisted(seq) when a batch is synced.
 *   2. send:     rd.msgs, now; the core itself holds back every message that
 *                needs a batch to be durable first (votes, acks, promises).
 *   3. restore:  if rd.snapshot is set, restore the state machine from it.
 *   4. apply:    rd.committed, in order (committed, not necessarily durable
 *                locally: a quorum has them).
 *   5. answer:   rd.reads: read index results; serve a read once the state
 *                machine has applied read.index.
 *
 * Everything rd points to belongs to the core and stays valid until the next
 * call into the core; the driver copies or encodes what it keeps.
 *
 * Group commit.  Call raft__ready() once per event-loop turn, after feeding
 * every input of the turn: all proposals since the last call then share one
 * persist batch and one append message per follower.  A driver that keeps
 * one WAL write + sync in flight may merge the batches handed out meanwhile
 * into its next write, and then report only the highest seq (raft__persisted
 * covers every batch up to it).  The leader's own sync runs in parallel with
 * its followers'; it counts towards the quorum once durable.
 * wal_writer__persist() (tools/gnomond/wal/wal_posix.h) shows what durable
 * means: changed term/vote/promise synced first, then the entries; the
 * commit index in rd.hs is advisory and need not be written on its own
 * (it never exceeds the entries durable before the batch).
 *
 * Time.  All time comes in as struct gnomon_tt (TT.now(): true time lies in
 * [earliest_ns, latest_ns]).  Elections and heartbeats count ticks; leader
 * leases use TT (Documentation/lease-safety.rst):
 *   - the leader asks for a promise until E = latest + lease_ns with every
 *     heartbeat; a follower with a SYNCHRONIZED clock grants it in its ack
 *     and then neither votes nor grants a pre-vote until earliest > E;
 *   - the lease ends at the largest E that a quorum (leader included) has
 *     promised durably; lease reads are served while latest < lease end,
 *     the leader's clock is SYNCHRONIZED and it committed in its term;
 *   - otherwise reads take a quorum round (ReadIndex).
 * The fencing token is the leader's term: it grows with every leadership.
 *
 * Lost entries.  A member whose WAL recovery found its last record cut
 * (wal_recover.h) may have acknowledged entries it no longer has; boot.hs
 * then carries lost_upto, the last index that record held.  Such a member
 * must not help elect a leader lacking those entries, so until a leader
 * has confirmed its log up to lost_upto (an append whose previous entry
 * matched, or a snapshot, reaching lost_upto) and that log is durable, it
 * neither campaigns nor grants a vote or pre-vote, and it rejects appends
 * that it cannot match with RAFT_MSGF_LOST, which makes the leader forget
 * the match it held for it.  lost_upto stays in the hard state until then,
 * so that a second crash keeps the rule.  The leader's heartbeat naming a
 * match beyond both the log and lost_upto still means a wiped or restored
 * data directory (-EUCLEAN).
 *
 * Membership.  Members hold slots 1..RAFT_MAX_MEMBERS; a slot is a voter,
 * a learner (gets the log and snapshots, never campaigns, never counts for a
 * commit or lease quorum) or absent.  A new cluster starts with voters
 * 1..n_members at index 0.  A member joining an existing cluster boots with
 * n_members = 0 and an empty log: it knows no voter, so it never campaigns,
 * until its leader's appends or snapshot bring it the config.
 *
 * The config changes one slot at a time (single-server changes, Ongaro's
 * thesis §4.1) through RAFT_ENTRY_CONF entries, and a change takes effect
 * as soon as it is in the log (appended, not yet committed): every member
 * uses the latest config in its log, and truncating an uncommitted conf
 * entry rolls the config back.  Each conf entry carries the whole config
 * it yields (raft_conf_change.after), so a config is known from its last
 * conf entry alone; the snapshot carries the config as of its index
 * (raft_snapshot.membership).  The leader accepts a change only when the
 * previous one is committed and it has committed an entry of its own term
 * (else -EBUSY): two configs that differ by one voter have intersecting
 * majorities, and the commit rule keeps a stray uncommitted change of an
 * older term from pairing with a new one (the known single-server bug).
 * Joint consensus is not needed for one slot at a time, and etcd's
 * clients (MemberAdd/Remove/Promote) only ever change one member.  Leases
 * carry over: a lease quorum of the leader's config and a vote quorum of
 * any config a next leader can hold (the same, or one change away) always
 * intersect (Documentation/lease-safety.rst, "Membership changes").  A
 * leader that removed itself keeps leading, without counting itself, until
 * the removal commits, sends that commit once more, and steps down.  A
 * member that is not a voter in its config never campaigns, unless its own
 * removal is not yet committed (it may hold the only copy of it): then it
 * campaigns without counting itself.  Any member answers a vote request,
 * a learner too (it may have been promoted in the candidate's log without
 * knowing it yet); a vote counts only for a candidate whose config makes
 * the member a voter, so a learner's never counts as a learner's.
 *
 * Functions return 0 or a negative errno:
 *	-ENOTCONN  not the leader (raft__leader() may name one)
 *	-EBUSY     a leadership transfer is in progress
 *	-EINVAL    bad argument, or a malformed message
 *	-EIO       a message that breaks the protocol (a second leader in our
 *	           term, or a change to a committed entry): log it loudly
 *	-ENOMEM    out of memory
 *
 * A snapshot travels in chunks of max_snapshot_chunk bytes, one in flight
 * per follower; the follower assembles it in memory and installs it whole.
 */
#ifndef GNOMOND_RAFT_H
#define GNOMOND_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/gnomon.h>

#define RAFT_MAX_MEMBERS	9

enum raft_role {
	RAFT_FOLLOWER		= 0,
	RAFT_PRE_CANDIDATE	= 1,
	RAFT_CANDIDATE		= 2,
	RAFT_LEADER		= 3,
};

enum raft_msg_type {
	RAFT_MSG_PRE_VOTE	= 1,	/* index/log_term: candidate's last */
	RAFT_MSG_PRE_VOTE_RESP	= 2,	/* flags: RAFT_MSGF_REJECT */
	RAFT_MSG_VOTE		= 3,	/* flags: RAFT_MSGF_TRANSFER */
	RAFT_MSG_VOTE_RESP	= 4,
	RAFT_MSG_APPEND		= 5,	/* index/log_term: previous entry */
	RAFT_MSG_APPEND_RESP	= 6,	/* index: match, or hint on reject */
	RAFT_MSG_SNAPSHOT	= 7,	/* index/log_term: snapshot's last */
	RAFT_MSG_TIMEOUT_NOW	= 8,	/* leadership transfer: campaign now */
	RAFT_MSG_SNAPSHOT_RESP	= 9,	/* a snapshot chunk arrived */
	RAFT_MSG_TYPE_MAX	= 9,
};

#define RAFT_MSGF_REJECT	(1U << 0)
#define RAFT_MSGF_TRANSFER	(1U << 1)
#define RAFT_MSGF_MATCH		(1U << 2)	/* APPEND: index is your ack */
#define RAFT_MSGF_LOST		(1U << 3)	/* APPEND_RESP: forget my match */
#define RAFT_MSGF_ALL		(RAFT_MSGF_REJECT | RAFT_MSGF_TRANSFER | \
				 RAFT_MSGF_MATCH | RAFT_MSGF_LOST)

enum raft_entry_type {
	RAFT_ENTRY_NORMAL	= 0,	/* a client command for the state machine */
	RAFT_ENTRY_NOOP		= 1,	/* a new leader's first entry */
	RAFT_ENTRY_CONF		= 2,	/* a membership change (raft_conf_change) */
	RAFT_ENTRY_TYPE_MAX	= 2,
};

enum raft_conf_op {
	RAFT_CONF_ADD_LEARNER	= 1,	/* new slot, non-voting, gets the log */
	RAFT_CONF_ADD_VOTER	= 2,	/* new slot, voting at once */
	RAFT_CONF_PROMOTE	= 3,	/* learner -> voter */
	RAFT_CONF_REMOVE	= 4,	/* voter or learner leaves */
	RAFT_CONF_UPDATE	= 5,	/* same config, new ctx (MemberUpdate:
					 * etcd's ConfChangeUpdateNode) */
};

struct raft_membership {
	uint32_t voters;	/* bit s set: slot s (1..RAFT_MAX_MEMBERS) votes */
	uint32_t learners;	/* bit s set: slot s is a learner */
};

/*
 * A conf entry's data, as raft_conf__encode() lays it out: op, slot, the
 * config the change yields (voters, learners; little-endian u32 each), then
 * ctx_len bytes opaque to the core (the daemon puts its member record
 * there).
 */
struct raft_conf_change {
	uint32_t op;			/* enum raft_conf_op */
	uint32_t slot;
	const uint8_t *ctx;
	uint32_t ctx_len;
	struct raft_membership after;	/* the config once applied */
};

#define RAFT_CONF_HEADER	16	/* encoded size without ctx */

struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint32_t type;		/* enum raft_entry_type */
	uint32_t len;
	const uint8_t *data;
};

/*
 * One peer message.  Field use by type:
 *   PRE_VOTE, VOTE        index, log_term = candidate's last entry
 *   *_RESP                flags & RAFT_MSGF_REJECT
 *   APPEND                index, log_term = entry before entries[0];
 *                         commit; lease_end (0: no promise asked); read_ctx;
 *                         RAFT_MSGF_MATCH on a heartbeat: index is the
 *                         match the receiver acknowledged in this term
 *   APPEND_RESP           index = match (or, rejected, the follower's last
 *                         index as a hint); lease_end promised (0: none);
 *                         read_ctx echoed; RAFT_MSGF_LOST on a reject: the
 *                         follower lost entries at a restart
 *   SNAPSHOT              index, log_term = last entry the snapshot covers;
 *                         snap_data/snap_len: the chunk at snap_offset of
 *                         the snap_total bytes; lease_end, read_ctx as APPEND
 *   SNAPSHOT_RESP         index = the snapshot's; snap_offset = the bytes
 *                         the follower holds (the next chunk it wants)
 */
struct raft_msg {
	uint32_t type;		/* enum raft_msg_type */
	uint32_t from;
	uint32_t to;
	uint32_t flags;		/* RAFT_MSGF_* */
	uint64_t term;
	uint64_t index;
	uint64_t log_term;
	uint64_t commit;
	uint64_t lease_end;	/* CLOCK_REALTIME ns */
	uint64_t read_ctx;
	const struct raft_entry *entries;
	uint32_t n_entries;
	uint32_t __pad;
	const uint8_t *snap_data;
	uint64_t snap_len;
	uint64_t snap_offset;
	uint64_t snap_total;
	struct raft_membership membership;	/* SNAPSHOT: the config as of
						 * index; zero otherwise */
};

/* What must survive a crash, besides the log and the snapshot. */
struct raft_hard_state {
	uint64_t term;
	uint64_t vote;		/* member voted for in term, 0: none */
	uint64_t commit;
	uint64_t promise_term;	/* the term of the last lease promise */
	uint64_t promise_end;	/* no vote until TT.now().earliest > this */
	uint64_t lost_upto;	/* lost entries up to here: no vote until a
				 * leader confirms the log up to it (0: none) */
};

struct raft_snapshot {
	uint64_t index;		/* last entry it covers */
	uint64_t term;		/* that entry's term */
	const uint8_t *data;
	uint64_t len;
	/* The config as of index: filled by the core in rd.snapshot, expected
	 * back in boot.snapshot.  Both masks zero in a boot snapshot (an old
	 * file that did not record it): voters 1..n_members. */
	struct raft_membership membership;
};

enum raft_read_mode {
	RAFT_READ_INDEX	= 0,	/* confirmed by a quorum round */
	RAFT_READ_LEASE	= 1,	/* served under the leader lease */
};

struct raft_read {
	uint64_t id;		/* the driver's request id */
	uint64_t index;		/* serve once applied >= index */
	uint32_t mode;		/* enum raft_read_mode */
	int32_t status;		/* 0, or -ENOTCONN: leadership lost */
};

struct raft_ready {
	uint64_t persist_seq;	/* 0: nothing to persist */
	bool has_hard_state;
	struct raft_hard_state hs;
	const struct raft_snapshot *snapshot;
	const struct raft_entry *entries;
	size_t n_entries;
	const struct raft_msg *msgs;
	size_t n_msgs;
	const struct raft_entry *committed;
	size_t n_committed;
	const struct raft_read *reads;
	size_t n_reads;
};

/*
 * Deliberate protocol bugs, for the simulator's self-test only: the checker
 * must catch each of them.  Never set outside tests.
 */
#define RAFT_FAULT_VOTE_TWICE		(1U << 0) /* ignore the vote already cast */
#define RAFT_FAULT_IGNORE_PROMISE	(1U << 1) /* vote despite a lease promise */
#define RAFT_FAULT_STALE_LOG_VOTE	(1U << 2) /* skip the up-to-date check */
#define RAFT_FAULT_LOST_VOTE		(1U << 3) /* vote despite lost entries */
#define RAFT_FAULT_CONF_TWICE		(1U << 4) /* a second pending change */
#define RAFT_FAULT_LEARNER_QUORUM	(1U << 5) /* learners' acks count for
						   * commit and lease quorums */

struct raft_config {
	uint32_t self;			/* this member's slot, 1..RAFT_MAX_MEMBERS */
	uint32_t n_members;		/* a new cluster's voters 1..n at index 0;
					 * 0 to join an existing cluster */
	uint32_t election_ticks;	/* >= 2 * heartbeat_ticks; default 10 */
	uint32_t heartbeat_ticks;	/* default 1 */
	uint64_t lease_ns;		/* lease length; 0 disables leases */
	uint32_t max_inflight;		/* append messages in flight per peer */
	uint32_t max_batch_entries;	/* entries per append message */
	uint64_t max_batch_bytes;	/* payload bytes per append message */
	uint32_t trailing_entries;	/* entries kept after a snapshot */
	uint64_t max_snapshot_chunk;	/* bytes per snapshot message */
	uint32_t fault_flags;		/* RAFT_FAULT_*, tests only */
	uint64_t seed;			/* election jitter; differ per member */
};

/* The durable state found at start-up (all zero for a new member). */
struct raft_boot {
	struct raft_hard_state hs;
	struct raft_snapshot snapshot;	/* index 0: none; data owned by driver */
	const struct raft_entry *entries;	/* snapshot.index+1 onward */
	size_t n_entries;
};

struct raft;

void raft_config__defaults(struct raft_config *cfg, uint32_t self,
			   uint32_t n_members);
int raft__new(struct raft **r, const struct raft_config *cfg,
	      const struct raft_boot *boot);
void raft__free(struct raft *r);

int raft__tick(struct raft *r, const struct gnomon_tt *now);
/*
 * -EINVAL: a malformed or misaddressed message, ignored.  -EIO: the sender
 * broke the protocol (asked to drop a committed entry, acked what was never
 * sent).  -EUCLEAN: the leader holds acknowledgements this member's log no
 * longer has, beyond what recovery knew it lost (hs.lost_upto): its durable
 * state was lost or replaced, and the driver must stop.
 */
int raft__step(struct raft *r, const struct raft_msg *m,
	       const struct gnomon_tt *now);
int raft__persisted(struct raft *r, uint64_t seq, const struct gnomon_tt *now);
/* Append a client command (copied); *index is where it will commit, if
 * the entry at *index still has this term when it is applied. */
int raft__propose(struct raft *r, const void *data, uint32_t len,
		  uint64_t *index);
/* Ask for a read index; the answer comes in a later rd.reads (or at once,
 * under the lease) with the same id. */
int raft__read(struct raft *r, uint64_t id, const struct gnomon_tt *now);
int raft__transfer(struct raft *r, uint32_t target);
/*
 * Propose a membership change (leader only): a RAFT_ENTRY_CONF entry with
 * ctx (copied) as its opaque part; *index as raft__propose.  -ENOTCONN not
 * leader; -EBUSY the previous change is not committed, the leader has not
 * committed an entry of its term yet, or a transfer is in progress;
 * -EINVAL a slot out of range, adding a present slot, promoting a
 * non-learner, removing or updating an absent slot, or leaving no voter.
 */
int raft__propose_conf(struct raft *r, uint32_t op, uint32_t slot,
		       const void *ctx, uint32_t ctx_len, uint64_t *index);
/* Conf entry data: RAFT_CONF_HEADER + cc->ctx_len bytes into buf. */
void raft_conf__encode(const struct raft_conf_change *cc, uint8_t *buf);
/* cc->ctx points into e->data.  -EINVAL if e is not a well-formed conf
 * entry. */
int raft_conf__decode(const struct raft_entry *e, struct raft_conf_change *cc);
/*
 * The state machine at applied index `index` is durable in a snapshot file.
 * The core compacts its log up to index - trailing_entries and sends `data`
 * to followers that fell behind, so data must stay valid until the next
 * raft__snapshot_taken() or raft__free().  -EBUSY while a snapshot from the
 * leader is being installed, -EINVAL if index is not newer and applied.
 */
int raft__snapshot_taken(struct raft *r, uint64_t index, const void *data,
			 uint64_t len);
int raft__ready(struct raft *r, struct raft_ready *rd);

/* Observers. */
enum raft_role raft__role(const struct raft *r);
uint64_t raft__term(const struct raft *r);
uint32_t raft__leader(const struct raft *r);	/* 0: unknown */
uint64_t raft__commit(const struct raft *r);
uint64_t raft__last_index(const struct raft *r);
uint64_t raft__first_index(const struct raft *r);
/* Entry at index (NULL if compacted or beyond the end). */
const struct raft_entry *raft__entry(const struct raft *r, uint64_t index);
uint64_t raft__term_at(const struct raft *r, uint64_t index);
/* The fencing token: the term while leader, 0 otherwise. */
uint64_t raft__fencing_token(const struct raft *r);
/* Which mode a read issued now would use (RAFT_READ_INDEX if not leader). */
enum raft_read_mode raft__read_mode(const struct raft *r,
				    const struct gnomon_tt *now);
/* hs.lost_upto: nonzero while the member may not vote (see above). */
uint64_t raft__lost_upto(const struct raft *r);
/* The config in effect: the latest in the log (committed or not). */
void raft__membership(const struct raft *r, struct raft_membership *m);
/* The config as of an index from the snapshot's to the last (for a
 * snapshot taken at that index); -EINVAL outside that range. */
int raft__membership_at(const struct raft *r, uint64_t index,
			struct raft_membership *m);
/* CLOCK_REALTIME end of the leader's lease, 0 if it holds none. */
uint64_t raft__lease_end(const struct raft *r);
const char *raft_role__name(enum raft_role role);
const char *raft_msg_type__name(uint32_t type);

#endif /* GNOMOND_RAFT_H */
