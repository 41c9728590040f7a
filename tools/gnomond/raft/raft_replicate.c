// SPDX-License-Identifier: GPL-2.0
/*
 * Log replication, both sides (snapshots: raft_snapshot.c).
 *
 * Leader.  Per follower a progress record: `match` (known replicated) and
 * `next` (next to send).  A follower in probe mode gets one append per
 * heartbeat until one succeeds; then it is in replicate mode and gets a
 * pipeline of appends, bounded by max_inflight batches beyond match, each
 * carrying up to max_batch_entries / max_batch_bytes.  Appends are built in
 * raft__ready() only (raft_replicate__flush), so every proposal made since
 * the last call rides in the same message and the same persist batch: that
 * is the group commit.  A follower whose needed entries were compacted gets
 * the snapshot instead (snapshot mode).  Heartbeats are empty appends at
 * `match`; a follower that makes no progress for two heartbeats while
 * entries are in flight (a lost message) falls back to probe mode.  The leader's own match
 * is its durable (`stable`) index, so its WAL write runs in parallel with
 * the followers'.  An entry commits once a quorum matches it and it is of
 * the current term.
 *
 * Follower.  Checks the entry before the batch, truncates a conflicting
 * suffix (never a committed one: that would be a protocol violation and is
 * refused with -EIO), appends, and acks once the batch is durable.  A
 * heartbeat names the match the leader holds for us (RAFT_MSGF_MATCH):
 * entries we acknowledged in this term, which no leader of this term can
 * have made us drop.  If our log ends before it, this member lost durable
 * state (a wiped or restored data directory) and step returns -EUCLEAN:
 * the driver must stop, as carrying on could lose committed writes.  The
 * exception is a loss that recovery knew about (hs.lost_upto covers the
 * match): then every reject carries RAFT_MSGF_LOST, the leader forgets the
 * match and probes afresh, and an append that matches up to lost_upto lets
 * the member vote again (raft_lost__confirmed()).  Every
 * ack also grants the lease promise the leader asked for (raft_read.c) and
 * echoes the read context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "raft_internal.h"

static int reject(struct raft *r, const struct raft_msg *m, uint64_t hint)
{
	struct raft_msg resp = {
		.type = RAFT_MSG_APPEND_RESP,
		.to = m->from,
		.term = r->hs.term,
		.flags = RAFT_MSGF_REJECT,
		.index = hint,
		.log_term = m->index,
		.read_ctx = m->read_ctx,
	};

	if (r->hs.lost_upto)
		resp.flags |= RAFT_MSGF_LOST;
	return raft_send(r, &resp);
}

int raft_replicate__ack(struct raft *r, const struct raft_msg *m,
			uint64_t match)
{
	struct raft_msg resp = {
		.type = RAFT_MSG_APPEND_RESP,
		.to = m->from,
		.term = r->hs.term,
		.index = match,
		.read_ctx = m->read_ctx,
	};

	resp.lease_end = raft_replicate__promise(r, m->lease_end);
	return raft_send_after_persist(r, &resp);
}

/* Common to append and snapshot: 1 if the message is from our leader. */
int raft_replicate__accept_leader(struct raft *r, const struct raft_msg *m)
{
	if (m->term < r->hs.term) {
		/* A deposed leader: tell it the news. */
		struct raft_msg resp = {
			.type = RAFT_MSG_APPEND_RESP,
			.to = m->from,
			.term = r->hs.term,
			.flags = RAFT_MSGF_REJECT,
		};

		return raft_send(r, &resp);
	}
	if (r->role == RAFT_LEADER && m->term == r->hs.term)
		return -EIO;	/* two leaders in one term */
	if (m->term > r->hs.term || r->role != RAFT_FOLLOWER ||
	    r->leader != m->from)
		raft_become_follower(r, m->term, m->from);
	r->election_elapsed = 0;
	return 1;
}

void raft_replicate__advance_commit(struct raft *r, uint64_t leader_commit,
				    uint64_t match)
{
	uint64_t c = leader_commit < match ? leader_commit : match;

	if (c > r->hs.commit)
		r->hs.commit = c;
}

