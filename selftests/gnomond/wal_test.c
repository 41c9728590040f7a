// SPDX-License-Identifier: GPL-2.0
/*
 * WAL crash recovery.  A segment is built record by record with the real
 * encoder (appends of random entries, and now and then a record that
 * rewrites the tail, as a follower's truncation does) while a model log
 * follows along.  Then:
 *   - cut at every record boundary and at random byte offsets (file ends
 *     there, or the rest reads zero as in a preallocated file): recovery
 *     returns exactly the model after the last whole record, nothing
 *     acknowledged lost, nothing else; and it reports lost_upto exactly
 *     when the file ends inside a record whose header is whole (a cut,
 *     which a torn write into a preallocated file cannot make);
 *   - a byte flipped in any record but the last (synced data, as later
 *     records' durable_end says): recovery refuses with a reason;
 *   - a byte flipped in the last record or in the zero tail: truncated;
 *   - corruption in an earlier segment: refused;
 *   - segments after the last one in use that were never written to (made
 *     ahead by the writer, or half made when it crashed: empty, short,
 *     zero, torn or whole header): not in use, and the one before keeps
 *     its torn tail; a bad header with data after it: refused;
 *   - a gap in the log that the snapshot covers (a follower that installed
 *     its leader's snapshot): the log goes on after it; a gap past the
 *     snapshot: refused.
 * Then the same through real files (wal_posix.c): writer, reload, cut the
 * last segment with truncate(2), reload and keep writing; a cut inside the
 * last record recorded in the metadata before the tail is erased; unused
 * segments after a torn one; the two metadata files (and version 1 ones);
 * the snapshot file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "../ktap.h"
#include "../../tools/gnomond/wal/crc32c.h"
#include "../../tools/gnomond/wal/wal_posix.h"

#define MAX_RECS	64
#define MAX_ENTRIES	512

struct model {
	uint64_t term[MAX_ENTRIES + 1];
	uint8_t data[MAX_ENTRIES + 1][24];
	uint32_t len[MAX_ENTRIES + 1];
	uint64_t last;
};

struct built {
	uint8_t *seg;
	size_t cap, len;
	size_t end[MAX_RECS + 1];	/* end offset after record i */
	size_t data_end[MAX_RECS + 1];	/* the same without trailing zeros */
	struct model after[MAX_RECS + 1];
	int n_recs;
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	return ktap_rng(&rng);
}

static void build(struct built *b, size_t cap, int n_recs)
{
	struct model m = { 0 };
	uint64_t term = 1;

	memset(b, 0, sizeof(*b));
	b->seg = calloc(1, cap);
	b->cap = cap;
	wal_segment__encode_header(b->seg, 1);
	b->len = b->end[0] = WAL_SEG_HEADER_SIZE;
	for (int r = 1; r <= n_recs; r++) {
		struct raft_entry e[8];
		uint64_t first = m.last + 1;
		size_t n = 1 + rnd() % 6, len, raw = WAL_REC_HEADER_SIZE;

		if (m.last > 4 && rnd() % 5 == 0)
			first = m.last - rnd() % 3;	/* rewrite the tail */
		if (rnd() % 3 == 0)
			term++;
		for (size_t i = 0; i < n; i++) {
			uint64_t idx = first + i;

			m.term[idx] = term;
			m.len[idx] = (uint32_t)(rnd() % 24);
			for (uint32_t k = 0; k < m.len[idx]; k++)
				m.data[idx][k] = (uint8_t)rnd();
			e[i] = (struct raft_entry){
				.term = term, .index = idx,
				.len = m.len[idx], .data = m.data[idx],
			};
			raw += WAL_ENTRY_HEADER_SIZE + m.len[idx];
		}
		m.last = first + n - 1;
		/* Sequential writer: everything before was synced. */
		if (wal_record__encode(b->seg + b->len, b->cap - b->len, e, n,
				       b->len, &len))
			abort();
		/* Trailing zero bytes are cut "for free" with a zero tail. */
		b->data_end[r] = b->len + raw;
		while (!b->seg[b->data_end[r] - 1])
			b->data_end[r]--;
		b->len += len;
		b->end[r] = b->len;
		b->after[r] = m;
	}
	b->n_recs = n_recs;
}

static bool same_as(const struct wal_recovery *rec, const struct model *m)
{
	if (rec->n != m->last)
		return false;
	for (size_t i = 0; i < rec->n; i++) {
		const struct raft_entry *e = &rec->entries[i];
		uint64_t idx = i + 1;

		if (e->index != idx || e->term != m->term[idx] ||
		    e->len != m->len[idx] ||
		    (e->len && memcmp(e->data, m->data[idx], e->len)))
			return false;
	}
	return true;
}

