// SPDX-License-Identifier: GPL-2.0
/*
 * The simulator's invariant checker, run after every event:
 *
 *   election safety      at most one leader per term, ever
 *   leader completeness  a new leader's log holds every entry committed
 *                        before it (as far as its log is not compacted)
 *   log matching         two logs with an entry of the same index and term
 *                        agree on every entry up to it
 *   state-machine safety every member that applies index i has the same
 *                        state-machine hash after it (a hash chain, so the
 *                        same entries in the same order)
 *   read freshness       a read is served at an index no lower than the
 *                        highest write acknowledged before it was issued,
 *                        and a lease read only with a SYNCHRONIZED clock
 *   lease disjointness   while a leader's lease read is allowed (by its own
 *                        TT.now()), no leader of a later term exists yet and
 *                        no other leader holds a lease: in true time, the
 *                        simulator's clock, not any member's
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sim_internal.h"

void sim_check__free(struct sim_check *ck)
{
	free(ck->leader_of);
	free(ck->committed_term);
	free(ck->chain);
	memset(ck, 0, sizeof(*ck));
}

static int grow_index(struct sim_check *ck, uint64_t index)
{
	size_t cap = ck->index_cap;

	if (index < ck->index_cap)
		return 0;
	if (sim_grow((void **)&ck->committed_term, &cap, index + 1, 8))
		return -ENOMEM;
	cap = ck->index_cap;
	if (sim_grow((void **)&ck->chain, &cap, index + 1, 8))
		return -ENOMEM;
	memset(ck->committed_term + ck->index_cap, 0,
	       (cap - ck->index_cap) * 8);
	memset(ck->chain + ck->index_cap, 0, (cap - ck->index_cap) * 8);
	ck->index_cap = cap;
	return 0;
}

int sim_check__applied(struct sim *s, struct sim_node *n, uint64_t index,
		       uint64_t term, uint64_t hash)
{
	struct sim_check *ck = &s->ck;

	if (grow_index(ck, index))
		return -ENOMEM;
	if (!ck->chain[index]) {
		ck->chain[index] = hash;
		if (term)
			ck->committed_term[index] = term;
		if (index > ck->max_committed)
			ck->max_committed = index;
	} else if (ck->chain[index] != hash) {
		sim_violation(s, "state-machine safety: member %u differs "
			      "after applying index %llu", n->id,
			      (unsigned long long)index);
	}
	if (term && ck->committed_term[index] &&
	    ck->committed_term[index] != term)
		sim_violation(s, "state-machine safety: member %u applied "
			      "term %llu at %llu, others term %llu", n->id,
			      (unsigned long long)term,
			      (unsigned long long)index,
			      (unsigned long long)ck->committed_term[index]);
	return 0;
}

static void check_completeness(struct sim *s, struct sim_node *n)
{
	const struct sim_check *ck = &s->ck;
	uint64_t first = raft__first_index(n->r);

	for (uint64_t i = first; i <= ck->max_committed; i++) {
		if (!ck->committed_term[i])
			continue;	/* known only through a snapshot */
		if (raft__term_at(n->r, i) != ck->committed_term[i]) {
			sim_violation(s, "leader completeness: leader %u of "
				      "term %llu lacks committed entry %llu",
				      n->id,
				      (unsigned long long)raft__term(n->r),
				      (unsigned long long)i);
			return;
		}
	}
}

static int check_leader(struct sim *s, struct sim_node *n)
{
	struct sim_check *ck = &s->ck;
	uint64_t term = raft__term(n->r);
	size_t cap = ck->terms_cap;

	if (term >= ck->terms_cap) {
		if (sim_grow((void **)&ck->leader_of, &cap, term + 1, 4))
			return -ENOMEM;
		memset(ck->leader_of + ck->terms_cap, 0,
		       (cap - ck->terms_cap) * 4);
		ck->terms_cap = cap;
	}
	if (ck->leader_of[term] == n->id)
		return 0;
	if (ck->leader_of[term]) {
		sim_violation(s, "election safety: members %u and %u both "
			      "lead term %llu", ck->leader_of[term], n->id,
			      (unsigned long long)term);
		return 0;
	}
	ck->leader_of[term] = n->id;
	s->res->elections++;
	if (term > ck->max_leader_term)
		ck->max_leader_term = term;
	if (term > s->res->max_term)
		s->res->max_term = term;
	sim_trace(s, 5, n->id, term);
	check_completeness(s, n);
	return 0;
}

