// SPDX-License-Identifier: GPL-2.0
/*
 * Member-to-member TCP.  Each member keeps one outgoing connection to every
 * other member and sends only on it (Raft messages, forwarded requests and
 * their answers); it receives on every connection, outgoing or accepted.
 * A connection that fails is closed and retried with exponential backoff
 * (50 ms to 1 s) from the tick; messages for a member without a connection
 * are dropped, which Raft tolerates.
 *
 * Before anything else a connection goes through its handshake (hello.c:
 * the challenge, the hello naming slot and member id, a joining member's
 * JOIN, and what a connection may send before and after it).  Members
 * come and go with the table: gd_peers__changed() connects to an added
 * member, to one with new peer URLs once the established connection
 * breaks, and drops a removed one.
 *
 * Every frame is authenticated with the cluster key: Raft frames by
 * peer_codec__decode(), forwarding frames by fwd_frame__decode().  A frame
 * that fails (bad MAC, malformed, bad framing, a sender that is not a
 * member, a hello whose member id is not its slot's, a frame before the
 * hello, from another slot than the hello's or longer than a member
 * sends) is counted (peer_codec's stats, and rejected_fwd here), logged
 * (rate-limited: outsiders can cause it) and its connection closed.  A
 * connection is freed when its last operation has completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "peers.h"

#define MAX_QUEUED	(64u << 20)	/* drop messages beyond this */
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	1000

static const struct gd_peer_ops *ops;
static uint64_t rejected_fwd;
static unsigned int n_conns;	/* allocated, closing ones included */
static struct gd_ratelimit rejections;

static void conn_release(struct gd_sock *s)
{
	struct gd_conn *c = gd_container_of(s, struct gd_conn, sock);

	gd_buf__free(&c->in);
	gd_buf__free(&c->out);
	gd_buf__free(&c->sending);
	free(c);
	n_conns--;
}

static void conn_close(struct gnomond *d, struct gd_conn *c, const char *why)
{
	struct gd_peer *p;

	if (c->sock.dead)
		return;
	if (c->outgoing) {
		p = &d->peers[c->peer];
		p->out = NULL;
		p->retry_tick = d->ticks + p->backoff;
		p->backoff *= 2;
		if (p->backoff > gd_peers__ms_to_ticks(d, BACKOFF_MAX_MS))
			p->backoff = gd_peers__ms_to_ticks(d, BACKOFF_MAX_MS);
		if (c->connected || !p->logged_down)
			gd_info("peer %s: %s", gd_peers__name(d, c->peer),
				why ? why : "connection closed");
		p->logged_down = true;
	} else if (c->accepted_slot >= 0) {
		d->accepted[c->accepted_slot] = NULL;
		if (why)
			gd_debug("accepted peer connection: %s", why);
	}
	gd_sock__close(&c->sock);
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);
static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags);
static void start_send(struct gnomond *d, struct gd_conn *c);

static void arm_recv(struct gnomond *d, struct gd_conn *c)
{
	size_t room = gd_hello__recv_room(c);
	struct io_uring_sqe *sqe;

	if (c->sock.dead || gd_sock__busy(&c->sock, GD_SOCK_RECV))
		return;
	if (gd_buf__reserve(&c->in, room)) {
		conn_close(d, c, "out of memory");
		return;
	}
	sqe = gd_sqe(d, &c->recv_op);
	if (!sqe)
		return;
	if (c->authed)
		room = c->in.cap - c->in.len;
	io_uring_prep_recv(sqe, c->sock.fd, c->in.p + c->in.len, room, 0);
	gd_sock__start(&c->sock, GD_SOCK_RECV);
}

static struct gd_conn *conn_new(int fd, bool outgoing)
{
	struct gd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	n_conns++;
	gd_sock__init(&c->sock, fd, conn_release);
	c->outgoing = outgoing;
	c->accepted_slot = -1;
	c->recv_op.fn = on_recv;
	c->send_op.fn = on_send;
	return c;
}

