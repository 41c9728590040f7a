// SPDX-License-Identifier: GPL-2.0
/*
 * Membership changes in the simulation (sim.h: cfg.membership), mixed into
 * the fault schedule as an operator would make them.
 *
 * The cluster starts with voters 1..n and two spare slots (at most
 * RAFT_MAX_MEMBERS).  Now and then the fault schedule asks the leader for
 * one change: add a learner or a voter in a free slot, promote a learner,
 * remove a learner or a voter (the leader itself included), or update a
 * member (RAFT_CONF_UPDATE, MemberUpdate's new peer URLs: the same config,
 * but a change all the same, one at a time with the others; not with
 * RAFT_FAULT_CONF_TWICE, below).  The number of voters stays between n and
 * n + 1, and a voter is added or promoted only while every voter runs and
 * none carries a cut record (as etcd's strict reconfiguration check would
 * refuse it): with the loss rule of the schedule (at most (n - 1) / 2
 * members carry a cut record, counting a voter added but not yet started),
 * a quorum can always vote again.  As in etcd, the new member is started
 * only once its addition has committed: a fresh disk, n_members = 0.  A
 * member whose removal has committed keeps running (it must stay quiet: the
 * checker sees any leader it would make) until the next change, when it is
 * shut down and its disk wiped, so that its slot can be added again: a
 * member replaced after losing its disk.  Changes are acted upon when the
 * first member applies them; removed and absent members do not count for
 * convergence.
 *
 * The checker needs nothing new: one leader per term, leader
 * completeness, state-machine safety, read freshness and lease
 * disjointness must hold with the changes mixed in.  A core that lets a
 * second change be pending (RAFT_FAULT_CONF_TWICE) or counts learners'
 * acks for commit and lease quorums (RAFT_FAULT_LEARNER_QUORUM) must be
 * caught (selftests/gnomond/raft_sim_test.c).
 */
#include <errno.h>
#include <string.h>
#include "sim_internal.h"

#define SIM_SPARE_SLOTS	2

void sim_membership__init(struct sim *s)
{
	uint32_t slots = s->cfg.n_members + SIM_SPARE_SLOTS;

	s->n_initial = s->cfg.n_members;
	if (!s->cfg.membership)
		return;
	if (slots > RAFT_MAX_MEMBERS)
		slots = RAFT_MAX_MEMBERS;
	for (uint32_t i = s->n_initial + 1; i <= slots; i++) {
		struct sim_node *n = &s->nodes[i];

		n->id = i;
		n->absent = true;
		n->restart_at = UINT64_MAX;
		n->tick_ns = SIM_TICK_NS - SIM_TICK_NS / 100 +
			     sim_between(s, 0, SIM_TICK_NS / 50);
	}
	s->cfg.n_members = slots;
}

bool sim_membership__counts(const struct sim *s, uint32_t i)
{
	const struct sim_node *n = &s->nodes[i];

	return n->r && !n->absent && !n->removed;
}

/* The up leader of the highest term, or NULL. */
static struct sim_node *leader(struct sim *s)
{
	struct sim_node *best = NULL;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		struct sim_node *n = &s->nodes[i];

		if (n->up && raft__role(n->r) == RAFT_LEADER &&
		    (!best || raft__term(n->r) > raft__term(best->r)))
			best = n;
	}
	return best;
}

/* Shut a removed member down for good and wipe its disk. */
static void decommission(struct sim *s, struct sim_node *n)
{
	if (n->up)
		sim_node__crash(s, n);
	sim_disk__free(n);
	memset(&n->disk, 0, sizeof(n->disk));
	n->absent = true;
	n->removed = false;
	n->restart_at = UINT64_MAX;
	sim_trace(s, 11, n->id, 0);
}

struct change {
	uint32_t op, slot;
};

/*
 * Voters that do not run yet: slots added as voters whose node has not
 * started (the addition may still be in some member's log, crashed ones
 * included, until it commits or is cut off).
 */
uint32_t sim_membership__missing(const struct sim *s)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		k += s->nodes[i].absent && s->nodes[i].voter_pending;
	return k;
}

/* Does every voter of m run, with no cut record? */
static bool voters_healthy(const struct sim *s, const struct raft_membership *m)
{
	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		if ((m->voters & (1U << i)) &&
		    (!s->nodes[i].up || raft__lost_upto(s->nodes[i].r)))
			return false;
	return true;
}

/* Every change the schedule allows from config m; with @update, one
 * update too, of the members in turn. */
