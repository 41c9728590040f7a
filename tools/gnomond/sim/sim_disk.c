// SPDX-License-Identifier: GPL-2.0
/*
 * A member's simulated disk, driven by the WAL's own planner (wal_plan.h):
 * the one definition of "durable" that wal_posix.c and the daemon's linked
 * SQEs execute too.
 *
 * Each raft__ready() batch is planned from the member's writer position
 * with wal_plan__persist(), exactly as the daemon plans it, and its steps
 * (writes, syncs, renames) join the disk's queue.  They complete one at a
 * time, in the plans' order, each after a latency of its own (syncs are
 * slow); a batch is reported with raft__persisted() once its last step
 * has completed.  (Steps are carried out when a batch completes or a crash
 * needs them, which no one can tell from an event per step.)  The disk
 * does not decide what a part of a batch needs: the snapshot, the hard
 * state and the entries each reach the disk with the step that writes
 * them (a rename, a metadata write, the record's write) and are durable
 * once the plan's step marked WAL_DUR_SNAP, _HS or _ENTRIES has
 * completed.  The disk keeps them logically (a hard state, a
 * snapshot, a log of entries), as WAL recovery would hand them to a
 * restarted member, and the writer's position as recovery would find it.
 *
 * A crash happens after any step: some steps may still have completed
 * without the member seeing it (a prefix of the queue, of random length),
 * and what a completed write put on the disk but no completed sync made
 * durable yet survives or not, at random.  Everything else in the queue
 * is lost.  Start-up and the member's own snapshots block (as in
 * wal_posix.c): their plans complete at once.
 *
 * A restart may also lose the last record written (sim_node.c decides
 * when): recovery found it cut, and the writer records lost_upto in the
 * hard state, planned like any other, before it writes on where the cut
 * record began.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sim_internal.h"

#define SIM_SEG_SIZE	4096	/* small: segments roll often */

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

static void drop_batches(struct sim_node *n)
{
	for (size_t i = 0; i < n->n_batches; i++)
		batch_free(&n->batches[i]);
	n->n_batches = 0;
}

void sim_disk__free(struct sim_node *n)
{
	drop_batches(n);
	free(n->batches);
	n->batches = NULL;
	n->cap_batches = 0;
	log_truncate(&n->disk.log, 0);
	free(n->disk.log.v);
	n->disk.log.v = NULL;
	n->disk.log.cap = 0;
	wal_plan__free(&n->plan);
}

/* The part of a batch a step puts on the disk, not yet durable. */
static uint8_t step_writes(const struct wal_step *st)
{
	if (st->op == WAL_OP_WRITE && (st->file == WAL_FILE_META1 ||
				       st->file == WAL_FILE_META2))
		return WAL_DUR_HS;
	if (st->op == WAL_OP_WRITE && st->file == WAL_FILE_SEG &&
	    st->off >= WAL_SEG_HEADER_SIZE)
		return WAL_DUR_ENTRIES;
	if (st->op == WAL_OP_RENAME && st->to == WAL_FILE_SNAP)
		return WAL_DUR_SNAP;
	return 0;
}

static uint64_t step_latency(struct sim *s, const struct wal_step *st)
{
	if (st->op == WAL_OP_DATASYNC || st->op == WAL_OP_FSYNC)
		return sim_between(s, SIM_MS / 4, 2 * SIM_MS);
	return sim_between(s, SIM_MS / 100, SIM_MS / 10);
}

/* A plan must, once complete, have made durable what it was made for. */
static bool plan_ok(struct sim *s, struct sim_node *n, int rc,
		    unsigned int want, const char *what)
{
	const struct wal_plan *p = &n->plan;

	if (!rc && (wal_plan__durable(p, p->n) & want) == want)
		return true;
	sim_violation(s, "member %u: %s: plan %d, durable %#x of %#x", n->id,
		      what, rc, wal_plan__durable(p, p->n), want);
	return false;
}

/* A new data directory: the metadata files and the first segment. */
static void format(struct sim *s, struct sim_node *n)
{
	struct wal_cursor c = { .seg_size = SIM_SEG_SIZE, .meta_next = 1 };
	struct wal_plan *p = &n->plan;
	int rc;

	n->disk.wal = c;
	wal_plan__begin(p, &c);
	rc = wal_plan__open(p);
	if (!rc)
		rc = wal_plan__new_segment(p, 1);
	if (!plan_ok(s, n, rc, WAL_DUR_SEGMENT, "format"))
		return;
	n->disk.wal = p->cur;
	n->disk.wal.seg_no = 1;
	n->disk.wal.off = n->disk.wal.durable = WAL_SEG_HEADER_SIZE;
}

void sim_disk__open(struct sim *s, struct sim_node *n)
{
	if (!n->disk.wal.seg_no)
		format(s, n);
	/* The writer goes on where recovery found the end of the log. */
	n->cur = n->disk.wal;
}

