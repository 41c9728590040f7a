// SPDX-License-Identifier: GPL-2.0
/*
 * The Raft core's life cycle and bookkeeping: creation from the durable boot
 * state, role and term changes, the persistence pipeline (dirty state ->
 * numbered batch -> raft__persisted() -> held messages released), the
 * message dispatch of raft__step(), and raft__ready(), which is where the
 * leader's appends are built (so that one message carries every entry
 * proposed since the last call: batching) and where work is handed out.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_internal.h"

/* Compacted entries freed per raft__ready() (raft_log__reclaim). */
#define RAFT_RECLAIM_PER_READY 256

void raft_config__defaults(struct raft_config *cfg, uint32_t self,
			   uint32_t n_members)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->self = self;
	cfg->n_members = n_members;
	cfg->election_ticks = 10;
	cfg->heartbeat_ticks = 1;
	cfg->lease_ns = 0;
	cfg->max_inflight = 64;
	cfg->max_batch_entries = 1024;
	cfg->max_batch_bytes = 1U << 20;
	cfg->trailing_entries = 1024;
	cfg->max_snapshot_chunk = 1U << 20;
	cfg->seed = self;
}

static int check_config(const struct raft_config *cfg)
{
	if (cfg->n_members > RAFT_MAX_MEMBERS)
		return -EINVAL;
	if (cfg->self < 1 || cfg->self > RAFT_MAX_MEMBERS)
		return -EINVAL;
	if (!cfg->heartbeat_ticks ||
	    cfg->election_ticks < 2 * cfg->heartbeat_ticks)
		return -EINVAL;
	if (!cfg->max_inflight || !cfg->max_batch_entries ||
	    !cfg->max_batch_bytes || !cfg->max_snapshot_chunk)
		return -EINVAL;
	return 0;
}

/* Slots 1..n: a new cluster's config at index 0. */
static struct raft_membership initial_config(uint32_t n_members)
{
	return (struct raft_membership){
		.voters = ((1U << n_members) - 1) << 1,
	};
}

static bool entry_valid(const struct raft_entry *e)
{
	struct raft_conf_change cc;

	if (e->type > RAFT_ENTRY_TYPE_MAX || (e->len && !e->data))
		return false;
	return e->type != RAFT_ENTRY_CONF || !raft_conf__decode(e, &cc);
}

static int load_boot(struct raft *r, const struct raft_boot *boot)
{
	uint64_t snap = boot->snapshot.index;

	r->hs = boot->hs;
	raft_log__init(&r->log, snap, boot->snapshot.term);
	r->snap = boot->snapshot;
	if (!raft_conf__valid(&r->snap.membership))
		return -EINVAL;
	/* No snapshot, or one that did not record its config. */
	if (!snap || (!r->snap.membership.voters &&
		      !r->snap.membership.learners))
		r->snap.membership = initial_config(r->cfg.n_members);
	for (size_t i = 0; i < boot->n_entries; i++) {
		const struct raft_entry *e = &boot->entries[i];

		if (e->index != snap + 1 + i || e->term < r->log.offset_term ||
		    e->term > boot->hs.term || !entry_valid(e) ||
		    (i && e->term < boot->entries[i - 1].term))
			return -EINVAL;
		if (raft_log__append(&r->log, e->term, e->type, e->data,
				     e->len))
			return -ENOMEM;
	}
	if (r->hs.vote > RAFT_MAX_MEMBERS)
		return -EINVAL;
	raft_conf__reload(r);
	/* A commit index beyond the log cannot be durable: clamp it. */
	if (r->hs.commit > raft_log__last(&r->log))
		r->hs.commit = raft_log__last(&r->log);
	if (r->hs.commit < snap)
		r->hs.commit = snap;
	/* Lost entries the snapshot covers are not lost; with entries lost,
	 * the advisory commit index may name entries the log no longer has
	 * (a cut record had replaced them): relearn it from a leader. */
	if (r->hs.lost_upto <= snap)
		r->hs.lost_upto = 0;
	if (r->hs.lost_upto)
		r->hs.commit = snap;
	r->stable = raft_log__last(&r->log);
	r->unstable = r->stable + 1;
	r->applied = snap;
	r->durable_promise = r->hs.promise_end;
	/* After a restart only the durable (rounded up) promise is known. */
	r->promise_mem = r->hs.promise_end;
	return 0;
}

