/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomon-lincheck: a linearizability checker for histories of a key-value
 * store, in the Knossos/porcupine family.
 *
 * A history is a set of operations, each with the client that issued it, the
 * time it was invoked and the time its answer came back.  It is
 * linearizable if every operation can be given a single instant inside its
 * interval such that, taken in the order of those instants, the operations
 * form a legal sequential run of the model.  The model here is a map of
 * independent registers: put, get, delete and compare-and-swap on one key.
 * Because operations on different keys never constrain each other, the
 * history is split per key and each part is checked alone
 * (P-compositionality), which keeps the search small.
 *
 * Each part is searched with the Wing & Gong algorithm as improved by Lowe:
 * walk the call and return events in time order, tentatively linearize any
 * pending call the model accepts, backtrack when a return is reached whose
 * operation is not yet linearized, and never revisit a (set of linearized
 * operations, model state) pair already known to fail.
 *
 * An operation whose outcome is unknown (the client timed out, or the
 * server crashed) may or may not have taken effect at any time after its
 * invocation: its return is at +infinity and any result is accepted for it.
 * An operation that definitely failed had no effect and is left out.
 *
 * Usage:
 *	struct lincheck_history *h;
 *	lincheck_history__new(&h);
 *	lincheck_history__load(h, file, name, err, sizeof(err));
 *	lincheck_history__check(h, &opts, &report);  // 0: linearizable
 *	lincheck_history__free(h);
 */
#ifndef GNOMON_LINCHECK_H
#define GNOMON_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The return time of an operation whose outcome is unknown. */
#define LINCHECK_T_INFINITY INT64_MAX

enum lincheck_kind {
	LINCHECK_PUT,	/* value := arg */
	LINCHECK_GET,	/* observed value (or absent) */
	LINCHECK_DEL,	/* value := absent */
	LINCHECK_CAS,	/* if value == expect then value := arg */
};

enum lincheck_status {
	LINCHECK_OK,	/* completed; its result is known */
	LINCHECK_FAIL,	/* definitely did not take effect */
	LINCHECK_INFO,	/* unknown: may have taken effect, at any later time */
};

/* One operation as the client saw it; strings are copied on add. */
struct lincheck_op {
	uint32_t client;
	enum lincheck_kind kind;
	enum lincheck_status status;
	const char *key;
	/* put, cas: the value written; get: the value read; NULL: absent */
	const char *value;
	/* cas: the value compared against; NULL: the key must be absent */
	const char *expect;
	bool swapped;		/* cas: did the compare succeed */
	int64_t invoke;		/* ns, any epoch shared by the whole history */
	int64_t complete;	/* ns; LINCHECK_T_INFINITY when status is INFO */
	uint32_t line;		/* source line, for reports (0: none) */
};

struct lincheck_opts {
	/* Give up on a key after this many distinct search states (0: 4M),
	 * or sooner if the cache of states would pass 1 GiB. */
	uint64_t max_states;
	/* Where to describe violations (NULL: nowhere). */
	FILE *report;
};

struct lincheck_report {
	uint64_t ops;		/* operations considered */
	uint64_t keys;		/* partitions checked */
	uint64_t bad_keys;	/* partitions that are not linearizable */
	uint64_t unknown_keys;	/* partitions abandoned at max_states */
	uint64_t states;	/* search states visited, all keys */
};

struct lincheck_history;

int lincheck_history__new(struct lincheck_history **out);
void lincheck_history__free(struct lincheck_history *h);

/* Add one operation; -EINVAL if it is malformed (e.g. ends before it starts). */
int lincheck_history__add(struct lincheck_history *h,
			  const struct lincheck_op *op);

/*
 * Parse one line of the text format (see gnomon-lincheck(1)); blank lines and
 * '#' comments are accepted and add nothing.  -EINVAL with a message in err.
 */
int lincheck_history__parse_line(struct lincheck_history *h, const char *line,
				 uint32_t lineno, char *err, size_t errlen);

/* Parse a whole file; the message in err names the file and line. */
int lincheck_history__load(struct lincheck_history *h, FILE *f,
			   const char *name, char *err, size_t errlen);

/*
 * Check every key.  0: linearizable; -EDOM: at least one key is not;
 * -E2BIG: no violation found but some key hit max_states; -ENOMEM.
 */
int lincheck_history__check(const struct lincheck_history *h,
			    const struct lincheck_opts *opts,
			    struct lincheck_report *report);

#endif /* GNOMON_LINCHECK_H */
