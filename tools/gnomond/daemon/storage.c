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
 * covers is reported with one raft__persisted().  A chain is linked SQEs:
 *
 *	write meta1|meta2 -> fdatasync it -> write record -> fdatasync segment
 *
 * (the hard-state pair only when term, vote or the lease promise changed),
 * so the hard state is durable before the entries, as wal_posix.h requires,
 * and one sync covers every client write of the chain.  A failed write or
 * sync stops the member: it cannot know what the disk holds.
 *
 * Rare paths use the blocking helpers of wal_posix.c: a record that does
 * not fit the current segment (a new preallocated segment is made and
 * synced, every 64 MiB), and a snapshot received from a leader, followed
 * by deleting the segments it covers.  Snapshots this member takes are
 * written by a child process (snapshot.c); this file only drops the
 * segments they cover.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "storage.h"

static bool hs_differs(const struct raft_hard_state *a,
		       const struct raft_hard_state *b)
{
	return a->term != b->term || a->vote != b->vote ||
	       a->promise_term != b->promise_term ||
	       a->promise_end != b->promise_end;
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
	rc = wal_writer__open(&st->w, d->cfg.data_dir, ld, 0);
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
	for (int i = 0; i < 4; i++)
		st->ops[i].fn = gd_storage__on_complete;
	return 0;
}

void gd_storage__close(struct gnomond *d)
{
	struct gd_storage *st = d->storage;

	if (!st)
		return;
	wal_writer__close(&st->w);
	for (int i = 0; i < 2; i++)
		if (st->meta_fd[i] >= 0)
			close(st->meta_fd[i]);
	gd_buf__free(&st->pdata);
	gd_buf__free(&st->rec);
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
		size_t cap = st->cap_pe ? st->cap_pe : 256;
		void *v;

		while (cap < st->n_pe + n)
			cap *= 2;
		v = realloc(st->pe, cap * sizeof(*st->pe));
		if (!v)
			return -ENOMEM;
		st->pe = v;
		st->cap_pe = cap;
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
		memcpy(copy, rd->snapshot->data, rd->snapshot->len);
		free(st->pend_snap_data);
		st->pend_snap_data = copy;
		st->pend_snap = *rd->snapshot;
		st->pend_snap.data = copy;
		st->n_pe = 0;	/* the snapshot supersedes waiting entries */
	}
	if (rd->has_hard_state && hs_differs(&rd->hs, &st->last_hs)) {
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

static int encode_waiting(struct gd_storage *st, size_t *len)
{
	uint64_t size;

	if (st->n_pe > st->cap_enc) {
		void *v = realloc(st->enc, st->n_pe * sizeof(*st->enc));

		if (!v)
			return -ENOMEM;
		st->enc = v;
		st->cap_enc = st->n_pe;
	}
	for (size_t i = 0; i < st->n_pe; i++)
		st->enc[i] = (struct raft_entry){
			.term = st->pe[i].term, .index = st->pe[i].index,
			.type = st->pe[i].type, .len = st->pe[i].len,
			.data = st->pdata.p + st->pe[i].off,
		};
	size = wal_record__size(st->enc, st->n_pe);
	if (st->w.off + size > st->w.seg_size)
		return -ENOSPC;
	st->rec.off = st->rec.len = 0;
	if (gd_buf__reserve(&st->rec, size))
		return -ENOMEM;
	return wal_record__encode(st->rec.p, size, st->enc, st->n_pe,
				  st->w.durable, len);
}

/* A record that does not fit the segment: the blocking writer rolls to a
 * new segment (rare: once per segment). */
static int persist_blocking(struct gd_storage *st)
{
	int rc = 0;

	if (st->pend_hs_set)
		rc = wal_writer__save_hard_state(&st->w, &st->pend_hs);
	if (!rc)
		rc = wal_writer__append(&st->w, st->enc, st->n_pe);
	if (!rc)
		rc = wal_writer__sync(&st->w);
	return rc;
}

static void finish(struct gnomond *d, uint64_t seq)
{
	int rc = raft__persisted(d->raft, seq, &d->now);

	if (rc)
		gd_warn("raft__persisted(%llu): %s", (unsigned long long)seq,
			strerror(-rc));
}

static void submit_chain(struct gnomond *d, size_t rec_len)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe[4];
	int n = 0, fd;

	/* The chain's links are set at the end: it must not be split by a
	 * submission in between. */
	if (io_uring_sq_space_left(&d->ring) < 4)
		io_uring_submit(&d->ring);
	if (st->fl_hs) {
		wal_meta__encode(st->meta_buf, &st->fl_hs_val,
				 ++st->w.meta_seq);
		fd = st->meta_fd[st->w.meta_next - 1];
		st->w.meta_next = 3 - st->w.meta_next;
		sqe[n] = gd_sqe(d, &st->ops[n]);
		if (sqe[n])
			io_uring_prep_write(sqe[n], fd, st->meta_buf,
					    WAL_META_SIZE, 0);
		n++;
		sqe[n] = gd_sqe(d, &st->ops[n]);
		if (sqe[n])
			io_uring_prep_fsync(sqe[n], fd, IORING_FSYNC_DATASYNC);
		n++;
	}
	if (rec_len) {
		sqe[n] = gd_sqe(d, &st->ops[n]);
		if (sqe[n])
			io_uring_prep_write(sqe[n], st->w.fd, st->rec.p,
					    (unsigned int)rec_len, st->w.off);
		n++;
		sqe[n] = gd_sqe(d, &st->ops[n]);
		if (sqe[n])
			io_uring_prep_fsync(sqe[n], st->w.fd,
					    IORING_FSYNC_DATASYNC);
		n++;
	}
	for (int i = 0; i < n; i++)
		if (!sqe[i])
			return;	/* the ring failed: the loop is stopping */
	for (int i = 0; i + 1 < n; i++)
		sqe[i]->flags |= IOSQE_IO_LINK;
	st->expect = n;
	st->got = 0;
	st->err = 0;
	st->busy = true;
}

