/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny in-process Raft cluster for the core's tests: members r[1..n]
 * (NULL: not started yet, e.g. a member about to join), messages copied
 * through the real peer codec and delivered in order, nothing lost unless
 * a member is cut off; persistence completes at once unless the member is
 * `manual`.  Time is a plain counter read as a TrueTime interval of
 * +-BOUND.
 */
#ifndef GNOMOND_RAFT_TEST_CLUSTER_H
#define GNOMOND_RAFT_TEST_CLUSTER_H

#include <errno.h>
#include "../ktap.h"
#include "../../tools/gnomond/raft/raft.h"
#include "../../tools/gnomond/peer/peer_codec.h"

#define MS		1000000ULL
#define BOUND		(2 * MS)
#define MAX_QUEUE	4096

struct frame {
	uint8_t *buf;
	size_t len;
	uint32_t to;
};

struct cluster {
	uint32_t n;
	struct raft *r[RAFT_MAX_MEMBERS + 1];
	bool cut[RAFT_MAX_MEMBERS + 1];		/* isolated */
	bool manual[RAFT_MAX_MEMBERS + 1];	/* persist only when told */
	uint64_t pending_seq[RAFT_MAX_MEMBERS + 1];
	size_t lost_log[RAFT_MAX_MEMBERS + 1];	/* -EUCLEAN from step */
	uint64_t applied[RAFT_MAX_MEMBERS + 1];
	uint32_t status;
	uint64_t now;
	struct peer_codec codec;
	struct frame q[MAX_QUEUE];
	size_t qlen;
	struct raft_ready last[RAFT_MAX_MEMBERS + 1];	/* last ready seen */
	struct raft_hard_state batch_hs[RAFT_MAX_MEMBERS + 1];
	size_t sent[RAFT_MAX_MEMBERS + 1];
	size_t batches, batch_entries, restores;
	uint8_t restored[64];
	size_t restored_len;
	struct raft_membership restored_conf;
	uint64_t read_id, read_index;
	uint32_t read_mode;
	int read_status;
};

static inline void tt(const struct cluster *c, struct gnomon_tt *t)
{
	memset(t, 0, sizeof(*t));
	t->status = c->status;
	t->realtime_ns = c->now;
	if (c->status == GNOMON_STATUS_SYNCHRONIZED) {
		t->earliest_ns = c->now - BOUND;
		t->latest_ns = c->now + BOUND;
		t->bound_ns = BOUND;
	} else {
		t->latest_ns = UINT64_MAX;
		t->bound_ns = GNOMON_BOUND_INFINITE;
	}
}

static inline void ready(struct cluster *c, uint32_t i);

static inline void persisted(struct cluster *c, uint32_t i)
{
	struct gnomon_tt t;

	tt(c, &t);
	if (c->pending_seq[i] && !raft__persisted(c->r[i], c->pending_seq[i],
						  &t))
		c->pending_seq[i] = 0;
	ready(c, i);
}

static inline void ready(struct cluster *c, uint32_t i)
{
	struct raft_ready rd;

	if (raft__ready(c->r[i], &rd))
		abort();
	c->last[i] = rd;
	if (rd.persist_seq) {
		c->batches++;
		c->batch_entries += rd.n_entries;
		c->pending_seq[i] = rd.persist_seq;
		c->batch_hs[i] = rd.hs;
	}
	c->sent[i] += rd.n_msgs;
	if (rd.snapshot) {
		c->restores++;
		c->restored_len = rd.snapshot->len < sizeof(c->restored) ?
				  rd.snapshot->len : sizeof(c->restored);
		memcpy(c->restored, rd.snapshot->data, c->restored_len);
		c->restored_conf = rd.snapshot->membership;
	}
	for (size_t k = 0; k < rd.n_msgs; k++) {
		struct frame *f = &c->q[c->qlen++];
		size_t need = peer_msg__encoded_size(&rd.msgs[k]);

		if (c->qlen == MAX_QUEUE)
			abort();
		f->buf = malloc(need);
		f->to = rd.msgs[k].to;
		if (peer_codec__encode(&c->codec, &rd.msgs[k], f->buf, need,
				       &f->len))
			abort();
	}
	c->applied[i] += rd.n_committed;
	if (rd.snapshot)
		c->applied[i] = rd.snapshot->index + rd.n_committed;
	for (size_t k = 0; k < rd.n_reads; k++) {
		c->read_id = rd.reads[k].id;
		c->read_index = rd.reads[k].index;
		c->read_mode = rd.reads[k].mode;
		c->read_status = rd.reads[k].status;
	}
	if (rd.persist_seq && !c->manual[i])
		persisted(c, i);
}

static inline void deliver_all(struct cluster *c)
{
	struct gnomon_tt t;

	for (int rounds = 0; c->qlen && rounds < 100000; rounds++) {
		struct frame f = c->q[0];
		struct raft_msg m;

		memmove(c->q, c->q + 1, --c->qlen * sizeof(c->q[0]));
		if (peer_codec__decode(&c->codec, f.buf, f.len, &m, NULL))
			abort();
		if (c->r[f.to] && !c->cut[f.to] && !c->cut[m.from]) {
			int rc;

			tt(c, &t);
			rc = raft__step(c->r[f.to], &m, &t);
			if (rc == -EUCLEAN)
				c->lost_log[f.to]++;
			else if (rc)
				abort();
			ready(c, f.to);
		}
		free(f.buf);
	}
}

static inline void tick(struct cluster *c, uint32_t i)
{
	struct gnomon_tt t;

	tt(c, &t);
	raft__tick(c->r[i], &t);
	ready(c, i);
}

static inline void tick_all(struct cluster *c)
{
	c->now += 10 * MS;
	for (uint32_t i = 1; i <= c->n; i++)
		if (c->r[i])
			tick(c, i);
	deliver_all(c);
}

static inline void cluster_init(struct cluster *c, uint32_t n,
				uint64_t lease_ns, uint32_t trailing)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->now = 1000000 * MS;
	c->status = GNOMON_STATUS_SYNCHRONIZED;
	if (peer_codec__init(&c->codec, "core test cluster key", 21))
		abort();
	for (uint32_t i = 1; i <= n; i++) {
		struct raft_config cfg;

		raft_config__defaults(&cfg, i, n);
		cfg.lease_ns = lease_ns;
		cfg.trailing_entries = trailing;
		cfg.max_snapshot_chunk = 3;	/* several chunks per snapshot */
		if (raft__new(&c->r[i], &cfg, NULL))
			abort();
	}
}

static inline void cluster_free(struct cluster *c)
{
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++)
		raft__free(c->r[i]);
	for (size_t k = 0; k < c->qlen; k++)
		free(c->q[k].buf);
	peer_codec__free(&c->codec);
}

/* Commit n proposals at leader l with every member that is not cut off. */
static inline bool commit_some(struct cluster *c, uint32_t l, int n)
{
	for (int k = 0; k < n; k++) {
		if (raft__propose(c->r[l], &k, sizeof(k), NULL))
			return false;
		ready(c, l);
		deliver_all(c);
	}
	return true;
}

/* Let member i time out first, and run until a leader emerges. */
static inline uint32_t elect(struct cluster *c, uint32_t i)
{
	for (int k = 0; k < 200; k++) {
		c->now += 10 * MS;
		tick(c, i);
		deliver_all(c);
		for (uint32_t j = 1; j <= c->n; j++)
			if (c->r[j] && !c->cut[j] &&
			    raft__role(c->r[j]) == RAFT_LEADER)
				return j;
	}
	return 0;
}

#endif /* GNOMOND_RAFT_TEST_CLUSTER_H */