int raft__new(struct raft **rp, const struct raft_config *cfg,
	      const struct raft_boot *boot)
{
	static const struct raft_boot empty;
	struct raft *r;
	int rc;

	rc = check_config(cfg);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->rng = cfg->seed * 0x9e3779b97f4a7c15ULL + 1;
	rc = load_boot(r, boot ? boot : &empty);
	if (rc) {
		raft__free(r);
		return rc;
	}
	r->role = RAFT_FOLLOWER;
	raft_election__reset_timeout(r);
	*rp = r;
	return 0;
}

void raft__free(struct raft *r)
{
	if (!r)
		return;
	raft_log__free(&r->log);
	raft_snapshot__drop_rx(r);
	if (r->snap_owned)
		free((void *)r->snap.data);
	free(r->batches.v);
	free(r->msgs.v);
	free(r->held.v);
	free(r->reads.v);
	free(r->pending_reads.v);
	free(r);
}

bool raft_clock_usable(const struct gnomon_tt *now)
{
	return now->status == GNOMON_STATUS_SYNCHRONIZED ||
	       now->status == GNOMON_STATUS_FREE_RUNNING;
}

/* Forget the output of the last raft__ready(): the driver has taken it. */
void raft_reclaim(struct raft *r)
{
	if (!r->handed_out)
		return;
	r->msgs.len = 0;
	r->reads.len = 0;
	r->handed_out = false;
}

void raft_mark_dirty(struct raft *r)
{
	r->dirty = true;
}

/* The batch that must be durable before a message about the current state
 * may leave: the next one if anything is dirty, else the last issued. */
uint64_t raft_need_seq(const struct raft *r)
{
	return r->dirty || r->hs_dirty || r->unstable <= raft_log__last(&r->log)
	       ? r->issued_seq + 1 : r->issued_seq;
}

int raft_send(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg copy = *m;

	assert(m->to >= 1 && m->to <= RAFT_MAX_MEMBERS && m->to != r->cfg.self);
	copy.from = r->cfg.self;
	return raft_vec_push(&r->msgs, copy);
}

int raft_send_after_persist(struct raft *r, const struct raft_msg *m)
{
	struct raft_held h = { .msg = *m, .need_seq = raft_need_seq(r) };

	assert(!m->n_entries && !m->snap_len);
	h.msg.from = r->cfg.self;
	if (h.need_seq <= r->done_seq)
		return raft_send(r, &h.msg);
	return raft_vec_push(&r->held, h);
}

void raft_truncate(struct raft *r, uint64_t from)
{
	assert(from > r->hs.commit);
	raft_log__truncate(&r->log, from);
	if (r->unstable > from)
		r->unstable = from;
	if (r->stable >= from)
		r->stable = from - 1;
	for (size_t i = 0; i < r->batches.len; i++)
		if (r->batches.v[i].limit >= from)
			r->batches.v[i].limit = from - 1;
	if (r->conf_index >= from)
		raft_conf__reload(r);	/* an uncommitted change rolls back */
}

static void lost_maybe_clear(struct raft *r)
{
	if (!r->lost_clear_seq || r->done_seq < r->lost_clear_seq)
		return;
	r->hs.lost_upto = 0;
	r->hs_dirty = true;
	r->lost_clear_seq = 0;
}

/*
 * A leader confirmed that our log matches its own up to `upto`.  Once that
 * reaches hs.lost_upto and is durable, the entries we had lost are back
 * (every entry committed up to there is in the leader's log, hence in
 * ours) and we may vote again.  A later truncation only removes entries
 * that were not committed, so the confirmation stands.
 */
void raft_lost__confirmed(struct raft *r, uint64_t upto)
{
	if (!r->hs.lost_upto || upto < r->hs.lost_upto)
		return;
	if (!r->lost_clear_seq)
		r->lost_clear_seq = raft_need_seq(r);
	lost_maybe_clear(r);
}

