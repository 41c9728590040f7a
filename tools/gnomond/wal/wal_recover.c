// SPDX-License-Identifier: GPL-2.0
/*
 * WAL recovery (wal_recover.h): scan the segments in order, apply each
 * record to an in-memory log of entry views, and decide at the first bad
 * record whether it is a torn tail or corruption.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "wal_recover.h"

__attribute__((format(printf, 2, 3)))
static int refuse(struct wal_recovery *rec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rec->error, sizeof(rec->error), fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

static int push(struct wal_recovery *rec, const struct raft_entry *e)
{
	if (rec->n == rec->cap) {
		struct raft_entry *v = grow__array(rec->entries, &rec->cap,
						   rec->n + 1, sizeof(*v), 256);

		if (!v)
			return -ENOMEM;
		rec->entries = v;
	}
	rec->entries[rec->n++] = *e;
	return 0;
}

/* Apply one valid record; -EUCLEAN (with the reason) if it cannot be. */
static int apply(struct wal_recovery *rec, const struct wal_record *r,
		 uint64_t seg_no, uint64_t off)
{
	uint64_t first = rec->n ? rec->entries[0].index : r->first_index;
	uint64_t last = rec->n ? first + rec->n - 1 : first - 1;
	const char *why = NULL;
	size_t pos = 0;
	int rc;

	/* A gap the snapshot covers: the entries before it are in the
	 * snapshot (a follower that installed one from its leader). */
	if (r->first_index > last + 1 && r->first_index <= rec->snap_index + 1) {
		first = r->first_index;
		last = first - 1;
	}
	if (r->first_index > last + 1)
		return refuse(rec, "segment %llu offset %llu: entry %llu after "
			      "%llu leaves a gap", (unsigned long long)seg_no,
			      (unsigned long long)off,
			      (unsigned long long)r->first_index,
			      (unsigned long long)last);
	rec->n = r->first_index < first ? 0 : r->first_index - first;
	for (uint32_t i = 0; i < r->count; i++) {
		struct raft_entry e;

		rc = wal_record__next_entry(r, i, &pos, &e, &why);
		if (rc)
			return refuse(rec, "segment %llu offset %llu: %s",
				      (unsigned long long)seg_no,
				      (unsigned long long)off, why);
		if (rec->n && e.term < rec->entries[rec->n - 1].term)
			return refuse(rec, "segment %llu offset %llu: term "
				      "goes down at entry %llu",
				      (unsigned long long)seg_no,
				      (unsigned long long)off,
				      (unsigned long long)e.index);
		rc = push(rec, &e);
		if (rc)
			return rc;
	}
	if (wal_align(pos) != wal_align(r->data_len))
		return refuse(rec, "segment %llu offset %llu: record length "
			      "does not match its entries",
			      (unsigned long long)seg_no,
			      (unsigned long long)off);
	return 0;
}

static bool zero_from(const struct wal_segment_view *s, size_t off)
{
	for (size_t i = off; i < s->len; i++)
		if (s->buf[i])
			return false;
	return true;
}

/* Does a valid record after `bad` say that `bad` was already durable? */
static bool covered_later(const struct wal_segment_view *s, size_t bad)
{
	for (size_t o = bad + WAL_ALIGN; o + WAL_REC_HEADER_SIZE <= s->len;
	     o += WAL_ALIGN) {
		struct wal_record r;
		size_t size;

		if (s->buf[o] != (uint8_t)WAL_REC_MAGIC)
			continue;
		if (!wal_record__decode(s->buf + o, s->len - o, &r, &size,
					NULL) && r.durable_end > bad)
			return true;
	}
	return false;
}

/* A record whose header is whole but whose data the file's end cuts: the
 * last index it held, 0 if the bad record at off is anything else. */
static uint64_t cut_record(const struct wal_segment_view *s, size_t off)
{
	struct wal_record r;

	if (wal_record__decode_header(s->buf + off, s->len - off, &r, NULL) ||
	    wal_align((uint64_t)WAL_REC_HEADER_SIZE + r.data_len) <=
	    s->len - off)
		return 0;
	return r.first_index + r.count - 1;
}

/*
 * Never written to: too short for a header, or nothing after the header
 * (which may be whole, torn or missing).  The writer makes the next segment
 * ahead of time, so one such segment (or a half-made one, after a crash)
 * may follow the last segment in use.
 */
static bool unused_segment(const struct wal_segment_view *s)
{
	return s->len < WAL_SEG_HEADER_SIZE || zero_from(s, WAL_SEG_HEADER_SIZE);
}

static int scan_segment(struct wal_recovery *rec,
			const struct wal_segment_view *s, bool last)
{
	struct wal_seg_info *info = &rec->segs[rec->n_segs++];
	size_t off = WAL_SEG_HEADER_SIZE;
	const char *why = NULL;
	uint64_t seg_no;
	int rc;

	info->seg_no = s->seg_no;
	info->max_index = 0;
	rc = wal_segment__decode_header(s->buf, s->len, &seg_no, &why);
	if (rc == -ENODATA)
		why = "segment header missing";
	if (rc)
		return refuse(rec, "segment %llu: %s",
			      (unsigned long long)s->seg_no, why);
	if (seg_no != s->seg_no)
		return refuse(rec, "segment %llu: header says %llu",
			      (unsigned long long)s->seg_no,
			      (unsigned long long)seg_no);
	for (;;) {
		struct wal_record r;
		size_t size;

		rc = wal_record__decode(s->buf + off, s->len - off, &r, &size,
					&why);
		if (rc == -ENODATA && zero_from(s, off))
			break;
		if (rc == -ENODATA)
			why = "data after the end of the log";
		else if (!rc && r.durable_end > off)
			rc = -EUCLEAN, why = "record claims a future sync";
		if (!rc) {
			rc = apply(rec, &r, s->seg_no, off);
			if (rc)
				return rc;
			if (r.first_index + r.count - 1 > info->max_index)
				info->max_index = r.first_index + r.count - 1;
			off += size;
			continue;
		}
		if (!last || covered_later(s, off))
			return refuse(rec, "segment %llu offset %zu: %s; the "
				      "data there had been synced: refusing "
				      "to start", (unsigned long long)s->seg_no,
				      off, why);
		rec->torn_bytes = s->len - off;
		rec->lost_upto = cut_record(s, off);
		break;
	}
	rec->tail_offset = off;
	return 0;
}

int wal__recover(const struct wal_segment_view *segs, size_t n_segs,
		 uint64_t snap_index, struct wal_recovery *rec)
{
	size_t used = n_segs;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	rec->snap_index = snap_index;
	rec->segs = calloc(n_segs ? n_segs : 1, sizeof(*rec->segs));
	if (!rec->segs)
		return -ENOMEM;
	for (size_t i = 1; i < n_segs; i++)
		if (segs[i].seg_no <= segs[i - 1].seg_no)
			return refuse(rec, "segments out of order");
	while (used && unused_segment(&segs[used - 1]))
		used--;
	rec->n_unused = n_segs - used;
	rec->tail_offset = used ? 0 : WAL_SEG_HEADER_SIZE;
	for (size_t i = 0; i < used && !rc; i++)
		rc = scan_segment(rec, &segs[i], i == used - 1);
	return rc;
}

void wal_recovery__free(struct wal_recovery *rec)
{
	free(rec->entries);
	free(rec->segs);
	rec->entries = NULL;
	rec->segs = NULL;
	rec->n = rec->cap = rec->n_segs = 0;
}
