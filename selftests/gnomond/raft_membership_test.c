// SPDX-License-Identifier: GPL-2.0
/*
 * Membership changes in the Raft core (raft.h, "Membership"), scenario by
 * scenario on the in-process cluster of raft_test_cluster.h: a member
 * joining with n_members = 0 stays quiet until it has the config, catches
 * up as a learner that counts for no quorum, and counts once promoted; a
 * removed follower learns of its removal and never campaigns; a leader
 * that removes itself hands out the commit and steps down, and one that
 * restarted with its removal pending campaigns to finish it; an update
 * (MemberUpdate) keeps the config, is one change like the others and
 * carries its context to the followers; one change at
 * a time (-EBUSY) and the argument checks (-EINVAL); the config survives a
 * restart from the log; a truncated uncommitted change rolls back; a
 * snapshot carries its config to a member that joins after compaction;
 * with a second change let through (RAFT_FAULT_CONF_TWICE) a commit is
 * lost.
 */
#include "raft_test_cluster.h"

#define BIT(s)	(1U << (s))

/* Start member `slot` to join the cluster: no voters known, empty log. */
static void start_joiner(struct cluster *c, uint32_t slot)
{
	struct raft_config cfg;

	raft_config__defaults(&cfg, slot, 0);
	cfg.max_snapshot_chunk = 3;
	if (raft__new(&c->r[slot], &cfg, NULL))
		abort();
	if (c->n < slot)
		c->n = slot;
}

/* Propose a change at leader l and run until it commits; its index or 0. */
static uint64_t change(struct cluster *c, uint32_t l, uint32_t op,
		       uint32_t slot)
{
	uint64_t idx;
	char ctx[8];

	snprintf(ctx, sizeof(ctx), "m%u", slot);
	if (raft__propose_conf(c->r[l], op, slot, ctx, strlen(ctx), &idx))
		return 0;
	ready(c, l);
	deliver_all(c);
	for (int k = 0; k < 3; k++)
		tick_all(c);
	return raft__commit(c->r[l]) >= idx ? idx : 0;
}

static bool conf_is(const struct raft *r, uint32_t voters, uint32_t learners)
{
	struct raft_membership m;

	raft__membership(r, &m);
	return m.voters == voters && m.learners == learners;
}

/* Only member i runs, cut off, for `ticks` heartbeats: does it campaign? */
static bool stays_quiet(struct cluster *c, uint32_t i, int ticks)
{
	uint64_t term = raft__term(c->r[i]);

	c->cut[i] = true;
	for (int k = 0; k < ticks; k++) {
		c->now += 10 * MS;
		tick(c, i);
		deliver_all(c);
	}
	c->cut[i] = false;
	return raft__term(c->r[i]) == term &&
	       raft__role(c->r[i]) == RAFT_FOLLOWER;
}

/* Run every member until one that is not cut off leads. */
static uint32_t elect_any(struct cluster *c)
{
	for (int k = 0; k < 300; k++) {
		tick_all(c);
		for (uint32_t j = 1; j <= c->n; j++)
			if (c->r[j] && !c->cut[j] &&
			    raft__role(c->r[j]) == RAFT_LEADER)
				return j;
	}
	return 0;
}

/* Propose one entry at l; true if it commits with who is not cut off. */
static bool commits(struct cluster *c, uint32_t l)
{
	uint64_t idx;
	int v = 7;

	if (raft__propose(c->r[l], &v, sizeof(v), &idx))
		return false;
	ready(c, l);
	deliver_all(c);
	tick_all(c);
	return raft__commit(c->r[l]) >= idx;
}

