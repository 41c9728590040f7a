// SPDX-License-Identifier: GPL-2.0
/*
 * Member-to-member TCP.  Each member keeps one outgoing connection to every
 * other member and sends only on it (Raft messages, forwarded requests and
 * their answers); it receives on every connection, outgoing or accepted.
 * A connection that fails is closed and retried with exponential backoff
 * (50 ms to 1 s) from the tick; messages for a member without a connection
 * are dropped, which Raft tolerates.
 *
 * Nothing of size is buffered from a connection before it has proven the
 * cluster key (peer/peer_auth.h): an accepted connection gets a challenge
 * at once and takes nothing but a hello of at most PEER_HELLO_MAX bytes
 * MACed over the challenge's nonce and naming the sender's slot and member
 * id, which must be the slot's current member (slots are reused: a member
 * removed while cut off must not pass for the one added in its place);
 * after it, frames only from that slot and only as long as a member sends
 * them (Raft: peer_raft_frame__limit(); forwarded requests:
 * --max-request-bytes + 64 KiB; answers: FWD_MAX_FRAME, as a Range's can
 * be).  At most PEER_MAX_UNAUTH accepted connections wait for their hello
 * (a new one takes the place of the oldest) and each waits at most
 * PEER_HELLO_TIMEOUT_MS.  An outgoing connection sends its hello when the
 * challenge comes, and takes nothing else.  A member joining the cluster
 * answers a challenge with a JOIN instead, and gets the member table back
 * on that connection (forward.h, join.c).  Members come and go with the
 * table: gd_peers__changed() connects to an added member, to one with
 * new peer URLs once the established connection breaks, and drops a
 * removed one.
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
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../peer/peer_auth.h"
#include "daemon.h"
#include "forward.h"
#include "log.h"
#include "sock.h"

#define RECV_CHUNK	(256 * 1024)
#define MAX_QUEUED	(64u << 20)	/* drop messages beyond this */
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	1000
#define PEER_MAX_UNAUTH	8
#define PEER_HELLO_TIMEOUT_MS 5000
#define OUTGOING_RECV	64		/* only the challenge comes back */
/* A forwarded request beyond the largest client request. */
#define FWD_REQUEST_SLACK (64u << 10)

struct gd_conn {
	struct gd_sock sock;
	bool outgoing, connected;
	bool authed;			/* accepted: its hello was good */
	bool challenged;		/* outgoing: the challenge came */
	uint8_t nonce[PEER_NONCE_SIZE];	/* accepted: the challenge's */
	uint64_t born;			/* ticks */
	uint32_t peer;			/* accepted: 0 until its hello */
	uint64_t member_id;		/* accepted: its hello's; outgoing:
					 * the member it goes to */
	int accepted_slot;		/* -1 for outgoing */
	struct gd_op recv_op, send_op, connect_op;
	struct gd_buf in, out, sending;
	struct sockaddr_in addr;
};

static const struct gd_peer_ops *ops;
static uint64_t rejected_fwd;
static unsigned int n_conns;	/* allocated, closing ones included */
static size_t raft_limit, fwd_request_limit;
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

