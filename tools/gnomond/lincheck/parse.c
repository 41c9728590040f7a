// SPDX-License-Identifier: GPL-2.0
/*
 * The text format of a history: one operation per line, as name=value fields
 * separated by blanks, in any order.  '#' starts a comment line.
 *
 *	c=3 op=put k=x v=17 t0=1000 t1=2500 st=ok
 *	c=4 op=get k=x v=17 t0=1200 t1=2600 st=ok
 *	c=4 op=get k=y t0=2700 t1=2800 st=ok          (read found nothing)
 *	c=5 op=cas k=x from=17 v=18 swapped=1 t0=2900 t1=3100 st=ok
 *	c=6 op=del k=x t0=3000 st=info                (outcome unknown)
 *
 * An empty or missing v= means "absent"; for cas, from= empty means "the key
 * must be absent".  Times are integers (ns) on one clock shared by all
 * clients.  st is ok, fail (did not take effect) or info (unknown; t1 is
 * then ignored and taken as +infinity).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck_internal.h"

struct lc_fields {
	const char *c, *op, *k, *v, *from, *swapped, *t0, *t1, *st;
};

/* Point the right field at the value of one name=value token. */
static int lc_field_set(struct lc_fields *f, char *tok)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
		{ "c", offsetof(struct lc_fields, c) },
		{ "op", offsetof(struct lc_fields, op) },
		{ "k", offsetof(struct lc_fields, k) },
		{ "v", offsetof(struct lc_fields, v) },
		{ "from", offsetof(struct lc_fields, from) },
		{ "swapped", offsetof(struct lc_fields, swapped) },
		{ "t0", offsetof(struct lc_fields, t0) },
		{ "t1", offsetof(struct lc_fields, t1) },
		{ "st", offsetof(struct lc_fields, st) },
	};
	char *eq = strchr(tok, '=');

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char **slot = (const char **)((char *)f + names[i].off);

		if (strcmp(tok, names[i].name))
			continue;
		if (*slot)
			return -EEXIST;
		*slot = eq + 1;
		return 0;
	}
	*eq = '=';
	return -ENOENT;
}

static int lc_parse_i64(const char *s, int64_t *out)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int lc_lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int lc_fields_to_op(const struct lc_fields *f, struct lincheck_op *op,
			   const char **why)
{
	static const char *const kinds[] = { "put", "get", "del", "cas" };
	static const char *const statuses[] = { "ok", "fail", "info" };
	int64_t client;
	int kind = lc_lookup(f->op, kinds, 4);
	int st = lc_lookup(f->st, statuses, 3);

	if (kind < 0)
		return *why = "op= must be put, get, del or cas", -EINVAL;
	if (st < 0)
		return *why = "st= must be ok, fail or info", -EINVAL;
	if (lc_parse_i64(f->c, &client) || client < 0 || client > UINT32_MAX)
		return *why = "c= must be a client number", -EINVAL;
	if (!f->k || !*f->k)
		return *why = "k= is missing", -EINVAL;
	if (lc_parse_i64(f->t0, &op->invoke))
		return *why = "t0= must be an integer time", -EINVAL;
	op->complete = LINCHECK_T_INFINITY;
	if (st != LINCHECK_INFO && lc_parse_i64(f->t1, &op->complete))
		return *why = "t1= must be an integer time", -EINVAL;
	if (st != LINCHECK_INFO && op->complete < op->invoke)
		return *why = "t1 is before t0", -EINVAL;
	if ((kind == LINCHECK_PUT || kind == LINCHECK_CAS) && (!f->v || !*f->v))
		return *why = "put and cas need a non-empty v=", -EINVAL;
	if (kind == LINCHECK_CAS && !f->from)
		return *why = "cas needs from=", -EINVAL;
	if (kind == LINCHECK_CAS && st == LINCHECK_OK &&
	    (!f->swapped || (strcmp(f->swapped, "0") && strcmp(f->swapped, "1"))))
		return *why = "a completed cas needs swapped=0 or 1", -EINVAL;
	op->client = (uint32_t)client;
	op->kind = kind;
	op->status = st;
	op->key = f->k;
	op->value = f->v;
	op->expect = f->from;
	op->swapped = f->swapped && !strcmp(f->swapped, "1");
	return 0;
}

int lincheck_history__parse_line(struct lincheck_history *h, const char *line,
				 uint32_t lineno, char *err, size_t errlen)
{
	static const char blanks[] = " \t\r\n";
	struct lc_fields f = { 0 };
	struct lincheck_op op = { .line = lineno };
	const char *why = NULL;
	char *buf = strdup(line);
	char *save, *tok;
	int ret = 0;

	if (!buf) {
		snprintf(err, errlen, "line %u: out of memory", lineno);
		return -ENOMEM;
	}
	tok = strtok_r(buf, blanks, &save);
	if (!tok || tok[0] == '#')
		goto out;
	for (; tok; tok = strtok_r(NULL, blanks, &save)) {
		ret = lc_field_set(&f, tok);
		if (ret) {
			snprintf(err, errlen, "line %u: %s field '%s'", lineno,
				 ret == -EEXIST ? "repeated" : "bad", tok);
			ret = -EINVAL;
			goto out;
		}
	}
	ret = lc_fields_to_op(&f, &op, &why);
	if (ret) {
		snprintf(err, errlen, "line %u: %s", lineno, why);
		goto out;
	}
	ret = lincheck_history__add(h, &op);
	if (ret)
		snprintf(err, errlen, "line %u: %s", lineno,
			 ret == -ENOMEM ? "out of memory" : "invalid operation");
out:
	free(buf);
	return ret;
}

int lincheck_history__load(struct lincheck_history *h, FILE *f,
			   const char *name, char *err, size_t errlen)
{
	char *line = NULL, msg[256];
	size_t cap = 0;
	uint32_t lineno = 0;
	int ret = 0;

	while (getline(&line, &cap, f) >= 0) {
		ret = lincheck_history__parse_line(h, line, ++lineno, msg,
						   sizeof(msg));
		if (ret) {
			snprintf(err, errlen, "%s: %s", name, msg);
			break;
		}
	}
	if (!ret && ferror(f)) {
		snprintf(err, errlen, "%s: read error", name);
		ret = -EIO;
	}
	free(line);
	return ret;
}
