/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On-disk formats of gnomond's durable state, encoded and decoded without
 * any I/O (Documentation/wal-format.rst has the full description):
 *
 *   segment   "wal-<16 hex seg_no>.seg": a 32-byte header, then records, each
 *             8-byte aligned; preallocated, so the unused tail reads zero
 *   record    a 40-byte header with CRC32C of the header and of the data,
 *             then `count` entries from first_index on, zero padded; a
 *             record whose
 *             first_index is at or below the log's end replaces the entries
 *             from there (follower truncation needs no record of its own)
 *   meta      "meta1"/"meta2": the hard state (term, vote, commit, lease
 *             promise, lost entries) with a sequence number, written
 *             alternately; version 1 (64 bytes, no lost_upto) is still
 *             read
 *   snapshot  "snapshot" (replaced by rename): a header, then the state
 *             machine's bytes; version 2 (48 bytes) records the config as
 *             of the snapshot, version 1 (40 bytes, config unknown: read
 *             as both masks zero) is still read
 *
 * Integers little-endian.  Decoders return -EUCLEAN for corrupt input
 * (with a reason), -ENODATA for an all-zero (never written) area.
 */
#ifndef GNOMOND_WAL_FORMAT_H
#define GNOMOND_WAL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../raft/raft.h"

#define WAL_SEG_MAGIC		0x53574e47U	/* "GNWS" */
#define WAL_REC_MAGIC		0x52574e47U	/* "GNWR" */
#define WAL_META_MAGIC		0x4d574e47U	/* "GNWM" */
#define WAL_SNAP_MAGIC		0x50534e47U	/* "GNSP" */
#define WAL_VERSION		1
#define WAL_SEG_HEADER_SIZE	32
#define WAL_REC_HEADER_SIZE	40
#define WAL_ENTRY_HEADER_SIZE	16
#define WAL_META_SIZE		72
#define WAL_META_V1_SIZE	64
#define WAL_META_VERSION	2
#define WAL_SNAP_HEADER_SIZE	48
#define WAL_SNAP_V1_HEADER_SIZE	40
#define WAL_SNAP_VERSION	2
#define WAL_REC_ENTRIES		1
#define WAL_ALIGN		8
#define WAL_SEG_NAME_SIZE	25	/* "wal-%016x.seg" and its NUL */
#define WAL_SNAP_NAME		"snapshot"
#define WAL_SNAP_TMP		"snapshot.tmp"	/* the member's own */
#define WAL_SNAP_RECV_TMP	"snapshot.recv"	/* one from the leader */

struct wal_record {
	uint64_t first_index;
	uint64_t durable_end;	/* segment offset known synced at write */
	uint32_t count;
	uint32_t data_len;	/* bytes of entries, before padding */
	const uint8_t *data;
};

static inline uint64_t wal_align(uint64_t n)
{
	return (n + WAL_ALIGN - 1) & ~(uint64_t)(WAL_ALIGN - 1);
}

void wal_segment__encode_header(uint8_t buf[WAL_SEG_HEADER_SIZE],
				uint64_t seg_no);
void wal_segment__name(char name[WAL_SEG_NAME_SIZE], uint64_t seg_no);
int wal_segment__decode_header(const uint8_t *buf, size_t len,
			       uint64_t *seg_no, const char **why);

/* Size of the record holding entries[0..n) (header, data, padding). */
uint64_t wal_record__size(const struct raft_entry *entries, size_t n);
/* -ENOSPC if cap is short, -EINVAL if the entries are not consecutive. */
int wal_record__encode(uint8_t *buf, size_t cap,
		       const struct raft_entry *entries, size_t n,
		       uint64_t durable_end, size_t *len);
/* Check and decode a record header alone (rec->data is not set). */
int wal_record__decode_header(const uint8_t *buf, size_t len,
			      struct wal_record *rec, const char **why);
/* Decode the record at buf (len bytes available); *size is its padded
 * length.  -ENODATA: the header is all zero (end of the written part). */
int wal_record__decode(const uint8_t *buf, size_t len, struct wal_record *rec,
		       size_t *size, const char **why);
/* Walk a decoded record's entries: *off starts at 0. */
int wal_record__next_entry(const struct wal_record *rec, uint32_t i,
			   size_t *off, struct raft_entry *e, const char **why);

void wal_meta__encode(uint8_t buf[WAL_META_SIZE],
		      const struct raft_hard_state *hs, uint64_t seq);
int wal_meta__decode(const uint8_t *buf, size_t len,
		     struct raft_hard_state *hs, uint64_t *seq,
		     const char **why);
/* Does hs need a metadata write, given what was written last?  Not for the
 * commit index alone (it is advisory). */
bool wal_meta__differs(const struct raft_hard_state *hs,
		       const struct raft_hard_state *written);

void wal_snap__encode_header(uint8_t buf[WAL_SNAP_HEADER_SIZE],
			     const struct raft_snapshot *snap);
/* The header alone (index, term, len; data NULL): what a file holds. */
/* Also reads a version 1 header (its data starts at
 * WAL_SNAP_V1_HEADER_SIZE: wal_snap__header_size()). */
int wal_snap__decode_header(const uint8_t buf[WAL_SNAP_HEADER_SIZE],
			    struct raft_snapshot *snap, const char **why);
/* The size of the header at buf (its version), 0 if unknown. */
size_t wal_snap__header_size(const uint8_t *buf);
/* Checks the header and the data's CRC; snap->data points into buf. */
int wal_snap__decode(const uint8_t *buf, size_t len,
		     struct raft_snapshot *snap, const char **why);

#endif /* GNOMOND_WAL_FORMAT_H */
