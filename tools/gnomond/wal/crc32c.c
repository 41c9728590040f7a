// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C, table driven (one byte at a time), the table built at load time.
 * Fast enough for the WAL next to an fsync; the io_uring driver may swap in
 * the SSE4.2 instruction later without changing the format.
 */
#include "crc32c.h"

static uint32_t table[256];

__attribute__((constructor)) static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		table[i] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