KTAP_TEST(conf_learner_catches_up_then_counts_once_promoted)
{
	struct raft_conf_change cc;
	struct cluster c;
	uint32_t l, f1, f2;
	uint64_t idx;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	f1 = l % 3 + 1;
	f2 = f1 % 3 + 1;
	KTAP_ASSERT(t, commit_some(&c, l, 5), "commit");
	start_joiner(&c, 4);
	KTAP_EXPECT(t, conf_is(c.r[4], 0, 0), "a joiner knows no config");
	KTAP_EXPECT(t, stays_quiet(&c, 4, 100), "the joiner campaigned");
	KTAP_ASSERT(t, (idx = change(&c, l, RAFT_CONF_ADD_LEARNER, 4)),
		    "add learner did not commit");
	KTAP_EXPECT(t, raft__commit(c.r[4]) == raft__commit(c.r[l]),
		    "learner at %llu of %llu",
		    (unsigned long long)raft__commit(c.r[4]),
		    (unsigned long long)raft__commit(c.r[l]));
	KTAP_EXPECT(t, conf_is(c.r[4], 0xe, BIT(4)) &&
		    conf_is(c.r[f1], 0xe, BIT(4)), "config not replicated");
	KTAP_ASSERT(t, !raft_conf__decode(raft__entry(c.r[4], idx), &cc),
		    "conf entry does not decode");
	KTAP_EXPECT(t, cc.op == RAFT_CONF_ADD_LEARNER && cc.slot == 4 &&
		    cc.ctx_len == 2 && !memcmp(cc.ctx, "m4", 2), "conf entry");
	KTAP_EXPECT(t, stays_quiet(&c, 4, 100), "the learner campaigned");
	/* A learner does not make a quorum with the leader. */
	c.cut[f1] = c.cut[f2] = true;
	KTAP_EXPECT(t, !commits(&c, l), "committed with a learner's ack");
	c.cut[f1] = c.cut[f2] = false;
	tick_all(&c);
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_PROMOTE, 4), "promote");
	KTAP_EXPECT(t, conf_is(c.r[4], 0x1e, 0) && conf_is(c.r[l], 0x1e, 0),
		    "promotion not in effect");
	/* Four voters: the leader and f2 are not enough, with 4 they are. */
	c.cut[f1] = c.cut[4] = true;
	KTAP_EXPECT(t, !commits(&c, l), "committed with 2 of 4 voters");
	c.cut[4] = false;
	KTAP_EXPECT(t, commits(&c, l), "no commit with 3 of 4 voters");
	cluster_free(&c);
}

KTAP_TEST(conf_removed_follower_stops_campaigning)
{
	struct cluster c;
	uint32_t l, f, other;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	f = l % 3 + 1;
	other = f % 3 + 1;
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_REMOVE, f), "remove");
	KTAP_EXPECT(t, conf_is(c.r[l], 0xe & ~BIT(f), 0) &&
		    conf_is(c.r[f], 0xe & ~BIT(f), 0),
		    "the removal is not in effect on both");
	KTAP_EXPECT(t, stays_quiet(&c, f, 100), "the removed member campaigned");
	c.cut[f] = true;
	KTAP_EXPECT(t, commits(&c, l), "no commit with 2 of 2 voters");
	c.cut[other] = true;
	KTAP_EXPECT(t, !commits(&c, l), "committed with 1 of 2 voters");
	cluster_free(&c);
}

KTAP_TEST(conf_removed_leader_hands_out_commit_and_steps_down)
{
	struct cluster c;
	uint32_t l, nl, f1, f2;
	uint64_t idx;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	f1 = l % 3 + 1;
	f2 = f1 % 3 + 1;
	KTAP_ASSERT(t, !raft__propose_conf(c.r[l], RAFT_CONF_REMOVE, l, NULL,
					   0, &idx), "remove self");
	KTAP_EXPECT(t, raft__role(c.r[l]) == RAFT_LEADER,
		    "stepped down before the removal committed");
	ready(&c, l);
	deliver_all(&c);
	KTAP_EXPECT(t, raft__commit(c.r[l]) >= idx &&
		    raft__role(c.r[l]) == RAFT_FOLLOWER,
		    "leader did not step down (commit %llu, role %s)",
		    (unsigned long long)raft__commit(c.r[l]),
		    raft_role__name(raft__role(c.r[l])));
	KTAP_EXPECT(t, raft__commit(c.r[f1]) >= idx &&
		    raft__commit(c.r[f2]) >= idx,
		    "the removal's commit was not handed out");
	KTAP_EXPECT(t, stays_quiet(&c, l, 100), "the old leader campaigned");
	c.cut[l] = true;
	KTAP_ASSERT(t, (nl = elect_any(&c)) && nl != l, "no new leader");
	KTAP_EXPECT(t, commits(&c, nl), "the two voters do not commit");
	cluster_free(&c);
}

