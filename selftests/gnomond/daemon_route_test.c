// SPDX-License-Identifier: GPL-2.0
/*
 * Where gnomond sends each request (tools/gnomond/daemon/route.c), without
 * a ring or a member: every method from a client and from a member, at a
 * leader and at a follower, against the table of route.c's opening
 * comment; and the rules that keep it safe whatever the table becomes:
 * a follower never serves a linearizable request itself, whatever a
 * follower forwards the leader serves the way it serves its own client,
 * and nothing is forwarded twice.
 */
#include "../ktap.h"
#include "../../tools/gnomond/daemon/route.h"

#define P GD_ROUTE_PROPOSE
#define F GD_ROUTE_FORWARD
#define N GD_ROUTE_NOT_LEADER
#define R GD_ROUTE_READ
#define L GD_ROUTE_LEASE_READ
#define O GD_ROUTE_LOCAL
#define U GD_ROUTE_UNIMPLEMENTED
#define M GD_ROUTE_MEMBERS

/* By method: a client's (linearizable) request at a leader and at a
 * follower, then a member's at a leader and at a follower. */
static const struct {
	enum gd_route client_leader, client_follower;
	enum gd_route member_leader, member_follower;
} want[API_METHOD__COUNT] = {
	[API_KV_RANGE] = { R, F, R, N },
	[API_KV_PUT] = { P, F, P, N },
	[API_KV_DELETE_RANGE] = { P, F, P, N },
	[API_KV_TXN] = { P, F, P, N },
	[API_KV_COMPACT] = { P, F, P, N },
	[API_MAINTENANCE_ALARM] = { P, F, P, N },
	[API_MAINTENANCE_STATUS] = { O, O, U, U },
	[API_CLUSTER_MEMBER_LIST] = { O, O, U, U },
	[API_MAINTENANCE_DEFRAGMENT] = { O, O, U, U },
	[API_LEASE_GRANT] = { P, F, P, N },
	[API_LEASE_REVOKE] = { P, F, P, N },
	[API_LEASE_KEEPALIVE] = { L, F, L, N },
	[API_LEASE_TIME_TO_LIVE] = { L, F, L, N },
	[API_LEASE_LEASES] = { O, O, U, U },
	[API_WATCH] = { GD_ROUTE_WATCH, GD_ROUTE_WATCH, U, U },
	[API_MAINTENANCE_HASH] = { O, O, U, U },
	[API_MAINTENANCE_HASH_KV] = { O, O, U, U },
	[API_MAINTENANCE_MOVE_LEADER] = { GD_ROUTE_MOVE_LEADER,
					  GD_ROUTE_MOVE_LEADER, U, U },
	[API_LOCK_LOCK] = { GD_ROUTE_LOCK, GD_ROUTE_LOCK, U, U },
	[API_LOCK_UNLOCK] = { GD_ROUTE_LOCK, GD_ROUTE_LOCK, U, U },
	[API_ELECTION_CAMPAIGN] = { GD_ROUTE_ELECTION, GD_ROUTE_ELECTION,
				    U, U },
	[API_ELECTION_PROCLAIM] = { GD_ROUTE_ELECTION, GD_ROUTE_ELECTION,
				    U, U },
	[API_ELECTION_LEADER] = { GD_ROUTE_ELECTION, GD_ROUTE_ELECTION,
				  U, U },
	[API_ELECTION_OBSERVE] = { GD_ROUTE_ELECTION, GD_ROUTE_ELECTION,
				   U, U },
	[API_ELECTION_RESIGN] = { GD_ROUTE_ELECTION, GD_ROUTE_ELECTION,
				  U, U },
	[API_MAINTENANCE_SNAPSHOT] = { GD_ROUTE_BACKUP, GD_ROUTE_BACKUP,
				       U, U },
	[API_CLUSTER_MEMBER_ADD] = { M, F, M, N },
	[API_CLUSTER_MEMBER_REMOVE] = { M, F, M, N },
	[API_CLUSTER_MEMBER_UPDATE] = { M, F, M, N },
	[API_CLUSTER_MEMBER_PROMOTE] = { M, F, M, N },
};

