/* SPDX-License-Identifier: GPL-2.0 */
/*
 * grow: the one grow-array rule of the tools, header-only so that every
 * part (WAL recovery, trace merge, lincheck, the daemon's buffers) can use
 * it without a link-line change.  An array of @elem-byte items with *@cap
 * slots grows, when it must hold @need items, to the first power-of-two
 * multiple of @first (or of *@cap) that does; the product is checked for
 * overflow.  On success it returns the (maybe moved) array and updates
 * *@cap; on failure it returns NULL and leaves the array and *@cap as they
 * were, still owned by the caller.  @need <= *@cap returns @p unchanged.
 */
#ifndef GNOMON_GROW_H
#define GNOMON_GROW_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

static inline void *grow__array(void *p, size_t *cap, size_t need,
				size_t elem, size_t first)
{
	size_t n = *cap ? *cap : first;
	void *v;

	assert(elem && first);
	if (need <= *cap)
		return p;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return NULL;
	v = realloc(p, n * elem);
	if (v)
		*cap = n;
	return v;
}

#endif
