// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking POSIX implementation of loading and writing a gnomond data
 * directory (wal_posix.h), for start-up, tools and tests: gnomond's loop
 * does the same operations through its ring (daemon/storage_files.c) and
 * uses only the bookkeeping here.  Every decision about what the bytes
 * mean is made by wal_format.c and wal_recover.c; this file only moves
 * bytes.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/grow.h"
#include "wal_plan.h"
#include "wal_posix.h"

static int read_at(int dirfd, const char *name, uint8_t **buf, size_t *len)
{
	struct stat st;
	ssize_t got;
	size_t done = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < *len) {
		got = pread(fd, *buf + done, *len - done, (off_t)done);
		if (got <= 0) {
			int rc = got < 0 ? -errno : -EIO;

			free(*buf);
			close(fd);
			return rc;
		}
		done += (size_t)got;
	}
	close(fd);
	return 0;
}

static int cmp_segs(const void *a, const void *b)
{
	const struct wal_segment_view *x = a, *y = b;

	return x->seg_no < y->seg_no ? -1 : x->seg_no > y->seg_no;
}

static int list_segments(int dirfd, struct wal_loaded *ld)
{
	DIR *d = fdopendir(dup(dirfd));
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc && (de = readdir(d))) {
		uint64_t no;
		char tail;

		if (sscanf(de->d_name, "wal-%16" SCNx64 ".se%c", &no, &tail) != 2 ||
		    tail != 'g' || strlen(de->d_name) != 24)
			continue;
		if (ld->n_segs == cap) {
			void *v = grow__array(ld->segs, &cap, ld->n_segs + 1,
					      sizeof(*ld->segs), 8);

			if (!v) {
				rc = -ENOMEM;
				break;
			}
			ld->segs = v;
		}
		ld->segs[ld->n_segs].seg_no = no;
		rc = read_at(dirfd, de->d_name,
			     (uint8_t **)&ld->segs[ld->n_segs].buf,
			     &ld->segs[ld->n_segs].len);
		ld->n_segs += !rc;
	}
	closedir(d);
	if (!rc && ld->n_segs)
		qsort(ld->segs, ld->n_segs, sizeof(*ld->segs), cmp_segs);
	return rc;
}

static int load_meta(int dirfd, struct wal_loaded *ld, char *err,
		     size_t errlen)
{
	static const char *const names[2] = { "meta1", "meta2" };
	struct raft_hard_state hs[2] = { 0 };
	uint64_t seq[2] = { 0 };
	const char *why[2] = { NULL, NULL };
	int rc[2];

	for (int i = 0; i < 2; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		rc[i] = read_at(dirfd, names[i], &buf, &len);
		if (rc[i] == -ENOENT)
			rc[i] = -ENODATA;
		else if (!rc[i])
			rc[i] = wal_meta__decode(buf, len, &hs[i], &seq[i],
						 &why[i]);
		free(buf);
		if (rc[i] && rc[i] != -ENODATA && rc[i] != -EUCLEAN)
			return rc[i];
	}
	/* One torn write at most: both damaged means real corruption. */
	if (rc[0] == -EUCLEAN && rc[1] == -EUCLEAN) {
		snprintf(err, errlen, "meta1: %s; meta2: %s", why[0], why[1]);
		return -EUCLEAN;
	}
	int pick = !rc[1] && (rc[0] || seq[1] > seq[0]);

	if (!rc[pick]) {
		ld->boot.hs = hs[pick];
		ld->meta_seq = seq[pick];
	}
	ld->meta_next = pick == 0 && !rc[0] ? 2 : 1;
	return 0;
}

static int load_snapshot(int dirfd, struct wal_loaded *ld, char *err,
			 size_t errlen)
{
	uint8_t *buf = NULL;
	const char *why = NULL;
	size_t len;
	int rc = read_at(dirfd, WAL_SNAP_NAME, &buf, &len);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	rc = wal_snap__decode(buf, len, &ld->boot.snapshot, &why);
	if (rc) {
		snprintf(err, errlen, "snapshot: %s", why);
		free(buf);
		return rc;
	}
	ld->snap_buf = buf;
	return 0;
}

