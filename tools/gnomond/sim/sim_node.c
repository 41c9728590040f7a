// SPDX-License-Identifier: GPL-2.0
/*
 * One simulated member: the driver loop a real daemon runs around its Raft
 * core, with a simulated disk (sim_disk.c).
 *
 * raft__ready() output is handled as the driver contract says: the persist
 * batch goes to the disk, planned by the WAL's planner (its steps complete
 * one by one, in order, and once the last one has, raft__persisted() is
 * called), messages go to the network, a snapshot restores the state
 * machine, committed entries are applied, read results are checked.  The
 * state machine is a hash chain over the applied entries, so two members
 * agree on it iff they applied the same entries in the same order; a
 * snapshot is (index, hash).
 *
 * A crash loses the core and what the disk had not made durable, as the
 * plans' order says (sim_disk.c).  Sometimes it also loses the last record
 * written, synced or not, as a WAL whose last record was cut: the entries
 * go (the sim's log does not bring back older entries that record had
 * replaced, a stronger loss than the WAL's) and the hard state records
 * lost_upto, as WAL recovery does before it erases the cut tail.  A
 * restart rebuilds the core from the disk alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sim_internal.h"

void sim_node__free(struct sim_node *n)
{
	raft__free(n->r);
	n->r = NULL;
	sim_disk__free(n);
	free(n->reads);
	n->reads = NULL;
	n->n_reads = n->cap_reads = 0;
}

int sim_node__disk_events(struct sim *s, struct sim_node *n)
{
	struct gnomon_tt tt;
	uint64_t seq;
	int rc;

	while (n->n_batches && sim_disk__next(n) <= s->now) {
		rc = sim_disk__complete(s, n, &seq);
		if (rc)
			return rc;
		sim_tt(s, n, &tt);
		rc = raft__persisted(n->r, seq, &tt);
		if (rc) {
			sim_violation(s, "member %u: persisted(%llu): %d",
				      n->id, (unsigned long long)seq, rc);
			return 0;
		}
		sim_trace(s, 3, n->id, seq);
		rc = sim_node__ready(s, n);
		if (rc)
			return rc;
	}
	return 0;
}

static void restore(struct sim *s, struct sim_node *n, const uint8_t *snap,
		    uint64_t index)
{
	uint64_t si, hash;

	memcpy(&si, snap, 8);
	memcpy(&hash, snap + 8, 8);
	if (si != index)
		sim_violation(s, "member %u: snapshot says %llu, meta %llu",
			      n->id, (unsigned long long)si,
			      (unsigned long long)index);
	n->applied = index;
	n->sm_hash = hash;
	sim_check__applied(s, n, index, 0, hash);
	if (sim_lease__restore(s, n, index))
		sim_violation(s, "member %u: no memory for its leases", n->id);
}

static void ack_client(struct sim *s, struct sim_node *n,
		       const struct raft_entry *e)
{
	uint64_t v;

	if (e->type != RAFT_ENTRY_NORMAL || e->len != 8)
		return;
	memcpy(&v, e->data, 8);
	if (!v || v > s->n_props)
		return;
	struct sim_proposal *p = &s->props[v - 1];

	/* The proposer acks its client when it applies its own entry. */
	if (p->node != n->id || p->index != e->index || p->term != e->term)
		return;
	s->res->committed++;
	if (e->index > s->ck.acked_index)
		s->ck.acked_index = e->index;
	if (s->healed && s->heal_first_value && v >= s->heal_first_value)
		s->res->live = true;
}

static int apply(struct sim *s, struct sim_node *n, const struct raft_ready *rd)
{
	int rc;

	if (rd->snapshot) {
		restore(s, n, rd->snapshot->data, rd->snapshot->index);
		s->res->snapshots_installed++;
	}
	for (size_t i = 0; i < rd->n_committed; i++) {
		const struct raft_entry *e = &rd->committed[i];

		if (e->index != n->applied + 1) {
			sim_violation(s, "member %u: applies %llu after %llu",
				      n->id, (unsigned long long)e->index,
				      (unsigned long long)n->applied);
			return 0;
		}
		n->sm_hash = sim_hash(n->sm_hash, &e->term, 8);
		n->sm_hash = sim_hash(n->sm_hash, e->data, e->len);
		n->applied = e->index;
		sim_check__applied(s, n, e->index, e->term, n->sm_hash);
		ack_client(s, n, e);
		sim_membership__applied(s, e);
		rc = sim_lease__apply(s, n, e);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < rd->n_reads; i++)
		if (!sim_lease__read(s, n, &rd->reads[i]))
			sim_check__read(s, n, &rd->reads[i]);
	return sim_lease__serve(s, n);
}

