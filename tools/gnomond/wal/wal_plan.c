// SPDX-License-Identifier: GPL-2.0
/*
 * The WAL's planner (wal_plan.h): the one place that says which file
 * operations make a batch, a segment, a snapshot or a deletion durable,
 * in which order, and when each part is durable.  No I/O: it fills a
 * list of steps and the buffers they write.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wal_plan.h"

void wal_plan__init(struct wal_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void wal_plan__free(struct wal_plan *p)
{
	free(p->rec);
	wal_plan__init(p);
}

void wal_plan__begin(struct wal_plan *p, const struct wal_cursor *c)
{
	assert(c->meta_next == 1 || c->meta_next == 2);
	p->n = 0;
	p->cur = *c;
	p->has_hs = p->has_snap = p->rolls = false;
	p->snap_index = p->first = p->last = p->rec_seg = p->new_seg = 0;
	p->n_drop = 0;
}

static struct wal_step *add(struct wal_plan *p, enum wal_op op,
			    enum wal_file file, enum wal_wait wait)
{
	struct wal_step *s;

	if (p->n == WAL_PLAN_MAX)
		return NULL;
	s = &p->steps[p->n++];
	*s = (struct wal_step){ .op = op, .file = file, .wait = wait };
	return s;
}

static int add_seg(struct wal_plan *p, enum wal_op op, uint64_t seg_no,
		   uint64_t off, const uint8_t *buf, uint64_t len)
{
	struct wal_step *s = add(p, op, WAL_FILE_SEG, WAL_WAIT_PREV);

	if (!s)
		return -E2BIG;
	s->seg_no = seg_no;
	s->off = off;
	s->buf = buf;
	s->len = len;
	return 0;
}

int wal_plan__open(struct wal_plan *p)
{
	if (!add(p, WAL_OP_CREATE, WAL_FILE_META1, WAL_WAIT_PREV) ||
	    !add(p, WAL_OP_CREATE, WAL_FILE_META2, WAL_WAIT_NONE) ||
	    !add(p, WAL_OP_FSYNC, WAL_FILE_DIR, WAL_WAIT_ALL))
		return -E2BIG;
	return 0;
}

int wal_plan__new_segment(struct wal_plan *p, uint64_t seg_no)
{
	struct wal_step *s;
	int rc;

	assert(seg_no);
	wal_segment__encode_header(p->seg_hdr, seg_no);
	rc = add_seg(p, WAL_OP_CREATE, seg_no, 0, NULL, 0);
	if (!rc)
		rc = add_seg(p, WAL_OP_FALLOCATE, seg_no, 0, NULL,
			     p->cur.seg_size);
	if (!rc)
		rc = add_seg(p, WAL_OP_WRITE, seg_no, 0, p->seg_hdr,
			     WAL_SEG_HEADER_SIZE);
	if (!rc)
		rc = add_seg(p, WAL_OP_DATASYNC, seg_no, 0, NULL, 0);
	if (rc)
		return rc;
	/* Its name is durable with the directory. */
	s = add(p, WAL_OP_FSYNC, WAL_FILE_DIR, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->durable = WAL_DUR_SEGMENT;
	p->new_seg = seg_no;
	return 0;
}

int wal_plan__roll(struct wal_plan *p)
{
	/* Everything in the current segment is durable before the next. */
	int rc = add_seg(p, WAL_OP_DATASYNC, p->cur.seg_no, 0, NULL, 0);

	if (!rc)
		rc = wal_plan__new_segment(p, p->cur.seg_no + 1);
	if (rc)
		return rc;
	p->cur.seg_no++;
	p->cur.off = p->cur.durable = WAL_SEG_HEADER_SIZE;
	p->rolls = true;
	return 0;
}

int wal_plan__snapshot(struct wal_plan *p, const struct raft_snapshot *snap,
		       enum wal_file tmp)
{
	struct wal_step *s;

