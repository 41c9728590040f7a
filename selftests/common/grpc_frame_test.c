// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tools/common/grpc_frame.h, the one gRPC length-prefixed
 * message header: the exact bytes of a header (flag, then the length most
 * significant byte first), and lengths read back across every byte.
 */
#include <stdint.h>
#include <string.h>

#include "../ktap.h"
#include "../../tools/common/grpc_frame.h"

KTAP_TEST(grpc_frame_bytes)
{
	uint8_t p[GRPC_FRAME_HDR + 1];
	const uint8_t want[GRPC_FRAME_HDR] = { 1, 0x12, 0x34, 0x56, 0x78 };

	memset(p, 0xee, sizeof(p));
	grpc_frame__put(p, 1, 0x12345678);
	KTAP_EXPECT(t, !memcmp(p, want, sizeof(want)),
		    "%02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3], p[4]);
	KTAP_EXPECT(t, p[GRPC_FRAME_HDR] == 0xee, "wrote past the header");
}

KTAP_TEST(grpc_frame_round_trip)
{
	const uint32_t lens[] = { 0, 1, 0xff, 0x100, 0xffff, 0x10000,
				  0xffffff, 0x1000000, 0x7fffffff, UINT32_MAX };
	uint8_t p[GRPC_FRAME_HDR], flag;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		grpc_frame__put(p, (uint8_t)i, lens[i]);
		KTAP_EXPECT(t, grpc_frame__get(p, &flag) == lens[i] && flag == i,
			    "length %u flag %zu: read %u flag %u", lens[i], i,
			    grpc_frame__get(p, NULL), flag);
	}
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
