/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checker's private parts: how a history is stored, the register model
 * and the per-key search.
 *
 * Keys and values are interned: each distinct string gets a small integer
 * id, so that the model state is one uint32_t (the id of the current value,
 * 0 when the key is absent) and comparing states is comparing integers.
 */
#ifndef GNOMON_LINCHECK_INTERNAL_H
#define GNOMON_LINCHECK_INTERNAL_H

#include "lincheck.h"

/* The value id of "absent": the key holds nothing. */
#define LC_ABSENT 0u

/* A string table: id -> string and string -> id (open addressing). */
struct lc_strings {
	char **strs;		/* strs[id]; strs[0] is unused */
	uint32_t count;		/* ids handed out, including 0 */
	size_t cap;
	uint32_t *slots;	/* ids, 0 for an empty slot */
	uint32_t nslots;	/* a power of two */
};

struct lc_op {
	uint32_t client;
	uint32_t key;		/* key id */
	uint32_t value;		/* value id or LC_ABSENT */
	uint32_t expect;	/* cas: value id or LC_ABSENT */
	uint32_t line;
	uint8_t kind;		/* enum lincheck_kind */
	uint8_t status;		/* enum lincheck_status */
	bool swapped;
	int64_t invoke;
	int64_t complete;
};

struct lincheck_history {
	struct lc_op *ops;
	size_t count;
	size_t cap;
	struct lc_strings keys;
	struct lc_strings values;
};

/* Intern s (len bytes); *id gets its id (never 0).  0 or -ENOMEM. */
int lc_strings__intern(struct lc_strings *t, const char *s, size_t len,
		       uint32_t *id);
const char *lc_strings__get(const struct lc_strings *t, uint32_t id);
void lc_strings__free(struct lc_strings *t);

/*
 * The register model: may op run in state?  If so, *next is the state after
 * it.  Operations with an unknown outcome are always allowed.
 */
bool lc_model__step(uint32_t state, const struct lc_op *op, uint32_t *next);

/* What the search of one key found. */
struct lc_search_result {
	bool linearizable;
	bool gave_up;		/* hit max_states: no verdict */
	uint64_t states;
	/* When not linearizable: the deepest point the search reached. */
	size_t depth;		/* operations linearized there */
	size_t *prefix;		/* their indices in order (malloc'd) */
	size_t stuck;		/* the operation whose return blocked it */
	uint32_t state;		/* the model state there */
	/* Or: stuck is a write that would leave a pending read of this
	 * value unsatisfiable, since nothing left can write it again. */
	bool orphans;
	uint32_t orphaned;
	size_t reader;		/* a read that needs it */
};

/*
 * Search the operations of one key (ops[0..n), every one OK or INFO, none an
 * INFO get).  0 with res filled in, or -ENOMEM.  Free res->prefix.
 */
int lc_search(const struct lc_op *const *ops, size_t n, uint64_t max_states,
	      struct lc_search_result *res);

#endif /* GNOMON_LINCHECK_INTERNAL_H */
