// SPDX-License-Identifier: GPL-2.0
/*
 * Encoders and decoders of the WAL, metadata and snapshot formats
 * (wal_format.h).  Every decoder bounds-checks lengths before use, checks
 * the header CRC before trusting any header field and the data CRC before
 * handing out any data.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "crc32c.h"
#include "wal_format.h"
#include "../peer/le_bytes.h"

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int corrupt(const char **why, const char *s)
{
	if (why)
		*why = s;
	return -EUCLEAN;
}

/* The header CRC sits in the last 4 bytes and covers everything before. */
static void seal(uint8_t *buf, size_t size)
{
	le_put32(buf + size - 4, crc32c(0, buf, size - 4));
}

static bool sealed(const uint8_t *buf, size_t size)
{
	return le_get32(buf + size - 4) == crc32c(0, buf, size - 4);
}

void wal_segment__encode_header(uint8_t buf[WAL_SEG_HEADER_SIZE],
				uint64_t seg_no)
{
	memset(buf, 0, WAL_SEG_HEADER_SIZE);
	le_put32(buf, WAL_SEG_MAGIC);
	le_put32(buf + 4, WAL_VERSION);
	le_put64(buf + 8, seg_no);
	seal(buf, WAL_SEG_HEADER_SIZE);
}

void wal_segment__name(char name[WAL_SEG_NAME_SIZE], uint64_t seg_no)
{
	snprintf(name, WAL_SEG_NAME_SIZE, "wal-%016llx.seg",
		 (unsigned long long)seg_no);
}

int wal_segment__decode_header(const uint8_t *buf, size_t len,
			       uint64_t *seg_no, const char **why)
{
	if (len < WAL_SEG_HEADER_SIZE)
		return corrupt(why, "segment shorter than its header");
	if (all_zero(buf, WAL_SEG_HEADER_SIZE))
		return -ENODATA;
	if (!sealed(buf, WAL_SEG_HEADER_SIZE) || le_get32(buf) != WAL_SEG_MAGIC)
		return corrupt(why, "bad segment header");
	if (le_get32(buf + 4) != WAL_VERSION)
		return corrupt(why, "unknown segment version");
	*seg_no = le_get64(buf + 8);
	return 0;
}

uint64_t wal_record__size(const struct raft_entry *entries, size_t n)
{
	uint64_t size = WAL_REC_HEADER_SIZE;

	for (size_t i = 0; i < n; i++)
		size += WAL_ENTRY_HEADER_SIZE + entries[i].len;
	return wal_align(size);
}

int wal_record__encode(uint8_t *buf, size_t cap,
		       const struct raft_entry *entries, size_t n,
		       uint64_t durable_end, size_t *len)
{
	uint64_t size = wal_record__size(entries, n);
	uint8_t *p = buf + WAL_REC_HEADER_SIZE;

	if (!n || size - WAL_REC_HEADER_SIZE > UINT32_MAX)
		return -EINVAL;
	if (cap < size)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		const struct raft_entry *e = &entries[i];

		if (e->index != entries[0].index + i)
			return -EINVAL;
		le_put64(p, e->term);
		le_put32(p + 8, e->type);
		le_put32(p + 12, e->len);
		if (e->len)
			memcpy(p + 16, e->data, e->len);
		p += WAL_ENTRY_HEADER_SIZE + e->len;
	}
	memset(p, 0, (size_t)(buf + size - p));
	le_put32(buf, WAL_REC_MAGIC);
	le_put32(buf + 4, WAL_REC_ENTRIES);
	le_put64(buf + 8, entries[0].index);
	le_put64(buf + 16, durable_end);
	le_put32(buf + 24, (uint32_t)n);
	le_put32(buf + 28, (uint32_t)(p - buf - WAL_REC_HEADER_SIZE));
	le_put32(buf + 32, crc32c(0, buf + WAL_REC_HEADER_SIZE,
			       (size_t)(p - buf - WAL_REC_HEADER_SIZE)));
	seal(buf, WAL_REC_HEADER_SIZE);
	*len = (size_t)size;
	return 0;
}

