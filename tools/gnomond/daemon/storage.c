// SPDX-License-Identifier: GPL-2.0
/*
 * The WAL through the ring, with group commit.
 *
 * raft__ready() batches are copied in as they come (gd_storage__persist):
 * the newest hard state, a received snapshot, and the entries, where a
 * batch that starts at or below the last waiting entry replaces the entries
 * from there (a follower's truncation), exactly as a record on disk would.
 * At most one chain is in flight; when it completes, everything that came
 * meanwhile goes out as the next chain, and the highest batch number it
 * covers is reported with one raft__persisted().  A chain is the plan of
 * wal_plan__batch() (wal_plan.h) as linked SQEs:
 *
 *	write meta1|meta2 -> fdatasync it -> write record -> fdatasync segment
 *
 * (the hard-state pair only when term, vote or the lease promise changed),
 * so the hard state is durable before the entries, and one sync covers
 * every client write of the chain.  The planner decides that order, here
 * as in wal_posix.c; this file only batches and submits.  A failed write or
 * sync stops the member: it cannot know what the disk holds.
 *
 * Nothing here blocks the loop: the rare file operations go through the
 * ring too (storage_files.c).  The next segment is made ahead of time, so
 * a record that does not fit the current segment is written after a mere
 * switch to it (the entries that fit go first, the rest with the next
 * chain, and the batch is reported once all are durable); if the next
 * segment is not ready yet, the batch waits for it.  A snapshot received
 * from the leader is written (and renamed, and its directory synced)
 * before anything that came with or after it: the hard state and entries
 * of its batch wait meanwhile, and the segments it covers are deleted only
 * then.  Snapshots this member takes are written by a child process
 * (snapshot.c); storage_files.c drops the segments they cover.
 *
 * Start-up (wal_posix.c: loading, opening the writer) blocks; it runs
 * before the loop does.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/grow.h"
#include "daemon.h"
#include "log.h"
#include "storage.h"

void gd_storage__update_busy(struct gd_storage *st)
{
	st->busy = st->wr.busy || st->seg.busy || st->drop.busy ||
		   st->snap.busy;
}

int gd_storage__open(struct gnomond *d, struct wal_loaded *ld)
{
	struct gd_storage *st = calloc(1, sizeof(*st));
	static const char *const names[2] = { "meta1", "meta2" };
	int rc;

	if (!st)
		return -ENOMEM;
	d->storage = st;
	st->meta_fd[0] = st->meta_fd[1] = -1;
	st->next_fd = st->old_fd = st->snap_fd = st->child_pidfd = -1;
	rc = wal_writer__open(&st->w, d->cfg.data_dir, ld,
			      d->cfg.wal_segment_bytes);
	if (rc)
		return rc;
	for (int i = 0; i < 2; i++) {
		st->meta_fd[i] = openat(st->w.dirfd, names[i],
					O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (st->meta_fd[i] < 0)
			return -errno;
	}
	if (fsync(st->w.dirfd))
		return -errno;
	st->last_hs = st->w.hs;
	return 0;
}

void gd_storage__close(struct gnomond *d)
{
	struct gd_storage *st = d->storage;

	if (!st)
		return;
	gd_storage__files_close(st);
	wal_writer__close(&st->w);
	for (int i = 0; i < 2; i++)
		if (st->meta_fd[i] >= 0)
			close(st->meta_fd[i]);
	gd_buf__free(&st->pdata);
	wal_plan__free(&st->wr_plan);
	free(st->pe);
	free(st->enc);
	free(st->pend_snap_data);
	free(st);
	d->storage = NULL;
}

static int add_entries(struct gd_storage *st, const struct raft_entry *e,
		       size_t n)
{
	uint64_t first;
	int rc;

	if (!n)
		return 0;
	if (st->n_pe) {
		first = st->pe[0].index;
		if (e[0].index <= first) {
			st->n_pe = 0;
		} else if (e[0].index <= st->pe[st->n_pe - 1].index) {
			st->n_pe = e[0].index - first;
		} else if (e[0].index != st->pe[st->n_pe - 1].index + 1) {
			/* A snapshot covers the gap: the old tail is moot. */
			st->n_pe = 0;
		}
		st->pdata.len = st->n_pe ? st->pe[st->n_pe - 1].off +
					   st->pe[st->n_pe - 1].len : 0;
	} else {
		st->pdata.len = 0;
	}
	if (st->n_pe + n > st->cap_pe) {
		void *v = grow__array(st->pe, &st->cap_pe, st->n_pe + n,
				      sizeof(*st->pe), 256);

		if (!v)
			return -ENOMEM;
		st->pe = v;
	}
	for (size_t i = 0; i < n; i++) {
		struct gd_pentry *p = &st->pe[st->n_pe];

		p->term = e[i].term;
		p->index = e[i].index;
		p->type = e[i].type;
		p->len = e[i].len;
		p->off = st->pdata.len;
		rc = gd_buf__append(&st->pdata, e[i].data, e[i].len);
		if (rc)
			return rc;
		st->n_pe++;
	}
	return 0;
}

