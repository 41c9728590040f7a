// SPDX-License-Identifier: GPL-2.0
/*
 * Checking a whole history: split it per key (operations on different
 * registers commute, so the history is linearizable iff every key's part
 * is), drop what cannot matter (operations that definitely failed, reads
 * whose answer never came), search each part, and describe any violation:
 * the deepest linearization the search found, the operation that could not
 * be placed after it and the value the model held there.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "lincheck_internal.h"

/* How many of the last linearized operations a report shows. */
#define LC_REPORT_TAIL 6

static bool lc_relevant(const struct lc_op *op)
{
	if (op->status == LINCHECK_FAIL)
		return false;
	return !(op->status == LINCHECK_INFO && op->kind == LINCHECK_GET);
}

static const char *lc_value_name(const struct lincheck_history *h,
				 uint32_t id)
{
	return id == LC_ABSENT ? "(absent)" : lc_strings__get(&h->values, id);
}

/* A value as the text format writes it: absent is empty. */
static const char *lc_value_text(const struct lincheck_history *h, uint32_t id)
{
	return id == LC_ABSENT ? "" : lc_strings__get(&h->values, id);
}

/* One operation in the text format, so that it can be cut and pasted. */
static void lc_print_op(FILE *f, const struct lincheck_history *h,
			const struct lc_op *op)
{
	static const char *const kinds[] = { "put", "get", "del", "cas" };
	static const char *const sts[] = { "ok", "fail", "info" };

	fprintf(f, "    line %" PRIu32 ": c=%" PRIu32 " op=%s k=%s", op->line,
		op->client, kinds[op->kind], lc_strings__get(&h->keys, op->key));
	if (op->kind == LINCHECK_CAS)
		fprintf(f, " from=%s swapped=%d", lc_value_text(h, op->expect),
			op->swapped);
	if (op->kind != LINCHECK_DEL)
		fprintf(f, " v=%s", lc_value_text(h, op->value));
	fprintf(f, " t0=%" PRId64, op->invoke);
	if (op->complete == LINCHECK_T_INFINITY)
		fprintf(f, " t1=inf");
	else
		fprintf(f, " t1=%" PRId64, op->complete);
	fprintf(f, " st=%s\n", sts[op->status]);
}

static void lc_report_violation(FILE *f, const struct lincheck_history *h,
				uint32_t key, const struct lc_op *const *ops,
				size_t n, const struct lc_search_result *res)
{
	size_t from = res->depth > LC_REPORT_TAIL ?
		      res->depth - LC_REPORT_TAIL : 0;

	fprintf(f, "key %s: not linearizable (%zu operations)\n",
		lc_strings__get(&h->keys, key), n);
	fprintf(f, "  deepest linearization: %zu operations; the last ones:\n",
		res->depth);
	for (size_t i = from; i < res->depth; i++)
		lc_print_op(f, h, ops[res->prefix[i]]);
	if (res->orphans)
		fprintf(f, "  the register then holds %s, which a pending read "
			"still needs and nothing left writes again, so this "
			"cannot follow:\n", lc_value_name(h, res->orphaned));
	else
		fprintf(f, "  the register then holds %s, and this operation "
			"completed but fits nowhere after that:\n",
			lc_value_name(h, res->state));
	lc_print_op(f, h, ops[res->stuck]);
	if (res->orphans) {
		fprintf(f, "  the read that needs %s:\n",
			lc_value_name(h, res->orphaned));
		lc_print_op(f, h, ops[res->reader]);
	}
}

/* Group the relevant operations by key: keyed[start[k]..start[k+1]). */
static int lc_partition(const struct lincheck_history *h,
			const struct lc_op ***keyed, size_t **start)
{
	uint32_t nkeys = h->keys.count ? h->keys.count : 1;
	size_t *fill;

	*keyed = calloc(h->count + 1, sizeof(**keyed));
	*start = calloc(nkeys + 1, sizeof(**start));
	fill = calloc(nkeys + 1, sizeof(*fill));
	if (!*keyed || !*start || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->count; i++)
		if (lc_relevant(&h->ops[i]))
			(*start)[h->ops[i].key + 1]++;
	for (uint32_t k = 1; k <= nkeys; k++)
		(*start)[k] += (*start)[k - 1];
	for (size_t i = 0; i < h->count; i++) {
		const struct lc_op *op = &h->ops[i];

		if (lc_relevant(op))
			(*keyed)[(*start)[op->key] + fill[op->key]++] = op;
	}
	free(fill);
	return 0;
}

int lincheck_history__check(const struct lincheck_history *h,
			    const struct lincheck_opts *opts,
			    struct lincheck_report *report)
{
	const struct lc_op **keyed;
	struct lc_search_result res;
	size_t *start;
	int ret;

	*report = (struct lincheck_report){ 0 };
	ret = lc_partition(h, &keyed, &start);
	for (uint32_t k = 1; !ret && k < h->keys.count; k++) {
		size_t n = start[k + 1] - start[k];

		if (!n)
			continue;
		ret = lc_search(&keyed[start[k]], n, opts->max_states, &res);
		if (ret)
			break;
		report->ops += n;
		report->keys++;
		report->states += res.states;
		if (res.gave_up) {
			report->unknown_keys++;
			if (opts->report)
				fprintf(opts->report, "key %s: gave up after "
					"%" PRIu64 " states (%zu operations)\n",
					lc_strings__get(&h->keys, k),
					res.states, n);
		} else if (!res.linearizable) {
			report->bad_keys++;
			if (opts->report)
				lc_report_violation(opts->report, h, k,
						    &keyed[start[k]], n, &res);
			free(res.prefix);
		}
	}
	free(keyed);
	free(start);
	if (ret)
		return ret;
	if (report->bad_keys)
		return -EDOM;
	return report->unknown_keys ? -E2BIG : 0;
}
