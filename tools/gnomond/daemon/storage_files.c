// SPDX-License-Identifier: GPL-2.0
/*
 * The WAL's rare file operations, through the ring like its writes, so
 * that the loop never blocks on a file (storage.c has the group commit):
 *
 *   next segment   made ahead, as soon as the one in use becomes current:
 *                  openat(O_EXCL), then fallocate -> write header ->
 *                  fdatasync -> fsync(dir), linked.  A roll is then only a
 *                  switch to a durable, preallocated, empty file; a record
 *                  that does not fit before the next one is ready waits
 *                  for it (the completion wakes the loop).  The old
 *                  segment was synced by the chain that last wrote it,
 *                  and its descriptor is closed by the next making.
 *                  Without fallocate in the file system, the segment grows
 *                  as it is written (recovery reads its end as the log's).
 *   dropping       segments a durable snapshot covers: unlinkat each
 *                  (oldest first, never the one being written), then
 *                  fsync(dir); asked for while one runs, it goes again.
 *   received       a snapshot from the leader: a running snapshot child is
 *   snapshot       killed (its pidfd polled until it is gone, so it can
 *                  never rename its older file over this one), and
 *                  meanwhile openat("snapshot.recv") -> write header ->
 *                  write data -> fsync; once both are done, close and
 *                  renameat over "snapshot" -> fsync(dir).  Then the
 *                  segments it covers are dropped, and storage.c goes on
 *                  with the batch's hard state and entries: the snapshot
 *                  is durable before anything after it, and before the
 *                  segments it replaces are deleted.
 *
 * An operation chain (struct gd_chain) counts the completions of
 * operations submitted together; a failed write or sync stops the member,
 * as in storage.c: it cannot know what the disk holds.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "storage.h"

static void on_chain_op(struct gnomond *d, struct gd_op *op, int res,
			uint32_t flags)
{
	struct gd_chain_op *o = gd_container_of(op, struct gd_chain_op, op);
	struct gd_chain *c = o->c;

	(void)flags;
	o->res = res;
	if (res == -ENOENT && o->may_be_gone)
		res = 0;
	else if (res >= 0 && o->want && (uint32_t)res != o->want)
		res = -EIO;	/* a short write: the disk is full */
	if (res < 0 && (!c->err || c->err == -ECANCELED))
		c->err = res;
	if (++c->got < c->n)
		return;
	c->busy = false;
	gd_storage__update_busy(d->storage);
	c->done(d, c);
}

void gd_chain__begin(struct gnomond *d, struct gd_chain *c, int n,
		     gd_chain_fn done)
{
	assert(!c->busy && n <= GD_CHAIN_MAX);
	/* Linked operations must reach the kernel in one submission. */
	if (io_uring_sq_space_left(&d->ring) < (unsigned int)n)
		io_uring_submit(&d->ring);
	c->n = c->got = c->err = 0;
	c->done = done;
}

struct io_uring_sqe *gd_chain__add(struct gnomond *d, struct gd_chain *c,
				   uint32_t want, bool link)
{
	struct gd_chain_op *o = &c->ops[c->n];
	struct io_uring_sqe *sqe;

	assert(c->n < GD_CHAIN_MAX);
	o->op.fn = on_chain_op;
	o->c = c;
	o->want = want;
	o->may_be_gone = false;
	o->res = 0;
	sqe = gd_sqe(d, &o->op);
	if (!sqe)
		return NULL;
	/* Room was made by gd_chain__begin: no submission splits a link. */
	if (link)
		sqe->flags |= IOSQE_IO_LINK;
	c->n++;
	return sqe;
}

void gd_chain__end(struct gd_storage *st, struct gd_chain *c)
{
	c->busy = c->n > 0;
	gd_storage__update_busy(st);
}

static int step_fd(const struct gd_storage *st, const struct wal_step *s)
{
	switch (s->file) {
	case WAL_FILE_SEG:
		return s->seg_no == st->w.seg_no ? st->w.fd : st->next_fd;
	case WAL_FILE_META1:
	case WAL_FILE_META2:
		return st->meta_fd[s->file - WAL_FILE_META1];
	case WAL_FILE_SNAP_RECV:
		return st->snap_fd;
	default:
		return st->w.dirfd;
	}
}

