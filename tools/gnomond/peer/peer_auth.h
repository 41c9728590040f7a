/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a member proves the cluster key before its frames are buffered.
 *
 * The member that accepts a peer connection speaks first: a challenge of
 * PEER_CHALLENGE_SIZE bytes, not authenticated (it only carries a fresh
 * random nonce):
 *
 *	off size field
 *	  0   4  magic "GNCH"
 *	  4   1  version (1)
 *	  5   3  zero
 *	  8  16  nonce
 *
 * The connecting member answers with its hello, a forwarding frame
 * (daemon/forward.h, type HELLO, from its slot) under the cluster key's
 * MAC, whose body starts with
 *
 *	off size field
 *	  0  16  the challenge's nonce
 *	 16   8  the sender's etcd member id (little-endian)
 *	 24      free text (daemon/peers.c: "name\nclient-url,...")
 *
 * It is at most PEER_HELLO_MAX bytes, so a stranger can make the acceptor
 * hold no more than that.  Only after a good hello does the acceptor take
 * other frames from the connection, only from the slot that said it, and
 * then only as long as a member can legitimately send
 * (peer_raft_frame__limit()).  A hello copied from another connection
 * carries that connection's nonce and is refused.  The member id matters
 * because slots are reused: a member removed while it was cut off, still
 * running, says hello under a slot that may now be a newer member's, and
 * the acceptor refuses a hello whose id is not its slot's current member
 * (members.h, gd_members__check_hello()).  The connecting member takes
 * nothing but the challenge from the acceptor.
 */
#ifndef GNOMOND_PEER_AUTH_H
#define GNOMOND_PEER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "../raft/raft.h"

#define PEER_CHALLENGE_MAGIC	0x48434e47U	/* "GNCH" little-endian */
#define PEER_CHALLENGE_VERSION	1
#define PEER_NONCE_SIZE		16
#define PEER_CHALLENGE_SIZE	(8 + PEER_NONCE_SIZE)
#define PEER_HELLO_MAX		4096
#define PEER_HELLO_FIXED	(PEER_NONCE_SIZE + 8)	/* nonce, member id */

void peer_challenge__encode(const uint8_t nonce[PEER_NONCE_SIZE],
			    uint8_t out[PEER_CHALLENGE_SIZE]);
/* 0 with the nonce, -EAGAIN if fewer than PEER_CHALLENGE_SIZE bytes are
 * in, -EBADMSG if they are not a challenge. */
int peer_challenge__decode(const uint8_t *buf, size_t n,
			   uint8_t nonce[PEER_NONCE_SIZE]);

/* The hello body's fixed part into out (PEER_HELLO_FIXED bytes). */
void peer_hello__put(uint8_t *out, const uint8_t nonce[PEER_NONCE_SIZE],
		     uint64_t member_id);
/* A hello body over nonce: 0 with the member id and the text after it,
 * -EBADMSG if too short, -EACCES if over another nonce. */
int peer_hello__get(const uint8_t *body, size_t len,
		    const uint8_t nonce[PEER_NONCE_SIZE], uint64_t *member_id,
		    const uint8_t **text, size_t *text_len);

/*
 * The longest Raft frame a member sends under cfg when no log entry is
 * longer than max_entry: an append of max_batch_entries whose payload is
 * max_batch_bytes or one entry, or a snapshot chunk; doubled, for room.
 */
size_t peer_raft_frame__limit(const struct raft_config *cfg, size_t max_entry);

#endif /* GNOMOND_PEER_AUTH_H */