static void expect_route(struct ktap *t, const char *what, int m,
			 enum gd_route got, enum gd_route exp)
{
	KTAP_EXPECT(t, got == exp, "method %d, %s: %s, want %s", m, what,
		    gd_route__name(got), gd_route__name(exp));
}

KTAP_TEST(client_routes_by_method)
{
	for (int m = 0; m < API_METHOD__COUNT; m++) {
		expect_route(t, "client at the leader", m,
			     gd_route__client(m, false, true),
			     want[m].client_leader);
		expect_route(t, "client at a follower", m,
			     gd_route__client(m, false, false),
			     want[m].client_follower);
	}
}

KTAP_TEST(serializable_range_is_local)
{
	expect_route(t, "serializable at the leader", API_KV_RANGE,
		     gd_route__client(API_KV_RANGE, true, true), O);
	expect_route(t, "serializable at a follower", API_KV_RANGE,
		     gd_route__client(API_KV_RANGE, true, false), O);
}

KTAP_TEST(member_routes_by_method)
{
	for (int m = 0; m < API_METHOD__COUNT; m++) {
		expect_route(t, "member at the leader", m,
			     gd_route__member(m, true), want[m].member_leader);
		expect_route(t, "member at a follower", m,
			     gd_route__member(m, false),
			     want[m].member_follower);
	}
	expect_route(t, "unknown method at the leader", API_METHOD__COUNT,
		     gd_route__member(API_METHOD__COUNT, true), U);
}

static bool through_raft(enum gd_route r)
{
	return r == P || r == R || r == L || r == M;
}

/* Proposing, or reading through raft__read(), is the leader's alone: what
 * the leader serves through Raft a follower forwards; one that served it
 * itself would give a stale read. */
KTAP_TEST(follower_never_serves_linearizable)
{
	for (int m = 0; m < API_METHOD__COUNT; m++)
		for (int ser = 0; ser < 2; ser++) {
			enum gd_route c = gd_route__client(m, ser, false);
			enum gd_route f = gd_route__member(m, false);

			if (through_raft(gd_route__client(m, ser, true)))
				KTAP_EXPECT(t, c == F, "method %d "
					    "(serializable %d) from a client "
					    "at a follower: %s, not forwarded",
					    m, ser, gd_route__name(c));
			KTAP_EXPECT(t, !through_raft(c),
				    "method %d (serializable %d) from a "
				    "client at a follower: %s", m, ser,
				    gd_route__name(c));
			KTAP_EXPECT(t, !through_raft(f),
				    "method %d from a member at a follower: "
				    "%s", m, gd_route__name(f));
		}
}

/* What a follower forwards, the leader serves as it serves its own
 * client's request, and sends nowhere else. */
KTAP_TEST(forwarded_served_by_leader)
{
	for (int m = 0; m < API_METHOD__COUNT; m++)
		for (int ser = 0; ser < 2; ser++) {
			enum gd_route at_leader = gd_route__member(m, true);

			if (gd_route__client(m, ser, false) != F)
				continue;
			KTAP_EXPECT(t, at_leader ==
				    gd_route__client(m, ser, true),
				    "method %d forwarded: the leader does %s, "
				    "for its own client %s", m,
				    gd_route__name(at_leader),
				    gd_route__name(gd_route__client(m, ser,
								    true)));
		}
	for (int m = 0; m <= API_METHOD__COUNT; m++) {
		KTAP_EXPECT(t, gd_route__member(m, true) != F,
			    "method %d from a member forwarded again", m);
		KTAP_EXPECT(t, gd_route__member(m, false) != F,
			    "method %d from a member forwarded again", m);
	}
}

KTAP_TEST(every_route_has_a_name)
{
	for (int r = 0; r < GD_ROUTE__COUNT; r++)
		KTAP_EXPECT(t, gd_route__name(r) &&
			    strcmp(gd_route__name(r), "?"), "route %d", r);
	KTAP_EXPECT(t, !strcmp(gd_route__name(GD_ROUTE__COUNT), "?"),
		    "out of range");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
