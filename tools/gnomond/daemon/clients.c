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
 *
 * Receiving.  Where the kernel has them (6.0), each connection keeps one
 * multishot recv armed for its whole life, and the kernel picks the buffer
 * from a ring of CLIENT_BUFS shared by all connections (a provided-buffer
 * ring, group CLIENT_BGID): no SQE per request, and idle connections hold
 * no memory.  The session parses a buffer at once (nghttp2 copies what it
 * keeps), so it goes back to the ring in the same completion.  A multishot
 * recv ends without IORING_CQE_F_MORE when the ring ran dry (-ENOBUFS) or
 * after some data; it is simply armed again.  Older kernels get one recv
 * at a time, from the shared ring (5.19) or into a buffer of the
 * connection's own.
 *
 * What clients may hold.  Clients never get the descriptors the member
 * needs to stay up: at start the soft RLIMIT_NOFILE is raised to the hard
 * one, and the client cap (--max-client-conns, by default all that is
 * left) is what remains after the descriptors open then, FD_RESERVE_FILES
 * for the WAL's next segments and snapshots, and every peer connection
 * (GD_MAX_ACCEPTED + members).  At the cap a new connection takes the
 * place of the oldest one that has not finished its HTTP/2 handshake, or
 * else of the one idle longest (sent a GOAWAY); with neither it is refused.
 * Once a second the tick closes connections past
 * --client-handshake-timeout without the client's preface and SETTINGS,
 * and, with --client-idle-timeout, sends a GOAWAY to those with no stream
 * open and nothing received for that long (and closes them a second later
 * if they are still there).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "sock.h"

#define CLIENT_RECV_BUF (16 * 1024)
#define CLIENT_BUFS	1024		/* a power of two */
#define CLIENT_BGID	1
/* Descriptors kept for the WAL (segments being made), snapshots (the
 * file, its child's pidfd, a received one), the status file and the
 * ring. */
#define FD_RESERVE_FILES 32
/* Connections past the cap while evicted ones finish closing. */
#define EVICT_SLACK	8
#define MIN_CLIENTS	8

struct gd_client {
	struct gd_sock sock;
	struct gnomond *d;
	uint32_t slot, gen;
	bool dirty, closing;
	uint64_t born, last_rx, goaway;	/* ticks; goaway 0: none sent */
	struct api_session *s;
	struct gd_op recv_op, send_op;
	uint8_t *buf;			/* plain recv only */
};

/*
 * The provided-buffer ring; br is NULL where the kernel lacks it (5.19),
 * multishot false where it has the ring but not multishot recv (6.0).
 */
static struct {
	struct io_uring_buf_ring *br;
	uint8_t *mem;
	bool multishot;
} bufs;

static const struct gd_client_ops *ops;
static uint32_t n_dirty;
static uint32_t n_clients;	/* allocated, closing ones included */
static uint32_t max_clients;
static struct gd_ratelimit refusals;
/* A slot may come twice if its client closed and another took it. */
static uint32_t dirty[2 * GD_MAX_CLIENTS];

static void client_release(struct gd_sock *s)
{
	struct gd_client *c = gd_container_of(s, struct gd_client, sock);

	free(c->buf);
	free(c);
	n_clients--;
}

static void client_close(struct gnomond *d, struct gd_client *c)
{
	if (c->sock.dead)
		return;
	d->clients[c->slot] = NULL;
	api_session__free(c->s);
	c->s = NULL;
	gd_sock__close(&c->sock);
}

static void mark_dirty(struct gd_client *c)
{
	if (c->dirty || c->sock.dead ||
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
	ops->request(c->d, c->slot, c->gen, req);
	mark_dirty(c);
}

static void on_closed(void *ctx, struct api_session *s, int32_t stream)
{
	struct gd_client *c = ctx;

	(void)s;
	ops->closed(c->d, c->slot, c->gen, stream);
}

static const struct api_ops client_ops = { .request = on_request,
					   .closed = on_closed };

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);
static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);

