/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's etcd v3 API endpoint: gRPC over HTTP/2 cleartext, one
 * struct api_session per client connection, with no I/O of its own.
 *
 * The driver (the io_uring loop in gnomond, or a test) feeds the bytes it
 * receives to api_session__recv() and sends what api_session__output()
 * hands it, calling api_session__consume() with what the socket took.  The
 * session speaks HTTP/2 through libnghttp2, unwraps gRPC's length-prefixed
 * messages, routes :path to a method, decodes and checks the request as
 * etcd's gRPC layer does (size, empty key, txn limits) and answers bad ones
 * itself.  A good one goes to ops->request(); the daemon then answers it,
 * at once (a local read) or later (a write, after Raft commit; a read after
 * ReadIndex), with api_session__reply() or api_session__fail().  Answers
 * may come in any order.  If the client resets the stream or the
 * connection goes away first, reply/fail return -ENOENT: the daemon keeps
 * (session, stream id) pairs and drops those of a freed session itself.
 *
 * Streams (LeaseKeepAlive and Watch both ways, Observe and Snapshot from
 * the server):
 * every message the client sends on the stream is a request of its own,
 * handed to ops->request() as soon as it is complete, with the stream's
 * id.  api_session__reply() answers one of them with one message and
 * leaves the stream open; api_session__send() adds a message nobody asked
 * for (a watch event); api_session__end() / __fail() end the stream with
 * its status.  When the client ends its side of a two-way stream, the
 * session ends the stream (status OK) once every request on it has been
 * answered, as etcd's server returns when its receive loop ends.
 * ops->closed(), if set, hears of every stream that got a request and
 * then went away, however (reset, ended, connection freed).
 */
#ifndef GNOMOND_API_H
#define GNOMOND_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcdserverpb/rpc.pb-c.h"
#include "etcdserverpb/watch.pb-c.h"
#include "v3lockpb/v3lock.pb-c.h"
#include "v3electionpb/v3election.pb-c.h"
#include "../mvcc/errors.h"
#include "../mvcc/mvcc.h"

/* etcd's --max-request-bytes default (1.5 MiB). */
#define API_DEFAULT_MAX_REQUEST_BYTES (3u << 19)
/* gRPC's own limit is etcd's plus this, as etcd configures it. */
#define API_GRPC_OVERHEAD_BYTES (512u * 1024)
#define API_DEFAULT_MAX_STREAMS 256
/* Request bytes one connection may hold before they are dispatched. */
#define API_DEFAULT_MAX_BUFFERED (32u << 20)
/* The etcd API version gnomond answers to (Maintenance.Status). */
#define API_ETCD_VERSION "3.4.0"

enum api_method {
	API_KV_RANGE,
	API_KV_PUT,
	API_KV_DELETE_RANGE,
	API_KV_TXN,
	API_KV_COMPACT,
	API_MAINTENANCE_ALARM,
	API_MAINTENANCE_STATUS,
	API_CLUSTER_MEMBER_LIST,
	API_MAINTENANCE_DEFRAGMENT,	/* a no-op: compaction frees at once */
	API_LEASE_GRANT,
	API_LEASE_REVOKE,
	API_LEASE_KEEPALIVE,		/* a two-way stream */
	API_LEASE_TIME_TO_LIVE,
	API_LEASE_LEASES,
	API_WATCH,			/* a two-way stream */
	API_MAINTENANCE_HASH,
	API_MAINTENANCE_HASH_KV,
	API_MAINTENANCE_MOVE_LEADER,	/* the daemon's (leadership transfer) */
	API_LOCK_LOCK,
	API_LOCK_UNLOCK,
	API_ELECTION_CAMPAIGN,
	API_ELECTION_PROCLAIM,
	API_ELECTION_LEADER,
	API_ELECTION_OBSERVE,		/* a server stream */
	API_ELECTION_RESIGN,
	API_MAINTENANCE_SNAPSHOT,	/* a server stream (the daemon's) */
	/* Membership changes: the daemon's (Raft configuration entries). */
	API_CLUSTER_MEMBER_ADD,
	API_CLUSTER_MEMBER_REMOVE,
	API_CLUSTER_MEMBER_UPDATE,
	API_CLUSTER_MEMBER_PROMOTE,
	API_METHOD__COUNT,
};

struct api_session;

struct api_request {
	enum api_method method;
	int32_t stream_id;
	/* The request message as received (protobuf): valid during the
	 * callback; a write is proposed as mvcc_cmd__wrap(type, msg, len). */
	const uint8_t *msg;
	size_t len;
	/* The decoded message, owned by the session until the callback
	 * returns, unless taken with api_request__take(). */
	ProtobufCMessage *decoded;
};

struct api_ops {
	void (*request)(void *ctx, struct api_session *s,
			struct api_request *req);
	/* A stream that got requests is gone (may be NULL). */
	void (*closed)(void *ctx, struct api_session *s, int32_t stream_id);
};

