// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots of the state machine, taken in a forked child (as Redis does
 * its background saves), so that the loop never stalls on them.
 *
 * Serializing the whole store and writing and syncing the file cost time
 * in proportion to the store (seconds for 100 MB on a busy machine), while
 * the loop must answer within milliseconds.  So, every --snapshot-count
 * applied entries, the loop forks: the child gets a copy-on-write image of
 * the store at applied index I, serializes it (the member table first,
 * members.h), writes it as the WAL's
 * "snapshot" file (wal_writer__save_snapshot: a temporary file, synced,
 * renamed, the directory synced) and exits; it dies with its parent.
 *
 * While the child shares the image, every page the parent writes is
 * copied, and on this kind of VM each copy costs ~20 us (a TLB shootdown
 * to the io_uring workers): measured, a loop 10x slower while a child
 * lived.  So the child serializes at normal priority (nice 10 made it live
 * 8-11 s instead of 6), and once the bytes are out it drops its references
 * to the parent's big anonymous mappings (release_image) before the long
 * write and sync.  The loop goes on meanwhile and
 * reaps the child from the tick.  If the child succeeded, the loop opens
 * the file and reads its header through the ring, and if the file still
 * holds the child's index, maps it read-only and hands the mapped bytes to
 * the core (raft__snapshot_taken: they are what it sends to followers that
 * fell behind), then drops the WAL segments the snapshot covers (through
 * the ring too, storage_files.c).  A child that failed is logged; the next
 * tick past the threshold tries again.  Before the storage renames a
 * snapshot received from the leader (newer than anything applied here)
 * over the file, it kills a running child and waits for it through its
 * pidfd, so that an older snapshot never replaces a newer one.
 *
 * The core is told only once the file is durable, so a crash at any point
 * leaves either the old snapshot and the whole log, or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../wal/wal_format.h"
#include "daemon.h"
#include "log.h"

/* Anonymous mappings at least this big go back to the parent. */
#define RELEASE_MIN (1u << 20)

static int snapshot_write(void *ctx, const void *buf, size_t len)
{
	return gd_buf__append(ctx, buf, len);
}

static bool maps_line_releasable(const char *line, const void *keep)
{
	unsigned long start, end, inode;
	uintptr_t tp = (uintptr_t)__builtin_thread_pointer();
	uintptr_t sp = (uintptr_t)&start;
	char perms[5];
	int path = 0;

	if (sscanf(line, "%lx-%lx %4s %*x %*x:%*x %lu %n", &start, &end, perms,
		   &inode, &path) < 4)
		return false;
	/* Private, writable, anonymous (or the brk heap), and big: the
	 * store's memory.  Never the bytes to write, the stack or the TLS. */
	return perms[1] == 'w' && perms[3] == 'p' && !inode &&
	       (!line[path] || line[path] == '\n' ||
		!strncmp(line + path, "[heap]", 6)) &&
	       end - start >= RELEASE_MIN &&
	       !((uintptr_t)keep >= start && (uintptr_t)keep < end) &&
	       !(tp >= start && tp < end) && !(sp >= start && sp < end);
}

/*
 * In the child, once the store is serialized: hand the parent's
 * copy-on-write image back (MADV_DONTNEED on the big anonymous mappings),
 * so that the parent's writes stop copying pages while the file is written
 * and synced.  Nothing but the serialized bytes is used after this.  The
 * map file is read with plain system calls into the stack.
 */
