// SPDX-License-Identifier: GPL-2.0
/*
 * Merge: match sends to receives, order everything, compute vector clocks.
 * See trace_merge.h for the rules; this file only implements them.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/grow.h"
#include "trace_merge.h"

void trace_merge__init(struct trace_merge *m)
{
	memset(m, 0, sizeof(*m));
}

void trace_merge__free(struct trace_merge *m)
{
	free(m->ev);
	free(m->order);
	free(m->rank);
	free(m->send_of);
	free(m->vc);
	trace_merge__init(m);
}

int trace_merge__node_index(const struct trace_merge *m, uint16_t node)
{
	size_t i;

	for (i = 0; i < m->nnodes; i++)
		if (m->nodes[i] == node)
			return (int)i;
	return -1;
}

/* Insert a node id keeping m->nodes ascending; returns its index. */
static int node_add(struct trace_merge *m, uint16_t node)
{
	int i = trace_merge__node_index(m, node);
	size_t pos;

	if (i >= 0)
		return i;
	if (m->nnodes == TRACE_MAX_NODES)
		return -ENOSPC;
	for (pos = 0; pos < m->nnodes && m->nodes[pos] < node; pos++)
		;
	memmove(&m->nodes[pos + 1], &m->nodes[pos],
		(m->nnodes - pos) * sizeof(m->nodes[0]));
	memmove(&m->names[pos + 1], &m->names[pos],
		(m->nnodes - pos) * sizeof(m->names[0]));
	m->nodes[pos] = node;
	m->names[pos][0] = '\0';
	m->nnodes++;
	return (int)pos;
}

int trace_merge__add_header(struct trace_merge *m, const struct trace_header *h)
{
	int i = node_add(m, h->node);

	if (i < 0)
		return i;
	if (!m->names[i][0])
		memcpy(m->names[i], h->host, sizeof(m->names[i]));
	m->names[i][TRACE_NAME_LEN - 1] = '\0';
	return 0;
}

int trace_merge__add(struct trace_merge *m, const struct trace_event *e)
{
	int i = node_add(m, e->node);

	if (i < 0)
		return i;
	if (m->n == m->cap) {
		struct trace_event *ev = grow__array(m->ev, &m->cap, m->n + 1,
						     sizeof(*ev), 256);

		if (!ev)
			return -ENOMEM;
		m->ev = ev;
	}
	m->ev[m->n++] = *e;
	return 0;
}

static const struct trace_merge *sort_ctx;

/* Sends by (node, lamport); input position breaks ties. */
static int cmp_stamp(const void *pa, const void *pb)
{
	const struct trace_event *a = &sort_ctx->ev[*(const size_t *)pa];
	const struct trace_event *b = &sort_ctx->ev[*(const size_t *)pb];

	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->lamport != b->lamport)
		return a->lamport < b->lamport ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

/* The total order: (lamport, node, input position). */
static int cmp_order(const void *pa, const void *pb)
{
	const struct trace_event *a = &sort_ctx->ev[*(const size_t *)pa];
	const struct trace_event *b = &sort_ctx->ev[*(const size_t *)pb];

	if (a->lamport != b->lamport)
		return a->lamport < b->lamport ? -1 : 1;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

static bool same_connection(const struct trace_event *send,
			    const struct trace_event *recv)
{
	uint32_t sent = send->end_seq - send->seq;

	return !strcmp(send->local, recv->peer) &&
	       !strcmp(send->peer, recv->local) &&
	       send->local_port == recv->peer_port &&
	       send->peer_port == recv->local_port &&
	       recv->seq - send->seq < sent &&
	       recv->end_seq - send->seq <= sent;
}

/* Binary search among the sends sorted by stamp. */
static long find_send(const struct trace_merge *m, const size_t *sends,
		      size_t nsends, uint16_t node, uint64_t lamport)
{
	size_t lo = 0, hi = nsends;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct trace_event *s = &m->ev[sends[mid]];

		if (s->node < node || (s->node == node && s->lamport < lamport))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < nsends && m->ev[sends[lo]].node == node &&
	    m->ev[sends[lo]].lamport == lamport)
		return (long)sends[lo];
	return -1;
}

