// SPDX-License-Identifier: GPL-2.0
/*
 * What any member answers from its own state, without Raft: serializable
 * reads (possibly stale, as etcd's), Maintenance.Status (raft_term is this
 * member's term; asked of the leader it is the fencing token), the member
 * list (in etcd's order, ascending id), the leases (LeaseLeases, from the
 * applied state), and Defragment (nothing to do: compaction already gave
 * the memory back).  It reads only struct gd_local (local.h): no daemon
 * state, no ring.
 */
#include <string.h>

#include "../raft/raft.h"
#include "local.h"

static int status(const struct gd_local *l, struct mvcc_result *res)
{
	char alarm[MVCC_MAX_ALARMS][64];
	const char *errs[MVCC_MAX_ALARMS];
	struct api_status st = {
		.db_size = (int64_t)mvcc_store__size(l->store),
		.db_size_in_use = (int64_t)mvcc_store__size(l->store),
		.leader = l->leader,
		.raft_index = l->last_index,
		.raft_term = l->term,
		.raft_applied_index = l->applied,
		.is_learner = l->is_learner,
	};

	while (st.n_errors < MVCC_MAX_ALARMS &&
	       mvcc_store__alarm_text(l->store, st.n_errors,
				      alarm[st.n_errors], sizeof(alarm[0]))) {
		errs[st.n_errors] = alarm[st.n_errors];
		st.n_errors++;
	}
	st.errors = errs;
	return api_status__pack(&l->hdr, mvcc_store__revision(l->store), &st,
				&res->resp, &res->len);
}

static int members(const struct gd_local *l, struct mvcc_result *res)
{
	struct api_member m[RAFT_MAX_MEMBERS];
	uint32_t n = l->n_members < RAFT_MAX_MEMBERS ? l->n_members :
		     RAFT_MAX_MEMBERS;

	if (n)
		memcpy(m, l->members, n * sizeof(m[0]));
	/* etcd lists its members sorted by id. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j && m[j - 1].id > m[j].id; j--) {
			struct api_member tmp = m[j];

			m[j] = m[j - 1];
			m[j - 1] = tmp;
		}
	return api_members__pack(&l->hdr, mvcc_store__revision(l->store), m,
				 n, &res->resp, &res->len);
}

void gd_local__answer(const struct gd_local *l, enum api_method method,
		      const ProtobufCMessage *decoded, struct mvcc_result *res)
{
	int rc;

	*res = (struct mvcc_result){ 0 };
	switch (method) {
	case API_KV_RANGE:
		rc = mvcc_store__range(l->store, &l->hdr,
				       (const Etcdserverpb__RangeRequest *)
				       decoded, res);
		break;
	case API_MAINTENANCE_STATUS:
		rc = status(l, res);
		break;
	case API_CLUSTER_MEMBER_LIST:
		rc = members(l, res);
		break;
	case API_LEASE_LEASES:
		rc = mvcc_store__lease_leases(l->store, &l->hdr, res);
		break;
	case API_MAINTENANCE_DEFRAGMENT:
	case API_MAINTENANCE_HASH:
	case API_MAINTENANCE_HASH_KV:
		rc = api_serve_local(l->store, &l->hdr, &(struct api_request){
			.method = method,
			.decoded = (ProtobufCMessage *)decoded }, res);
		break;
	default:
		res->err = ETCD_ERR_UNIMPLEMENTED;
		rc = 0;
		break;
	}
	if (rc)
		res->err = ETCD_ERR_TIMEOUT;
}