int wal_posix__load(const char *dir, struct wal_loaded *ld, char *err,
		    size_t errlen)
{
	uint64_t snap;
	size_t skip = 0;
	int dirfd, rc;

	memset(ld, 0, sizeof(*ld));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = list_segments(dirfd, ld);
	if (!rc)
		rc = load_meta(dirfd, ld, err, errlen);
	if (!rc)
		rc = load_snapshot(dirfd, ld, err, errlen);
	close(dirfd);
	if (!rc) {
		rc = wal__recover(ld->segs, ld->n_segs,
				  ld->boot.snapshot.index, &ld->rec);
		if (rc == -EUCLEAN)
			snprintf(err, errlen, "%s", ld->rec.error);
	}
	if (rc)
		return rc;
	if (ld->rec.lost_upto > ld->boot.hs.lost_upto)
		ld->boot.hs.lost_upto = ld->rec.lost_upto;
	snap = ld->boot.snapshot.index;
	while (skip < ld->rec.n && ld->rec.entries[skip].index <= snap)
		skip++;
	if (skip < ld->rec.n && ld->rec.entries[skip].index != snap + 1) {
		snprintf(err, errlen, "the log starts at %llu, after the "
			 "snapshot's %llu: entries are missing",
			 (unsigned long long)ld->rec.entries[skip].index,
			 (unsigned long long)snap);
		return -EUCLEAN;
	}
	ld->boot.entries = ld->rec.entries + skip;
	ld->boot.n_entries = ld->rec.n - skip;
	return 0;
}

