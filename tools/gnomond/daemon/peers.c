// SPDX-License-Identifier: GPL-2.0
/*
 * Member-to-member TCP.  Each member keeps one outgoing connection to every
 * other member and sends only on it (Raft messages, forwarded requests and
 * their answers); it receives on every connection, outgoing or accepted.
 * A connection that fails is closed and retried with exponential backoff
 * (50 ms to 1 s) from the tick; messages for a member without a connection
 * are dropped, which Raft tolerates.
 *
 * Every frame is authenticated with the cluster key: Raft frames by
 * peer_codec__decode(), forwarding frames by fwd_frame__decode().  A frame
 * that fails (bad MAC, malformed, a sender that is not a member) is logged,
 * counted (peer_codec's stats, and rejected_fwd here) and its connection
 * closed.  A connection is freed when its last operation has completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "forward.h"
#include "log.h"

#define RECV_CHUNK	(256 * 1024)
#define MAX_QUEUED	(64u << 20)	/* drop messages beyond this */
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	1000

struct gd_conn {
	int fd;
	bool outgoing, connected, dead;
	bool recv_busy, send_busy, connect_busy;
	uint32_t peer;			/* 0 until a frame names it */
	int accepted_slot;		/* -1 for outgoing */
	struct gd_op recv_op, send_op, connect_op;
	struct gd_buf in, out, sending;
	struct sockaddr_in addr;
};

static uint64_t rejected_fwd;
static unsigned int n_conns;	/* allocated, closing ones included */

static void conn_free_if_idle(struct gd_conn *c)
{
	if (!c->dead || c->recv_busy || c->send_busy || c->connect_busy)
		return;
	close(c->fd);
	gd_buf__free(&c->in);
	gd_buf__free(&c->out);
	gd_buf__free(&c->sending);
	free(c);
	n_conns--;
}

/* An operation of c completed: false if c is closing (and maybe freed). */
static bool conn_op_done(struct gd_conn *c, bool *busy)
{
	*busy = false;
	if (!c->dead)
		return true;
	conn_free_if_idle(c);
	return false;
}

static uint32_t ms_to_ticks(const struct gnomond *d, uint32_t ms)
{
	uint32_t t = ms / d->cfg.heartbeat_ms;

	return t ? t : 1;
}

static void conn_close(struct gnomond *d, struct gd_conn *c, const char *why)
{
	struct gd_peer *p;

	if (c->dead)
		return;
	c->dead = true;
	if (c->outgoing) {
		p = &d->peers[c->peer];
		p->out = NULL;
		p->retry_tick = d->ticks + p->backoff;
		p->backoff *= 2;
		if (p->backoff > ms_to_ticks(d, BACKOFF_MAX_MS))
			p->backoff = ms_to_ticks(d, BACKOFF_MAX_MS);
		if (c->connected || !p->logged_down)
			gd_info("peer %s: %s", d->cfg.members[c->peer - 1].name,
				why ? why : "connection closed");
		p->logged_down = true;
	} else if (c->accepted_slot >= 0) {
		d->accepted[c->accepted_slot] = NULL;
		if (why)
			gd_debug("accepted peer connection: %s", why);
	}
	shutdown(c->fd, SHUT_RDWR);
	conn_free_if_idle(c);
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);
static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);

static void arm_recv(struct gnomond *d, struct gd_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->dead || c->recv_busy)
		return;
	if (gd_buf__reserve(&c->in, RECV_CHUNK)) {
		conn_close(d, c, "out of memory");
		return;
	}
	sqe = gd_sqe(d, &c->recv_op);
	if (!sqe)
		return;
	io_uring_prep_recv(sqe, c->fd, c->in.p + c->in.len,
			   c->in.cap - c->in.len, 0);
	c->recv_busy = true;
}