int sim_node__ready(struct sim *s, struct sim_node *n)
{
	struct raft_ready rd;
	int rc = raft__ready(n->r, &rd);

	if (rc)
		return rc;
	if (rd.persist_seq) {
		rc = sim_disk__queue(s, n, &rd);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < rd.n_msgs; i++) {
		rc = sim_net_send(s, &rd.msgs[i]);
		if (rc)
			return rc;
	}
	return apply(s, n, &rd);
}

int sim_node__maybe_snapshot(struct sim *s, struct sim_node *n)
{
	uint64_t first = raft__first_index(n->r);
	struct raft_membership conf;
	int rc;

	if (!s->cfg.snapshots || n->applied < first + 12)
		return 0;
	if (raft__membership_at(n->r, n->applied, &conf))
		return 0;	/* before the snapshot it has */
	memcpy(n->snap_buf, &n->applied, 8);
	memcpy(n->snap_buf + 8, &n->sm_hash, 8);
	rc = raft__snapshot_taken(n->r, n->applied, n->snap_buf,
				  sizeof(n->snap_buf));
	if (rc == -EBUSY || rc == -EINVAL)
		return 0;	/* an install is on its way, or nothing new */
	if (rc)
		return rc;
	sim_disk__snapshot(s, n, n->applied, raft__term_at(n->r, n->applied),
			   n->snap_buf, &conf);
	return 0;
}

/* Members other than n that carry a loss (and may not vote). */
static uint32_t lost_members(const struct sim *s, const struct sim_node *n)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		const struct sim_node *o = &s->nodes[i];

		if (o != n && (o->up ? raft__lost_upto(o->r) :
			       o->disk.wal.hs.lost_upto))
			k++;
	}
	return k;
}

void sim_node__crash(struct sim *s, struct sim_node *n)
{
	size_t unseen = sim_disk__crash(s, n);
	uint64_t lost = 0;

	/* At most (n - 1) / 2 members carry a loss at a time. */
	if (s->cfg.cut_tails && sim_between(s, 0, 2) == 0 &&
	    lost_members(s, n) + sim_membership__missing(s) <
	    (s->n_initial - 1) / 2)
		lost = sim_disk__cut_last_record(s, n);
	if (lost) {
		s->res->tails_cut++;
		sim_trace(s, 9, n->id, lost);
	}
	raft__free(n->r);
	n->r = NULL;
	n->up = false;
	n->n_reads = 0;
	s->res->crashes++;
	sim_trace(s, 4, n->id, unseen);
}

/* Boot from the disk alone, as a restarted daemon would. */
int sim_node__start(struct sim *s, struct sim_node *n)
{
	struct sim_disk *d = &n->disk;
	struct raft_entry *ents = NULL;
	struct raft_config cfg;
	struct raft_boot boot;
	size_t n_ents = 0;
	int rc;

	sim_disk__open(s, n);
	boot = (struct raft_boot){ .hs = d->wal.hs };

	raft_config__defaults(&cfg, n->id, n->joined ? 0 : s->n_initial);
	cfg.lease_ns = s->cfg.lease_ns;
	cfg.seed = s->cfg.seed * 131 + n->id * 7 + s->res->crashes;
	cfg.trailing_entries = 4;
	cfg.max_batch_entries = 8;
	cfg.max_inflight = 4;
	cfg.max_snapshot_chunk = 5;	/* a 16-byte snapshot in 4 chunks */
	cfg.fault_flags = s->cfg.fault_flags;
	if (d->snap_index) {
		boot.snapshot.index = d->snap_index;
		boot.snapshot.term = d->snap_term;
		boot.snapshot.data = d->snap;
		boot.snapshot.len = sizeof(d->snap);
		boot.snapshot.membership = d->snap_conf;
	}
	if (d->log.len) {
		ents = calloc(d->log.len, sizeof(*ents));
		if (!ents)
			return -ENOMEM;
	}
	for (size_t i = 0; i < d->log.len; i++) {
		const struct sim_entry *e = &d->log.v[i];

		if (e->index <= d->snap_index)
			continue;
		ents[n_ents++] = (struct raft_entry){
			.term = e->term, .index = e->index, .type = e->type,
			.len = e->len, .data = e->data,
		};
	}
	boot.entries = ents;
	boot.n_entries = n_ents;
	rc = raft__new(&n->r, &cfg, &boot);
	free(ents);
	if (rc) {
		sim_violation(s, "member %u: cannot boot from its disk: %d",
			      n->id, rc);
		return 0;
	}
	n->up = true;
	n->applied = 0;
	n->sm_hash = 0;
	rc = sim_lease__restore(s, n, 0);
	if (rc)
		return rc;
	if (d->snap_index)
		restore(s, n, d->snap, d->snap_index);
	n->next_tick = s->now + sim_between(s, 0, n->tick_ns);
	return sim_node__ready(s, n);
}
