// SPDX-License-Identifier: GPL-2.0
/*
 * WAL crash recovery through real files (wal_posix.c; the same from
 * segments in memory: wal_test.c): writer, reload, cut the last segment
 * with truncate(2), reload and keep writing; a cut inside the last record
 * recorded in the metadata before the tail is erased; unused segments
 * after a torn one; the two metadata files (and version 1 ones); the
 * snapshot file (and version 1 ones); and a one-member Raft cluster that
 * restarts from its files after a snapshot and compaction.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "../ktap.h"
#include "../../tools/gnomond/wal/crc32c.h"
#include "wal_helpers.h"

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
