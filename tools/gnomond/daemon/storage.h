/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The WAL writer's state inside gnomond: the group-commit chain
 * (storage.c) and the rare file operations (storage_files.c), all through
 * the ring.
 */
#ifndef GNOMOND_DAEMON_STORAGE_H
#define GNOMOND_DAEMON_STORAGE_H

#include "daemon.h"

#define GD_CHAIN_MAX 8

struct gd_chain;
typedef void (*gd_chain_fn)(struct gnomond *d, struct gd_chain *c);

struct gd_chain_op {
	struct gd_op op;
	struct gd_chain *c;
	uint32_t want;		/* a write's length; 0: any result >= 0 */
	bool may_be_gone;	/* -ENOENT is no failure (an unlink) */
	int res;
	char name[WAL_FILE_NAME_SIZE], to[WAL_FILE_NAME_SIZE];
};

/*
 * Operations submitted together (linked or not) and counted: done runs
 * once all have completed, with err the first real failure (a link's
 * -ECANCELED only if nothing else failed).
 */
struct gd_chain {
	struct gd_chain_op ops[GD_CHAIN_MAX];
	int n, got, err;
	bool busy;
	gd_chain_fn done;
};

/* An entry waiting for the next chain; its bytes are in pdata at off. */
struct gd_pentry {
	uint64_t term, index;
	uint32_t type, len;
	size_t off;
};

enum gd_next_state { GD_NEXT_NONE, GD_NEXT_MAKING, GD_NEXT_READY };

struct gd_storage {
	struct wal_writer w;
	int meta_fd[2];			/* meta1, meta2 */
	struct raft_hard_state last_hs;	/* newest handed in */
	bool busy;			/* any operation in flight */

	/* Waiting for the next chain. */
	uint64_t pend_seq;		/* 0: nothing */
	bool pend_hs_set;
	struct raft_hard_state pend_hs;
	uint8_t *pend_snap_data;
	struct raft_snapshot pend_snap;
	struct gd_pentry *pe;
	size_t n_pe, cap_pe;
	struct gd_buf pdata;
	struct raft_entry *enc;
	size_t cap_enc;

	/* The group-commit chain in flight, and its plan. */
	struct gd_chain wr;
	struct wal_plan wr_plan;
	uint64_t fl_seq;		/* 0: part of a batch */

	/* The next segment, made ahead (storage_files.c). */
	struct gd_chain seg;
	enum gd_next_state next;
	int next_fd, old_fd;		/* old_fd: closed by the next chain */
	uint64_t next_no;
	bool no_fallocate;		/* the file system has none */
	struct wal_plan seg_plan;

	/* Deleting the segments a durable snapshot covers. */
	struct gd_chain drop;
	uint64_t drop_upto;		/* the highest index asked for */
	bool drop_synced;		/* stage: unlinks, then the dir sync */
	struct wal_plan drop_plan;

	/* Writing a snapshot received from the leader. */
	struct gd_chain snap;
	int snap_stage;			/* 0: idle, 1: open, 2: data, 3: */
					/* rename, 4: durable */
	int snap_fd;
	bool snap_child_gone;		/* no child can rename over it */
	uint8_t *snap_data;
	struct raft_snapshot snap_meta;
	struct wal_plan snap_plan;
	size_t snap_rename;		/* the plan's rename step */
	struct gd_op child_op;		/* poll on the killed child's pidfd */
	int child_pidfd;
	int child_pid;
};

void gd_storage__update_busy(struct gd_storage *st);

/* storage_files.c: the chains. */
/* Make room for n operations submitted together (never split). */
void gd_chain__begin(struct gnomond *d, struct gd_chain *c, int n,
		     gd_chain_fn done);
/* The next operation; NULL if the ring failed (the loop is stopping). */
struct io_uring_sqe *gd_chain__add(struct gnomond *d, struct gd_chain *c,
				   uint32_t want, bool link);
void gd_chain__end(struct gd_storage *st, struct gd_chain *c);
/* Steps [from, to) of a plan, each linked to the next if that waits for
 * it; false if the ring failed.  CREATE steps are the caller's. */
bool gd_chain__add_steps(struct gnomond *d, struct gd_chain *c,
			 const struct wal_plan *p, size_t from, size_t to);

/* storage_files.c: the rare file operations. */
/* Start making the next segment if none is made or being made. */
void gd_storage__prepare_next(struct gnomond *d);
/* Go on in the next segment, if it is ready: 0, -EAGAIN (not yet, a
 * completion will come), or -errno. */
int gd_storage__roll(struct gnomond *d);
/* Start writing the waiting received snapshot. */
void gd_storage__save_snapshot(struct gnomond *d);
void gd_storage__files_close(struct gd_storage *st);

#endif /* GNOMOND_DAEMON_STORAGE_H */
