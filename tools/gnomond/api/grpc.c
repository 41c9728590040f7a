// SPDX-License-Identifier: GPL-2.0
/*
 * gRPC request handling above HTTP/2 (see grpc.h).
 *
 * A unary call's body is exactly one message: a flag byte (0: not
 * compressed; gnomond advertises no compression, so 1 gets UNIMPLEMENTED as
 * from grpc-go without a decompressor), a 4-byte big-endian length, the
 * protobuf bytes.  Sizes follow etcd: a write larger than
 * --max-request-bytes is "etcdserver: request is too large"; anything
 * larger than that plus 512 KiB is refused by gRPC itself.
 */
#include <stdio.h>
#include <string.h>

#include "grpc.h"

enum method_kind { UNARY, BIDI, SERVER_STREAM };

static const struct {
	const char *path;
	const ProtobufCMessageDescriptor *desc;
	enum mvcc_cmd_type cmd;		/* 0: a read */
} methods[API_METHOD__COUNT] = {
	[API_KV_RANGE] = { "/etcdserverpb.KV/Range",
		&etcdserverpb__range_request__descriptor, 0 },
	[API_KV_PUT] = { "/etcdserverpb.KV/Put",
		&etcdserverpb__put_request__descriptor, MVCC_CMD_PUT },
	[API_KV_DELETE_RANGE] = { "/etcdserverpb.KV/DeleteRange",
		&etcdserverpb__delete_range_request__descriptor,
		MVCC_CMD_DELETE_RANGE },
	[API_KV_TXN] = { "/etcdserverpb.KV/Txn",
		&etcdserverpb__txn_request__descriptor, MVCC_CMD_TXN },
	[API_KV_COMPACT] = { "/etcdserverpb.KV/Compact",
		&etcdserverpb__compaction_request__descriptor,
		MVCC_CMD_COMPACT },
	[API_MAINTENANCE_ALARM] = { "/etcdserverpb.Maintenance/Alarm",
		&etcdserverpb__alarm_request__descriptor, MVCC_CMD_ALARM },
	[API_MAINTENANCE_STATUS] = { "/etcdserverpb.Maintenance/Status",
		&etcdserverpb__status_request__descriptor, 0 },
	[API_CLUSTER_MEMBER_LIST] = { "/etcdserverpb.Cluster/MemberList",
		&etcdserverpb__member_list_request__descriptor, 0 },
	[API_MAINTENANCE_DEFRAGMENT] = { "/etcdserverpb.Maintenance/Defragment",
		&etcdserverpb__defragment_request__descriptor, 0 },
	[API_LEASE_GRANT] = { "/etcdserverpb.Lease/LeaseGrant",
		&etcdserverpb__lease_grant_request__descriptor,
		MVCC_CMD_LEASE_GRANT },
	[API_LEASE_REVOKE] = { "/etcdserverpb.Lease/LeaseRevoke",
		&etcdserverpb__lease_revoke_request__descriptor,
		MVCC_CMD_LEASE_REVOKE },
	[API_LEASE_KEEPALIVE] = { "/etcdserverpb.Lease/LeaseKeepAlive",
		&etcdserverpb__lease_keep_alive_request__descriptor, 0 },
	[API_LEASE_TIME_TO_LIVE] = { "/etcdserverpb.Lease/LeaseTimeToLive",
		&etcdserverpb__lease_time_to_live_request__descriptor, 0 },
	[API_LEASE_LEASES] = { "/etcdserverpb.Lease/LeaseLeases",
		&etcdserverpb__lease_leases_request__descriptor, 0 },
	[API_WATCH] = { "/etcdserverpb.Watch/Watch",
		&etcdserverpb__watch_request__descriptor, 0 },
	[API_MAINTENANCE_HASH] = { "/etcdserverpb.Maintenance/Hash",
		&etcdserverpb__hash_request__descriptor, 0 },
	[API_MAINTENANCE_HASH_KV] = { "/etcdserverpb.Maintenance/HashKV",
		&etcdserverpb__hash_kvrequest__descriptor, 0 },
	[API_MAINTENANCE_MOVE_LEADER] = { "/etcdserverpb.Maintenance/MoveLeader",
		&etcdserverpb__move_leader_request__descriptor, 0 },
	[API_LOCK_LOCK] = { "/v3lockpb.Lock/Lock",
		&v3lockpb__lock_request__descriptor, 0 },
	[API_LOCK_UNLOCK] = { "/v3lockpb.Lock/Unlock",
		&v3lockpb__unlock_request__descriptor, 0 },
	[API_ELECTION_CAMPAIGN] = { "/v3electionpb.Election/Campaign",
		&v3electionpb__campaign_request__descriptor, 0 },
	[API_ELECTION_PROCLAIM] = { "/v3electionpb.Election/Proclaim",
		&v3electionpb__proclaim_request__descriptor, 0 },
	[API_ELECTION_LEADER] = { "/v3electionpb.Election/Leader",
		&v3electionpb__leader_request__descriptor, 0 },
	[API_ELECTION_OBSERVE] = { "/v3electionpb.Election/Observe",
		&v3electionpb__leader_request__descriptor, 0 },
	[API_ELECTION_RESIGN] = { "/v3electionpb.Election/Resign",
		&v3electionpb__resign_request__descriptor, 0 },
	[API_MAINTENANCE_SNAPSHOT] = { "/etcdserverpb.Maintenance/Snapshot",
		&etcdserverpb__snapshot_request__descriptor, 0 },
	[API_CLUSTER_MEMBER_ADD] = { "/etcdserverpb.Cluster/MemberAdd",
		&etcdserverpb__member_add_request__descriptor, 0 },
	[API_CLUSTER_MEMBER_REMOVE] = { "/etcdserverpb.Cluster/MemberRemove",
		&etcdserverpb__member_remove_request__descriptor, 0 },
	[API_CLUSTER_MEMBER_UPDATE] = { "/etcdserverpb.Cluster/MemberUpdate",
		&etcdserverpb__member_update_request__descriptor, 0 },
	[API_CLUSTER_MEMBER_PROMOTE] = { "/etcdserverpb.Cluster/MemberPromote",
		&etcdserverpb__member_promote_request__descriptor, 0 },
};

