// SPDX-License-Identifier: GPL-2.0
/*
 * Serving a request straight from a local MVCC store: a write becomes a
 * command and is applied at once, a read is answered from the store.  This
 * is what one member without peers does, and what the test server, the
 * session tests and the fuzz target do; the daemon uses the read half for
 * the reads it may serve locally.
 */
#include <errno.h>
#include <stdlib.h>

#include "api.h"

static int defragment(struct mvcc_store *store, const struct mvcc_header *hdr,
		      struct mvcc_result *res)
{
	Etcdserverpb__DefragmentResponse r = ETCDSERVERPB__DEFRAGMENT_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	size_t n;

	h.cluster_id = hdr->cluster_id;
	h.member_id = hdr->member_id;
	h.raft_term = hdr->raft_term;
	h.revision = mvcc_store__revision(store);
	r.header = &h;
	n = protobuf_c_message_get_packed_size(&r.base);
	res->err = ETCD_OK;
	res->resp = malloc(n ? n : 1);
	if (!res->resp)
		return -ENOMEM;
	res->len = protobuf_c_message_pack(&r.base, res->resp);
	return 0;
}

int api_serve_local(struct mvcc_store *store, const struct mvcc_header *hdr,
		    const struct api_request *req, struct mvcc_result *res)
{
	enum mvcc_cmd_type type = api_method__cmd_type(req->method,
						       req->decoded);
	uint8_t *cmd;
	size_t len;
	int rc;

	if (type) {
		rc = mvcc_cmd__wrap(type, req->msg, req->len, &cmd, &len);
		if (rc)
			return rc;
		rc = mvcc_store__apply(store, hdr, cmd, len, res);
		free(cmd);
		return rc;
	}
	switch (req->method) {
	case API_KV_RANGE:
		return mvcc_store__range(store, hdr,
			(const Etcdserverpb__RangeRequest *)req->decoded, res);
	case API_MAINTENANCE_DEFRAGMENT:
		return defragment(store, hdr, res);
	case API_MAINTENANCE_HASH:
		return mvcc_store__hash(store, hdr, res);
	case API_MAINTENANCE_HASH_KV:
		return mvcc_store__hash_kv(store, hdr,
			(const Etcdserverpb__HashKVRequest *)req->decoded, res);
	default:
		return -EOPNOTSUPP;
	}
}
