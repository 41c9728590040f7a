// SPDX-License-Identifier: GPL-2.0
/*
 * The shared-memory sink: when gnomon.ko is not loaded, the agent keeps a
 * file with the mapped page's layout (struct gnomon_page in a file of one
 * page, mode 0644) that libgnomon reads.
 *
 * A valid page left by an earlier agent is taken over in place, so that
 * readers of it (a running gnomond, say) follow the new agent too.
 * Otherwise the file appears atomically: it is built as a temporary file in
 * the same directory, initialised, and renamed over the final name, so a
 * reader sees either no file, an older file, or a complete page, never a
 * partial one.
 *
 * Writing.  The agent never maps the file (a mapped file that someone
 * truncates raises SIGBUS on the next write through it).  Each write reads
 * the file's page into a private copy, changes the copy with exactly the
 * kernel's writer code (gnomon_page_discipline, gnomon_page_configure,
 * gnomon_page_recover) after exactly the kernel's checks
 * (gnomon_discipline_check, gnomon_config_check), and publishes it with
 * pwrite() in the seqcount's order: seq odd, then the data, then seq even,
 * each a system call of its own, so every reader sees seq odd before any
 * byte of the data changes and even only after the last one.  A file
 * truncated under a write is only extended again by it.
 *
 * When the agent exits the file stays: readers then see its last update age
 * into free-running and, after the holdover, unsynchronised, which is the
 * truth.  One agent per file: the agent holds an open-file-description lock
 * on the page's first byte for its lifetime, and a second agent refuses to
 * start on the same file.
 *
 * --mark-disrupted does not replace the file: it writes the running
 * agent's page in place.  Writers serialise on flock(LOCK_EX) of the file,
 * as the seqcount needs one writer at a time.
 *
 * Damage.  Under that lock an odd seq can only have been left by a writer
 * that died between its two increments: the next writer (this agent
 * restarted, or a --mark-disrupted) closes the dead one's section with
 * gnomon_page_recover(), in place, so readers see the page say nothing
 * (unsynchronized) and then follow the new updates.  Before every write
 * the agent also checks that its file still holds a page of a page's size
 * and that the path still names it: a file truncated, scribbled on or
 * replaced is attached again as at start, taking over a valid page or
 * putting a new one in place, with the last configuration re-applied.
 * Readers read the file rather than map it and follow it by name
 * (lib/client_agent.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnomon_core.h"
#include "log.h"
#include "syncd.h"

struct syncd_sink {
	const char *path;
	int fd;
	struct gnomon_page page;	/* private copy, read under the lock */
	bool configured;
	struct gnomon_config cfg;	/* the last configuration applied */
};

#define SEQ_OFF	offsetof(struct gnomon_page, seq)
#define DATA_OFF	offsetof(struct gnomon_page, flags)

/* mkdir the file's directory (one level; its parent must exist). */
static int make_parent_dir(const char *path, char *dir, size_t size)
{
	char *slash;

	if (strlen(path) >= size)
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash) {
		strcpy(dir, ".");
		return 0;
	}
	if (slash == dir)
		slash[1] = '\0';
	else
		slash[0] = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * Publish the copy, whose writer section the core has just closed (its seq
 * is even, one above the odd value the section opened with): seq odd,
 * everything else, seq even.
 */
static int publish(int fd, const struct gnomon_page *page)
{
	__u32 odd = page->seq - 1;
	int ret;

	gnomon_assert(!(page->seq & 1));
	ret = pwrite_all(fd, &odd, sizeof(odd), SEQ_OFF);
	if (!ret)
		ret = pwrite_all(fd, page, SEQ_OFF, 0);
	if (!ret)
		ret = pwrite_all(fd, (const char *)page + DATA_OFF,
				 sizeof(*page) - DATA_OFF, DATA_OFF);
	if (!ret)
		ret = pwrite_all(fd, &page->seq, sizeof(page->seq), SEQ_OFF);
	return ret;
}

static int create_page(const char *path, struct gnomon_page *page, int *out_fd)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd, ret;

	ret = make_parent_dir(path, dir, sizeof(dir));
	if (ret)
		return ret;
	if (snprintf(tmp, sizeof(tmp), "%s/.gnomon-clock.XXXXXX", dir) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, GNOMON_PAGE_SIZE) < 0) {
		ret = -errno;
		goto fail;
	}
	*page = (struct gnomon_page){ 0 };
	gnomon_page_init(page);
	ret = pwrite_all(fd, page, sizeof(*page), 0);
	if (ret)
		goto fail;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail;
	}
	*out_fd = fd;
	return 0;

fail:
	unlink(tmp);
	close(fd);
	return ret;
}

/* The file's page, if fd holds one of a page's size. */
static int read_page(int fd, struct gnomon_page *page)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != GNOMON_PAGE_SIZE ||
	    pread(fd, page, sizeof(*page), 0) != (ssize_t)sizeof(*page) ||
	    page->magic != GNOMON_PAGE_MAGIC ||
	    page->version != GNOMON_PAGE_VERSION || page->size != sizeof(*page))
		return -EINVAL;
	return 0;
}

