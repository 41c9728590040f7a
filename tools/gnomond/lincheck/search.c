// SPDX-License-Identifier: GPL-2.0
/*
 * The search for a linearization of one key's operations (Wing & Gong, with
 * Lowe's memoization; the structure porcupine uses).
 *
 * Every operation becomes two nodes, its call and its return, kept in one
 * doubly linked list in time order (at equal times calls come first, so that
 * operations which merely touch are treated as concurrent).  The search
 * walks the list from the front:
 *
 *  - at a call whose operation the model accepts in the current state, it
 *    linearizes the operation there: pushes (node, state) on a stack, takes
 *    the call and its return out of the list, applies the operation and
 *    starts again from the front;
 *  - at a return, the operation was not linearized before it completed,
 *    which is impossible: the last choice is undone (pop, put the two
 *    nodes back, restore the state) and the walk resumes after that call.
 *
 * Two prunings keep real histories tractable.  Completed reads that hold in
 * the current state are taken at once instead of being branched on (see
 * lc_take_observations).  And a write that moves the state away from a
 * value that some pending read still needs, when no remaining write can
 * produce that value again, is never tried: that branch cannot succeed.
 *
 * The list empties when every operation is linearized: success.  Popping an
 * empty stack means no order works: a violation.  A cache of every (set of
 * linearized operations, state) pair already tried keeps the search from
 * exploring the same configuration twice; that is what makes it practical.
 * The cache stores the bitset and the state in one flat array of words and
 * indexes it with an open-addressing table.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck_internal.h"

#define LC_DEFAULT_MAX_STATES (4u << 20)
/* Whatever max_states says, the cache stays under this many bytes. */
#define LC_MAX_CACHE_BYTES (1ull << 30)

struct lc_node {
	struct lc_node *prev;
	struct lc_node *next;
	struct lc_node *match;	/* a call's return, a return's call */
	size_t op;
	int64_t time;
	bool is_return;
};

struct lc_cache {
	size_t words;		/* per entry: the state, then the bitset */
	uint64_t *entries;
	size_t count;
	size_t cap;
	uint32_t *slots;	/* entry index + 1; 0 is empty */
	size_t nslots;		/* a power of two */
};

