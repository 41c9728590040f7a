// SPDX-License-Identifier: GPL-2.0
/*
 * Lock ends in the MVCC state machine (mvcc.h, "Locks"): per lock prefix,
 * the running max of the ended keys' lease ends and the token of the last
 * holder that ended, taken from the leader's stamp so that a member that
 * never saw a keepalive applies the same values; waiters that end raise
 * the end but are never the previous holder; snapshots carry the table, a
 * format-1 snapshot restores with an empty one; pruning is deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <zlib.h>

#include "../ktap.h"
#include "mvcc_helpers.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static void grant(struct mvcc_store *s, int64_t id, int64_t ttl)
{
	Etcdserverpb__LeaseGrantRequest r = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	struct mvcc_result res;

	r.id = id;
	r.ttl = ttl;
	if (th_apply(s, MVCC_CMD_LEASE_GRANT, &r.base, &res))
		abort();
	mvcc_result__release(&res);
}

/* Put @k attached to @lease; its create revision. */
static int64_t put_lease(struct mvcc_store *s, const char *k, int64_t lease)
{
	Etcdserverpb__PutRequest r = ETCDSERVERPB__PUT_REQUEST__INIT;
	struct mvcc_result res;

	r.key = th_bin(k);
	r.lease = lease;
	if (th_apply(s, MVCC_CMD_PUT, &r.base, &res))
		abort();
	mvcc_result__release(&res);
	return mvcc_store__revision(s);
}

/* The leader @ldr renews lease @id at @latest. */
static void keepalive(struct mvcc_store *ldr, int64_t id, uint64_t latest)
{
	struct mvcc_result res;

	if (mvcc_store__lease_keepalive(ldr, &th_hdr, id, latest, &res))
		abort();
	mvcc_result__release(&res);
}

/* @msg as a command stamped by leader @ldr at [@earliest, @latest],
 * applied to every store of @v[0..n). */
static enum etcd_err stamped(struct mvcc_store *ldr, struct mvcc_store **v,
			     int n, enum mvcc_cmd_type type,
			     const ProtobufCMessage *msg, uint64_t earliest,
			     uint64_t latest)
{
	enum etcd_err err = ETCD_OK;
	uint8_t *cmd, *st;
	size_t len, slen;

	if (mvcc_cmd__encode(type, msg, &cmd, &len) ||
	    mvcc_cmd__stamp(ldr, cmd, len, earliest, latest, &st, &slen))
		abort();
	for (int i = 0; i < n; i++) {
		struct mvcc_result res;

		if (mvcc_store__apply(v[i], &th_hdr, st, slen, &res))
			abort();
		err = res.err;
		mvcc_result__release(&res);
	}
	free(cmd);
	free(st);
	return err;
}

static enum etcd_err lrevoke(struct mvcc_store *ldr, struct mvcc_store **v,
			    int n, int64_t id, uint64_t latest)
{
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;

	r.id = id;
	return stamped(ldr, v, n, MVCC_CMD_LEASE_REVOKE, &r.base,
		       latest - SEC / 1000, latest);
}

static enum etcd_err del(struct mvcc_store *ldr, struct mvcc_store **v, int n,
			 const char *k, const char *end, uint64_t latest)
{
	Etcdserverpb__DeleteRangeRequest r =
		ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;

	r.key = th_bin(k);
	r.range_end = th_bin(end);
	return stamped(ldr, v, n, MVCC_CMD_DELETE_RANGE, &r.base,
		       latest - SEC / 1000, latest);
}

static struct mvcc_lock_ends ends(const struct mvcc_store *s, const char *p)
{
	struct mvcc_lock_ends e;

	mvcc_store__lock_ends(s, (const uint8_t *)p, strlen(p), &e);
	return e;
}

static void apply_raw(struct mvcc_store *s, const uint8_t *cmd, size_t len,
		      struct mvcc_result *res)
{
	if (mvcc_store__apply(s, &th_hdr, cmd, len, res))
		abort();
}

