/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WAL recovery decisions, pure: given the bytes of every segment (read by
 * the caller), rebuild the log or refuse.
 *
 *   - A segment other than the last must be intact to its end (the writer
 *     syncs a segment before it starts the next one): any bad record there
 *     is corruption, and recovery refuses (-EUCLEAN, with where and why).
 *   - In the last segment, a bad record at offset X is a torn write, to be
 *     treated as never written, unless a valid record after it says (by its
 *     durable_end) that X had already been synced: then it is corruption of
 *     acknowledged data and recovery refuses.
 *   - A torn write never shortens a file: segments are preallocated, and a
 *     record is written whole into the zeroed space.  So a last record
 *     whose header is intact but whose data runs past the end of the file
 *     was cut after it was written, maybe after it was synced and its
 *     entries acknowledged.  Recovery drops it like a torn tail but says
 *     so: lost_upto is the last index it held, for the Raft core's rule
 *     on members that lost entries (raft.h).  A cut inside the header, or
 *     damage inside the file, cannot be told from a torn write.
 *   - Segments after the last one holding a record were never written to:
 *     the writer makes the next segment ahead of time (a header, or a
 *     half-made file after a crash).  They are not scanned, only counted
 *     (n_unused), and the segment before them is the last one.
 *   - A record starting at or below the log's end replaces the entries from
 *     there (follower truncation); a record that would leave a gap is
 *     corruption unless the snapshot covers the gap (a follower that
 *     installed its leader's snapshot goes on after it), and entries whose
 *     terms go down are corruption.
 */
#ifndef GNOMOND_WAL_RECOVER_H
#define GNOMOND_WAL_RECOVER_H

#include <stddef.h>
#include <stdint.h>
#include "wal_format.h"

struct wal_segment_view {
	uint64_t seg_no;	/* from the file name */
	const uint8_t *buf;
	size_t len;
};

/* The highest index each segment wrote: what compaction needs to know. */
struct wal_seg_info {
	uint64_t seg_no;
	uint64_t max_index;	/* 0: no record */
};

struct wal_recovery {
	struct raft_entry *entries;	/* data points into the segments */
	size_t n, cap;
	struct wal_seg_info *segs;	/* one per segment in use */
	size_t n_segs;
	size_t n_unused;	/* segments after those, never written to */
	uint64_t snap_index;	/* of the snapshot that goes with the log */
	uint64_t tail_offset;	/* where appends continue in the last segment */
	uint64_t torn_bytes;	/* bytes discarded at the tail (0: clean) */
	uint64_t lost_upto;	/* last index of a record cut short (0: none) */
	char error[256];
};

int wal__recover(const struct wal_segment_view *segs, size_t n_segs,
		 uint64_t snap_index, struct wal_recovery *rec);
void wal_recovery__free(struct wal_recovery *rec);

#endif /* GNOMOND_WAL_RECOVER_H */
