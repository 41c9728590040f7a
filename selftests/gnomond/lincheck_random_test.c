// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-lincheck on generated histories.
 *
 *  - Linearizable by construction: a sequential run of the register model
 *    on a few keys, each operation given an interval around its instant,
 *    jittered so that many overlap, some outcomes made unknown and some
 *    failed operations added: every one must pass.
 *  - The same histories with one completed read changed to a value never
 *    written: every one must be caught.
 *  - Small random histories (one key, two values, up to six operations)
 *    judged both by the checker and by a brute-force enumeration of every
 *    order that respects real time, where an operation of unknown outcome
 *    may also be left out: the verdicts must agree, both ways.
 */
#include <errno.h>
#include <inttypes.h>

#include "../ktap.h"
#include "lincheck.h"

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return ktap_rng(s) % n;
}

#define GEN_MAX_OPS 400
#define GEN_KEYS 4

struct gen {
	struct lincheck_op ops[GEN_MAX_OPS];
	int64_t point[GEN_MAX_OPS];	/* where each op takes effect */
	char vals[GEN_MAX_OPS][16];
	char keys[GEN_KEYS][16];
	int nops;
};

static const char *gen_val(struct gen *g, int idx)
{
	return idx < 0 ? NULL : g->vals[idx];
}

/* Lay out clients' ops back to back, each taking effect at a random
 * instant of its interval; sort them by that instant. */
static void gen_intervals(struct gen *g, uint64_t *s, int clients, int n,
			  int64_t maxdur)
{
	int64_t t[32] = { 0 };

	g->nops = n;
	for (int i = 0; i < n; i++) {
		int c = (int)rng_below(s, (uint64_t)clients);
		int64_t dur = 1 + (int64_t)rng_below(s, (uint64_t)maxdur);

		t[c] += (int64_t)rng_below(s, 20);
		g->ops[i] = (struct lincheck_op){
			.client = (uint32_t)c,
			.invoke = t[c],
			.complete = t[c] + dur,
		};
		g->point[i] = t[c] + (int64_t)rng_below(s, (uint64_t)dur + 1);
		t[c] += dur;
	}
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && g->point[j - 1] > g->point[j]; j--) {
			struct lincheck_op op = g->ops[j];
			int64_t p = g->point[j];

			g->ops[j] = g->ops[j - 1];
			g->point[j] = g->point[j - 1];
			g->ops[j - 1] = op;
			g->point[j - 1] = p;
		}
	}
	for (int i = 0; i < n; i++) {
		g->ops[i].line = (uint32_t)i + 1;
		snprintf(g->vals[i], sizeof(g->vals[i]), "v%d", i);
	}
}

/* Run the model over ops in the order they take effect to fill in kinds,
 * values and results. */
static void gen_linearizable(struct gen *g, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	int nkeys = 1 + (int)rng_below(&s, GEN_KEYS);
	int clients = 1 + (int)rng_below(&s, 10);
	int n = 20 + (int)rng_below(&s, GEN_MAX_OPS - 20);
	int cur[GEN_KEYS];

	gen_intervals(g, &s, clients, n, 50 + (int64_t)rng_below(&s, 800));
	for (int k = 0; k < GEN_KEYS; k++) {
		cur[k] = -1;
		snprintf(g->keys[k], sizeof(g->keys[k]), "k%d", k);
	}
	for (int i = 0; i < n; i++) {
		struct lincheck_op *op = &g->ops[i];
		int k = (int)rng_below(&s, (uint64_t)nkeys);
		int r = (int)rng_below(&s, 100);

		op->key = g->keys[k];
		if (r < 35) {
			op->kind = LINCHECK_PUT;
			op->value = g->vals[i];
			cur[k] = i;
		} else if (r < 70) {
			op->kind = LINCHECK_GET;
			op->value = gen_val(g, cur[k]);
		} else if (r < 90) {
			bool match = rng_below(&s, 2);

			op->kind = LINCHECK_CAS;
			op->value = g->vals[i];
			op->expect = match ? gen_val(g, cur[k]) : "never";
			op->swapped = match;
			if (match)
				cur[k] = i;
		} else if (r < 95) {
			op->kind = LINCHECK_DEL;
			cur[k] = -1;
		} else {
			/* Refused: never applied, never read. */
			op->kind = LINCHECK_PUT;
			op->value = g->vals[i];
			op->status = LINCHECK_FAIL;
		}
		if (op->kind != LINCHECK_GET && op->status == LINCHECK_OK &&
		    rng_below(&s, 100) < 4)
			op->status = LINCHECK_INFO;
	}
}

