// SPDX-License-Identifier: GPL-2.0
/*
 * The leader's side of leases in the daemon (tools/gnomond/daemon/
 * leases.c) without a ring or a Raft core: this file stands in for both
 * (gd_now() hands out the reading the test sets, raft__role() and
 * raft__term() the role and term it sets, raft__propose() keeps what it
 * is given) around a real store holding one lease and its lock key.
 *
 *   - K3 before the first stamp of a new term: a member that led in an
 *     earlier term, lost the lead (another leader may have renewed the
 *     lease since) and leads again stamps a revoke before its first tick;
 *     the lock's E must count the lease as renewed at that stamp's
 *     reading, not at the member's own old renewal (commit 5fe9d8a).
 *   - The tick proposes the expiry, stamped, once the leader's earliest
 *     is past renew + TTL, and not again before the retry.
 */
#include <inttypes.h>
#include <stdio.h>

#include "../ktap.h"
#include "mvcc_helpers.h"
#include "../../tools/gnomond/daemon/daemon.h"

#define SEC 1000000000ull
#define LEASE 0x1f
#define TTL 10
#define ERR_NS (2 * 1000000ull)

static struct {
	enum raft_role role;
	uint64_t term;
	uint64_t true_ns;		/* the reading is true_ns +- ERR_NS */
	unsigned int proposed;
	uint8_t last[256];
	size_t last_len;
} fake;

void gd_now(struct gnomond *d)
{
	d->now = (struct gnomon_tt){
		.earliest_ns = fake.true_ns - ERR_NS,
		.latest_ns = fake.true_ns + ERR_NS,
		.bound_ns = ERR_NS,
		.status = GNOMON_STATUS_SYNCHRONIZED,
	};
}

enum raft_role raft__role(const struct raft *r)
{
	(void)r;
	return fake.role;
}

uint64_t raft__term(const struct raft *r)
{
	(void)r;
	return fake.term;
}

int raft__propose(struct raft *r, const void *data, uint32_t len,
		  uint64_t *index)
{
	(void)r;
	fake.proposed++;
	fake.last_len = len < sizeof(fake.last) ? len : 0;
	memcpy(fake.last, data, fake.last_len);
	*index = fake.proposed;
	return 0;
}

/* A member at true time @ns, @role in @term, at a tick. */
static void tick_at(struct gnomond *d, enum raft_role role, uint64_t term,
		    uint64_t ns)
{
	fake.role = role;
	fake.term = term;
	fake.true_ns = ns;
	gd_now(d);
	d->ticks++;
	gd_leases__tick(d);
}

/* A store with lease LEASE (TTL s) and its lock key lk/<LEASE in hex>. */
static void member(struct ktap *t, struct gnomond *d)
{
	Etcdserverpb__LeaseGrantRequest g =
		ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	Etcdserverpb__PutRequest p = ETCDSERVERPB__PUT_REQUEST__INIT;
	struct mvcc_result res;
	char key[32];

	memset(d, 0, sizeof(*d));
	memset(&fake, 0, sizeof(fake));
	d->cfg.heartbeat_ms = 100;
	d->cfg.election_ms = 1000;
	KTAP_ASSERT(t, !mvcc_store__new(&d->store, 0), "store");
	g.id = LEASE;
	g.ttl = TTL;
	KTAP_ASSERT(t, !th_apply(d->store, MVCC_CMD_LEASE_GRANT, &g.base, &res),
		    "grant");
	mvcc_result__release(&res);
	snprintf(key, sizeof(key), "lk/%" PRIx64, (uint64_t)LEASE);
	p.key = th_bin(key);
	p.value = th_bin("holder");
	p.lease = LEASE;
	KTAP_ASSERT(t, !th_apply(d->store, MVCC_CMD_PUT, &p.base, &res),
		    "put %s", key);
	mvcc_result__release(&res);
}

static void keepalive(struct gnomond *d, uint64_t ns)
{
	struct mvcc_result res;

	fake.true_ns = ns;
	gd_now(d);
	if (mvcc_store__lease_keepalive(d->store, &th_hdr, LEASE,
					d->now.latest_ns, &res))
		abort();
	mvcc_result__release(&res);
}

