// SPDX-License-Identifier: GPL-2.0
/*
 * The backup file's format (backup.h): encoding its header and trailer,
 * and checking a whole file before anything is built from it.
 */
#include <errno.h>
#include <string.h>

#include "../peer/sha256.h"
#include "backup.h"

static const char magic[16] = "gnomond backup\n";

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void gd_backup__encode_header(uint8_t buf[GD_BACKUP_HEADER_SIZE],
			      const struct gd_backup_header *h)
{
	memset(buf, 0, GD_BACKUP_HEADER_SIZE);
	memcpy(buf, magic, sizeof(magic));
	buf[16] = GD_BACKUP_VERSION;
	put64(buf + 24, (uint64_t)h->revision);
	put64(buf + 32, h->index);
	put64(buf + 40, h->term);
	put64(buf + 48, h->member_id);
}

size_t gd_backup__trailer(uint8_t buf[GD_BACKUP_ALIGN + 8], uint64_t len)
{
	size_t pad = (GD_BACKUP_ALIGN -
		      (GD_BACKUP_HEADER_SIZE + len + 8) % GD_BACKUP_ALIGN) %
		     GD_BACKUP_ALIGN;

	memset(buf, 0, pad);
	put64(buf + pad, len);
	return pad + 8;
}

int gd_backup__check(const uint8_t *buf, size_t size,
		     struct gd_backup_header *h, const uint8_t **data,
		     size_t *len, const char **why)
{
	uint8_t sum[SHA256_DIGEST_SIZE];
	uint64_t dlen;

	*why = NULL;
	if (size < sizeof(magic) || memcmp(buf, magic, sizeof(magic)))
		*why = "not a gnomond backup (an etcd bbolt snapshot, or "
		       "another file?)";
	else if (size < GD_BACKUP_HEADER_SIZE + 8 + GD_BACKUP_SUM_SIZE ||
		 (size - GD_BACKUP_SUM_SIZE) % GD_BACKUP_ALIGN)
		*why = "truncated (or padded: not a whole file)";
	else if (get64(buf + 16) != GD_BACKUP_VERSION ||
		 get64(buf + 56))
		*why = "an unknown version of the format";
	if (*why)
		return -EUCLEAN;
	size -= GD_BACKUP_SUM_SIZE;
	sha256__digest(buf, size, sum);
	if (memcmp(sum, buf + size, sizeof(sum))) {
		*why = "its SHA-256 does not match (truncated or corrupt)";
		return -EUCLEAN;
	}
	dlen = get64(buf + size - 8);
	if (dlen > size - GD_BACKUP_HEADER_SIZE - 8 ||
	    size - GD_BACKUP_HEADER_SIZE - 8 - dlen >= GD_BACKUP_ALIGN) {
		*why = "the data's length does not fit the file";
		return -EUCLEAN;
	}
	h->revision = (int64_t)get64(buf + 24);
	h->index = get64(buf + 32);
	h->term = get64(buf + 40);
	h->member_id = get64(buf + 48);
	*data = buf + GD_BACKUP_HEADER_SIZE;
	*len = (size_t)dlen;
	return 0;
}
