// SPDX-License-Identifier: GPL-2.0
/*
 * B+tree of key records (see index.h).
 *
 * Leaves: sorted record pointers, chained left to right.  Inner nodes:
 * child pointers and, for each child but the first, the smallest record
 * below it as separator.  Insertion descends remembering the path, splits a
 * full node in two halves (or, when appending at the right edge, leaves the
 * left node full: sequential loads such as snapshot restore then pack the
 * leaves).  There is no delete: compaction calls mvcc_index__retain(), which
 * packs the surviving records into the existing leaves, frees the empty
 * ones, and rebuilds the inner levels from nodes allocated before any
 * record is touched, so it cannot fail half way.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

#define INDEX_FANOUT 64
#define INDEX_MAX_HEIGHT 16

struct mvcc_index_leaf {
	unsigned int n;
	struct mvcc_index_leaf *next;
	struct mvcc_key *k[INDEX_FANOUT];
};

struct index_inner {
	unsigned int n;			/* children */
	struct mvcc_key *sep[INDEX_FANOUT];	/* sep[0] unused */
	void *child[INDEX_FANOUT];
};

int mvcc_key__cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int rec_cmp(const struct mvcc_key *r, const uint8_t *key, size_t klen)
{
	return mvcc_key__cmp(r->key, r->klen, key, klen);
}

void mvcc_index__init(struct mvcc_index *idx)
{
	memset(idx, 0, sizeof(*idx));
}

static void free_node(void *node, unsigned int height,
		      void (*drop)(struct mvcc_key *k))
{
	if (!height) {
		struct mvcc_index_leaf *l = node;

		for (unsigned int i = 0; drop && i < l->n; i++)
			drop(l->k[i]);
	} else {
		struct index_inner *in = node;

		for (unsigned int i = 0; i < in->n; i++)
			free_node(in->child[i], height - 1, drop);
	}
	free(node);
}

void mvcc_index__destroy(struct mvcc_index *idx,
			 void (*drop)(struct mvcc_key *k))
{
	if (idx->root)
		free_node(idx->root, idx->height, drop);
	mvcc_index__init(idx);
}

/* The child of @in to descend into for @key: the last one whose
 * separator is <= key. */
