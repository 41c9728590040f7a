/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding frames: what members say to each other besides Raft messages,
 * on the same authenticated streams.  A follower forwards a client's write
 * or linearizable read to the leader and relays the leader's answer, as
 * etcd followers do, so a client may talk to any member.  Pure encoding,
 * no I/O.  All integers little-endian:
 *
 *	off size field
 *	  0   4  magic "GNFW"
 *	  4   1  version (1)
 *	  5   1  type (enum fwd_type)
 *	  6   2  zero
 *	  8   4  frame length, header to MAC inclusive
 *	 12   4  from (member id)
 *	 16   4  method (enum api_method; REQUEST)
 *	 20   4  status (enum etcd_err; RESULT)
 *	 24   8  request id (chosen by the forwarding member)
 *	 32      body: REQUEST: a write's log command, or a RangeRequest;
 *	         RESULT: the leader's applied index when it answered (8
 *	         bytes), then the packed response (status ETCD_OK);
 *	         HELLO: the challenge's nonce, the sender's member id
 *	         (u64), "name\nclient-url,..." (peer_auth.h)
 *	         JOIN: the challenge's nonce, the joiner's nonce (from 0)
 *	         MEMBERS: the joiner's nonce, the member table (members.h)
 *	end-32 32 HMAC-SHA256(cluster key, every byte before it)
 *
 * The first 4 bytes tell a forwarding frame ("GNFW") from a Raft frame
 * ("GNRP", peer_codec.h).
 *
 * A member joining a running cluster does not know its slot yet: it
 * answers a challenge with JOIN instead of HELLO, and the member it asked
 * sends back MEMBERS on the same connection, its table as applied, with
 * the joiner's own nonce (so that an old answer cannot be replayed to it);
 * the joiner finds its slot by its peer URL (join.c).
 *
 * The forwarding member holds a RESULT until it has applied the index it
 * carries, as an etcd member answers a write only once it has applied it:
 * a client that reads from the member it wrote through then sees its write
 * even with a serializable read.  Version 2 added that index; version 3
 * the sender's member id in the HELLO, so that members of different
 * versions refuse each other's frames as of another version, not with a
 * misleading reason about member ids.
 */
#ifndef GNOMOND_DAEMON_FORWARD_H
#define GNOMOND_DAEMON_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "../peer/sha256.h"
#include "gd_buf.h"

#define FWD_MAGIC	0x57464e47U	/* "GNFW" little-endian */
#define FWD_VERSION	3
#define FWD_RESULT_INDEX_SIZE 8
#define FWD_HEADER_SIZE	32
#define FWD_MAX_FRAME	(256U << 20)

enum fwd_type {
	FWD_HELLO	= 1,
	FWD_REQUEST	= 2,
	FWD_RESULT	= 3,
	FWD_JOIN	= 4,
	FWD_MEMBERS	= 5,
	FWD_TYPE_MAX	= 5,
};

struct fwd_frame {
	uint32_t type;
	uint32_t from;
	uint32_t method;
	int32_t status;
	uint64_t id;
	const uint8_t *body;
	size_t len;
};

/* Does the frame at buf (4 bytes or more) start with FWD_MAGIC? */
int fwd_frame__is_forward(const uint8_t *buf, size_t n);
/* As peer_frame__length(): 0, -EAGAIN (need 12 bytes), -EBADMSG, -EMSGSIZE. */
int fwd_frame__length(const uint8_t *buf, size_t n, size_t *frame_len);
/* Append the frame to out: 0, -EMSGSIZE or -ENOMEM. */
int fwd_frame__encode(const struct hmac_sha256_key *key,
		      const struct fwd_frame *f, struct gd_buf *out);
/* One whole frame: 0, -EBADMSG (*why) or -EACCES (bad MAC). */
int fwd_frame__decode(const struct hmac_sha256_key *key, const uint8_t *buf,
		      size_t n, struct fwd_frame *f, const char **why);

#endif /* GNOMOND_DAEMON_FORWARD_H */
