// SPDX-License-Identifier: GPL-2.0
/*
 * Storage of a history: a growing array of operations whose keys and values
 * are interned into two string tables (FNV-1a hashed, open addressing,
 * doubled at half load).  Adding validates each operation, so the search
 * never sees a malformed one.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "lincheck_internal.h"

static uint32_t lc_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static int lc_strings__rehash(struct lc_strings *t, uint32_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t id = 1; id < t->count; id++) {
		uint32_t i = lc_hash(t->strs[id], strlen(t->strs[id]));

		for (i &= nslots - 1; slots[i]; i = (i + 1) & (nslots - 1))
			;
		slots[i] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

int lc_strings__intern(struct lc_strings *t, const char *s, size_t len,
		       uint32_t *id)
{
	uint32_t i;
	int err;

	if (!t->nslots) {
		err = lc_strings__rehash(t, 64);
		if (err)
			return err;
		t->count = 1;
	}
	i = lc_hash(s, len) & (t->nslots - 1);
	for (; t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		const char *have = t->strs[t->slots[i]];

		if (!strncmp(have, s, len) && have[len] == '\0') {
			*id = t->slots[i];
			return 0;
		}
	}
	if (t->count >= t->cap) {
		char **strs = grow__array(t->strs, &t->cap, t->count + 1,
					  sizeof(*strs), 64);

		if (!strs)
			return -ENOMEM;
		t->strs = strs;
	}
	t->strs[t->count] = strndup(s, len);
	if (!t->strs[t->count])
		return -ENOMEM;
	t->slots[i] = t->count;
	*id = t->count++;
	if (t->count * 2 > t->nslots)
		return lc_strings__rehash(t, t->nslots * 2);
	return 0;
}

const char *lc_strings__get(const struct lc_strings *t, uint32_t id)
{
	assert(id > 0 && id < t->count);
	return t->strs[id];
}

void lc_strings__free(struct lc_strings *t)
{
	for (uint32_t id = 1; id < t->count; id++)
		free(t->strs[id]);
	free(t->strs);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int lincheck_history__new(struct lincheck_history **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void lincheck_history__free(struct lincheck_history *h)
{
	if (!h)
		return;
	lc_strings__free(&h->keys);
	lc_strings__free(&h->values);
	free(h->ops);
	free(h);
}

static int lc_value_id(struct lincheck_history *h, const char *s, uint32_t *id)
{
	if (!s || !*s) {
		*id = LC_ABSENT;
		return 0;
	}
	return lc_strings__intern(&h->values, s, strlen(s), id);
}

static bool lc_op_valid(const struct lincheck_op *op)
{
	if (op->kind > LINCHECK_CAS || op->status > LINCHECK_INFO)
		return false;
	if (!op->key || !*op->key)
		return false;
	if ((op->kind == LINCHECK_PUT || op->kind == LINCHECK_CAS) &&
	    (!op->value || !*op->value))
		return false;
	if (op->status == LINCHECK_INFO)
		return true;
	return op->complete >= op->invoke && op->complete != LINCHECK_T_INFINITY;
}

int lincheck_history__add(struct lincheck_history *h,
			  const struct lincheck_op *op)
{
	struct lc_op o = {
		.client = op->client,
		.line = op->line,
		.kind = op->kind,
		.status = op->status,
		.swapped = op->swapped,
		.invoke = op->invoke,
		.complete = op->status == LINCHECK_INFO ? LINCHECK_T_INFINITY :
							  op->complete,
	};
	int err;

	if (!lc_op_valid(op))
		return -EINVAL;
	err = lc_strings__intern(&h->keys, op->key, strlen(op->key), &o.key);
	if (!err)
		err = lc_value_id(h, op->kind == LINCHECK_DEL ? NULL : op->value,
				  &o.value);
	if (!err)
		err = lc_value_id(h, op->kind == LINCHECK_CAS ? op->expect : NULL,
				  &o.expect);
	if (err)
		return err;
	if (h->count == h->cap) {
		struct lc_op *ops = grow__array(h->ops, &h->cap, h->count + 1,
						sizeof(*ops), 256);

		if (!ops)
			return -ENOMEM;
		h->ops = ops;
	}
	h->ops[h->count++] = o;
	return 0;
}

bool lc_model__step(uint32_t state, const struct lc_op *op, uint32_t *next)
{
	bool unknown = op->status == LINCHECK_INFO;

	assert(op->status != LINCHECK_FAIL);
	*next = state;
	switch (op->kind) {
	case LINCHECK_PUT:
		*next = op->value;
		return true;
	case LINCHECK_DEL:
		*next = LC_ABSENT;
		return true;
	case LINCHECK_GET:
		assert(!unknown);
		return state == op->value;
	case LINCHECK_CAS:
		if (state == op->expect && (unknown || op->swapped)) {
			*next = op->value;
			return true;
		}
		return unknown || (state != op->expect && !op->swapped);
	}
	assert(0 && "unknown operation kind");
	return false;
}