static unsigned int inner_slot(const struct index_inner *in,
			       const uint8_t *key, size_t klen)
{
	unsigned int lo = 1, hi = in->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (rec_cmp(in->sep[mid], key, klen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* First position in @l whose key is >= @key. */
static unsigned int leaf_lower(const struct mvcc_index_leaf *l,
			       const uint8_t *key, size_t klen)
{
	unsigned int lo = 0, hi = l->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (rec_cmp(l->k[mid], key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct mvcc_index_leaf *
descend(const struct mvcc_index *idx, const uint8_t *key, size_t klen)
{
	const void *node = idx->root;

	for (unsigned int h = idx->height; h > 0; h--) {
		const struct index_inner *in = node;

		node = in->child[inner_slot(in, key, klen)];
	}
	return node;
}

struct mvcc_key *mvcc_index__find(const struct mvcc_index *idx,
				  const uint8_t *key, size_t klen)
{
	const struct mvcc_index_leaf *l;
	unsigned int pos;

	if (!idx->root)
		return NULL;
	l = descend(idx, key, klen);
	pos = leaf_lower(l, key, klen);
	if (pos < l->n && rec_cmp(l->k[pos], key, klen) == 0)
		return l->k[pos];
	return NULL;
}

void mvcc_index__seek(const struct mvcc_index *idx, const uint8_t *key,
		      size_t klen, struct mvcc_iter *it)
{
	it->leaf = NULL;
	it->pos = 0;
	if (!idx->root)
		return;
	it->leaf = descend(idx, key, klen);
	it->pos = leaf_lower(it->leaf, key, klen);
}

struct mvcc_key *mvcc_iter__next(struct mvcc_iter *it)
{
	while (it->leaf && it->pos >= it->leaf->n) {
		it->leaf = it->leaf->next;
		it->pos = 0;
	}
	if (!it->leaf)
		return NULL;
	return it->leaf->k[it->pos++];
}

/* Insert (sep, child) at slot @at of the inner node @in, which has room. */
static void inner_put(struct index_inner *in, unsigned int at,
		      struct mvcc_key *sep, void *child)
{
	assert(in->n < INDEX_FANOUT && at >= 1 && at <= in->n);
	memmove(&in->sep[at + 1], &in->sep[at],
		(in->n - at) * sizeof(in->sep[0]));
	memmove(&in->child[at + 1], &in->child[at],
		(in->n - at) * sizeof(in->child[0]));
	in->sep[at] = sep;
	in->child[at] = child;
	in->n++;
}

static void leaf_put(struct mvcc_index_leaf *l, unsigned int at,
		     struct mvcc_key *k)
{
	assert(l->n < INDEX_FANOUT && at <= l->n);
	memmove(&l->k[at + 1], &l->k[at], (l->n - at) * sizeof(l->k[0]));
	l->k[at] = k;
	l->n++;
}

/* How many of the INDEX_FANOUT + 1 entries of an overfull node stay on the
 * left: half, or all but the new one when appending at the right edge. */
static unsigned int split_point(unsigned int at, bool rightmost)
{
	return rightmost && at == INDEX_FANOUT ? INDEX_FANOUT
					       : (INDEX_FANOUT + 1) / 2;
}

/* Split the full leaf @l taking @k at @at into @l and @nl. */
static void leaf_split(struct mvcc_index_leaf *l, struct mvcc_index_leaf *nl,
		       unsigned int at, struct mvcc_key *k, bool rightmost)
{
	struct mvcc_key *t[INDEX_FANOUT + 1];
	unsigned int keep = split_point(at, rightmost);

	memcpy(t, l->k, at * sizeof(t[0]));
	t[at] = k;
	memcpy(&t[at + 1], &l->k[at], (INDEX_FANOUT - at) * sizeof(t[0]));
	memcpy(l->k, t, keep * sizeof(t[0]));
	l->n = keep;
	nl->n = INDEX_FANOUT + 1 - keep;
	memcpy(nl->k, &t[keep], nl->n * sizeof(t[0]));
	nl->next = l->next;
	l->next = nl;
}

/* Split the full inner node @in taking (@sep, @child) at @at into @in and
 * @ni; returns the separator to push up, the smallest record under @ni. */
static struct mvcc_key *inner_split(struct index_inner *in,
				    struct index_inner *ni, unsigned int at,
				    struct mvcc_key *sep, void *child,
				    bool rightmost)
{
	struct mvcc_key *ts[INDEX_FANOUT + 1];
	void *tc[INDEX_FANOUT + 1];
	unsigned int keep = split_point(at, rightmost);

	memcpy(ts, in->sep, at * sizeof(ts[0]));
	memcpy(tc, in->child, at * sizeof(tc[0]));
	ts[at] = sep;
	tc[at] = child;
	memcpy(&ts[at + 1], &in->sep[at], (INDEX_FANOUT - at) * sizeof(ts[0]));
	memcpy(&tc[at + 1], &in->child[at], (INDEX_FANOUT - at) * sizeof(tc[0]));
	memcpy(in->sep, ts, keep * sizeof(ts[0]));
	memcpy(in->child, tc, keep * sizeof(tc[0]));
	in->n = keep;
	ni->n = INDEX_FANOUT + 1 - keep;
	memcpy(ni->sep, &ts[keep], ni->n * sizeof(ts[0]));
	memcpy(ni->child, &tc[keep], ni->n * sizeof(tc[0]));
	return ts[keep];
}

int mvcc_index__insert(struct mvcc_index *idx, struct mvcc_key *k)
{
	struct index_inner *path[INDEX_MAX_HEIGHT];
	unsigned int slot[INDEX_MAX_HEIGHT];
	struct index_inner *spare[INDEX_MAX_HEIGHT + 1];
	unsigned int nspare = 0, need = 0, at;
	struct mvcc_index_leaf *leaf, *nl;
	struct mvcc_key *sep;
	bool rightmost = true;
	void *node, *right;

	if (!idx->root) {
		leaf = calloc(1, sizeof(*leaf));
		if (!leaf)
			return -ENOMEM;
		idx->root = leaf;
	}
	node = idx->root;
	for (unsigned int h = idx->height; h > 0; h--) {
		struct index_inner *in = node;
		unsigned int s = inner_slot(in, k->key, k->klen);

		path[h - 1] = in;
		slot[h - 1] = s;
		rightmost = rightmost && s == in->n - 1;
		node = in->child[s];
	}
	leaf = node;
	at = leaf_lower(leaf, k->key, k->klen);
	assert(at == leaf->n || rec_cmp(leaf->k[at], k->key, k->klen) != 0);
	if (leaf->n < INDEX_FANOUT) {
		leaf_put(leaf, at, k);
		idx->count++;
		return 0;
	}

	/* Allocate every node the split needs before changing anything. */
	while (need < idx->height && path[need]->n == INDEX_FANOUT)
		need++;
	if (need == idx->height)
		need++;		/* a new root */
	if (idx->height + 1 >= INDEX_MAX_HEIGHT)
		return -ENOMEM;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	for (; nspare < need; nspare++) {
		spare[nspare] = calloc(1, sizeof(struct index_inner));
		if (!spare[nspare]) {
			while (nspare)
				free(spare[--nspare]);
			free(nl);
			return -ENOMEM;
		}
	}

	leaf_split(leaf, nl, at, k, rightmost);
	idx->count++;
	sep = nl->k[0];
	right = nl;
	for (unsigned int h = 0; h < idx->height; h++) {
		struct index_inner *in = path[h], *ni;

		if (in->n < INDEX_FANOUT) {
			inner_put(in, slot[h] + 1, sep, right);
			assert(nspare == 0);
			return 0;
		}
		ni = spare[--nspare];
		sep = inner_split(in, ni, slot[h] + 1, sep, right, rightmost);
		right = ni;
	}
	/* The root split: the tree grows by one level. */
	assert(nspare == 1);
	struct index_inner *root = spare[--nspare];

	root->n = 2;
	root->child[0] = idx->root;
	root->child[1] = right;
	root->sep[1] = sep;
	idx->root = root;
	idx->height++;
	return 0;
}

/* Inner nodes needed to index @n nodes of the level below. */
static size_t inner_nodes_for(size_t n)
{
	size_t total = 0;

	while (n > 1) {
		n = (n + INDEX_FANOUT - 1) / INDEX_FANOUT;
		total += n;
	}
	return total;
}

static struct mvcc_key *first_record(void *node, unsigned int height)
{
	while (height--)
		node = ((struct index_inner *)node)->child[0];
	return ((struct mvcc_index_leaf *)node)->k[0];
}

static void free_inner_levels(void *node, unsigned int height)
{
	if (!height)
		return;
	struct index_inner *in = node;

	for (unsigned int i = 0; i < in->n; i++)
		free_inner_levels(in->child[i], height - 1);
	free(in);
}

int mvcc_index__retain(struct mvcc_index *idx,
		       bool (*keep)(struct mvcc_key *k, void *ctx), void *ctx)
{
	struct mvcc_index_leaf *first, *l, *w, *next;
	size_t nleaves = 0, npool, used = 0, n;
	struct index_inner **pool;
	void **level;
	unsigned int wpos = 0, height = 0;

	if (!idx->root)
		return 0;
	first = (struct mvcc_index_leaf *)descend(idx, NULL, 0);
	for (l = first; l; l = l->next)
		nleaves++;
	npool = inner_nodes_for(nleaves);
	pool = calloc(npool + 1, sizeof(*pool));
	level = calloc(nleaves, sizeof(*level));
	if (!pool || !level)
		goto nomem;
	for (size_t i = 0; i < npool; i++) {
		pool[i] = malloc(sizeof(struct index_inner));
		if (!pool[i])
			goto nomem;
	}

	/* Pack the kept records into the leaf chain, in place. */
	free_inner_levels(idx->root, idx->height);
	w = first;
	idx->count = 0;
	for (l = first; l; l = l->next) {
		for (unsigned int i = 0; i < l->n; i++) {
			if (!keep(l->k[i], ctx))
				continue;
			if (wpos == INDEX_FANOUT) {
				w->n = wpos;
				w = w->next;
				wpos = 0;
			}
			w->k[wpos++] = l->k[i];
			idx->count++;
		}
	}
	w->n = wpos;
	for (l = w->next; l; l = next) {
		next = l->next;
		free(l);
	}
	w->next = NULL;

	/* Rebuild the inner levels bottom up. */
	n = 0;
	for (l = first; l; l = l->next)
		level[n++] = l;
	while (n > 1) {
		size_t m = 0;

		for (size_t i = 0; i < n; i += INDEX_FANOUT) {
			struct index_inner *in = pool[used++];

			in->n = n - i < INDEX_FANOUT ? n - i : INDEX_FANOUT;
			for (unsigned int c = 0; c < in->n; c++) {
				in->child[c] = level[i + c];
				in->sep[c] = c ? first_record(level[i + c], height)
					       : NULL;
			}
			level[m++] = in;
		}
		n = m;
		height++;
	}
	idx->root = level[0];
	idx->height = height;
	if (!idx->count) {
		free(idx->root);
		idx->root = NULL;
		idx->height = 0;
	}
	while (used < npool)
		free(pool[used++]);
	free(pool);
	free(level);
	return 0;
nomem:
	for (size_t i = 0; pool && i < npool; i++)
		free(pool[i]);
	free(pool);
	free(level);
	return -ENOMEM;
}
