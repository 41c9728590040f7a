// SPDX-License-Identifier: GPL-2.0
/*
 * Client connections: one api_session (HTTP/2 + gRPC, no I/O) per TCP
 * connection, fed by a recv on the ring and drained by a send of the bytes
 * api_session__output() hands out.  Those bytes stay put only until the
 * session is asked for output again, so output is asked for only when no
 * send is in flight.  A connection lives in a slot with a generation
 * number: a late answer for a connection that went away (and whose slot
 * was reused) finds a different generation and is dropped.  Connections
 * with new output are kept in a dirty list and flushed once per turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define CLIENT_RECV_BUF (64 * 1024)

struct gd_client {
	struct gnomond *d;
	int fd;
	uint32_t slot, gen;
	bool dead, recv_busy, send_busy, dirty, closing;
	struct api_session *s;
	struct gd_op recv_op, send_op;
	uint8_t buf[CLIENT_RECV_BUF];
};

static uint32_t n_dirty;
/* A slot may come twice if its client closed and another took it. */
static uint32_t dirty[2 * GD_MAX_CLIENTS];

static void client_free_if_idle(struct gd_client *c)
{
	if (!c->dead || c->recv_busy || c->send_busy)
		return;
	close(c->fd);
	free(c);
}

/* An operation of c completed: false if c is closing (and maybe freed). */
static bool client_op_done(struct gd_client *c, bool *busy)
{
	*busy = false;
	if (!c->dead)
		return true;
	client_free_if_idle(c);
	return false;
}

static void client_close(struct gnomond *d, struct gd_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	d->clients[c->slot] = NULL;
	api_session__free(c->s);
	c->s = NULL;
	shutdown(c->fd, SHUT_RDWR);
	client_free_if_idle(c);
}

static void mark_dirty(struct gd_client *c)
{
	if (c->dirty || c->dead ||
	    n_dirty == sizeof(dirty) / sizeof(*dirty))
		return;
	c->dirty = true;
	dirty[n_dirty++] = c->slot;
}

static void on_request(void *ctx, struct api_session *s,
		       struct api_request *req)
{
	struct gd_client *c = ctx;

	(void)s;
	gd_requests__client(c->d, c->slot, c->gen, req);
	mark_dirty(c);
}

static const struct api_ops client_ops = { .request = on_request };

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);
static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);

static void arm_recv(struct gnomond *d, struct gd_client *c)
{
	struct io_uring_sqe *sqe;

	if (c->dead || c->recv_busy || c->closing)
		return;
	sqe = gd_sqe(d, &c->recv_op);
	if (!sqe)
		return;
	io_uring_prep_recv(sqe, c->fd, c->buf, sizeof(c->buf), 0);
	c->recv_busy = true;
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_client *c = gd_container_of(op, struct gd_client, recv_op);

	(void)flags;
	if (!client_op_done(c, &c->recv_busy))
		return;
	if (res <= 0) {
		client_close(d, c);
		return;
	}
	if (api_session__recv(c->s, c->buf, (size_t)res)) {
		/* Send the GOAWAY the session queued, then close. */
		c->closing = true;
		mark_dirty(c);
		return;
	}
	mark_dirty(c);
	arm_recv(d, c);
}

/* Send what the session has; close when it is done. */
static void pump(struct gnomond *d, struct gd_client *c)
{
	const uint8_t *data;
	struct io_uring_sqe *sqe;
	size_t len = 0;

	if (c->dead || c->send_busy)
		return;
	if (api_session__output(c->s, &data, &len) && !len) {
		client_close(d, c);
		return;
	}
	if (!len) {
		if (c->closing || api_session__done(c->s))
			client_close(d, c);
		return;
	}
	sqe = gd_sqe(d, &c->send_op);
	if (!sqe)
		return;
	io_uring_prep_send(sqe, c->fd, data, len, MSG_NOSIGNAL);
	c->send_busy = true;
}

static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_client *c = gd_container_of(op, struct gd_client, send_op);

	(void)flags;
	if (!client_op_done(c, &c->send_busy))
		return;
	if (res < 0) {
		client_close(d, c);
		return;
	}
	api_session__consume(c->s, (size_t)res);
	pump(d, c);
}

void gd_clients__accepted(struct gnomond *d, int fd)
{
	struct api_limits lim = {
		.max_request_bytes = d->cfg.max_request_bytes,
	};
	struct gd_client *c;

	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++) {
		if (d->clients[i])
			continue;
		c = calloc(1, sizeof(*c));
		if (!c || api_session__new(&c->s, &client_ops, c, &lim)) {
			free(c);
			break;
		}
		c->d = d;
		c->fd = fd;
		c->slot = i;
		c->gen = ++d->client_gen;
		c->recv_op.fn = on_recv;
		c->send_op.fn = on_send;
		d->clients[i] = c;
		arm_recv(d, c);
		/* The server's SETTINGS go out first. */
		mark_dirty(c);
		return;
	}
	gd_warn("cannot take another client connection");
	close(fd);
}

struct api_session *gd_clients__session(struct gnomond *d, uint32_t slot,
					uint32_t gen)
{
	struct gd_client *c;

	if (slot >= GD_MAX_CLIENTS)
		return NULL;
	c = d->clients[slot];
	if (!c || c->gen != gen || c->dead)
		return NULL;
	mark_dirty(c);
	return c->s;
}

void gd_clients__flush(struct gnomond *d)
{
	uint32_t n = n_dirty;

	n_dirty = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct gd_client *c = d->clients[dirty[i]];

		if (!c)
			continue;
		c->dirty = false;
		pump(d, c);
	}
}

void gd_clients__close_all(struct gnomond *d)
{
	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++)
		if (d->clients[i])
			client_close(d, d->clients[i]);
	n_dirty = 0;
}
