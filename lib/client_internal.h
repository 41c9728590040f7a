/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/* libgnomon internals shared by client.c and client_fallback.c. */
#ifndef GNOMON_CLIENT_INTERNAL_H
#define GNOMON_CLIENT_INTERNAL_H

#include <pthread.h>

#include "gnomon.h"
#include "core/gnomon_core.h"

struct gnomon_client {
	enum gnomon_time_source source;
	int fd;				/* /dev/gnomon, or -1 */
	const struct gnomon_page *page;	/* kernel page or agent file */
	bool step_watch;		/* the page's writer flags clock steps */
	pthread_mutex_t hlc_lock;	/* guards hlc when per-process */
	struct gnomon_hlc hlc;
};

#include <time.h>

uint64_t gnomon_clock_ns(clockid_t id);
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
