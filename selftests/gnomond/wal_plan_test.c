// SPDX-License-Identifier: GPL-2.0
/*
 * The WAL planner (wal_plan.h), crashed at every step.  A writer's life
 * (segments made, batches of entries with and without hard state, rolls
 * into new segments, snapshots and the deletion of the segments they
 * cover) is planned with the real planner and executed step by step on a
 * model file system: each file has its contents and its synced contents,
 * the directory its names and its synced names.  After every step of every
 * plan the model "crashes" four ways (unsynced data dropped or kept, times
 * unsynced names dropped or kept), and the crashed image is recovered with
 * the WAL's recovery code (wal__recover, wal_meta__decode,
 * wal_snap__decode).  What recovery sees must be a prefix of what was
 * planned that holds everything the plans declared durable before that
 * step: entries, hard state (by its sequence number) and snapshot.  A plan
 * must also, once complete, declare durable everything it was made for.
 *
 * Negative controls: the same run with one kind of sync left out by the
 * executor (the hard state's fdatasync, the record's, the directory sync
 * of a new segment, of a snapshot's rename) must be caught.
 */
#include <assert.h>
#include <errno.h>
#include "../ktap.h"
#include "../../tools/gnomond/wal/wal_plan.h"
#include "../../tools/gnomond/wal/wal_posix.h"

#define MAX_INODES	128
#define MAX_NAMES	64
#define MAX_INDEX	512
#define MAX_SEQ		256
#define SEG_SIZE	1024

/* A call that cannot fail on a well-formed plan. */
#define MUST(call)							\
	do {								\
		if (call) {						\
			fprintf(stderr, "%s failed\n", #call);		\
			abort();					\
		}							\
	} while (0)

struct inode {
	uint8_t *data, *sync;
	size_t len, slen;
};

struct dent {
	char name[WAL_FILE_NAME_SIZE];
	int ino;
};

struct mfs {
	struct inode ino[MAX_INODES];
	int n_ino;
	struct dent names[MAX_NAMES], synced[MAX_NAMES];
	int n_names, n_synced;
};

static void mfs_free(struct mfs *fs)
{
	for (int i = 0; i < fs->n_ino; i++) {
		free(fs->ino[i].data);
		free(fs->ino[i].sync);
	}
	memset(fs, 0, sizeof(*fs));
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);

	if (len)
		memcpy(q, p, len);
	return q;
}

static int lookup(const struct mfs *fs, const char *name)
{
	for (int i = 0; i < fs->n_names; i++)
		if (!strcmp(fs->names[i].name, name))
			return i;
	return -1;
}

static void unname(struct mfs *fs, int i)
{
	fs->names[i] = fs->names[--fs->n_names];
}

/* The inode under name, created (unsynced name, empty) if absent. */
static struct inode *open_file(struct mfs *fs, const char *name)
{
	int i = lookup(fs, name);

	if (i >= 0)
		return &fs->ino[fs->names[i].ino];
	assert(fs->n_ino < MAX_INODES && fs->n_names < MAX_NAMES);
	fs->ino[fs->n_ino] = (struct inode){ 0 };
	fs->names[fs->n_names] = (struct dent){ .ino = fs->n_ino };
	snprintf(fs->names[fs->n_names++].name, WAL_FILE_NAME_SIZE, "%s",
		 name);
	return &fs->ino[fs->n_ino++];
}

static void grow(struct inode *f, size_t len)
{
	if (len <= f->len)
		return;
	f->data = realloc(f->data, len);
	memset(f->data + f->len, 0, len - f->len);
	f->len = len;
}