/* Apply @cmd (stamped) and return E of the lock prefix lk/. */
static int64_t apply_lock_end(struct ktap *t, struct gnomond *d,
			      const uint8_t *cmd, size_t len)
{
	struct mvcc_lock_ends ends;
	struct mvcc_result res;

	KTAP_EXPECT(t, !mvcc_store__apply(d->store, &th_hdr, cmd, len, &res),
		    "apply");
	KTAP_EXPECT(t, !res.err, "applied with error %d", res.err);
	mvcc_result__release(&res);
	mvcc_store__lock_ends(d->store, (const uint8_t *)"lk/", 3, &ends);
	return ends.max_end_ns;
}

KTAP_TEST(stamp_in_a_new_term_resets_renewals_first)
{
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	uint64_t t0 = 1000 * SEC, t2 = t0 + 30 * SEC;
	uint8_t *cmd, *stamped;
	size_t len, slen;
	int64_t e;
	struct gnomond d;

	member(t, &d);
	tick_at(&d, RAFT_LEADER, 2, t0);	/* K3 for term 2 */
	keepalive(&d, t0 + SEC);		/* renew t0 + 1 s */
	tick_at(&d, RAFT_FOLLOWER, 3, t0 + 2 * SEC);
	/* In term 3 another leader renews the lease until t2; this member
	 * leads again in term 4 and stamps a revoke before its first tick. */
	fake.role = RAFT_LEADER;
	fake.term = 4;
	fake.true_ns = t2;
	r.id = LEASE;
	KTAP_ASSERT(t, !mvcc_cmd__encode(MVCC_CMD_LEASE_REVOKE, &r.base, &cmd,
					 &len), "encode");
	KTAP_ASSERT(t, !gd_leases__stamp(&d, cmd, len, &stamped, &slen),
		    "stamp");
	free(cmd);
	e = apply_lock_end(t, &d, stamped, slen);
	free(stamped);
	KTAP_EXPECT(t, e >= (int64_t)(t2 + TTL * SEC),
		    "E %+.3f s from the stamp, before its reading + TTL "
		    "(%d s): the renewal kept from term 2 was used",
		    ((double)e - (double)t2) / 1e9, TTL);
	mvcc_store__free(d.store);
}

KTAP_TEST(tick_proposes_the_expiry_once)
{
	uint64_t t0 = 1000 * SEC, end;
	unsigned int ticks = 0;
	int64_t e;
	struct gnomond d;

	member(t, &d);
	tick_at(&d, RAFT_LEADER, 2, t0);
	keepalive(&d, t0 + SEC);
	end = d.now.latest_ns + TTL * SEC;
	for (uint64_t ns = t0 + SEC; !fake.proposed && ns < t0 + 20 * SEC;
	     ns += 100 * 1000000ull)
		tick_at(&d, RAFT_LEADER, 2, ns);
	KTAP_ASSERT(t, fake.proposed == 1, "%u expiries proposed",
		    fake.proposed);
	KTAP_EXPECT(t, d.now.earliest_ns > end,
		    "proposed at earliest %+.3f s from renew + TTL",
		    ((double)d.now.earliest_ns - (double)end) / 1e9);
	for (ticks = 0; ticks < 19 && fake.proposed == 1; ticks++)
		tick_at(&d, RAFT_LEADER, 2, fake.true_ns + 100 * 1000000ull);
	KTAP_EXPECT(t, ticks == 19 && fake.proposed == 1,
		    "proposed again after %u ticks (the retry is 20)", ticks);
	tick_at(&d, RAFT_LEADER, 2, fake.true_ns + 100 * 1000000ull);
	KTAP_EXPECT(t, fake.proposed == 2, "not proposed again at the retry");
	e = apply_lock_end(t, &d, fake.last, fake.last_len);
	KTAP_EXPECT(t, e == (int64_t)end, "E %+" PRId64 " ns from renew + TTL",
		    e - (int64_t)end);
	mvcc_store__free(d.store);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
