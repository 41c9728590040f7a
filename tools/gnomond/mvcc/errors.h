/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The etcd v3 errors that gnomond returns, with the gRPC status code and the
 * exact message text etcd uses, so that clients (clientv3's rpctypes,
 * python-etcd3's exception mapping) recognise them.  One table, shared by
 * the MVCC state machine (which raises the storage errors) and the API layer
 * (which raises the server ones: not leader, request too large, ...).
 */
#ifndef GNOMOND_MVCC_ERRORS_H
#define GNOMOND_MVCC_ERRORS_H

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum grpc_status {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

enum etcd_err {
	ETCD_OK = 0,
	ETCD_ERR_EMPTY_KEY,
	ETCD_ERR_KEY_NOT_FOUND,
	ETCD_ERR_VALUE_PROVIDED,
	ETCD_ERR_LEASE_PROVIDED,
	ETCD_ERR_TOO_MANY_OPS,
	ETCD_ERR_DUPLICATE_KEY,
	ETCD_ERR_COMPACTED,
	ETCD_ERR_FUTURE_REV,
	ETCD_ERR_NO_SPACE,
	ETCD_ERR_LEASE_NOT_FOUND,
	ETCD_ERR_REQUEST_TOO_LARGE,
	ETCD_ERR_NOT_CAPABLE,
	ETCD_ERR_NO_LEADER,
	ETCD_ERR_NOT_LEADER,
	ETCD_ERR_LEADER_CHANGED,
	ETCD_ERR_STOPPED,
	ETCD_ERR_TIMEOUT,
	ETCD_ERR_TIMEOUT_LEADER_FAIL,
	ETCD_ERR_CORRUPT,
	ETCD_ERR_BAD_COMMAND,
	ETCD_ERR_INVALID_SORT,
	ETCD_ERR_TOO_MANY_REQUESTS,
	ETCD_ERR_LEASE_EXISTS,
	ETCD_ERR_LEASE_TTL_TOO_LARGE,
	ETCD_ERR_UNIMPLEMENTED,
	ETCD_ERR_BAD_LEADER_TRANSFEREE,
	ETCD_ERR_TIMEOUT_LEADER_TRANSFER,
	ETCD_ERR_ELECTION_NOT_LEADER,
	ETCD_ERR_ELECTION_NO_LEADER,
	ETCD_ERR_MEMBER_NOT_FOUND,
	ETCD_ERR_MEMBER_BAD_URLS,
	ETCD_ERR_PEER_URL_EXIST,
	ETCD_ERR_MEMBER_NOT_LEARNER,
	ETCD_ERR_LEARNER_NOT_READY,
	ETCD_ERR_TOO_MANY_MEMBERS,
	ETCD_ERR_MEMBER_CHANGE_PENDING,
	ETCD_ERR_NOT_ENOUGH_STARTED,
	/* New errors go here: members exchange these numbers. */
	ETCD_ERR__COUNT,
};

/* The gRPC status code etcd sends with @err. */
enum grpc_status etcd_err__grpc_status(enum etcd_err err);

/* etcd's message text for @err ("" for ETCD_OK); a static string. */
const char *etcd_err__message(enum etcd_err err);

#endif /* GNOMOND_MVCC_ERRORS_H */
