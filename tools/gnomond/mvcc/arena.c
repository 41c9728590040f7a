// SPDX-License-Identifier: GPL-2.0
/*
 * Bump allocator (see arena.h): each request rounded to 16 bytes; chunks
 * start small (most answers are a few hundred bytes, and a big chunk per
 * request fragments the heap that holds the store) and double up to
 * 64 KiB; a request larger than that gets a chunk of its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_FIRST 512
#define ARENA_MAX (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t pad;		/* keeps data 16-byte aligned */
	unsigned char data[];
};

void *arena__alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c;
	size_t size;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!n)
		n = 16;
	if (!a->head || a->size - a->used < n) {
		size = a->size ? a->size * 2 : ARENA_FIRST;
		if (size > ARENA_MAX)
			size = ARENA_MAX;
		if (size < n)
			size = n;
		if (size > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
		a->size = size;
		a->used = 0;
	}
	p = a->head->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

void *arena__calloc(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return arena__alloc(a, n * size);
}

void arena__release(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = a->size = 0;
}
