/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's backup file: what Maintenance.Snapshot streams (so what
 * `etcdctl snapshot save` writes) and what `gnomond --restore-snapshot`
 * starts a new cluster from.  gnomond's own format, not etcd's bbolt
 * database: `etcdctl snapshot status/restore` cannot read it.
 *
 *   header   64 bytes: the magic "gnomond backup\n" and a NUL, the version
 *            (u32), 4 zero bytes, then the store's revision, the Raft
 *            index and term it was applied at, the member that took it
 *            (u64 each, little-endian), and 8 zero bytes
 *   data     the MVCC store's snapshot bytes (mvcc_store__snapshot())
 *   trailer  zero bytes, then the data's length (u64), so that everything
 *            so far is a multiple of GD_BACKUP_ALIGN bytes
 *   sha256   32 bytes: the SHA-256 of everything before it
 *
 * etcd ends its snapshots (bbolt pages, so a multiple of 512 bytes) with
 * the SHA-256 of what precedes it, and etcdctl 3.4's `snapshot save`
 * refuses a file whose size is not 32 more than a multiple of 512: hence
 * the alignment.
 */
#ifndef GNOMOND_BACKUP_H
#define GNOMOND_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define GD_BACKUP_HEADER_SIZE	64
#define GD_BACKUP_SUM_SIZE	32
#define GD_BACKUP_VERSION	1
#define GD_BACKUP_ALIGN		512

struct gd_backup_header {
	int64_t revision;
	uint64_t index, term;
	uint64_t member_id;
};

void gd_backup__encode_header(uint8_t buf[GD_BACKUP_HEADER_SIZE],
			      const struct gd_backup_header *h);
/* The trailer after @len bytes of data, in @buf: its size. */
size_t gd_backup__trailer(uint8_t buf[GD_BACKUP_ALIGN + 8], uint64_t len);
/* Check a whole file's header and SHA-256: 0 with the header and the
 * store's bytes (*data, *len, pointing into @buf), or -EUCLEAN and why. */
int gd_backup__check(const uint8_t *buf, size_t size,
		     struct gd_backup_header *h, const uint8_t **data,
		     size_t *len, const char **why);

/* gnomond --restore-snapshot FILE --data-dir DIR: 0, or -errno after
 * saying why on stderr. */
int gd_backup__restore(const char *file, const char *dir, uint64_t seg_size);

#endif /* GNOMOND_BACKUP_H */
