/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/* libgnomon internals shared by client.c and client_fallback.c. */
#ifndef GNOMON_CLIENT_INTERNAL_H
#define GNOMON_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "gnomon.h"
#include "core/gnomon_core.h"

/* The agent's file, read with pread and followed by name (client_agent.c). */
struct gnomon_agent {
	char *path;			/* NULL: not open */
	int fd;				/* its number never changes */
	pthread_mutex_t lock;		/* guards dev, ino and re-opening */
	dev_t dev;
	ino_t ino;
	_Atomic uint64_t checked_ns;	/* CLOCK_MONOTONIC of the last stat */
	pthread_mutex_t read_lock;	/* guards what follows: one reader */
	uint32_t stuck_seq;		/* odd seq a dead writer left, or 0 */
	bool have_last;
	struct gnomon_page last;	/* the previous read, to compare with */
};

struct gnomon_client {
	enum gnomon_time_source source;
	int fd;				/* /dev/gnomon, or -1 */
	const struct gnomon_page *page;	/* the kernel's mapped page */
	struct gnomon_agent agent;	/* GNOMON_FROM_AGENT */
	bool step_watch;		/* the page's writer flags clock steps */
	pthread_mutex_t hlc_lock;	/* guards hlc when per-process */
	struct gnomon_hlc hlc;
};

int gnomon_agent__open(struct gnomon_agent *a, const char *path);
void gnomon_agent__close(struct gnomon_agent *a);
/* A copy of the file's page: true if consistent; a truncated file gives
 * a zeroed copy (no page), a writer that does not finish an odd seq. */
bool gnomon_agent__snapshot(struct gnomon_agent *a, struct gnomon_page *snap);
/* At most every 100 ms: true if the path now names another file, which
 * the agent's descriptor now reads. */
bool gnomon_agent__follow(struct gnomon_agent *a, uint64_t mono_ns);

uint64_t gnomon_clock_ns(clockid_t id);
/*
 * CLOCK_MONOTONIC and CLOCK_REALTIME read as one instant: a pair that a
 * preemption of more than the step slack came between would read as a
 * clock step (DISRUPTED), so such a pair is read again (bounded).
 */
void gnomon_clock_pair(uint64_t *mono, uint64_t *real);
int gnomon_fallback_now(struct gnomon_tt *now);
int gnomon_fallback_hlc_tick(struct gnomon_client *c, uint64_t physical_ns,
			     struct gnomon_hlc *ts);
int gnomon_fallback_hlc_update(struct gnomon_client *c,
			       const struct gnomon_hlc *remote,
			       uint64_t physical_ns, uint64_t max_wall_ns,
			       struct gnomon_hlc *ts);
int gnomon_fallback_wait_until(struct gnomon_client *c, uint64_t until_ns,
			       uint64_t timeout_ns);

#endif /* GNOMON_CLIENT_INTERNAL_H */