static void release_image(const void *keep)
{
	char maps[65536], *line, *nl;
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (len < sizeof(maps) - 1 &&
	       (n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = 0;
	/* A truncated last line is dropped. */
	for (line = maps; (nl = strchr(line, '\n')); line = nl + 1) {
		unsigned long start, end;

		if (!maps_line_releasable(line, keep) ||
		    sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		madvise((void *)start, end - start, MADV_DONTNEED);
	}
}

/* In the child: the member table and the store as they were at the fork,
 * durable as "snapshot", with the Raft configuration at index. */
static int child_save(struct gnomond *d, uint64_t index, uint64_t term,
		      const struct raft_membership *conf)
{
	struct gd_buf b = { 0 };
	struct raft_snapshot snap = { .index = index, .term = term,
				      .membership = *conf };
	/* The writer's file names hang off its directory: a copy of that is
	 * all that must survive release_image(). */
	struct wal_writer w = { .dirfd = gd_storage__dirfd(d) };
	int rc = gd_buf__reserve(&b, RELEASE_MIN + mvcc_store__size(d->store));

	if (!rc)
		rc = gd_members__encode(&d->members, &b);
	if (!rc)
		rc = mvcc_store__snapshot(d->store, snapshot_write, &b);
	if (rc)
		return rc;
	snap.data = b.p;
	snap.len = b.len;
	release_image(b.p);
	return wal_writer__save_snapshot(&w, &snap);
}

pid_t gd_snapshot__fork(int keep)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	if (keep > 3)
		close_range(3, (unsigned int)keep - 1, 0);
	close_range((unsigned int)keep + 1, ~0U, 0);
	return 0;
}

static void start(struct gnomond *d)
{
	uint64_t index = d->applied;
	uint64_t term = raft__term_at(d->raft, index);
	struct raft_membership conf;
	pid_t pid;

	if (raft__membership_at(d->raft, index, &conf)) {
		gd_warn("snapshot at index %llu: no configuration known there",
			(unsigned long long)index);
		return;
	}
	/* Only the directory is needed: drop sockets and the ring. */
	pid = gd_snapshot__fork(gd_storage__dirfd(d));
	if (pid < 0) {
		gd_warn("snapshot: fork: %s", strerror(errno));
		return;
	}
	if (!pid)
		_exit(child_save(d, index, term, &conf) ? 1 : 0);
	d->snap_child = pid;
	d->snap_child_index = index;
}

static void drop_map(struct gnomond *d)
{
	if (d->snap_map)
		munmap(d->snap_map, d->snap_map_len);
	d->snap_map = NULL;
	d->snap_map_len = 0;
}

/*
 * Loading the child's file, through the ring: open it, read its header,
 * and if it still holds the child's index (a snapshot received from the
 * leader meanwhile replaces it), map it and hand it to the core.
 */
static struct {
	struct gd_op op;
	int stage;		/* 0: idle, 1: opening, 2: reading, 3: closing */
	int fd;
	uint64_t index;
	uint8_t hdr[WAL_SNAP_HEADER_SIZE];
} loader = { .fd = -1 };

static void on_loader(struct gnomond *d, struct gd_op *op, int res,
		      uint32_t flags);

static void loader_submit(struct gnomond *d, int stage)
{
	struct io_uring_sqe *sqe;

	loader.op.fn = on_loader;
	loader.stage = stage;
	sqe = gd_sqe(d, &loader.op);
	if (!sqe)
		return;
	if (stage == 1)
		io_uring_prep_openat(sqe, gd_storage__dirfd(d), WAL_SNAP_NAME,
				     O_RDONLY | O_CLOEXEC, 0);
	else if (stage == 2)
		io_uring_prep_read(sqe, loader.fd, loader.hdr,
				   WAL_SNAP_HEADER_SIZE, 0);
	else
		io_uring_prep_close(sqe, loader.fd);
	if (stage == 3)
		loader.fd = -1;
}

/* The file's header is read: -errno to stop, 0 when done or skipped. */
static int install(struct gnomond *d)
{
	uint64_t index = loader.index;
	struct raft_snapshot hdr;
	const char *why = NULL;
	size_t len;
	void *map;
	int rc;

	if (wal_snap__decode_header(loader.hdr, &hdr, &why)) {
		gd_err("snapshot file: %s", why);
		return -EUCLEAN;
	}
	if (index <= d->snap_index)
		return 0;	/* one from the leader is newer */
	if (hdr.index != index) {
		gd_warn("snapshot file holds index %llu, not the child's %llu",
			(unsigned long long)hdr.index,
			(unsigned long long)index);
		return 0;
	}
	len = WAL_SNAP_HEADER_SIZE + (size_t)hdr.len;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, loader.fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	rc = raft__snapshot_taken(d->raft, index,
				  (uint8_t *)map + WAL_SNAP_HEADER_SIZE,
				  (size_t)hdr.len);
	if (rc) {
		munmap(map, len);
		/* -EBUSY: installing one from the leader; -EINVAL: stale. */
		return rc == -EBUSY || rc == -EINVAL ? 0 : rc;
	}
	/* The core points at the new bytes now: the old ones can go. */
	drop_map(d);
	free(d->snap_data);
	d->snap_data = NULL;
	d->snap_map = map;
	d->snap_map_len = len;
	d->snap_index = index;
	gd_info("snapshot at index %llu (%llu bytes)",
		(unsigned long long)index, (unsigned long long)hdr.len);
	return gd_storage__compact(d, index);
}

static void on_loader(struct gnomond *d, struct gd_op *op, int res,
		      uint32_t flags)
{
	int rc = 0;

	(void)op;
	(void)flags;
	switch (loader.stage) {
	case 1:
		if (res < 0) {
			rc = res;
			break;
		}
		loader.fd = res;
		loader_submit(d, 2);
		return;
	case 2:
		rc = res < 0 ? res : res != WAL_SNAP_HEADER_SIZE ? -EIO :
		     install(d);
		loader_submit(d, 3);
		break;
	default:
		loader.stage = 0;
		return;
	}
	if (rc)
		gd_fatal(d, "snapshot file", rc);
}

/* The child's snapshot is durable: load it, unless a newer one is. */
static void load(struct gnomond *d)
{
	uint64_t index = d->snap_child_index;

	if (index <= d->snap_index)
		return;
	if (loader.stage) {
		gd_warn("snapshot at index %llu: still loading the last one",
			(unsigned long long)index);
		return;
	}
	d->snap_next = index + d->cfg.snapshot_count;
	loader.index = index;
	loader_submit(d, 1);
}

/*
 * Members apply the same entries, so with one threshold all of them would
 * fork at once and be slowed by copy-on-write together, the quorum with
 * them.  The first snapshot after start is staggered by member, 1/n of the
 * interval apart; later ones keep the phase.
 */
static uint64_t next_at(const struct gnomond *d)
{
	const struct gd_config *c = &d->cfg;
	uint32_t n = gd_members__count(&d->members);

	if (d->snap_next)
		return d->snap_next;
	if (!n)
		n = 1;
	return d->snap_index + c->snapshot_count +
	       c->snapshot_count * ((c->self - 1) % n) / n;
}

void gd_snapshot__tick(struct gnomond *d)
{
	int status;
	pid_t pid;

	if (d->snap_child) {
		pid = waitpid(d->snap_child, &status, WNOHANG);
		if (!pid)
			return;
		d->snap_child = 0;
		if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			gd_warn("snapshot at index %llu failed in the child",
				(unsigned long long)d->snap_child_index);
			return;
		}
		load(d);
		return;
	}
	if (d->applied >= next_at(d))
		start(d);
}

/* Kill a running child and wait for it (shutdown). */
static void cancel(struct gnomond *d)
{
	if (!d->snap_child)
		return;
	kill(d->snap_child, SIGKILL);
	waitpid(d->snap_child, NULL, 0);
	d->snap_child = 0;
}

void gd_snapshot__stop(struct gnomond *d)
{
	cancel(d);
	drop_map(d);
	if (loader.fd >= 0)
		close(loader.fd);
	loader.fd = -1;
}
