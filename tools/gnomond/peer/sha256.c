// SPDX-License-Identifier: GPL-2.0
/*
 * SHA-256 as FIPS 180-4 specifies it: 64-byte blocks, eight 32-bit working
 * variables, 64 rounds, big-endian length padding.  HMAC per RFC 2104: the
 * key (hashed first if longer than a block) XORed with 0x36 and 0x5c pads.
 * The padded key states are precomputed once per key, so a MAC costs the
 * message's blocks plus two.  Test vectors: selftests/gnomond/peer_test.c.
 *
 * Every peer message is MACed, so on x86-64 CPUs with the SHA extensions
 * (checked once with CPUID) the blocks go through SHA-NI instead of the
 * portable rounds: gnomond's leader spent a quarter of its time in them.
 * With SHA-NI, a 128-bit register holds four message words or half of the
 * state, as (A, B, E, F) and (C, D, G, H); each SHA256RNDS2 does two rounds
 * and SHA256MSG1/MSG2 extend the message schedule four words at a time.
 */
#include <stdbool.h>
#include <string.h>
#include "sha256.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_HAVE_NI 1
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#ifdef SHA256_HAVE_NI
__attribute__((target("sha,ssse3,sse4.1")))
static void compress_ni(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
					     0x0405060700010203ULL);
	__m128i abef, cdgh, t, m[4];

	/* (A, B, C, D), (E, F, G, H) -> (F, E, B, A), (H, G, D, C): lane 0
	 * first, as SHA256RNDS2 wants them. */
	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]),
				 0x1b);
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);
	for (; nblocks; nblocks--, p += SHA256_BLOCK_SIZE) {
		__m128i abef0 = abef, cdgh0 = cdgh;

		for (int i = 0; i < 16; i++) {
			__m128i *w = &m[i & 3];

			if (i < 4) {
				*w = _mm_shuffle_epi8(_mm_loadu_si128(
					(const __m128i *)(p + 16 * i)), bswap);
			} else {
				/* w[t-16] + s0(w[t-15]) + w[t-7] + s1(w[t-2]) */
				t = _mm_sha256msg1_epu32(*w, m[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(
					m[(i + 3) & 3], m[(i + 2) & 3], 4));
				*w = _mm_sha256msg2_epu32(t, m[(i + 3) & 3]);
			}
			t = _mm_add_epi32(*w, _mm_loadu_si128(
				(const __m128i *)&K[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, t);
			abef = _mm_sha256rnds2_epu32(abef, cdgh,
						     _mm_shuffle_epi32(t, 0x0e));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	t = _mm_shuffle_epi32(abef, 0x1b);
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, t, 8));
}

static bool cpu_has_sha_ni(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

static void compress_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
#ifdef SHA256_HAVE_NI
	static int ni = -1;

	if (ni < 0)
		ni = cpu_has_sha_ni();
	if (ni) {
		compress_ni(h, p, nblocks);
		return;
	}
#endif
	for (; nblocks; nblocks--, p += SHA256_BLOCK_SIZE)
		compress(h, p);
}

void sha256__init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->fill = 0;
}

void sha256__update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	if (s->fill) {
		size_t take = SHA256_BLOCK_SIZE - s->fill;

		if (take > len)
			take = len;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take;
		p += take;
		len -= take;
		if (s->fill < SHA256_BLOCK_SIZE)
			return;
		compress_blocks(s->h, s->buf, 1);
		s->fill = 0;
	}
	compress_blocks(s->h, p, len / SHA256_BLOCK_SIZE);
	p += len - len % SHA256_BLOCK_SIZE;
	len %= SHA256_BLOCK_SIZE;
	memcpy(s->buf, p, len);
	s->fill = len;
}

void sha256__final(struct sha256 *s, uint8_t out[SHA256_DIGEST_SIZE])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[SHA256_BLOCK_SIZE + 8] = { 0x80 };
	size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256__update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void sha256__digest(const void *data, size_t len,
		    uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256 s;

	sha256__init(&s);
	sha256__update(&s, data, len);
	sha256__final(&s, out);
}

void hmac_sha256__setkey(struct hmac_sha256_key *k, const void *key,
			 size_t len)
{
	uint8_t block[SHA256_BLOCK_SIZE] = { 0 };
	uint8_t pad[SHA256_BLOCK_SIZE];

	if (len > SHA256_BLOCK_SIZE)
		sha256__digest(key, len, block);
	else if (len)
		memcpy(block, key, len);
	for (int i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = block[i] ^ 0x36;
	sha256__init(&k->inner);
	sha256__update(&k->inner, pad, sizeof(pad));
	for (int i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = block[i] ^ 0x5c;
	sha256__init(&k->outer);
	sha256__update(&k->outer, pad, sizeof(pad));
}

void hmac_sha256__mac(const struct hmac_sha256_key *k, const void *data,
		      size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256 s = k->inner;
	uint8_t inner[SHA256_DIGEST_SIZE];

	sha256__update(&s, data, len);
	sha256__final(&s, inner);
	s = k->outer;
	sha256__update(&s, inner, sizeof(inner));
	sha256__final(&s, out);
}

int hmac_sha256__equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