static int match(struct trace_merge *m)
{
	size_t *sends = malloc((m->n ? m->n : 1) * sizeof(*sends));
	size_t nsends = 0, i;

	if (!sends)
		return -ENOMEM;
	for (i = 0; i < m->n; i++)
		if (m->ev[i].dir == TRACE_SEND)
			sends[nsends++] = i;
	sort_ctx = m;
	qsort(sends, nsends, sizeof(*sends), cmp_stamp);
	for (i = 0; i < m->n; i++) {
		const struct trace_event *r = &m->ev[i];
		long s;

		m->send_of[i] = -1;
		if (r->dir != TRACE_RECV)
			continue;
		s = find_send(m, sends, nsends, r->remote_node, r->remote);
		if (s < 0) {
			m->unmatched++;
		} else if (!same_connection(&m->ev[s], r)) {
			m->mismatched++;
			m->unmatched++;
		} else {
			m->send_of[i] = s;
			m->matched++;
		}
	}
	free(sends);
	return 0;
}

static void vector_clocks(struct trace_merge *m)
{
	uint32_t cur[TRACE_MAX_NODES][TRACE_MAX_NODES];
	size_t k = m->nnodes, i, j;

	memset(cur, 0, sizeof(cur));
	for (i = 0; i < m->n; i++) {
		size_t e = m->order[i];
		int self = trace_merge__node_index(m, m->ev[e].node);
		long s = m->send_of[e];

		assert(self >= 0);
		if (s >= 0) {
			/* The total order puts every send before its receives. */
			assert(m->rank[s] < i);
			for (j = 0; j < k; j++)
				if (m->vc[(size_t)s * k + j] > cur[self][j])
					cur[self][j] = m->vc[(size_t)s * k + j];
		}
		cur[self][self]++;
		memcpy(&m->vc[e * k], cur[self], k * sizeof(uint32_t));
	}
}

int trace_merge__run(struct trace_merge *m)
{
	size_t n = m->n ? m->n : 1, i;
	int err;

	free(m->order);
	free(m->rank);
	free(m->send_of);
	free(m->vc);
	m->order = malloc(n * sizeof(*m->order));
	m->rank = malloc(n * sizeof(*m->rank));
	m->send_of = malloc(n * sizeof(*m->send_of));
	m->vc = calloc(n * (m->nnodes ? m->nnodes : 1), sizeof(*m->vc));
	if (!m->order || !m->rank || !m->send_of || !m->vc)
		return -ENOMEM;
	m->matched = m->unmatched = m->mismatched = 0;
	err = match(m);
	if (err)
		return err;
	for (i = 0; i < m->n; i++)
		m->order[i] = i;
	sort_ctx = m;
	qsort(m->order, m->n, sizeof(*m->order), cmp_order);
	for (i = 0; i < m->n; i++)
		m->rank[m->order[i]] = i;
	/* A receive whose Lamport value is not above its send's cannot come
	 * from our rules: drop the match rather than break the order. */
	for (i = 0; i < m->n; i++) {
		long s = m->send_of[i];

		if (s >= 0 && m->rank[s] >= m->rank[i]) {
			m->send_of[i] = -1;
			m->matched--;
			m->mismatched++;
			m->unmatched++;
		}
	}
	vector_clocks(m);
	return 0;
}

static bool vc_leq(const struct trace_merge *m, size_t a, size_t b)
{
	size_t k = m->nnodes, j;

	for (j = 0; j < k; j++)
		if (m->vc[a * k + j] > m->vc[b * k + j])
			return false;
	return true;
}

bool trace_merge__before(const struct trace_merge *m, size_t a, size_t b)
{
	return a != b && vc_leq(m, a, b);
}

bool trace_merge__concurrent(const struct trace_merge *m, size_t a, size_t b)
{
	return !vc_leq(m, a, b) && !vc_leq(m, b, a);
}