static void arm_recv(struct gnomond *d, struct gd_client *c)
{
	struct io_uring_sqe *sqe;

	if (c->sock.dead || gd_sock__busy(&c->sock, GD_SOCK_RECV) ||
	    c->closing)
		return;
	sqe = gd_sqe(d, &c->recv_op);
	if (!sqe)
		return;
	if (bufs.br) {
		if (bufs.multishot)
			io_uring_prep_recv_multishot(sqe, c->sock.fd, NULL, 0,
						     0);
		else
			io_uring_prep_recv(sqe, c->sock.fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = CLIENT_BGID;
	} else {
		io_uring_prep_recv(sqe, c->sock.fd, c->buf, CLIENT_RECV_BUF, 0);
	}
	gd_sock__start(&c->sock, GD_SOCK_RECV);
}

static void give_back(uint32_t bid)
{
	io_uring_buf_ring_add(bufs.br, bufs.mem + (size_t)bid * CLIENT_RECV_BUF,
			      CLIENT_RECV_BUF, (unsigned short)bid,
			      io_uring_buf_ring_mask(CLIENT_BUFS), 0);
	io_uring_buf_ring_advance(bufs.br, 1);
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_client *c = gd_container_of(op, struct gd_client, recv_op);
	const uint8_t *data = c->buf;
	uint32_t bid = UINT32_MAX;
	int rc;

	if (flags & IORING_CQE_F_BUFFER) {
		bid = flags >> IORING_CQE_BUFFER_SHIFT;
		assert(bufs.br && bid < CLIENT_BUFS);
		data = bufs.mem + (size_t)bid * CLIENT_RECV_BUF;
	}
	if (flags & IORING_CQE_F_MORE) {
		assert(gd_sock__busy(&c->sock, GD_SOCK_RECV));
	} else if (!gd_sock__done(&c->sock, GD_SOCK_RECV)) {
		if (bid != UINT32_MAX)
			give_back(bid);
		return;
	}
	if (res == -EINVAL && bufs.multishot && !c->sock.dead) {
		gd_info("no multishot recv: one recv at a time");
		bufs.multishot = false;
		arm_recv(d, c);
		return;
	}
	if (c->sock.dead || res == -ENOBUFS) {
		/* Closing, or the shared ring ran dry for a moment. */
		if (bid != UINT32_MAX)
			give_back(bid);
		if (!c->sock.dead && !gd_sock__busy(&c->sock, GD_SOCK_RECV))
			arm_recv(d, c);
		return;
	}
	if (res <= 0) {
		client_close(d, c);
		return;
	}
	c->last_rx = d->ticks;
	rc = api_session__recv(c->s, data, (size_t)res);
	if (bid != UINT32_MAX)
		give_back(bid);
	if (rc) {
		/* Send the GOAWAY the session queued, then close. */
		c->closing = true;
		mark_dirty(c);
		return;
	}
	mark_dirty(c);
	if (!gd_sock__busy(&c->sock, GD_SOCK_RECV))
		arm_recv(d, c);
}

/* Send what the session has; close when it is done. */
static void pump(struct gnomond *d, struct gd_client *c)
{
	const uint8_t *data;
	struct io_uring_sqe *sqe;
	size_t len = 0;

	if (c->sock.dead || gd_sock__busy(&c->sock, GD_SOCK_SEND))
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
	io_uring_prep_send(sqe, c->sock.fd, data, len, MSG_NOSIGNAL);
	gd_sock__start(&c->sock, GD_SOCK_SEND);
}

static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_client *c = gd_container_of(op, struct gd_client, send_op);

	(void)flags;
	if (!gd_sock__done(&c->sock, GD_SOCK_SEND))
		return;
	if (res < 0) {
		client_close(d, c);
		return;
	}
	api_session__consume(c->s, (size_t)res);
	pump(d, c);
}

static void say_goaway(struct gnomond *d, struct gd_client *c)
{
	api_session__goaway(c->s);
	c->goaway = d->ticks ? d->ticks : 1;
	c->closing = true;
	mark_dirty(c);
}

/* At the cap: make room by closing the oldest connection still in its
 * handshake, else by sending a GOAWAY to the one idle longest. */