static const char *const services[] = {
	"etcdserverpb.KV", "etcdserverpb.Maintenance", "etcdserverpb.Cluster",
	"etcdserverpb.Lease", "etcdserverpb.Watch", "v3lockpb.Lock",
	"v3electionpb.Election",
};

static const enum method_kind kinds[API_METHOD__COUNT] = {
	[API_LEASE_KEEPALIVE] = BIDI,
	[API_WATCH] = BIDI,
	[API_ELECTION_OBSERVE] = SERVER_STREAM,
	[API_MAINTENANCE_SNAPSHOT] = SERVER_STREAM,
};

bool api_method__streams(enum api_method m)
{
	return m >= 0 && m < API_METHOD__COUNT && kinds[m] != UNARY;
}

bool grpc_method__ends_with_client(enum api_method m)
{
	return m >= 0 && m < API_METHOD__COUNT && kinds[m] == BIDI;
}

/* Every Alarm request, GET too, goes through the log, as in etcd: the
 * alarms are the cluster's, and a GET answered by a lagging member could
 * miss one just raised. */
enum mvcc_cmd_type api_method__cmd_type(enum api_method m,
					const ProtobufCMessage *decoded)
{
	(void)decoded;
	if (m < 0 || m >= API_METHOD__COUNT)
		return 0;
	return methods[m].cmd;
}