int raft_replicate__step_append(struct raft *r, const struct raft_msg *m)
{
	uint64_t last = raft_log__last(&r->log);
	uint64_t match = m->index + m->n_entries;
	int rc = raft_replicate__accept_leader(r, m);

	if (rc <= 0)
		return rc;
	if (m->index > last && (m->flags & RAFT_MSGF_MATCH) &&
	    m->index > r->hs.lost_upto)
		return -EUCLEAN;	/* lost what it acknowledged */
	if (m->index > last)
		return reject(r, m, last);
	if (m->index >= r->log.offset &&
	    raft_log__term(&r->log, m->index) != m->log_term)
		return reject(r, m, m->index - 1);
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		uint64_t have;

		if (e->index <= r->log.offset)
			continue;
		have = raft_log__term(&r->log, e->index);
		if (have == e->term)
			continue;
		if (have) {
			if (e->index <= r->hs.commit)
				return -EIO;
			raft_truncate(r, e->index);
		}
		rc = raft_log__append(&r->log, e->term, e->type, e->data,
				      e->len);
		if (rc)
			return rc;
		raft_conf__appended(r, e);
	}
	raft_replicate__advance_commit(r, m->commit, match);
	raft_lost__confirmed(r, match);
	return raft_replicate__ack(r, m, match);
}

int raft_replicate__step_append_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *p = &r->prs[m->from];
	bool rejected = m->flags & RAFT_MSGF_REJECT;

	if (m->term > r->hs.term) {
		raft_become_follower(r, m->term, 0);
		return 0;
	}
	if (r->role != RAFT_LEADER || m->term != r->hs.term ||
	    m->read_ctx < p->ctx_floor)
		return 0;
	raft_read__on_ack(r, m->from, rejected ? 0 : m->lease_end,
			  m->read_ctx);
	if (rejected) {
		uint64_t next = m->log_term < m->index + 1 ?
				m->log_term : m->index + 1;

		/* It lost entries we count as replicated: start over. */
		if ((m->flags & RAFT_MSGF_LOST) && !p->snap_mode)
			p->match = 0;
		/* Stale, or overtaken by the snapshot being sent. */
		if (m->log_term < p->match || p->snap_mode)
			return raft_read__complete(r);
		p->next = next > p->match ? next : p->match + 1;
		p->probe = true;
		p->probe_sent = false;
		return raft_read__complete(r);
	}
	if (m->index > raft_log__last(&r->log))
		return -EIO;	/* acks what we never sent */
	if (m->index > p->match)
		p->match = m->index;
	if (p->next <= p->match)
		p->next = p->match + 1;
	if (p->snap_mode && p->match < r->log.offset)
		return raft_replicate__maybe_commit(r);	/* still behind */
	if (p->probe || p->snap_mode) {
		p->probe = false;
		p->probe_sent = false;
		p->snap_mode = false;
		p->snap_inflight = false;
		p->next = p->match + 1;
	}
	int rc = raft_replicate__maybe_commit(r);

	if (rc)
		return rc;
	return raft_election__maybe_transfer(r, m->from);
}

int raft_replicate__maybe_commit(struct raft *r)
{
	uint64_t vals[RAFT_MAX_MEMBERS + 1] = { 0 };
	uint64_t last = raft_log__last(&r->log);
	uint64_t n;

	assert(r->role == RAFT_LEADER);
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++)
		vals[i] = r->prs[i].match;
	vals[r->cfg.self] = r->stable < last ? r->stable : last;
	n = raft_quorum_value(r, vals);
	if (n > r->hs.commit && raft_log__term(&r->log, n) == r->hs.term) {
		r->hs.commit = n;
		r->committed_in_term = true;
	}
	return raft_read__complete(r);
}

void raft_replicate__fill_leader(struct raft *r, struct raft_msg *m,
				 uint32_t to, uint64_t lease_ask)
{
	m->to = to;
	m->term = r->hs.term;
	m->commit = r->hs.commit;
	m->lease_end = lease_ask;
	m->read_ctx = r->read_ctx;
}

