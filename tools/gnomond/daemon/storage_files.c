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

/* A snapshot's data goes out in writes of at most this. */
#define SNAP_CHUNK (1u << 30)

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
		gd_loop__fatal(d, "making the next WAL segment", c->err);
		return;
	}
	st->next = GD_NEXT_READY;
}

static void fill_next(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe;

	gd_chain__begin(d, &st->seg, 4, next_done);
	if (!st->no_fallocate) {
		sqe = gd_chain__add(d, &st->seg, 0, true);
		if (!sqe)
			return;
		io_uring_prep_fallocate(sqe, st->next_fd, 0, 0,
					(off_t)st->w.seg_size);
	}
	wal_segment__encode_header(st->next_hdr, st->next_no);
	sqe = gd_chain__add(d, &st->seg, WAL_SEG_HEADER_SIZE, true);
	if (!sqe)
		return;
	io_uring_prep_write(sqe, st->next_fd, st->next_hdr,
			    WAL_SEG_HEADER_SIZE, 0);
	sqe = gd_chain__add(d, &st->seg, 0, true);
	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, st->next_fd, IORING_FSYNC_DATASYNC);
	sqe = gd_chain__add(d, &st->seg, 0, false);
	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, st->w.dirfd, 0);
	gd_chain__end(st, &st->seg);
}

static void next_opened(struct gnomond *d, struct gd_chain *c)
{
	struct gd_storage *st = d->storage;

	if (c->ops[0].res < 0) {
		gd_loop__fatal(d, st->next_name, c->ops[0].res);
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

	if (st->next != GD_NEXT_NONE || d->stop)
		return;
	st->next = GD_NEXT_MAKING;
	st->next_no = st->w.seg_no + 1;
	wal_segment__name(st->next_name, st->next_no);
	gd_chain__begin(d, &st->seg, 2, next_opened);
	sqe = gd_chain__add(d, &st->seg, 0, false);
	if (!sqe)
		return;
	io_uring_prep_openat(sqe, st->w.dirfd, st->next_name,
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
		gd_loop__fatal(d, "syncing the data directory", c->err);
		return;
	}
	if (c->err)
		gd_warn("deleting a WAL segment: %s", strerror(-c->err));
	if (!st->drop_synced) {
		struct io_uring_sqe *sqe;

		/* The deletions are durable with the directory. */
		st->drop_synced = true;
		gd_chain__begin(d, &st->drop, 1, drop_done);
		sqe = gd_chain__add(d, &st->drop, 0, false);
		if (sqe)
			io_uring_prep_fsync(sqe, st->w.dirfd, 0);
		gd_chain__end(st, &st->drop);
		return;
	}
	start_drop(d);
}

static void start_drop(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	size_t n = wal_writer__droppable(&st->w, st->drop_upto);

	if (st->drop.busy || !n || d->stop)
		return;
	if (n > GD_CHAIN_MAX)
		n = GD_CHAIN_MAX;
	st->drop_synced = false;
	gd_chain__begin(d, &st->drop, (int)n, drop_done);
	for (size_t i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = gd_chain__add(d, &st->drop, 0, false);

		if (!sqe)
			return;
		st->drop.ops[i].may_be_gone = true;
		wal_segment__name(st->drop_names[i], st->w.segs[i].seg_no);
		io_uring_prep_unlinkat(sqe, st->w.dirfd, st->drop_names[i], 0);
	}
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
		gd_loop__fatal(d, "writing the leader's snapshot", c->err);
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
	struct io_uring_sqe *sqe;
	uint64_t len = st->snap_meta.len, off = 0;
	int chunks = (int)((len + SNAP_CHUNK - 1) / SNAP_CHUNK);

	if (chunks + 2 > GD_CHAIN_MAX) {
		gd_loop__fatal(d, "the leader's snapshot", -EFBIG);
		return;
	}
	gd_chain__begin(d, &st->snap, chunks + 2, snap_done);
	sqe = gd_chain__add(d, &st->snap, WAL_SNAP_HEADER_SIZE, true);
	if (!sqe)
		return;
	io_uring_prep_write(sqe, st->snap_fd, st->snap_hdr,
			    WAL_SNAP_HEADER_SIZE, 0);
	for (; off < len; off += SNAP_CHUNK) {
		uint32_t part = len - off < SNAP_CHUNK ? (uint32_t)(len - off) :
			       SNAP_CHUNK;

		sqe = gd_chain__add(d, &st->snap, part, true);
		if (!sqe)
			return;
		io_uring_prep_write(sqe, st->snap_fd,
				    st->snap_data + off, part,
				    WAL_SNAP_HEADER_SIZE + off);
	}
	sqe = gd_chain__add(d, &st->snap, 0, false);
	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, st->snap_fd, 0);
	gd_chain__end(st, &st->snap);
}

static void snap_rename(struct gnomond *d)
{
	struct gd_storage *st = d->storage;
	struct io_uring_sqe *sqe;

	gd_chain__begin(d, &st->snap, 3, snap_done);
	sqe = gd_chain__add(d, &st->snap, 0, false);
	if (!sqe)
		return;
	io_uring_prep_close(sqe, st->snap_fd);
	st->snap_fd = -1;
	sqe = gd_chain__add(d, &st->snap, 0, true);
	if (!sqe)
		return;
	io_uring_prep_renameat(sqe, st->w.dirfd, WAL_SNAP_RECV_TMP,
			       st->w.dirfd, WAL_SNAP_NAME, 0);
	sqe = gd_chain__add(d, &st->snap, 0, false);
	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, st->w.dirfd, 0);
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

	assert(!st->snap_stage && st->pend_snap_data);
	st->snap_data = st->pend_snap_data;
	st->snap_meta = st->pend_snap;
	st->pend_snap_data = NULL;
	wal_snap__encode_header(st->snap_hdr, &st->snap_meta);
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
}