static uint64_t lc_mix(uint64_t h, uint64_t w)
{
	h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static uint64_t lc_cache_hash(const uint64_t *e, size_t words)
{
	uint64_t h = 0;

	for (size_t i = 0; i < words; i++)
		h = lc_mix(h, e[i]);
	return h;
}

static int lc_cache__grow(struct lc_cache *c)
{
	size_t nslots = c->nslots ? c->nslots * 2 : 1024;
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	uint64_t *entries;

	if (!slots)
		return -ENOMEM;
	entries = realloc(c->entries, nslots / 2 * c->words * sizeof(*entries));
	if (!entries) {
		free(slots);
		return -ENOMEM;
	}
	c->entries = entries;
	c->cap = nslots / 2;
	for (size_t idx = 0; idx < c->count; idx++) {
		size_t i = lc_cache_hash(&entries[idx * c->words], c->words);

		for (i &= nslots - 1; slots[i]; i = (i + 1) & (nslots - 1))
			;
		slots[i] = (uint32_t)(idx + 1);
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return 0;
}

/* 1 if (state, bits) is new and now stored, 0 if seen before, or -ENOMEM. */
static int lc_cache__insert(struct lc_cache *c, uint32_t state,
			    const uint64_t *bits)
{
	size_t bytes = (c->words - 1) * sizeof(*bits);
	uint64_t *e;
	size_t i;
	int err;

	if (c->count == c->cap) {
		err = lc_cache__grow(c);
		if (err)
			return err;
	}
	e = &c->entries[c->count * c->words];
	e[0] = state;
	memcpy(&e[1], bits, bytes);
	i = lc_cache_hash(e, c->words) & (c->nslots - 1);
	for (; c->slots[i]; i = (i + 1) & (c->nslots - 1)) {
		const uint64_t *have = &c->entries[(c->slots[i] - 1) * c->words];

		if (have[0] == state && !memcmp(&have[1], bits, bytes))
			return 0;
	}
	c->slots[i] = (uint32_t)(++c->count);
	return 1;
}

static int lc_node_cmp(const void *a, const void *b)
{
	const struct lc_node *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->is_return != y->is_return)
		return x->is_return ? 1 : -1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* Sort the 2n nodes by time and link them after head. */
static void lc_link(struct lc_node *nodes, size_t n,
		    const struct lc_op *const *ops, struct lc_node *head,
		    size_t *where)
{
	for (size_t i = 0; i < n; i++) {
		nodes[2 * i] = (struct lc_node){ .op = i,
						 .time = ops[i]->invoke };
		nodes[2 * i + 1] = (struct lc_node){ .op = i,
						     .time = ops[i]->complete,
						     .is_return = true };
	}
	qsort(nodes, 2 * n, sizeof(*nodes), lc_node_cmp);
	/* where[op] is the position of op's call, which precedes its return. */
	for (size_t i = 0; i < 2 * n; i++) {
		if (!nodes[i].is_return)
			where[nodes[i].op] = i;
		else
			nodes[i].match = &nodes[where[nodes[i].op]];
	}
	for (size_t i = 0; i < 2 * n; i++) {
		if (nodes[i].is_return)
			nodes[i].match->match = &nodes[i];
		nodes[i].prev = i ? &nodes[i - 1] : head;
		nodes[i].next = i + 1 < 2 * n ? &nodes[i + 1] : NULL;
	}
	head->next = n ? &nodes[0] : NULL;
}

static void lc_lift(struct lc_node *call)
{
	struct lc_node *ret = call->match;

	call->prev->next = call->next;
	call->next->prev = call->prev;
	ret->prev->next = ret->next;
	if (ret->next)
		ret->next->prev = ret->prev;
}

static void lc_unlift(struct lc_node *call)
{
	struct lc_node *ret = call->match;

	ret->prev->next = ret;
	if (ret->next)
		ret->next->prev = ret;
	call->prev->next = call;
	call->next->prev = call;
}

struct lc_frame {
	struct lc_node *call;
	uint32_t state;
	bool forced;		/* a read taken greedily, not a choice */
};

struct lc_walker {
	const struct lc_op *const *ops;
	struct lc_node head;
	struct lc_frame *stack;
	size_t depth;
	uint32_t state;
	uint64_t *bits;
	struct lc_cache cache;
	/* Per value id: unlinearized writes that can produce it, and
	 * unlinearized completed reads of it. */
	uint32_t *writers;
	uint32_t *readers;
	uint32_t nvalues;
};

/*
 * Remember the deepest dead end, for the report: depth operations of the
 * stack, the state they leave, and the operation that could not follow.
 */
static int lc_note_depth(struct lc_search_result *res,
			 const struct lc_frame *stack, size_t depth,
			 uint32_t state, size_t stuck)
{
	if (res->prefix && depth <= res->depth)
		return 0;
	free(res->prefix);
	res->prefix = malloc((depth + 1) * sizeof(*res->prefix));
	if (!res->prefix)
		return -ENOMEM;
	for (size_t i = 0; i < depth; i++)
		res->prefix[i] = stack[i].call->op;
	res->depth = depth;
	res->stuck = stuck;
	res->state = state;
	res->orphans = false;
	return 0;
}

/* The value a write can produce, or false if op never writes. */
static bool lc_produces(const struct lc_op *op, uint32_t *value)
{
	if (op->kind == LINCHECK_GET)
		return false;
	if (op->kind == LINCHECK_CAS && op->status == LINCHECK_OK &&
	    !op->swapped)
		return false;
	*value = op->kind == LINCHECK_DEL ? LC_ABSENT : op->value;
	return true;
}

/* Count op in (delta 1) or out (delta -1) of the writers and readers. */
static void lc_account(struct lc_walker *w, const struct lc_op *op, int delta)
{
	uint32_t v;

	if (lc_produces(op, &v)) {
		assert(v < w->nvalues && (delta > 0 || w->writers[v] > 0));
		w->writers[v] += (uint32_t)delta;
	} else if (op->kind == LINCHECK_GET) {
		assert(op->value < w->nvalues &&
		       (delta > 0 || w->readers[op->value] > 0));
		w->readers[op->value] += (uint32_t)delta;
	}
}

/* Would leaving value v strand a pending read of it? */
static bool lc_orphans(const struct lc_walker *w, uint32_t v)
{
	return w->readers[v] && !w->writers[v];
}

/* Completed reads and failed compares: they never change the state. */
static bool lc_observes_only(const struct lc_op *op)
{
	return op->status == LINCHECK_OK &&
	       (op->kind == LINCHECK_GET ||
		(op->kind == LINCHECK_CAS && !op->swapped));
}

static void lc_push(struct lc_walker *w, struct lc_node *call, uint32_t next,
		    bool forced)
{
	assert(!call->is_return && call->match->is_return);
	assert(!(w->bits[call->op / 64] & (1ull << (call->op % 64))));
	w->bits[call->op / 64] |= 1ull << (call->op % 64);
	lc_account(w, w->ops[call->op], -1);
	w->stack[w->depth++] = (struct lc_frame){ call, w->state, forced };
	w->state = next;
	lc_lift(call);
}

/* Undo the top frame; return its call node. */
static struct lc_node *lc_pop(struct lc_walker *w)
{
	struct lc_frame *f;

	assert(w->depth > 0);
	f = &w->stack[--w->depth];
	assert(w->bits[f->call->op / 64] & (1ull << (f->call->op % 64)));

	w->bits[f->call->op / 64] &= ~(1ull << (f->call->op % 64));
	lc_account(w, w->ops[f->call->op], 1);
	w->state = f->state;
	lc_unlift(f->call);
	return f->call;
}

/*
 * Take every pending observation that holds in the current state, before
 * any choice.  Sound because such an operation could be moved to the front
 * of any valid continuation: it is legal now and changes nothing.  Pending
 * means called before the first outstanding return.  The state never
 * changes here, so what is taken depends only on the set already
 * linearized and the state: the cache stays sound.
 */
static void lc_take_observations(struct lc_walker *w)
{
	struct lc_node *e = w->head.next;
	uint32_t next;

	/* Taking one may lift a return and so widen the window: rescan. */
	while (e && !e->is_return) {
		if (lc_observes_only(w->ops[e->op]) &&
		    lc_model__step(w->state, w->ops[e->op], &next)) {
			lc_push(w, e, next, true);
			e = w->head.next;
		} else {
			e = e->next;
		}
	}
}

/* Undo back to the last choice; NULL when there is none left. */
static struct lc_node *lc_backtrack(struct lc_walker *w)
{
	while (w->depth && w->stack[w->depth - 1].forced)
		lc_pop(w);
	return w->depth ? lc_pop(w) : NULL;
}

/* Record a write that was not tried because it orphans a read. */
static int lc_note_orphan(struct lc_search_result *res,
			  const struct lc_walker *w, const struct lc_node *call)
{
	const struct lc_frame *top = &w->stack[w->depth - 1];
	bool deeper = !res->prefix || w->depth - 1 > res->depth;
	int ret;

	ret = lc_note_depth(res, w->stack, w->depth - 1, top->state, call->op);
	if (!deeper)
		return ret;
	res->orphans = true;
	res->orphaned = top->state;
	for (const struct lc_node *e = w->head.next; e; e = e->next) {
		const struct lc_op *op = w->ops[e->op];

		if (!e->is_return && op->kind == LINCHECK_GET &&
		    op->status == LINCHECK_OK && op->value == top->state) {
			res->reader = e->op;
			break;
		}
	}
	return ret;
}

/* A read of a value that nothing writes: no search needed. */
static struct lc_node *lc_find_orphan(const struct lc_walker *w)
{
	for (struct lc_node *e = w->head.next; e; e = e->next) {
		const struct lc_op *op = w->ops[e->op];

		if (!e->is_return && op->kind == LINCHECK_GET &&
		    op->value != LC_ABSENT && lc_orphans(w, op->value))
			return e;
	}
	return NULL;
}

static int lc_walk(struct lc_walker *w, uint64_t max_states,
		   struct lc_search_result *res)
{
	struct lc_node *entry;
	uint32_t next;
	int ret;

	entry = lc_find_orphan(w);
	if (entry)
		return lc_note_depth(res, w->stack, 0, w->state, entry->op);
	lc_take_observations(w);
	entry = w->head.next;
	while (w->head.next) {
		assert(entry);
		if (!entry->is_return) {
			size_t op = entry->op;

			if (lc_observes_only(w->ops[op]) ||
			    !lc_model__step(w->state, w->ops[op], &next)) {
				entry = entry->next;
				continue;
			}
			w->bits[op / 64] |= 1ull << (op % 64);
			ret = lc_cache__insert(&w->cache, next, w->bits);
			w->bits[op / 64] &= ~(1ull << (op % 64));
			if (ret < 0)
				return ret;
			if (!ret) {
				entry = entry->next;
				continue;
			}
			if (++res->states > max_states) {
				res->gave_up = true;
				return 0;
			}
			lc_push(w, entry, next, false);
			if (next != w->stack[w->depth - 1].state &&
			    lc_orphans(w, w->stack[w->depth - 1].state)) {
				ret = lc_note_orphan(res, w, entry);
				lc_pop(w);
				if (ret)
					return ret;
				entry = entry->next;
				continue;
			}
			lc_take_observations(w);
			entry = w->head.next;
			continue;
		}
		ret = lc_note_depth(res, w->stack, w->depth, w->state,
				    entry->op);
		if (ret)
			return ret;
		entry = lc_backtrack(w);
		if (!entry)
			return 0;
		entry = entry->next;
	}
	res->linearizable = true;
	return 0;
}

static uint32_t lc_max(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

int lc_search(const struct lc_op *const *ops, size_t n, uint64_t max_states,
	      struct lc_search_result *res)
{
	struct lc_walker w = { .ops = ops,
			       .cache = { .words = 1 + (n + 63) / 64 } };
	struct lc_node *nodes = calloc(2 * n + 1, sizeof(*nodes));
	size_t *where = calloc(n + 1, sizeof(*where));
	int ret = -ENOMEM;

	memset(res, 0, sizeof(*res));
	if (!max_states)
		max_states = LC_DEFAULT_MAX_STATES;
	if (max_states > LC_MAX_CACHE_BYTES / 2 / (w.cache.words * 8))
		max_states = LC_MAX_CACHE_BYTES / 2 / (w.cache.words * 8);
	w.stack = calloc(n + 1, sizeof(*w.stack));
	w.bits = calloc(w.cache.words, sizeof(*w.bits));
	for (size_t i = 0; i < n; i++)
		w.nvalues = lc_max(w.nvalues, lc_max(ops[i]->value,
						     ops[i]->expect) + 1);
	w.writers = calloc(w.nvalues + 1, sizeof(*w.writers));
	w.readers = calloc(w.nvalues + 1, sizeof(*w.readers));
	if (nodes && where && w.stack && w.bits && w.writers && w.readers) {
		for (size_t i = 0; i < n; i++)
			lc_account(&w, ops[i], 1);
		lc_link(nodes, n, ops, &w.head, where);
		ret = lc_walk(&w, max_states, res);
	}
	free(w.writers);
	free(w.readers);
	if (ret || res->linearizable || res->gave_up) {
		free(res->prefix);
		res->prefix = NULL;
	}
	free(w.cache.entries);
	free(w.cache.slots);
	free(nodes);
	free(where);
	free(w.stack);
	free(w.bits);
	return ret;
}
