// SPDX-License-Identifier: GPL-2.0
/*
 * etcd lease expiry in the deterministic simulation (tools/gnomond/sim/
 * sim_lease.c): lease clients grant and keep leases alive while members
 * crash, partitions come and go, leaders change and clocks err within
 * their declared bound (5, 25 or 50 ms, by seed); the members judge expiry
 * with the daemon's code (mvcc/lease_clock.c).  The checker asserts, in
 * true time, that no member applies a lease's expiry before s + TTL of any
 * grant or keepalive answered (s: the client's TT.now().earliest when it
 * sent it), and that leases nobody renews do expire.  Every other seed
 * mixes membership changes in (sim_membership.c), the leader's removal
 * included.
 *
 * Then the negative controls: judging expiry on TT.now().latest instead of
 * earliest, and a new leader that does not reset the renewals it kept
 * from an earlier term, must each be caught within a bounded number of
 * seeds.  GNOMOND_SIM_SEEDS and GNOMOND_SIM_SEED0 as in raft_sim_test.
 */
#include <errno.h>
#include <inttypes.h>
#include "../ktap.h"
#include "../../tools/gnomond/sim/sim.h"
#include "../../tools/gnomond/mvcc/lease_clock.h"

#ifndef SIM_DEFAULT_SEEDS
#define SIM_DEFAULT_SEEDS 40
#endif
#define MS 1000000ULL

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void lease_config(struct sim_config *cfg, uint64_t seed,
			 uint32_t members, uint64_t bound_ms)
{
	sim_config__defaults(cfg, seed, members);
	cfg->lease_clients = 8;
	cfg->bound_ns = bound_ms * MS;
	cfg->membership = seed % 2;
}

static void run_seeds(struct ktap *t, uint32_t members)
{
	static const uint64_t bounds[] = { 5, 25, 50 };
	uint64_t seeds = env_u64("GNOMOND_SIM_SEEDS", SIM_DEFAULT_SEEDS);
	uint64_t seed0 = env_u64("GNOMOND_SIM_SEED0", 1);
	uint64_t grants = 0, keepalives = 0, expiries = 0, elections = 0;
	uint64_t changes = 0;

	for (uint64_t seed = seed0; seed < seed0 + seeds; seed++) {
		struct sim_config cfg;
		struct sim_result res;

		lease_config(&cfg, seed, members, bounds[seed % 3]);
		cfg.verbose = env_u64("GNOMOND_SIM_VERBOSE", 0);
		KTAP_ASSERT(t, !sim__run(&cfg, &res), "seed %" PRIu64, seed);
		KTAP_ASSERT(t, res.violations == 0,
			    "seed %" PRIu64 " (bound %" PRIu64 " ms): %u "
			    "violations, first: %s", seed, bounds[seed % 3],
			    res.violations, res.violation);
		KTAP_ASSERT(t, res.live, "seed %" PRIu64 ": no progress",
			    seed);
		grants += res.lease_grants;
		keepalives += res.lease_keepalives;
		expiries += res.lease_expiries;
		elections += res.elections;
		changes += res.conf_changes;
	}
	ktap_diag("%u members, %" PRIu64 " seeds: %" PRIu64 " leases "
		  "granted, %" PRIu64 " grants and keepalives answered, %"
		  PRIu64 " expiries, %" PRIu64 " elections, %" PRIu64
		  " membership changes", members, seeds, grants, keepalives,
		  expiries, elections, changes);
	KTAP_EXPECT(t, grants > seeds && keepalives > 10 * seeds &&
		    expiries > seeds && elections > seeds && changes > 0,
		    "the runs must grant, renew, expire and change leaders "
		    "and members");
}

KTAP_TEST(sim_lease_3_members)
{
	run_seeds(t, 3);
}

KTAP_TEST(sim_lease_5_members)
{
	run_seeds(t, 5);
}

/* The first seed up to @budget at which the checker sees a violation
 * with @fault in the lease judgement, 0 if none. */
static uint64_t first_caught(uint32_t fault, uint64_t bound_ms,
			     uint64_t budget, struct sim_result *res)
{
	struct sim_config cfg;

	for (uint64_t seed = 1; seed <= budget; seed++) {
		lease_config(&cfg, seed, 3, bound_ms);
		cfg.lease_faults = fault;
		if (sim__run(&cfg, res))
			return 0;
		if (res->violations)
			return seed;
	}
	return 0;
}

/*
 * Judging on latest is off by at most twice the bound: it shows once the
 * bound exceeds the network's delays, hence 50 ms.
 */
static const struct {
	uint32_t fault;
	uint64_t bound_ms, budget;
	const char *what;
} controls[] = {
	{ LEASE_FAULT_JUDGE_LATEST, 50, 500, "expiry judged on latest" },
	{ LEASE_FAULT_NO_RESET, 5, 300,
	  "a new leader keeping its old renewals" },
};

KTAP_TEST(sim_lease_negative_controls)
{
	for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
		struct sim_result res;
		uint64_t seed = first_caught(controls[i].fault,
					     controls[i].bound_ms,
					     controls[i].budget, &res);

		KTAP_EXPECT(t, seed, "%s not caught in %" PRIu64 " seeds",
			    controls[i].what, controls[i].budget);
		if (seed)
			ktap_diag("%s caught at seed %" PRIu64 ": %s",
				  controls[i].what, seed, res.violation);
	}
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