static void evict_one(struct gnomond *d)
{
	struct gd_client *young = NULL, *idle = NULL;

	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++) {
		struct gd_client *c = d->clients[i];

		if (!c || c->closing)
			continue;
		if (!api_session__handshaken(c->s)) {
			if (!young || c->born < young->born)
				young = c;
		} else if (api_session__idle(c->s) &&
			   !gd_sock__busy(&c->sock, GD_SOCK_SEND) &&
			   (!idle || c->last_rx < idle->last_rx)) {
			idle = c;
		}
	}
	if (young)
		client_close(d, young);
	else if (idle)
		say_goaway(d, idle);
}

void gd_clients__accepted(struct gnomond *d, int fd)
{
	struct api_limits lim = {
		.max_request_bytes = d->cfg.max_request_bytes,
	};
	struct gd_client *c;

	if (n_clients >= max_clients)
		evict_one(d);
	if (n_clients >= max_clients + EVICT_SLACK) {
		gd_warn_ratelimited(&refusals, "%u client connections (the cap, "
				    "--max-client-conns): refusing one",
				    max_clients);
		close(fd);
		return;
	}
	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++) {
		if (d->clients[i])
			continue;
		c = calloc(1, sizeof(*c));
		if (c && !bufs.br)
			c->buf = malloc(CLIENT_RECV_BUF);
		if (!c || (!bufs.br && !c->buf) ||
		    api_session__new(&c->s, &client_ops, c, &lim)) {
			if (c)
				free(c->buf);
			free(c);
			break;
		}
		n_clients++;
		gd_sock__init(&c->sock, fd, client_release);
		c->d = d;
		c->slot = i;
		c->born = c->last_rx = d->ticks;
		c->gen = ++d->client_gen;
		c->recv_op.fn = on_recv;
		c->send_op.fn = on_send;
		d->clients[i] = c;
		arm_recv(d, c);
		/* The server's SETTINGS go out first. */
		mark_dirty(c);
		return;
	}
	gd_warn_ratelimited(&refusals, "cannot take another client "
			    "connection: out of memory");
	close(fd);
}

static uint64_t ms_ticks(const struct gnomond *d, uint32_t ms)
{
	return ((uint64_t)ms + d->cfg.heartbeat_ms - 1) / d->cfg.heartbeat_ms;
}

static void check_timeouts(struct gnomond *d, struct gd_client *c)
{
	uint64_t hs = ms_ticks(d, d->cfg.client_handshake_timeout_ms);
	uint64_t idle = ms_ticks(d, d->cfg.client_idle_timeout_ms);

	if (c->goaway) {
		if (d->ticks - c->goaway > ms_ticks(d, 1000))
			client_close(d, c);
	} else if (hs && !api_session__handshaken(c->s) &&
		   d->ticks - c->born >= hs) {
		gd_debug("client connection: no HTTP/2 handshake in %u ms",
			 d->cfg.client_handshake_timeout_ms);
		client_close(d, c);
	} else if (idle && api_session__idle(c->s) &&
		   !gd_sock__busy(&c->sock, GD_SOCK_SEND) &&
		   d->ticks - c->last_rx >= idle) {
		say_goaway(d, c);
	}
}

void gd_clients__tick(struct gnomond *d)
{
	if (d->ticks % ms_ticks(d, 1000))
		return;
	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++)
		if (d->clients[i])
			check_timeouts(d, d->clients[i]);
}

