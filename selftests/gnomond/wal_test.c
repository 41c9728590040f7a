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
 * The same through real files: wal_files_test.c.
 */
#include <errno.h>
#include "../ktap.h"
#include "../../tools/gnomond/wal/crc32c.h"
#include "wal_helpers.h"

#define MAX_RECS	64

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

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