bool gd_storage__kick(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	size_t rec_len = 0;
	uint64_t seq;
	int rc = 0;

	if (st->busy || !st->pend_seq || d->stop)
		return false;
	seq = st->pend_seq;
	st->pend_seq = 0;
	if (st->pend_snap_data) {
		gd_snapshot__cancel(d);
		rc = wal_writer__save_snapshot(&st->w, &st->pend_snap);
		free(st->pend_snap_data);
		st->pend_snap_data = NULL;
		if (!rc)
			rc = wal_writer__compact(&st->w, st->pend_snap.index);
	}
	if (!rc && st->n_pe)
		rc = encode_waiting(st, &rec_len);
	if (rc == -ENOSPC) {
		rc = persist_blocking(st);
		st->pend_hs_set = false;
		st->n_pe = 0;
		rec_len = 0;
		if (!rc) {
			finish(d, seq);
			return true;
		}
	}
	if (rc) {
		gd_loop__fatal(d, "WAL write", rc);
		return false;
	}
	st->fl_seq = seq;
	st->fl_hs = st->pend_hs_set;
	st->fl_hs_val = st->pend_hs;
	st->fl_len = rec_len;
	st->fl_last = st->n_pe ? st->pe[st->n_pe - 1].index : 0;
	st->pend_hs_set = false;
	st->n_pe = 0;
	if (!st->fl_hs && !rec_len) {
		finish(d, seq);
		return true;
	}
	submit_chain(d, rec_len);
	return false;
}

void gd_storage__on_complete(struct gnomond *d, struct gd_op *op, int res,
			     uint32_t flags)
{
	struct gd_storage *st = d->storage;
	bool is_write = (op == &st->ops[0] && st->fl_hs) ||
			(op == &st->ops[st->fl_hs ? 2 : 0] && st->fl_len);
	size_t want = op == &st->ops[0] && st->fl_hs ? WAL_META_SIZE :
		      st->fl_len;

	(void)flags;
	if (res < 0 && !st->err)
		st->err = res;
	else if (is_write && res >= 0 && (size_t)res != want && !st->err)
		st->err = -EIO;
	if (++st->got < st->expect)
		return;
	st->busy = false;
	if (st->err) {
		gd_loop__fatal(d, "WAL write or sync", st->err);
		return;
	}
	if (st->fl_hs)
		st->w.hs = st->fl_hs_val;
	if (st->fl_len) {
		st->w.off += st->fl_len;
		st->w.durable = st->w.off;
		if (st->fl_last > st->w.segs[st->w.n_segs - 1].max_index)
			st->w.segs[st->w.n_segs - 1].max_index = st->fl_last;
	}
	finish(d, st->fl_seq);
}

int gd_storage__compact(struct gnomond *d, uint64_t index)
{
	/* The chain in flight writes only the newest segment, which stays. */
	return wal_writer__compact(&d->storage->w, index);
}
