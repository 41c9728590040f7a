// SPDX-License-Identifier: GPL-2.0
/*
 * The Raft core's driver contract, scenario by scenario, on a tiny
 * in-process cluster (messages copied through the real peer codec,
 * delivered in order, nothing lost unless a member is cut off):
 * commit only after persistence, group commit (one batch and one append per
 * follower for many proposals), votes held until durable, lease reads and
 * their automatic fallback to ReadIndex, the fencing token, leadership
 * transfer, lease promises blocking elections, snapshots in chunks to a
 * lagging follower, a member that lost its last record (no vote until the
 * leader gives it back), refusal of writes on followers and of malformed
 * messages.
 */
#include "raft_test_cluster.h"

KTAP_TEST(core_single_member_commits_after_persist)
{
	struct cluster c;
	uint64_t idx;

	cluster_init(&c, 1, 0, 1024);
	c.manual[1] = true;
	KTAP_ASSERT(t, elect(&c, 1) == 1, "no leader");
	KTAP_EXPECT(t, raft__fencing_token(c.r[1]) == raft__term(c.r[1]) &&
		    raft__term(c.r[1]) == 1, "token %llu",
		    (unsigned long long)raft__fencing_token(c.r[1]));
	KTAP_EXPECT(t, c.applied[1] == 0, "applied before the sync");
	persisted(&c, 1);
	KTAP_EXPECT(t, c.applied[1] == 1, "noop not applied after the sync");
	KTAP_ASSERT(t, !raft__propose(c.r[1], "a", 1, &idx) && idx == 2,
		    "propose");
	ready(&c, 1);
	KTAP_EXPECT(t, c.applied[1] == 1 && c.pending_seq[1],
		    "committed before it was durable");
	persisted(&c, 1);
	KTAP_EXPECT(t, c.applied[1] == 2, "applied %llu",
		    (unsigned long long)c.applied[1]);
	cluster_free(&c);
}