int wal_record__decode_header(const uint8_t *buf, size_t len,
			      struct wal_record *rec, const char **why)
{
	if (len < WAL_REC_HEADER_SIZE) {
		if (all_zero(buf, len))
			return -ENODATA;
		return corrupt(why, "record header cut short");
	}
	if (all_zero(buf, WAL_REC_HEADER_SIZE))
		return -ENODATA;
	if (!sealed(buf, WAL_REC_HEADER_SIZE) || le_get32(buf) != WAL_REC_MAGIC)
		return corrupt(why, "record header checksum mismatch");
	if (le_get32(buf + 4) != WAL_REC_ENTRIES)
		return corrupt(why, "unknown record type");
	rec->first_index = le_get64(buf + 8);
	rec->durable_end = le_get64(buf + 16);
	rec->count = le_get32(buf + 24);
	rec->data_len = le_get32(buf + 28);
	rec->data = NULL;
	if (!rec->first_index || !rec->count)
		return corrupt(why, "empty record or index 0");
	return 0;
}

int wal_record__decode(const uint8_t *buf, size_t len, struct wal_record *rec,
		       size_t *size, const char **why)
{
	uint64_t padded;
	int rc = wal_record__decode_header(buf, len, rec, why);

	if (rc)
		return rc;
	padded = wal_align((uint64_t)WAL_REC_HEADER_SIZE + rec->data_len);
	if (padded > len)
		return corrupt(why, "record data cut short");
	rec->data = buf + WAL_REC_HEADER_SIZE;
	if (crc32c(0, rec->data, rec->data_len) != le_get32(buf + 32))
		return corrupt(why, "record data checksum mismatch");
	if (!all_zero(rec->data + rec->data_len,
		      (size_t)(padded - WAL_REC_HEADER_SIZE - rec->data_len)))
		return corrupt(why, "record padding not zero");
	*size = (size_t)padded;
	return 0;
}

int wal_record__next_entry(const struct wal_record *rec, uint32_t i,
			   size_t *off, struct raft_entry *e, const char **why)
{
	if (rec->data_len - *off < WAL_ENTRY_HEADER_SIZE)
		return corrupt(why, "entry header beyond the record");
	e->term = le_get64(rec->data + *off);
	e->type = le_get32(rec->data + *off + 8);
	e->len = le_get32(rec->data + *off + 12);
	e->index = rec->first_index + i;
	*off += WAL_ENTRY_HEADER_SIZE;
	if (e->len > rec->data_len - *off)
		return corrupt(why, "entry data beyond the record");
	if (e->type > RAFT_ENTRY_TYPE_MAX || !e->term)
		return corrupt(why, "bad entry type or term");
	e->data = e->len ? rec->data + *off : NULL;
	*off += e->len;
	return 0;
}

void wal_meta__encode(uint8_t buf[WAL_META_SIZE],
		      const struct raft_hard_state *hs, uint64_t seq)
{
	memset(buf, 0, WAL_META_SIZE);
	le_put32(buf, WAL_META_MAGIC);
	le_put32(buf + 4, WAL_META_VERSION);
	le_put64(buf + 8, seq);
	le_put64(buf + 16, hs->term);
	le_put64(buf + 24, hs->vote);
	le_put64(buf + 32, hs->commit);
	le_put64(buf + 40, hs->promise_term);
	le_put64(buf + 48, hs->promise_end);
	le_put64(buf + 56, hs->lost_upto);
	seal(buf, WAL_META_SIZE);
}

bool wal_meta__differs(const struct raft_hard_state *hs,
		       const struct raft_hard_state *written)
{
	return hs->term != written->term || hs->vote != written->vote ||
	       hs->promise_term != written->promise_term ||
	       hs->promise_end != written->promise_end ||
	       hs->lost_upto != written->lost_upto;
}