KTAP_TEST(locks_revoke_and_expiry_carry_the_leaders_end)
{
	struct mvcc_store *v[2];
	struct mvcc_lock_ends e;
	int64_t tok;

	KTAP_ASSERT(t, !mvcc_store__new(&v[0], 0) && !mvcc_store__new(&v[1], 0),
		    "stores");
	for (int i = 0; i < 2; i++) {
		grant(v[i], 0xa, 10);
		grant(v[i], 0xb, 5);
		tok = put_lease(v[i], "L/a", 0xa);
		put_lease(v[i], "M/zz", 0xa);	/* not a lock key of 0xa */
	}
	/* Only the leader (v[0]) ever saw a keepalive. */
	keepalive(v[0], 0xa, T0 + 3 * SEC);
	e = ends(v[0], "L/");
	KTAP_EXPECT(t, !e.max_end_ns && !e.last_token && !mvcc_store__lock_count(v[0]),
		    "nothing before a holder ended");
	KTAP_ASSERT(t, !lrevoke(v[0], v, 2, 0xa, T0 + 4 * SEC), "revoke");
	for (int i = 0; i < 2; i++) {
		e = ends(v[i], "L/");
		KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 13 * SEC) &&
			    e.last_token == tok,
			    "member %d: E = renew + TTL = %llu, P = %lld "
			    "(got %lld, %lld)", i,
			    (unsigned long long)(T0 + 13 * SEC), (long long)tok,
			    (long long)e.max_end_ns, (long long)e.last_token);
		KTAP_EXPECT(t, mvcc_store__lock_count(v[i]) == 1,
			    "member %d: only the lock key's prefix has an entry",
			    i);
	}
	/* An expiry: the leader never looked at 0xb, it counts as renewed
	 * at the proposal's latest. */
	for (int i = 0; i < 2; i++)
		tok = put_lease(v[i], "X/b", 0xb);
	KTAP_ASSERT(t, !lrevoke(v[0], v, 2, 0xb, T0 + 20 * SEC), "expiry");
	e = ends(v[1], "X/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 25 * SEC) &&
		    e.last_token == tok, "an unrenewed lease ends at latest + TTL");
	mvcc_store__free(v[0]);
	mvcc_store__free(v[1]);
}

KTAP_TEST(locks_running_max_across_holders)
{
	struct mvcc_store *s;
	struct mvcc_lock_ends e;
	int64_t ta, tc;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 0xa, 10);
	grant(s, 0xb, 2);
	grant(s, 0xc, 10);
	ta = put_lease(s, "L/a", 0xa);
	put_lease(s, "L/b", 0xb);
	tc = put_lease(s, "L/c", 0xc);
	keepalive(s, 0xa, T0 + 100 * SEC);
	keepalive(s, 0xb, T0 + 105 * SEC);
	keepalive(s, 0xc, T0 + 200 * SEC);
	/* B, a waiter, ends first: its end counts, it is no previous holder. */
	lrevoke(s, &s, 1, 0xb, T0 + 106 * SEC);
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 107 * SEC) && !e.last_token,
		    "a waiter's end counts but it never held (%lld, %lld)",
		    (long long)e.max_end_ns, (long long)e.last_token);
	lrevoke(s, &s, 1, 0xa, T0 + 111 * SEC);
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 110 * SEC) &&
		    e.last_token == ta, "holder A: E %lld, P %lld",
		    (long long)e.max_end_ns, (long long)e.last_token);
	/* C, renewed at 200 s, raises it. */
	lrevoke(s, &s, 1, 0xc, T0 + 300 * SEC);
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 210 * SEC) &&
		    e.last_token == tc, "holder C raises E to 210 s: %lld",
		    (long long)e.max_end_ns);
	grant(s, 0xd, 1);
	put_lease(s, "L/d", 0xd);
	keepalive(s, 0xd, T0 + 120 * SEC);
	lrevoke(s, &s, 1, 0xd, T0 + 130 * SEC);
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 210 * SEC) &&
		    e.last_token > tc, "a later, shorter holder keeps the max");
	mvcc_store__free(s);
}