	assert(tmp == WAL_FILE_SNAP_TMP || tmp == WAL_FILE_SNAP_RECV);
	wal_snap__encode_header(p->snap_hdr, snap);
	s = add(p, WAL_OP_CREATE, tmp, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->trunc = true;
	s = add(p, WAL_OP_WRITE, tmp, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->buf = p->snap_hdr;
	s->len = WAL_SNAP_HEADER_SIZE;
	for (uint64_t off = 0; off < snap->len; off += WAL_PLAN_CHUNK) {
		s = add(p, WAL_OP_WRITE, tmp, WAL_WAIT_PREV);
		if (!s)
			return -E2BIG;
		s->buf = snap->data + off;
		s->off = WAL_SNAP_HEADER_SIZE + off;
		s->len = snap->len - off < WAL_PLAN_CHUNK ? snap->len - off :
			 WAL_PLAN_CHUNK;
	}
	if (!add(p, WAL_OP_FSYNC, tmp, WAL_WAIT_PREV))
		return -E2BIG;
	/* Renamed only once whole and synced: a barrier. */
	s = add(p, WAL_OP_RENAME, tmp, WAL_WAIT_ALL);
	if (!s)
		return -E2BIG;
	s->to = WAL_FILE_SNAP;
	s = add(p, WAL_OP_FSYNC, WAL_FILE_DIR, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->durable = WAL_DUR_SNAP;
	p->has_snap = true;
	p->snap_index = snap->index;
	return 0;
}

int wal_plan__hard_state(struct wal_plan *p, const struct raft_hard_state *hs)
{
	enum wal_file f = p->cur.meta_next == 1 ? WAL_FILE_META1 :
			  WAL_FILE_META2;
	struct wal_step *s;

	wal_meta__encode(p->meta, hs, p->cur.meta_seq + 1);
	s = add(p, WAL_OP_WRITE, f, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->buf = p->meta;
	s->len = WAL_META_SIZE;
	s = add(p, WAL_OP_DATASYNC, f, WAL_WAIT_PREV);
	if (!s)
		return -E2BIG;
	s->durable = WAL_DUR_HS;
	p->cur.meta_seq++;
	p->cur.meta_next = 3 - p->cur.meta_next;
	p->cur.hs = *hs;
	p->has_hs = true;
	return 0;
}

int wal_plan__record(struct wal_plan *p, const struct raft_entry *e, size_t n)
{
	uint64_t size;
	size_t len;
	int rc;

	assert(n && !p->last);
	size = wal_record__size(e, n);
	if (size + WAL_SEG_HEADER_SIZE > p->cur.seg_size)
		return -EMSGSIZE;
	if (p->cur.off + size > p->cur.seg_size)
		return -ENOSPC;
	if (size > p->rec_cap) {
		void *v = realloc(p->rec, size);

		if (!v)
			return -ENOMEM;
		p->rec = v;
		p->rec_cap = size;
	}
	rc = wal_record__encode(p->rec, size, e, n, p->cur.durable, &len);
	if (!rc)
		rc = add_seg(p, WAL_OP_WRITE, p->cur.seg_no, p->cur.off, p->rec,
			     len);
	if (rc)
		return rc;
	p->cur.off += len;
	p->first = e[0].index;
	p->last = e[n - 1].index;
	p->rec_seg = p->cur.seg_no;
	return 0;
}

int wal_plan__sync(struct wal_plan *p)
{
	int rc = add_seg(p, WAL_OP_DATASYNC, p->cur.seg_no, 0, NULL, 0);

	if (rc)
		return rc;
	p->steps[p->n - 1].durable = WAL_DUR_ENTRIES;
	p->cur.durable = p->cur.off;
	return 0;
}

int wal_plan__drop(struct wal_plan *p, const uint64_t *seg_nos, size_t n)
{
	struct wal_step *s;

	if (!n)
		return 0;
	/* Oldest first; in any order among themselves. */
	for (size_t i = 0; i < n; i++) {
		assert(seg_nos[i] != p->cur.seg_no);
		if (add_seg(p, WAL_OP_UNLINK, seg_nos[i], 0, NULL, 0))
			return -E2BIG;
		if (i)
			p->steps[p->n - 1].wait = WAL_WAIT_NONE;
	}
	s = add(p, WAL_OP_FSYNC, WAL_FILE_DIR, WAL_WAIT_ALL);
	if (!s)
		return -E2BIG;
	s->durable = WAL_DUR_DROP;
	p->n_drop = n;
	return 0;
}

int wal_plan__batch(struct wal_plan *p, const struct raft_hard_state *hs,
		    const struct raft_entry *e, size_t n)
{
	int rc = 0;

	/* The term an entry carries is durable before the entry. */
	if (hs)
		rc = wal_plan__hard_state(p, hs);
	if (!rc && n)
		rc = wal_plan__record(p, e, n);
	if (!rc && n)
		rc = wal_plan__sync(p);
	return rc;
}

int wal_plan__persist(struct wal_plan *p, const struct raft_ready *rd)
{
	const struct raft_hard_state *hs = NULL;
	int rc = 0;

	/* The snapshot first: what comes with it goes on after it. */
	if (rd->snapshot)
		rc = wal_plan__snapshot(p, rd->snapshot, WAL_FILE_SNAP_TMP);
	if (rc)
		return rc;
	if (rd->has_hard_state && wal_meta__differs(&rd->hs, &p->cur.hs))
		hs = &rd->hs;
	if (rd->n_entries) {
		uint64_t size = wal_record__size(rd->entries, rd->n_entries);

		if (size + WAL_SEG_HEADER_SIZE > p->cur.seg_size)
			return -EMSGSIZE;
		if (p->cur.off + size > p->cur.seg_size)
			rc = wal_plan__roll(p);
	}
	if (!rc)
		rc = wal_plan__batch(p, hs, rd->entries, rd->n_entries);
	return rc;
}

unsigned int wal_plan__durable(const struct wal_plan *p, size_t k)
{
	unsigned int d = 0;

	assert(k <= p->n);
	for (size_t i = 0; i < k; i++)
		d |= p->steps[i].durable;
	return d;
}

void wal_file__name(char name[WAL_FILE_NAME_SIZE], enum wal_file file,
		    uint64_t seg_no)
{
	static const char *const names[] = {
		[WAL_FILE_DIR] = "",
		[WAL_FILE_META1] = "meta1",
		[WAL_FILE_META2] = "meta2",
		[WAL_FILE_SNAP] = WAL_SNAP_NAME,
		[WAL_FILE_SNAP_TMP] = WAL_SNAP_TMP,
		[WAL_FILE_SNAP_RECV] = WAL_SNAP_RECV_TMP,
	};

	if (file == WAL_FILE_SEG)
		wal_segment__name(name, seg_no);
	else
		snprintf(name, WAL_FILE_NAME_SIZE, "%s", names[file]);
}