KTAP_TEST(conf_one_change_at_a_time_and_bad_changes)
{
	struct raft_conf_change cc;
	static const struct {
		uint32_t op, slot;
		const char *what;
	} bad[] = {
		{ RAFT_CONF_ADD_VOTER, 2, "adding a present slot" },
		{ RAFT_CONF_ADD_LEARNER, 3, "adding a present slot" },
		{ RAFT_CONF_PROMOTE, 2, "promoting a voter" },
		{ RAFT_CONF_PROMOTE, 6, "promoting an absent slot" },
		{ RAFT_CONF_REMOVE, 5, "removing an absent slot" },
		{ RAFT_CONF_ADD_LEARNER, 10, "slot 10" },
		{ RAFT_CONF_ADD_LEARNER, 0, "slot 0" },
		{ RAFT_CONF_UPDATE, 7, "updating an absent slot" },
		{ 9, 4, "an unknown op" },
	};
	struct cluster c;
	struct raft_config cfg;
	struct raft *r;
	uint32_t l;
	uint64_t idx;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	KTAP_EXPECT(t, raft__propose_conf(c.r[l % 3 + 1], RAFT_CONF_REMOVE, 1,
					  NULL, 0, NULL) == -ENOTCONN,
		    "a follower took a change");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, raft__propose_conf(c.r[l], bad[i].op, bad[i].slot,
						  NULL, 0, NULL) == -EINVAL,
			    "%s accepted", bad[i].what);
	KTAP_ASSERT(t, !raft__propose_conf(c.r[l], RAFT_CONF_ADD_LEARNER, 4,
					   NULL, 0, &idx), "first change");
	KTAP_EXPECT(t, raft__propose_conf(c.r[l], RAFT_CONF_ADD_LEARNER, 5,
					  NULL, 0, NULL) == -EBUSY,
		    "a second change while one is pending");
	KTAP_EXPECT(t, raft__propose_conf(c.r[l], RAFT_CONF_UPDATE, 1,
					  NULL, 0, NULL) == -EBUSY,
		    "an update while a change is pending");
	ready(&c, l);
	deliver_all(&c);
	KTAP_ASSERT(t, raft__commit(c.r[l]) >= idx, "first change committed");
	KTAP_ASSERT(t, !raft__propose_conf(c.r[l], RAFT_CONF_UPDATE, 4, "new",
					   3, &idx), "update");
	KTAP_EXPECT(t, raft__propose_conf(c.r[l], RAFT_CONF_REMOVE, 4, NULL, 0,
					  NULL) == -EBUSY,
		    "a change while an update is pending");
	ready(&c, l);
	deliver_all(&c);
	KTAP_EXPECT(t, raft__commit(c.r[l]) >= idx &&
		    conf_is(c.r[l], 0xe, BIT(4)), "update changed the config");
	KTAP_ASSERT(t, !raft_conf__decode(raft__entry(c.r[l % 3 + 1], idx), &cc),
		    "the update does not decode at a follower");
	KTAP_EXPECT(t, cc.op == RAFT_CONF_UPDATE && cc.slot == 4 &&
		    cc.ctx_len == 3 && !memcmp(cc.ctx, "new", 3),
		    "the update's context at a follower");
	KTAP_EXPECT(t, !raft__propose_conf(c.r[l], RAFT_CONF_ADD_LEARNER, 5,
					   NULL, 0, NULL),
		    "refused a change after the first committed");
	cluster_free(&c);

	/* The last voter cannot leave. */
	cluster_init(&c, 1, 0, 1024);
	KTAP_ASSERT(t, elect(&c, 1) == 1, "no leader");
	KTAP_EXPECT(t, raft__propose_conf(c.r[1], RAFT_CONF_REMOVE, 1, NULL, 0,
					  NULL) == -EINVAL, "removed the last");
	cluster_free(&c);

	raft_config__defaults(&cfg, 1, 0);
	KTAP_EXPECT(t, !raft__new(&r, &cfg, NULL), "n_members 0 refused");
	raft__free(r);
}

