// SPDX-License-Identifier: GPL-2.0
/*
 * What a gnomond member answers at once from its own state
 * (tools/gnomond/daemon/local.c), without a ring or a member: a struct
 * gd_local built by hand around a store, and each answer decoded back and
 * checked field by field against what went in: Status (the leader's
 * member id, the log's last index, the term, the applied index, the
 * store's size and revision, one error per raised alarm), MemberList (in
 * etcd's order, ascending id, with every field), a serializable
 * Range, LeaseLeases, Defragment, Hash and HashKV, and "unimplemented"
 * for anything else.
 */
#include "../ktap.h"
#include "mvcc_helpers.h"
#include "../../tools/gnomond/daemon/local.h"

/* This member: 9 in cluster 7 at term 3 (th_hdr), leading member 0x22. */
static struct gd_local view(struct mvcc_store *s)
{
	return (struct gd_local){
		.store = s,
		.hdr = th_hdr,
		.leader = 0x22,
		.last_index = 17,
		.term = 3,
		.applied = 15,
	};
}

static struct mvcc_store *store(void)
{
	struct mvcc_store *s;

	if (mvcc_store__new(&s, 0))
		abort();
	return s;
}

static void raise_nospace(struct mvcc_store *s, uint64_t member)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	struct mvcc_result res;

	a.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	a.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	a.memberid = member;
	if (th_apply(s, MVCC_CMD_ALARM, &a.base, &res))
		abort();
	mvcc_result__release(&res);
}

static void grant(struct mvcc_store *s, int64_t id)
{
	Etcdserverpb__LeaseGrantRequest r =
		ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	struct mvcc_result res;

	r.id = id;
	r.ttl = 60;
	if (th_apply(s, MVCC_CMD_LEASE_GRANT, &r.base, &res))
		abort();
	mvcc_result__release(&res);
}

/* @m answered from @l, decoded as @desc; NULL (the test failed) if it is
 * an error or does not decode.  Free with protobuf_c_message_free_unpacked. */
static void *answer(struct ktap *t, const struct gd_local *l,
		    enum api_method m, const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *desc)
{
	struct mvcc_result res;
	ProtobufCMessage *msg = NULL;

	gd_local__answer(l, m, req, &res);
	KTAP_EXPECT(t, !res.err, "method %d: error %d", m, res.err);
	if (!res.err) {
		msg = protobuf_c_message_unpack(desc, NULL, res.len, res.resp);
		KTAP_EXPECT(t, msg, "method %d: does not decode", m);
	}
	mvcc_result__release(&res);
	return msg;
}

