// SPDX-License-Identifier: GPL-2.0
/*
 * One simulated member: the driver loop a real daemon runs around its Raft
 * core, with a simulated disk.
 *
 * raft__ready() output is handled as the driver contract says: the persist
 * batch goes to the disk queue (it completes after a random latency, in
 * order, and only then is raft__persisted() called), messages go to the
 * network, a snapshot restores the state machine, committed entries are
 * applied, read results are checked.  The state machine is a hash chain
 * over the applied entries, so two members agree on it iff they applied the
 * same entries in the same order; a snapshot is (index, hash).
 *
 * A crash loses the core and the batches not yet synced, except a random
 * prefix of them (a write may reach the disk without its completion being
 * seen), and maybe the hard state of the next one without its entries.
 * Sometimes it also loses the last record written, synced or not,
 * as a WAL whose last record was cut: the entries go (the sim's log does
 * not bring back older entries that record had replaced, a stronger loss
 * than the WAL's) and the hard state records lost_upto, as WAL recovery
 * does before it erases the cut tail.  A restart rebuilds the core from
 * the disk alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sim_internal.h"

static int log_push(struct sim_log *log, const struct sim_entry *e)
{
	struct sim_entry c = *e;

	if (sim_grow((void **)&log->v, &log->cap, log->len + 1, sizeof(c)))
		return -ENOMEM;
	c.data = NULL;
	if (e->len) {
		c.data = malloc(e->len);
		if (!c.data)
			return -ENOMEM;
		memcpy(c.data, e->data, e->len);
	}
	log->v[log->len++] = c;
	return 0;
}

static void log_truncate(struct sim_log *log, size_t keep)
{
	for (size_t i = keep; i < log->len; i++)
		free(log->v[i].data);
	if (keep < log->len)
		log->len = keep;
}

static void batch_free(struct sim_batch *b)
{
	log_truncate(&b->entries, 0);
	free(b->entries.v);
}

void sim_node__free(struct sim_node *n)
{
	raft__free(n->r);
	n->r = NULL;
	for (size_t i = 0; i < n->n_batches; i++)
		batch_free(&n->batches[i]);
	free(n->batches);
	n->batches = NULL;
	n->n_batches = n->cap_batches = 0;
	log_truncate(&n->disk.log, 0);
	free(n->disk.log.v);
	n->disk.log.v = NULL;
	n->disk.log.cap = 0;
	free(n->reads);
	n->reads = NULL;
	n->n_reads = n->cap_reads = 0;
}

/* The batch reaches the disk: what a WAL and metadata write would do. */
static int disk_write(struct sim *s, struct sim_node *n, struct sim_batch *b)
{
	struct sim_disk *d = &n->disk;

	d->hs = b->hs;
	if (b->has_snap) {
		d->snap_index = b->snap_index;
		d->snap_term = b->snap_term;
		memcpy(d->snap, b->snap, sizeof(d->snap));
		log_truncate(&d->log, 0);
	}
	for (size_t i = 0; i < b->entries.len; i++) {
		const struct sim_entry *e = &b->entries.v[i];
		/* An empty log may restart below the snapshot: entries a
		 * snapshot already covers are harmless, gaps are not. */
		uint64_t first = d->log.len ? d->log.v[0].index : e->index;

		if ((!d->log.len && e->index > d->snap_index + 1) ||
		    e->index < first || e->index > first + d->log.len) {
			sim_violation(s, "member %u: WAL gap: entry %llu after "
				      "%llu..%llu", n->id,
				      (unsigned long long)e->index,
				      (unsigned long long)first,
				      (unsigned long long)(first + d->log.len));
			return 0;
		}
		log_truncate(&d->log, e->index - first);
		if (log_push(&d->log, e))
			return -ENOMEM;
	}
	if (b->entries.len)
		d->last_rec_first = b->entries.v[0].index;
	return 0;
}

uint64_t sim_node__next_disk(const struct sim_node *n)
{
	return n->up && n->n_batches ? n->batches[0].done_at : UINT64_MAX;
}

