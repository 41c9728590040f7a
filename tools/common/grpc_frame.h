/* SPDX-License-Identifier: GPL-2.0 */
/*
 * grpc_frame: the one home of gRPC's length-prefixed message header, in
 * front of every message on a gRPC-over-HTTP/2 stream: a compressed-flag
 * byte (0: not compressed), then the message's length in 4 bytes, most
 * significant first; the message follows.  Header-only (like grow.h), so
 * that gnomond's API (tools/gnomond/api/), gnomon-fenced's client
 * (tools/fenced/fenced_grpc.c) and the API tests' client
 * (selftests/gnomond/api_h2client.h) write and read it without a link-line
 * change.
 */
#ifndef GNOMON_GRPC_FRAME_H
#define GNOMON_GRPC_FRAME_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define GRPC_FRAME_HDR	5	/* flag + 4-byte length */

/* Write the header of a message of @len bytes (at most UINT32_MAX). */
static inline void grpc_frame__put(uint8_t *p, uint8_t flag, size_t len)
{
	assert(len <= UINT32_MAX);
	p[0] = flag;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
}

/* The length in the header at @p; its flag byte in *@flag unless NULL. */
static inline uint32_t grpc_frame__get(const uint8_t *p, uint8_t *flag)
{
	if (flag)
		*flag = p[0];
	return (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 8 | p[4];
}

#endif