/* Where the core may send: a member, or one just removed while our
 * connection to it lasts (it learns that its removal committed, and gets
 * the answer to a removal it forwarded). */
static bool reachable(const struct gnomond *d, uint32_t id)
{
	return id >= 1 && id <= RAFT_MAX_MEMBERS && id != d->cfg.self;
}

const char *gd_peers__name(const struct gnomond *d, uint32_t id)
{
	if (id < 1 || id > RAFT_MAX_MEMBERS)
		return "";
	if (id == d->cfg.self)
		return d->cfg.name;
	if (d->members.s[id].name[0])
		return d->members.s[id].name;
	return d->peers[id].name;
}

/* A connection broke the rules: count, log (rate-limited), close. */
static void reject(struct gnomond *d, struct gd_conn *c, const char *why)
{
	char addr[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &c->addr.sin_addr, addr, sizeof(addr));
	gd_warn_ratelimited(&rejections, "rejected a peer connection from "
			    "%s: %s (bad MAC %llu, malformed %llu, bad "
			    "forwarding frames %llu so far)", addr, why,
			    (unsigned long long)d->codec.stats.bad_mac,
			    (unsigned long long)d->codec.stats.malformed,
			    (unsigned long long)rejected_fwd);
	conn_close(d, c, why);
}

/* One whole frame at buf: false if the connection must close. */
static bool handle_frame(struct gnomond *d, struct gd_conn *c,
			 const uint8_t *buf, size_t len)
{
	const char *why = NULL;
	bool handshake;
	struct fwd_frame f;
	struct raft_msg m;
	int rc;

	if (fwd_frame__is_forward(buf, len)) {
		rc = fwd_frame__decode(&d->codec.key, buf, len, &f, &why);
		if (!rc) {
			why = gd_hello__check_fwd(d, c, &f, &handshake);
			rc = why ? -EBADMSG : 0;
		}
		if (rc) {
			rejected_fwd++;
			reject(d, c, why);
			return false;
		}
		if (handshake) {
			start_send(d, c);	/* a JOIN's answer, if any */
			return true;
		}
		if (f.type == FWD_REQUEST)
			ops->forwarded(d, f.from, f.id, f.method, f.body,
				       f.len);
		else
			ops->result(d, f.id, f.status, f.body, f.len);
		return true;
	}
	rc = peer_codec__decode(&d->codec, buf, len, &m, &why);
	if (!rc && (why = gd_hello__check_raft(d, c, &m))) {
		rc = -EBADMSG;
		d->codec.stats.malformed++;
	}
	if (rc) {
		reject(d, c, why);
		return false;
	}
	/* What the follower acknowledged: is a learner in sync (a promote)? */
	if (m.type == RAFT_MSG_APPEND_RESP && !(m.flags & RAFT_MSGF_REJECT) &&
	    m.index > d->peers[m.from].match)
		d->peers[m.from].match = m.index;
	rc = raft__step(d->raft, &m, &d->now);
	if (rc == -EUCLEAN) {
		gd_err("the leader (member %u, term %llu) holds writes this "
		       "member acknowledged up to index %llu, but its log in "
		       "%s no longer has them, and recovery found no cut "
		       "record to explain it: the data directory was lost or "
		       "replaced by an older copy.  Restore it, or replace "
		       "the member: etcdctl member remove, member add, and "
		       "a start with --initial-cluster-state existing on an "
		       "empty data directory", m.from,
		       (unsigned long long)m.term,
		       (unsigned long long)m.index, d->cfg.data_dir);
		gd_fatal(d, "raft", rc);
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
	const char *why = NULL;

	if (c->outgoing) {
		/* The challenge, then our hello; nothing more. */
		int rc = gd_hello__take_challenge(d, c, &why);

		if (rc == -EAGAIN)
			return;
		if (rc)
			reject(d, c, why);
		else
			start_send(d, c);
		return;
	}
	while (!c->sock.dead && gd_buf__pending(&c->in) >= 12) {
		const uint8_t *p = c->in.p + c->in.off;
		size_t n = gd_buf__pending(&c->in), len = 0;

		if (gd_hello__frame_length(c, p, n, &len, &why)) {
			d->codec.stats.malformed++;
			reject(d, c, why);
			return;
		}
		if (n < len) {
			gd_buf__compact(&c->in);
			if (gd_buf__reserve(&c->in, len - n +
					    gd_hello__recv_room(c)))
				conn_close(d, c, "out of memory");
			return;
		}
		if (!handle_frame(d, c, p, len))
			return;
		gd_buf__consume(&c->in, len);
	}
}

static void on_recv(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, recv_op);

	(void)flags;
	if (!gd_sock__done(&c->sock, GD_SOCK_RECV))
		return;
	if (res <= 0) {
		conn_close(d, c, res ? strerror(-res) : "connection closed");
		return;
	}
	c->in.len += (size_t)res;
	/* Parsing may close c: hold it until parsing is over. */
	gd_sock__start(&c->sock, GD_SOCK_RECV);
	parse_frames(d, c);
	if (gd_sock__done(&c->sock, GD_SOCK_RECV))
		arm_recv(d, c);
}