KTAP_TEST(locks_deletes_of_lock_keys)
{
	struct mvcc_store *s;
	struct mvcc_lock_ends e;
	struct mvcc_result res;
	uint8_t *cmd;
	size_t len;
	int64_t ta, tb;
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 0xa, 10);
	grant(s, 0xb, 30);
	ta = put_lease(s, "L/a", 0xa);
	keepalive(s, 0xa, T0 + 5 * SEC);
	KTAP_EXPECT(t, !del(s, &s, 1, "L/a", NULL, T0 + 6 * SEC), "unlock");
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 15 * SEC) &&
		    e.last_token == ta,
		    "an unlock carries its lease's renew + TTL (%lld)",
		    (long long)e.max_end_ns);
	tb = put_lease(s, "L/b", 0xb);
	keepalive(s, 0xb, T0 + 7 * SEC);
	KTAP_EXPECT(t, !del(s, &s, 1, "L/", "L0", T0 + 40 * SEC), "range");
	e = ends(s, "L/");
	KTAP_EXPECT(t, e.max_end_ns == (int64_t)(T0 + 70 * SEC) &&
		    e.last_token == tb,
		    "a range delete: the leader's latest + TTL (%lld)",
		    (long long)e.max_end_ns);
	/* Unstamped (a log written before stamps): token, no end. */
	put_lease(s, "N/a", 0xa);
	r.id = 0xa;
	KTAP_ASSERT(t, !mvcc_cmd__encode(MVCC_CMD_LEASE_REVOKE, &r.base, &cmd,
					 &len), "encode");
	apply_raw(s, cmd, len, &res);
	mvcc_result__release(&res);
	free(cmd);
	e = ends(s, "N/");
	KTAP_EXPECT(t, !e.max_end_ns && e.last_token > tb,
		    "an unstamped revoke records the token only");
	mvcc_store__free(s);
}

KTAP_TEST(locks_bad_stamps_change_nothing)
{
	static const uint8_t shortcmd[] = { MVCC_CMD_VERSION, MVCC_CMD_STAMPED,
					    1, 2, 3 };
	struct mvcc_store *s;
	struct mvcc_result res;
	Etcdserverpb__LeaseRevokeRequest r =
		ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	uint8_t *cmd, *st, *st2;
	size_t len, slen, slen2;
	int64_t rev;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 0xa, 10);
	put_lease(s, "L/a", 0xa);
	rev = mvcc_store__revision(s);
	apply_raw(s, shortcmd, sizeof(shortcmd), &res);
	KTAP_EXPECT(t, res.err == ETCD_ERR_BAD_COMMAND, "a short stamp");
	r.id = 0xa;
	KTAP_ASSERT(t, !mvcc_cmd__encode(MVCC_CMD_LEASE_REVOKE, &r.base, &cmd,
					 &len) &&
		    !mvcc_cmd__stamp(s, cmd, len, T0, T0, &st, &slen), "stamp");
	KTAP_EXPECT(t, mvcc_cmd__stamp(s, st, slen, T0, T0, &st2, &slen2) ==
		    -EINVAL, "a stamp is never stamped again");
	/* A stamp around a stamp, made by hand. */
	st2 = malloc(slen + 34);
	memcpy(st2, st, 34);
	memcpy(st2 + 34, st, slen);
	apply_raw(s, st2, slen + 34, &res);
	KTAP_EXPECT(t, res.err == ETCD_ERR_BAD_COMMAND &&
		    mvcc_store__revision(s) == rev &&
		    !mvcc_store__lock_count(s), "a nested stamp is refused");
	KTAP_EXPECT(t, !mvcc_cmd__needs_stamp(shortcmd, 1), "one byte");
	free(st2);
	free(st);
	free(cmd);
	mvcc_store__free(s);
}