int grpc_route(const char *path, size_t len, char *buf, size_t bufsize,
	       const char **why)
{
	const char *slash;

	for (int m = 0; m < API_METHOD__COUNT; m++)
		if (strlen(methods[m].path) == len &&
		    !memcmp(methods[m].path, path, len))
			return m;
	/* grpc-go's texts: an unknown service, or a method of a known one. */
	slash = len > 1 ? memchr(path + 1, '/', len - 1) : NULL;
	if (path[0] == '/' && slash) {
		int slen = (int)(slash - path - 1);
		int mlen = (int)(len - (size_t)(slash - path) - 1);

		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
			if (strlen(services[i]) == (size_t)slen &&
			    !memcmp(services[i], path + 1, slen)) {
				snprintf(buf, bufsize,
					 "unknown method %.*s for service %.*s",
					 mlen, slash + 1, slen, path + 1);
				*why = buf;
				return -1;
			}
		snprintf(buf, bufsize, "unknown service %.*s", slen, path + 1);
		*why = buf;
		return -1;
	}
	snprintf(buf, bufsize, "malformed method name: %.*s",
		 (int)(len > 64 ? 64 : len), path);
	*why = buf;
	return -1;
}

static void set_err(struct grpc_error *e, enum grpc_status code,
		    const char *msg)
{
	e->code = code;
	e->msg = msg;
}

static void set_etcd_err(struct grpc_error *e, enum etcd_err err)
{
	set_err(e, etcd_err__grpc_status(err), etcd_err__message(err));
}

static enum etcd_err validate(enum api_method m, const ProtobufCMessage *msg)
{
	switch (m) {
	case API_KV_RANGE:
		return mvcc_validate__range((const void *)msg);
	case API_KV_PUT:
		return mvcc_validate__put((const void *)msg);
	case API_KV_DELETE_RANGE:
		return mvcc_validate__delete_range((const void *)msg);
	case API_KV_TXN:
		return mvcc_validate__txn((const void *)msg);
	default:
		return ETCD_OK;
	}
}

ProtobufCMessage *grpc_decode(enum api_method m, const uint8_t *body,
			      size_t blen,
			      size_t max_request, const uint8_t **msg,
			      size_t *len, struct grpc_error *err)
{
	ProtobufCMessage *pm;
	enum etcd_err e;
	uint8_t flag;
	size_t n;

	memset(err, 0, sizeof(*err));
	if (blen < GRPC_FRAME_HDR) {
		set_err(err, GRPC_INTERNAL,
			blen ? "grpc: truncated message header"
			     : "grpc: no request message");
		return NULL;
	}
	n = grpc_frame__get(body, &flag);
	if (flag == 1) {
		set_err(err, GRPC_UNIMPLEMENTED,
			"grpc: Decompressor is not installed for grpc-encoding");
		return NULL;
	}
	if (flag != 0) {
		set_err(err, GRPC_INTERNAL, "grpc: invalid message flags");
		return NULL;
	}
	if (n > max_request + API_GRPC_OVERHEAD_BYTES) {
		snprintf(err->buf, sizeof(err->buf),
			 "grpc: received message larger than max (%zu vs. %zu)",
			 n, max_request + API_GRPC_OVERHEAD_BYTES);
		set_err(err, GRPC_RESOURCE_EXHAUSTED, err->buf);
		return NULL;
	}
	if (blen - GRPC_FRAME_HDR != n) {
		set_err(err, GRPC_INTERNAL, blen - GRPC_FRAME_HDR < n ?
			"grpc: truncated message" :
			"grpc: more than one message in a unary call");
		return NULL;
	}
	if (methods[m].cmd && n > max_request) {
		set_etcd_err(err, ETCD_ERR_REQUEST_TOO_LARGE);
		return NULL;
	}
	*msg = body + GRPC_FRAME_HDR;
	*len = n;
	if (m == API_KV_TXN &&
	    !mvcc_wire__txn_depth_ok(*msg, n, MVCC_MAX_TXN_DEPTH)) {
		set_etcd_err(err, ETCD_ERR_TOO_MANY_OPS);
		return NULL;
	}
	pm = protobuf_c_message_unpack(methods[m].desc, NULL, n, *msg);
	if (!pm) {
		set_err(err, GRPC_INTERNAL,
			"grpc: error unmarshalling request: bad protobuf");
		return NULL;
	}
	e = validate(m, pm);
	if (e) {
		protobuf_c_message_free_unpacked(pm, NULL);
		set_etcd_err(err, e);
		return NULL;
	}
	return pm;
}

void grpc_percent_encode(const char *msg, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '%') {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		} else {
			*out++ = *p;
		}
	}
	*out = 0;
}