/*
 * The negative control of one change at a time: with RAFT_FAULT_CONF_TWICE
 * leader 1 promotes learner 4 and removes 2 at once.  Its new config
 * {1, 3, 4} commits with 1 and 4 alone, while 2 and 3, which got neither
 * change, still count {1, 2, 3} and elect a leader without the committed
 * entries.  (Without the fault the second change is refused: above.)
 */
KTAP_TEST(conf_two_pending_changes_lose_a_commit)
{
	struct raft_config cfg;
	struct cluster c;
	uint64_t idx;
	uint32_t nl;

	cluster_init(&c, 3, 0, 1024);
	raft__free(c.r[1]);
	raft_config__defaults(&cfg, 1, 3);
	cfg.fault_flags = RAFT_FAULT_CONF_TWICE;
	KTAP_ASSERT(t, !raft__new(&c.r[1], &cfg, NULL), "restart");
	KTAP_ASSERT(t, elect(&c, 1) == 1, "no leader");
	start_joiner(&c, 4);
	KTAP_ASSERT(t, change(&c, 1, RAFT_CONF_ADD_LEARNER, 4), "add");
	c.cut[2] = c.cut[3] = true;
	KTAP_ASSERT(t, !raft__propose_conf(c.r[1], RAFT_CONF_PROMOTE, 4, NULL,
					   0, NULL) &&
		    !raft__propose_conf(c.r[1], RAFT_CONF_REMOVE, 2, NULL, 0,
					&idx), "two changes");
	ready(&c, 1);
	deliver_all(&c);
	KTAP_ASSERT(t, raft__commit(c.r[1]) >= idx,
		    "{1, 4} did not commit the changes");
	c.cut[1] = c.cut[4] = true;
	c.cut[2] = c.cut[3] = false;
	KTAP_ASSERT(t, (nl = elect_any(&c)) == 2 || nl == 3, "no leader");
	KTAP_EXPECT(t, raft__last_index(c.r[nl]) < idx,
		    "leader %u has the committed changes", nl);
	cluster_free(&c);
}

/* Restart member i from its own log (no snapshot) with n_members. */
static int restart(struct cluster *c, uint32_t i, uint32_t n_members)
{
	uint64_t last = raft__last_index(c->r[i]);
	struct raft_entry *e = calloc(last + 1, sizeof(*e));
	struct raft_boot boot = { 0 };
	struct raft_config cfg;
	struct raft *nr;
	int rc;

	for (uint64_t k = 1; k <= last; k++)
		e[k - 1] = *raft__entry(c->r[i], k);
	boot.hs.term = raft__term(c->r[i]);
	boot.hs.commit = raft__commit(c->r[i]);
	boot.entries = e;
	boot.n_entries = last;
	raft_config__defaults(&cfg, i, n_members);
	rc = raft__new(&nr, &cfg, &boot);
	free(e);
	if (rc)
		return rc;
	raft__free(c->r[i]);
	c->r[i] = nr;
	c->pending_seq[i] = 0;
	c->applied[i] = raft__commit(nr);
	return 0;
}

/*
 * A leader that removed itself and restarted before the removal committed
 * holds the only copy of it; with member 4 down, 2 and 3 need its vote and
 * it refuses it (its log is ahead).  It must campaign itself, without
 * counting itself, commit the removal and step down; 2 or 3 then lead.
 */
KTAP_TEST(conf_pending_self_removal_campaigns)
{
	struct cluster c;
	uint32_t nl = 0;
	uint64_t idx;

	cluster_init(&c, 4, 0, 1024);
	KTAP_ASSERT(t, elect(&c, 1) == 1, "no leader");
	c.cut[2] = c.cut[3] = c.cut[4] = true;
	KTAP_ASSERT(t, !raft__propose_conf(c.r[1], RAFT_CONF_REMOVE, 1, NULL,
					   0, &idx), "remove self");
	ready(&c, 1);
	deliver_all(&c);	/* lost */
	KTAP_ASSERT(t, !restart(&c, 1, 4), "restart");
	KTAP_EXPECT(t, conf_is(c.r[1], 0x1c, 0), "removal lost at restart");
	c.cut[2] = c.cut[3] = false;
	for (int k = 0; k < 600 && nl < 2; k++) {
		tick_all(&c);
		nl = raft__role(c.r[2]) == RAFT_LEADER ? 2 :
		     raft__role(c.r[3]) == RAFT_LEADER ? 3 : 0;
	}
	KTAP_ASSERT(t, nl, "2 and 3 elected no leader");
	KTAP_EXPECT(t, raft__commit(c.r[nl]) >= idx &&
		    conf_is(c.r[nl], 0x1c, 0), "the removal did not commit");
	KTAP_EXPECT(t, raft__role(c.r[1]) == RAFT_FOLLOWER, "1 still leads");
	cluster_free(&c);
}