/*
 * The model after the last record that the cut left whole: up to its
 * padding if the file ends at the cut, up to its last non-zero byte if the
 * rest of the file reads zero.
 */
static const struct model *expected_at(const struct built *b, size_t cut,
				       bool zero_tail)
{
	int r = 0;

	while (r < b->n_recs &&
	       (zero_tail ? b->data_end[r + 1] : b->end[r + 1]) <= cut)
		r++;
	return &b->after[r];
}

static int recover_view(const uint8_t *buf, size_t len,
			struct wal_recovery *rec)
{
	struct wal_segment_view v = { .seg_no = 1, .buf = buf, .len = len };

	return wal__recover(&v, 1, 0, rec);
}

static void check_cut(struct ktap *t, const struct built *b, size_t cut,
		      bool zero_tail)
{
	uint8_t *copy = calloc(1, b->cap);
	struct wal_recovery rec;
	size_t len = zero_tail ? b->cap : cut;
	int rc;

	uint64_t lost = 0;
	int r = 0;

	while (r < b->n_recs && b->end[r + 1] <= cut)
		r++;
	if (!zero_tail && r < b->n_recs &&
	    cut >= b->end[r] + WAL_REC_HEADER_SIZE)
		lost = b->after[r + 1].last;
	memcpy(copy, b->seg, cut);
	rc = recover_view(copy, len, &rec);
	KTAP_EXPECT(t, rc == 0, "cut at %zu: %d %s", cut, rc, rec.error);
	KTAP_EXPECT(t, rec.lost_upto == lost, "cut at %zu (zero tail %d): "
		    "lost_upto %llu, expected %llu", cut, zero_tail,
		    (unsigned long long)rec.lost_upto,
		    (unsigned long long)lost);
	KTAP_EXPECT(t, !rc && same_as(&rec, expected_at(b, cut, zero_tail)),
		    "cut at %zu (zero tail %d): %zu entries recovered, "
		    "expected %llu", cut, zero_tail, rec.n,
		    (unsigned long long)expected_at(b, cut, zero_tail)->last);
	wal_recovery__free(&rec);
	free(copy);
}

KTAP_TEST(wal_crc32c_vector)
{
	KTAP_EXPECT(t, crc32c(0, "123456789", 9) == 0xe3069283,
		    "crc32c = %08x", crc32c(0, "123456789", 9));
	KTAP_EXPECT(t, crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xe3069283,
		    "incremental crc32c differs");
}

KTAP_TEST(wal_cut_at_every_record_boundary)
{
	static struct built b;

	build(&b, 1 << 16, MAX_RECS);
	for (int r = 0; r <= b.n_recs; r++) {
		check_cut(t, &b, b.end[r], false);
		check_cut(t, &b, b.end[r], true);
	}
	free(b.seg);
}

KTAP_TEST(wal_cut_at_random_offsets)
{
	static struct built b;

	build(&b, 1 << 16, MAX_RECS);
	for (int i = 0; i < 2000; i++) {
		size_t cut = WAL_SEG_HEADER_SIZE +
			     rnd() % (b.len - WAL_SEG_HEADER_SIZE + 1);

		check_cut(t, &b, cut, i & 1);
	}
	free(b.seg);
}

KTAP_TEST(wal_flip_in_synced_record_refuses)
{
	static struct built b;

	build(&b, 1 << 16, MAX_RECS);
	for (int r = 1; r < b.n_recs; r++) {
		for (int k = 0; k < 4; k++) {
			uint8_t *copy = malloc(b.cap);
			size_t at = b.end[r - 1] +
				    rnd() % (b.end[r] - b.end[r - 1]);
			struct wal_recovery rec;
			int rc;

			memcpy(copy, b.seg, b.cap);
			copy[at] ^= (uint8_t)(1 + rnd() % 255);
			rc = recover_view(copy, b.cap, &rec);
			KTAP_EXPECT(t, rc == -EUCLEAN, "flip at %zu in record "
				    "%d: %d, %zu entries", at, r, rc, rec.n);
			KTAP_EXPECT(t, rc != -EUCLEAN || rec.error[0],
				    "refused without a reason");
			wal_recovery__free(&rec);
			free(copy);
		}
	}
	free(b.seg);
}

