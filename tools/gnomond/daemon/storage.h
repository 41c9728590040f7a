/* SPDX-License-Identifier: GPL-2.0 */
/* The WAL writer's state inside gnomond (storage.c). */
#ifndef GNOMOND_DAEMON_STORAGE_H
#define GNOMOND_DAEMON_STORAGE_H

#include "daemon.h"

/* An entry waiting for the next chain; its bytes are in pdata at off. */
struct gd_pentry {
	uint64_t term, index;
	uint32_t type, len;
	size_t off;
};

struct gd_storage {
	struct wal_writer w;
	int meta_fd[2];			/* meta1, meta2 */
	struct raft_hard_state last_hs;	/* newest handed in */

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

	/* In flight. */
	bool busy;
	uint64_t fl_seq, fl_last;
	bool fl_hs;
	struct raft_hard_state fl_hs_val;
	size_t fl_len;
	uint8_t meta_buf[WAL_META_SIZE];
	struct gd_buf rec;
	struct gd_op ops[4];
	int expect, got, err;
};

void gd_storage__on_complete(struct gnomond *d, struct gd_op *op, int res,
			     uint32_t flags);

#endif /* GNOMOND_DAEMON_STORAGE_H */