static void mfs_step(struct mfs *fs, const struct wal_step *s)
{
	char name[WAL_FILE_NAME_SIZE], to[WAL_FILE_NAME_SIZE];
	struct inode *f;
	int i;

	wal_file__name(name, s->file, s->seg_no);
	if (s->file == WAL_FILE_DIR) {
		assert(s->op == WAL_OP_FSYNC);
		memcpy(fs->synced, fs->names, sizeof(fs->names));
		fs->n_synced = fs->n_names;
		return;
	}
	switch (s->op) {
	case WAL_OP_CREATE:
		f = open_file(fs, name);
		if (s->trunc)
			f->len = 0;
		break;
	case WAL_OP_FALLOCATE:
		grow(open_file(fs, name), s->len);
		break;
	case WAL_OP_WRITE:
		f = open_file(fs, name);
		grow(f, s->off + s->len);
		memcpy(f->data + s->off, s->buf, s->len);
		break;
	case WAL_OP_DATASYNC:
	case WAL_OP_FSYNC:
		f = open_file(fs, name);
		free(f->sync);
		f->sync = dup_bytes(f->data, f->len);
		f->slen = f->len;
		break;
	case WAL_OP_RENAME:
		wal_file__name(to, s->to, 0);
		i = lookup(fs, to);
		if (i >= 0)
			unname(fs, i);
		i = lookup(fs, name);
		assert(i >= 0);
		snprintf(fs->names[i].name, WAL_FILE_NAME_SIZE, "%s", to);
		break;
	case WAL_OP_UNLINK:
		i = lookup(fs, name);
		if (i >= 0)
			unname(fs, i);
		break;
	}
}

/* What the disk holds after a crash now. */
static void mfs_crash(const struct mfs *fs, struct mfs *out, bool keep_data,
		      bool keep_names)
{
	memset(out, 0, sizeof(*out));
	out->n_ino = fs->n_ino;
	for (int i = 0; i < fs->n_ino; i++) {
		const struct inode *f = &fs->ino[i];

		out->ino[i].len = out->ino[i].slen = keep_data ? f->len :
						     f->slen;
		out->ino[i].data = dup_bytes(keep_data ? f->data : f->sync,
					     out->ino[i].len);
		out->ino[i].sync = dup_bytes(out->ino[i].data, out->ino[i].len);
	}
	memcpy(out->names, keep_names ? fs->names : fs->synced,
	       sizeof(out->names));
	out->n_names = keep_names ? fs->n_names : fs->n_synced;
	memcpy(out->synced, out->names, sizeof(out->names));
	out->n_synced = out->n_names;
}

/* What the writer planned, and what its plans declared durable. */
struct want {
	uint64_t term[MAX_INDEX + 1];
	uint8_t data[MAX_INDEX + 1][40];
	uint32_t len[MAX_INDEX + 1];
	uint64_t planned;		/* last index planned */
	struct raft_hard_state hs[MAX_SEQ + 1];	/* by meta seq */
	uint64_t snaps[64];
	int n_snaps;
	/* Declared durable: */
	uint64_t last, seq, snap;
};

struct check {
	const struct want *w;
	uint64_t last, seq, snap;	/* declared by now */
	int violations;
	char why[200];
};

static void violation(struct check *c, const char *fmt, uint64_t a,
		      uint64_t b)
{
	if (!c->violations++)
		snprintf(c->why, sizeof(c->why), fmt, (unsigned long long)a,
			 (unsigned long long)b);
}

static int cmp_views(const void *a, const void *b)
{
	const struct wal_segment_view *x = a, *y = b;

	return x->seg_no < y->seg_no ? -1 : x->seg_no > y->seg_no;
}

static void check_meta(struct mfs *fs, struct check *c)
{
	static const char *const names[2] = { "meta1", "meta2" };
	struct raft_hard_state hs[2] = { 0 }, best = { 0 };
	uint64_t seq[2] = { 0 }, top = 0;
	const char *why;

	for (int i = 0; i < 2; i++) {
		int k = lookup(fs, names[i]);
		const struct inode *f = k >= 0 ? &fs->ino[fs->names[k].ino] :
					NULL;
		int rc = f ? wal_meta__decode(f->data, f->len, &hs[i], &seq[i],
					      &why) : -ENODATA;

		if (rc == -EUCLEAN)
			violation(c, "meta%llu damaged (%llu)", i + 1, 0);
		if (!rc && seq[i] > top) {
			top = seq[i];
			best = hs[i];
		}
	}
	if (top < c->seq)
		violation(c, "hard state %llu declared durable, found %llu",
			  c->seq, top);
	else if (top && (top > MAX_SEQ ||
			 memcmp(&best, &c->w->hs[top], sizeof(best))))
		violation(c, "hard state %llu is not the one written (%llu)",
			  top, 0);
}