static size_t candidates(const struct sim *s, const struct raft_membership *m,
			 bool update, struct change *c)
{
	uint32_t voters = (uint32_t)__builtin_popcount(m->voters);
	uint32_t all = m->voters | m->learners;
	bool grow = voters <= s->n_initial && voters_healthy(s, m);
	uint32_t turn = (uint32_t)(s->res->conf_changes %
				   (uint64_t)__builtin_popcount(all));
	size_t k = 0;

	for (uint32_t i = 1; update && i <= RAFT_MAX_MEMBERS; i++)
		if ((all & (1U << i)) && !turn--)
			c[k++] = (struct change){ RAFT_CONF_UPDATE, i };

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		uint32_t bit = 1U << i;

		if (m->learners & bit) {
			c[k++] = (struct change){ RAFT_CONF_REMOVE, i };
			if (grow)
				c[k++] = (struct change){ RAFT_CONF_PROMOTE, i };
		} else if (m->voters & bit) {
			if (voters > s->n_initial)
				c[k++] = (struct change){ RAFT_CONF_REMOVE, i };
		} else if (s->nodes[i].absent) {
			c[k++] = (struct change){ RAFT_CONF_ADD_LEARNER, i };
			if (grow)
				c[k++] = (struct change){ RAFT_CONF_ADD_VOTER,
							  i };
		}
	}
	return k;
}

/* Ask leader l for one change allowed from its config (an update too if
 * @update): 0, or 1 if it was refused (-EBUSY, -ENOTCONN) or none is
 * allowed. */
static int one_change(struct sim *s, struct sim_node *l, bool update)
{
	struct change c[2 * RAFT_MAX_MEMBERS + 1];
	struct raft_membership m;
	size_t k;
	int rc;

	raft__membership(l->r, &m);
	k = candidates(s, &m, update, c);
	if (!k)
		return 1;
	k = sim_between(s, 0, k - 1);
	rc = raft__propose_conf(l->r, c[k].op, c[k].slot, &c[k].slot,
				sizeof(c[k].slot), NULL);
	if (rc == -EBUSY || rc == -ENOTCONN)
		return 1;
	if (rc) {
		sim_violation(s, "member %u: change %u of slot %u: %d",
			      l->id, c[k].op, c[k].slot, rc);
		return 1;
	}
	if (c[k].op == RAFT_CONF_ADD_VOTER)
		s->nodes[c[k].slot].voter_pending = true;
	sim_trace(s, 10, c[k].op, c[k].slot);
	return 0;
}

/*
 * One change; a third of the time a second one right away, which the core
 * must refuse while the first is pending (RAFT_FAULT_CONF_TWICE lets it
 * through: the checker must then catch it).  The second is never an
 * update, and with that fault on there are no updates at all: an update
 * pending with another change is harmless (the same config), the fault
 * shows only when two changes that move voters are pending, and updates
 * make that too rare to catch (not in 8000 seeds, tried; in 929 without).
 */
int sim_membership__change(struct sim *s)
{
	bool update = !(s->cfg.fault_flags & RAFT_FAULT_CONF_TWICE);
	struct sim_node *l;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		if (s->nodes[i].removed)
			decommission(s, &s->nodes[i]);
	l = leader(s);
	if (!l || one_change(s, l, update))
		return 0;
	if (!sim_between(s, 0, 2))
		one_change(s, l, false);
	return sim_node__ready(s, l);
}

void sim_membership__applied(struct sim *s, const struct raft_entry *e)
{
	struct raft_conf_change cc;
	struct sim_node *n;

	if (e->type != RAFT_ENTRY_CONF || e->index <= s->conf_applied)
		return;
	s->conf_applied = e->index;
	if (raft_conf__decode(e, &cc)) {
		sim_violation(s, "conf entry %llu does not decode",
			      (unsigned long long)e->index);
		return;
	}
	s->res->conf_changes++;
	n = &s->nodes[cc.slot];
	switch (cc.op) {
	case RAFT_CONF_ADD_LEARNER:
	case RAFT_CONF_ADD_VOTER:
		if (!n->absent)
			break;
		n->absent = false;
		n->voter_pending = false;
		n->joined = true;
		n->restart_at = s->now + sim_between(s, 0, 100 * SIM_MS);
		break;
	case RAFT_CONF_REMOVE:
		n->removed = true;
		break;
	case RAFT_CONF_UPDATE:
		if (n->absent)
			sim_violation(s, "conf entry %llu updates slot %u, "
				      "which no member holds",
				      (unsigned long long)e->index, cc.slot);
		break;
	}
}
