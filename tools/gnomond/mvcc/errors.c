// SPDX-License-Identifier: GPL-2.0
/*
 * The etcd error table: status code and message text, as etcd 3.4's
 * api/v3rpc/rpctypes define them.  Clients match on the text, so it must
 * stay byte for byte identical.
 */
#include <assert.h>

#include "errors.h"

static const struct {
	enum grpc_status code;
	const char *msg;
} etcd_errors[ETCD_ERR__COUNT] = {
	[ETCD_OK] = { GRPC_OK, "" },
	[ETCD_ERR_EMPTY_KEY] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: key is not provided" },
	[ETCD_ERR_KEY_NOT_FOUND] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: key not found" },
	[ETCD_ERR_VALUE_PROVIDED] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: value is provided" },
	[ETCD_ERR_LEASE_PROVIDED] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: lease is provided" },
	[ETCD_ERR_TOO_MANY_OPS] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: too many operations in txn request" },
	[ETCD_ERR_DUPLICATE_KEY] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: duplicate key given in txn request" },
	[ETCD_ERR_INVALID_SORT] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: invalid sort option" },
	[ETCD_ERR_TOO_MANY_REQUESTS] = { GRPC_RESOURCE_EXHAUSTED,
		"etcdserver: too many requests" },
	[ETCD_ERR_COMPACTED] = { GRPC_OUT_OF_RANGE,
		"etcdserver: mvcc: required revision has been compacted" },
	[ETCD_ERR_FUTURE_REV] = { GRPC_OUT_OF_RANGE,
		"etcdserver: mvcc: required revision is a future revision" },
	[ETCD_ERR_NO_SPACE] = { GRPC_RESOURCE_EXHAUSTED,
		"etcdserver: mvcc: database space exceeded" },
	[ETCD_ERR_LEASE_NOT_FOUND] = { GRPC_NOT_FOUND,
		"etcdserver: requested lease not found" },
	[ETCD_ERR_REQUEST_TOO_LARGE] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: request is too large" },
	[ETCD_ERR_NOT_CAPABLE] = { GRPC_UNAVAILABLE,
		"etcdserver: not capable" },
	[ETCD_ERR_NO_LEADER] = { GRPC_UNAVAILABLE, "etcdserver: no leader" },
	[ETCD_ERR_NOT_LEADER] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: not leader" },
	[ETCD_ERR_LEADER_CHANGED] = { GRPC_UNAVAILABLE,
		"etcdserver: leader changed" },
	[ETCD_ERR_STOPPED] = { GRPC_UNAVAILABLE, "etcdserver: server stopped" },
	[ETCD_ERR_TIMEOUT] = { GRPC_UNAVAILABLE,
		"etcdserver: request timed out" },
	[ETCD_ERR_TIMEOUT_LEADER_FAIL] = { GRPC_UNAVAILABLE,
		"etcdserver: request timed out, possibly due to previous leader failure" },
	[ETCD_ERR_CORRUPT] = { GRPC_DATA_LOSS, "etcdserver: corrupt cluster" },
	[ETCD_ERR_LEASE_EXISTS] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: lease already exists" },
	[ETCD_ERR_LEASE_TTL_TOO_LARGE] = { GRPC_OUT_OF_RANGE,
		"etcdserver: too large lease TTL" },
	[ETCD_ERR_BAD_COMMAND] = { GRPC_INTERNAL,
		"gnomond: undecodable command in the log" },
	/* A method this member routes but does not serve (a leader of an
	 * older version): the client must not retry it as an outage. */
	[ETCD_ERR_BAD_LEADER_TRANSFEREE] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: bad leader transferee" },
	[ETCD_ERR_TIMEOUT_LEADER_TRANSFER] = { GRPC_UNAVAILABLE,
		"etcdserver: request timed out, leader transfer took too long" },
	/* v3election's own errors, which etcd sends as plain Go errors. */
	[ETCD_ERR_ELECTION_NOT_LEADER] = { GRPC_UNKNOWN,
		"election: not leader" },
	[ETCD_ERR_ELECTION_NO_LEADER] = { GRPC_UNKNOWN,
		"election: no leader" },
	[ETCD_ERR_UNIMPLEMENTED] = { GRPC_UNIMPLEMENTED,
		"gnomond: method not implemented" },
	/* Membership changes (the Cluster service). */
	[ETCD_ERR_MEMBER_NOT_FOUND] = { GRPC_NOT_FOUND,
		"etcdserver: member not found" },
	[ETCD_ERR_MEMBER_BAD_URLS] = { GRPC_INVALID_ARGUMENT,
		"etcdserver: given member URLs are invalid" },
	[ETCD_ERR_PEER_URL_EXIST] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: Peer URLs already exists" },
	[ETCD_ERR_MEMBER_NOT_LEARNER] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: can only promote a learner member" },
	[ETCD_ERR_LEARNER_NOT_READY] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: can only promote a learner member which is in sync with leader" },
	/* gnomond's own: Raft slots are numbered 1..9. */
	[ETCD_ERR_TOO_MANY_MEMBERS] = { GRPC_FAILED_PRECONDITION,
		"gnomond: too many members: a cluster has at most 9" },
	/* Retryable: one change at a time. */
	[ETCD_ERR_MEMBER_CHANGE_PENDING] = { GRPC_UNAVAILABLE,
		"gnomond: a membership change is in progress, retry when it is applied" },
	[ETCD_ERR_NOT_ENOUGH_STARTED] = { GRPC_FAILED_PRECONDITION,
		"etcdserver: re-configuration failed due to not enough started members" },
};

enum grpc_status etcd_err__grpc_status(enum etcd_err err)
{
	assert(err >= 0 && err < ETCD_ERR__COUNT);
	return etcd_errors[err].code;
}

const char *etcd_err__message(enum etcd_err err)
{
	assert(err >= 0 && err < ETCD_ERR__COUNT);
	return etcd_errors[err].msg;
}
