// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot transfer to a follower whose next entry the leader compacted.
 *
 * Leader.  The follower's progress enters snapshot mode: the leader sends
 * the snapshot in chunks of max_snapshot_chunk bytes, one chunk in flight,
 * each answered by SNAPSHOT_RESP with the offset the follower wants next
 * (so a lost, duplicated or reordered chunk is simply asked for again).  A
 * chunk unanswered for an election timeout of heartbeats is resent.  If the
 * leader takes a newer snapshot meanwhile, the transfer restarts with it.
 * Every chunk carries the config as of the snapshot (raft_msg.membership).
 * The follower's final ack is an ordinary APPEND_RESP at the snapshot's
 * index, sent once the snapshot is durable; it ends snapshot mode.
 *
 * Follower.  Chunks are assembled in memory, keyed by (index, term, size,
 * leader's term); anything else restarts the assembly at offset 0.  The
 * complete snapshot replaces the log (its config becomes the one in
 * effect), becomes the commit index, and is handed to the driver to
 * persist and restore (rd.snapshot).  A snapshot the follower's log
 * already covers is only acknowledged.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_internal.h"

void raft_snapshot__drop_rx(struct raft *r)
{
	free(r->rx.buf);
	memset(&r->rx, 0, sizeof(r->rx));
}

int raft_snapshot__send(struct raft *r, uint32_t to, uint64_t lease_ask,
			bool heartbeat)
{
	struct raft_progress *p = &r->prs[to];
	struct raft_msg m = { .type = RAFT_MSG_SNAPSHOT };
	uint64_t left;

	assert(r->snap.index >= r->log.offset && r->snap.index);
	if (!p->snap_mode || p->snap_index != r->snap.index) {
		p->snap_mode = true;
		p->snap_index = r->snap.index;
		p->snap_offset = 0;
		p->snap_inflight = false;
		p->probe = true;
	}
	if (p->snap_inflight &&
	    (!heartbeat || ++p->snap_wait < r->cfg.election_ticks))
		return 0;
	if (p->snap_offset > r->snap.len)
		p->snap_offset = 0;
	left = r->snap.len - p->snap_offset;
	raft_replicate__fill_leader(r, &m, to, lease_ask);
	m.index = r->snap.index;
	m.log_term = r->snap.term;
	m.membership = r->snap.membership;
	m.snap_offset = p->snap_offset;
	m.snap_total = r->snap.len;
	m.snap_len = left < r->cfg.max_snapshot_chunk ?
		     left : r->cfg.max_snapshot_chunk;
	m.snap_data = m.snap_len ? r->snap.data + p->snap_offset : NULL;
	p->snap_inflight = true;
	p->snap_wait = 0;
	return raft_send(r, &m);
}

int raft_snapshot__step_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *p = &r->prs[m->from];

	if (m->term > r->hs.term) {
		raft_become_follower(r, m->term, 0);
		return 0;
	}
	if (r->role != RAFT_LEADER || m->term != r->hs.term ||
	    m->read_ctx < p->ctx_floor)
		return 0;
	raft_read__on_ack(r, m->from, 0, m->read_ctx);
	if (p->snap_mode && m->index == p->snap_index) {
		p->snap_offset = m->snap_offset;
		p->snap_inflight = false;
	}
	return raft_read__complete(r);
}

static int answer(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {
		.type = RAFT_MSG_SNAPSHOT_RESP,
		.to = m->from,
		.term = r->hs.term,
		.index = m->index,
		.snap_offset = r->rx.len,
		.read_ctx = m->read_ctx,
	};

	return raft_send(r, &resp);
}

/* The whole snapshot is here: it replaces the log. */
static int install(struct raft *r, const struct raft_msg *m)
{
	if (r->snap_owned)
		free((void *)r->snap.data);
	r->snap = (struct raft_snapshot){
		.index = r->rx.index, .term = r->rx.term,
		.data = r->rx.buf, .len = r->rx.total,
		.membership = m->membership,
	};
	r->snap_owned = true;
	r->rx.buf = NULL;
	raft_snapshot__drop_rx(r);
	raft_log__reset(&r->log, r->snap.index, r->snap.term);
	raft_conf__reload(r);
	r->hs.commit = r->snap.index;
	r->unstable = r->snap.index + 1;
	if (r->stable > r->snap.index)
		r->stable = r->snap.index;
	for (size_t i = 0; i < r->batches.len; i++)
		if (r->batches.v[i].limit > r->snap.index)
			r->batches.v[i].limit = r->snap.index;
	r->snap_to_persist = true;
	r->snap_to_restore = true;
	raft_mark_dirty(r);
	raft_lost__confirmed(r, r->snap.index);
	return raft_replicate__ack(r, m, r->snap.index);
}

static bool same_transfer(const struct raft *r, const struct raft_msg *m)
{
	return r->rx.index == m->index && r->rx.term == m->log_term &&
	       r->rx.total == m->snap_total && r->rx.leader_term == m->term &&
	       (r->rx.buf || !m->snap_total);
}

int raft_snapshot__step(struct raft *r, const struct raft_msg *m)
{
	int rc = raft_replicate__accept_leader(r, m);

	if (rc <= 0)
		return rc;
	if (m->index <= r->hs.commit)
		return raft_replicate__ack(r, m, r->hs.commit);
	if (raft_log__term(&r->log, m->index) == m->log_term) {
		raft_replicate__advance_commit(r, m->index, m->index);
		raft_lost__confirmed(r, m->index);
		return raft_replicate__ack(r, m, m->index);
	}
	if (!same_transfer(r, m)) {
		raft_snapshot__drop_rx(r);
		if (m->snap_offset)
			return answer(r, m);	/* start over, please */
		if (m->snap_total) {
			r->rx.buf = malloc(m->snap_total);
			if (!r->rx.buf)
				return -ENOMEM;
		}
		r->rx.index = m->index;
		r->rx.term = m->log_term;
		r->rx.total = m->snap_total;
		r->rx.leader_term = m->term;
	}
	if (m->snap_offset != r->rx.len)
		return answer(r, m);	/* not the chunk we need next */
	if (m->snap_len)
		memcpy(r->rx.buf + r->rx.len, m->snap_data, m->snap_len);
	r->rx.len += m->snap_len;
	if (r->rx.len < r->rx.total)
		return answer(r, m);
	return install(r, m);
}