static int gen_check(const struct gen *g, char *rep, size_t replen)
{
	struct lincheck_history *h;
	struct lincheck_report r;
	struct lincheck_opts o = { 0 };
	FILE *f = rep ? fmemopen(rep, replen, "w") : NULL;
	int ret = lincheck_history__new(&h);

	o.report = f;
	for (int i = 0; !ret && i < g->nops; i++)
		ret = lincheck_history__add(h, &g->ops[i]);
	if (!ret)
		ret = lincheck_history__check(h, &o, &r);
	if (f)
		fclose(f);
	lincheck_history__free(h);
	return ret;
}

KTAP_TEST(generated_linearizable_histories_pass)
{
	static struct gen g;
	char rep[4096];

	for (uint64_t seed = 1; seed <= 300; seed++) {
		gen_linearizable(&g, seed);
		rep[0] = '\0';
		int ret = gen_check(&g, rep, sizeof(rep));

		KTAP_ASSERT(t, ret == 0, "seed %" PRIu64 ": %d\n%s", seed, ret,
			    rep);
	}
}

KTAP_TEST(a_corrupted_read_is_always_caught)
{
	static struct gen g;
	int caught = 0, tried = 0;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		gen_linearizable(&g, seed);
		for (int i = 0; i < g.nops; i++) {
			struct lincheck_op *op = &g.ops[(i + seed) % g.nops];

			if (op->kind != LINCHECK_GET)
				continue;
			op->value = "ghost";
			tried++;
			int r = gen_check(&g, NULL, 0);
			if (r != -EDOM)
				ktap_diag("seed %" PRIu64 ": %d", seed, r);
			caught += r == -EDOM;
			break;
		}
	}
	KTAP_EXPECT(t, tried > 250, "only %d histories had a read", tried);
	KTAP_EXPECT(t, caught == tried, "caught %d of %d", caught, tried);
}

/* Brute force over one key: every real-time-respecting order, info ops
 * either applied or skipped. */
#define BF_MAX 6

struct bf {
	struct lincheck_op ops[BF_MAX];
	int n;
};

static bool bf_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool bf_search(const struct bf *b, unsigned int done, const char *st)
{
	if (done == (1u << b->n) - 1)
		return true;
	for (int i = 0; i < b->n; i++) {
		const struct lincheck_op *op = &b->ops[i];
		bool blocked = false, info = op->status == LINCHECK_INFO;

		if (done & (1u << i))
			continue;
		for (int j = 0; j < b->n; j++)
			if (j != i && !(done & (1u << j)) &&
			    b->ops[j].complete < op->invoke)
				blocked = true;
		if (blocked)
			continue;
		unsigned int now = done | (1u << i);

		if (info && bf_search(b, now, st))
			return true;	/* it never happened */
		switch (op->kind) {
		case LINCHECK_PUT:
			if (bf_search(b, now, op->value))
				return true;
			break;
		case LINCHECK_DEL:
			if (bf_search(b, now, NULL))
				return true;
			break;
		case LINCHECK_GET:
			if (bf_same(st, op->value) && bf_search(b, now, st))
				return true;
			break;
		case LINCHECK_CAS:
			if (bf_same(st, op->expect) && (info || op->swapped) &&
			    bf_search(b, now, op->value))
				return true;
			if (!info && !bf_same(st, op->expect) && !op->swapped &&
			    bf_search(b, now, st))
				return true;
			break;
		}
	}
	return false;
}

