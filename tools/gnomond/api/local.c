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
	case API_MAINTENANCE_ALARM:
		return mvcc_store__alarms(store, hdr, res);
	default:
		return -EOPNOTSUPP;
	}
}