static struct gd_conn *conn_new(int fd, bool outgoing)
{
	struct gd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	n_conns++;
	c->fd = fd;
	c->outgoing = outgoing;
	c->accepted_slot = -1;
	c->recv_op.fn = on_recv;
	c->send_op.fn = on_send;
	return c;
}

static bool valid_member(const struct gnomond *d, uint32_t id)
{
	return id >= 1 && id <= d->cfg.n_members && id != d->cfg.self;
}

static void on_hello(struct gnomond *d, const struct fwd_frame *f)
{
	struct gd_peer *p = &d->peers[f->from];
	const uint8_t *nl = memchr(f->body, '\n', f->len);
	size_t n;

	if (!nl)
		return;
	n = f->len - (size_t)(nl + 1 - f->body);
	if (n >= sizeof(p->client_urls))
		n = sizeof(p->client_urls) - 1;
	memcpy(p->client_urls, nl + 1, n);
	p->client_urls[n] = 0;
}

/* One whole frame at buf: false if the connection must close. */
static bool handle_frame(struct gnomond *d, struct gd_conn *c,
			 const uint8_t *buf, size_t len)
{
	const char *why = NULL;
	struct fwd_frame f;
	struct raft_msg m;
	int rc;

	if (fwd_frame__is_forward(buf, len)) {
		rc = fwd_frame__decode(&d->codec.key, buf, len, &f, &why);
		if (!rc && !valid_member(d, f.from)) {
			rc = -EBADMSG;
			why = "sender is not a member";
		}
		if (rc) {
			rejected_fwd++;
			gd_warn("rejected a forwarding frame (%llu so far): %s",
				(unsigned long long)rejected_fwd, why);
			return false;
		}
		c->peer = f.from;
		if (f.type == FWD_HELLO)
			on_hello(d, &f);
		else if (f.type == FWD_REQUEST)
			gd_requests__forwarded(d, f.from, f.id, f.method,
					       f.body, f.len);
		else
			gd_requests__result(d, f.id, f.status, f.body, f.len);
		return true;
	}
	rc = peer_codec__decode(&d->codec, buf, len, &m, &why);
	if (!rc && (!valid_member(d, m.from) || m.to != d->cfg.self)) {
		rc = -EBADMSG;
		why = "not from a member to this member";
		d->codec.stats.malformed++;
	}
	if (rc) {
		gd_warn("rejected a peer message (bad MAC %llu, malformed %llu "
			"so far): %s",
			(unsigned long long)d->codec.stats.bad_mac,
			(unsigned long long)d->codec.stats.malformed, why);
		return false;
	}
	c->peer = m.from;
	rc = raft__step(d->raft, &m, &d->now);
	if (rc == -EUCLEAN) {
		gd_err("the leader (member %u, term %llu) holds writes this "
		       "member acknowledged up to index %llu, but its log in "
		       "%s no longer has them, and recovery found no cut "
		       "record to explain it: the data directory was lost or "
		       "replaced by an older copy.  Restore it; a wiped "
		       "member cannot rejoin (membership changes are not "
		       "supported yet)", m.from, (unsigned long long)m.term,
		       (unsigned long long)m.index, d->cfg.data_dir);
		gd_loop__fatal(d, "raft", rc);
	} else if (rc == -EIO)
		gd_err("protocol violation in a %s from member %u, term %llu",
		       raft_msg_type__name(m.type), m.from,
		       (unsigned long long)m.term);
	else if (rc && rc != -EINVAL)
		gd_warn("raft__step: %s", strerror(-rc));
	return true;
}

