/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growable byte buffer with a consumed prefix: what gnomond queues for a
 * socket or a file.  A buffer handed to the kernel is never grown while the
 * operation is in flight (the owner keeps a second one for new bytes).
 */
#ifndef GNOMOND_DAEMON_GD_BUF_H
#define GNOMOND_DAEMON_GD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct gd_buf {
	uint8_t *p;
	size_t off, len, cap;	/* unconsumed bytes: p[off..len) */
};

/* Room for n more bytes at p + len: 0 or -ENOMEM. */
int gd_buf__reserve(struct gd_buf *b, size_t n);
int gd_buf__append(struct gd_buf *b, const void *data, size_t n);
void gd_buf__consume(struct gd_buf *b, size_t n);
/* Move the unconsumed bytes to the front. */
void gd_buf__compact(struct gd_buf *b);
void gd_buf__free(struct gd_buf *b);

static inline size_t gd_buf__pending(const struct gd_buf *b)
{
	return b->len - b->off;
}

#endif /* GNOMOND_DAEMON_GD_BUF_H */
