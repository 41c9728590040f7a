// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libgnomon client: finds the best time source and answers from it.
 *
 * Sources, in order (see gnomon.h): the kernel device (mapped page for
 * TT.now(), ioctls for the host HLC and commit-wait), the agent's
 * shared-memory file (the same page layout), and adjtimex.  TT.now() from a
 * page is the lock-free seqcount snapshot plus lib/core's gnomon_tt_compute,
 * the very code the kernel runs, so both paths agree by construction.
 * Without the kernel, the HLC and commit-wait fall back to per-process
 * implementations in client_fallback.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

static bool page_valid(const struct gnomon_page *page)
{
	return page->magic == GNOMON_PAGE_MAGIC &&
	       page->version == GNOMON_PAGE_VERSION &&
	       page->size >= sizeof(struct gnomon_page);
}

/* Map a page read-only from fd; the caller owns fd. */
static int map_page(int fd, const struct gnomon_page **page)
{
	void *p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (!page_valid(p)) {
		munmap(p, GNOMON_PAGE_SIZE);
		return -EPROTO;
	}
	*page = p;
	return 0;
}

static int open_kernel(struct gnomon_client *c)
{
	int fd = open(env_or("GNOMON_DEVICE", GNOMON_DEVICE_PATH),
		      O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = map_page(fd, &c->page);
	if (err) {
		close(fd);
		return err;
	}
	c->fd = fd;
	c->source = GNOMON_FROM_KERNEL;
	c->step_watch = c->page->flags & GNOMON_PAGE_STEP_WATCH;
	return 0;
}

static int open_agent(struct gnomon_client *c)
{
	int fd = open(env_or("GNOMON_SHM", GNOMON_SHM_PATH), O_RDONLY | O_CLOEXEC);
	struct stat st;
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto close_fd;
	}
	if (st.st_size < (off_t)sizeof(struct gnomon_page)) {
		err = -EPROTO;
		goto close_fd;
	}
	err = map_page(fd, &c->page);
	if (!err)
		c->source = GNOMON_FROM_AGENT;
close_fd:
	/* The mapping stays valid without the descriptor. */
	close(fd);
	return err;
}

int gnomon_client__open(struct gnomon_client **client, unsigned int flags)
{
	struct gnomon_client *c;

	if (flags & ~(GNOMON_OPEN_NO_KERNEL | GNOMON_OPEN_NO_AGENT))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	pthread_mutex_init(&c->hlc_lock, NULL);

	if ((flags & GNOMON_OPEN_NO_KERNEL) || open_kernel(c))
		if ((flags & GNOMON_OPEN_NO_AGENT) || open_agent(c))
			c->source = GNOMON_FROM_ADJTIMEX;
	*client = c;
	return 0;
}

void gnomon_client__close(struct gnomon_client *c)
{
	if (!c)
		return;
	if (c->page)
		munmap((void *)c->page, GNOMON_PAGE_SIZE);
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->hlc_lock);
	free(c);
}

enum gnomon_time_source gnomon_client__source(const struct gnomon_client *c)
{
	return c->source;
}

enum gnomon_hlc_scope gnomon_client__hlc_scope(const struct gnomon_client *c)
{
	return c->source == GNOMON_FROM_KERNEL ? GNOMON_HLC_HOST
					       : GNOMON_HLC_PROCESS;
}

uint64_t gnomon_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * GNOMON_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int gnomon_client__now(struct gnomon_client *c, struct gnomon_tt *now)
{
	struct gnomon_page snap;
	uint64_t mono, real;
	uint32_t seq;

	if (!c->page)
		return gnomon_fallback_now(now);
	if (c->step_watch) {
		/* The kernel flags steps in the page: one clock read, tied
		 * to the snapshot by the seqcount. */
		do {
			seq = gnomon_page_read_begin(c->page, &snap);
			real = gnomon_clock_ns(CLOCK_REALTIME);
		} while (gnomon_page_read_retry(c->page, seq));
		gnomon_tt_compute_realtime(&snap, real, now);
		return 0;
	}
	gnomon_page_snapshot(c->page, &snap);
	mono = gnomon_clock_ns(CLOCK_MONOTONIC);
	real = gnomon_clock_ns(CLOCK_REALTIME);
	gnomon_tt_compute(&snap, mono, real, now);
	return 0;
}