static int send_entries(struct raft *r, uint32_t to, uint64_t from,
			uint64_t lease_ask, uint64_t *sent)
{
	uint64_t last = raft_log__last(&r->log);
	struct raft_msg m = { .type = RAFT_MSG_APPEND };
	uint64_t bytes = 0;
	uint32_t n = 0;

	raft_replicate__fill_leader(r, &m, to, lease_ask);
	m.index = from - 1;
	m.log_term = raft_log__term(&r->log, from - 1);
	m.entries = raft_log__get(&r->log, from);
	while (from + n <= last && n < r->cfg.max_batch_entries) {
		bytes += m.entries[n].len;
		if (n && bytes > r->cfg.max_batch_bytes)
			break;
		n++;
	}
	m.n_entries = n;
	if (!n)
		m.entries = NULL;
	*sent = n;
	return raft_send(r, &m);
}

static void check_stall(struct raft_progress *p)
{
	if (p->probe)
		return;
	if (p->match == p->last_hb_match && p->next - 1 > p->match)
		p->stall++;
	else
		p->stall = 0;
	p->last_hb_match = p->match;
	if (p->stall >= 2) {
		p->probe = true;
		p->probe_sent = false;
		p->next = p->match + 1;
		p->stall = 0;
	}
}

static int flush_peer(struct raft *r, uint32_t to, uint64_t lease_ask)
{
	struct raft_progress *p = &r->prs[to];
	uint64_t last = raft_log__last(&r->log);
	uint64_t window = (uint64_t)r->cfg.max_inflight *
			  r->cfg.max_batch_entries;
	bool hb = p->heartbeat_due || r->read_broadcast;
	uint64_t sent;
	int rc;

	p->heartbeat_due = false;
	if (p->snap_mode || p->next <= r->log.offset ||
	    (hb && !p->probe && p->match < r->log.offset))
		return raft_snapshot__send(r, to, lease_ask, hb);
	if (p->probe) {
		if (p->probe_sent && !hb)
			return 0;
		p->probe_sent = true;
		return send_entries(r, to, p->next, lease_ask, &sent);
	}
	if (hb)
		check_stall(p);
	if (p->probe)
		return flush_peer(r, to, lease_ask);
	while (p->next <= last && p->next - 1 - p->match < window) {
		rc = send_entries(r, to, p->next, lease_ask, &sent);
		if (rc)
			return rc;
		p->next += sent;
		hb = false;
	}
	if (hb) {
		/* Heartbeat: an empty append at the known match. */
		struct raft_msg m = { .type = RAFT_MSG_APPEND };

		raft_replicate__fill_leader(r, &m, to, lease_ask);
		m.flags = RAFT_MSGF_MATCH;
		m.index = p->match;
		m.log_term = raft_log__term(&r->log, p->match);
		return raft_send(r, &m);
	}
	return 0;
}

int raft_replicate__flush(struct raft *r)
{
	uint64_t lease_ask = raft_read__lease_ask(r);
	int rc = 0;

	raft_for_each_slot(i, raft_peers(r)) {
		rc = flush_peer(r, i, lease_ask);
		if (rc)
			break;
	}
	r->read_broadcast = false;
	return rc;
}

/*
 * Grant the leader's lease request in an ack: only with a synchronized
 * clock (so that we can later tell when the promise has expired) and only
 * if leases are configured.  The durable promise is rounded up by one lease
 * length, so that a steady stream of heartbeats costs a hard-state write
 * once per lease, not once per heartbeat.
 */
uint64_t raft_replicate__promise(struct raft *r, uint64_t lease_end)
{
	if (!lease_end || !r->cfg.lease_ns ||
	    r->now.status != GNOMON_STATUS_SYNCHRONIZED)
		return 0;
	if (lease_end > r->promise_mem)
		r->promise_mem = lease_end;
	if (r->hs.promise_term != r->hs.term) {
		r->hs.promise_term = r->hs.term;
		r->hs_dirty = true;
	}
	if (lease_end > r->hs.promise_end) {
		r->hs.promise_end = lease_end + r->cfg.lease_ns;
		r->hs_dirty = true;
	}
	return lease_end;
}