int wal_meta__decode(const uint8_t *buf, size_t len,
		     struct raft_hard_state *hs, uint64_t *seq,
		     const char **why)
{
	uint32_t version;

	if (!len || (len <= WAL_META_SIZE && all_zero(buf, len)))
		return -ENODATA;
	if (len != WAL_META_SIZE && len != WAL_META_V1_SIZE)
		return corrupt(why, "metadata file of the wrong size");
	if (!sealed(buf, len) || le_get32(buf) != WAL_META_MAGIC)
		return corrupt(why, "metadata checksum mismatch");
	version = le_get32(buf + 4);
	if (version != (len == WAL_META_SIZE ? WAL_META_VERSION : 1))
		return corrupt(why, "unknown metadata version");
	hs->lost_upto = version == 1 ? 0 : le_get64(buf + 56);
	*seq = le_get64(buf + 8);
	hs->term = le_get64(buf + 16);
	hs->vote = le_get64(buf + 24);
	hs->commit = le_get64(buf + 32);
	hs->promise_term = le_get64(buf + 40);
	hs->promise_end = le_get64(buf + 48);
	if (!*seq || hs->vote > RAFT_MAX_MEMBERS)
		return corrupt(why, "metadata fields out of range");
	return 0;
}

void wal_snap__encode_header(uint8_t buf[WAL_SNAP_HEADER_SIZE],
			     const struct raft_snapshot *snap)
{
	memset(buf, 0, WAL_SNAP_HEADER_SIZE);
	le_put32(buf, WAL_SNAP_MAGIC);
	le_put32(buf + 4, WAL_SNAP_VERSION);
	le_put64(buf + 8, snap->index);
	le_put64(buf + 16, snap->term);
	le_put64(buf + 24, snap->len);
	le_put32(buf + 32, crc32c(0, snap->data, (size_t)snap->len));
	le_put32(buf + 36, snap->membership.voters);
	le_put32(buf + 40, snap->membership.learners);
	seal(buf, WAL_SNAP_HEADER_SIZE);
}

size_t wal_snap__header_size(const uint8_t *buf)
{
	switch (le_get32(buf + 4)) {
	case 1:
		return WAL_SNAP_V1_HEADER_SIZE;
	case WAL_SNAP_VERSION:
		return WAL_SNAP_HEADER_SIZE;
	default:
		return 0;
	}
}

int wal_snap__decode_header(const uint8_t buf[WAL_SNAP_HEADER_SIZE],
			    struct raft_snapshot *snap, const char **why)
{
	size_t size = wal_snap__header_size(buf);
	const uint32_t slots = ((1U << RAFT_MAX_MEMBERS) - 1) << 1;

	if (le_get32(buf) != WAL_SNAP_MAGIC)
		return corrupt(why, "snapshot header checksum mismatch");
	if (!size)
		return corrupt(why, "unknown snapshot version");
	if (!sealed(buf, size))
		return corrupt(why, "snapshot header checksum mismatch");
	snap->index = le_get64(buf + 8);
	snap->term = le_get64(buf + 16);
	snap->len = le_get64(buf + 24);
	snap->data = NULL;
	/* Version 1 did not record the config: both masks zero. */
	snap->membership.voters = size > 40 ? le_get32(buf + 36) : 0;
	snap->membership.learners = size > 40 ? le_get32(buf + 40) : 0;
	if (!snap->index || !snap->term)
		return corrupt(why, "snapshot index or term 0");
	if ((snap->membership.voters | snap->membership.learners) & ~slots ||
	    snap->membership.voters & snap->membership.learners)
		return corrupt(why, "snapshot config out of range");
	return 0;
}

int wal_snap__decode(const uint8_t *buf, size_t len,
		     struct raft_snapshot *snap, const char **why)
{
	size_t hdr;
	int rc;

	if (len < WAL_SNAP_V1_HEADER_SIZE)
		return corrupt(why, "snapshot shorter than its header");
	hdr = wal_snap__header_size(buf);
	if (hdr > len)
		return corrupt(why, "snapshot shorter than its header");
	rc = wal_snap__decode_header(buf, snap, why);
	if (rc)
		return rc;
	if (snap->len != len - hdr)
		return corrupt(why, "snapshot length does not match the file");
	snap->data = buf + hdr;
	if (crc32c(0, snap->data, (size_t)snap->len) != le_get32(buf + 32))
		return corrupt(why, "snapshot data checksum mismatch");
	return 0;
}
