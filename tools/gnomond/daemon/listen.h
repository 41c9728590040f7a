/* SPDX-License-Identifier: GPL-2.0 */
/* Listening sockets of gnomond (listen.c). */
#ifndef GNOMOND_DAEMON_LISTEN_H
#define GNOMOND_DAEMON_LISTEN_H

struct gnomond;

/* Bind and listen on every client and peer URL (start-up, blocking). */
int gd_listen__open(struct gnomond *d);
/* Arm the accepts in the ring. */
void gd_listen__arm(struct gnomond *d);
void gd_listen__close(struct gnomond *d);

#endif /* GNOMOND_DAEMON_LISTEN_H */
