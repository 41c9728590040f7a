// SPDX-License-Identifier: GPL-2.0
/*
 * Elections: ticks, pre-vote, vote, check-quorum and leadership transfer.
 *
 * A follower whose election timer runs out first asks for pre-votes at
 * term + 1 without changing its own state; only with a quorum of pre-votes
 * does it raise its term and ask for real votes, so a member cut off from
 * the cluster cannot disrupt it on return.  A member ignores (pre-)vote
 * requests while it hears from a leader (check-quorum stickiness) and while
 * a lease promise it gave has not provably expired: TT.now().earliest must
 * have passed promise_end.  The one exception is a transfer: the leader
 * that sent TimeoutNow gave up its lease for the rest of its term, so a
 * candidate carrying RAFT_MSGF_TRANSFER may ignore promises of older terms.
 * A member that lost acknowledged entries at a restart (hs.lost_upto,
 * raft.h) neither campaigns nor grants (pre-)votes until a leader has given
 * them back.  Votes are sent only once the vote is durable
 * (raft_send_after_persist).
 * A leader that has not heard from a quorum for an election timeout steps
 * down (check-quorum).
 */
#include "raft_internal.h"

static uint64_t next_random(struct raft *r)
{
	/* xorshift64*: deterministic per seed, for the simulator. */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545f4914f6cdd1dULL;
}

void raft_election__reset_timeout(struct raft *r)
{
	uint32_t et = r->cfg.election_ticks;

	r->election_elapsed = 0;
	r->election_timeout = et + (uint32_t)(next_random(r) % et);
}

static uint32_t popcount(uint32_t v)
{
	return (uint32_t)__builtin_popcount(v);
}

static int broadcast_vote(struct raft *r, bool pre, bool transfer)
{
	uint64_t last = raft_log__last(&r->log);
	struct raft_msg m = {
		.type = pre ? RAFT_MSG_PRE_VOTE : RAFT_MSG_VOTE,
		.term = pre ? r->hs.term + 1 : r->hs.term,
		.index = last,
		.log_term = raft_log__term(&r->log, last),
		.flags = transfer ? RAFT_MSGF_TRANSFER : 0,
	};
	int rc = 0;

	raft_for_each_slot(i, raft_voters(r) & ~(1U << r->cfg.self)) {
		m.to = i;
		/* A real vote request carries our durable self-vote. */
		rc = pre ? raft_send(r, &m) : raft_send_after_persist(r, &m);
		if (rc)
			break;
	}
	return rc;
}

static bool promise_expired(const struct raft *r, uint64_t cand_term,
			    bool transfer)
{
	if (r->cfg.fault_flags & RAFT_FAULT_IGNORE_PROMISE)
		return true;
	if (!r->promise_mem)
		return true;
	if (transfer && r->hs.promise_term < cand_term)
		return true;
	return raft_clock_usable(&r->now) && r->now.earliest_ns > r->promise_mem;
}

static int tally(struct raft *r)
{
	uint32_t q = raft_quorum(r);

	r->votes_granted &= raft_voters(r);
	r->votes_rejected &= raft_voters(r);
	if (popcount(r->votes_granted) >= q) {
		if (r->role == RAFT_PRE_CANDIDATE)
			return raft_election__campaign(r, false,
						       r->campaign_transfer);
		return raft_become_leader(r);
	}
	if (popcount(r->votes_rejected) >= q)
		raft_become_follower(r, r->hs.term, 0);
	return 0;
}

/*
 * A learner, a member whose removal it knows committed, or one that knows
 * no config yet never campaigns.  One whose removal is still pending may:
 * it may hold the only copy of the removal (a leader that removed itself
 * and lost its leadership), and the others, less up to date, cannot be
 * elected without its vote.  It counts only its config's voters, not
 * itself, and steps down once the removal commits.
 */
static bool may_campaign(const struct raft *r)
{
	struct raft_membership before;

	if (raft_is_voter(r, r->cfg.self))
		return true;
	if (r->conf_index <= r->hs.commit ||
	    raft__membership_at(r, r->conf_index - 1, &before))
		return false;
	return before.voters & (1U << r->cfg.self);
}

int raft_election__campaign(struct raft *r, bool pre, bool transfer)
{
	/* Its timer keeps running: past an election timeout without a
	 * leader, it answers (pre-)vote requests like any follower. */
	if (!may_campaign(r))
		return 0;
	if (!promise_expired(r, r->hs.term + 1, transfer) ||
	    raft_lost__no_vote(r)) {
		raft_election__reset_timeout(r);
		return 0;
	}
	r->leader = 0;
	r->campaign_transfer = transfer;
	r->votes_granted = 1U << r->cfg.self;
	r->votes_rejected = 0;
	raft_election__reset_timeout(r);
	if (pre) {
		r->role = RAFT_PRE_CANDIDATE;
	} else {
		r->role = RAFT_CANDIDATE;
		r->hs.term++;
		r->hs.vote = r->cfg.self;
		r->hs_dirty = true;
	}
	if (popcount(r->votes_granted & raft_voters(r)) >= raft_quorum(r))
		return tally(r);
	return broadcast_vote(r, pre, transfer);
}

