/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire format of Raft messages between gnomond members, authenticated
 * with the cluster key (HMAC-SHA256).  All integers little-endian.
 *
 *	off size field
 *	  0   4  magic "GNRP"
 *	  4   1  version (2)
 *	  5   1  type (enum raft_msg_type)
 *	  6   2  flags (RAFT_MSGF_*)
 *	  8   4  frame length, header to MAC inclusive
 *	 12   4  from
 *	 16   4  to
 *	 20   4  number of entries (APPEND only)
 *	 24   8  term
 *	 32   8  index
 *	 40   8  log_term
 *	 48   8  commit
 *	 56   8  lease_end
 *	 64   8  read_ctx
 *	 72   8  snapshot chunk length (SNAPSHOT only)
 *	 80   8  snapshot chunk offset (SNAPSHOT, SNAPSHOT_RESP)
 *	 88   8  snapshot total length (SNAPSHOT only)
 *	 96      entries: term u64, type u32, len u32, data[len] each; the
 *	         entry index is implied (index + 1 + i)
 *	         or, in a SNAPSHOT: voters u32, learners u32 (the config as
 *	         of the snapshot's index, struct raft_membership), then the
 *	         chunk's bytes
 *	end-32  32  HMAC-SHA256(cluster key, every byte before it)
 *
 * The stream between two members is a sequence of frames;
 * peer_frame__length() tells how long the frame at the head of a buffer is
 * as soon as 12 bytes are in.  peer_codec__decode() checks the framing,
 * then the MAC (constant time), then every field, and rejects anything
 * malformed with an errno and a reason string; it counts what it rejects.
 * Replays are not detected: Raft already tolerates duplicated messages.
 * Version 2 added the snapshot's config; members of different versions
 * refuse each other's frames (no rolling upgrade from version 1).
 */
#ifndef GNOMOND_PEER_CODEC_H
#define GNOMOND_PEER_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "../raft/raft.h"
#include "sha256.h"

#define PEER_MAGIC		0x50524e47U	/* "GNRP" little-endian */
#define PEER_VERSION		2
#define PEER_HEADER_SIZE	96
#define PEER_SNAP_CONF_SIZE	8	/* a SNAPSHOT's config, before the chunk */
#define PEER_MAC_SIZE		SHA256_DIGEST_SIZE
#define PEER_ENTRY_HEADER_SIZE	16
#define PEER_MAX_FRAME		(256U << 20)
#define PEER_MIN_KEY_SIZE	16

struct peer_stats {
	uint64_t decoded;
	uint64_t malformed;	/* framing or field errors */
	uint64_t bad_mac;	/* not signed with the cluster key */
};

struct peer_codec {
	struct hmac_sha256_key key;
	struct peer_stats stats;
	struct raft_entry *entries;	/* decode scratch, reused */
	size_t entries_cap;
};

/* -EINVAL if the key is shorter than PEER_MIN_KEY_SIZE. */
int peer_codec__init(struct peer_codec *c, const void *key, size_t len);
void peer_codec__free(struct peer_codec *c);

/* Bytes the encoding of m takes (0 if too large for a frame). */
size_t peer_msg__encoded_size(const struct raft_msg *m);
/* -ENOSPC if cap is too small, -EMSGSIZE if m exceeds PEER_MAX_FRAME. */
int peer_codec__encode(const struct peer_codec *c, const struct raft_msg *m,
		       uint8_t *buf, size_t cap, size_t *len);

/*
 * Length of the frame starting at buf: 0 and *frame_len set, -EAGAIN if
 * fewer than 12 bytes are there yet, -EBADMSG (bad magic or version) or
 * -EMSGSIZE (beyond PEER_MAX_FRAME): close the connection.
 */
int peer_frame__length(const uint8_t *buf, size_t n, size_t *frame_len);

/*
 * Decode exactly one frame of n bytes into m.  m's entries and snapshot
 * point into buf and into the codec's scratch, valid until the next decode.
 * Returns 0, -EBADMSG (malformed, *why says how) or -EACCES (bad MAC).
 */
int peer_codec__decode(struct peer_codec *c, const uint8_t *buf, size_t n,
		       struct raft_msg *m, const char **why);

#endif /* GNOMOND_PEER_CODEC_H */
