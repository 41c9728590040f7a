// SPDX-License-Identifier: GPL-2.0
/*
 * Listening sockets for the client and peer URLs, and accepting on them
 * through the ring: one single-shot accept per listener, re-armed after
 * each connection.  Not a multishot accept: that one installs a descriptor
 * for every connection of a burst before the loop sees any of them, so 400
 * connections arriving at once would take 400 descriptors, past the cap
 * (clients.c) and into what the WAL needs; one at a time, each is refused
 * or let in before the next is taken.  The cost is one SQE per connection,
 * and gRPC connections live long.
 *
 * An accept that fails for want of resources (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) would fail again at once, so the listener pauses for LISTEN_PAUSE_MS (a timeout on the
 * ring) while the pending connections wait in the backlog, and the
 * warning is rate-limited.  The client cap (clients.c) keeps descriptors
 * back so that this is the exception, not the way connections are refused.
 *
 * A member killed by a signal never shuts its listeners down (see
 * gd_listen__close()): its pending accepts hold them until the kernel
 * finishes tearing its ring down, which runs after the process is reaped
 * and takes longer on a loaded host.  A member restarted at once would
 * find its own ports in use, so a bind refused with EADDRINUSE is retried
 * for up to LISTEN_BIND_WAIT_MS before the member gives up; a port that
 * another program really holds still fails start-up, only later.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"

#define LISTEN_PAUSE_MS		100
#define LISTEN_BIND_WAIT_MS	5000
#define LISTEN_BIND_RETRY_MS	50

static struct gd_ratelimit accept_warnings;

static void on_accept(struct gnomond *d, struct gd_op *op, int res,
		      uint32_t flags);

static void arm_accept(struct gnomond *d, struct gd_listener *l)
{
	struct io_uring_sqe *sqe = gd_sqe(d, &l->op);

	if (!sqe)
		return;
	io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
}

static void on_pause_end(struct gnomond *d, struct gd_op *op, int res,
			 uint32_t flags)
{
	struct gd_listener *l = gd_container_of(op, struct gd_listener,
						pause_op);

	(void)res;
	(void)flags;
	if (!d->stop)
		arm_accept(d, l);
}

static bool out_of_resources(int res)
{
	return res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
	       res == -ENOMEM;
}

static void pause_accept(struct gnomond *d, struct gd_listener *l)
{
	struct io_uring_sqe *sqe = gd_sqe(d, &l->pause_op);

	if (!sqe)
		return;
	l->pause_ts.tv_sec = 0;
	l->pause_ts.tv_nsec = LISTEN_PAUSE_MS * 1000000L;
	io_uring_prep_timeout(sqe, &l->pause_ts, 0, 0);
}

static void on_accept(struct gnomond *d, struct gd_op *op, int res,
		      uint32_t flags)
{
	struct gd_listener *l = (struct gd_listener *)op;
	int one = 1;

	(void)flags;
	if (res >= 0 && d->stop) {
		close(res);	/* exiting: no new connections */
	} else if (res >= 0) {
		setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (l->client)
			gd_clients__accepted(d, res);
		else
			gd_peers__accepted(d, res);
	} else if (res != -ECANCELED) {
		gd_warn_ratelimited(&accept_warnings, "accept on %s: %s%s",
				    l->client ? "the client port" :
				    "the peer port", strerror(-res),
				    out_of_resources(res) ?
				    ": pausing accepts" : "");
	}
	if (d->stop)
		return;
	if (res < 0 && out_of_resources(res))
		pause_accept(d, l);
	else
		arm_accept(d, l);
}

static int listen_on(const struct gd_url *u)
{
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) ||
	    listen(fd, 1024)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* listen_on(), retrying a port still in use for LISTEN_BIND_WAIT_MS. */
static int listen_waiting(const struct gd_url *u)
{
	const struct timespec step = {
		.tv_nsec = LISTEN_BIND_RETRY_MS * 1000000L,
	};
	int waited_ms = 0, fd;

	while ((fd = listen_on(u)) == -EADDRINUSE &&
	       waited_ms < LISTEN_BIND_WAIT_MS) {
		if (!waited_ms)
			gd_warn("listen on %s: %s; waiting up to %d s for it to be released",
				u->text, strerror(EADDRINUSE),
				LISTEN_BIND_WAIT_MS / 1000);
		nanosleep(&step, NULL);
		waited_ms += LISTEN_BIND_RETRY_MS;
	}
	return fd;
}

static int open_list(struct gnomond *d, const struct gd_url_list *urls,
		     bool client)
{
	for (unsigned int i = 0; i < urls->n; i++) {
		struct gd_listener *l = &d->listeners[d->n_listeners];
		int fd = listen_waiting(&urls->v[i]);

		if (fd < 0) {
			gd_err("listen on %s: %s", urls->v[i].text,
			       strerror(-fd));
			return fd;
		}
		l->op.fn = on_accept;
		l->pause_op.fn = on_pause_end;
		l->fd = fd;
		l->client = client;
		d->n_listeners++;
		gd_info("listening for %s on %s", client ? "clients" : "peers",
			urls->v[i].text);
	}
	return 0;
}

int gd_listen__open(struct gnomond *d)
{
	int rc = open_list(d, &d->cfg.listen_peer, false);

	if (!rc)
		rc = open_list(d, &d->cfg.listen_client, true);
	return rc;
}

void gd_listen__arm(struct gnomond *d)
{
	for (unsigned int i = 0; i < d->n_listeners; i++)
		arm_accept(d, &d->listeners[i]);
}

/*
 * The accept in flight holds the socket until the kernel tears the ring
 * down, after the process is gone: closed alone, the socket would go on
 * listening that long, and a member restarted at once (systemd, a full
 * disk made larger) would find its ports in use.  Shut down, it stops
 * listening now, and SO_REUSEADDR lets the next one bind.
 */
void gd_listen__close(struct gnomond *d)
{
	for (unsigned int i = 0; i < d->n_listeners; i++) {
		shutdown(d->listeners[i].fd, SHUT_RDWR);
		close(d->listeners[i].fd);
	}
	d->n_listeners = 0;
}
