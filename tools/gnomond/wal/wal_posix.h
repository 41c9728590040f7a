/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin POSIX file helpers around the pure WAL logic: load a data directory
 * into a raft_boot, and a blocking writer for tests, tools and gnomond's
 * start-up (before its loop runs).  The writer decides no order: its
 * records, hard state, snapshots, new segments and deletions are plans of
 * wal_plan.h, run step by step with blocking calls.  What it decides
 * itself is which segments go (wal_writer__compact(): the oldest ones a
 * durable snapshot covers, never the one being written) and, when it
 * opens, the clean-up after a crash: segments made ahead and never
 * written to are unlinked and a torn tail is zeroed.  gnomond's loop never
 * calls the blocking ones: its io_uring driver (daemon/storage.c,
 * storage_files.c) runs the same plans as linked SQEs and keeps its books
 * with wal_writer__switch(), __droppable() and __forget(); the
 * simulation's disk (sim/sim_disk.c) runs them step by step too.
 *
 * wal_writer__persist() does all of it for one raft__ready() batch: the
 * reference for the io_uring driver, and what the tests use.
 *
 * Errors: -errno from the system, -EUCLEAN with a message in err for
 * corruption that recovery refuses to paper over.
 */
#ifndef GNOMOND_WAL_POSIX_H
#define GNOMOND_WAL_POSIX_H

#include "wal_plan.h"
#include "wal_recover.h"

#define WAL_DEFAULT_SEGMENT_SIZE	(64ULL << 20)

struct wal_loaded {
	struct raft_boot boot;		/* views into the buffers below */
	struct wal_recovery rec;
	struct wal_segment_view *segs;
	size_t n_segs;
	uint8_t *snap_buf;
	uint64_t meta_seq;		/* of the hard state loaded */
	int meta_next;			/* 1 or 2: the file to write next */
};

struct wal_writer {
	int dirfd, fd;
	uint64_t seg_no, seg_size, off, durable;
	uint64_t meta_seq;
	int meta_next;
	struct raft_hard_state hs;	/* as last written */
	struct wal_seg_info *segs;	/* every segment on disk, oldest first */
	size_t n_segs, cap_segs;
};

int wal_posix__load(const char *dir, struct wal_loaded *ld, char *err,
		    size_t errlen);
void wal_loaded__free(struct wal_loaded *ld);

int wal_writer__open(struct wal_writer *w, const char *dir,
		     const struct wal_loaded *ld, uint64_t seg_size);
int wal_writer__append(struct wal_writer *w, const struct raft_entry *e,
		       size_t n);
int wal_writer__sync(struct wal_writer *w);
int wal_writer__save_hard_state(struct wal_writer *w,
				const struct raft_hard_state *hs);
int wal_writer__save_snapshot(struct wal_writer *w,
			      const struct raft_snapshot *snap);
/* Persist one batch of raft__ready(); then call raft__persisted(). */
int wal_writer__persist(struct wal_writer *w, const struct raft_ready *rd);
/* Delete the oldest segments holding nothing above index upto. */
int wal_writer__compact(struct wal_writer *w, uint64_t upto);

/* For a driver that does its own I/O (gnomond's storage.c): */
/* Go on in segment seg_no, made and synced on fd; *old_fd is the file
 * to close (-1: none). */
int wal_writer__switch(struct wal_writer *w, int fd, uint64_t seg_no,
		       int *old_fd);
/* How many of the oldest segments hold nothing above upto (never the one
 * being written); forget the first n once their deletion is under way. */
size_t wal_writer__droppable(const struct wal_writer *w, uint64_t upto);
void wal_writer__forget(struct wal_writer *w, size_t n);
/* The writer's position, to plan from (wal_plan.h); and taking over the
 * position a plan leaves once it has completed (a plan that makes a
 * segment to go on in is preceded by wal_writer__switch()). */
void wal_writer__cursor(const struct wal_writer *w, struct wal_cursor *c);
void wal_writer__planned(struct wal_writer *w, const struct wal_plan *p);
void wal_writer__close(struct wal_writer *w);

#endif /* GNOMOND_WAL_POSIX_H */