void raft_become_follower(struct raft *r, uint64_t term, uint32_t leader)
{
	bool was_leader = r->role == RAFT_LEADER;

	if (term > r->hs.term) {
		r->hs.term = term;
		r->hs.vote = 0;
		r->hs_dirty = true;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->election_elapsed = 0;
	r->transfer_target = 0;
	raft_election__reset_timeout(r);
	if (was_leader)
		raft_read__fail_all(r);
}

int raft_become_leader(struct raft *r)
{
	uint64_t last = raft_log__last(&r->log);
	int rc;

	r->role = RAFT_LEADER;
	r->leader = r->cfg.self;
	r->committed_in_term = false;
	r->lease_off_in_term = false;
	r->lease_offered = 0;
	r->transfer_target = 0;
	r->leaving_slot = 0;
	r->heartbeat_elapsed = 0;
	r->quorum_elapsed = 0;
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++) {
		struct raft_progress *p = &r->prs[i];

		memset(p, 0, sizeof(*p));
		p->next = last + 1;
		p->probe = true;
		p->heartbeat_due = true;
		p->active = true;
	}
	rc = raft_log__append(&r->log, r->hs.term, RAFT_ENTRY_NOOP, NULL, 0);
	if (rc)
		return rc;
	return raft_replicate__maybe_commit(r);
}

/* The largest value that a quorum of voters has reached: vals[slot], self
 * included if it votes.  0 with no voter.  (RAFT_FAULT_LEARNER_QUORUM
 * lets learners' values count too.) */
uint64_t raft_quorum_value(const struct raft *r, const uint64_t *vals)
{
	uint32_t counted = raft_voters(r);
	uint64_t sorted[RAFT_MAX_MEMBERS];
	uint32_t n = 0;

	if (!counted)
		return 0;
	if (r->cfg.fault_flags & RAFT_FAULT_LEARNER_QUORUM)
		counted |= r->conf.learners;
	raft_for_each_slot(s, counted) {
		uint64_t v = vals[s];
		uint32_t j = n++;

		while (j > 0 && sorted[j - 1] < v) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = v;
	}
	return sorted[raft_quorum(r) - 1];
}

int raft__tick(struct raft *r, const struct gnomon_tt *now)
{
	raft_reclaim(r);
	r->now = *now;
	return raft_election__tick(r);
}

static bool msg_valid(const struct raft *r, const struct raft_msg *m)
{
	if (m->type < 1 || m->type > RAFT_MSG_TYPE_MAX)
		return false;
	if (m->from < 1 || m->from > RAFT_MAX_MEMBERS ||
	    m->from == r->cfg.self || m->to != r->cfg.self)
		return false;
	if (m->flags & ~RAFT_MSGF_ALL)
		return false;
	if (m->n_entries && (m->type != RAFT_MSG_APPEND || !m->entries))
		return false;
	if (m->type == RAFT_MSG_SNAPSHOT &&
	    (!m->index || !m->log_term || (m->snap_len && !m->snap_data) ||
	     m->snap_len > m->snap_total ||
	     m->snap_offset > m->snap_total - m->snap_len ||
	     !raft_conf__valid(&m->membership)))
		return false;
	/* Entries follow index, with terms that never go down. */
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		uint64_t prev = i ? m->entries[i - 1].term : m->log_term;

		if (e->index != m->index + 1 + i || e->term > m->term ||
		    e->term < prev || !e->term || !entry_valid(e))
			return false;
	}
	return true;
}

int raft__step(struct raft *r, const struct raft_msg *m,
	       const struct gnomon_tt *now)
{
	raft_reclaim(r);
	r->now = *now;
	if (!msg_valid(r, m))
		return -EINVAL;
	if (r->role == RAFT_LEADER && m->term == r->hs.term)
		r->prs[m->from].active = true;
	switch (m->type) {
	case RAFT_MSG_APPEND:
		return raft_replicate__step_append(r, m);
	case RAFT_MSG_SNAPSHOT:
		return raft_snapshot__step(r, m);
	case RAFT_MSG_SNAPSHOT_RESP:
		return raft_snapshot__step_resp(r, m);
	case RAFT_MSG_APPEND_RESP:
		return raft_replicate__step_append_resp(r, m);
	default:
		return raft_election__step(r, m);
	}
}

