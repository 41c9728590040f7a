// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C, table driven (one byte at a time), the table built at load time;
 * on x86-64 CPUs with SSE4.2 (checked once with CPUID) the CRC32
 * instruction does 8 bytes at a time instead, same format.  gnomond's
 * leader spent 7.5% of its time in the table loop (every WAL record, every
 * snapshot).
 */
#include <stdbool.h>
#include <string.h>
#include "crc32c.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

static bool have_sse42;

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		c = _mm_crc32_u64(c, v);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return ~crc;
}
#endif

static uint32_t table[256];

__attribute__((constructor)) static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		table[i] = c;
	}
#if defined(__x86_64__)
	{
		unsigned int a, b, c, d;

		have_sse42 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
	}
#endif
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

#if defined(__x86_64__)
	if (have_sse42)
		return crc32c_sse42(crc, p, len);
#endif
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