void wal_loaded__free(struct wal_loaded *ld)
{
	for (size_t i = 0; i < ld->n_segs; i++)
		free((void *)ld->segs[i].buf);
	free(ld->segs);
	free(ld->snap_buf);
	wal_recovery__free(&ld->rec);
	memset(ld, 0, sizeof(*ld));
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int track_segment(struct wal_writer *w, uint64_t seg_no,
			 uint64_t max_index)
{
	if (w->n_segs && w->segs[w->n_segs - 1].seg_no == seg_no)
		return 0;
	if (w->n_segs == w->cap_segs) {
		void *v = grow__array(w->segs, &w->cap_segs, w->n_segs + 1,
				      sizeof(*w->segs), 16);

		if (!v)
			return -ENOMEM;
		w->segs = v;
	}
	w->segs[w->n_segs++] = (struct wal_seg_info){ seg_no, max_index };
	return 0;
}

int wal_writer__switch(struct wal_writer *w, int fd, uint64_t seg_no,
		       int *old_fd)
{
	int rc = track_segment(w, seg_no, 0);

	if (rc)
		return rc;
	*old_fd = w->fd;
	w->fd = fd;
	w->seg_no = seg_no;
	w->off = w->durable = WAL_SEG_HEADER_SIZE;
	return 0;
}

void wal_writer__cursor(const struct wal_writer *w, struct wal_cursor *c)
{
	*c = (struct wal_cursor){
		.seg_no = w->seg_no, .seg_size = w->seg_size, .off = w->off,
		.durable = w->durable, .meta_seq = w->meta_seq,
		/* 0: a writer lent for a snapshot alone (snapshot.c) */
		.meta_next = w->meta_next ? w->meta_next : 1,
		.hs = w->hs,
	};
}

void wal_writer__planned(struct wal_writer *w, const struct wal_plan *p)
{
	struct wal_seg_info *last = w->n_segs ? &w->segs[w->n_segs - 1] : NULL;

	assert(p->cur.seg_no == w->seg_no);
	w->off = p->cur.off;
	w->durable = p->cur.durable;
	w->meta_seq = p->cur.meta_seq;
	w->meta_next = p->cur.meta_next;
	w->hs = p->cur.hs;
	if (p->last && last && last->seg_no == p->rec_seg &&
	    p->last > last->max_index)
		last->max_index = p->last;
}

/* The descriptor a step works on, opened on first use (or by CREATE). */
static int step_fd(struct wal_writer *w, const struct wal_step *s, int *fds,
		   int *new_fd, int **fdp)
{
	char name[WAL_FILE_NAME_SIZE];
	int flags = s->file == WAL_FILE_SEG ? O_RDWR : O_WRONLY;

	*fdp = s->file != WAL_FILE_SEG ? &fds[s->file] :
	       s->seg_no == w->seg_no ? &w->fd : new_fd;
	if (s->op == WAL_OP_RENAME || s->op == WAL_OP_UNLINK ||
	    (**fdp >= 0 && s->op != WAL_OP_CREATE))
		return 0;
	if (**fdp >= 0 && *fdp != &w->fd)
		close(**fdp);
	wal_file__name(name, s->file, s->seg_no);
	**fdp = openat(w->dirfd, name, flags | O_CREAT | O_CLOEXEC |
		       (s->trunc ? O_TRUNC : 0), 0600);
	return **fdp < 0 ? -errno : 0;
}

static int do_step(struct wal_writer *w, const struct wal_step *s, int *fdp)
{
	char name[WAL_FILE_NAME_SIZE], to[WAL_FILE_NAME_SIZE];

	wal_file__name(name, s->file, s->seg_no);
	switch (s->op) {
	case WAL_OP_CREATE:
		return 0;
	case WAL_OP_FALLOCATE:
		return -posix_fallocate(*fdp, 0, (off_t)s->len);
	case WAL_OP_WRITE:
		return pwrite_all(*fdp, s->buf, (size_t)s->len, s->off);
	case WAL_OP_DATASYNC:
		return fdatasync(*fdp) ? -errno : 0;
	case WAL_OP_FSYNC:
		return fsync(*fdp) ? -errno : 0;
	case WAL_OP_RENAME:
		if (*fdp >= 0)
			close(*fdp);
		*fdp = -1;
		wal_file__name(to, s->to, 0);
		return renameat(w->dirfd, name, w->dirfd, to) ? -errno : 0;
	case WAL_OP_UNLINK:
		return unlinkat(w->dirfd, name, 0) && errno != ENOENT ?
		       -errno : 0;
	}
	return -EINVAL;
}

/*
 * The blocking executor: the steps in order, each once the one before has
 * completed, which satisfies every wait.  A segment the plan makes is left
 * open in *new_fd; *done counts the steps that completed.
 */
static int execute(struct wal_writer *w, const struct wal_plan *p,
		   int *new_fd, size_t *done)
{
	int fds[WAL_FILE_SNAP_RECV + 1];
	int rc = 0, *fdp;

	for (size_t i = 0; i <= WAL_FILE_SNAP_RECV; i++)
		fds[i] = -1;
	fds[WAL_FILE_DIR] = w->dirfd;
	*new_fd = -1;
	for (*done = 0; *done < p->n; ++*done) {
		const struct wal_step *s = &p->steps[*done];

		rc = step_fd(w, s, fds, new_fd, &fdp);
		if (!rc)
			rc = do_step(w, s, fdp);
		if (rc)
			break;
	}
	for (size_t i = WAL_FILE_META1; i <= WAL_FILE_SNAP_RECV; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc && *new_fd >= 0) {
		close(*new_fd);
		*new_fd = -1;
	}
	return rc;
}

/* Execute p and take over its outcome. */
static int run(struct wal_writer *w, const struct wal_plan *p)
{
	int new_fd, old = -1, rc;
	size_t done;

	rc = execute(w, p, &new_fd, &done);
	if (!rc && p->new_seg)
		rc = wal_writer__switch(w, new_fd, p->new_seg, &old);
	if (rc) {
		if (new_fd >= 0)
			close(new_fd);
		return rc;
	}
	if (old >= 0)
		close(old);
	wal_writer__planned(w, p);
	return 0;
}

/* Plan with part() from the writer's position, then run it. */
static int plan_run(struct wal_writer *w,
		    int (*part)(struct wal_plan *p, const void *arg),
		    const void *arg)
{
	struct wal_cursor c;
	struct wal_plan p;
	int rc;

	wal_writer__cursor(w, &c);
	wal_plan__init(&p);
	wal_plan__begin(&p, &c);
	rc = part(&p, arg);
	if (!rc)
		rc = run(w, &p);
	wal_plan__free(&p);
	return rc;
}

static int part_segment(struct wal_plan *p, const void *arg)
{
	int rc = wal_plan__new_segment(p, *(const uint64_t *)arg);

	/* The writer goes on in it. */
	p->cur.seg_no = p->new_seg;
	p->cur.off = p->cur.durable = WAL_SEG_HEADER_SIZE;
	return rc;
}

static int new_segment(struct wal_writer *w, uint64_t seg_no)
{
	return plan_run(w, part_segment, &seg_no);
}

static int part_open(struct wal_plan *p, const void *arg)
{
	(void)arg;
	return wal_plan__open(p);
}

int wal_writer__open(struct wal_writer *w, const char *dir,
		     const struct wal_loaded *ld, uint64_t seg_size)
{
	const struct wal_segment_view *last;
	uint8_t zero[4096] = { 0 };
	char name[WAL_SEG_NAME_SIZE];
	int rc = 0;

	memset(w, 0, sizeof(*w));
	w->fd = w->dirfd = -1;
	w->seg_size = seg_size ? seg_size : WAL_DEFAULT_SEGMENT_SIZE;
	w->meta_seq = ld->meta_seq;
	w->meta_next = ld->meta_next ? ld->meta_next : 1;
	w->hs = ld->boot.hs;
	for (size_t i = 0; i < ld->rec.n_segs && !rc; i++)
		rc = track_segment(w, ld->rec.segs[i].seg_no,
				   ld->rec.segs[i].max_index);
	if (rc)
		return rc;
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0)
		return -errno;
	rc = plan_run(w, part_open, NULL);
	if (rc)
		return rc;
	/* Segments made ahead and never written to go: they are made again
	 * when needed. */
	for (size_t i = ld->rec.n_segs; i < ld->n_segs; i++) {
		wal_segment__name(name, ld->segs[i].seg_no);
		if (unlinkat(w->dirfd, name, 0) && errno != ENOENT)
			return -errno;
	}
	if (ld->rec.n_unused && fsync(w->dirfd))
		return -errno;
	if (!ld->rec.n_segs)
		return new_segment(w, ld->n_segs ? ld->segs[0].seg_no : 1);
	last = &ld->segs[ld->rec.n_segs - 1];
	wal_segment__name(name, last->seg_no);
	w->fd = openat(w->dirfd, name, O_RDWR | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->seg_no = last->seg_no;
	w->off = w->durable = ld->rec.tail_offset;
	/* The cut record is the only evidence of the loss: record it in the
	 * hard state before erasing it. */
	if (ld->rec.lost_upto)
		rc = wal_writer__save_hard_state(w, &ld->boot.hs);
	/* Erase a torn tail, so that it can never be mistaken for data. */
	for (uint64_t o = w->off; !rc && o < last->len; o += sizeof(zero))
		rc = pwrite_all(w->fd, zero, last->len - o < sizeof(zero) ?
				last->len - o : sizeof(zero), o);
	if (!rc && ld->rec.torn_bytes && fdatasync(w->fd))
		rc = -errno;
	return rc;
}

struct append_arg {
	const struct raft_entry *e;
	size_t n;
};

static int part_append(struct wal_plan *p, const void *arg)
{
	const struct append_arg *a = arg;
	int rc = wal_plan__record(p, a->e, a->n);

	if (rc == -ENOSPC) {
		rc = wal_plan__roll(p);
		if (!rc)
			rc = wal_plan__record(p, a->e, a->n);
	}
	return rc;
}

int wal_writer__append(struct wal_writer *w, const struct raft_entry *e,
		       size_t n)
{
	return plan_run(w, part_append, &(struct append_arg){ e, n });
}

static int part_sync(struct wal_plan *p, const void *arg)
{
	(void)arg;
	return wal_plan__sync(p);
}

int wal_writer__sync(struct wal_writer *w)
{
	return plan_run(w, part_sync, NULL);
}

static int part_hard_state(struct wal_plan *p, const void *arg)
{
	return wal_plan__hard_state(p, arg);
}

int wal_writer__save_hard_state(struct wal_writer *w,
				const struct raft_hard_state *hs)
{
	return plan_run(w, part_hard_state, hs);
}

static int part_snapshot(struct wal_plan *p, const void *arg)
{
	return wal_plan__snapshot(p, arg, WAL_FILE_SNAP_TMP);
}

int wal_writer__save_snapshot(struct wal_writer *w,
			      const struct raft_snapshot *snap)
{
	return plan_run(w, part_snapshot, snap);
}

static int part_persist(struct wal_plan *p, const void *arg)
{
	return wal_plan__persist(p, arg);
}

int wal_writer__persist(struct wal_writer *w, const struct raft_ready *rd)
{
	return plan_run(w, part_persist, rd);
}

size_t wal_writer__droppable(const struct wal_writer *w, uint64_t upto)
{
	size_t n = 0;

	while (n + 1 < w->n_segs && w->segs[n].max_index <= upto)
		n++;
	return n;
}

void wal_writer__forget(struct wal_writer *w, size_t n)
{
	assert(n < w->n_segs);
	memmove(w->segs, w->segs + n, (w->n_segs - n) * sizeof(*w->segs));
	w->n_segs -= n;
}

int wal_writer__compact(struct wal_writer *w, uint64_t upto)
{
	size_t n = wal_writer__droppable(w, upto), done;
	uint64_t *nos = n ? calloc(n, sizeof(*nos)) : NULL;
	struct wal_cursor c;
	struct wal_plan p;
	int new_fd, rc;

	if (!n)
		return 0;
	if (!nos)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		nos[i] = w->segs[i].seg_no;
	wal_writer__cursor(w, &c);
	wal_plan__init(&p);
	wal_plan__begin(&p, &c);
	rc = wal_plan__drop(&p, nos, n);
	free(nos);
	if (!rc)
		rc = execute(w, &p, &new_fd, &done);
	wal_plan__free(&p);
	if (rc && done < n) {
		/* A segment that would not go stays, and the younger ones
		 * with it; the deletions made are synced all the same. */
		wal_writer__forget(w, done);
		return done && fsync(w->dirfd) ? -errno : 0;
	}
	wal_writer__forget(w, n);
	return rc;
}

void wal_writer__close(struct wal_writer *w)
{
	free(w->segs);
	w->segs = NULL;
	w->n_segs = w->cap_segs = 0;
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->fd = w->dirfd = -1;
}