KTAP_TEST(wal_flip_in_tail_truncates)
{
	static struct built b;

	build(&b, 1 << 16, MAX_RECS);
	for (int k = 0; k < 64; k++) {
		uint8_t *copy = malloc(b.cap);
		bool in_last = k & 1;
		size_t lo = in_last ? b.end[b.n_recs - 1] : b.len;
		size_t hi = in_last ? b.len : b.cap;
		size_t at = lo + rnd() % (hi - lo);
		struct wal_recovery rec;
		int rc;

		memcpy(copy, b.seg, b.cap);
		copy[at] ^= (uint8_t)(1 + rnd() % 255);
		rc = recover_view(copy, b.cap, &rec);
		KTAP_EXPECT(t, rc == 0, "flip at %zu: %d %s", at, rc,
			    rec.error);
		KTAP_EXPECT(t, !rc && same_as(&rec, &b.after[in_last ?
					      b.n_recs - 1 : b.n_recs]),
			    "flip at %zu (last record %d): %zu entries", at,
			    in_last, rec.n);
		KTAP_EXPECT(t, rc || rec.torn_bytes, "torn tail not reported");
		wal_recovery__free(&rec);
		free(copy);
	}
	free(b.seg);
}

KTAP_TEST(wal_corrupt_earlier_segment_refuses)
{
	static struct built a, b;
	struct wal_segment_view v[2];
	struct wal_recovery rec;
	int rc;

	build(&a, 1 << 14, 8);
	build(&b, 1 << 14, 8);
	/* Segment 2 continues segment 1's log: rewrite its header. */
	wal_segment__encode_header(b.seg, 2);
	a.seg[a.end[a.n_recs] - 3] ^= 0x40;	/* last record of segment 1 */
	v[0] = (struct wal_segment_view){ 1, a.seg, a.cap };
	v[1] = (struct wal_segment_view){ 2, b.seg, b.cap };
	rc = wal__recover(v, 2, 0, &rec);
	KTAP_EXPECT(t, rc == -EUCLEAN, "rc %d", rc);
	ktap_diag("refused: %s", rec.error);
	wal_recovery__free(&rec);
	free(a.seg);
	free(b.seg);
}

/* The segment after the last one in use, as the writer makes it ahead of
 * time, or as a crash while making it left it. */
enum unused_kind {
	EMPTY_FILE, SHORT_HEADER, ZERO_FILLED, TORN_HEADER, HEADER_ONLY,
	N_KINDS
};

static size_t make_unused(uint8_t *buf, size_t cap, int kind, uint64_t no)
{
	memset(buf, 0, cap);
	if (kind != EMPTY_FILE && kind != ZERO_FILLED)
		wal_segment__encode_header(buf, no);
	if (kind == SHORT_HEADER)
		return 10;
	if (kind == TORN_HEADER)
		memset(buf + 12, 0, WAL_SEG_HEADER_SIZE - 12);
	return kind == EMPTY_FILE ? 0 : cap;
}

KTAP_TEST(wal_unused_next_segment_is_empty)
{
	static struct built a;
	static uint8_t next[4096], after[4096];
	struct wal_segment_view v[3];
	struct wal_recovery rec;
	uint8_t *copy;
	size_t cut;
	int rc;

	build(&a, 1 << 14, 8);
	/* The crash also tore the last record of the segment in use: still
	 * a torn tail, as nothing after it was ever written. */
	cut = (a.end[a.n_recs - 1] + a.end[a.n_recs]) / 2;
	copy = calloc(1, a.cap);
	memcpy(copy, a.seg, cut);
	v[0] = (struct wal_segment_view){ 1, copy, a.cap };
	for (int kind = 0; kind < N_KINDS; kind++) {
		v[1] = (struct wal_segment_view){
			2, next, make_unused(next, sizeof(next), kind, 2) };
		rc = wal__recover(v, 2, 0, &rec);
		KTAP_EXPECT(t, !rc, "kind %d: %d %s", kind, rc, rec.error);
		KTAP_EXPECT(t, !rc && rec.n_segs == 1 && rec.n_unused == 1 &&
			    rec.torn_bytes &&
			    same_as(&rec, expected_at(&a, cut, true)),
			    "kind %d: %zu in use, %zu unused, %zu entries",
			    kind, rec.n_segs, rec.n_unused, rec.n);
		wal_recovery__free(&rec);
	}
	/* Two of them, and none in use at all. */
	v[2] = (struct wal_segment_view){
		3, after, make_unused(after, sizeof(after), EMPTY_FILE, 3) };
	rc = wal__recover(v, 3, 0, &rec);
	KTAP_EXPECT(t, !rc && rec.n_segs == 1 && rec.n_unused == 2,
		    "two unused: %d %s", rc, rec.error);
	wal_recovery__free(&rec);
	rc = wal__recover(v + 1, 2, 0, &rec);
	KTAP_EXPECT(t, !rc && rec.n_segs == 0 && rec.n_unused == 2 && !rec.n,
		    "none in use: %d %s", rc, rec.error);
	wal_recovery__free(&rec);
	/* A bad header with data after it is no unused segment. */
	make_unused(next, sizeof(next), TORN_HEADER, 2);
	next[100] = 1;
	v[1] = (struct wal_segment_view){ 2, next, sizeof(next) };
	rc = wal__recover(v, 2, 0, &rec);
	KTAP_EXPECT(t, rc == -EUCLEAN, "bad header with data: %d", rc);
	ktap_diag("refused: %s", rec.error);
	wal_recovery__free(&rec);
	free(copy);
	free(a.seg);
}

