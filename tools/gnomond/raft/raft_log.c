// SPDX-License-Identifier: GPL-2.0
/*
 * The in-memory Raft log: a contiguous array of the entries after the last
 * snapshot, each entry owning a heap copy of its data.  Index offset is the
 * last entry the snapshot covers (offset_term its term), so entry i lives at
 * e[i - offset - 1].  Compaction drops a prefix, truncation a suffix.
 *
 * Compaction drops up to --snapshot-count entries at once; freeing all of
 * their copies in one call cost gnomond's loop over a second (each free
 * touching a page that the snapshot fork left copy-on-write), so their data
 * pointers go to a garbage list instead, freed a slice at a time
 * (raft_log__reclaim, from raft__ready).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "raft_internal.h"

int raft_vec_grow(void **v, size_t *cap, size_t size)
{
	void *p = grow__array(*v, cap, *cap + 1, size, 16);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

void raft_log__init(struct raft_log *log, uint64_t offset, uint64_t term)
{
	memset(log, 0, sizeof(*log));
	log->offset = offset;
	log->offset_term = term;
}

static void free_range(struct raft_log *log, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		free((void *)log->e[i].data);
}

void raft_log__reclaim(struct raft_log *log, size_t max)
{
	while (max-- && log->n_garbage)
		free(log->garbage[--log->n_garbage]);
}

void raft_log__free(struct raft_log *log)
{
	free_range(log, 0, log->len);
	raft_log__reclaim(log, log->n_garbage);
	free(log->garbage);
	free(log->e);
	memset(log, 0, sizeof(*log));
}

uint64_t raft_log__last(const struct raft_log *log)
{
	return log->offset + log->len;
}

const struct raft_entry *raft_log__get(const struct raft_log *log,
				       uint64_t index)
{
	if (index <= log->offset || index > raft_log__last(log))
		return NULL;
	return &log->e[index - log->offset - 1];
}

/* Term of the entry at index; 0 when unknown (compacted or beyond). */
uint64_t raft_log__term(const struct raft_log *log, uint64_t index)
{
	const struct raft_entry *e;

	if (index == log->offset)
		return log->offset_term;
	e = raft_log__get(log, index);
	return e ? e->term : 0;
}

int raft_log__append(struct raft_log *log, uint64_t term, uint32_t type,
		     const void *data, uint32_t len)
{
	struct raft_entry *e;
	uint8_t *copy = NULL;

	assert(term >= raft_log__term(log, raft_log__last(log)));
	if (log->len == log->cap &&
	    raft_vec_grow((void **)&log->e, &log->cap, sizeof(*log->e)))
		return -ENOMEM;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	e = &log->e[log->len];
	e->term = term;
	e->index = raft_log__last(log) + 1;
	e->type = type;
	e->len = len;
	e->data = copy;
	log->len++;
	return 0;
}

/* Drop entries from index `from` on. */
void raft_log__truncate(struct raft_log *log, uint64_t from)
{
	size_t keep;

	assert(from > log->offset);
	if (from > raft_log__last(log))
		return;
	keep = from - log->offset - 1;
	free_range(log, keep, log->len);
	log->len = keep;
}

/* Drop entries up to and including index `upto`. */
void raft_log__compact(struct raft_log *log, uint64_t upto)
{
	size_t drop;

	if (upto <= log->offset)
		return;
	assert(upto <= raft_log__last(log));
	drop = upto - log->offset;
	log->offset_term = raft_log__term(log, upto);
	if (log->n_garbage + drop > log->cap_garbage) {
		size_t cap = 2 * log->cap_garbage;
		void *g;

		if (cap < log->n_garbage + drop)
			cap = log->n_garbage + drop;
		g = realloc(log->garbage, cap * sizeof(*log->garbage));
		if (g) {
			log->garbage = g;
			log->cap_garbage = cap;
		}
	}
	if (log->n_garbage + drop <= log->cap_garbage) {
		for (size_t i = 0; i < drop; i++)
			log->garbage[log->n_garbage++] = (void *)log->e[i].data;
	} else {
		free_range(log, 0, drop);	/* no memory for the list */
	}
	memmove(log->e, log->e + drop, (log->len - drop) * sizeof(*log->e));
	log->len -= drop;
	log->offset = upto;
}

/* Forget every entry: the log now starts after (offset, term). */
void raft_log__reset(struct raft_log *log, uint64_t offset, uint64_t term)
{
	free_range(log, 0, log->len);
	log->len = 0;
	log->offset = offset;
	log->offset_term = term;
}

/* Raft's rule: is a log ending at (last_index, last_term) at least as new? */
bool raft_log__up_to_date(const struct raft_log *log, uint64_t last_index,
			  uint64_t last_term)
{
	uint64_t my_last = raft_log__last(log);
	uint64_t my_term = raft_log__term(log, my_last);

	return last_term > my_term ||
	       (last_term == my_term && last_index >= my_last);
}