static void start_send(struct gnomond *d, struct gd_conn *c)
{
	struct gd_buf t;
	struct io_uring_sqe *sqe;

	if (c->sock.dead || !c->connected ||
	    gd_sock__busy(&c->sock, GD_SOCK_SEND))
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
	io_uring_prep_send(sqe, c->sock.fd, c->sending.p + c->sending.off,
			   gd_buf__pending(&c->sending), MSG_NOSIGNAL);
	gd_sock__start(&c->sock, GD_SOCK_SEND);
}

static void on_send(struct gnomond *d, struct gd_op *op, int res,
		    uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, send_op);

	(void)flags;
	if (!gd_sock__done(&c->sock, GD_SOCK_SEND))
		return;
	if (res < 0) {
		conn_close(d, c, strerror(-res));
		return;
	}
	gd_buf__consume(&c->sending, (size_t)res);
	start_send(d, c);
}

static void on_connect(struct gnomond *d, struct gd_op *op, int res,
		       uint32_t flags)
{
	struct gd_conn *c = gd_container_of(op, struct gd_conn, connect_op);
	struct gd_peer *p;

	(void)flags;
	if (!gd_sock__done(&c->sock, GD_SOCK_CONNECT))
		return;
	if (res < 0) {
		conn_close(d, c, strerror(-res));
		return;
	}
	p = &d->peers[c->peer];
	c->connected = true;
	p->backoff = gd_peers__ms_to_ticks(d, BACKOFF_MIN_MS);
	p->logged_down = false;
	gd_info("connected to peer %s (%s)", gd_peers__name(d, c->peer),
		d->members.s[c->peer].peer.v[0].text);
	arm_recv(d, c);
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
	c->member_id = d->members.s[id].id;
	c->addr = d->members.s[id].peer.v[0].addr;
	c->connect_op.fn = on_connect;
	sqe = gd_sqe(d, &c->connect_op);
	if (!sqe) {
		gd_sock__close(&c->sock);
		return;
	}
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->addr,
			      sizeof(c->addr));
	gd_sock__start(&c->sock, GD_SOCK_CONNECT);
	p->out = c;
}

void gd_peers__tick(struct gnomond *d)
{
	if (d->stop)
		return;
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++)
		if (gd_peers__valid_member(d, id) && !d->peers[id].out &&
		    d->ticks >= d->peers[id].retry_tick)
			start_connect(d, id);
	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		struct gd_conn *c = d->accepted[i];

		if (c && gd_hello__overdue(d, c)) {
			d->codec.stats.malformed++;
			reject(d, c, "no hello in time");
		}
	}
}

