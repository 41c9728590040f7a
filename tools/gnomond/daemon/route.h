/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a request goes (route.c): which member serves it, and by which
 * path, from its method, whether this member leads, and where it came
 * from: a client of this member, or a member (forwarded to this one, or
 * held by this one while no leader was known).  Logic only, no daemon
 * state: serve.c and requests.c carry the decision out, and
 * selftests/gnomond/daemon_route_test.c drives it without a ring.
 */
#ifndef GNOMOND_DAEMON_ROUTE_H
#define GNOMOND_DAEMON_ROUTE_H

#include <stdbool.h>

#include "../api/api.h"

enum gd_route {
	GD_ROUTE_PROPOSE,	/* a write, proposed here (the leader) */
	GD_ROUTE_FORWARD,	/* to the leader; its answer is relayed */
	GD_ROUTE_NOT_LEADER,	/* "not leader": only the leader serves it */
	GD_ROUTE_READ,		/* linearizable Range: raft__read() here */
	GD_ROUTE_LEASE_READ,	/* KeepAlive, TimeToLive: raft__read() here,
				 * answered from the leader's renewals */
	GD_ROUTE_LOCAL,		/* at once, from this member's state */
	GD_ROUTE_WATCH,		/* this member's Watch streams (watch.c) */
	GD_ROUTE_LOCK,		/* the Lock service (lock.c) */
	GD_ROUTE_ELECTION,	/* the Election service (election.c) */
	GD_ROUTE_MOVE_LEADER,	/* a leadership transfer (maintenance.c) */
	GD_ROUTE_BACKUP,	/* Snapshot: a backup streamed (backup_send.c) */
	GD_ROUTE_MEMBERS,	/* a membership change, proposed here (the
				 * leader) as a configuration entry
				 * (membership.c) */
	GD_ROUTE_UNIMPLEMENTED,	/* no member serves it */
	GD_ROUTE__COUNT,
};

/* A client's request; serializable: a Range's flag. */
enum gd_route gd_route__client(enum api_method m, bool serializable,
			       bool leader);
/* A request from a member, or held here: a write's log command, a
 * RangeRequest, or a KeepAlive or TimeToLive request. */
enum gd_route gd_route__member(enum api_method m, bool leader);
const char *gd_route__name(enum gd_route r);

#endif /* GNOMOND_DAEMON_ROUTE_H */