KTAP_TEST(core_group_commit_one_batch_one_message)
{
	struct cluster c;
	uint32_t l;

	cluster_init(&c, 3, 0, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	deliver_all(&c);
	c.batches = c.batch_entries = 0;
	for (int k = 0; k < 200; k++)
		KTAP_ASSERT(t, !raft__propose(c.r[l], &k, sizeof(k), NULL),
			    "propose %d", k);
	c.manual[l] = true;
	ready(&c, l);
	KTAP_EXPECT(t, c.batches == 1 && c.batch_entries == 200,
		    "%zu batches, %zu entries", c.batches, c.batch_entries);
	KTAP_EXPECT(t, c.last[l].n_msgs == 2, "%zu messages",
		    c.last[l].n_msgs);
	for (size_t k = 0; k < c.last[l].n_msgs; k++)
		KTAP_EXPECT(t, c.last[l].msgs[k].n_entries == 200,
			    "message %zu carries %u entries", k,
			    c.last[l].msgs[k].n_entries);
	/* Followers persist and ack while the leader's sync is pending:
	 * a quorum of two followers commits without the leader's disk. */
	deliver_all(&c);
	KTAP_EXPECT(t, raft__commit(c.r[l]) == raft__last_index(c.r[l]),
		    "commit %llu of %llu",
		    (unsigned long long)raft__commit(c.r[l]),
		    (unsigned long long)raft__last_index(c.r[l]));
	cluster_free(&c);
}

KTAP_TEST(core_vote_held_until_durable)
{
	struct cluster c;
	int k;

	cluster_init(&c, 3, 0, 1024);
	c.manual[1] = true;
	for (k = 0; k < 100 && raft__role(c.r[1]) != RAFT_PRE_CANDIDATE; k++)
		tick(&c, 1);
	KTAP_ASSERT(t, raft__role(c.r[1]) == RAFT_PRE_CANDIDATE, "no campaign");
	c.sent[1] = 0;
	deliver_all(&c);	/* pre-votes granted: now a candidate */
	KTAP_ASSERT(t, raft__role(c.r[1]) == RAFT_CANDIDATE, "role %s",
		    raft_role__name(raft__role(c.r[1])));
	KTAP_EXPECT(t, c.pending_seq[1] && c.sent[1] == 0,
		    "vote requests sent before the self-vote was durable");
	KTAP_EXPECT(t, c.batch_hs[1].vote == 1 && c.batch_hs[1].term == 1,
		    "hard state not in the batch");
	persisted(&c, 1);
	KTAP_EXPECT(t, c.sent[1] == 2, "%zu vote requests", c.sent[1]);
	deliver_all(&c);
	KTAP_EXPECT(t, raft__role(c.r[1]) == RAFT_LEADER, "not elected");
	cluster_free(&c);
}

static int do_read(struct cluster *c, uint32_t l)
{
	struct gnomon_tt t;
	int rc;

	tt(c, &t);
	c->read_id = 0;
	rc = raft__read(c->r[l], 99, &t);
	ready(c, l);
	return rc;
}

KTAP_TEST(core_lease_reads_and_fallback)
{
	struct cluster c;
	struct gnomon_tt now;
	uint32_t l;
	uint64_t token;

	cluster_init(&c, 3, 50 * MS, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	tick_all(&c);
	tt(&c, &now);
	KTAP_EXPECT(t, raft__read_mode(c.r[l], &now) == RAFT_READ_LEASE,
		    "no lease after a heartbeat round");
	KTAP_EXPECT(t, raft__lease_end(c.r[l]) > now.latest_ns, "lease end");
	KTAP_ASSERT(t, !do_read(&c, l), "read");
	KTAP_EXPECT(t, c.read_id == 99 && c.read_mode == RAFT_READ_LEASE &&
		    c.read_index == raft__commit(c.r[l]),
		    "lease read not answered at once");
	/* The clock loses synchronization: quorum reads, by themselves. */
	c.status = GNOMON_STATUS_UNSYNCHRONIZED;
	tt(&c, &now);
	KTAP_EXPECT(t, raft__read_mode(c.r[l], &now) == RAFT_READ_INDEX,
		    "lease read with an unsynchronized clock");
	KTAP_ASSERT(t, !do_read(&c, l), "read");
	KTAP_EXPECT(t, c.read_id == 0, "answered without a quorum round");
	deliver_all(&c);
	KTAP_EXPECT(t, c.read_id == 99 && c.read_mode == RAFT_READ_INDEX &&
		    !c.read_status, "ReadIndex not answered");
	/* Without heartbeats, the lease runs out by itself. */
	c.status = GNOMON_STATUS_SYNCHRONIZED;
	c.now += 60 * MS;
	tt(&c, &now);
	KTAP_EXPECT(t, raft__read_mode(c.r[l], &now) == RAFT_READ_INDEX,
		    "lease outlived its end");
	/* A transfer gives the lease up; the new leader's token is higher. */
	tick_all(&c);
	token = raft__fencing_token(c.r[l]);
	KTAP_ASSERT(t, !raft__transfer(c.r[l], l % 3 + 1), "transfer");
	ready(&c, l);
	tt(&c, &now);
	KTAP_EXPECT(t, raft__read_mode(c.r[l], &now) == RAFT_READ_INDEX,
		    "lease kept after TimeoutNow");
	deliver_all(&c);
	KTAP_EXPECT(t, raft__role(c.r[l % 3 + 1]) == RAFT_LEADER,
		    "transfer target did not win");
	KTAP_EXPECT(t, raft__fencing_token(c.r[l % 3 + 1]) > token &&
		    raft__fencing_token(c.r[l]) == 0, "fencing token");
	cluster_free(&c);
}

KTAP_TEST(core_promise_blocks_election)
{
	struct cluster c;
	uint32_t l, f;
	uint64_t term;

	cluster_init(&c, 3, 500 * MS, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	tick_all(&c);
	f = l % 3 + 1;
	c.cut[l] = true;	/* the leader vanishes, lease promised */
	term = raft__term(c.r[f]);
	for (int k = 0; k < 30; k++)	/* 300 ms: more than 2 timeouts */
		tick_all(&c);
	KTAP_EXPECT(t, raft__term(c.r[f]) == term &&
		    raft__role(c.r[f]) == RAFT_FOLLOWER,
		    "elected while the promise held (term %llu -> %llu)",
		    (unsigned long long)term,
		    (unsigned long long)raft__term(c.r[f]));
	for (int k = 0; k < 60; k++)	/* past the promise */
		tick_all(&c);
	for (uint32_t j = 1; j <= 3; j++)
		if (j != l && raft__role(c.r[j]) == RAFT_LEADER)
			f = 0;
	KTAP_EXPECT(t, f == 0, "no election after the promise expired");
	cluster_free(&c);
}

/* A stray higher-term message raises a follower's term without a vote;
 * its lease promise must still keep it from voting in that term. */
KTAP_TEST(core_promise_binds_after_stray_term)
{
	struct cluster c;
	struct gnomon_tt now;
	struct raft_msg m = { 0 }, out;
	uint32_t l, f, other;
	uint64_t term;

	cluster_init(&c, 3, 500 * MS, 1024);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	tick_all(&c);
	f = l % 3 + 1;
	other = 6 - l - f;
	term = raft__term(c.r[f]);
	tt(&c, &now);
	m = (struct raft_msg){ .type = RAFT_MSG_APPEND_RESP, .from = other,
			       .to = f, .term = term + 1,
			       .flags = RAFT_MSGF_REJECT };
	KTAP_ASSERT(t, !raft__step(c.r[f], &m, &now), "stray");
	KTAP_ASSERT(t, raft__term(c.r[f]) == term + 1, "term not raised");
	m = (struct raft_msg){ .type = RAFT_MSG_VOTE, .from = other, .to = f,
			       .term = term + 1,
			       .index = raft__last_index(c.r[other]),
			       .log_term = raft__term_at(c.r[other],
					raft__last_index(c.r[other])) };
	c.qlen = 0;
	KTAP_ASSERT(t, !raft__step(c.r[f], &m, &now), "vote request");
	ready(&c, f);
	KTAP_ASSERT(t, c.qlen == 1, "%zu answers", c.qlen);
	KTAP_ASSERT(t, !peer_codec__decode(&c.codec, c.q[0].buf, c.q[0].len,
					   &out, NULL), "decode");
	KTAP_EXPECT(t, out.type == RAFT_MSG_VOTE_RESP &&
		    (out.flags & RAFT_MSGF_REJECT),
		    "vote granted under a lease promise");
	cluster_free(&c);
}

KTAP_TEST(core_snapshot_to_lagging_follower)
{
	struct cluster c;
	uint32_t l, lag;

	cluster_init(&c, 3, 0, 4);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	lag = l % 3 + 1;
	c.cut[lag] = true;
	KTAP_ASSERT(t, commit_some(&c, l, 50), "propose");
	KTAP_ASSERT(t, c.applied[l] == raft__commit(c.r[l]), "applied");
	KTAP_ASSERT(t, !raft__snapshot_taken(c.r[l], c.applied[l],
					     "state machine image", 19),
		    "snapshot");
	KTAP_EXPECT(t, raft__first_index(c.r[l]) > 2, "log not compacted");
	c.cut[lag] = false;
	c.restores = 0;
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, c.restores == 1 && c.restored_len == 19 &&
		    !memcmp(c.restored, "state machine image", 19),
		    "%zu snapshot installs", c.restores);
	KTAP_EXPECT(t, raft__commit(c.r[lag]) == raft__commit(c.r[l]) &&
		    c.applied[lag] == c.applied[l], "lagging member at %llu "
		    "of %llu", (unsigned long long)raft__commit(c.r[lag]),
		    (unsigned long long)raft__commit(c.r[l]));
	cluster_free(&c);
}

/*
 * Appends lost on the way (a dropped connection) while the follower keeps
 * answering heartbeats: with no new writes to provoke a rejection, the
 * heartbeats alone must bring it back (the leader sees no progress and
 * probes again).
 */
KTAP_TEST(core_lost_appends_recovered_by_heartbeats)
{
	struct cluster c;
	uint32_t l, lag;

	cluster_init(&c, 3, 0, 64);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	lag = l % 3 + 1;
	KTAP_ASSERT(t, commit_some(&c, l, 5), "commit");
	c.cut[lag] = true;
	KTAP_ASSERT(t, commit_some(&c, l, 10), "commit");
	c.cut[lag] = false;
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, raft__commit(c.r[lag]) == raft__commit(c.r[l]),
		    "the follower is at %llu of %llu",
		    (unsigned long long)raft__commit(c.r[lag]),
		    (unsigned long long)raft__commit(c.r[l]));
	cluster_free(&c);
}

/*
 * A follower that comes back without the entries it acknowledged (a wiped
 * data directory) learns so from the leader's next heartbeat and reports
 * it; the others, one of which merely lagged, never do.
 */
KTAP_TEST(core_follower_detects_lost_log)
{
	struct cluster c;
	struct raft_config cfg;
	uint32_t l, wiped, lag;

	cluster_init(&c, 3, 0, 64);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	wiped = l % 3 + 1;
	lag = wiped % 3 + 1;
	KTAP_ASSERT(t, commit_some(&c, l, 10), "commit");
	tick_all(&c);
	KTAP_ASSERT(t, raft__last_index(c.r[wiped]) >= 10,
		    "follower has %llu entries",
		    (unsigned long long)raft__last_index(c.r[wiped]));
	c.cut[lag] = true;
	KTAP_ASSERT(t, commit_some(&c, l, 10), "commit");
	raft__free(c.r[wiped]);
	raft_config__defaults(&cfg, wiped, 3);
	KTAP_ASSERT(t, !raft__new(&c.r[wiped], &cfg, NULL), "restart empty");
	c.pending_seq[wiped] = 0;
	c.applied[wiped] = 0;
	c.cut[lag] = false;
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_EXPECT(t, c.lost_log[wiped] > 0,
		    "the wiped member never noticed (last index %llu)",
		    (unsigned long long)raft__last_index(c.r[wiped]));
	KTAP_EXPECT(t, c.lost_log[lag] == 0 && c.lost_log[l] == 0,
		    "an intact member reported a lost log");
	cluster_free(&c);
}

/*
 * Restart member i from its own log cut to `keep` entries, with the hard
 * state saying that recovery found the entries after them lost (a WAL
 * record cut inside: wal_recover.h).  fault: RAFT_FAULT_* for the member.
 */
static void restart_lost(struct cluster *c, uint32_t i, uint64_t keep,
			 uint32_t fault)
{
	struct raft_entry e[64];
	struct raft_boot boot = { 0 };
	struct raft_config cfg;

	if (keep > 64)
		abort();
	for (uint64_t k = 1; k <= keep; k++) {
		e[k - 1] = *raft__entry(c->r[i], k);
		if (e[k - 1].len) {
			uint8_t *d = malloc(e[k - 1].len);

			memcpy(d, e[k - 1].data, e[k - 1].len);
			e[k - 1].data = d;
		}
	}
	boot.hs.term = raft__term(c->r[i]);
	boot.hs.lost_upto = raft__last_index(c->r[i]);
	boot.entries = e;
	boot.n_entries = keep;
	raft__free(c->r[i]);
	raft_config__defaults(&cfg, i, c->n);
	cfg.fault_flags = fault;
	if (raft__new(&c->r[i], &cfg, &boot))
		abort();
	for (uint64_t k = 0; k < keep; k++)
		free((void *)e[k].data);
	c->pending_seq[i] = 0;
	c->applied[i] = 0;
}

/*
 * Leader l and member `lost` commit three entries while `other` is cut
 * off; `lost` then restarts without them (the record that held them was
 * cut), and l goes away.  Returns the leader that `other` and `lost` elect
 * (0: none) and sets *gone to the first committed index it lacks (0: none).
 */
static uint32_t lose_and_elect(struct cluster *c, uint32_t fault,
			       uint32_t *lost, uint64_t *gone)
{
	uint32_t l, other, nl;
	uint64_t keep;

	cluster_init(c, 3, 0, 64);
	l = elect(c, 1);
	if (!l || !commit_some(c, l, 5))
		abort();
	*lost = l % 3 + 1;
	other = *lost % 3 + 1;
	keep = raft__last_index(c->r[l]);
	c->cut[other] = true;
	if (!commit_some(c, l, 3) || raft__commit(c->r[l]) != keep + 3)
		abort();
	restart_lost(c, *lost, keep, fault);
	c->cut[other] = false;
	c->cut[l] = true;
	nl = elect(c, other);
	*gone = 0;
	for (uint64_t k = keep + 1; nl && k <= keep + 3 && !*gone; k++)
		if (raft__term_at(c->r[nl], k) != raft__term_at(c->r[l], k))
			*gone = k;
	return nl;
}

/*
 * The member that lost its last record must not help the one that never
 * had those entries win: no leader while the old one is away.  With the
 * rule off (RAFT_FAULT_LOST_VOTE) it votes, and the new leader lacks
 * committed entries: the test catches that.  Once the old leader is back,
 * the member rejoins without -EUCLEAN, gets the entries back, clears its
 * mark and votes again.
 */
KTAP_TEST(core_lost_record_no_vote_until_repaired)
{
	struct cluster c;
	uint32_t lost, l, nl;
	uint64_t gone, want;

	nl = lose_and_elect(&c, RAFT_FAULT_LOST_VOTE, &lost, &gone);
	KTAP_EXPECT(t, nl && gone, "without the rule: leader %u, lacking "
		    "committed entry %llu", nl, (unsigned long long)gone);
	cluster_free(&c);

	nl = lose_and_elect(&c, 0, &lost, &gone);
	KTAP_EXPECT(t, nl == 0, "member %u was elected, lacking committed "
		    "entry %llu", nl, (unsigned long long)gone);
	l = 0;
	for (uint32_t i = 1; i <= 3; i++)
		if (c.cut[i])
			l = i;
	want = raft__last_index(c.r[l]);
	KTAP_EXPECT(t, raft__lost_upto(c.r[lost]) == want,
		    "lost_upto %llu, want %llu",
		    (unsigned long long)raft__lost_upto(c.r[lost]),
		    (unsigned long long)want);
	c.cut[l] = false;
	for (int k = 0; k < 10; k++)
		tick_all(&c);
	KTAP_EXPECT(t, c.lost_log[lost] == 0, "-EUCLEAN %zu times",
		    c.lost_log[lost]);
	KTAP_EXPECT(t, raft__lost_upto(c.r[lost]) == 0 &&
		    raft__last_index(c.r[lost]) >= want &&
		    raft__term_at(c.r[lost], want) ==
		    raft__term_at(c.r[l], want),
		    "not repaired: lost_upto %llu, last %llu of %llu",
		    (unsigned long long)raft__lost_upto(c.r[lost]),
		    (unsigned long long)raft__last_index(c.r[lost]),
		    (unsigned long long)want);
	KTAP_EXPECT(t, c.batch_hs[lost].lost_upto == 0,
		    "the cleared mark was not persisted");
	c.cut[l] = true;
	nl = 0;
	for (int k = 0; k < 300 && !nl; k++) {
		tick_all(&c);
		for (uint32_t i = 1; i <= 3; i++)
			if (i != l && raft__role(c.r[i]) == RAFT_LEADER)
				nl = i;
	}
	KTAP_EXPECT(t, nl && raft__term_at(c.r[nl], want) ==
		    raft__term_at(c.r[l], want),
		    "after the repair: leader %u", nl);
	cluster_free(&c);
}

/*
 * The commit index in a batch's hard state is written (synced) before the
 * batch's entries.  A deposed leader whose own uncommitted entries are
 * replaced, in the same batch as a commit index that covers the new ones,
 * must not hand out that commit index: a crash between the two writes
 * would leave the old entries under it, and a restart would apply them.
 * So batches carry at most the durable index.
 */
KTAP_TEST(core_batch_commit_never_above_durable_log)
{
	struct cluster c;
	uint32_t l, nl = 0;
	uint64_t keep;

	cluster_init(&c, 3, 0, 64);
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	KTAP_ASSERT(t, commit_some(&c, l, 3), "commit");
	keep = raft__last_index(c.r[l]);
	c.cut[l] = true;
	KTAP_ASSERT(t, commit_some(&c, l, 2) &&
		    raft__last_index(c.r[l]) == keep + 2 &&
		    raft__commit(c.r[l]) == keep, "uncommitted entries");
	for (int k = 0; k < 300 && !nl; k++) {
		tick_all(&c);
		for (uint32_t i = 1; i <= 3; i++)
			if (i != l && raft__role(c.r[i]) == RAFT_LEADER)
				nl = i;
	}
	KTAP_ASSERT(t, nl && commit_some(&c, nl, 3), "a new leader commits");
	c.manual[l] = true;
	c.cut[l] = false;
	for (int k = 0; k < 5; k++)
		tick_all(&c);
	KTAP_ASSERT(t, raft__commit(c.r[l]) > keep &&
		    raft__term_at(c.r[l], keep + 1) ==
		    raft__term_at(c.r[nl], keep + 1),
		    "the old leader did not take the new entries");
	KTAP_EXPECT(t, c.batch_hs[l].commit <= keep,
		    "a batch carries commit %llu over entries not durable "
		    "after %llu", (unsigned long long)c.batch_hs[l].commit,
		    (unsigned long long)keep);
	cluster_free(&c);
}

KTAP_TEST(core_refuses_bad_calls_and_messages)
{
	struct cluster c;
	struct gnomon_tt now;
	struct raft_entry e[2] = {
		{ .term = 2, .index = 1 }, { .term = 1, .index = 2 },
	};
	struct raft_msg m = {
		.type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 2,
		.entries = e, .n_entries = 2,
	};
	struct raft_config cfg;
	struct raft *r;
	uint32_t l;

	cluster_init(&c, 3, 0, 1024);
	tt(&c, &now);
	KTAP_EXPECT(t, raft__step(c.r[1], &m, &now) == -EINVAL,
		    "entries with terms going down");
	m.n_entries = 0;
	m.from = 1;
	KTAP_EXPECT(t, raft__step(c.r[1], &m, &now) == -EINVAL, "from self");
	m.from = RAFT_MAX_MEMBERS + 1;
	KTAP_EXPECT(t, raft__step(c.r[1], &m, &now) == -EINVAL, "from 10");
	m.from = 2;
	m.type = 42;
	KTAP_EXPECT(t, raft__step(c.r[1], &m, &now) == -EINVAL, "type 42");
	KTAP_ASSERT(t, (l = elect(&c, 1)), "no leader");
	KTAP_EXPECT(t, raft__propose(c.r[l % 3 + 1], "x", 1, NULL) ==
		    -ENOTCONN, "follower took a write");
	KTAP_EXPECT(t, raft__read(c.r[l % 3 + 1], 1, &now) == -ENOTCONN,
		    "follower took a read");
	KTAP_EXPECT(t, raft__transfer(c.r[l], 9) == -EINVAL, "transfer to 9");
	raft_config__defaults(&cfg, RAFT_MAX_MEMBERS + 1, 3);
	KTAP_EXPECT(t, raft__new(&r, &cfg, NULL) == -EINVAL, "self 10");
	cluster_free(&c);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
