// SPDX-License-Identifier: GPL-2.0
/*
 * The backup file's format (backup.h): encoding its header and trailer,
 * and checking a whole file before anything is built from it; and
 * `gnomond --restore-snapshot FILE --data-dir DIR`, which makes DIR a
 * data directory holding nothing but the file's store, as a WAL snapshot
 * at the file's Raft index and term (and a hard state in that term), so
 * that a new cluster starts from it.  Every member of the new cluster is
 * restored from the same file: their logs then agree up to that index.
 *
 * The file is checked whole (its SHA-256, and that its store decodes)
 * before anything is written, and DIR must not exist or be empty: a data
 * directory is never overwritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mvcc/mvcc.h"
#include "../peer/sha256.h"
#include "../wal/wal_posix.h"
#include "backup.h"

static const char magic[16] = "gnomond backup\n";

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void gd_backup__encode_header(uint8_t buf[GD_BACKUP_HEADER_SIZE],
			      const struct gd_backup_header *h)
{
	memset(buf, 0, GD_BACKUP_HEADER_SIZE);
	memcpy(buf, magic, sizeof(magic));
	buf[16] = GD_BACKUP_VERSION;
	put64(buf + 24, (uint64_t)h->revision);
	put64(buf + 32, h->index);
	put64(buf + 40, h->term);
	put64(buf + 48, h->member_id);
}

size_t gd_backup__trailer(uint8_t buf[GD_BACKUP_ALIGN + 8], uint64_t len)
{
	size_t pad = (GD_BACKUP_ALIGN -
		      (GD_BACKUP_HEADER_SIZE + len + 8) % GD_BACKUP_ALIGN) %
		     GD_BACKUP_ALIGN;

	memset(buf, 0, pad);
	put64(buf + pad, len);
	return pad + 8;
}

int gd_backup__check(const uint8_t *buf, size_t size,
		     struct gd_backup_header *h, const uint8_t **data,
		     size_t *len, const char **why)
{
	uint8_t sum[SHA256_DIGEST_SIZE];
	uint64_t dlen;

	*why = NULL;
	if (size < sizeof(magic) || memcmp(buf, magic, sizeof(magic)))
		*why = "not a gnomond backup (an etcd bbolt snapshot, or "
		       "another file?)";
	else if (size < GD_BACKUP_HEADER_SIZE + 8 + GD_BACKUP_SUM_SIZE ||
		 (size - GD_BACKUP_SUM_SIZE) % GD_BACKUP_ALIGN)
		*why = "truncated (or padded: not a whole file)";
	else if (get64(buf + 16) != GD_BACKUP_VERSION ||
		 get64(buf + 56))
		*why = "an unknown version of the format";
	if (*why)
		return -EUCLEAN;
	size -= GD_BACKUP_SUM_SIZE;
	sha256__digest(buf, size, sum);
	if (memcmp(sum, buf + size, sizeof(sum))) {
		*why = "its SHA-256 does not match (truncated or corrupt)";
		return -EUCLEAN;
	}
	dlen = get64(buf + size - 8);
	if (dlen > size - GD_BACKUP_HEADER_SIZE - 8 ||
	    size - GD_BACKUP_HEADER_SIZE - 8 - dlen >= GD_BACKUP_ALIGN) {
		*why = "the data's length does not fit the file";
		return -EUCLEAN;
	}
	h->revision = (int64_t)get64(buf + 24);
	h->index = get64(buf + 32);
	h->term = get64(buf + 40);
	h->member_id = get64(buf + 48);
	*data = buf + GD_BACKUP_HEADER_SIZE;
	*len = (size_t)dlen;
	return 0;
}

/* 0 if @dir is missing (made now) or empty; -EEXIST if it holds files. */
static int empty_dir(const char *dir)
{
	struct dirent *e;
	DIR *dp;
	int rc = 0;

	if (!mkdir(dir, 0700))
		return 0;
	if (errno != EEXIST)
		return -errno;
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = -EEXIST;
	closedir(dp);
	return rc;
}

static int write_dir(const char *dir, const struct gd_backup_header *h,
		     const uint8_t *data, size_t len, uint64_t seg_size)
{
	struct raft_snapshot snap = { .index = h->index, .term = h->term,
				      .data = data, .len = len };
	struct raft_hard_state hs = { .term = h->term, .commit = h->index };
	struct wal_loaded ld = { 0 };
	struct wal_writer w;
	char err[256] = "";
	int rc = wal_posix__load(dir, &ld, err, sizeof(err));

	if (rc)
		return rc;
	rc = wal_writer__open(&w, dir, &ld, seg_size);
	wal_loaded__free(&ld);
	if (rc)
		return rc;
	rc = wal_writer__save_snapshot(&w, &snap);
	if (!rc)
		rc = wal_writer__save_hard_state(&w, &hs);
	wal_writer__close(&w);
	return rc;
}

int gd_backup__restore(const char *file, const char *dir, uint64_t seg_size)
{
	struct gd_backup_header h;
	struct mvcc_store *store;
	const uint8_t *data;
	const char *why;
	struct stat st;
	size_t len;
	void *map;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		fprintf(stderr, "gnomond: %s: %s\n", file, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ,
				MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "gnomond: %s: not a gnomond backup (%s)\n",
			file, st.st_size ? strerror(errno) : "empty");
		return -EUCLEAN;
	}
	rc = gd_backup__check(map, (size_t)st.st_size, &h, &data, &len, &why);
	if (!rc && mvcc_store__restore(&store, data, len, 0)) {
		why = "its store does not decode";
		rc = -EUCLEAN;
	}
	if (rc) {
		fprintf(stderr, "gnomond: %s: %s; nothing restored\n", file,
			why);
		goto unmap;
	}
	mvcc_store__free(store);
	rc = empty_dir(dir);
	if (rc) {
		fprintf(stderr, "gnomond: --data-dir %s: %s; a data directory "
			"is never overwritten (restore into a new one)\n", dir,
			rc == -EEXIST ? "not empty" : strerror(-rc));
		goto unmap;
	}
	rc = write_dir(dir, &h, data, len, seg_size);
	if (rc)
		fprintf(stderr, "gnomond: --data-dir %s: %s (remove it before "
			"trying again)\n", dir, strerror(-rc));
	else
		printf("restored %s into %s: revision %lld at Raft index %llu, "
		       "term %llu; start every member of the new cluster from "
		       "the same file\n", file, dir, (long long)h.revision,
		       (unsigned long long)h.index,
		       (unsigned long long)h.term);
unmap:
	munmap(map, (size_t)st.st_size);
	return rc;
}