static void bf_random(struct bf *b, uint64_t *s)
{
	static const char *const vals[] = { NULL, "a", "b" };

	b->n = 1 + (int)rng_below(s, BF_MAX);
	for (int i = 0; i < b->n; i++) {
		struct lincheck_op *op = &b->ops[i];
		int64_t t0 = (int64_t)rng_below(s, 20);

		*op = (struct lincheck_op){
			.client = (uint32_t)i,
			.kind = (enum lincheck_kind)rng_below(s, 4),
			.key = "x",
			.invoke = t0,
			.complete = t0 + (int64_t)rng_below(s, 10),
		};
		op->value = vals[1 + rng_below(s, 2)];
		if (op->kind == LINCHECK_GET)
			op->value = vals[rng_below(s, 3)];
		op->expect = vals[rng_below(s, 3)];
		op->swapped = rng_below(s, 2);
		if (op->kind != LINCHECK_GET && rng_below(s, 8) == 0) {
			op->status = LINCHECK_INFO;
			op->complete = INT64_MAX;
		}
	}
}

static void bf_dump(const struct bf *b, int trial, bool expect, int ret)
{
	static const char *const kinds[] = { "put", "get", "del", "cas" };
	static const char *const sts[] = { "ok", "fail", "info" };

	ktap_diag("trial %d: brute force %d, checker %d", trial, expect, ret);
	for (int i = 0; i < b->n; i++) {
		const struct lincheck_op *op = &b->ops[i];

		ktap_diag("  c=%u op=%s k=x v=%s from=%s swapped=%d t0=%" PRId64
			  " t1=%" PRId64 " st=%s", op->client, kinds[op->kind],
			  op->value ? op->value : "", op->expect ? op->expect :
			  "", op->swapped, op->invoke, op->complete,
			  sts[op->status]);
	}
}

KTAP_TEST(verdicts_match_brute_force)
{
	uint64_t s = 42;
	int agree = 0, bad = 0, trials = 20000;
	static struct gen g;
	struct bf b;

	for (int trial = 0; trial < trials; trial++) {
		bf_random(&b, &s);
		g.nops = b.n;
		memcpy(g.ops, b.ops, sizeof(b.ops[0]) * (size_t)b.n);
		bool expect = bf_search(&b, 0, NULL);
		int ret = gen_check(&g, NULL, 0);

		KTAP_ASSERT(t, ret == 0 || ret == -EDOM, "check: %d", ret);
		if ((ret == 0) == expect)
			agree++;
		else
			bf_dump(&b, trial, expect, ret);
		bad += !expect;
	}
	KTAP_EXPECT(t, agree == trials, "agreed on %d of %d", agree, trials);
	/* Both verdicts must be well represented for this to mean much. */
	KTAP_EXPECT(t, bad > trials / 10 && bad < trials * 9 / 10,
		    "%d of %d not linearizable", bad, trials);
	ktap_diag("%d histories, %d not linearizable", trials, bad);
}

KTAP_TEST(many_concurrent_clients_on_one_key_stay_tractable)
{
	static struct gen g;
	uint64_t s = 7;
	int cur = -1;

	/* 30 clients, 400 ops, all on one key. */
	gen_intervals(&g, &s, 30, GEN_MAX_OPS, 400);
	for (int i = 0; i < g.nops; i++) {
		struct lincheck_op *op = &g.ops[i];

		op->key = "hot";
		if (rng_below(&s, 2)) {
			op->kind = LINCHECK_PUT;
			op->value = g.vals[i];
			cur = i;
		} else {
			op->kind = LINCHECK_GET;
			op->value = gen_val(&g, cur);
		}
	}
	int hot = gen_check(&g, NULL, 0);
	KTAP_EXPECT(t, hot == 0, "hot key: %d", hot);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