KTAP_TEST(wal_gap_covered_by_snapshot)
{
	static struct built a;
	uint64_t last, term;
	struct raft_entry e[2];
	struct wal_segment_view v;
	struct wal_recovery rec;
	size_t len;
	int rc;

	build(&a, 1 << 14, 8);
	last = a.after[a.n_recs].last;
	term = a.after[a.n_recs].term[last] + 1;
	/* A follower installed a snapshot at last + 9 and went on. */
	for (int i = 0; i < 2; i++)
		e[i] = (struct raft_entry){ .term = term,
					    .index = last + 10 + i };
	KTAP_ASSERT(t, !wal_record__encode(a.seg + a.len, a.cap - a.len, e, 2,
					   a.len, &len), "encode");
	v = (struct wal_segment_view){ 1, a.seg, a.cap };
	rc = wal__recover(&v, 1, last + 8, &rec);
	KTAP_EXPECT(t, rc == -EUCLEAN, "gap past the snapshot: %d", rc);
	wal_recovery__free(&rec);
	rc = wal__recover(&v, 1, last + 9, &rec);
	KTAP_EXPECT(t, !rc && rec.n == 2 && rec.entries[0].index == last + 10,
		    "gap covered: %d %s, %zu entries", rc, rec.error, rec.n);
	wal_recovery__free(&rec);
	free(a.seg);
}