static void parse_frames(struct gnomond *d, struct gd_conn *c)
{
	while (!c->dead && gd_buf__pending(&c->in) >= 12) {
		const uint8_t *p = c->in.p + c->in.off;
		size_t n = gd_buf__pending(&c->in), len = 0;
		int rc = fwd_frame__is_forward(p, n) ?
			 fwd_frame__length(p, n, &len) :
			 peer_frame__length(p, n, &len);

		if (rc) {
			gd_warn("peer stream: bad framing (%s): closing",
				strerror(-rc));
			conn_close(d, c, NULL);
			return;
		}
		if (n < len) {
			gd_buf__compact(&c->in);
			if (gd_buf__reserve(&c->in, len - n + RECV_CHUNK))
				conn_close(d, c, "out of memory");
			return;
		}
		if (!handle_frame(d, c, p, len)) {
			conn_close(d, c, NULL);
			return;
		}
		gd_buf__consume(&c->in, len);
	}
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, recv_op);

	(void)flags;
	if (!conn_op_done(c, &c->recv_busy))
		return;
	if (res <= 0) {
		conn_close(d, c, res ? strerror(-res) : "connection closed");
		return;
	}
	c->in.len += (size_t)res;
	/* Parsing may close c: hold it until parsing is over. */
	c->recv_busy = true;
	parse_frames(d, c);
	if (conn_op_done(c, &c->recv_busy))
		arm_recv(d, c);
}

static void start_send(struct gnomond *d, struct gd_conn *c)
{
	struct gd_buf t;
	struct io_uring_sqe *sqe;

	if (c->dead || !c->connected || c->send_busy)
		return;
	if (!gd_buf__pending(&c->sending)) {
		if (!gd_buf__pending(&c->out))
			return;
		t = c->sending;
		c->sending = c->out;
		c->out = t;
		c->out.off = c->out.len = 0;
	}
	sqe = gd_sqe(d, &c->send_op);
	if (!sqe)
		return;
	io_uring_prep_send(sqe, c->fd, c->sending.p + c->sending.off,
			   gd_buf__pending(&c->sending), MSG_NOSIGNAL);
	c->send_busy = true;
}

static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, send_op);

	(void)flags;
	if (!conn_op_done(c, &c->send_busy))
		return;
	if (res < 0) {
		conn_close(d, c, strerror(-res));
		return;
	}
	gd_buf__consume(&c->sending, (size_t)res);
	start_send(d, c);
}

static void send_hello(struct gnomond *d, struct gd_conn *c)
{
	char body[GD_NAME_LEN + GD_MAX_URLS * GD_URL_LEN + 8];
	const struct gd_url_list *l = &d->cfg.advertise_client;
	size_t n = (size_t)snprintf(body, sizeof(body), "%s\n", d->cfg.name);
	struct fwd_frame f = {
		.type = FWD_HELLO, .from = d->cfg.self, .body = (uint8_t *)body,
	};

	for (unsigned int i = 0; i < l->n && n < sizeof(body); i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s%s",
				      i ? "," : "", l->v[i].text);
	f.len = n < sizeof(body) ? n : sizeof(body) - 1;
	fwd_frame__encode(&d->codec.key, &f, &c->out);
}

static void on_connect(struct gnomond *d, struct gd_op *op, int res,
		       uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, connect_op);
	struct gd_peer *p;

	(void)flags;
	if (!conn_op_done(c, &c->connect_busy))
		return;
	if (res < 0) {
		conn_close(d, c, strerror(-res));
		return;
	}
	p = &d->peers[c->peer];
	c->connected = true;
	p->backoff = ms_to_ticks(d, BACKOFF_MIN_MS);
	p->logged_down = false;
	gd_info("connected to peer %s (%s)", d->cfg.members[c->peer - 1].name,
		d->cfg.members[c->peer - 1].peer.text);
	send_hello(d, c);
	arm_recv(d, c);
	start_send(d, c);
}

