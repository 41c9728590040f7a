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

static int shm_open_sink(struct syncd_sink **sink, const struct syncd_options *opt)
{
	struct syncd_sink *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->path = opt->shm_path;
	if (opt->mark_disrupted) {
		ret = open_page(s->path, &s->page, &s->fd);
	} else {
		ret = open_page(s->path, &s->page, &s->fd);
		if (ret)
			ret = create_page(s->path, &s->page, &s->fd);
		if (!ret) {
			ret = own_page(s->fd);
			if (ret) {
				munmap(s->page, GNOMON_PAGE_SIZE);
				close(s->fd);
			}
			if (ret == -EBUSY)
				syncd_err("another gnomon-syncd is writing %s", s->path);
		}
	}
	if (ret) {
		syncd_err("shared-memory file %s: %s", s->path, strerror(-ret));
		free(s);
		return ret;
	}
	syncd_info("writing the clock page to %s", s->path);
	*sink = s;
	return 0;
}

static int shm_configure(struct syncd_sink *s, const struct gnomon_config *cfg)
{
	int ret = gnomon_config_check(cfg);

	if (ret) {
		syncd_err("configuration refused: %s", strerror(-ret));
		return ret;
	}
	flock(s->fd, LOCK_EX);
	gnomon_page_configure(s->page, cfg);
	flock(s->fd, LOCK_UN);
	return 0;
}

static int shm_discipline(struct syncd_sink *s, const struct gnomon_discipline *d)
{
	uint64_t mono, real;
	int ret;

	flock(s->fd, LOCK_EX);
	mono = syncd_mono_ns();
	real = syncd_real_ns();
	ret = gnomon_discipline_check(s->page, d, mono);
	if (!ret)
		gnomon_page_discipline(s->page, d, mono, real);
	flock(s->fd, LOCK_UN);
	if (ret)
		syncd_err("discipline update refused: %s", strerror(-ret));
	return ret;
}

static void shm_close(struct syncd_sink *s)
{
	munmap(s->page, GNOMON_PAGE_SIZE);
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