int gd_storage__persist(struct gnomond *d, const struct raft_ready *rd)
{
	struct gd_storage *st = d->storage;
	uint8_t *copy;

	if (!rd->persist_seq)
		return 0;
	st->pend_seq = rd->persist_seq;
	if (rd->snapshot) {
		copy = malloc(rd->snapshot->len ? rd->snapshot->len : 1);
		if (!copy)
			return -ENOMEM;
		if (rd->snapshot->len)
			memcpy(copy, rd->snapshot->data, rd->snapshot->len);
		free(st->pend_snap_data);
		st->pend_snap_data = copy;
		st->pend_snap = *rd->snapshot;
		st->pend_snap.data = copy;
		st->n_pe = 0;	/* the snapshot supersedes waiting entries */
	}
	if (rd->has_hard_state && wal_meta__differs(&rd->hs, &st->last_hs)) {
		st->pend_hs = rd->hs;
		st->pend_hs_set = true;
		st->last_hs = rd->hs;
	}
	return add_entries(st, rd->entries, rd->n_entries);
}

int gd_storage__dirfd(const struct gnomond *d)
{
	return d->storage->w.dirfd;
}

/*
 * How many waiting entries fit in the current segment, after a roll if
 * none does: -EAGAIN while the next segment is still being made (its
 * completion comes back here), -EMSGSIZE for an entry larger than a
 * segment.
 */
static int fit_waiting(struct gnomond *d, size_t *n_fit)
{
	struct gd_storage *st = d->storage;
	int rc;

	for (;;) {
		uint64_t room = st->w.seg_size - st->w.off;
		uint64_t size = WAL_REC_HEADER_SIZE;
		size_t n = 0;

		while (n < st->n_pe &&
		       wal_align(size + WAL_ENTRY_HEADER_SIZE + st->pe[n].len) <=
		       room)
			size += WAL_ENTRY_HEADER_SIZE + st->pe[n++].len;
		*n_fit = n;
		if (n || !st->n_pe)
			return 0;
		if (st->w.off == WAL_SEG_HEADER_SIZE)
			return -EMSGSIZE;
		rc = gd_storage__roll(d);
		if (rc)
			return rc;
	}
}

/* Plan the next chain: the waiting hard state, then n waiting entries. */
static int plan_waiting(struct gd_storage *st, size_t n)
{
	struct wal_cursor cur;

	if (n > st->cap_enc) {
		void *v = realloc(st->enc, n * sizeof(*st->enc));

		if (!v)
			return -ENOMEM;
		st->enc = v;
		st->cap_enc = n;
	}
	for (size_t i = 0; i < n; i++)
		st->enc[i] = (struct raft_entry){
			.term = st->pe[i].term, .index = st->pe[i].index,
			.type = st->pe[i].type, .len = st->pe[i].len,
			.data = st->pdata.p + st->pe[i].off,
		};
	wal_writer__cursor(&st->w, &cur);
	wal_plan__begin(&st->wr_plan, &cur);
	return wal_plan__batch(&st->wr_plan,
			       st->pend_hs_set ? &st->pend_hs : NULL,
			       st->enc, n);
}

/* The first n waiting entries are in the chain: keep the rest waiting. */
static void keep_rest(struct gd_storage *st, size_t n)
{
	size_t base;

	if (n == st->n_pe) {
		st->n_pe = 0;
		st->pdata.len = 0;
		return;
	}
	base = st->pe[n].off;
	memmove(st->pdata.p, st->pdata.p + base, st->pdata.len - base);
	st->pdata.len -= base;
	for (size_t i = n; i < st->n_pe; i++) {
		st->pe[i - n] = st->pe[i];
		st->pe[i - n].off -= base;
	}
	st->n_pe -= n;
}

static void finish(struct gnomond *d, uint64_t seq)
{
	int rc = raft__persisted(d->raft, seq, &d->now);

	if (rc)
		gd_warn("raft__persisted(%llu): %s", (unsigned long long)seq,
			strerror(-rc));
}

static void wrote(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->err) {
		gd_fatal(d, "WAL write or sync", c->err);
		return;
	}
	wal_writer__planned(&st->w, &st->wr_plan);
	if (st->fl_seq)
		finish(d, st->fl_seq);
}

bool gd_storage__kick(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	size_t n = 0;
	uint64_t seq;
	int rc;

	if (d->stop)
		return false;
	gd_storage__prepare_next(d);
	if (st->wr.busy || st->snap_stage || !st->pend_seq)
		return false;
	if (st->pend_snap_data) {
		/* The rest of the batch waits until the snapshot is durable. */
		gd_storage__save_snapshot(d);
		return false;
	}
	rc = fit_waiting(d, &n);
	if (rc == -EAGAIN)
		return false;
	if (!rc)
		rc = plan_waiting(st, n);
	if (rc) {
		gd_fatal(d, "WAL write", rc);
		return false;
	}
	/* A batch split across segments is reported by its last chain. */
	seq = st->pend_seq;
	st->fl_seq = n == st->n_pe ? seq : 0;
	st->pend_seq = st->fl_seq ? 0 : seq;
	st->pend_hs_set = false;
	keep_rest(st, n);
	if (!st->wr_plan.n) {
		finish(d, seq);
		return true;
	}
	gd_chain__begin(d, &st->wr, (int)st->wr_plan.n, wrote);
	if (gd_chain__add_steps(d, &st->wr, &st->wr_plan, 0, st->wr_plan.n))
		gd_chain__end(st, &st->wr);
	return false;
}

