/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bump allocator for building one response: protobuf-c message structs
 * are carved from it, packed, and the whole arena freed at once, so that a
 * Txn answer with thousands of key-values costs a handful of mallocs.
 */
#ifndef GNOMOND_MVCC_ARENA_H
#define GNOMOND_MVCC_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used, size;	/* in head */
};

/* Zeroed, 16-byte aligned memory living until arena__release(); NULL if
 * out of memory. */
void *arena__alloc(struct arena *a, size_t n);

/* Allocate an array of @n elements of @size bytes, checking overflow. */
void *arena__calloc(struct arena *a, size_t n, size_t size);

void arena__release(struct arena *a);

#endif /* GNOMOND_MVCC_ARENA_H */