KTAP_TEST(conf_survives_restart)
{
	struct cluster c;
	uint32_t l, f;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	f = l % 3 + 1;
	start_joiner(&c, 4);
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_ADD_LEARNER, 4), "add");
	KTAP_ASSERT(t, !restart(&c, f, 3) && !restart(&c, 4, 0), "restart");
	KTAP_EXPECT(t, conf_is(c.r[f], 0xe, BIT(4)),
		    "a founding member lost the config at a restart");
	KTAP_EXPECT(t, conf_is(c.r[4], 0xe, BIT(4)),
		    "the joined member lost the config at a restart");
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_PROMOTE, 4), "promote");
	KTAP_ASSERT(t, !restart(&c, 4, 0), "restart");
	KTAP_EXPECT(t, conf_is(c.r[4], 0x1e, 0), "promotion lost");
	KTAP_ASSERT(t, !raft__transfer(c.r[l], 4), "transfer");
	ready(&c, l);
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, raft__role(c.r[4]) == RAFT_LEADER,
		    "the promoted joiner is not elected");
	cluster_free(&c);
}

KTAP_TEST(conf_truncated_change_rolls_back)
{
	struct cluster c;
	uint32_t l, nl;
	uint64_t idx;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	KTAP_ASSERT(t, commit_some(&c, l, 2), "commit");
	c.cut[l] = true;
	KTAP_ASSERT(t, !raft__propose_conf(c.r[l], RAFT_CONF_ADD_LEARNER, 4,
					   NULL, 0, &idx), "change");
	ready(&c, l);
	KTAP_EXPECT(t, conf_is(c.r[l], 0xe, BIT(4)),
		    "the change is not in effect once appended");
	KTAP_ASSERT(t, (nl = elect_any(&c)) && nl != l, "no new leader");
	KTAP_ASSERT(t, commit_some(&c, nl, 3), "commit");
	c.cut[l] = false;
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, raft__term_at(c.r[l], idx) == raft__term_at(c.r[nl], idx),
		    "the old leader kept its uncommitted entry");
	KTAP_EXPECT(t, conf_is(c.r[l], 0xe, 0),
		    "the truncated change is still in effect");
	cluster_free(&c);
}

KTAP_TEST(conf_snapshot_carries_the_config)
{
	struct raft_membership m;
	struct cluster c;
	uint32_t l;

	cluster_init(&c, 3, 0, 4);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	start_joiner(&c, 4);
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_ADD_LEARNER, 4), "add");
	KTAP_ASSERT(t, commit_some(&c, l, 20), "commit");
	KTAP_ASSERT(t, !raft__membership_at(c.r[l], c.applied[l], &m) &&
		    m.voters == 0xe && m.learners == BIT(4), "membership_at");
	KTAP_ASSERT(t, !raft__snapshot_taken(c.r[l], c.applied[l], "image", 5),
		    "snapshot");
	KTAP_EXPECT(t, raft__membership_at(c.r[l], 1, &m) == -EINVAL,
		    "membership_at before the snapshot");
	start_joiner(&c, 5);
	c.restores = 0;
	KTAP_ASSERT(t, change(&c, l, RAFT_CONF_ADD_LEARNER, 5), "add");
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, c.restores == 1 && c.restored_conf.voters == 0xe &&
		    c.restored_conf.learners == BIT(4),
		    "%zu restores, config %#x/%#x", c.restores,
		    c.restored_conf.voters, c.restored_conf.learners);
	KTAP_EXPECT(t, conf_is(c.r[5], 0xe, BIT(4) | BIT(5)) &&
		    raft__commit(c.r[5]) == raft__commit(c.r[l]),
		    "the joiner is not caught up");
	cluster_free(&c);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
