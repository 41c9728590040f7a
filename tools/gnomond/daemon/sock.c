// SPDX-License-Identifier: GPL-2.0
/*
 * The socket lifecycle shared by client and peer connections (sock.h):
 * busy bits, an operation done, the close, and the release when closed
 * and idle.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

void gd_sock__init(struct gd_sock *s, int fd,
		   void (*release)(struct gd_sock *s))
{
	s->fd = fd;
	s->dead = false;
	s->busy = 0;
	s->release = release;
}

static void release_if_idle(struct gd_sock *s)
{
	if (!s->dead || s->busy)
		return;
	close(s->fd);
	s->release(s);
}

bool gd_sock__done(struct gd_sock *s, enum gd_sock_op op)
{
	s->busy &= (uint8_t)~op;
	if (!s->dead)
		return true;
	release_if_idle(s);
	return false;
}

void gd_sock__close(struct gd_sock *s)
{
	if (s->dead)
		return;
	s->dead = true;
	shutdown(s->fd, SHUT_RDWR);
	release_if_idle(s);
}