static uint32_t ms_to_ticks(const struct gnomond *d, uint32_t ms)
{
	uint32_t t = ms / d->cfg.heartbeat_ms;

	return t ? t : 1;
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
		if (p->backoff > ms_to_ticks(d, BACKOFF_MAX_MS))
			p->backoff = ms_to_ticks(d, BACKOFF_MAX_MS);
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
static void send_hello(struct gnomond *d, struct gd_conn *c,
		       const uint8_t nonce[PEER_NONCE_SIZE]);

/* How much one recv may bring: little until the key is proven. */
static size_t recv_room(const struct gd_conn *c)
{
	if (c->outgoing)
		return OUTGOING_RECV;
	return c->authed ? RECV_CHUNK : PEER_HELLO_MAX;
}

static void arm_recv(struct gnomond *d, struct gd_conn *c)
{
	size_t room = recv_room(c);
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

static bool valid_member(const struct gnomond *d, uint32_t id)
{
	return id >= 1 && id <= RAFT_MAX_MEMBERS && d->members.s[id].used &&
	       id != d->cfg.self;
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

/* The hello (peer_auth.h) as slot f->from: the challenge's nonce, the
 * sender's member id, "name\nclient-urls".  Slots are reused: the id must
 * be the slot's current member's, or a removed member that never learnt
 * it (cut off meanwhile) would be taken for the one that has its slot. */
static const char *on_hello(struct gnomond *d, struct gd_conn *c,
			    const struct fwd_frame *f)
{
	static char why[128];
	struct gd_peer *p = &d->peers[f->from];
	const uint8_t *body, *nl;
	uint64_t id;
	size_t n, len;
	int rc;

	if (c->outgoing || c->authed)
		return "a second hello";
	rc = peer_hello__get(f->body, f->len, c->nonce, &id, &body, &len);
	if (rc == -EBADMSG)
		return "a hello without a member id";
	if (rc)
		return "a hello for another connection's challenge";
	rc = gd_members__check_hello(&d->members, f->from, id);
	if (rc) {
		snprintf(why, sizeof(why), "a hello from member %llx as slot "
			 "%u, which is member %llx's", (unsigned long long)id,
			 f->from, (unsigned long long)d->members.s[f->from].id);
		return why;
	}
	c->authed = true;
	c->member_id = id;
	nl = memchr(body, '\n', len);
	if (!nl)
		return NULL;
	n = (size_t)(nl - body);
	if (n >= sizeof(p->name))
		n = sizeof(p->name) - 1;
	memcpy(p->name, body, n);
	p->name[n] = 0;
	n = len - (size_t)(nl + 1 - body);
	if (n >= sizeof(p->client_urls))
		n = sizeof(p->client_urls) - 1;
	memcpy(p->client_urls, nl + 1, n);
	p->client_urls[n] = 0;
	return NULL;
}

/* A joining member's JOIN (forward.h): the challenge's nonce and its
 * own; answered with this member's table on the same connection. */
static const char *on_join(struct gnomond *d, struct gd_conn *c,
			   const struct fwd_frame *f)
{
	struct gd_buf body = { 0 };
	struct fwd_frame m = { .type = FWD_MEMBERS, .from = d->cfg.self };
	int rc;

	if (c->outgoing || c->authed)
		return "a join after the hello";
	if (f->len != 2 * PEER_NONCE_SIZE ||
	    memcmp(f->body, c->nonce, PEER_NONCE_SIZE))
		return "a join for another connection's challenge";
	rc = gd_buf__append(&body, f->body + PEER_NONCE_SIZE, PEER_NONCE_SIZE);
	if (!rc)
		rc = gd_members__encode(&d->members, &body);
	m.body = body.p;
	m.len = body.len;
	if (!rc)
		rc = fwd_frame__encode(&d->codec.key, &m, &c->out);
	gd_buf__free(&body);
	if (rc)
		return "out of memory";
	gd_info("a joining member asked for the member table");
	start_send(d, c);
	return NULL;
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
		if (!rc && f.type == FWD_JOIN && !f.from) {
			why = on_join(d, c, &f);
			if (!why)
				return true;
			rc = -EACCES;
		}
		if (!rc && f.type > FWD_RESULT) {
			rc = -EBADMSG;
			why = "a frame a member does not send";
		}
		if (!rc && !valid_member(d, f.from)) {
			rc = -EBADMSG;
			why = "sender is not a member";
		}
		if (!rc && f.type == FWD_HELLO) {
			why = on_hello(d, c, &f);
			rc = why ? -EACCES : 0;
		} else if (!rc && f.from != c->peer) {
			rc = -EBADMSG;
			why = "a frame from another member than its hello's";
		}
		if (rc) {
			rejected_fwd++;
			reject(d, c, why);
			return false;
		}
		c->peer = f.from;
		if (f.type == FWD_HELLO)
			return true;
		if (f.type == FWD_REQUEST)
			ops->forwarded(d, f.from, f.id, f.method, f.body,
				       f.len);
		else
			ops->result(d, f.id, f.status, f.body, f.len);
		return true;
	}
	rc = peer_codec__decode(&d->codec, buf, len, &m, &why);
	if (!rc && (!valid_member(d, m.from) || m.to != d->cfg.self ||
		    m.from != c->peer)) {
		rc = -EBADMSG;
		why = "not from its hello's member to this member";
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

/* The length of the frame at p (12 bytes or more) if c may send it;
 * else -EBADMSG or -EMSGSIZE and why. */
static int frame_length(const struct gd_conn *c, const uint8_t *p, size_t n,
			size_t *len, const char **why)
{
	bool fwd = fwd_frame__is_forward(p, n);
	int rc = fwd ? fwd_frame__length(p, n, len) :
		       peer_frame__length(p, n, len);
	size_t limit = FWD_MAX_FRAME;	/* an answer: as long as a Range's */

	if (rc) {
		*why = rc == -EMSGSIZE ? "frame too large" :
		       "bad magic, version or length";
		return rc;
	}
	if (fwd && (p[5] == FWD_HELLO || p[5] == FWD_JOIN))
		limit = PEER_HELLO_MAX;
	else if (!c->authed) {
		*why = "a frame before the hello";
		return -EBADMSG;
	} else if (!fwd)
		limit = raft_limit;
	else if (p[5] == FWD_REQUEST)
		limit = fwd_request_limit;
	if (*len > limit) {
		*why = "a frame longer than a member sends";
		return -EMSGSIZE;
	}
	return 0;
}

/* An outgoing connection: the challenge, then our hello; nothing more. */
static void parse_challenge(struct gnomond *d, struct gd_conn *c)
{
	uint8_t nonce[PEER_NONCE_SIZE];
	int rc = -EBADMSG;

	if (!c->challenged)
		rc = peer_challenge__decode(c->in.p + c->in.off,
					    gd_buf__pending(&c->in), nonce);
	if (rc == -EAGAIN)
		return;
	if (!rc)
		gd_buf__consume(&c->in, PEER_CHALLENGE_SIZE);
	if (rc || gd_buf__pending(&c->in)) {
		d->codec.stats.malformed++;
		reject(d, c, c->challenged || !rc ? "bytes after the challenge" :
		       "not a challenge");
		return;
	}
	c->challenged = true;
	send_hello(d, c, nonce);
	start_send(d, c);
}

static void parse_frames(struct gnomond *d, struct gd_conn *c)
{
	const char *why = NULL;

	if (c->outgoing) {
		parse_challenge(d, c);
		return;
	}
	while (!c->sock.dead && gd_buf__pending(&c->in) >= 12) {
		const uint8_t *p = c->in.p + c->in.off;
		size_t n = gd_buf__pending(&c->in), len = 0;

		if (frame_length(c, p, n, &len, &why)) {
			d->codec.stats.malformed++;
			reject(d, c, why);
			return;
		}
		if (n < len) {
			gd_buf__compact(&c->in);
			if (gd_buf__reserve(&c->in, len - n + recv_room(c)))
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

static void send_hello(struct gnomond *d, struct gd_conn *c,
		       const uint8_t nonce[PEER_NONCE_SIZE])
{
	char body[PEER_HELLO_FIXED + GD_NAME_LEN + GD_MAX_URLS * GD_URL_LEN + 8];
	const struct gd_url_list *l = &d->cfg.advertise_client;
	size_t n = PEER_HELLO_FIXED;
	struct fwd_frame f = {
		.type = FWD_HELLO, .from = d->cfg.self, .body = (uint8_t *)body,
	};

	peer_hello__put((uint8_t *)body, nonce, d->self_id);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\n", d->cfg.name);
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
	if (!gd_sock__done(&c->sock, GD_SOCK_CONNECT))
		return;
	if (res < 0) {
		conn_close(d, c, strerror(-res));
		return;
	}
	p = &d->peers[c->peer];
	c->connected = true;
	p->backoff = ms_to_ticks(d, BACKOFF_MIN_MS);
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
	uint64_t hello_ticks = ms_to_ticks(d, PEER_HELLO_TIMEOUT_MS);

	if (d->stop)
		return;
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++)
		if (valid_member(d, id) && !d->peers[id].out &&
		    d->ticks >= d->peers[id].retry_tick)
			start_connect(d, id);
	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		struct gd_conn *c = d->accepted[i];

		if (c && !c->authed && d->ticks - c->born >= hello_ticks) {
			d->codec.stats.malformed++;
			reject(d, c, "no hello in time");
		}
	}
}

/* Room for one more connection waiting for its hello: the oldest such
 * goes if PEER_MAX_UNAUTH are waiting. */
static void make_room(struct gnomond *d)
{
	struct gd_conn *oldest = NULL;
	unsigned int waiting = 0;

	for (int i = 0; i < GD_MAX_ACCEPTED; i++) {
		struct gd_conn *c = d->accepted[i];

		if (!c || c->authed)
			continue;
		waiting++;
		if (!oldest || c->born < oldest->born)
			oldest = c;
	}
	if (waiting >= PEER_MAX_UNAUTH) {
		d->codec.stats.malformed++;
		reject(d, oldest, "too many connections without a hello");
	}
}

static int send_challenge(struct gd_conn *c)
{
	uint8_t msg[PEER_CHALLENGE_SIZE];

	if (getrandom(c->nonce, sizeof(c->nonce), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(c->nonce))
		return -EAGAIN;
	peer_challenge__encode(c->nonce, msg);
	return gd_buf__append(&c->out, msg, sizeof(msg));
}

void gd_peers__accepted(struct gnomond *d, int fd)
{
	socklen_t alen = sizeof(struct sockaddr_in);
	struct gd_conn *c;

	make_room(d);
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
		if (send_challenge(c)) {
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
	size_t max_request = d->cfg.max_request_bytes ?
			     d->cfg.max_request_bytes :
			     API_DEFAULT_MAX_REQUEST_BYTES;
	struct raft_config rc;

	ops = o;
	/* The largest entry: a request and its command's framing. */
	raft_config__defaults(&rc, 1, RAFT_MAX_MEMBERS);
	raft_limit = peer_raft_frame__limit(&rc, max_request +
					    FWD_REQUEST_SLACK);
	fwd_request_limit = FWD_HEADER_SIZE + max_request + FWD_REQUEST_SLACK +
			    SHA256_DIGEST_SIZE;
	for (uint32_t id = 1; id <= RAFT_MAX_MEMBERS; id++) {
		d->peers[id].id = id;
		d->peers[id].backoff = ms_to_ticks(d, BACKOFF_MIN_MS);
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
	bool member = valid_member(d, id);
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
	p->backoff = ms_to_ticks(d, BACKOFF_MIN_MS);
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