/* The ring's executor of a plan (wal_plan.h): a step that waits for the
 * previous one is linked to it. */
bool gd_chain__add_steps(struct gnomond *d, struct gd_chain *c,
			 const struct wal_plan *p, size_t from, size_t to)
{
	struct gd_storage *st = d->storage;

	for (size_t i = from; i < to; i++) {
		const struct wal_step *s = &p->steps[i];
		bool link = i + 1 < to && p->steps[i + 1].wait == WAL_WAIT_PREV;
		int fd = step_fd(st, s);
		struct io_uring_sqe *sqe;
		struct gd_chain_op *o = &c->ops[c->n];

		assert(s->op != WAL_OP_CREATE);
		if (s->op == WAL_OP_FALLOCATE && st->no_fallocate)
			continue;
		sqe = gd_chain__add(d, c, s->op == WAL_OP_WRITE ?
				    (uint32_t)s->len : 0, link);
		if (!sqe)
			return false;
		wal_file__name(o->name, s->file, s->seg_no);
		switch (s->op) {
		case WAL_OP_FALLOCATE:
			io_uring_prep_fallocate(sqe, fd, 0, 0, (off_t)s->len);
			break;
		case WAL_OP_WRITE:
			io_uring_prep_write(sqe, fd, s->buf, (unsigned int)s->len,
					    s->off);
			break;
		case WAL_OP_DATASYNC:
			io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
			break;
		case WAL_OP_FSYNC:
			io_uring_prep_fsync(sqe, fd, 0);
			break;
		case WAL_OP_RENAME:
			wal_file__name(o->to, s->to, 0);
			io_uring_prep_renameat(sqe, st->w.dirfd, o->name,
					       st->w.dirfd, o->to, 0);
			break;
		case WAL_OP_UNLINK:
			o->may_be_gone = true;
			io_uring_prep_unlinkat(sqe, st->w.dirfd, o->name, 0);
			break;
		}
	}
	return true;
}

/* ---- The next segment ---- */

static void fill_next(struct gnomond *d);

static void next_done(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->err == -EOPNOTSUPP && !st->no_fallocate &&
	    c->ops[0].res == -EOPNOTSUPP) {
		gd_info("WAL segments: no fallocate here, they grow instead");
		st->no_fallocate = true;
		fill_next(d);
		return;
	}
	if (c->err) {
		gd_fatal(d, "making the next WAL segment", c->err);
		return;
	}
	st->next = GD_NEXT_READY;
}

static void fill_next(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	const struct wal_plan *p = &st->seg_plan;

	/* Step 0, the CREATE, was next_opened's openat. */
	gd_chain__begin(d, &st->seg, (int)p->n - 1, next_done);
	if (gd_chain__add_steps(d, &st->seg, p, 1, p->n))
		gd_chain__end(st, &st->seg);
}

static void next_opened(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->ops[0].res < 0) {
		gd_fatal(d, "creating the next WAL segment", c->ops[0].res);
		return;
	}
	st->next_fd = c->ops[0].res;
	if (c->n > 1 && c->ops[1].res < 0)
		gd_warn("closing a full WAL segment: %s",
			strerror(-c->ops[1].res));
	fill_next(d);
}

