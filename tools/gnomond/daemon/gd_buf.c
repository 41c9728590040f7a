// SPDX-License-Identifier: GPL-2.0
/* Growable byte buffers (gd_buf.h). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "gd_buf.h"

int gd_buf__reserve(struct gd_buf *b, size_t n)
{
	uint8_t *p;

	if (b->len + n <= b->cap)
		return 0;
	if (b->off) {
		gd_buf__compact(b);
		if (b->len + n <= b->cap)
			return 0;
	}
	if (n > SIZE_MAX - b->len)
		return -ENOMEM;
	p = grow__array(b->p, &b->cap, b->len + n, 1, 4096);
	if (!p)
		return -ENOMEM;
	b->p = p;
	return 0;
}

int gd_buf__append(struct gd_buf *b, const void *data, size_t n)
{
	int rc;

	if (!n)
		return 0;	/* data may be NULL (an empty entry) */
	rc = gd_buf__reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

void gd_buf__consume(struct gd_buf *b, size_t n)
{
	assert(n <= gd_buf__pending(b));
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void gd_buf__compact(struct gd_buf *b)
{
	if (!b->off)
		return;
	memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

void gd_buf__free(struct gd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}
