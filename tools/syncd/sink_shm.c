// SPDX-License-Identifier: GPL-2.0
/*
 * The shared-memory sink: when gnomon.ko is not loaded, the agent keeps a
 * file with the mapped page's layout (struct gnomon_page, one page, mode
 * 0644) that libgnomon maps read-only.
 *
 * A valid page left by an earlier agent is taken over in place, so that
 * readers who mapped it (a running gnomond, say) follow the new agent too.
 * Otherwise the file appears atomically: it is built as a temporary file in
 * the same directory, initialised, and renamed over the final name, so a
 * reader sees either no file, an older file, or a complete page, never a
 * partial one.  After that the agent updates it in place through a
 * MAP_SHARED mapping with exactly the kernel's writer code
 * (gnomon_page_discipline and gnomon_page_configure, the writer side of the
 * seqcount) after exactly the kernel's checks (gnomon_discipline_check,
 * gnomon_config_check).
 *
 * When the agent exits the file stays: readers then see its last update age
 * into free-running and, after the holdover, unsynchronised, which is the
 * truth.  One agent per file: the agent holds an open-file-description lock
 * on the page's first byte for its lifetime, and a second agent refuses to
 * start on the same file.
 *
 * --mark-disrupted does not replace the file: it opens the running agent's
 * page in place.  Writers serialise on flock(LOCK_EX) of the file, as the
 * seqcount needs one writer at a time.
 *
 * Damage.  Under that lock an odd seq can only have been left by a writer
 * that died between its two increments: the next writer (this agent
 * restarted, or a --mark-disrupted) closes the dead one's section with
 * gnomon_page_recover(), in place, so readers see the page say nothing
 * (unsynchronized) and then follow the new updates.  Before every write
 * the agent also checks that its file still has a page's size and that the
 * path still names it: a file truncated (writing through the mapping would
 * then raise SIGBUS) or replaced is attached again as at start, taking
 * over a valid page or putting a new one in place, with the last
 * configuration re-applied.  Readers read the file rather than map it and
 * follow it by name (lib/client_agent.c).  A truncation between that
 * check and the write still kills the agent, not the readers; a restarted
 * agent repairs the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnomon_core.h"
#include "log.h"
#include "syncd.h"

struct syncd_sink {
	struct gnomon_page *page;
	const char *path;
	int fd;
	bool configured;
	struct gnomon_config cfg;	/* the last configuration applied */
};

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

static int map_page(int fd, struct gnomon_page **page)
{
	void *p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*page = p;
	return 0;
}

static int create_page(const char *path, struct gnomon_page **out, int *out_fd)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct gnomon_page *page = NULL;
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
	ret = map_page(fd, &page);
	if (ret)
		goto fail;
	gnomon_page_init(page);		/* ftruncate zeroed it */
	if (rename(tmp, path) < 0) {
		ret = -errno;
		munmap(page, GNOMON_PAGE_SIZE);
		goto fail;
	}
	*out = page;
	*out_fd = fd;
	return 0;

fail:
	unlink(tmp);
	close(fd);
	return ret;
}

/* Map an existing page written by a running agent. */
static int open_page(const char *path, struct gnomon_page **out, int *out_fd)
{
	struct gnomon_page *page = NULL;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode) || st.st_size != GNOMON_PAGE_SIZE)
		goto fail;
	ret = map_page(fd, &page);
	if (ret)
		goto fail;
	ret = -EINVAL;
	if (page->magic != GNOMON_PAGE_MAGIC ||
	    page->version != GNOMON_PAGE_VERSION ||
	    page->size != sizeof(*page)) {
		munmap(page, GNOMON_PAGE_SIZE);
		goto fail;
	}
	*out = page;
	*out_fd = fd;
	return 0;

fail:
	close(fd);
	return ret;
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
		munmap(s->page, GNOMON_PAGE_SIZE);
		close(s->fd);
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

/* Our file still has a page's size and the path still names it. */
static bool page_in_place(const struct syncd_sink *s)
{
	struct stat ours, named;

	return fstat(s->fd, &ours) == 0 && ours.st_size == GNOMON_PAGE_SIZE &&
	       stat(s->path, &named) == 0 && named.st_dev == ours.st_dev &&
	       named.st_ino == ours.st_ino;
}

/*
 * Become the writer: the writers' lock, a file that is still ours and a
 * page with no section left open.  -errno if the file cannot be attached
 * again (then nothing is locked).
 */
static int shm_lock(struct syncd_sink *s)
{
	int ret;

	flock(s->fd, LOCK_EX);
	if (!page_in_place(s)) {
		syncd_warn("%s was truncated or replaced: attaching it again",
			   s->path);
		/* Not one byte of the old mapping may be touched now. */
		if (s->page)
			munmap(s->page, GNOMON_PAGE_SIZE);
		if (s->fd >= 0)
			close(s->fd);
		ret = attach_page(s);
		if (ret) {
			syncd_err("shared-memory file %s: %s", s->path,
				  strerror(-ret));
			s->fd = -1;
			s->page = NULL;
			return ret;
		}
		flock(s->fd, LOCK_EX);
		if (s->configured)
			gnomon_page_configure(s->page, &s->cfg);
	}
	if (s->page->seq & 1) {
		syncd_warn("%s: a writer died mid-update (odd counter %u): "
			   "repairing the page in place", s->path, s->page->seq);
		gnomon_page_recover(s->page);
		if (s->configured)
			gnomon_page_configure(s->page, &s->cfg);
	}
	return 0;
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
	gnomon_page_configure(s->page, cfg);
	s->cfg = *cfg;
	s->configured = true;
	shm_unlock(s);
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
	ret = gnomon_discipline_check(s->page, d, mono);
	if (!ret)
		gnomon_page_discipline(s->page, d, mono, real);
	shm_unlock(s);
	if (ret)
		syncd_err("discipline update refused: %s", strerror(-ret));
	return ret;
}

static void shm_close(struct syncd_sink *s)
{
	if (s->page)
		munmap(s->page, GNOMON_PAGE_SIZE);
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