static char *tmpdir(void)
{
	static char path[] = "/tmp/gnomond-wal-XXXXXX";

	return mkdtemp(path);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

static int write_log(const char *dir, struct model *m, int n)
{
	struct wal_loaded ld;
	struct wal_writer w;
	char err[256];
	int rc = wal_posix__load(dir, &ld, err, sizeof(err));

	if (rc)
		return rc;
	rc = wal_writer__open(&w, dir, &ld, 4096);
	wal_loaded__free(&ld);
	for (int i = 0; i < n && !rc; i++) {
		uint64_t idx = ++m->last;
		struct raft_entry e = {
			.term = 1 + idx / 10, .index = idx,
			.len = (uint32_t)(idx % 20),
			.data = m->data[idx],
		};

		m->term[idx] = e.term;
		m->len[idx] = e.len;
		memset(m->data[idx], (int)idx, sizeof(m->data[idx]));
		rc = wal_writer__append(&w, &e, 1);
		if (!rc)
			rc = wal_writer__sync(&w);
	}
	wal_writer__close(&w);
	return rc;
}

KTAP_TEST(wal_files_reload_and_cut)
{
	char *dir = tmpdir(), path[128], err[256];
	struct model m = { 0 };
	struct wal_loaded ld;
	struct stat st;
	int rc;

	KTAP_ASSERT(t, dir, "mkdtemp: %s", strerror(errno));
	KTAP_ASSERT(t, !write_log(dir, &m, 300), "write");
	rc = wal_posix__load(dir, &ld, err, sizeof(err));
	KTAP_ASSERT(t, !rc, "load: %d %s", rc, err);
	KTAP_EXPECT(t, ld.n_segs > 2, "only %zu segments", ld.n_segs);
	KTAP_EXPECT(t, same_as(&ld.rec, &m), "reload: %zu entries",
		    ld.rec.n);
	snprintf(path, sizeof(path), "%s/wal-%016llx.seg", dir,
		 (unsigned long long)ld.segs[ld.n_segs - 1].seg_no);
	wal_loaded__free(&ld);
	/* A crash cut the last segment mid-record: the tail disappears. */
	KTAP_ASSERT(t, !stat(path, &st), "stat");
	KTAP_ASSERT(t, !truncate(path, 200), "truncate");
	rc = wal_posix__load(dir, &ld, err, sizeof(err));
	KTAP_ASSERT(t, !rc, "load after cut: %d %s", rc, err);
	KTAP_EXPECT(t, ld.rec.n < m.last && ld.rec.n > 200,
		    "%zu entries after the cut", ld.rec.n);
	m.last = ld.rec.n;
	KTAP_EXPECT(t, same_as(&ld.rec, &m), "prefix differs after cut");
	wal_loaded__free(&ld);
	/* The writer continues after the torn tail. */
	KTAP_ASSERT(t, !write_log(dir, &m, 50), "write after cut");
	rc = wal_posix__load(dir, &ld, err, sizeof(err));
	KTAP_ASSERT(t, !rc, "reload: %d %s", rc, err);
	KTAP_EXPECT(t, same_as(&ld.rec, &m), "%zu entries, expected %llu",
		    ld.rec.n, (unsigned long long)m.last);
	wal_loaded__free(&ld);
	remove_dir(dir);
}

static int load_hs(const char *dir, struct raft_hard_state *hs,
		   uint64_t *rec_lost, size_t *n)
{
	struct wal_loaded ld;
	char err[256];
	int rc = wal_posix__load(dir, &ld, err, sizeof(err));

	if (!rc) {
		*hs = ld.boot.hs;
		*rec_lost = ld.rec.lost_upto;
		*n = ld.rec.n;
	}
	wal_loaded__free(&ld);
	return rc;
}

/*
 * The file ends a few bytes inside the last record (cut after it was
 * synced): recovery drops it and says up to which index entries were
 * lost; opening the writer records that in the metadata before erasing
 * the evidence, so it survives the next restart; the Raft core clearing
 * it is persisted like any hard state change.
 */
KTAP_TEST(wal_files_cut_record_marks_lost)
{
	char *dir = tmpdir(), path[128], err[256];
	struct raft_hard_state hs;
	struct model m = { 0 };
	struct wal_loaded ld;
	struct wal_writer w;
	uint64_t rec_lost;
	size_t n;

	KTAP_ASSERT(t, dir && !write_log(dir, &m, 30), "write");
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "load");
	KTAP_EXPECT(t, !ld.rec.lost_upto && !ld.boot.hs.lost_upto,
		    "an intact log reports a loss");
	snprintf(path, sizeof(path), "%s/wal-%016llx.seg", dir,
		 (unsigned long long)ld.rec.segs[ld.rec.n_segs - 1].seg_no);
	KTAP_ASSERT(t, !truncate(path, (off_t)ld.rec.tail_offset - 3),
		    "truncate");
	wal_loaded__free(&ld);
	KTAP_ASSERT(t, !load_hs(dir, &hs, &rec_lost, &n), "load after cut");
	KTAP_EXPECT(t, n == m.last - 1 && rec_lost == m.last &&
		    hs.lost_upto == m.last, "%zu entries, lost_upto %llu/%llu",
		    n, (unsigned long long)rec_lost,
		    (unsigned long long)hs.lost_upto);
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "load");
	KTAP_ASSERT(t, !wal_writer__open(&w, dir, &ld, 4096), "open");
	wal_loaded__free(&ld);
	KTAP_ASSERT(t, !load_hs(dir, &hs, &rec_lost, &n), "reload");
	KTAP_EXPECT(t, n == m.last - 1 && !rec_lost && hs.lost_upto == m.last,
		    "after the tail was erased: %zu entries, lost_upto %llu/"
		    "%llu", n, (unsigned long long)rec_lost,
		    (unsigned long long)hs.lost_upto);
	hs.lost_upto = 0;
	KTAP_ASSERT(t, !wal_writer__save_hard_state(&w, &hs), "save");
	wal_writer__close(&w);
	KTAP_ASSERT(t, !load_hs(dir, &hs, &rec_lost, &n), "reload");
	KTAP_EXPECT(t, !hs.lost_upto, "cleared mark came back: %llu",
		    (unsigned long long)hs.lost_upto);
	remove_dir(dir);
}