static void release(void *msg)
{
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* The header every answer carries: this member's, at the store's
 * revision. */
static void expect_header(struct ktap *t, const char *what,
			  const Etcdserverpb__ResponseHeader *h, int64_t rev)
{
	KTAP_ASSERT(t, h, "%s: no header", what);
	KTAP_EXPECT(t, h->cluster_id == th_hdr.cluster_id &&
		    h->member_id == th_hdr.member_id &&
		    h->raft_term == th_hdr.raft_term,
		    "%s: header cluster %llu member %llu term %llu", what,
		    (unsigned long long)h->cluster_id,
		    (unsigned long long)h->member_id,
		    (unsigned long long)h->raft_term);
	KTAP_EXPECT(t, h->revision == rev, "%s: revision %lld, want %lld",
		    what, (long long)h->revision, (long long)rev);
}

KTAP_TEST(status_fields)
{
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__StatusResponse *st;
	int64_t rev;

	th_put(s, "a", "1");
	rev = th_put(s, "b", "2");
	raise_nospace(s, 9);
	raise_nospace(s, 0x22);
	st = answer(t, &l, API_MAINTENANCE_STATUS, NULL,
		    &etcdserverpb__status_response__descriptor);
	if (!st)
		return;
	expect_header(t, "Status", st->header, rev);
	KTAP_EXPECT(t, st->leader == 0x22, "leader %llu",
		    (unsigned long long)st->leader);
	KTAP_EXPECT(t, st->raftindex == 17, "raft index %llu",
		    (unsigned long long)st->raftindex);
	KTAP_EXPECT(t, st->raftterm == 3, "raft term %llu",
		    (unsigned long long)st->raftterm);
	KTAP_EXPECT(t, st->raftappliedindex == 15, "applied index %llu",
		    (unsigned long long)st->raftappliedindex);
	KTAP_EXPECT(t, st->dbsize == (int64_t)mvcc_store__size(s) &&
		    st->dbsizeinuse == st->dbsize && st->dbsize > 0,
		    "db size %lld, in use %lld, store %zu",
		    (long long)st->dbsize, (long long)st->dbsizeinuse,
		    (size_t)mvcc_store__size(s));
	KTAP_EXPECT(t, st->version && *st->version, "no version");
	KTAP_EXPECT(t, !st->islearner, "a learner");
	KTAP_ASSERT(t, st->n_errors == 2, "%zu errors, want 2", st->n_errors);
	KTAP_EXPECT(t, !strcmp(st->errors[0], "memberID:9 alarm:NOSPACE") &&
		    !strcmp(st->errors[1], "memberID:34 alarm:NOSPACE"),
		    "errors \"%s\", \"%s\"", st->errors[0], st->errors[1]);
	release(st);
	mvcc_store__free(s);
}

/* No leader known, no alarm: leader 0, no errors. */
KTAP_TEST(status_without_leader)
{
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__StatusResponse *st;

	l.leader = 0;
	st = answer(t, &l, API_MAINTENANCE_STATUS, NULL,
		    &etcdserverpb__status_response__descriptor);
	if (!st)
		return;
	KTAP_EXPECT(t, st->leader == 0, "leader %llu",
		    (unsigned long long)st->leader);
	KTAP_EXPECT(t, st->n_errors == 0, "%zu errors", st->n_errors);
	release(st);
	mvcc_store__free(s);
}

static bool strv_is(char **v, size_t n, const char *const *want,
		    size_t n_want)
{
	if (n != n_want)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], want[i]))
			return false;
	return true;
}

KTAP_TEST(member_list_sorted)
{
	static const char *const peer[3][2] = {
		{ "http://10.0.0.3:2380", "http://c.example:2380" },
		{ "http://10.0.0.1:2380" },
		{ "http://10.0.0.2:2380" },
	};
	static const char *const client[3][2] = {
		{ "http://10.0.0.3:2379", "http://c.example:2379" },
		{ "http://10.0.0.1:2379" },
	};
	static const struct api_member table[] = {
		{ 30, "c", peer[0], 2, client[0], 2, false },
		{ 10, "a", peer[1], 1, client[1], 1, false },
		{ 20, "b", peer[2], 1, NULL, 0, true },	/* no hello yet */
	};
	/* By id: table[1], table[2], table[0]. */
	static const int order[] = { 1, 2, 0 };
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__MemberListResponse *ml;
	int64_t rev = th_put(s, "k", "v");

	l.members = table;
	l.n_members = 3;
	ml = answer(t, &l, API_CLUSTER_MEMBER_LIST, NULL,
		    &etcdserverpb__member_list_response__descriptor);
	if (!ml)
		return;
	expect_header(t, "MemberList", ml->header, rev);
	KTAP_ASSERT(t, ml->n_members == 3, "%zu members", ml->n_members);
	for (size_t i = 0; i < 3; i++) {
		const Etcdserverpb__Member *m = ml->members[i];
		const struct api_member *w = &table[order[i]];

		KTAP_EXPECT(t, m->id == w->id && !strcmp(m->name, w->name),
			    "member %zu: id %llu name %s, want %llu %s", i,
			    (unsigned long long)m->id, m->name,
			    (unsigned long long)w->id, w->name);
		KTAP_EXPECT(t, strv_is(m->peerurls, m->n_peerurls,
				       w->peer_urls, w->n_peer_urls),
			    "member %zu: %zu peer URLs, want %zu", i,
			    m->n_peerurls, w->n_peer_urls);
		KTAP_EXPECT(t, strv_is(m->clienturls, m->n_clienturls,
				       w->client_urls, w->n_client_urls),
			    "member %zu: %zu client URLs, want %zu", i,
			    m->n_clienturls, w->n_client_urls);
		KTAP_EXPECT(t, m->islearner == w->is_learner,
			    "member %zu: learner %d", i, m->islearner);
	}
	release(ml);
	mvcc_store__free(s);
}