static int release_held(struct raft *r)
{
	size_t keep = 0;
	int rc = 0;

	for (size_t i = 0; i < r->held.len; i++) {
		struct raft_held *h = &r->held.v[i];

		if (h->need_seq <= r->done_seq) {
			if (!rc)
				rc = raft_send(r, &h->msg);
		} else {
			r->held.v[keep++] = *h;
		}
	}
	r->held.len = keep;
	return rc;
}

int raft__persisted(struct raft *r, uint64_t seq, const struct gnomon_tt *now)
{
	size_t done = 0;

	raft_reclaim(r);
	r->now = *now;
	if (seq > r->issued_seq || seq < r->done_seq)
		return -EINVAL;
	while (done < r->batches.len && r->batches.v[done].seq <= seq) {
		struct raft_batch *b = &r->batches.v[done++];

		if (b->limit > r->stable)
			r->stable = b->limit;
		if (b->promise_end > r->durable_promise)
			r->durable_promise = b->promise_end;
	}
	memmove(r->batches.v, r->batches.v + done,
		(r->batches.len - done) * sizeof(*r->batches.v));
	r->batches.len -= done;
	r->done_seq = seq;
	if (r->stable > raft_log__last(&r->log))
		r->stable = raft_log__last(&r->log);
	lost_maybe_clear(r);
	if (r->role == RAFT_LEADER) {
		int rc = raft_replicate__maybe_commit(r);

		if (rc)
			return rc;
	}
	return release_held(r);
}

/* May the leader take a proposal now?  -ENOTCONN, -EBUSY or 0. */
int raft_can_propose(struct raft *r)
{
	raft_reclaim(r);
	if (r->role != RAFT_LEADER)
		return -ENOTCONN;
	return r->transfer_target ? -EBUSY : 0;
}

int raft__propose(struct raft *r, const void *data, uint32_t len,
		  uint64_t *index)
{
	int rc = raft_can_propose(r);

	if (rc)
		return rc;
	if (len && !data)
		return -EINVAL;
	rc = raft_log__append(&r->log, r->hs.term, RAFT_ENTRY_NORMAL, data,
			      len);
	if (rc)
		return rc;
	if (index)
		*index = raft_log__last(&r->log);
	return raft_replicate__maybe_commit(r);
}

int raft__snapshot_taken(struct raft *r, uint64_t index, const void *data,
			 uint64_t len)
{
	uint64_t upto;

	raft_reclaim(r);
	if (r->snap_to_persist || r->snap_to_restore)
		return -EBUSY;
	if (index > r->applied || index <= r->snap.index ||
	    index <= r->log.offset || (len && !data))
		return -EINVAL;
	if (r->snap_owned)
		free((void *)r->snap.data);
	r->snap_owned = false;
	raft__membership_at(r, index, &r->snap.membership);
	r->snap.index = index;
	r->snap.term = raft_log__term(&r->log, index);
	r->snap.data = data;
	r->snap.len = len;
	assert(r->snap.term);
	/* Keep trailing entries for slow followers; never drop what the WAL
	 * has not been given yet. */
	upto = index > r->cfg.trailing_entries ?
	       index - r->cfg.trailing_entries : 0;
	if (upto > r->stable)
		upto = r->stable;
	raft_log__compact(&r->log, upto);
	return 0;
}