struct api_session *gd_clients__session(struct gnomond *d, uint32_t slot,
					uint32_t gen)
{
	struct gd_client *c;

	if (slot >= GD_MAX_CLIENTS)
		return NULL;
	c = d->clients[slot];
	if (!c || c->gen != gen || c->sock.dead)
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

static uint32_t fds_open(void)
{
	DIR *dir = opendir("/proc/self/fd");
	uint32_t n = 0;
	struct dirent *e;

	if (!dir)
		return 64;	/* no /proc: a generous guess */
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1;		/* the directory's own */
}

/* The client cap from RLIMIT_NOFILE and --max-client-conns; before the
 * ring exists (its descriptor is one of FD_RESERVE_FILES), since the loop
 * thread makes no blocking file call once the ring runs. */
int gd_clients__set_cap(struct gnomond *d)
{
	uint32_t reserve = fds_open() + FD_RESERVE_FILES + GD_MAX_ACCEPTED +
			   RAFT_MAX_MEMBERS, room;
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur < (rlim_t)reserve + EVICT_SLACK + MIN_CLIENTS) {
		gd_err("the descriptor limit (RLIMIT_NOFILE, %llu) leaves no "
		       "room for clients: %u are kept for the WAL, snapshots "
		       "and peers; raise it to %u or more (LimitNOFILE=)",
		       (unsigned long long)rl.rlim_cur, reserve,
		       reserve + EVICT_SLACK + MIN_CLIENTS);
		return -EMFILE;
	}
	room = rl.rlim_cur - reserve - EVICT_SLACK > GD_MAX_CLIENTS ?
	       GD_MAX_CLIENTS : (uint32_t)(rl.rlim_cur - reserve - EVICT_SLACK);
	max_clients = d->cfg.max_client_conns ? d->cfg.max_client_conns : room;
	if (max_clients > room) {
		gd_warn("--max-client-conns %u: the descriptor limit (%llu) "
			"leaves room for %u: using %u", max_clients,
			(unsigned long long)rl.rlim_cur, room, room);
		max_clients = room;
	}
	gd_info("at most %u client connections (descriptor limit %llu)",
		max_clients, (unsigned long long)rl.rlim_cur);
	return 0;
}

/*
 * The buffers are left out of a snapshot child's address space
 * (MADV_DONTFORK): it never reads them, and the kernel writes into them.
 */
int gd_clients__init(struct gnomond *d, const struct gd_client_ops *o)
{
	size_t ring_len = CLIENT_BUFS * sizeof(struct io_uring_buf);
	size_t mem_len = (size_t)CLIENT_BUFS * CLIENT_RECV_BUF;
	struct io_uring_buf_reg reg = {
		.ring_entries = CLIENT_BUFS,
		.bgid = CLIENT_BGID,
	};
	void *ring, *mem;
	int rc;

	ops = o;
	ring = mmap(NULL, ring_len + mem_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		return -errno;
	mem = (uint8_t *)ring + ring_len;
	madvise(ring, ring_len + mem_len, MADV_DONTFORK);
	reg.ring_addr = (unsigned long)ring;
	rc = io_uring_register_buf_ring(&d->ring, &reg, 0);
	if (rc) {
		munmap(ring, ring_len + mem_len);
		if (rc != -EINVAL)
			return rc;
		gd_info("no provided-buffer rings: one recv at a time");
		return 0;
	}
	bufs.br = ring;
	bufs.mem = mem;
	bufs.multishot = true;
	io_uring_buf_ring_init(bufs.br);
	for (uint32_t i = 0; i < CLIENT_BUFS; i++)
		io_uring_buf_ring_add(bufs.br, bufs.mem + (size_t)i *
				      CLIENT_RECV_BUF, CLIENT_RECV_BUF,
				      (unsigned short)i,
				      io_uring_buf_ring_mask(CLIENT_BUFS), (int)i);
	io_uring_buf_ring_advance(bufs.br, CLIENT_BUFS);
	return 0;
}

void gd_clients__close_all(struct gnomond *d)
{
	for (uint32_t i = 0; i < GD_MAX_CLIENTS; i++)
		if (d->clients[i])
			client_close(d, d->clients[i]);
	n_dirty = 0;
}

uint32_t gd_clients__allocated(void)
{
	return n_clients;
}

/* After the ring is gone: nothing can complete into the buffers. */
void gd_clients__exit(void)
{
	if (!bufs.br)
		return;
	munmap(bufs.br, CLIENT_BUFS * sizeof(struct io_uring_buf) +
			(size_t)CLIENT_BUFS * CLIENT_RECV_BUF);
	bufs.br = NULL;
	bufs.mem = NULL;
}
