// SPDX-License-Identifier: GPL-2.0
/*
 * What any member answers from its own state, without Raft: serializable
 * reads (possibly stale, as etcd's), Maintenance.Status (raft_term is this
 * member's term; asked of the leader it is the fencing token), the member
 * list (client URLs of other members as their hello frames gave them; in
 * etcd's order, ascending id), the leases (LeaseLeases, from the applied
 * state), and Defragment (nothing to do: compaction already gave the
 * memory back).
 */
#include <stdio.h>
#include <string.h>

#include "local.h"

static int status(struct gnomond *d, const struct mvcc_header *hdr,
		  struct mvcc_result *res)
{
	uint32_t leader = raft__leader(d->raft);
	char alarm[MVCC_MAX_ALARMS][64];
	const char *errs[MVCC_MAX_ALARMS];
	struct api_status st = {
		.db_size = (int64_t)mvcc_store__size(d->store),
		.db_size_in_use = (int64_t)mvcc_store__size(d->store),
		.leader = leader ? d->cfg.members[leader - 1].id : 0,
		.raft_index = raft__last_index(d->raft),
		.raft_term = raft__term(d->raft),
		.raft_applied_index = d->applied,
	};

	while (st.n_errors < MVCC_MAX_ALARMS &&
	       mvcc_store__alarm_text(d->store, st.n_errors,
				      alarm[st.n_errors], sizeof(alarm[0]))) {
		errs[st.n_errors] = alarm[st.n_errors];
		st.n_errors++;
	}
	st.errors = errs;
	return api_status__pack(hdr, mvcc_store__revision(d->store), &st,
				&res->resp, &res->len);
}

/* Split a comma-separated list in place into at most max pointers. */
static size_t split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		v[n++] = tok;
	return n;
}

static int members(struct gnomond *d, const struct mvcc_header *hdr,
		   struct mvcc_result *res)
{
	struct api_member m[RAFT_MAX_MEMBERS];
	const char *peer[RAFT_MAX_MEMBERS];
	const char *client[RAFT_MAX_MEMBERS][GD_MAX_URLS];
	char urls[RAFT_MAX_MEMBERS][GD_MAX_URLS * GD_URL_LEN];
	const struct gd_url_list *own = &d->cfg.advertise_client;

	for (uint32_t i = 0; i < d->cfg.n_members; i++) {
		uint32_t id = i + 1;

		peer[i] = d->cfg.members[i].peer.text;
		m[i] = (struct api_member){
			.id = d->cfg.members[i].id,
			.name = d->cfg.members[i].name,
			.peer_urls = &peer[i], .n_peer_urls = 1,
			.client_urls = client[i],
		};
		if (id == d->cfg.self) {
			for (unsigned int j = 0; j < own->n; j++)
				client[i][j] = own->v[j].text;
			m[i].n_client_urls = own->n;
			continue;
		}
		snprintf(urls[i], sizeof(urls[i]), "%s",
			 d->peers[id].client_urls);
		m[i].n_client_urls = split(urls[i], client[i], GD_MAX_URLS);
	}
	/* etcd lists its members sorted by id. */
	for (uint32_t i = 1; i < d->cfg.n_members; i++)
		for (uint32_t j = i; j && m[j - 1].id > m[j].id; j--) {
			struct api_member tmp = m[j];

			m[j] = m[j - 1];
			m[j - 1] = tmp;
		}
	return api_members__pack(hdr, mvcc_store__revision(d->store), m,
				 d->cfg.n_members, &res->resp, &res->len);
}

void gd_local__serve(struct gnomond *d, const struct gd_target *t,
		     enum api_method method, const ProtobufCMessage *decoded)
{
	struct mvcc_header hdr = gd_answer__header(d);
	struct mvcc_result res = { 0 };
	int rc;

	switch (method) {
	case API_KV_RANGE:
		rc = mvcc_store__range(d->store, &hdr,
				       (const Etcdserverpb__RangeRequest *)
				       decoded, &res);
		break;
	case API_MAINTENANCE_STATUS:
		rc = status(d, &hdr, &res);
		break;
	case API_CLUSTER_MEMBER_LIST:
		rc = members(d, &hdr, &res);
		break;
	case API_LEASE_LEASES:
		rc = mvcc_store__lease_leases(d->store, &hdr, &res);
		break;
	case API_MAINTENANCE_DEFRAGMENT:
	case API_MAINTENANCE_HASH:
	case API_MAINTENANCE_HASH_KV:
		rc = api_serve_local(d->store, &hdr, &(struct api_request){
			.method = method,
			.decoded = (ProtobufCMessage *)decoded }, &res);
		break;
	default:
		res.err = ETCD_ERR_UNIMPLEMENTED;
		rc = 0;
		break;
	}
	if (rc)
		res.err = ETCD_ERR_TIMEOUT;
	gd_answer__deliver(d, t, &res);
	mvcc_result__release(&res);
}
