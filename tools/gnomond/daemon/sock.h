/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One socket's lifecycle, the same for a client connection (clients.c)
 * and a peer connection (peers.c): which of its operations are in flight
 * on the ring (a bit each), its close, and its release.  A closed socket
 * is shut down, so that what is in flight completes at once; it is
 * released (the descriptor closed, then the owner's release callback,
 * which frees what holds it) when it is closed and the last of its
 * operations has completed.  Until then every completion still finds it.
 *
 * An owner marks an operation in flight with gd_sock__start() when it
 * submits it, and begins each completion handler with gd_sock__done(),
 * which says whether the socket is still open: if not, the handler must
 * not touch the owner again (it may be freed).
 */
#ifndef GNOMOND_DAEMON_SOCK_H
#define GNOMOND_DAEMON_SOCK_H

#include <stdbool.h>
#include <stdint.h>

enum gd_sock_op {
	GD_SOCK_RECV = 1,
	GD_SOCK_SEND = 2,
	GD_SOCK_CONNECT = 4,
};

struct gd_sock {
	int fd;
	bool dead;			/* closed: released once idle */
	uint8_t busy;			/* enum gd_sock_op bits in flight */
	void (*release)(struct gd_sock *s);
};

void gd_sock__init(struct gd_sock *s, int fd,
		   void (*release)(struct gd_sock *s));

static inline bool gd_sock__busy(const struct gd_sock *s, enum gd_sock_op op)
{
	return s->busy & op;
}

static inline void gd_sock__start(struct gd_sock *s, enum gd_sock_op op)
{
	s->busy |= op;
}

/* Operation op completed (or is over): false if s is closed, and then
 * maybe released. */
bool gd_sock__done(struct gd_sock *s, enum gd_sock_op op);
/* Close s once: shut it down, release it when idle.  The owner drops its
 * own references to it first. */
void gd_sock__close(struct gd_sock *s);

#endif /* GNOMOND_DAEMON_SOCK_H */
