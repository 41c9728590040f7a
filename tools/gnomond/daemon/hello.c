// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake of a member-to-member connection (peers.h): nothing of
 * size is buffered from a connection before it has proven the cluster key
 * (peer/peer_auth.h).  An accepted connection gets a challenge at once and
 * takes nothing but a hello of at most PEER_HELLO_MAX bytes MACed over the
 * challenge's nonce and naming the sender's slot and member id, which must
 * be the slot's current member (slots are reused: a member removed while
 * cut off must not pass for the one added in its place); after it, frames
 * only from that slot and only as long as a member sends them (Raft:
 * peer_raft_frame__limit(); forwarded requests: --max-request-bytes + 64
 * KiB; answers: FWD_MAX_FRAME, as a Range's can be).  At most
 * PEER_MAX_UNAUTH accepted connections wait for their hello (a new one
 * takes the place of the oldest) and each waits at most
 * PEER_HELLO_TIMEOUT_MS.  An outgoing connection sends its hello when the
 * challenge comes, and takes nothing else.  A member joining the cluster
 * answers a challenge with a JOIN instead, and gets the member table back
 * on that connection (forward.h, join.c).
 *
 * This file decides and peers.c acts: every check returns why the
 * connection must go (peers.c counts, logs and closes it), and what the
 * handshake sends is queued in the connection's output, which peers.c
 * sends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "peers.h"

#define RECV_CHUNK	(256 * 1024)
#define PEER_MAX_UNAUTH	8
#define PEER_HELLO_TIMEOUT_MS 5000
#define OUTGOING_RECV	64		/* only the challenge comes back */
/* A forwarded request beyond the largest client request. */
#define FWD_REQUEST_SLACK (64u << 10)

static size_t raft_limit, fwd_request_limit;

void gd_hello__init(const struct gnomond *d)
{
	size_t max_request = d->cfg.max_request_bytes ?
			     d->cfg.max_request_bytes :
			     API_DEFAULT_MAX_REQUEST_BYTES;
	struct raft_config rc;

	/* The largest entry: a request and its command's framing. */
	raft_config__defaults(&rc, 1, RAFT_MAX_MEMBERS);
	raft_limit = peer_raft_frame__limit(&rc, max_request +
					    FWD_REQUEST_SLACK);
	fwd_request_limit = FWD_HEADER_SIZE + max_request + FWD_REQUEST_SLACK +
			    SHA256_DIGEST_SIZE;
}

size_t gd_hello__recv_room(const struct gd_conn *c)
{
	if (c->outgoing)
		return OUTGOING_RECV;
	return c->authed ? RECV_CHUNK : PEER_HELLO_MAX;
}

int gd_hello__challenge(struct gd_conn *c)
{
	uint8_t msg[PEER_CHALLENGE_SIZE];

	if (getrandom(c->nonce, sizeof(c->nonce), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(c->nonce))
		return -EAGAIN;
	peer_challenge__encode(c->nonce, msg);
	return gd_buf__append(&c->out, msg, sizeof(msg));
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

int gd_hello__take_challenge(struct gnomond *d, struct gd_conn *c,
			     const char **why)
{
	uint8_t nonce[PEER_NONCE_SIZE];
	int rc = -EBADMSG;

	if (!c->challenged)
		rc = peer_challenge__decode(c->in.p + c->in.off,
					    gd_buf__pending(&c->in), nonce);
	if (rc == -EAGAIN)
		return rc;
	if (!rc)
		gd_buf__consume(&c->in, PEER_CHALLENGE_SIZE);
	if (rc || gd_buf__pending(&c->in)) {
		d->codec.stats.malformed++;
		*why = c->challenged || !rc ? "bytes after the challenge" :
		       "not a challenge";
		return -EBADMSG;
	}
	c->challenged = true;
	send_hello(d, c, nonce);
	return 0;
}

int gd_hello__frame_length(const struct gd_conn *c, const uint8_t *p,
			   size_t n, size_t *len, const char **why)
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
	return NULL;
}

const char *gd_hello__check_fwd(struct gnomond *d, struct gd_conn *c,
				const struct fwd_frame *f, bool *handshake)
{
	const char *why;

	*handshake = f->type == FWD_HELLO || (f->type == FWD_JOIN && !f->from);
	if (f->type == FWD_JOIN && !f->from)
		return on_join(d, c, f);
	if (f->type > FWD_RESULT)
		return "a frame a member does not send";
	if (!gd_peers__valid_member(d, f->from))
		return "sender is not a member";
	if (f->type == FWD_HELLO) {
		why = on_hello(d, c, f);
		if (why)
			return why;
	} else if (f->from != c->peer) {
		return "a frame from another member than its hello's";
	}
	c->peer = f->from;
	return NULL;
}

const char *gd_hello__check_raft(const struct gnomond *d,
				 const struct gd_conn *c,
				 const struct raft_msg *m)
{
	if (!gd_peers__valid_member(d, m->from) || m->to != d->cfg.self ||
	    m->from != c->peer)
		return "not from its hello's member to this member";
	return NULL;
}

struct gd_conn *gd_hello__crowded(const struct gnomond *d)
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
	return waiting >= PEER_MAX_UNAUTH ? oldest : NULL;
}

bool gd_hello__overdue(const struct gnomond *d, const struct gd_conn *c)
{
	return !c->authed && d->ticks - c->born >=
	       gd_peers__ms_to_ticks(d, PEER_HELLO_TIMEOUT_MS);
}