void gd_peers__accepted(struct gnomond *d, int fd)
{
	socklen_t alen = sizeof(struct sockaddr_in);
	struct gd_conn *c;

	c = gd_hello__crowded(d);
	if (c) {
		d->codec.stats.malformed++;
		reject(d, c, "too many connections without a hello");
	}
	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		if (d->accepted[i])
			continue;
		c = conn_new(fd, false);
		if (!c)
			break;
		c->accepted_slot = i;
		c->connected = true;
		c->born = d->ticks;
		getpeername(fd, (struct sockaddr *)&c->addr, &alen);
		d->accepted[i] = c;
		if (gd_hello__challenge(c)) {
			conn_close(d, c, "no challenge");
			return;
		}
		arm_recv(d, c);
		start_send(d, c);
		return;
	}
	gd_warn_ratelimited(&rejections, "too many peer connections: "
			    "refusing one");
	close(fd);
}

static struct gd_buf *queue_for(struct gnomond *d, uint32_t peer,
				size_t size)
{
	struct gd_conn *c = d->peers[peer].out;

	if (!c || !c->challenged || c->sock.dead)
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

	if (!size || !reachable(d, m->to))
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

	if (!reachable(d, peer))
		return false;
	b = queue_for(d, peer, FWD_HEADER_SIZE + len + SHA256_DIGEST_SIZE);
	return b && !fwd_frame__encode(&d->codec.key, &f, b);
}

void gd_peers__flush(struct gnomond *d)
{
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++)
		if (d->peers[id].out)
			start_send(d, d->peers[id].out);
}

int gd_peers__init(struct gnomond *d, const uint8_t *key, size_t key_len,
		   const struct gd_peer_ops *o)
{
	ops = o;
	gd_hello__init(d);
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++) {
		d->peers[id].id = id;
		d->peers[id].backoff = gd_peers__ms_to_ticks(d, BACKOFF_MIN_MS);
	}
	return peer_codec__init(&d->codec, key, key_len);
}

void gd_peers__close(struct gnomond *d)
{
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++)
		if (d->peers[id].out)
			conn_close(d, d->peers[id].out, NULL);
	for (int i = 0; i < GD_MAX_ACCEPTED; i++)
		if (d->accepted[i])
			conn_close(d, d->accepted[i], NULL);
	peer_codec__free(&d->codec);
}

void gd_peers__list(const struct gnomond *d, struct gd_member_list *l)
{
	struct gd_member_said said[RAFT_MAX_MEMBERS + 1] = { 0 };

	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++) {
		said[id].name = d->peers[id].name;
		said[id].client_urls = d->peers[id].client_urls;
	}
	gd_members__list(&d->members, d->cfg.self, d->cfg.name,
			 &d->cfg.advertise_client, said, l);
}

void gd_peers__changed(struct gnomond *d, uint32_t id)
{
	struct gd_peer *p = &d->peers[id];
	bool member = gd_peers__valid_member(d, id);
	bool other;

	if (id < 1 || id > RAFT_MAX_MEMBERS || id == d->cfg.self)
		return;
	/*
	 * A removed member keeps our connection until it goes itself (it
	 * learns its removal).  A member whose peer URLs changed keeps an
	 * established one until it breaks (the member gets the answer to an
	 * update it forwarded; the next connection goes to the new URLs), as
	 * etcd keeps its streams; one still connecting is dropped.  A slot
	 * given to another member drops the former's.
	 */
	other = member && p->out && p->out->member_id != d->members.s[id].id;
	if (other || (member && p->out && !p->out->challenged))
		conn_close(d, p->out, other ? "its slot is another member's" :
			   "its peer URLs changed");
	p->retry_tick = d->ticks;
	p->backoff = gd_peers__ms_to_ticks(d, BACKOFF_MIN_MS);
	p->logged_down = false;
	p->match = 0;
	if (!member)
		p->name[0] = p->client_urls[0] = 0;
	/* Connections of the slot's former member (its id said so) go. */
	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		struct gd_conn *c = d->accepted[i];

		if (!c || !c->authed || c->peer != id ||
		    !gd_members__check_hello(&d->members, id, c->member_id))
			continue;
		p->name[0] = p->client_urls[0] = 0;
		conn_close(d, c, member ? "its slot is another member's" :
			   "removed from the cluster");
	}
}

unsigned int gd_peers__allocated(void)
{
	return n_conns;
}