static void make_file(const char *dir, uint64_t no, int kind)
{
	static uint8_t buf[4096];
	char path[128];
	size_t len = make_unused(buf, sizeof(buf), kind, no);
	int fd;

	snprintf(path, sizeof(path), "%s/wal-%016llx.seg", dir,
		 (unsigned long long)no);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* A crash while the next segments were made ahead, and the one in use
 * torn: the log is the torn one's prefix; the writer removes the unused
 * files and goes on. */
KTAP_TEST(wal_files_unused_segments_after_crash)
{
	char *dir = tmpdir(), path[128], err[256];
	struct model m = { 0 };
	struct wal_loaded ld;
	uint64_t last_no;
	int rc;

	KTAP_ASSERT(t, dir && !write_log(dir, &m, 300), "write");
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "load");
	last_no = ld.segs[ld.n_segs - 1].seg_no;
	wal_loaded__free(&ld);
	snprintf(path, sizeof(path), "%s/wal-%016llx.seg", dir,
		 (unsigned long long)last_no);
	KTAP_ASSERT(t, !truncate(path, 200), "truncate");
	make_file(dir, last_no + 1, HEADER_ONLY);
	make_file(dir, last_no + 2, EMPTY_FILE);
	rc = wal_posix__load(dir, &ld, err, sizeof(err));
	KTAP_ASSERT(t, !rc, "load: %d %s", rc, err);
	KTAP_EXPECT(t, ld.rec.n_unused == 2 && ld.rec.torn_bytes &&
		    ld.rec.n > 200 && ld.rec.n < m.last,
		    "%zu unused, %zu entries", ld.rec.n_unused, ld.rec.n);
	m.last = ld.rec.n;
	KTAP_EXPECT(t, same_as(&ld.rec, &m), "prefix differs");
	wal_loaded__free(&ld);
	KTAP_ASSERT(t, !write_log(dir, &m, 100), "write after the crash");
	rc = wal_posix__load(dir, &ld, err, sizeof(err));
	KTAP_ASSERT(t, !rc, "reload: %d %s", rc, err);
	KTAP_EXPECT(t, !ld.rec.n_unused && same_as(&ld.rec, &m) &&
		    ld.segs[ld.n_segs - 1].seg_no > last_no,
		    "%zu entries, expected %llu", ld.rec.n,
		    (unsigned long long)m.last);
	wal_loaded__free(&ld);
	remove_dir(dir);
}

KTAP_TEST(wal_hard_state_alternates)
{
	char *dir = tmpdir(), path[128], err[256];
	struct raft_hard_state hs = { .term = 1 };
	struct wal_loaded ld;
	struct wal_writer w;
	int fd;

	KTAP_ASSERT(t, dir && !wal_posix__load(dir, &ld, err, sizeof(err)),
		    "load empty");
	KTAP_ASSERT(t, !wal_writer__open(&w, dir, &ld, 4096), "open");
	wal_loaded__free(&ld);
	for (hs.term = 1; hs.term <= 5; hs.term++) {
		hs.vote = hs.term % 3;
		hs.promise_end = hs.term * 1000;
		KTAP_ASSERT(t, !wal_writer__save_hard_state(&w, &hs), "save");
	}
	wal_writer__close(&w);
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "load");
	KTAP_EXPECT(t, ld.boot.hs.term == 5 && ld.boot.hs.promise_end == 5000,
		    "term %llu", (unsigned long long)ld.boot.hs.term);
	wal_loaded__free(&ld);
	/* Term 5 went to meta1; a torn write there falls back to meta2. */
	snprintf(path, sizeof(path), "%s/meta1", dir);
	fd = open(path, O_WRONLY);
	KTAP_ASSERT(t, fd >= 0 && pwrite(fd, "x", 1, 20) == 1, "corrupt");
	close(fd);
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "load");
	KTAP_EXPECT(t, ld.boot.hs.term == 4, "term %llu",
		    (unsigned long long)ld.boot.hs.term);
	wal_loaded__free(&ld);
	snprintf(path, sizeof(path), "%s/meta2", dir);
	fd = open(path, O_WRONLY);
	KTAP_ASSERT(t, fd >= 0 && pwrite(fd, "x", 1, 20) == 1, "corrupt");
	close(fd);
	KTAP_EXPECT(t, wal_posix__load(dir, &ld, err, sizeof(err)) ==
		    -EUCLEAN, "both metadata files damaged must refuse");
	ktap_diag("refused: %s", err);
	wal_loaded__free(&ld);
	remove_dir(dir);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int k = 0; k < bytes; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* A version 1 metadata file (64 bytes, no lost_upto) is still read. */