static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int gnomon_client__hlc_tick(struct gnomon_client *c, struct gnomon_hlc *ts)
{
	if (c->fd >= 0)
		return ioctl_errno(c->fd, GNOMON_IOC_HLC_TICK, ts);
	return gnomon_fallback_hlc_tick(c, gnomon_clock_ns(CLOCK_REALTIME), ts);
}

int gnomon_client__hlc_update(struct gnomon_client *c,
			      const struct gnomon_hlc *remote,
			      struct gnomon_hlc *ts)
{
	struct gnomon_config cfg = { .max_offset_ns = GNOMON_DEFAULT_MAX_OFFSET_NS };
	struct gnomon_hlc msg = *remote;
	struct gnomon_tt now;
	int err;

	if (remote->__pad)
		return -EINVAL;
	if (c->fd >= 0) {
		err = ioctl_errno(c->fd, GNOMON_IOC_HLC_UPDATE, &msg);
		if (!err)
			*ts = msg;
		return err;
	}
	err = gnomon_client__now(c, &now);
	if (err)
		return err;
	if (c->page)
		gnomon_client__get_config(c, &cfg);
	return gnomon_fallback_hlc_update(c, remote, now.realtime_ns,
					  gnomon_hlc_max_wall(&now, cfg.max_offset_ns),
					  ts);
}

int gnomon_hlc__compare(const struct gnomon_hlc *a, const struct gnomon_hlc *b)
{
	return gnomon_hlc_compare(a, b);
}

int gnomon_client__wait_until(struct gnomon_client *c, uint64_t until_ns,
			      uint64_t timeout_ns)
{
	struct gnomon_wait w = { .until_ns = until_ns, .timeout_ns = timeout_ns };

	if (c->fd >= 0)
		return ioctl_errno(c->fd, GNOMON_IOC_WAIT_UNTIL, &w);
	return gnomon_fallback_wait_until(c, until_ns, timeout_ns);
}

int gnomon_client__discipline(struct gnomon_client *c,
			      const struct gnomon_discipline *update)
{
	struct gnomon_discipline d = *update;

	if (c->fd < 0)
		return -ENODEV;
	return ioctl_errno(c->fd, GNOMON_IOC_DISCIPLINE, &d);
}

int gnomon_client__set_config(struct gnomon_client *c,
			      const struct gnomon_config *config)
{
	struct gnomon_config cfg = *config;

	if (c->fd < 0)
		return -ENODEV;
	return ioctl_errno(c->fd, GNOMON_IOC_SET_CONFIG, &cfg);
}

int gnomon_client__get_config(struct gnomon_client *c,
			      struct gnomon_config *config)
{
	struct gnomon_page snap;

	if (!c->page)
		return -ENODEV;
	gnomon_page_snapshot(c->page, &snap);
	gnomon_page_get_config(&snap, config);
	return 0;
}

uint32_t gnomon_client__clock_source(struct gnomon_client *c)
{
	struct gnomon_page snap;

	if (!c->page)
		return GNOMON_SOURCE_NTP;
	gnomon_page_snapshot(c->page, &snap);
	return snap.source;
}

const char *gnomon_time_source__name(enum gnomon_time_source source)
{
	switch (source) {
	case GNOMON_FROM_KERNEL:
		return "kernel";
	case GNOMON_FROM_AGENT:
		return "agent";
	case GNOMON_FROM_ADJTIMEX:
		return "adjtimex";
	}
	return "unknown";
}

const char *gnomon_hlc_scope__name(enum gnomon_hlc_scope scope)
{
	return scope == GNOMON_HLC_HOST ? "host" : "process";
}

const char *gnomon_status__name(uint32_t status)
{
	return gnomon_status_name(status);
}

const char *gnomon_clock_source__name(uint32_t source)
{
	return gnomon_source_name(source);
}
