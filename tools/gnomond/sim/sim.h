/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deterministic simulation of a gnomond cluster's Raft cores.
 *
 * One seed fixes everything: message latencies (so reordering), loss,
 * duplication, corrupted frames, partitions, crashes and restarts (from the
 * simulated durable state only: each persist batch is planned by the WAL's
 * planner, wal_plan.h, and a crash after any step of the plans in flight
 * keeps what their order made durable, and maybe what was written but not
 * yet synced), disk latency, clock skew within the declared bound and
 * spells of unsynchronized clocks, a restart that loses the member's last
 * WAL record (cut after it was synced: recovery knows, and the member
 * must not vote until it has the entries back; at most (n - 1) / 2
 * members carry such a loss at a time, as more could lose committed
 * writes for good), leadership transfers, snapshots and
 * compaction, membership changes (sim_membership.c), and the client's
 * writes and reads.  Messages travel encoded
 * and signed by the real peer codec.  After every event the checker
 * (sim_check.c) asserts election safety, log matching, leader completeness,
 * state-machine safety, read freshness and lease disjointness in true time,
 * and sim_lease.c runs etcd lease clients against the members' expiry
 * judgement (mvcc/lease_clock.c) and checks their guarantee in true time.
 * The faulty phase is followed by a healed one, which must make progress
 * (liveness).  Same seed and config, same trace hash.
 */
#ifndef GNOMOND_SIM_H
#define GNOMOND_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct sim_config {
	uint64_t seed;
	uint32_t n_members;
	uint64_t duration_ns;		/* faulty phase, simulated time */
	uint64_t heal_ns;		/* healed phase, must make progress */
	uint64_t quiet_ns;		/* then no clients: must converge */
	uint64_t bound_ns;		/* TT.now() half-width */
	uint64_t max_skew_ns;		/* true clock error; 0: bound_ns.
					 * Beyond the bound, TT.now() lies */
	uint64_t lease_ns;		/* 0: no leases */
	uint32_t lease_clients;		/* etcd lease clients (sim_lease.c) */
	uint32_t lease_faults;		/* LEASE_FAULT_*: must be caught */
	uint32_t drop_pct, dup_pct, corrupt_pct;
	bool crashes, partitions, clock_faults, transfers, snapshots;
	bool cut_tails;			/* restarts may lose the last record */
	bool membership;		/* membership changes (sim_membership.c) */
	uint32_t fault_flags;		/* RAFT_FAULT_*: must be caught */
	bool verbose;			/* print events to stderr */
};

struct sim_result {
	uint64_t trace_hash;
	uint32_t violations;
	char violation[256];		/* the first one */
	uint64_t committed;		/* client writes acknowledged */
	uint64_t elections;		/* leaders observed */
	uint64_t lease_reads, index_reads;
	uint64_t crashes, partitions, transfers, snapshots_installed;
	uint64_t tails_cut;
	uint64_t plans_cut;		/* crashes part-way through a plan */
	uint64_t frames_rejected;
	uint64_t max_term;
	uint64_t lease_grants, lease_keepalives, lease_expiries;
	uint64_t conf_changes;		/* membership changes committed */
	bool live;			/* progress after healing */
	bool converged;			/* all at one commit, once quiet */
};

void sim_config__defaults(struct sim_config *cfg, uint64_t seed,
			  uint32_t n_members);
/* 0 (see res->violations and res->live), or -ENOMEM / -EINVAL. */
int sim__run(const struct sim_config *cfg, struct sim_result *res);

#endif /* GNOMOND_SIM_H */