static int issue_batch(struct raft *r, struct raft_ready *rd)
{
	uint64_t last = raft_log__last(&r->log);
	struct raft_batch b;

	if (!r->dirty && !r->hs_dirty && r->unstable > last)
		return 0;
	b.seq = ++r->issued_seq;
	b.last = last;
	b.limit = last;
	b.promise_end = r->hs.promise_end;
	if (raft_vec_push(&r->batches, b)) {
		r->issued_seq--;
		return -ENOMEM;
	}
	rd->persist_seq = b.seq;
	rd->has_hard_state = true;
	rd->hs = r->hs;
	/* The hard state is synced before the batch's entries: its commit
	 * index may cover only entries already durable, or a crash between
	 * the two could leave entries this batch replaces under it. */
	if (rd->hs.commit > r->stable)
		rd->hs.commit = r->stable;
	if (r->snap_to_persist) {
		r->ready_snap = r->snap;
		rd->snapshot = &r->ready_snap;
		r->snap_to_persist = false;
	}
	if (r->unstable <= last) {
		rd->entries = raft_log__get(&r->log, r->unstable);
		rd->n_entries = last - r->unstable + 1;
	}
	r->unstable = last + 1;
	r->dirty = false;
	r->hs_dirty = false;
	return 0;
}

int raft__ready(struct raft *r, struct raft_ready *rd)
{
	int rc;

	memset(rd, 0, sizeof(*rd));
	raft_reclaim(r);
	raft_log__reclaim(&r->log, RAFT_RECLAIM_PER_READY);
	rc = raft_conf__maybe_step_down(r);
	if (rc)
		return rc;
	if (r->role == RAFT_LEADER) {
		rc = raft_replicate__flush(r);
		if (rc)
			return rc;
	}
	rc = issue_batch(r, rd);
	if (rc)
		return rc;
	if (r->snap_to_restore) {
		/* rd->snapshot is set by the batch that installs it. */
		assert(rd->snapshot);
		r->applied = r->snap.index;
		r->snap_to_restore = false;
	}
	if (r->hs.commit > r->applied) {
		rd->committed = raft_log__get(&r->log, r->applied + 1);
		rd->n_committed = r->hs.commit - r->applied;
		assert(rd->committed);
		r->applied = r->hs.commit;
	}
	rd->msgs = r->msgs.v;
	rd->n_msgs = r->msgs.len;
	rd->reads = r->reads.v;
	rd->n_reads = r->reads.len;
	r->handed_out = true;
	return 0;
}

enum raft_role raft__role(const struct raft *r)
{
	return r->role;
}

uint64_t raft__term(const struct raft *r)
{
	return r->hs.term;
}

uint32_t raft__leader(const struct raft *r)
{
	return r->leader;
}

uint64_t raft__commit(const struct raft *r)
{
	return r->hs.commit;
}

uint64_t raft__last_index(const struct raft *r)
{
	return raft_log__last(&r->log);
}

uint64_t raft__first_index(const struct raft *r)
{
	return r->log.offset + 1;
}

const struct raft_entry *raft__entry(const struct raft *r, uint64_t index)
{
	return raft_log__get(&r->log, index);
}

uint64_t raft__term_at(const struct raft *r, uint64_t index)
{
	return raft_log__term(&r->log, index);
}

uint64_t raft__lost_upto(const struct raft *r)
{
	return r->hs.lost_upto;
}

uint64_t raft__fencing_token(const struct raft *r)
{
	return r->role == RAFT_LEADER ? r->hs.term : 0;
}

const char *raft_role__name(enum raft_role role)
{
	static const char *const names[] = {
		[RAFT_FOLLOWER] = "follower",
		[RAFT_PRE_CANDIDATE] = "pre-candidate",
		[RAFT_CANDIDATE] = "candidate",
		[RAFT_LEADER] = "leader",
	};

	return (unsigned int)role <= RAFT_LEADER ? names[role] : "?";
}

const char *raft_msg_type__name(uint32_t type)
{
	static const char *const names[] = {
		[RAFT_MSG_PRE_VOTE] = "pre-vote",
		[RAFT_MSG_PRE_VOTE_RESP] = "pre-vote-resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote-resp",
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append-resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout-now",
		[RAFT_MSG_SNAPSHOT_RESP] = "snapshot-resp",
	};

	return type >= 1 && type <= RAFT_MSG_TYPE_MAX ? names[type] : "?";
}
