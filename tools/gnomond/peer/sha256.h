/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and dependency
 * free, for authenticating peer messages with the cluster key.
 */
#ifndef GNOMOND_SHA256_H
#define GNOMOND_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE	32
#define SHA256_BLOCK_SIZE	64

struct sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK_SIZE];
	size_t fill;
};

void sha256__init(struct sha256 *s);
void sha256__update(struct sha256 *s, const void *data, size_t len);
void sha256__final(struct sha256 *s, uint8_t out[SHA256_DIGEST_SIZE]);
void sha256__digest(const void *data, size_t len,
		    uint8_t out[SHA256_DIGEST_SIZE]);

/* A keyed HMAC state: the key's inner and outer pads, hashed once. */
struct hmac_sha256_key {
	struct sha256 inner;
	struct sha256 outer;
};

void hmac_sha256__setkey(struct hmac_sha256_key *k, const void *key,
			 size_t len);
void hmac_sha256__mac(const struct hmac_sha256_key *k, const void *data,
		      size_t len, uint8_t out[SHA256_DIGEST_SIZE]);
/* Constant-time comparison: 1 if equal. */
int hmac_sha256__equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif /* GNOMOND_SHA256_H */
