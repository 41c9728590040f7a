// SPDX-License-Identifier: GPL-2.0
/*
 * The peer challenge, the hello's fixed part and the bound on Raft frames
 * (peer_auth.h): pure encoding and arithmetic, no I/O.
 */
#include <errno.h>
#include <string.h>

#include "le_bytes.h"
#include "peer_auth.h"
#include "peer_codec.h"

void peer_challenge__encode(const uint8_t nonce[PEER_NONCE_SIZE],
			    uint8_t out[PEER_CHALLENGE_SIZE])
{
	memset(out, 0, PEER_CHALLENGE_SIZE);
	le_put32(out, PEER_CHALLENGE_MAGIC);
	out[4] = PEER_CHALLENGE_VERSION;
	memcpy(out + 8, nonce, PEER_NONCE_SIZE);
}

int peer_challenge__decode(const uint8_t *buf, size_t n,
			   uint8_t nonce[PEER_NONCE_SIZE])
{
	static const uint8_t zero[3];

	if (n >= 4 && le_get32(buf) != PEER_CHALLENGE_MAGIC)
		return -EBADMSG;
	if (n < PEER_CHALLENGE_SIZE)
		return -EAGAIN;
	if (buf[4] != PEER_CHALLENGE_VERSION || memcmp(buf + 5, zero, 3))
		return -EBADMSG;
	memcpy(nonce, buf + 8, PEER_NONCE_SIZE);
	return 0;
}

void peer_hello__put(uint8_t *out, const uint8_t nonce[PEER_NONCE_SIZE],
		     uint64_t member_id)
{
	memcpy(out, nonce, PEER_NONCE_SIZE);
	le_put64(out + PEER_NONCE_SIZE, member_id);
}

int peer_hello__get(const uint8_t *body, size_t len,
		    const uint8_t nonce[PEER_NONCE_SIZE], uint64_t *member_id,
		    const uint8_t **text, size_t *text_len)
{
	if (len < PEER_HELLO_FIXED)
		return -EBADMSG;
	if (memcmp(body, nonce, PEER_NONCE_SIZE))
		return -EACCES;
	*member_id = le_get64(body + PEER_NONCE_SIZE);
	*text = body + PEER_HELLO_FIXED;
	*text_len = len - PEER_HELLO_FIXED;
	return 0;
}

size_t peer_raft_frame__limit(const struct raft_config *cfg, size_t max_entry)
{
	uint64_t payload = cfg->max_batch_bytes > max_entry ?
			   cfg->max_batch_bytes : max_entry;
	uint64_t append = (uint64_t)cfg->max_batch_entries *
			  PEER_ENTRY_HEADER_SIZE + payload;
	uint64_t body = append > cfg->max_snapshot_chunk ?
			append : cfg->max_snapshot_chunk;
	uint64_t limit = 2 * body + PEER_HEADER_SIZE + PEER_MAC_SIZE;

	return limit > PEER_MAX_FRAME ? PEER_MAX_FRAME : (size_t)limit;
}
