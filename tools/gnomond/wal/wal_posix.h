/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin POSIX file helpers around the pure WAL logic: load a data directory
 * into a raft_boot, and a blocking writer (pwrite + fdatasync) for tests
 * and tools.  The io_uring driver does its own writes with the same
 * encoders (wal_format.h) and the same rules:
 *
 *   - a segment is preallocated with fallocate() and starts with its
 *     header; records are appended at wal_writer.off;
 *   - a record's durable_end is the offset synced before it was written;
 *   - a full segment is synced before the next one is created;
 *   - hard state goes to meta1 and meta2 alternately, each write synced;
 *   - a snapshot is written to a temporary file, synced, renamed, and the
 *     directory synced;
 *   - changed hard state is synced before the entries of the same batch
 *     (an entry's term is never above the durable term), and the commit
 *     index alone is not worth a write (it is advisory after a restart);
 *   - segments whose entries a durable snapshot covers are deleted, oldest
 *     first, never the one being written.
 *
 * wal_writer__persist() does all of it for one raft__ready() batch: the
 * reference for the io_uring driver, and what the tests use.
 *
 * Errors: -errno from the system, -EUCLEAN with a message in err for
 * corruption that recovery refuses to paper over.
 */
#ifndef GNOMOND_WAL_POSIX_H
#define GNOMOND_WAL_POSIX_H

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
void wal_writer__close(struct wal_writer *w);

#endif /* GNOMOND_WAL_POSIX_H */
