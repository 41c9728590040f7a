/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the simulator: the world (sim.c: clock, network, faults,
 * client, run loop), the members (sim_node.c: the driver loop around one
 * Raft core, crash and restart), their disks (sim_disk.c: the WAL's plans
 * step by step, and what a crash leaves), membership changes
 * (sim_membership.c), the invariant checker (sim_check.c) and etcd leases
 * (sim_lease.c).
 */
#ifndef GNOMOND_SIM_INTERNAL_H
#define GNOMOND_SIM_INTERNAL_H

#include "sim.h"
#include "../raft/raft.h"
#include "../peer/peer_codec.h"
#include "../wal/wal_plan.h"

#define SIM_T0		1000000000000ULL	/* true time at start, ns */
#define SIM_MS		1000000ULL
#define SIM_TICK_NS	(10 * SIM_MS)

struct sim_entry {
	uint64_t term, index;
	uint32_t type, len;
	uint8_t *data;
};

struct sim_log {
	struct sim_entry *v;
	size_t len, cap;
};

/* What survives a crash, as WAL recovery would hand it to a restart. */
struct sim_disk {
	struct wal_cursor wal;		/* the writer's position and the
					 * hard state last written */
	uint64_t snap_index, snap_term;
	uint8_t snap[16];		/* (index, state-machine hash) */
	struct raft_membership snap_conf;
	struct sim_log log;		/* contiguous, may start before snap */
	uint64_t last_rec_first;	/* first index of the last record */
	uint64_t last_rec_off;		/* and where it starts */
};

/* One step of a plan on its way to the disk. */
struct sim_step {
	uint64_t done_at;
	uint8_t writes;			/* the part it puts there (WAL_DUR_*) */
	uint8_t durable;		/* durable once it has completed */
};

/* A persist batch in flight to the disk: its plan, step by step. */
struct sim_batch {
	uint64_t seq, done_at;		/* done_at: of its last step */
	struct raft_hard_state hs;
	uint64_t snap_index, snap_term;
	uint8_t snap[16];
	struct raft_membership snap_conf;
	struct sim_log entries;
	struct wal_cursor cur;		/* as the plan leaves the writer */
	uint64_t rec_off;		/* where its record starts */
	struct sim_step steps[WAL_PLAN_MAX];
	size_t n_steps, n_done;
	uint8_t written, durable;	/* parts so far (WAL_DUR_*) */
};

struct sim_read {
	uint64_t id, required;
};

struct sim_node {
	uint32_t id;
	struct raft *r;
	bool up;
	uint64_t restart_at;
	struct sim_disk disk;
	struct sim_batch *batches;
	size_t n_batches, cap_batches;
	struct wal_cursor cur;		/* the writer's, after the batches */
	struct wal_plan plan;		/* the one being made */
	int64_t skew_ns;
	uint64_t unsync_until;
	uint64_t freerun_until;		/* interval valid but growing */
	uint64_t next_tick, tick_ns;
	uint64_t applied, sm_hash;
	uint8_t snap_buf[16];		/* our last snapshot, lent to raft */
	uint32_t group;			/* partition side */
	struct sim_read *reads;
	size_t n_reads, cap_reads;
	uint64_t seen_term;		/* last term observed as leader */
	bool absent;			/* not in the cluster: never started */
	bool joined;			/* added by a change: boots with
					 * n_members = 0 */
	bool removed;			/* its removal committed */
	bool voter_pending;		/* added as a voter, not started yet */
};

struct sim_msg {
	uint64_t at;
	uint32_t to;
	size_t len;
	uint8_t *buf;
};

struct sim_proposal {
	uint64_t value, index, term;
	uint32_t node;
};

struct sim_check {
	uint32_t *leader_of;		/* by term */
	uint64_t *committed_term;	/* by index */
	uint64_t *chain;		/* state-machine hash after index */
	size_t terms_cap, index_cap;
	uint64_t max_leader_term;
	uint64_t max_committed;
	uint64_t acked_index;		/* highest write acked to a client */
};

