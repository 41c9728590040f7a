/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The leader's clock judgement of etcd leases (lease_clock.c), shared by
 * the daemon (through mvcc/lease.c and daemon/leases.c) and the
 * deterministic simulation (sim/sim_lease.c), which tests it with clock
 * errors up to the declared bound.  No I/O, no clock of its own: every
 * reading comes in as an argument.  Documentation/lease-safety.rst, "etcd
 * leases: expiry on bounded time", states the rules K1-K3 and the
 * guarantee.
 *
 * Per lease the leader keeps a struct lease_clock; per member a struct
 * lease_judge says, at each tick, what the leader must do with them.  A
 * latest of UINT64_MAX is a reading without a bound (TT.now() of an
 * unsynchronized clock): nothing is concluded from it, and a renewal or
 * reset at it counts as made at the next reading with a bound.
 */
#ifndef GNOMOND_MVCC_LEASE_CLOCK_H
#define GNOMOND_MVCC_LEASE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/gnomon.h>

struct lease_clock {
	/* The latest instant (CLOCK_REALTIME ns) at which the lease may last
	 * have been renewed; 0: unknown since this member last looked, so it
	 * counts as renewed at the next reading with a bound. */
	uint64_t renew_ns;
	uint64_t expire_tick;		/* expiry proposed then, 0: not */
};

/* Faults for the simulation's negative controls; the daemon sets none. */
#define LEASE_FAULT_JUDGE_LATEST	(1u << 0)	/* expire on latest */
#define LEASE_FAULT_NO_RESET		(1u << 1)	/* skip K3 */

struct lease_judge {
	uint64_t term;			/* leases reset for it, 0: not leader */
	uint32_t faults;		/* LEASE_FAULT_* */
};

enum lease_turn {
	LEASE_TURN_IDLE,	/* not the leader, or no bound: nothing to do */
	LEASE_TURN_RESET,	/* a new term: lease_clock__reset() every lease */
	LEASE_TURN_SCAN,	/* lease_clock__due() every lease */
};

/*
 * At a tick of a member that is @leader in @term, with clock reading @now:
 * what to do with the leases.  For LEASE_TURN_SCAN, *@judge_ns is the
 * instant to judge expiry at (now->earliest_ns).
 */
enum lease_turn lease_judge__turn(struct lease_judge *j, bool leader,
				  uint64_t term, const struct gnomon_tt *now,
				  uint64_t *judge_ns);

/*
 * K1: a keepalive answered after the leader confirmed its leadership, at a
 * reading taken after the request arrived, whose latest is @latest_ns.
 * false when the expiry has been proposed (answer TTL 0).
 */
bool lease_clock__renew(struct lease_clock *c, uint64_t latest_ns);
/* K3: a new leader counts the lease as renewed at its @latest_ns. */
void lease_clock__reset(struct lease_clock *c, uint64_t latest_ns);
/*
 * K2: at tick @tick, with a reading whose earliest is @judge_ns and latest
 * @latest_ns (both bounded), is the expiry of a lease of @ttl_ns due?  A
 * lease is due once @judge_ns is past renew + TTL; it is handed out again
 * only @retry_ticks after the last time (that proposal may be lost).
 * true marks it proposed.
 */
bool lease_clock__due(struct lease_clock *c, uint64_t ttl_ns,
		      uint64_t judge_ns, uint64_t latest_ns, uint64_t tick,
		      uint64_t retry_ticks);
/* The latest instant the lease may end, renew + @ttl_ns, counting an
 * unknown renewal at @latest_ns; INT64_MAX (never) if it is beyond. */
uint64_t lease_clock__end(const struct lease_clock *c, uint64_t ttl_ns,
			  uint64_t latest_ns);

#endif /* GNOMOND_MVCC_LEASE_CLOCK_H */