static uint64_t check_snapshot(struct mfs *fs, struct check *c)
{
	struct raft_snapshot snap = { 0 };
	const char *why;
	int k = lookup(fs, WAL_SNAP_NAME);
	bool known = false;

	if (k >= 0 && wal_snap__decode(fs->ino[fs->names[k].ino].data,
				       fs->ino[fs->names[k].ino].len, &snap,
				       &why))
		violation(c, "snapshot damaged (%llu %llu)", 0, 0);
	for (int i = 0; i < c->w->n_snaps; i++)
		known |= c->w->snaps[i] == snap.index;
	if (snap.index < c->snap)
		violation(c, "snapshot %llu declared durable, found %llu",
			  c->snap, snap.index);
	else if (snap.index && !known)
		violation(c, "snapshot %llu never written (%llu)", snap.index,
			  0);
	return snap.index;
}

/* Recover the crashed image as gnomond would, and judge it. */
static void recover(struct mfs *fs, struct check *c)
{
	struct wal_segment_view views[MAX_NAMES];
	struct wal_recovery rec = { 0 };
	uint64_t snap, end;
	size_t n = 0;
	int rc;

	check_meta(fs, c);
	snap = check_snapshot(fs, c);
	for (int i = 0; i < fs->n_names; i++) {
		unsigned long long no;
		const struct inode *f = &fs->ino[fs->names[i].ino];

		if (sscanf(fs->names[i].name, "wal-%16llx.seg", &no) != 1)
			continue;
		views[n++] = (struct wal_segment_view){ no, f->data, f->len };
	}
	qsort(views, n, sizeof(views[0]), cmp_views);
	rc = wal__recover(views, n, snap, &rec);
	if (rc) {
		violation(c, "recovery refused (%llu), %llu segments",
			  (uint64_t)-rc, n);
		return;
	}
	if (rec.lost_upto)
		violation(c, "lost_upto %llu (%llu)", rec.lost_upto, 0);
	end = snap;
	for (size_t i = 0; i < rec.n; i++) {
		const struct raft_entry *e = &rec.entries[i];

		if (e->index <= snap)
			continue;
		if (e->index != end + 1 || e->index > c->w->planned ||
		    e->term != c->w->term[e->index] ||
		    e->len != c->w->len[e->index] ||
		    (e->len && memcmp(e->data, c->w->data[e->index], e->len))) {
			violation(c, "entry %llu is not the planned one after "
				  "%llu", e->index, end);
			break;
		}
		end = e->index;
	}
	if (end < c->last)
		violation(c, "entries to %llu declared durable, found %llu",
			  c->last, end);
	wal_recovery__free(&rec);
}

/* Which sync an executor leaves out (a negative control). */
enum skip { SKIP_NONE, SKIP_HS, SKIP_RECORD, SKIP_SEG_DIR, SKIP_SNAP_DIR };

static bool skipped(const struct wal_step *s, enum skip skip)
{
	switch (skip) {
	case SKIP_NONE:
		return false;
	case SKIP_HS:
		return s->durable & WAL_DUR_HS;
	case SKIP_RECORD:
		return s->durable & WAL_DUR_ENTRIES;
	case SKIP_SEG_DIR:
		return s->durable & WAL_DUR_SEGMENT;
	case SKIP_SNAP_DIR:
		return s->durable & WAL_DUR_SNAP;
	}
	return false;
}