static bool same_entry(const struct raft_entry *a, const struct raft_entry *b)
{
	return a->term == b->term && a->type == b->type && a->len == b->len &&
	       (!a->len || !memcmp(a->data, b->data, a->len));
}

static void check_pair(struct sim *s, struct sim_node *a, struct sim_node *b)
{
	uint64_t lo = raft__first_index(a->r), hi = raft__last_index(a->r);
	uint64_t i;

	if (raft__first_index(b->r) > lo)
		lo = raft__first_index(b->r);
	if (raft__last_index(b->r) < hi)
		hi = raft__last_index(b->r);
	for (i = hi; i >= lo && i > 0; i--)
		if (raft__term_at(a->r, i) == raft__term_at(b->r, i))
			break;
	for (; i >= lo && i > 0; i--) {
		if (!same_entry(raft__entry(a->r, i), raft__entry(b->r, i))) {
			sim_violation(s, "log matching: members %u and %u "
				      "differ at %llu below a common entry",
				      a->id, b->id, (unsigned long long)i);
			return;
		}
	}
}

static void check_lease(struct sim *s, struct sim_node *n, uint32_t *holder,
			uint64_t *holder_term)
{
	struct gnomon_tt tt;
	uint64_t term = raft__term(n->r);

	sim_tt(s, n, &tt);
	if (raft__read_mode(n->r, &tt) != RAFT_READ_LEASE)
		return;
	if (term < s->ck.max_leader_term)
		sim_violation(s, "lease disjointness: member %u still holds "
			      "the term %llu lease at true time %llu, after "
			      "a leader of term %llu was elected", n->id,
			      (unsigned long long)term,
			      (unsigned long long)(s->now - SIM_T0),
			      (unsigned long long)s->ck.max_leader_term);
	if (*holder && *holder_term != term)
		sim_violation(s, "lease disjointness: members %u and %u both "
			      "hold a lease", *holder, n->id);
	*holder = n->id;
	*holder_term = term;
}

int sim_check__step(struct sim *s)
{
	uint32_t n = s->cfg.n_members, holder = 0;
	uint64_t holder_term = 0;
	int rc;

	for (uint32_t i = 1; i <= n; i++) {
		struct sim_node *a = &s->nodes[i];

		if (!a->up)
			continue;
		if (raft__role(a->r) == RAFT_LEADER) {
			rc = check_leader(s, a);
			if (rc)
				return rc;
		}
		for (uint32_t j = i + 1; j <= n; j++)
			if (s->nodes[j].up)
				check_pair(s, a, &s->nodes[j]);
	}
	/* Leases after leaders, so that max_leader_term is current. */
	for (uint32_t i = 1; i <= n; i++)
		if (s->nodes[i].up &&
		    raft__role(s->nodes[i].r) == RAFT_LEADER)
			check_lease(s, &s->nodes[i], &holder, &holder_term);
	return 0;
}

void sim_check__read(struct sim *s, struct sim_node *n,
		     const struct raft_read *rd)
{
	for (size_t i = 0; i < n->n_reads; i++) {
		struct sim_read *r = &n->reads[i];

		if (r->id != rd->id)
			continue;
		if (!rd->status && rd->index < r->required)
			sim_violation(s, "stale read: member %u served read "
				      "%llu at index %llu, but %llu was "
				      "acknowledged before it", n->id,
				      (unsigned long long)rd->id,
				      (unsigned long long)rd->index,
				      (unsigned long long)r->required);
		if (!rd->status && rd->mode == RAFT_READ_LEASE) {
			struct gnomon_tt tt;

			sim_tt(s, n, &tt);
			if (tt.status != GNOMON_STATUS_SYNCHRONIZED)
				sim_violation(s, "member %u served a lease "
					      "read with its clock "
					      "unsynchronized", n->id);
			s->res->lease_reads++;
		}
		else if (!rd->status)
			s->res->index_reads++;
		*r = n->reads[--n->n_reads];
		return;
	}
	sim_violation(s, "member %u answered unknown read %llu", n->id,
		      (unsigned long long)rd->id);
}