void gd_storage__prepare_next(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe;

	struct wal_cursor cur;

	if (st->next != GD_NEXT_NONE || d->stop)
		return;
	st->next = GD_NEXT_MAKING;
	st->next_no = st->w.seg_no + 1;
	wal_writer__cursor(&st->w, &cur);
	wal_plan__begin(&st->seg_plan, &cur);
	if (wal_plan__new_segment(&st->seg_plan, st->next_no)) {
		gd_fatal(d, "planning the next WAL segment", -E2BIG);
		return;
	}
	assert(st->seg_plan.steps[0].op == WAL_OP_CREATE);
	gd_chain__begin(d, &st->seg, 2, next_opened);
	sqe = gd_chain__add(d, &st->seg, 0, false);
	if (!sqe)
		return;
	wal_file__name(st->seg.ops[0].name, WAL_FILE_SEG, st->next_no);
	io_uring_prep_openat(sqe, st->w.dirfd, st->seg.ops[0].name,
			     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (st->old_fd >= 0) {
		sqe = gd_chain__add(d, &st->seg, 0, false);
		if (!sqe)
			return;
		io_uring_prep_close(sqe, st->old_fd);
		st->old_fd = -1;
	}
	gd_chain__end(st, &st->seg);
}

int gd_storage__roll(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	int rc;

	if (st->next != GD_NEXT_READY)
		return -EAGAIN;
	/* Everything written to the current segment is synced: the write
	 * chain ends with its fdatasync, and none is in flight. */
	assert(!st->wr.busy && st->w.durable == st->w.off);
	rc = wal_writer__switch(&st->w, st->next_fd, st->next_no, &st->old_fd);
	if (rc)
		return rc;
	st->next_fd = -1;
	st->next = GD_NEXT_NONE;
	gd_storage__prepare_next(d);
	return 0;
}

/* ---- Dropping segments ---- */

static void start_drop(struct gnomond *d);

static void drop_done(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->err && st->drop_synced) {
		gd_fatal(d, "syncing the data directory", c->err);
		return;
	}
	if (c->err)
		gd_warn("deleting a WAL segment: %s", strerror(-c->err));
	if (!st->drop_synced) {
		const struct wal_plan *p = &st->drop_plan;

		/* The deletions are durable with the directory: the plan's
		 * last step, after all the others. */
		assert(p->steps[p->n - 1].wait == WAL_WAIT_ALL);
		st->drop_synced = true;
		gd_chain__begin(d, &st->drop, 1, drop_done);
		if (gd_chain__add_steps(d, &st->drop, p, p->n - 1, p->n))
			gd_chain__end(st, &st->drop);
		return;
	}
	start_drop(d);
}

static void start_drop(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	size_t n = wal_writer__droppable(&st->w, st->drop_upto);
	uint64_t nos[GD_CHAIN_MAX];
	struct wal_cursor cur;

	if (st->drop.busy || !n || d->stop)
		return;
	if (n > GD_CHAIN_MAX)
		n = GD_CHAIN_MAX;
	for (size_t i = 0; i < n; i++)
		nos[i] = st->w.segs[i].seg_no;
	wal_writer__cursor(&st->w, &cur);
	wal_plan__begin(&st->drop_plan, &cur);
	if (wal_plan__drop(&st->drop_plan, nos, n)) {
		gd_fatal(d, "planning WAL deletions", -E2BIG);
		return;
	}
	st->drop_synced = false;
	/* The unlinks first; drop_done then syncs the directory. */
	gd_chain__begin(d, &st->drop, (int)n, drop_done);
	if (!gd_chain__add_steps(d, &st->drop, &st->drop_plan, 0, n))
		return;
	wal_writer__forget(&st->w, n);
	gd_chain__end(st, &st->drop);
}

int gd_storage__compact(struct gnomond *d, uint64_t index)
{
	struct gd_storage *st = d->storage;

	if (index > st->drop_upto)
		st->drop_upto = index;
	start_drop(d);
	return 0;
}

/* ---- A snapshot received from the leader ---- */

static void snap_step(struct gnomond *d);

static void snap_done(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->err) {
		gd_fatal(d, "writing the leader's snapshot", c->err);
		return;
	}
	if (st->snap_stage == 1)
		st->snap_fd = c->ops[0].res;
	st->snap_stage++;
	snap_step(d);
}

static void on_child_gone(struct gnomond *d, struct gd_op *op, int res,
			  uint32_t flags)
{
	struct gd_storage *st = d->storage;

	(void)op;
	(void)flags;
	if (res < 0)
		gd_warn("waiting for the snapshot child: %s", strerror(-res));
	/* It has exited (or the tick reaped it): this does not wait. */
	if (d->snap_child == st->child_pid) {
		waitpid(st->child_pid, NULL, WNOHANG);
		d->snap_child = 0;
	}
	close(st->child_pidfd);
	st->child_pidfd = -1;
	st->snap_child_gone = true;
	snap_step(d);
}