KTAP_TEST(locks_snapshot_round_trip_and_format_1)
{
	struct mvcc_store *s, *r, *old;
	struct th_snap b = { 0 }, e0 = { 0 };
	struct mvcc_lock_ends e;
	uLong crc;
	int64_t ta;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 0xa, 10);
	grant(s, 0xb, 10);
	ta = put_lease(s, "L/a", 0xa);
	put_lease(s, "K/b", 0xb);
	keepalive(s, 0xa, T0);
	keepalive(s, 0xb, T0 + SEC);
	lrevoke(s, &s, 1, 0xa, T0 + SEC);
	lrevoke(s, &s, 1, 0xb, T0 + SEC);
	KTAP_ASSERT(t, !mvcc_store__snapshot(s, th_snap_write, &b), "snapshot");
	KTAP_ASSERT(t, !mvcc_store__restore(&r, b.p, b.len, 0), "restore");
	e = ends(r, "L/");
	KTAP_EXPECT(t, mvcc_store__lock_count(r) == 2 &&
		    e.max_end_ns == (int64_t)(T0 + 10 * SEC) && e.last_token == ta &&
		    ends(r, "K/").max_end_ns == (int64_t)(T0 + 11 * SEC),
		    "the table came back");
	b.p[b.len - 7] ^= 1;
	KTAP_EXPECT(t, mvcc_store__restore(&old, b.p, b.len, 0) == -EINVAL,
		    "a damaged lock section is refused");
	mvcc_store__free(r);

	/* Format 1: a snapshot of a store without entries, minus the lock
	 * section (a varint 0 and the cursor), magic 0 1, new checksum. */
	mvcc_store__free(s);
	KTAP_ASSERT(t, !mvcc_store__new(&s, 0), "store");
	grant(s, 0xa, 10);
	put_lease(s, "L/a", 0xa);
	KTAP_ASSERT(t, !mvcc_store__snapshot(s, th_snap_write, &e0), "snapshot");
	KTAP_ASSERT(t, e0.p[7] == 2 && e0.p[e0.len - 13] == 0, "format 2");
	e0.len -= 13;
	e0.p[7] = 1;
	crc = crc32(crc32(0, NULL, 0), e0.p, e0.len);
	for (int i = 0; i < 4; i++)
		e0.p[e0.len++] = (uint8_t)(crc >> (8 * i));
	KTAP_ASSERT(t, !mvcc_store__restore(&old, e0.p, e0.len, 0),
		    "a format-1 snapshot restores");
	KTAP_EXPECT(t, !mvcc_store__lock_count(old) &&
		    mvcc_store__lease_count(old) == 1,
		    "with an empty lock table and its leases");
	lrevoke(old, &old, 1, 0xa, T0);
	KTAP_EXPECT(t, ends(old, "L/").max_end_ns == (int64_t)(T0 + 10 * SEC),
		    "and records ends after it");
	mvcc_store__free(old);
	mvcc_store__free(s);
	free(b.p);
	free(e0.p);
}

KTAP_TEST(locks_prune_is_deterministic)
{
	struct mvcc_store *v[2];
	uint64_t late = T0 + MVCC_LOCK_KEEP_NS + 60 * SEC;
	int64_t id = 0x100;

	KTAP_ASSERT(t, !mvcc_store__new(&v[0], 0) && !mvcc_store__new(&v[1], 0),
		    "stores");
	/* Ten locks ended at T0 + 10 s; lock P/ has a live key. */
	for (int i = 0; i < 10; i++, id++) {
		char k[32];

		snprintf(k, sizeof(k), "L%d/%llx", i, (unsigned long long)id);
		for (int m = 0; m < 2; m++) {
			grant(v[m], id, 10);
			put_lease(v[m], k, id);
		}
		keepalive(v[0], id, T0);
		lrevoke(v[0], v, 2, id, T0 + SEC);
	}
	for (int m = 0; m < 2; m++) {
		grant(v[m], 0x50, 10);
		grant(v[m], 0x51, 10);
		put_lease(v[m], "P/50", 0x50);
		put_lease(v[m], "P/51", 0x51);
	}
	lrevoke(v[0], v, 2, 0x51, T0 + SEC);
	KTAP_EXPECT(t, mvcc_store__lock_count(v[1]) == 11, "eleven entries");
	/* Stamped commands within the hour prune nothing. */
	for (int i = 0; i < 5; i++)
		del(v[0], v, 2, "nothing", NULL, T0 + 100 * SEC);
	KTAP_EXPECT(t, mvcc_store__lock_count(v[1]) == 11,
		    "nothing within the hour");
	for (int i = 0; i < 5; i++)
		del(v[0], v, 2, "nothing", NULL, late);
	KTAP_EXPECT(t, mvcc_store__lock_count(v[0]) == 1 &&
		    mvcc_store__lock_count(v[1]) == 1 &&
		    ends(v[1], "P/").last_token == 0 &&
		    ends(v[1], "P/").max_end_ns == (int64_t)(T0 + 11 * SEC),
		    "an hour on, only the lock with keys is left, on both "
		    "members (%zu, %zu)", mvcc_store__lock_count(v[0]),
		    mvcc_store__lock_count(v[1]));
	mvcc_store__free(v[0]);
	mvcc_store__free(v[1]);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
