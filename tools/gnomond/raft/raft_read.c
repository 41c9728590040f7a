// SPDX-License-Identifier: GPL-2.0
/*
 * Linearizable reads on the leader: the leader lease, and ReadIndex.
 *
 * Lease.  Every append the leader sends asks its followers for a promise
 * until E = TT.now().latest + lease_ns (raft_read__lease_ask), and the
 * leader makes the same promise itself.  A follower acks the promise
 * (raft_replicate__promise) and will neither vote nor grant a pre-vote
 * until its TT.now().earliest > E.  The lease ends at the largest E that a
 * quorum has promised durably, the leader's own durable promise included
 * (raft_read__lease_end).  A lease read is served at the commit index,
 * without any message, while:
 *	- leases are configured and not given up in this term (transfer),
 *	- the leader committed an entry of its term (its commit index is then
 *	  at least every index acknowledged to a client by earlier leaders),
 *	- its clock is SYNCHRONIZED and TT.now().latest < lease end.
 * Documentation/lease-safety.rst argues why two leaders' lease periods are
 * disjoint in true time.  With the clock unsynchronized (or leases off),
 * raft__read() silently falls back to ReadIndex, and raft__read_mode() says
 * which mode is in force.
 *
 * ReadIndex.  Each read gets a context number (read_ctx); every append the
 * leader sends carries the current number and followers echo it.  Once a
 * quorum (the leader included) has echoed a number >= the read's, the
 * leader was still the leader after the read arrived, and the read is
 * served at the commit index, which it reports in rd.reads.  Reads still
 * pending when leadership is lost are reported with -ENOTCONN.
 */
#include "raft_internal.h"

uint64_t raft_read__lease_ask(struct raft *r)
{
	uint64_t e;

	if (!r->cfg.lease_ns || r->lease_off_in_term ||
	    r->now.status != GNOMON_STATUS_SYNCHRONIZED)
		return 0;
	e = r->now.latest_ns + r->cfg.lease_ns;
	raft_replicate__promise(r, e);
	if (e > r->lease_offered)
		r->lease_offered = e;
	return e;
}

uint64_t raft_read__lease_end(const struct raft *r)
{
	uint64_t vals[RAFT_MAX_MEMBERS + 1] = { 0 };

	if (r->role != RAFT_LEADER || !r->cfg.lease_ns || r->lease_off_in_term)
		return 0;
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++)
		vals[i] = r->prs[i].lease_acked;
	vals[r->cfg.self] = r->lease_offered < r->durable_promise ?
			    r->lease_offered : r->durable_promise;
	return raft_quorum_value(r, vals);
}

bool raft_read__lease_valid(const struct raft *r, const struct gnomon_tt *now)
{
	return r->role == RAFT_LEADER && r->committed_in_term &&
	       now->status == GNOMON_STATUS_SYNCHRONIZED &&
	       now->latest_ns < raft_read__lease_end(r);
}

void raft_read__on_ack(struct raft *r, uint32_t peer, uint64_t lease_end,
		       uint64_t read_ctx)
{
	struct raft_progress *p = &r->prs[peer];

	if (lease_end > p->lease_acked && lease_end <= r->lease_offered)
		p->lease_acked = lease_end;
	if (read_ctx > p->read_ctx_acked && read_ctx <= r->read_ctx)
		p->read_ctx_acked = read_ctx;
}

int raft_read__complete(struct raft *r)
{
	uint64_t vals[RAFT_MAX_MEMBERS + 1] = { 0 };
	size_t keep = 0;
	uint64_t q;
	int rc = 0;

	if (r->role != RAFT_LEADER || !r->committed_in_term ||
	    !r->pending_reads.len)
		return 0;
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++)
		vals[i] = r->prs[i].read_ctx_acked;
	vals[r->cfg.self] = r->read_ctx;
	q = raft_quorum_value(r, vals);
	for (size_t i = 0; i < r->pending_reads.len; i++) {
		struct raft_pending_read *p = &r->pending_reads.v[i];
		struct raft_read out = {
			.id = p->id, .index = r->hs.commit,
			.mode = RAFT_READ_INDEX,
		};

		if (p->ctx <= q && !rc)
			rc = raft_vec_push(&r->reads, out);
		else
			r->pending_reads.v[keep++] = *p;
	}
	r->pending_reads.len = keep;
	return rc;
}

int raft_read__fail_all(struct raft *r)
{
	int rc = 0;

	for (size_t i = 0; i < r->pending_reads.len && !rc; i++) {
		struct raft_read out = {
			.id = r->pending_reads.v[i].id,
			.status = -ENOTCONN,
		};

		rc = raft_vec_push(&r->reads, out);
	}
	r->pending_reads.len = 0;
	return rc;
}

int raft__read(struct raft *r, uint64_t id, const struct gnomon_tt *now)
{
	struct raft_pending_read p = { .id = id };
	int rc;

	raft_reclaim(r);
	r->now = *now;
	if (r->role != RAFT_LEADER)
		return -ENOTCONN;
	if (raft_read__lease_valid(r, now)) {
		struct raft_read out = {
			.id = id, .index = r->hs.commit, .mode = RAFT_READ_LEASE,
		};

		return raft_vec_push(&r->reads, out);
	}
	p.ctx = ++r->read_ctx;
	rc = raft_vec_push(&r->pending_reads, p);
	if (rc)
		return rc;
	r->read_broadcast = true;
	return raft_read__complete(r);
}

enum raft_read_mode raft__read_mode(const struct raft *r,
				    const struct gnomon_tt *now)
{
	return raft_read__lease_valid(r, now) ? RAFT_READ_LEASE :
						RAFT_READ_INDEX;
}

uint64_t raft__lease_end(const struct raft *r)
{
	return raft_read__lease_end(r);
}