/* Kill a running snapshot child; snap_child_gone once it cannot rename. */
static void stop_child(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe;

	st->snap_child_gone = !d->snap_child;
	if (st->snap_child_gone)
		return;
	st->child_pid = d->snap_child;
	kill(st->child_pid, SIGKILL);
	st->child_pidfd = pidfd_open(st->child_pid, 0);
	if (st->child_pidfd < 0) {
		/* Out of descriptors: the only wait left is a blocking one,
		 * on a child that is dying already. */
		gd_warn("pidfd_open: %s", strerror(errno));
		waitpid(st->child_pid, NULL, 0);
		d->snap_child = 0;
		st->snap_child_gone = true;
		return;
	}
	st->child_op.fn = on_child_gone;
	sqe = gd_sqe(d, &st->child_op);
	if (sqe)
		io_uring_prep_poll_add(sqe, st->child_pidfd, POLLIN);
}

static void snap_write_data(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	size_t n = st->snap_rename - 1;

	/* Step 0, the CREATE, was the openat; then up to the rename. */
	if (n > GD_CHAIN_MAX) {
		gd_fatal(d, "the leader's snapshot", -EFBIG);
		return;
	}
	gd_chain__begin(d, &st->snap, (int)n, snap_done);
	if (gd_chain__add_steps(d, &st->snap, &st->snap_plan, 1,
				st->snap_rename))
		gd_chain__end(st, &st->snap);
}

static void snap_rename(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	const struct wal_plan *p = &st->snap_plan;
	struct io_uring_sqe *sqe;

	gd_chain__begin(d, &st->snap, 1 + (int)(p->n - st->snap_rename),
			snap_done);
	sqe = gd_chain__add(d, &st->snap, 0, false);
	if (!sqe)
		return;
	io_uring_prep_close(sqe, st->snap_fd);
	st->snap_fd = -1;
	if (gd_chain__add_steps(d, &st->snap, p, st->snap_rename, p->n))
		gd_chain__end(st, &st->snap);
}

/* Move the received snapshot along: each stage starts the next. */
static void snap_step(struct gnomond *d)
{
	struct gd_storage *st = d->storage;

	if (d->stop || st->snap.busy)
		return;
	switch (st->snap_stage) {
	case 2:
		snap_write_data(d);
		break;
	case 3:
		if (st->snap_child_gone)
			snap_rename(d);
		break;
	case 4:
		free(st->snap_data);
		st->snap_data = NULL;
		st->snap_stage = 0;
		gd_storage__compact(d, st->snap_meta.index);
		break;
	}
}

void gd_storage__save_snapshot(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe;
	struct wal_cursor cur;

	assert(!st->snap_stage && st->pend_snap_data);
	st->snap_data = st->pend_snap_data;
	st->snap_meta = st->pend_snap;
	st->pend_snap_data = NULL;
	wal_writer__cursor(&st->w, &cur);
	wal_plan__begin(&st->snap_plan, &cur);
	if (wal_plan__snapshot(&st->snap_plan, &st->snap_meta,
			       WAL_FILE_SNAP_RECV)) {
		gd_fatal(d, "the leader's snapshot", -EFBIG);
		return;
	}
	/* CREATE, writes and sync; then, once no child can rename over it
	 * (a barrier in the plan too), the rename and the directory sync. */
	st->snap_rename = 1;
	while (st->snap_plan.steps[st->snap_rename].wait != WAL_WAIT_ALL)
		st->snap_rename++;
	assert(st->snap_plan.steps[0].op == WAL_OP_CREATE &&
	       st->snap_plan.steps[st->snap_rename].op == WAL_OP_RENAME);
	st->snap_stage = 1;
	stop_child(d);
	gd_chain__begin(d, &st->snap, 1, snap_done);
	sqe = gd_chain__add(d, &st->snap, 0, false);
	if (!sqe)
		return;
	io_uring_prep_openat(sqe, st->w.dirfd, WAL_SNAP_RECV_TMP,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	gd_chain__end(st, &st->snap);
}

void gd_storage__files_close(struct gd_storage *st)
{
	if (st->next_fd >= 0)
		close(st->next_fd);
	if (st->old_fd >= 0)
		close(st->old_fd);
	if (st->snap_fd >= 0)
		close(st->snap_fd);
	if (st->child_pidfd >= 0)
		close(st->child_pidfd);
	free(st->snap_data);
	wal_plan__free(&st->seg_plan);
	wal_plan__free(&st->drop_plan);
	wal_plan__free(&st->snap_plan);
}
