// SPDX-License-Identifier: GPL-2.0
/*
 * Bump allocator (see arena.h): chunks of at least 16 KiB, each request
 * rounded to 16 bytes; a request larger than a chunk gets its own chunk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_CHUNK (16 * 1024)

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
		size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
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