/* Parts of batch b reach the disk (durable, or kept by a crash). */
static int disk_apply(struct sim *s, struct sim_node *n,
		      const struct sim_batch *b, unsigned int parts)
{
	struct sim_disk *d = &n->disk;

	if (parts & WAL_DUR_SNAP) {
		d->snap_index = b->snap_index;
		d->snap_term = b->snap_term;
		memcpy(d->snap, b->snap, sizeof(d->snap));
		d->snap_conf = b->snap_conf;
		log_truncate(&d->log, 0);
	}
	if (parts & WAL_DUR_HS) {
		d->wal.hs = b->hs;
		d->wal.meta_seq = b->cur.meta_seq;
		d->wal.meta_next = b->cur.meta_next;
	}
	if (!(parts & WAL_DUR_ENTRIES))
		return 0;
	for (size_t i = 0; i < b->entries.len; i++) {
		const struct sim_entry *e = &b->entries.v[i];
		/* An empty log may restart below the snapshot: entries a
		 * snapshot already covers are harmless, gaps are not. */
		uint64_t first = d->log.len ? d->log.v[0].index : e->index;

		/* A gap the member's own snapshot covers (it applied, and
		 * snapshotted, entries it had not made durable): the log
		 * goes on after the snapshot, as WAL recovery allows. */
		if (d->log.len && e->index > first + d->log.len &&
		    e->index <= d->snap_index + 1) {
			log_truncate(&d->log, 0);
			first = e->index;
		}
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
	d->last_rec_first = b->entries.v[0].index;
	d->last_rec_off = b->rec_off;
	d->wal.seg_no = b->cur.seg_no;
	d->wal.off = d->wal.durable = b->cur.off;
	return 0;
}

/*
 * What the disk holds after every step is what a crash there would leave:
 * it must boot.  An entry's term above the durable term (raft__new()
 * refuses it) means a plan put the entries before the hard state.
 */
static void check_bootable(struct sim *s, const struct sim_node *n)
{
	const struct sim_disk *d = &n->disk;
	const struct sim_entry *e = d->log.len ? &d->log.v[d->log.len - 1] :
				    NULL;

	if (e && e->term > d->wal.hs.term)
		sim_violation(s, "member %u: entry %llu of term %llu on the "
			      "disk, the hard state's term is %llu", n->id,
			      (unsigned long long)e->index,
			      (unsigned long long)e->term,
			      (unsigned long long)d->wal.hs.term);
}

static int batch_copy(struct sim *s, struct sim_node *n, struct sim_batch *b,
		      const struct raft_ready *rd)
{
	if (rd->snapshot) {
		b->snap_index = rd->snapshot->index;
		b->snap_term = rd->snapshot->term;
		b->snap_conf = rd->snapshot->membership;
		if (rd->snapshot->len != sizeof(b->snap)) {
			sim_violation(s, "member %u: snapshot of %llu bytes",
				      n->id,
				      (unsigned long long)rd->snapshot->len);
			return -EINVAL;
		}
		memcpy(b->snap, rd->snapshot->data, sizeof(b->snap));
	}
	for (size_t i = 0; i < rd->n_entries; i++) {
		const struct raft_entry *e = &rd->entries[i];
		struct sim_entry c = {
			.term = e->term, .index = e->index, .type = e->type,
			.len = e->len, .data = (uint8_t *)e->data,
		};

		if (log_push(&b->entries, &c))
			return -ENOMEM;
	}
	return 0;
}

int sim_disk__queue(struct sim *s, struct sim_node *n,
		    const struct raft_ready *rd)
{
	struct sim_batch b = { .seq = rd->persist_seq, .hs = rd->hs };
	struct wal_plan *p = &n->plan;
	unsigned int want;
	uint64_t t = n->n_batches ? n->batches[n->n_batches - 1].done_at : 0;
	int rc;

	wal_plan__begin(p, &n->cur);
	rc = wal_plan__persist(p, rd);
	if (rc == -ENOMEM)
		return rc;
	want = (p->has_snap ? WAL_DUR_SNAP : 0) |
	       (p->has_hs ? WAL_DUR_HS : 0) | (p->last ? WAL_DUR_ENTRIES : 0);
	if (!plan_ok(s, n, rc, want, "persist"))
		return 0;
	rc = batch_copy(s, n, &b, rd);
	if (rc) {
		batch_free(&b);
		return rc == -EINVAL ? 0 : rc;
	}
	if (t < s->now)
		t = s->now;
	for (size_t i = 0; i < p->n; i++) {
		const struct wal_step *st = &p->steps[i];

		t += step_latency(s, st);
		b.steps[i] = (struct sim_step){
			.done_at = t, .writes = step_writes(st),
			.durable = st->durable,
		};
		if (b.steps[i].writes == WAL_DUR_ENTRIES)
			b.rec_off = st->off;
	}
	b.n_steps = p->n;
	b.done_at = t;
	b.cur = p->cur;
	if (sim_grow((void **)&n->batches, &n->cap_batches, n->n_batches + 1,
		     sizeof(b))) {
		batch_free(&b);
		return -ENOMEM;
	}
	n->batches[n->n_batches++] = b;
	n->cur = p->cur;
	return 0;
}

uint64_t sim_disk__next(const struct sim_node *n)
{
	return n->up && n->n_batches ? n->batches[0].done_at : UINT64_MAX;
}

/* The next step of batch b completes. */
static int step_done(struct sim *s, struct sim_node *n, struct sim_batch *b)
{
	const struct sim_step *st = &b->steps[b->n_done++];
	unsigned int parts = st->durable & ~b->durable;
	int rc;

	b->written |= st->writes;
	b->durable |= st->durable;
	rc = disk_apply(s, n, b, parts);
	check_bootable(s, n);
	return rc;
}

/* Steps are carried out when their outcome is needed (a batch done, a
 * crash): those due by now complete, one at a time, in order. */
static int catch_up(struct sim *s, struct sim_node *n)
{
	int rc = 0;

	for (size_t i = 0; i < n->n_batches && !rc; i++) {
		struct sim_batch *b = &n->batches[i];

		while (!rc && b->n_done < b->n_steps &&
		       b->steps[b->n_done].done_at <= s->now)
			rc = step_done(s, n, b);
		if (b->n_done < b->n_steps)
			break;
	}
	return rc;
}

int sim_disk__complete(struct sim *s, struct sim_node *n, uint64_t *seq)
{
	int rc = catch_up(s, n);

	*seq = n->batches[0].seq;
	batch_free(&n->batches[0]);
	memmove(n->batches, n->batches + 1,
		(--n->n_batches) * sizeof(*n->batches));
	return rc;
}

size_t sim_disk__crash(struct sim *s, struct sim_node *n)
{
	size_t left = 0, more;
	int rc = catch_up(s, n);

	for (size_t i = 0; i < n->n_batches; i++)
		left += n->batches[i].n_steps - n->batches[i].n_done;
	/* Steps that completed unseen: the queue runs in order. */
	more = sim_between(s, 0, left);
	for (size_t i = 0, k = more; i < n->n_batches && !rc; i++) {
		struct sim_batch *b = &n->batches[i];

		while (k && b->n_done < b->n_steps && !rc) {
			rc = step_done(s, n, b);
			k--;
		}
		if (b->n_done && b->n_done < b->n_steps)
			s->res->plans_cut++;
		/* Written, not yet synced: the disk may have it or not. */
		for (unsigned int part = WAL_DUR_SNAP; part <= WAL_DUR_ENTRIES &&
		     !rc; part <<= 1)
			if ((b->written & ~b->durable & part) &&
			    sim_between(s, 0, 1))
				rc = disk_apply(s, n, b, part);
	}
	check_bootable(s, n);
	if (rc)
		sim_violation(s, "member %u: crash: %d", n->id, rc);
	drop_batches(n);
	return more;
}

void sim_disk__snapshot(struct sim *s, struct sim_node *n, uint64_t index,
			uint64_t term, const uint8_t *data,
			const struct raft_membership *conf)
{
	struct raft_snapshot snap = {
		.index = index, .term = term, .data = data,
		.len = sizeof(n->disk.snap), .membership = *conf,
	};
	struct wal_plan *p = &n->plan;

	wal_plan__begin(p, &n->cur);
	if (!plan_ok(s, n, wal_plan__snapshot(p, &snap, WAL_FILE_SNAP_TMP),
		     WAL_DUR_SNAP, "snapshot"))
		return;
	n->disk.snap_index = index;
	n->disk.snap_term = term;
	n->disk.snap_conf = *conf;
	memcpy(n->disk.snap, data, sizeof(n->disk.snap));
}

uint64_t sim_disk__cut_last_record(struct sim *s, struct sim_node *n)
{
	struct sim_disk *d = &n->disk;
	struct raft_hard_state hs = d->wal.hs;
	struct wal_plan *p = &n->plan;
	uint64_t first, last, keep;

	if (!d->log.len || !d->last_rec_first)
		return 0;
	first = d->log.v[0].index;
	last = first + d->log.len - 1;
	keep = d->last_rec_first - 1;
	if (keep < d->snap_index)
		keep = d->snap_index;
	if (keep >= last)
		return 0;
	log_truncate(&d->log, keep >= first ? keep - first + 1 : 0);
	d->last_rec_first = 0;
	d->wal.off = d->wal.durable = d->last_rec_off;
	if (last <= hs.lost_upto)
		return last;
	hs.lost_upto = last;
	wal_plan__begin(p, &d->wal);
	if (plan_ok(s, n, wal_plan__hard_state(p, &hs), WAL_DUR_HS,
		    "lost_upto"))
		d->wal = p->cur;
	return last;
}