KTAP_TEST(wal_hard_state_version_1)
{
	char *dir = tmpdir(), path[128];
	struct raft_hard_state hs;
	uint8_t buf[WAL_META_V1_SIZE] = { 0 };
	uint64_t rec_lost, v[6] = { 7, 9, 2, 40, 9, 12345 };
	size_t n;
	int fd;

	KTAP_ASSERT(t, dir, "mkdtemp");
	put_le(buf, WAL_META_MAGIC, 4);
	put_le(buf + 4, 1, 4);
	for (int i = 0; i < 6; i++)
		put_le(buf + 8 + 8 * i, v[i], 8);
	put_le(buf + WAL_META_V1_SIZE - 4,
	       crc32c(0, buf, WAL_META_V1_SIZE - 4), 4);
	snprintf(path, sizeof(path), "%s/meta1", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	KTAP_ASSERT(t, fd >= 0 && write(fd, buf, sizeof(buf)) ==
		    (ssize_t)sizeof(buf), "write");
	close(fd);
	KTAP_ASSERT(t, !load_hs(dir, &hs, &rec_lost, &n), "load");
	KTAP_EXPECT(t, hs.term == 9 && hs.vote == 2 && hs.commit == 40 &&
		    hs.promise_term == 9 && hs.promise_end == 12345 &&
		    !hs.lost_upto, "term %llu vote %llu lost %llu",
		    (unsigned long long)hs.term, (unsigned long long)hs.vote,
		    (unsigned long long)hs.lost_upto);
	remove_dir(dir);
}

KTAP_TEST(wal_snapshot_file)
{
	char *dir = tmpdir(), path[128], err[256];
	static const uint8_t data[] = "state machine bytes";
	struct raft_snapshot snap = {
		.index = 42, .term = 3, .data = data, .len = sizeof(data),
		.membership = { .voters = 0x16, .learners = 0x200 },
	};
	struct wal_loaded ld;
	struct wal_writer w;
	int fd;

	KTAP_ASSERT(t, dir && !wal_posix__load(dir, &ld, err, sizeof(err)),
		    "load");
	KTAP_ASSERT(t, !wal_writer__open(&w, dir, &ld, 4096), "open");
	wal_loaded__free(&ld);
	KTAP_ASSERT(t, !wal_writer__save_snapshot(&w, &snap), "save");
	wal_writer__close(&w);
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "%s", err);
	KTAP_EXPECT(t, ld.boot.snapshot.index == 42 &&
		    ld.boot.snapshot.term == 3 &&
		    ld.boot.snapshot.len == sizeof(data) &&
		    !memcmp(ld.boot.snapshot.data, data, sizeof(data)) &&
		    ld.boot.snapshot.membership.voters == 0x16 &&
		    ld.boot.snapshot.membership.learners == 0x200,
		    "snapshot differs");
	wal_loaded__free(&ld);
	snprintf(path, sizeof(path), "%s/snapshot", dir);
	fd = open(path, O_WRONLY);
	KTAP_ASSERT(t, fd >= 0 && pwrite(fd, "X", 1, WAL_SNAP_HEADER_SIZE + 2)
		    == 1, "corrupt");
	close(fd);
	KTAP_EXPECT(t, wal_posix__load(dir, &ld, err, sizeof(err)) ==
		    -EUCLEAN, "corrupt snapshot must refuse");
	ktap_diag("refused: %s", err);
	wal_loaded__free(&ld);
	remove_dir(dir);
}

/*
 * A version 1 snapshot (40-byte header, no config) is still read, with
 * both masks zero (the core then takes voters 1..n_members); a version 2
 * header with a config out of range is refused.
 */
KTAP_TEST(wal_snapshot_version_1)
{
	char *dir = tmpdir(), path[128], err[256];
	static const uint8_t data[] = "old image";
	uint8_t buf[WAL_SNAP_V1_HEADER_SIZE + sizeof(data)] = { 0 };
	struct raft_snapshot bad = { .index = 5, .term = 1 };
	uint8_t hdr[WAL_SNAP_HEADER_SIZE];
	struct wal_loaded ld;
	const char *why;
	int fd;

	KTAP_ASSERT(t, dir, "mkdtemp");
	put_le(buf, WAL_SNAP_MAGIC, 4);
	put_le(buf + 4, 1, 4);
	put_le(buf + 8, 42, 8);
	put_le(buf + 16, 3, 8);
	put_le(buf + 24, sizeof(data), 8);
	put_le(buf + 32, crc32c(0, data, sizeof(data)), 4);
	put_le(buf + 36, crc32c(0, buf, 36), 4);
	memcpy(buf + WAL_SNAP_V1_HEADER_SIZE, data, sizeof(data));
	snprintf(path, sizeof(path), "%s/snapshot", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	KTAP_ASSERT(t, fd >= 0 && write(fd, buf, sizeof(buf)) ==
		    (ssize_t)sizeof(buf), "write");
	close(fd);
	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "%s", err);
	KTAP_EXPECT(t, ld.boot.snapshot.index == 42 &&
		    ld.boot.snapshot.len == sizeof(data) &&
		    !memcmp(ld.boot.snapshot.data, data, sizeof(data)) &&
		    !ld.boot.snapshot.membership.voters &&
		    !ld.boot.snapshot.membership.learners,
		    "version 1 snapshot read wrong");
	wal_loaded__free(&ld);
	remove_dir(dir);
	bad.membership.voters = 0x1;	/* slot 0 */
	wal_snap__encode_header(hdr, &bad);
	KTAP_EXPECT(t, wal_snap__decode_header(hdr, &bad, &why) == -EUCLEAN,
		    "slot 0 accepted");
	bad.membership.voters = 0x6;
	bad.membership.learners = 0x4;	/* slot 2 twice */
	wal_snap__encode_header(hdr, &bad);
	KTAP_EXPECT(t, wal_snap__decode_header(hdr, &bad, &why) == -EUCLEAN,
		    "a slot both voter and learner accepted");
}