static int leader_tick(struct raft *r)
{
	uint32_t active = raft_is_voter(r, r->cfg.self);

	if (++r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		raft_for_each_slot(i, raft_peers(r)) {
			r->prs[i].heartbeat_due = true;
			r->prs[i].probe_sent = false;
		}
	}
	if (r->transfer_target &&
	    ++r->transfer_elapsed >= r->cfg.election_ticks)
		r->transfer_target = 0;
	if (++r->quorum_elapsed < r->cfg.election_ticks)
		return 0;
	r->quorum_elapsed = 0;
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++) {
		if (i != r->cfg.self && raft_is_voter(r, i) &&
		    r->prs[i].active)
			active++;
		r->prs[i].active = false;
	}
	if (active < raft_quorum(r))
		raft_become_follower(r, r->hs.term, 0);
	return 0;
}

int raft_election__tick(struct raft *r)
{
	if (r->role == RAFT_LEADER)
		return leader_tick(r);
	if (++r->election_elapsed < r->election_timeout)
		return 0;
	return raft_election__campaign(r, true, false);
}

/* The leader of the current term told us to campaign right away. */
static int step_timeout_now(struct raft *r, const struct raft_msg *m)
{
	if (m->term != r->hs.term || r->role != RAFT_FOLLOWER ||
	    r->leader != m->from)
		return 0;
	return raft_election__campaign(r, false, true);
}

static int step_vote_request(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PRE_VOTE;
	bool transfer = m->flags & RAFT_MSGF_TRANSFER;
	struct raft_msg resp = {
		.type = pre ? RAFT_MSG_PRE_VOTE_RESP : RAFT_MSG_VOTE_RESP,
		.to = m->from,
	};
	bool grant;

	/* Stickiness: a live leader (or an unexpired promise) wins. */
	if (m->term > r->hs.term && !transfer && r->leader &&
	    r->election_elapsed < r->cfg.election_ticks)
		return 0;
	if (m->term > r->hs.term && !promise_expired(r, m->term, transfer))
		return 0;
	if (m->term < r->hs.term) {
		resp.term = r->hs.term;
		resp.flags = RAFT_MSGF_REJECT;
		return raft_send(r, &resp);
	}
	if (!pre && m->term > r->hs.term)
		raft_become_follower(r, m->term, 0);
	/* The promise binds whatever our term: a stray higher-term message
	 * may have raised it without any vote being cast. */
	/* Whatever its own config says: only the candidate's config decides
	 * whether this vote counts.  A learner answers too, as it may have
	 * been promoted in the candidate's log without knowing it yet (with
	 * every other voter needed, refusing would stall the cluster). */
	grant = (raft_log__up_to_date(&r->log, m->index, m->log_term) ||
		 (r->cfg.fault_flags & RAFT_FAULT_STALE_LOG_VOTE)) &&
		promise_expired(r, m->term, transfer) && !raft_lost__no_vote(r);
	if (pre) {
		grant = grant && m->term > r->hs.term;
		resp.term = grant ? m->term : r->hs.term;
		resp.flags = grant ? 0 : RAFT_MSGF_REJECT;
		return raft_send(r, &resp);
	}
	grant = grant && (r->hs.vote == 0 || r->hs.vote == m->from ||
			  (r->cfg.fault_flags & RAFT_FAULT_VOTE_TWICE));
	resp.term = r->hs.term;
	if (grant) {
		if (r->hs.vote != m->from) {
			r->hs.vote = m->from;
			r->hs_dirty = true;
		}
		raft_election__reset_timeout(r);
	} else {
		resp.flags = RAFT_MSGF_REJECT;
	}
	return raft_send_after_persist(r, &resp);
}

static int step_vote_response(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PRE_VOTE_RESP;
	enum raft_role want = pre ? RAFT_PRE_CANDIDATE : RAFT_CANDIDATE;
	uint64_t want_term = pre ? r->hs.term + 1 : r->hs.term;

	if (m->term > want_term ||
	    (m->term > r->hs.term && (m->flags & RAFT_MSGF_REJECT))) {
		raft_become_follower(r, m->term, 0);
		return 0;
	}
	if (r->role != want || m->term != want_term)
		return 0;
	if (m->flags & RAFT_MSGF_REJECT)
		r->votes_rejected |= 1U << m->from;
	else
		r->votes_granted |= 1U << m->from;
	return tally(r);
}

int raft_election__step(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_PRE_VOTE:
	case RAFT_MSG_VOTE:
		return step_vote_request(r, m);
	case RAFT_MSG_PRE_VOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		return step_vote_response(r, m);
	case RAFT_MSG_TIMEOUT_NOW:
		if (m->term > r->hs.term)
			raft_become_follower(r, m->term, m->from);
		return step_timeout_now(r, m);
	default:
		return -EINVAL;
	}
}

/* Send TimeoutNow once the target has everything; from then on this term
 * serves no lease read (the target's voters may ignore our promises). */
int raft_election__maybe_transfer(struct raft *r, uint32_t peer)
{
	struct raft_msg m = {
		.type = RAFT_MSG_TIMEOUT_NOW,
		.to = peer,
		.term = r->hs.term,
	};

	if (r->role != RAFT_LEADER || r->transfer_target != peer ||
	    r->prs[peer].match != raft_log__last(&r->log))
		return 0;
	r->lease_off_in_term = true;
	return raft_send(r, &m);
}

int raft__transfer(struct raft *r, uint32_t target)
{
	raft_reclaim(r);
	if (r->role != RAFT_LEADER)
		return -ENOTCONN;
	if (target < 1 || target > RAFT_MAX_MEMBERS ||
	    !raft_is_voter(r, target))
		return -EINVAL;
	if (target == r->cfg.self)
		return 0;
	if (r->transfer_target)
		return -EBUSY;
	r->transfer_target = target;
	r->transfer_elapsed = 0;
	r->prs[target].heartbeat_due = true;
	return raft_election__maybe_transfer(r, target);
}