struct api_limits {
	size_t max_request_bytes;	/* 0: API_DEFAULT_MAX_REQUEST_BYTES */
	uint32_t max_streams;		/* 0: API_DEFAULT_MAX_STREAMS */
	/* 0: API_DEFAULT_MAX_BUFFERED; past it, requests get "too many
	 * requests" (RESOURCE_EXHAUSTED) instead of memory. */
	size_t max_buffered_bytes;
};

/* Does @m stream (each client message a request, answers kept open)? */
bool api_method__streams(enum api_method m);

/* The command type a write method travels as, or 0 for a read. */
enum mvcc_cmd_type api_method__cmd_type(enum api_method m,
					const ProtobufCMessage *decoded);

/* Keep the decoded message beyond the callback; free it with
 * protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *api_request__take(struct api_request *req);

int api_session__new(struct api_session **out, const struct api_ops *ops,
		     void *ctx, const struct api_limits *limits);
/* Not from inside ops->request(). */
void api_session__free(struct api_session *s);

/* Feed received bytes.  0, or -EPROTO when the peer broke HTTP/2: send
 * the remaining output (a GOAWAY) and close.  -ENOMEM likewise fatal. */
int api_session__recv(struct api_session *s, const uint8_t *buf, size_t len);

/* Bytes to send (stable until consumed), *len 0 when there are none. */
int api_session__output(struct api_session *s, const uint8_t **data,
			size_t *len);
void api_session__consume(struct api_session *s, size_t n);

/* Neither side wants more: close the connection. */
bool api_session__done(const struct api_session *s);
/* The client's connection preface and first SETTINGS are in. */
bool api_session__handshaken(const struct api_session *s);
/* No stream open and no output waiting. */
bool api_session__idle(const struct api_session *s);
/* Queue a GOAWAY (NO_ERROR): the session is done once it is sent. */
void api_session__goaway(struct api_session *s);

/* Answer a request with its packed response message. */
int api_session__reply(struct api_session *s, int32_t stream_id,
		       const uint8_t *msg, size_t len);
/* Streams: one more message, unasked; end with status OK; the bytes
 * queued on the stream and not yet handed to HTTP/2 (0 if none). */
int api_session__send(struct api_session *s, int32_t stream_id,
		      const uint8_t *msg, size_t len);
int api_session__end(struct api_session *s, int32_t stream_id);
/* A request on a stream that needs no answer of its own (the daemon
 * answered it with api_session__send()). */
int api_session__handled(struct api_session *s, int32_t stream_id);
size_t api_session__queued(const struct api_session *s, int32_t stream_id);
/* Answer with a gRPC error / an etcd error / an mvcc_result (an error
 * ends a stream). */
int api_session__fail(struct api_session *s, int32_t stream_id,
		      enum grpc_status code, const char *message);
int api_session__fail_etcd(struct api_session *s, int32_t stream_id,
			   enum etcd_err err);
int api_session__answer(struct api_session *s, int32_t stream_id,
			const struct mvcc_result *res);

/*
 * Serve @req from a local store at once: a write is wrapped into a command
 * and applied, a Range or Alarm GET read, a Defragment answered (there is
 * nothing to defragment).  0, -ENOMEM, or -EOPNOTSUPP for Status and
 * MemberList, which the daemon answers from its own state.
 */
int api_serve_local(struct mvcc_store *store, const struct mvcc_header *hdr,
		    const struct api_request *req, struct mvcc_result *res);

/* Maintenance.Status and Cluster.MemberList answers, packed (malloc). */
struct api_status {
	const char *version;		/* NULL: API_ETCD_VERSION */
	int64_t db_size;
	int64_t db_size_in_use;
	uint64_t leader;
	uint64_t raft_index;
	uint64_t raft_term;
	uint64_t raft_applied_index;
	bool is_learner;
	const char *const *errors;	/* e.g. "memberID:1 alarm:NOSPACE" */
	size_t n_errors;
};

struct api_member {
	uint64_t id;
	const char *name;		/* "" while not started */
	const char *const *peer_urls;
	size_t n_peer_urls;
	const char *const *client_urls;
	size_t n_client_urls;
	bool is_learner;
};

int api_status__pack(const struct mvcc_header *hdr, int64_t revision,
		     const struct api_status *st, uint8_t **out, size_t *len);
/* A response with only a header (MoveLeader's), for method @m. */
int api_header_only__pack(enum api_method m, const struct mvcc_header *hdr,
			  int64_t revision, uint8_t **out, size_t *len);
int api_members__pack(const struct mvcc_header *hdr, int64_t revision,
		      const struct api_member *m, size_t n, uint8_t **out,
		      size_t *len);
/* The answer to a membership change @method (MemberAdd: @added is the new
 * member), with the members after it. */
int api_member_change__pack(enum api_method method,
			    const struct mvcc_header *hdr, int64_t revision,
			    const struct api_member *added,
			    const struct api_member *m, size_t n,
			    uint8_t **out, size_t *len);

#endif /* GNOMOND_API_H */