/* Open an existing page written by a running or an earlier agent. */
static int open_page(const char *path, struct gnomon_page *page, int *out_fd)
{
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = read_page(fd, page);
	if (ret) {
		close(fd);
		return ret;
	}
	*out_fd = fd;
	return 0;
}

/* Become the one agent writing this file; -EBUSY if another one is. */
static int own_page(int fd)
{
	struct flock owner = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			       .l_start = 0, .l_len = 1 };

	if (fcntl(fd, F_OFD_SETLK, &owner) < 0)
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	return 0;
}

/* Take over the valid page at s->path in place, or put a new one there. */
static int attach_page(struct syncd_sink *s)
{
	int ret = open_page(s->path, &s->page, &s->fd);

	if (ret)
		ret = create_page(s->path, &s->page, &s->fd);
	if (ret)
		return ret;
	ret = own_page(s->fd);
	if (ret) {
		close(s->fd);
		s->fd = -1;
		if (ret == -EBUSY)
			syncd_err("another gnomon-syncd is writing %s", s->path);
	}
	return ret;
}

static int shm_open_sink(struct syncd_sink **sink, const struct syncd_options *opt)
{
	struct syncd_sink *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->path = opt->shm_path;
	if (opt->mark_disrupted)
		ret = open_page(s->path, &s->page, &s->fd);
	else
		ret = attach_page(s);
	if (ret) {
		syncd_err("shared-memory file %s: %s", s->path, strerror(-ret));
		free(s);
		return ret;
	}
	syncd_info("writing the clock page to %s", s->path);
	*sink = s;
	return 0;
}

/* The path still names our file. */
static bool path_is_ours(const struct syncd_sink *s)
{
	struct stat ours, named;

	return fstat(s->fd, &ours) == 0 && stat(s->path, &named) == 0 &&
	       named.st_dev == ours.st_dev && named.st_ino == ours.st_ino;
}

/*
 * Become the writer: the writers' lock, a file that is still ours, its page
 * in s->page and no section left open in it.  -errno if the file cannot be
 * attached again (then nothing is locked).
 */
static int shm_lock(struct syncd_sink *s)
{
	int ret;

	if (s->fd >= 0) {
		flock(s->fd, LOCK_EX);
		if (path_is_ours(s) && !read_page(s->fd, &s->page))
			goto locked;
		syncd_warn("%s was truncated, damaged or replaced: attaching it again",
			   s->path);
		close(s->fd);
		s->fd = -1;
	}
	ret = attach_page(s);
	if (ret) {
		syncd_err("shared-memory file %s: %s", s->path, strerror(-ret));
		return ret;
	}
	flock(s->fd, LOCK_EX);
	ret = read_page(s->fd, &s->page);
	if (ret)
		goto unlock;
	if (s->configured) {
		gnomon_page_configure(&s->page, &s->cfg);
		ret = publish(s->fd, &s->page);
		if (ret)
			goto unlock;
	}
locked:
	if (s->page.seq & 1) {
		syncd_warn("%s: a writer died mid-update (odd counter %u): "
			   "repairing the page in place", s->path, s->page.seq);
		gnomon_page_recover(&s->page);
		if (s->configured)
			gnomon_page_configure(&s->page, &s->cfg);
		ret = publish(s->fd, &s->page);
		if (ret)
			goto unlock;
	}
	return 0;

unlock:
	flock(s->fd, LOCK_UN);
	syncd_err("shared-memory file %s: %s", s->path, strerror(-ret));
	return ret;
}

static void shm_unlock(struct syncd_sink *s)
{
	flock(s->fd, LOCK_UN);
}

static int shm_configure(struct syncd_sink *s, const struct gnomon_config *cfg)
{
	int ret = gnomon_config_check(cfg);

	if (ret) {
		syncd_err("configuration refused: %s", strerror(-ret));
		return ret;
	}
	ret = shm_lock(s);
	if (ret)
		return ret;
	gnomon_page_configure(&s->page, cfg);
	ret = publish(s->fd, &s->page);
	shm_unlock(s);
	if (ret) {
		syncd_err("writing %s: %s", s->path, strerror(-ret));
		return ret;
	}
	s->cfg = *cfg;
	s->configured = true;
	return 0;
}

static int shm_discipline(struct syncd_sink *s, const struct gnomon_discipline *d)
{
	uint64_t mono, real;
	int ret;

	ret = shm_lock(s);
	if (ret)
		return ret;
	mono = syncd_mono_ns();
	real = syncd_real_ns();
	ret = gnomon_discipline_check(&s->page, d, mono);
	if (ret) {
		shm_unlock(s);
		syncd_err("discipline update refused: %s", strerror(-ret));
		return ret;
	}
	gnomon_page_discipline(&s->page, d, mono, real);
	ret = publish(s->fd, &s->page);
	shm_unlock(s);
	if (ret)
		syncd_err("writing %s: %s", s->path, strerror(-ret));
	return ret;
}

static void shm_close(struct syncd_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

const struct syncd_sink_ops syncd_shm_sink = {
	.name = "shm",
	.open = shm_open_sink,
	.configure = shm_configure,
	.discipline = shm_discipline,
	.close = shm_close,
};