KTAP_TEST(serializable_range_from_store)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__RangeResponse *rr;
	int64_t rev;

	th_put(s, "k", "old");
	rev = th_put(s, "k", "new");
	r.key = th_bin("k");
	r.serializable = true;
	rr = answer(t, &l, API_KV_RANGE, &r.base,
		    &etcdserverpb__range_response__descriptor);
	if (!rr)
		return;
	expect_header(t, "Range", rr->header, rev);
	KTAP_EXPECT(t, rr->n_kvs == 1 && rr->count == 1 &&
		    th_val_is(&rr->kvs[0]->value, "new") &&
		    rr->kvs[0]->mod_revision == rev,
		    "%zu keys, count %lld", rr->n_kvs, (long long)rr->count);
	release(rr);
	mvcc_store__free(s);
}

KTAP_TEST(lease_leases_from_store)
{
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__LeaseLeasesResponse *ll;
	bool seen[2] = { false, false };

	grant(s, 100);
	grant(s, 200);
	ll = answer(t, &l, API_LEASE_LEASES, NULL,
		    &etcdserverpb__lease_leases_response__descriptor);
	if (!ll)
		return;
	expect_header(t, "LeaseLeases", ll->header,
		      mvcc_store__revision(s));
	for (size_t i = 0; i < ll->n_leases; i++)
		if (ll->leases[i]->id == 100 || ll->leases[i]->id == 200)
			seen[ll->leases[i]->id == 200] = true;
	KTAP_EXPECT(t, ll->n_leases == 2 && seen[0] && seen[1],
		    "%zu leases, 100 %d, 200 %d", ll->n_leases, seen[0],
		    seen[1]);
	release(ll);
	mvcc_store__free(s);
}

KTAP_TEST(defragment_answered)
{
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__DefragmentResponse *df;
	int64_t rev = th_put(s, "k", "v");

	df = answer(t, &l, API_MAINTENANCE_DEFRAGMENT, NULL,
		    &etcdserverpb__defragment_response__descriptor);
	if (!df)
		return;
	expect_header(t, "Defragment", df->header, rev);
	release(df);
	mvcc_store__free(s);
}

/* Hash and HashKV: the store's own hashes, which a write changes. */
KTAP_TEST(hashes_from_store)
{
	Etcdserverpb__HashKVRequest hkr = ETCDSERVERPB__HASH_KVREQUEST__INIT;
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	Etcdserverpb__HashResponse *h;
	Etcdserverpb__HashKVResponse *hk;
	uint32_t before;
	int64_t rev = th_put(s, "k", "v");

	h = answer(t, &l, API_MAINTENANCE_HASH, NULL,
		   &etcdserverpb__hash_response__descriptor);
	if (!h)
		return;
	expect_header(t, "Hash", h->header, rev);
	before = h->hash;
	release(h);

	th_put(s, "k", "w");
	h = answer(t, &l, API_MAINTENANCE_HASH, NULL,
		   &etcdserverpb__hash_response__descriptor);
	if (!h)
		return;
	KTAP_EXPECT(t, h->hash != before, "hash %u unchanged by a write",
		    before);
	release(h);

	hk = answer(t, &l, API_MAINTENANCE_HASH_KV, &hkr.base,
		    &etcdserverpb__hash_kvresponse__descriptor);
	if (!hk)
		return;
	expect_header(t, "HashKV", hk->header, mvcc_store__revision(s));
	release(hk);
	mvcc_store__free(s);
}

/* What a member does not serve from its own state gets "unimplemented",
 * never an answer. */
KTAP_TEST(others_unimplemented)
{
	static const enum api_method not_local[] = {
		API_KV_PUT, API_KV_TXN, API_LEASE_GRANT, API_WATCH,
		API_MAINTENANCE_MOVE_LEADER, API_LOCK_LOCK,
	};
	struct mvcc_store *s = store();
	struct gd_local l = view(s);
	struct mvcc_result res;

	for (size_t i = 0; i < sizeof(not_local) / sizeof(not_local[0]);
	     i++) {
		gd_local__answer(&l, not_local[i], NULL, &res);
		KTAP_EXPECT(t, res.err == ETCD_ERR_UNIMPLEMENTED && !res.len,
			    "method %d: error %d, %zu bytes", not_local[i],
			    res.err, res.len);
		mvcc_result__release(&res);
	}
	mvcc_store__free(s);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
