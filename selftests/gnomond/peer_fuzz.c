// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the peer-message decoder.  Each input is tried
 * twice: as it is (framing and MAC checks: an outsider's bytes), and with a
 * valid header prefix, length and MAC patched in (an insider's bytes: the
 * field parser).  Whatever decodes must re-encode to the same frame.
 * The input is also read as the challenge that opens a peer connection.
 */
#include <stdlib.h>
#include <string.h>
#include "../../tools/gnomond/peer/peer_auth.h"
#include "../../tools/gnomond/peer/peer_codec.h"

static struct peer_codec codec;

static void check_round_trip(const uint8_t *frame, size_t len,
			     const struct raft_msg *m)
{
	uint8_t *again = malloc(len);
	size_t out = 0;

	if (!again)
		return;
	if (peer_codec__encode(&codec, m, again, len, &out) || out != len ||
	    memcmp(again, frame, len))
		abort();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t nonce[PEER_NONCE_SIZE];
	struct raft_msg m;
	uint8_t *buf;
	size_t flen;

	if (!codec.entries_cap && peer_codec__init(&codec,
			"fuzzing cluster key, 32 bytes..", 31))
		abort();
	peer_frame__length(data, size, &flen);
	peer_challenge__decode(data, size, nonce);
	if (!peer_codec__decode(&codec, data, size, &m, NULL))
		check_round_trip(data, size, &m);
	if (size < PEER_HEADER_SIZE + PEER_MAC_SIZE || size > PEER_MAX_FRAME)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memcpy(buf, "GNRP", 4);
	buf[4] = PEER_VERSION;
	for (int i = 0; i < 4; i++)
		buf[8 + i] = (uint8_t)(size >> (8 * i));
	hmac_sha256__mac(&codec.key, buf, size - PEER_MAC_SIZE,
			 buf + size - PEER_MAC_SIZE);
	if (!peer_codec__decode(&codec, buf, size, &m, NULL))
		check_round_trip(buf, size, &m);
	free(buf);
	return 0;
}
