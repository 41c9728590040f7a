// SPDX-License-Identifier: GPL-2.0
/*
 * The answers that come from the daemon's state rather than the MVCC
 * store: Maintenance.Status, MoveLeader and the Cluster service's, packed
 * from plain structs (api.h) so that the daemon needs no protobuf-c of its
 * own.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "api.h"

static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	*len = protobuf_c_message_pack(m, *out);
	return 0;
}

static void header(Etcdserverpb__ResponseHeader *h,
		   const struct mvcc_header *hdr, int64_t revision)
{
	h->cluster_id = hdr->cluster_id;
	h->member_id = hdr->member_id;
	h->raft_term = hdr->raft_term;
	h->revision = revision;
}

int api_status__pack(const struct mvcc_header *hdr, int64_t revision,
		     const struct api_status *st, uint8_t **out, size_t *len)
{
	Etcdserverpb__StatusResponse r = ETCDSERVERPB__STATUS_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;

	header(&h, hdr, revision);
	r.header = &h;
	r.version = (char *)(st->version ? st->version : API_ETCD_VERSION);
	r.dbsize = st->db_size;
	r.dbsizeinuse = st->db_size_in_use;
	r.leader = st->leader;
	r.raftindex = st->raft_index;
	r.raftterm = st->raft_term;
	r.raftappliedindex = st->raft_applied_index;
	r.islearner = st->is_learner;
	r.errors = (char **)st->errors;
	r.n_errors = st->n_errors;
	return pack(&r.base, out, len);
}

int api_header_only__pack(enum api_method m, const struct mvcc_header *hdr,
			  int64_t revision, uint8_t **out, size_t *len)
{
	Etcdserverpb__MoveLeaderResponse r =
		ETCDSERVERPB__MOVE_LEADER_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;

	assert(m == API_MAINTENANCE_MOVE_LEADER);
	header(&h, hdr, revision);
	r.header = &h;
	return pack(&r.base, out, len);
}

/* The members as etcd's messages, pointing into @m. */
static Etcdserverpb__Member *members_new(const struct api_member *m, size_t n,
					 Etcdserverpb__Member ***ptrs)
{
	Etcdserverpb__Member *ms = calloc(n + 1, sizeof(*ms));
	Etcdserverpb__Member **mp = calloc(n + 1, sizeof(*mp));

	if (!ms || !mp) {
		free(ms);
		free(mp);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		etcdserverpb__member__init(&ms[i]);
		ms[i].id = m[i].id;
		ms[i].name = (char *)(m[i].name ? m[i].name : "");
		ms[i].peerurls = (char **)m[i].peer_urls;
		ms[i].n_peerurls = m[i].n_peer_urls;
		ms[i].clienturls = (char **)m[i].client_urls;
		ms[i].n_clienturls = m[i].n_client_urls;
		ms[i].islearner = m[i].is_learner;
		mp[i] = &ms[i];
	}
	*ptrs = mp;
	return ms;
}

int api_members__pack(const struct mvcc_header *hdr, int64_t revision,
		      const struct api_member *m, size_t n, uint8_t **out,
		      size_t *len)
{
	return api_member_change__pack(API_CLUSTER_MEMBER_LIST, hdr, revision,
				       NULL, m, n, out, len);
}

/* MemberAddResponse, MemberRemoveResponse, MemberUpdateResponse and
 * MemberPromoteResponse share MemberListResponse's layout (header = 1,
 * members = 2) but for MemberAdd's member = 2 and members = 3. */
int api_member_change__pack(enum api_method method,
			    const struct mvcc_header *hdr, int64_t revision,
			    const struct api_member *added,
			    const struct api_member *m, size_t n,
			    uint8_t **out, size_t *len)
{
	Etcdserverpb__MemberListResponse r =
		ETCDSERVERPB__MEMBER_LIST_RESPONSE__INIT;
	Etcdserverpb__MemberAddResponse a =
		ETCDSERVERPB__MEMBER_ADD_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	Etcdserverpb__Member **mp = NULL, *one, **one_p = NULL;
	Etcdserverpb__Member *ms = members_new(m, n, &mp);
	int rc = -ENOMEM;

	if (!ms)
		return rc;
	header(&h, hdr, revision);
	if (method == API_CLUSTER_MEMBER_ADD) {
		one = added ? members_new(added, 1, &one_p) : NULL;
		if (one) {
			a.header = &h;
			a.member = one;
			a.members = mp;
			a.n_members = n;
			rc = pack(&a.base, out, len);
			free(one);
			free(one_p);
		}
	} else {
		r.header = &h;
		r.members = mp;
		r.n_members = n;
		rc = pack(&r.base, out, len);
	}
	free(ms);
	free(mp);
	return rc;
}
