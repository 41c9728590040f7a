/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The WAL's durability order, written once and free of I/O: what must
 * become durable turns into a plan, a list of file operations (create,
 * fallocate, write, sync, rename, unlink) with, for each, what it must wait
 * for and what is durable once it has completed.  Executors carry a plan
 * out without deciding anything: wal_posix.c with blocking calls (start-up,
 * tools, tests), daemon/storage*.c as linked SQEs, and the simulation's
 * disk (sim/sim_disk.c), which runs every persist batch's plan step by
 * step and keeps after a crash what the steps completed so far made
 * durable.  selftests/gnomond/wal_plan_test.c runs plans on a model file
 * system and crashes after every step.
 *
 * The rules (Documentation/wal-format.rst, "Writing rules"):
 *
 *   - a record is appended at the cursor and made durable by a fdatasync
 *     of its segment; its durable_end is the offset synced before it;
 *   - a new segment is created, preallocated, given its header, synced,
 *     and its directory synced, before anything is written to it; the
 *     current one is synced before the writer goes on in the next;
 *   - hard state goes to meta1 and meta2 alternately, each write synced,
 *     and before the entries of the same batch (an entry's term is never
 *     above the durable term);
 *   - a snapshot goes to a temporary file, synced, renamed over
 *     "snapshot", and the directory synced, before the hard state and
 *     entries that came with it;
 *   - deleted segments are durable with a sync of their directory.
 *
 * Steps run in order; WAL_WAIT_PREV (the default) means after the previous
 * step has completed (an io_uring link), WAL_WAIT_NONE alongside it,
 * WAL_WAIT_ALL after every earlier step.  A step's `durable` flags hold
 * once it and every step before it have completed.  The plan owns the
 * small buffers its writes point into (and the record); a snapshot's data
 * is the caller's, and must outlive the plan's execution.
 *
 * The plan's cursor (struct wal_cursor) starts as the writer's and ends
 * where the writer is once the plan has completed; the writer takes it
 * over then (wal_writer__planned(), wal_posix.h).
 */
#ifndef GNOMOND_WAL_PLAN_H
#define GNOMOND_WAL_PLAN_H

#include "wal_format.h"

enum wal_op {
	WAL_OP_CREATE,		/* open, creating it; trunc: emptied too */
	WAL_OP_FALLOCATE,	/* len bytes from 0, reading zero */
	WAL_OP_WRITE,		/* len bytes of buf at off */
	WAL_OP_DATASYNC,	/* fdatasync */
	WAL_OP_FSYNC,		/* fsync: the file, or the directory's names */
	WAL_OP_RENAME,		/* file over `to` */
	WAL_OP_UNLINK,
};

enum wal_file {
	WAL_FILE_DIR,
	WAL_FILE_SEG,		/* wal-<seg_no>.seg */
	WAL_FILE_META1,
	WAL_FILE_META2,
	WAL_FILE_SNAP,
	WAL_FILE_SNAP_TMP,	/* the member's own snapshot */
	WAL_FILE_SNAP_RECV,	/* one from the leader */
};

enum wal_wait {
	WAL_WAIT_PREV,
	WAL_WAIT_NONE,
	WAL_WAIT_ALL,
};

/* What is durable once a step and all before it have completed. */
#define WAL_DUR_SEGMENT	(1u << 0)	/* the new segment, ready for records */
#define WAL_DUR_SNAP	(1u << 1)	/* the snapshot */
#define WAL_DUR_HS	(1u << 2)	/* the hard state */
#define WAL_DUR_ENTRIES	(1u << 3)	/* the records written so far */
#define WAL_DUR_DROP	(1u << 4)	/* the segments' deletion */

#define WAL_PLAN_MAX	32
#define WAL_PLAN_CHUNK	(1u << 30)	/* largest single write */
#define WAL_FILE_NAME_SIZE WAL_SEG_NAME_SIZE

struct wal_step {
	uint8_t op;		/* enum wal_op */
	uint8_t file;		/* enum wal_file */
	uint8_t wait;		/* enum wal_wait */
	uint8_t durable;	/* WAL_DUR_* */
	uint8_t to;		/* RENAME: the new name (enum wal_file) */
	bool trunc;		/* CREATE */
	uint64_t seg_no;	/* WAL_FILE_SEG */
	uint64_t off, len;
	const uint8_t *buf;
};

/* Where the writer is: the planner's only input besides the request. */
struct wal_cursor {
	uint64_t seg_no, seg_size;
	uint64_t off;		/* the next record goes here */
	uint64_t durable;	/* synced up to here */
	uint64_t meta_seq;	/* of the last hard state written */
	int meta_next;		/* 1 or 2 */
	struct raft_hard_state hs;	/* as last written */
};

struct wal_plan {
	struct wal_step steps[WAL_PLAN_MAX];
	size_t n;
	struct wal_cursor cur;	/* as the plan leaves it */
	/* What the plan makes durable (its steps say when). */
	bool has_hs, has_snap, rolls;
	uint64_t snap_index;
	uint64_t first, last;	/* entries written (last 0: none) */
	uint64_t rec_seg;	/* the segment they went to */
	uint64_t new_seg;	/* a segment made (0: none) */
	size_t n_drop;		/* segments unlinked */
	/* Buffers the writes point into. */
	uint8_t meta[WAL_META_SIZE];
	uint8_t seg_hdr[WAL_SEG_HEADER_SIZE];
	uint8_t snap_hdr[WAL_SNAP_HEADER_SIZE];
	uint8_t *rec;
	size_t rec_cap;
};

void wal_plan__init(struct wal_plan *p);
void wal_plan__free(struct wal_plan *p);
/* Start an empty plan from the writer's position. */
void wal_plan__begin(struct wal_plan *p, const struct wal_cursor *c);

/* The parts: each appends its steps (-E2BIG if the plan is full). */
/* A writer's start: both metadata files exist, and durably so, before a
 * hard state is written to either. */
int wal_plan__open(struct wal_plan *p);
int wal_plan__new_segment(struct wal_plan *p, uint64_t seg_no);
int wal_plan__roll(struct wal_plan *p);
int wal_plan__snapshot(struct wal_plan *p, const struct raft_snapshot *snap,
		       enum wal_file tmp);
int wal_plan__hard_state(struct wal_plan *p, const struct raft_hard_state *hs);
/* The record alone, unsynced: -ENOSPC if it does not fit the segment. */
int wal_plan__record(struct wal_plan *p, const struct raft_entry *e, size_t n);
int wal_plan__sync(struct wal_plan *p);
int wal_plan__drop(struct wal_plan *p, const uint64_t *seg_nos, size_t n);

/* One group commit: hard state (if hs), then the record, synced.  The
 * entries must fit the current segment. */
int wal_plan__batch(struct wal_plan *p, const struct raft_hard_state *hs,
		    const struct raft_entry *e, size_t n);
/* One raft__ready() batch, all of it: the snapshot, the hard state if it
 * changed, a roll if the record does not fit, the record. */
int wal_plan__persist(struct wal_plan *p, const struct raft_ready *rd);

/* What is durable once steps [0, k) have completed. */
unsigned int wal_plan__durable(const struct wal_plan *p, size_t k);
/* The file's name in the data directory ("" for the directory). */
void wal_file__name(char name[WAL_FILE_NAME_SIZE], enum wal_file file,
		    uint64_t seg_no);

#endif /* GNOMOND_WAL_PLAN_H */
