// SPDX-License-Identifier: GPL-2.0
/* Forwarding frames between members (forward.h): encode, frame, decode. */
#include <errno.h>
#include <string.h>

#include "forward.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

int fwd_frame__is_forward(const uint8_t *buf, size_t n)
{
	return n >= 4 && get32(buf) == FWD_MAGIC;
}

int fwd_frame__length(const uint8_t *buf, size_t n, size_t *frame_len)
{
	uint32_t len;

	if (n < 12)
		return -EAGAIN;
	if (get32(buf) != FWD_MAGIC || buf[4] != FWD_VERSION)
		return -EBADMSG;
	len = get32(buf + 8);
	if (len < FWD_HEADER_SIZE + SHA256_DIGEST_SIZE)
		return -EBADMSG;
	if (len > FWD_MAX_FRAME)
		return -EMSGSIZE;
	*frame_len = len;
	return 0;
}

int fwd_frame__encode(const struct hmac_sha256_key *key,
		      const struct fwd_frame *f, struct gd_buf *out)
{
	size_t total = FWD_HEADER_SIZE + f->len + SHA256_DIGEST_SIZE;
	uint8_t *p;
	int rc;

	if (total > FWD_MAX_FRAME)
		return -EMSGSIZE;
	rc = gd_buf__reserve(out, total);
	if (rc)
		return rc;
	p = out->p + out->len;
	put32(p, FWD_MAGIC);
	p[4] = FWD_VERSION;
	p[5] = (uint8_t)f->type;
	p[6] = p[7] = 0;
	put32(p + 8, (uint32_t)total);
	put32(p + 12, f->from);
	put32(p + 16, f->method);
	put32(p + 20, (uint32_t)f->status);
	put64(p + 24, f->id);
	if (f->len)
		memcpy(p + FWD_HEADER_SIZE, f->body, f->len);
	hmac_sha256__mac(key, p, total - SHA256_DIGEST_SIZE,
			 p + total - SHA256_DIGEST_SIZE);
	out->len += total;
	return 0;
}

int fwd_frame__decode(const struct hmac_sha256_key *key, const uint8_t *buf,
		      size_t n, struct fwd_frame *f, const char **why)
{
	uint8_t mac[SHA256_DIGEST_SIZE];
	size_t len;

	if (fwd_frame__length(buf, n, &len) || len != n) {
		*why = "bad framing";
		return -EBADMSG;
	}
	hmac_sha256__mac(key, buf, n - SHA256_DIGEST_SIZE, mac);
	if (!hmac_sha256__equal(mac, buf + n - SHA256_DIGEST_SIZE,
				SHA256_DIGEST_SIZE)) {
		*why = "not signed with the cluster key";
		return -EACCES;
	}
	memset(f, 0, sizeof(*f));
	f->type = buf[5];
	if (f->type < FWD_HELLO || f->type > FWD_TYPE_MAX || buf[6] || buf[7]) {
		*why = "unknown frame type";
		return -EBADMSG;
	}
	f->from = get32(buf + 12);
	f->method = get32(buf + 16);
	f->status = (int32_t)get32(buf + 20);
	f->id = get64(buf + 24);
	f->body = buf + FWD_HEADER_SIZE;
	f->len = n - FWD_HEADER_SIZE - SHA256_DIGEST_SIZE;
	return 0;
}
