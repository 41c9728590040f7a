/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A member-to-member connection (struct gd_conn), shared by the two files
 * that handle it: peers.c, its I/O (connect, accept, recv, send, queues,
 * backoff, close), and hello.c, its handshake (the challenge, the hello
 * naming slot and member id, a joining member's JOIN, and how much a
 * connection may send before and after it).  peers.c calls hello.c;
 * hello.c never calls peers.c: it reports what must happen (a reason to
 * reject the connection, output queued to send) and peers.c does it.
 */
#ifndef GNOMOND_DAEMON_PEERS_H
#define GNOMOND_DAEMON_PEERS_H

#include <netinet/in.h>

#include "../peer/peer_auth.h"
#include "daemon.h"
#include "forward.h"
#include "sock.h"

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

static inline uint32_t gd_peers__ms_to_ticks(const struct gnomond *d,
					    uint32_t ms)
{
	uint32_t t = ms / d->cfg.heartbeat_ms;

	return t ? t : 1;
}

/* A current member other than this one. */
static inline bool gd_peers__valid_member(const struct gnomond *d,
					 uint32_t id)
{
	return id >= 1 && id <= RAFT_MAX_MEMBERS && d->members.s[id].used &&
	       id != d->cfg.self;
}

/* hello.c: the handshake. */

/* The frame limits, from the configuration (--max-request-bytes). */
void gd_hello__init(const struct gnomond *d);
/* How much one recv may bring: little until the key is proven. */
size_t gd_hello__recv_room(const struct gd_conn *c);
/* An accepted connection's challenge, queued in c->out: 0 or -errno. */
int gd_hello__challenge(struct gd_conn *c);
/*
 * An outgoing connection's input: the challenge, then our hello, queued
 * in c->out (0); -EAGAIN while the challenge is incomplete; -EBADMSG and
 * why for anything else.
 */
int gd_hello__take_challenge(struct gnomond *d, struct gd_conn *c,
			     const char **why);
/* The length of the frame at p (12 bytes or more) if c may send it now;
 * else -EBADMSG or -EMSGSIZE and why. */
int gd_hello__frame_length(const struct gd_conn *c, const uint8_t *p,
			   size_t n, size_t *len, const char **why);
/*
 * A forwarding frame f on an accepted connection: NULL if c may send it
 * (*handshake: it was the hello or a JOIN, answered in c->out, and there
 * is nothing more to do with it), else why the connection must go.
 */
const char *gd_hello__check_fwd(struct gnomond *d, struct gd_conn *c,
				const struct fwd_frame *f, bool *handshake);
/* A Raft message: NULL if it comes from c's hello's member to us. */
const char *gd_hello__check_raft(const struct gnomond *d,
				 const struct gd_conn *c,
				 const struct raft_msg *m);
/* The connection to drop to make room for one more waiting for its hello
 * (the oldest once too many wait), or NULL. */
struct gd_conn *gd_hello__crowded(const struct gnomond *d);
/* An accepted connection whose hello is overdue. */
bool gd_hello__overdue(const struct gnomond *d, const struct gd_conn *c);

#endif
