// SPDX-License-Identifier: GPL-2.0
/*
 * The leader's side of etcd leases (Documentation/lease-safety.rst,
 * "Lease expiry"): what the state machine cannot decide because it needs
 * a clock.
 *
 *   - A grant's TTL is raised to etcd's minimum, 1.5 election timeouts
 *     rounded up to whole seconds, before it is proposed.
 *   - A keepalive or TimeToLive is answered by the leader only after
 *     raft__read() confirmed its leadership (under its Raft lease, or a
 *     quorum round), which happens after the request arrived; the renewal
 *     is recorded at TT.now().latest of a reading taken after it arrived
 *     (the turn's, if no completion was posted since: ring.c,
 *     gd_now_fresh()).  A follower forwards them.
 *   - When a member becomes leader (a new term), every lease counts as
 *     renewed at its TT.now().latest: any keepalive the old leader
 *     answered arrived before this member was elected.
 *   - Every tick the leader proposes a revoke for each lease whose
 *     renewal instant plus TTL lies before its TT.now().earliest, and
 *     never while its clock gives no bound.
 *   - Every command the leader proposes that may delete keys (a revoke,
 *     an expiry, a DeleteRange, a Txn) carries its stamp
 *     (gd_leases__stamp()): its TT.now() and the renew + TTL it knows for
 *     the lease the command names, from which every member records what
 *     the lock's next holder must wait for (mvcc.h, "Locks").
 * Keepalives write nothing to the log.  The clock judgement itself (when
 * to reset, renew and expire) is mvcc/lease_clock.c's, which the
 * simulation runs too; this file gives it the daemon's readings and
 * proposes what it decides.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

/* A lost expiry proposal is made again after this many election timeouts. */
#define EXPIRY_RETRY_ELECTIONS 2
#define EXPIRY_BATCH 64

int64_t gd_leases__min_ttl(const struct gnomond *d)
{
	uint64_t election_ticks = d->cfg.election_ms / d->cfg.heartbeat_ms;
	uint64_t ms = 3 * election_ticks / 2 * d->cfg.heartbeat_ms;

	return (int64_t)((ms + 999) / 1000);
}

/*
 * The judge's turn at d->now, with K3 carried out when it asks: at the
 * first tick of a new term, or sooner, at the first stamp, which must not
 * read renewals kept from an earlier term of this member's.
 */
static enum lease_turn leases_turn(struct gnomond *d, uint64_t *judge_ns)
{
	enum lease_turn turn;

	turn = lease_judge__turn(&d->lease_judge,
				 raft__role(d->raft) == RAFT_LEADER,
				 raft__term(d->raft), &d->now, judge_ns);
	if (turn == LEASE_TURN_RESET)
		mvcc_leases__renew_all(d->store, d->now.latest_ns);
	return turn;
}

int gd_leases__stamp(struct gnomond *d, const uint8_t *cmd, size_t len,
		     uint8_t **out, size_t *outlen)
{
	uint64_t judge_ns;

	/* Every renewal it recorded was read before this reading. */
	gd_now(d);
	leases_turn(d, &judge_ns);
	return mvcc_cmd__stamp(d->store, cmd, len, d->now.earliest_ns,
			       d->now.latest_ns, out, outlen);
}

static void propose_expiry(struct gnomond *d, int64_t id)
{
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	uint8_t *cmd, *stamped = NULL;
	uint64_t index;
	size_t len;
	int rc;

	r.id = id;
	rc = mvcc_cmd__encode(MVCC_CMD_LEASE_REVOKE, &r.base, &cmd, &len);
	if (!rc) {
		rc = gd_leases__stamp(d, cmd, len, &stamped, &len);
		free(cmd);
	}
	if (!rc) {
		rc = raft__propose(d->raft, stamped, (uint32_t)len, &index);
		free(stamped);
	}
	if (rc)
		gd_warn("proposing the expiry of lease %llx: %s",
			(unsigned long long)id, strerror(-rc));
}

void gd_leases__tick(struct gnomond *d)
{
	uint64_t retry = (uint64_t)EXPIRY_RETRY_ELECTIONS *
			 (d->cfg.election_ms / d->cfg.heartbeat_ms);
	int64_t ids[EXPIRY_BATCH];
	uint64_t judge_ns;
	size_t n;

	if (leases_turn(d, &judge_ns) != LEASE_TURN_SCAN)
		return;
	n = mvcc_leases__due(d->store, judge_ns, d->now.latest_ns, d->ticks,
			     retry, ids, EXPIRY_BATCH);
	for (size_t i = 0; i < n; i++)
		propose_expiry(d, ids[i]);
}