static void persist_ready(struct ktap *t, struct raft *r,
			  struct wal_writer *w, uint64_t *applied)
{
	static const struct gnomon_tt now = { .status = 0 };
	struct raft_ready rd;

	for (int k = 0; k < 4; k++) {
		KTAP_ASSERT(t, !raft__ready(r, &rd), "ready");
		*applied += rd.n_committed;
		if (!rd.persist_seq)
			return;
		KTAP_ASSERT(t, !wal_writer__persist(w, &rd), "persist");
		KTAP_ASSERT(t, !raft__persisted(r, rd.persist_seq, &now),
			    "persisted");
	}
}

/* A one-member cluster on real files: restart, snapshot, compaction. */
KTAP_TEST(wal_raft_member_restarts_from_disk)
{
	static const struct gnomon_tt now = { .status = 0 };
	char *dir = tmpdir(), err[256];
	struct raft_config cfg;
	struct wal_loaded ld;
	struct wal_writer w;
	struct raft *r;
	uint64_t applied = 0, last, term;
	size_t segs_before, segs_after;

	raft_config__defaults(&cfg, 1, 1);
	cfg.trailing_entries = 10;
	KTAP_ASSERT(t, dir && !wal_posix__load(dir, &ld, err, sizeof(err)),
		    "load");
	KTAP_ASSERT(t, !wal_writer__open(&w, dir, &ld, 4096), "open");
	KTAP_ASSERT(t, !raft__new(&r, &cfg, &ld.boot), "new");
	wal_loaded__free(&ld);
	for (int k = 0; k < 40 && raft__role(r) != RAFT_LEADER; k++) {
		raft__tick(r, &now);
		persist_ready(t, r, &w, &applied);
	}
	KTAP_ASSERT(t, raft__role(r) == RAFT_LEADER, "not leader");
	for (int k = 0; k < 300; k++) {
		char v[32];

		snprintf(v, sizeof(v), "value %d", k);
		KTAP_ASSERT(t, !raft__propose(r, v, (uint32_t)strlen(v), NULL),
			    "propose");
		if (k % 7 == 0)
			persist_ready(t, r, &w, &applied);
	}
	persist_ready(t, r, &w, &applied);
	KTAP_ASSERT(t, applied == raft__last_index(r), "applied %llu",
		    (unsigned long long)applied);
	/* Snapshot at 250: the file first, then compaction. */
	KTAP_ASSERT(t, !raft__snapshot_taken(r, 250, "SM@250", 6), "snap");
	KTAP_ASSERT(t, !wal_writer__save_snapshot(&w, &(struct raft_snapshot){
		.index = 250, .term = raft__term_at(r, 250),
		.data = (const uint8_t *)"SM@250", .len = 6 }), "save");
	segs_before = w.n_segs;
	KTAP_ASSERT(t, !wal_writer__compact(&w, 250), "compact");
	KTAP_EXPECT(t, w.n_segs < segs_before && w.n_segs >= 1,
		    "%zu segments, %zu before", w.n_segs, segs_before);
	segs_after = w.n_segs;
	last = raft__last_index(r);
	term = raft__term(r);
	raft__free(r);
	wal_writer__close(&w);

	KTAP_ASSERT(t, !wal_posix__load(dir, &ld, err, sizeof(err)), "%s", err);
	KTAP_EXPECT(t, ld.n_segs == segs_after, "%zu segments on disk, "
		    "expected %zu", ld.n_segs, segs_after);
	KTAP_ASSERT(t, !raft__new(&r, &cfg, &ld.boot), "restart");
	KTAP_EXPECT(t, raft__last_index(r) == last && raft__term(r) == term,
		    "restarted at %llu term %llu, was %llu term %llu",
		    (unsigned long long)raft__last_index(r),
		    (unsigned long long)raft__term(r),
		    (unsigned long long)last, (unsigned long long)term);
	/* Index 1 is the leader's no-op, so "value k" is index k + 2. */
	KTAP_EXPECT(t, raft__first_index(r) == 251 &&
		    raft__entry(r, 300)->len == 9 &&
		    !memcmp(raft__entry(r, 300)->data, "value 298", 9),
		    "first %llu", (unsigned long long)raft__first_index(r));
	raft__free(r);
	wal_loaded__free(&ld);
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