struct sim {
	struct sim_config cfg;
	struct sim_result *res;
	uint64_t rng;
	uint64_t now;
	bool healed;
	struct sim_node nodes[RAFT_MAX_MEMBERS + 1];
	struct sim_msg *net;
	size_t n_net, cap_net;
	struct peer_codec codec;
	uint8_t *enc;
	size_t enc_cap;
	struct sim_proposal *props;
	size_t n_props, cap_props;
	uint64_t next_value, next_read_id;
	uint64_t heal_first_value;	/* first write proposed after healing */
	uint64_t lossy_tail_at;		/* drops resume: the last writes' appends */
	bool quiet;			/* no clients, clean network */
	uint64_t next_fault, next_client, partition_until;
	struct sim_check ck;
	struct sim_leases *leases;	/* sim_lease.c, NULL: none */
	uint32_t n_initial;		/* voters 1..n at the start; with
					 * membership changes cfg.n_members
					 * counts every slot */
	uint64_t conf_applied;		/* last conf entry acted upon */
};

int sim_grow(void **v, size_t *cap, size_t need, size_t size);
uint64_t sim_rand(struct sim *s);
uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi);
void sim_trace(struct sim *s, uint64_t a, uint64_t b, uint64_t c);
uint64_t sim_hash(uint64_t h, const void *data, size_t len);
void sim_tt(const struct sim *s, const struct sim_node *n,
	    struct gnomon_tt *tt);
int sim_net_send(struct sim *s, const struct raft_msg *m);
void sim_violation(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* sim_node.c */
int sim_node__start(struct sim *s, struct sim_node *n);
void sim_node__crash(struct sim *s, struct sim_node *n);
void sim_node__free(struct sim_node *n);
int sim_node__ready(struct sim *s, struct sim_node *n);
int sim_node__disk_events(struct sim *s, struct sim_node *n);
int sim_node__maybe_snapshot(struct sim *s, struct sim_node *n);

/* sim_disk.c */
void sim_disk__open(struct sim *s, struct sim_node *n);
int sim_disk__queue(struct sim *s, struct sim_node *n,
		    const struct raft_ready *rd);
/* When the disk's next event is due (UINT64_MAX: none). */
uint64_t sim_disk__next(const struct sim_node *n);
/* That event: the first batch has completed, *seq. */
int sim_disk__complete(struct sim *s, struct sim_node *n, uint64_t *seq);
/* Returns how many steps completed unseen. */
size_t sim_disk__crash(struct sim *s, struct sim_node *n);
/* The last record's entries go; returns the last index lost (0: none). */
uint64_t sim_disk__cut_last_record(struct sim *s, struct sim_node *n);
void sim_disk__snapshot(struct sim *s, struct sim_node *n, uint64_t index,
			uint64_t term, const uint8_t *data,
			const struct raft_membership *conf);
void sim_disk__free(struct sim_node *n);

/* sim_lease.c: etcd leases; each is a no-op without lease clients. */
int sim_lease__init(struct sim *s);
void sim_lease__free(struct sim *s);
uint64_t sim_lease__next(const struct sim *s);
int sim_lease__events(struct sim *s);
/* After the member's raft__tick(): reset or expire, as its judge says. */
int sim_lease__tick(struct sim *s, struct sim_node *n);
int sim_lease__apply(struct sim *s, struct sim_node *n,
		     const struct raft_entry *e);
/* A read result: true if it was a keepalive's. */
bool sim_lease__read(struct sim *s, struct sim_node *n,
		     const struct raft_read *rd);
/* Answer the keepalives whose reads are ready and applied. */
int sim_lease__serve(struct sim *s, struct sim_node *n);
/* The member's table as of @index (0: empty, and a fresh start). */
int sim_lease__restore(struct sim *s, struct sim_node *n, uint64_t index);
/* The end of the run: leases nobody renews must have expired. */
void sim_lease__finish(struct sim *s);

/* sim_membership.c */
void sim_membership__init(struct sim *s);
int sim_membership__change(struct sim *s);
void sim_membership__applied(struct sim *s, const struct raft_entry *e);
/* Does member i count for convergence (started, not removed)? */
bool sim_membership__counts(const struct sim *s, uint32_t i);
/* Voters added but not started yet (their addition may be pending). */
uint32_t sim_membership__missing(const struct sim *s);

/* sim_check.c */
void sim_check__free(struct sim_check *ck);
int sim_check__applied(struct sim *s, struct sim_node *n, uint64_t index,
		       uint64_t term, uint64_t hash);
int sim_check__step(struct sim *s);
void sim_check__read(struct sim *s, struct sim_node *n,
		     const struct raft_read *rd);

#endif /* GNOMOND_SIM_INTERNAL_H */