static void start_connect(struct gnomond *d, uint32_t id)
{
	struct gd_peer *p = &d->peers[id];
	struct sockaddr_in src = d->cfg.listen_peer.v[0].addr;
	struct io_uring_sqe *sqe;
	struct gd_conn *c;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* Leave from our own peer address, so that per-address network
	 * rules (tests' partitions) see who is talking. */
	src.sin_port = 0;
	if (src.sin_addr.s_addr != htonl(INADDR_ANY))
		bind(fd, (struct sockaddr *)&src, sizeof(src));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(fd, true);
	if (!c) {
		close(fd);
		return;
	}
	c->peer = id;
	c->addr = d->cfg.members[id - 1].peer.addr;
	c->connect_op.fn = on_connect;
	sqe = gd_sqe(d, &c->connect_op);
	if (!sqe) {
		close(fd);
		free(c);
		n_conns--;
		return;
	}
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->addr,
			      sizeof(c->addr));
	c->connect_busy = true;
	p->out = c;
}

void gd_peers__tick(struct gnomond *d)
{
	if (d->stop)
		return;
	for (uint32_t id = 1; id <= d->cfg.n_members; id++)
		if (id != d->cfg.self && !d->peers[id].out &&
		    d->ticks >= d->peers[id].retry_tick)
			start_connect(d, id);
}

void gd_peers__accepted(struct gnomond *d, int fd)
{
	struct gd_conn *c;

	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		if (d->accepted[i])
			continue;
		c = conn_new(fd, false);
		if (!c)
			break;
		c->accepted_slot = i;
		c->connected = true;
		d->accepted[i] = c;
		arm_recv(d, c);
		return;
	}
	gd_warn("too many peer connections: refusing one");
	close(fd);
}

static struct gd_buf *queue_for(struct gnomond *d, uint32_t peer,
				size_t size)
{
	struct gd_conn *c = d->peers[peer].out;

	if (!c || !c->connected || c->dead)
		return NULL;
	if (gd_buf__pending(&c->out) && gd_buf__pending(&c->out) + size >
	    MAX_QUEUED)
		return NULL;
	if (gd_buf__reserve(&c->out, size))
		return NULL;
	return &c->out;
}

void gd_peers__send_raft(struct gnomond *d, const struct raft_msg *m)
{
	size_t size = peer_msg__encoded_size(m), len;
	struct gd_buf *b;

	if (!size || !valid_member(d, m->to))
		return;
	b = queue_for(d, m->to, size);
	if (!b)
		return;
	if (!peer_codec__encode(&d->codec, m, b->p + b->len, size, &len))
		b->len += len;
}

bool gd_peers__send_fwd(struct gnomond *d, uint32_t peer, uint32_t type,
			uint64_t id, uint32_t method, int32_t status,
			const void *body, size_t len)
{
	struct fwd_frame f = {
		.type = type, .from = d->cfg.self, .method = method,
		.status = status, .id = id, .body = body, .len = len,
	};
	struct gd_buf *b;

	if (!valid_member(d, peer))
		return false;
	b = queue_for(d, peer, FWD_HEADER_SIZE + len + SHA256_DIGEST_SIZE);
	return b && !fwd_frame__encode(&d->codec.key, &f, b);
}

void gd_peers__flush(struct gnomond *d)
{
	for (uint32_t id = 1; id <= d->cfg.n_members; id++)
		if (d->peers[id].out)
			start_send(d, d->peers[id].out);
}

int gd_peers__init(struct gnomond *d, const uint8_t *key, size_t key_len)
{
	for (uint32_t id = 1; id <= d->cfg.n_members; id++) {
		d->peers[id].id = id;
		d->peers[id].backoff = ms_to_ticks(d, BACKOFF_MIN_MS);
	}
	return peer_codec__init(&d->codec, key, key_len);
}

void gd_peers__close(struct gnomond *d)
{
	for (uint32_t id = 1; id <= d->cfg.n_members; id++)
		if (d->peers[id].out)
			conn_close(d, d->peers[id].out, NULL);
	for (int i = 0; i < GD_MAX_ACCEPTED; i++)
		if (d->accepted[i])
			conn_close(d, d->accepted[i], NULL);
	peer_codec__free(&d->codec);
}

unsigned int gd_peers__allocated(void)
{
	return n_conns;
}
