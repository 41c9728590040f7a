// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libgnomon client: finds the best time source and answers from it.
 *
 * Sources, in order (see gnomon.h): the kernel device (mapped page for
 * TT.now(), ioctls for the host HLC and commit-wait), the agent's
 * shared-memory file (the same page layout, read rather than mapped: see
 * client_agent.c), and adjtimex.  TT.now() from a page is a bounded
 * seqcount snapshot plus lib/core's gnomon_tt_compute, the very code the
 * kernel runs, so both paths agree by construction; the copy's magic,
 * version, size and seq are judged there on every read.
 * Without the kernel, the HLC and commit-wait fall back to per-process
 * implementations in client_fallback.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

/* Map a page read-only from fd; the caller owns fd. */
static int map_page(int fd, const struct gnomon_page **page)
{
	void *p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (!gnomon_page_valid(p)) {
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
	int err = gnomon_agent__open(&c->agent,
				     env_or("GNOMON_SHM", GNOMON_SHM_PATH));

	if (!err)
		c->source = GNOMON_FROM_AGENT;
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
	gnomon_agent__close(&c->agent);
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

/* Tries at a pair of readings no preemption came between. */
#define CLOCK_PAIR_TRIES	8

void gnomon_clock_pair(uint64_t *mono, uint64_t *real)
{
	unsigned int i;

	for (i = 0; i < CLOCK_PAIR_TRIES; i++) {
		*mono = gnomon_clock_ns(CLOCK_MONOTONIC);
		*real = gnomon_clock_ns(CLOCK_REALTIME);
		if (gnomon_clock_ns(CLOCK_MONOTONIC) - *mono <
		    GNOMON_STEP_SLACK_NS / 4)
			return;
	}
}

/* A copy of the page of the kernel or the agent; -ENODEV for adjtimex. */
static int client_snapshot(struct gnomon_client *c, struct gnomon_page *snap)
{
	if (c->page)
		gnomon_page_snapshot(c->page, snap);
	else if (c->agent.path)
		gnomon_agent__snapshot(&c->agent, snap);
	else
		return -ENODEV;
	return 0;
}

/* The kernel flags steps in the page: one clock read, tied to the
 * snapshot by the seqcount (bounded: see gnomon_core.h). */
static void now_step_watch(struct gnomon_client *c, struct gnomon_tt *now)
{
	struct gnomon_page snap;
	unsigned int tries;
	uint64_t real = 0;
	uint32_t seq;

	for (tries = 0; tries < GNOMON_PAGE_READ_TRIES; tries++) {
		seq = gnomon_page_read_begin(c->page, &snap);
		real = gnomon_clock_ns(CLOCK_REALTIME);
		if (!gnomon_page_read_retry(c->page, seq))
			break;
	}
	if (tries == GNOMON_PAGE_READ_TRIES)
		snap.seq |= 1;
	gnomon_tt_compute_realtime(&snap, real, now);
}

int gnomon_client__now(struct gnomon_client *c, struct gnomon_tt *now)
{
	struct gnomon_page snap;
	uint64_t mono, real;

	if (c->step_watch) {
		now_step_watch(c, now);
		return 0;
	}
	if (client_snapshot(c, &snap))
		return gnomon_fallback_now(now);
	gnomon_clock_pair(&mono, &real);
	/* The agent's file may have been replaced: read the new one. */
	if (c->agent.path && gnomon_agent__follow(&c->agent, mono)) {
		gnomon_agent__snapshot(&c->agent, &snap);
		gnomon_clock_pair(&mono, &real);
	}
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
	int err = client_snapshot(c, &snap);

	if (err)
		return err;
	/* A copy that is no consistent page configures nothing. */
	if (!gnomon_page_valid(&snap) || (snap.seq & 1))
		return -EPROTO;
	gnomon_page_get_config(&snap, config);
	return 0;
}

uint32_t gnomon_client__clock_source(struct gnomon_client *c)
{
	struct gnomon_page snap;

	if (client_snapshot(c, &snap))
		return GNOMON_SOURCE_NTP;
	if (!gnomon_page_valid(&snap) || (snap.seq & 1))
		return GNOMON_SOURCE_NONE;
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