/* Run p on fs, crashing after every step; then leave fs as p completed. */
static int crash_everywhere(struct mfs *fs, const struct wal_plan *p,
			    struct want *w, enum skip skip, char *why,
			    size_t whylen)
{
	int violations = 0;

	for (size_t k = 0; k <= p->n; k++) {
		unsigned int d = wal_plan__durable(p, k);
		struct check c = {
			.w = w, .last = w->last, .seq = w->seq,
			.snap = w->snap,
		};

		if ((d & WAL_DUR_ENTRIES) && p->last > c.last)
			c.last = p->last;
		if (d & WAL_DUR_HS)
			c.seq = p->cur.meta_seq;
		if ((d & WAL_DUR_SNAP) && p->snap_index > c.snap)
			c.snap = p->snap_index;
		for (int v = 0; v < 4; v++) {
			struct mfs crashed;

			mfs_crash(fs, &crashed, v & 1, v & 2);
			recover(&crashed, &c);
			mfs_free(&crashed);
		}
		if (c.violations && !violations)
			snprintf(why, whylen, "step %zu of %zu: %s", k, p->n,
				 c.why);
		violations += c.violations;
		if (k == p->n) {
			w->last = c.last;
			w->seq = c.seq;
			w->snap = c.snap;
		} else if (!skipped(&p->steps[k], skip)) {
			mfs_step(fs, &p->steps[k]);
		}
	}
	return violations;
}

/* Everything a plan is for is declared durable by its end. */
static bool declares_all(const struct wal_plan *p)
{
	unsigned int d = wal_plan__durable(p, p->n);

	return (!p->has_hs || (d & WAL_DUR_HS)) &&
	       (!p->last || (d & WAL_DUR_ENTRIES)) &&
	       (!p->has_snap || (d & WAL_DUR_SNAP)) &&
	       (!p->new_seg || (d & WAL_DUR_SEGMENT)) &&
	       (!p->n_drop || (d & WAL_DUR_DROP));
}

struct life {
	struct mfs fs;
	struct wal_writer wr;	/* bookkeeping only: no descriptors */
	struct wal_plan p;
	struct want w;
	uint64_t rng;
	int violations, plans, steps, undeclared;
	char why[256];
};

static void begin(struct life *l)
{
	struct wal_cursor c;

	wal_writer__cursor(&l->wr, &c);
	wal_plan__begin(&l->p, &c);
}

static void finish(struct life *l, enum skip skip)
{
	int old;

	l->plans++;
	l->steps += (int)l->p.n;
	l->undeclared += !declares_all(&l->p);
	l->violations += crash_everywhere(&l->fs, &l->p, &l->w, skip,
					  l->violations ? l->why + 200 : l->why,
					  l->violations ? 1 : 200);
	if (l->p.new_seg)
		MUST(wal_writer__switch(&l->wr, -1, l->p.new_seg, &old));
	wal_writer__planned(&l->wr, &l->p);
}