int sim_node__disk_events(struct sim *s, struct sim_node *n)
{
	struct gnomon_tt tt;
	int rc;

	while (n->up && n->n_batches && n->batches[0].done_at <= s->now) {
		uint64_t seq = n->batches[0].seq;

		rc = disk_write(s, n, &n->batches[0]);
		batch_free(&n->batches[0]);
		memmove(n->batches, n->batches + 1,
			(--n->n_batches) * sizeof(*n->batches));
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

static int queue_batch(struct sim *s, struct sim_node *n,
		       const struct raft_ready *rd)
{
	struct sim_batch b = { .seq = rd->persist_seq, .hs = rd->hs };
	uint64_t last = n->n_batches ? n->batches[n->n_batches - 1].done_at : 0;

	b.done_at = s->now + sim_between(s, SIM_MS / 2, 5 * SIM_MS);
	if (b.done_at < last)
		b.done_at = last;
	if (rd->snapshot) {
		b.has_snap = true;
		b.snap_index = rd->snapshot->index;
		b.snap_term = rd->snapshot->term;
		if (rd->snapshot->len != sizeof(b.snap)) {
			sim_violation(s, "member %u: snapshot of %llu bytes",
				      n->id,
				      (unsigned long long)rd->snapshot->len);
			return 0;
		}
		memcpy(b.snap, rd->snapshot->data, sizeof(b.snap));
	}
	for (size_t i = 0; i < rd->n_entries; i++) {
		const struct raft_entry *e = &rd->entries[i];
		struct sim_entry c = {
			.term = e->term, .index = e->index, .type = e->type,
			.len = e->len, .data = (uint8_t *)e->data,
		};

		if (log_push(&b.entries, &c)) {
			batch_free(&b);
			return -ENOMEM;
		}
	}
	if (sim_grow((void **)&n->batches, &n->cap_batches, n->n_batches + 1,
		     sizeof(b))) {
		batch_free(&b);
		return -ENOMEM;
	}
	n->batches[n->n_batches++] = b;
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
	}
	for (size_t i = 0; i < rd->n_reads; i++)
		sim_check__read(s, n, &rd->reads[i]);
	return 0;
}

int sim_node__ready(struct sim *s, struct sim_node *n)
{
	struct raft_ready rd;
	int rc = raft__ready(n->r, &rd);

	if (rc)
		return rc;
	if (rd.persist_seq) {
		rc = queue_batch(s, n, &rd);
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
	int rc;

	if (!s->cfg.snapshots || n->applied < first + 12)
		return 0;
	memcpy(n->snap_buf, &n->applied, 8);
	memcpy(n->snap_buf + 8, &n->sm_hash, 8);
	rc = raft__snapshot_taken(n->r, n->applied, n->snap_buf,
				  sizeof(n->snap_buf));
	if (rc == -EBUSY || rc == -EINVAL)
		return 0;	/* an install is on its way, or nothing new */
	if (rc)
		return rc;
	/* Snapshot files are written synchronously in the simulation. */
	n->disk.snap_index = n->applied;
	n->disk.snap_term = raft__term_at(n->r, n->applied);
	memcpy(n->disk.snap, n->snap_buf, sizeof(n->snap_buf));
	return 0;
}

/* Members other than n that carry a loss (and may not vote). */
static uint32_t lost_members(const struct sim *s, const struct sim_node *n)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		const struct sim_node *o = &s->nodes[i];

		if (o != n && (o->up ? raft__lost_upto(o->r) :
			       o->disk.hs.lost_upto))
			k++;
	}
	return k;
}

static void cut_last_record(struct sim *s, struct sim_node *n)
{
	struct sim_disk *d = &n->disk;
	uint64_t first, last, keep;

	if (!d->log.len || !d->last_rec_first ||
	    lost_members(s, n) >= (s->cfg.n_members - 1) / 2)
		return;
	first = d->log.v[0].index;
	last = first + d->log.len - 1;
	keep = d->last_rec_first - 1;
	if (keep < d->snap_index)
		keep = d->snap_index;
	if (keep >= last)
		return;
	log_truncate(&d->log, keep >= first ? keep - first + 1 : 0);
	if (last > d->hs.lost_upto)
		d->hs.lost_upto = last;
	d->last_rec_first = 0;
	s->res->tails_cut++;
	sim_trace(s, 9, n->id, last);
}

void sim_node__crash(struct sim *s, struct sim_node *n)
{
	size_t keep = 0;

	/* A random prefix of the unsynced batches made it to the disk. */
	while (keep < n->n_batches && sim_between(s, 0, 1))
		keep++;
	for (size_t i = 0; i < keep; i++)
		disk_write(s, n, &n->batches[i]);
	/* The writer syncs a batch's hard state before its entries: the
	 * next one may have got that far. */
	if (keep < n->n_batches && !n->batches[keep].has_snap &&
	    sim_between(s, 0, 1))
		n->disk.hs = n->batches[keep].hs;
	if (s->cfg.cut_tails && sim_between(s, 0, 2) == 0)
		cut_last_record(s, n);
	for (size_t i = 0; i < n->n_batches; i++)
		batch_free(&n->batches[i]);
	n->n_batches = 0;
	raft__free(n->r);
	n->r = NULL;
	n->up = false;
	n->n_reads = 0;
	s->res->crashes++;
	sim_trace(s, 4, n->id, keep);
}

/* Boot from the disk alone, as a restarted daemon would. */
int sim_node__start(struct sim *s, struct sim_node *n)
{
	struct sim_disk *d = &n->disk;
	struct raft_entry *ents = NULL;
	struct raft_config cfg;
	struct raft_boot boot = { .hs = d->hs };
	size_t n_ents = 0;
	int rc;

	raft_config__defaults(&cfg, n->id, s->cfg.n_members);
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
	if (d->snap_index)
		restore(s, n, d->snap, d->snap_index);
	n->next_tick = s->now + sim_between(s, 0, n->tick_ns);
	return sim_node__ready(s, n);
}
