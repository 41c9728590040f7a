/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Merging the records of several hosts into one causal history.
 *
 * A receive is matched to its send by the stamp it carried (sender node
 * and Lamport value, unique per node), then checked against the
 * connection (the send's local end is the receive's peer end) and the TCP
 * sequence range (the received range lies inside the sent one; a send
 * split by segmentation offload may be received in several pieces).  A
 * stamp that names a send of another connection is counted as mismatched
 * and left unmatched.
 *
 * The total order sorts by (Lamport value, node, position in the input):
 * Lamport values grow along every node's history and across every matched
 * message, so the order is consistent with happened-before.  Vector clocks
 * are then computed along that order from the matched messages, which is
 * what tells concurrent events apart.  Pure computation: no I/O.
 */
#ifndef GNOMON_TRACE_MERGE_H
#define GNOMON_TRACE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_event.h"

#define TRACE_MAX_NODES		64

struct trace_merge {
	struct trace_event *ev;		/* events, in input order */
	size_t n, cap;
	size_t *order;			/* order[i]: event at position i */
	size_t *rank;			/* rank[e]: position of event e */
	long *send_of;			/* receive e: its send, or -1 */
	uint32_t *vc;			/* vc[e * nnodes + k] */
	uint16_t nodes[TRACE_MAX_NODES];	/* node ids, ascending */
	char names[TRACE_MAX_NODES][TRACE_NAME_LEN];
	size_t nnodes;
	size_t matched, unmatched, mismatched;
};

void trace_merge__init(struct trace_merge *m);
void trace_merge__free(struct trace_merge *m);

/* Name a node (from a record header); -ENOSPC past TRACE_MAX_NODES. */
int trace_merge__add_header(struct trace_merge *m, const struct trace_header *h);
/* Add one event; -ENOMEM, -ENOSPC past TRACE_MAX_NODES. */
int trace_merge__add(struct trace_merge *m, const struct trace_event *e);
/* Match, order and compute vector clocks; -ENOMEM. */
int trace_merge__run(struct trace_merge *m);

/* Index of a node id in m->nodes, or -1. */
int trace_merge__node_index(const struct trace_merge *m, uint16_t node);
/* Events a and b (input indices): a happened before b. */
bool trace_merge__before(const struct trace_merge *m, size_t a, size_t b);
/* Neither happened before the other. */
bool trace_merge__concurrent(const struct trace_merge *m, size_t a, size_t b);

#endif /* GNOMON_TRACE_MERGE_H */