/* One writer's life: returns the violations found. */
static int live(struct life *l, uint64_t seed, enum skip skip)
{
	struct raft_hard_state hs = { .term = 1 };
	uint8_t snap_data[24];
	uint64_t nos[16];

	memset(l, 0, sizeof(*l));
	l->rng = seed;
	l->wr.fd = l->wr.dirfd = -1;
	l->wr.seg_size = SEG_SIZE;
	l->wr.meta_next = 1;
	wal_plan__init(&l->p);
	/* A new member: its metadata files and first segment. */
	begin(l);
	MUST(wal_plan__open(&l->p));
	MUST(wal_plan__new_segment(&l->p, 1));
	l->p.cur.seg_no = 1;
	l->p.cur.off = l->p.cur.durable = WAL_SEG_HEADER_SIZE;
	finish(l, skip);
	while (l->w.planned + 4 < MAX_INDEX && l->plans < 90) {
		struct raft_entry e[4];
		struct raft_snapshot snap;
		struct raft_ready rd = { .persist_seq = 1 };
		size_t n = ktap_rng(&l->rng) % 5;

		if (ktap_rng(&l->rng) % 3 == 0) {
			hs.term += ktap_rng(&l->rng) % 2;
			hs.vote = ktap_rng(&l->rng) % 4;
			hs.commit = l->w.last;
			rd.has_hard_state = true;
			rd.hs = hs;
		}
		if (l->w.last > l->w.snap + 8 && ktap_rng(&l->rng) % 6 == 0) {
			snap = (struct raft_snapshot){
				.index = l->w.last - ktap_rng(&l->rng) % 4,
				.term = hs.term, .data = snap_data,
				.len = sizeof(snap_data),
			};
			memset(snap_data, (int)snap.index, sizeof(snap_data));
			l->w.snaps[l->w.n_snaps++ % 64] = snap.index;
			rd.snapshot = &snap;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t idx = ++l->w.planned;

			l->w.term[idx] = hs.term;
			l->w.len[idx] = (uint32_t)(ktap_rng(&l->rng) % 40);
			memset(l->w.data[idx], (int)(idx * 7), 40);
			e[i] = (struct raft_entry){
				.term = hs.term, .index = idx,
				.len = l->w.len[idx], .data = l->w.data[idx],
			};
		}
		rd.entries = e;
		rd.n_entries = n;
		begin(l);
		MUST(wal_plan__persist(&l->p, &rd));
		if (l->p.has_hs)
			l->w.hs[l->p.cur.meta_seq] = hs;
		finish(l, skip);
		if (rd.snapshot) {
			size_t k = wal_writer__droppable(&l->wr, l->w.snap);

			if (k > 16)
				k = 16;
			for (size_t i = 0; i < k; i++)
				nos[i] = l->wr.segs[i].seg_no;
			begin(l);
			MUST(wal_plan__drop(&l->p, nos, k));
			if (k) {
				finish(l, skip);
				wal_writer__forget(&l->wr, k);
			}
		}
	}
	wal_plan__free(&l->p);
	mfs_free(&l->fs);
	free(l->wr.segs);
	return l->violations;
}

KTAP_TEST(wal_plan_crash_at_every_step)
{
	static struct life l;
	int plans = 0, steps = 0, rolls = 0, snaps = 0;

	for (uint64_t seed = 1; seed <= 8; seed++) {
		live(&l, seed * 0x9e3779b97f4a7c15ULL, SKIP_NONE);
		KTAP_ASSERT(t, !l.violations, "seed %llu: %d violations; %s",
			    (unsigned long long)seed, l.violations, l.why);
		KTAP_EXPECT(t, !l.undeclared, "%d plans declare too little",
			    l.undeclared);
		plans += l.plans;
		steps += l.steps;
		rolls += (int)l.wr.seg_no - 1;
		snaps += l.w.n_snaps;
	}
	ktap_diag("%d plans, %d steps, each crashed 4 ways; %d segment "
		  "rolls, %d snapshots", plans, steps, rolls, snaps);
	KTAP_EXPECT(t, rolls > 8 && snaps > 8, "too few rolls (%d) or "
		    "snapshots (%d) to mean anything", rolls, snaps);
}

KTAP_TEST(wal_plan_missing_sync_is_caught)
{
	static const struct {
		enum skip skip;
		const char *what;
	} cases[] = {
		{ SKIP_HS, "the hard state's fdatasync" },
		{ SKIP_RECORD, "the record's fdatasync" },
		{ SKIP_SEG_DIR, "a new segment's directory sync" },
		{ SKIP_SNAP_DIR, "the directory sync after a snapshot's rename" },
	};
	static struct life l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		live(&l, 0x9e3779b97f4a7c15ULL, cases[i].skip);
		KTAP_EXPECT(t, l.violations, "without %s: not caught",
			    cases[i].what);
		ktap_diag("without %s: %d violations, first %s",
			  cases[i].what, l.violations, l.why);
	}
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
