/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's key-value state machine: etcd v3 MVCC semantics, deterministic
 * and free of I/O, fed with etcd's own protobuf requests.
 *
 * Writes (Put, DeleteRange, Txn, Compact) and every Alarm request (GET
 * too, as etcd does: the answer is then the cluster's) travel through the
 * Raft log as commands (mvcc_cmd__wrap(): a 2-byte header and the
 * request's protobuf bytes) and every member applies them, in log order,
 * with mvcc_store__apply().  Range is served by mvcc_store__range() on
 * whichever member the daemon decides may answer.  Every call fills a struct mvcc_result: an etcd error,
 * or the response message, already packed, so its bytes outlive later
 * changes of the store.  -ENOMEM from apply means the state machine could
 * not take the command: a member must stop rather than diverge.
 *
 * Snapshots: mvcc_store__snapshot() streams the whole store through a
 * callback; mvcc_store__restore() rebuilds a store from those bytes.
 */
#ifndef GNOMOND_MVCC_H
#define GNOMOND_MVCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcdserverpb/lease.pb-c.h"
#include "etcdserverpb/rpc.pb-c.h"
#include "errors.h"

struct mvcc_store;

/* etcd's --max-txn-ops default. */
#define MVCC_MAX_TXN_OPS 128
/* Nesting of Txn inside Txn accepted (etcd has no limit; we need one). */
#define MVCC_MAX_TXN_DEPTH 16

/* What the state machine does not know: filled into response headers. */
struct mvcc_header {
	uint64_t cluster_id;
	uint64_t member_id;
	uint64_t raft_term;
};

struct mvcc_result {
	enum etcd_err err;
	uint8_t *resp;		/* packed response when err == ETCD_OK */
	size_t len;
};

void mvcc_result__release(struct mvcc_result *res);

/* A new empty store (revision 1); quota 0 means etcd's default, 2 GiB. */
int mvcc_store__new(struct mvcc_store **out, uint64_t quota_bytes);
void mvcc_store__free(struct mvcc_store *s);

int64_t mvcc_store__revision(const struct mvcc_store *s);
int64_t mvcc_store__compact_revision(const struct mvcc_store *s);
/* Accounted size in bytes (what Status reports as dbSize). */
uint64_t mvcc_store__size(const struct mvcc_store *s);
/* Raised alarms kept at most (etcd keeps one per member and type). */
#define MVCC_MAX_ALARMS 64

/* A raised alarm: the member it is for and its etcd AlarmType. */
struct mvcc_alarm {
	uint64_t member;
	uint32_t type;
};

/* Does any member's NOSPACE alarm stand? */
bool mvcc_store__nospace(const struct mvcc_store *s);
/* Is @member's alarm of etcd AlarmType @type raised? */
bool mvcc_store__alarm_raised(const struct mvcc_store *s, uint64_t member,
			      uint32_t type);
/* The raised alarms, each as etcd writes it in Status.errors
 * ("memberID:ID alarm:NOSPACE"): @i-th into @buf, false past the last. */
bool mvcc_store__alarm_text(const struct mvcc_store *s, size_t i, char *buf,
			    size_t size);
size_t mvcc_store__key_records(const struct mvcc_store *s);

/* Serve a Range.  0, or -ENOMEM. */
int mvcc_store__range(struct mvcc_store *s, const struct mvcc_header *hdr,
		      const Etcdserverpb__RangeRequest *req,
		      struct mvcc_result *res);

/* Apply one committed command.  0, or -ENOMEM (see above).  A command
 * that does not decode gets ETCD_ERR_BAD_COMMAND and changes nothing. */
int mvcc_store__apply(struct mvcc_store *s, const struct mvcc_header *hdr,
		      const uint8_t *cmd, size_t len, struct mvcc_result *res);

/* Commands. */
enum mvcc_cmd_type {
	MVCC_CMD_PUT = 1,
	MVCC_CMD_DELETE_RANGE = 2,
	MVCC_CMD_TXN = 3,
	MVCC_CMD_COMPACT = 4,
	MVCC_CMD_ALARM = 5,
	MVCC_CMD_LEASE_GRANT = 6,	/* LeaseGrantRequest */
	MVCC_CMD_LEASE_REVOKE = 7,	/* LeaseRevokeRequest: revoke, expiry */
	MVCC_CMD_STAMPED = 8,		/* the leader's stamp + a command */
};

#define MVCC_CMD_VERSION 1
#define MVCC_CMD_HDR_LEN 2

/*
 * Wrap the protobuf bytes of a request (PutRequest, DeleteRangeRequest,
 * TxnRequest, CompactionRequest, AlarmRequest) into a command in a new
 * malloc'd buffer.  0, -EINVAL (bad type) or -ENOMEM.
 */
int mvcc_cmd__wrap(enum mvcc_cmd_type type, const uint8_t *pb, size_t len,
		   uint8_t **out, size_t *outlen);

/* Pack a decoded request message into a command. */
int mvcc_cmd__encode(enum mvcc_cmd_type type, const ProtobufCMessage *msg,
		     uint8_t **out, size_t *outlen);

/*
 * Checks a member makes before proposing a request, as etcd's gRPC layer
 * does (empty key, ignore_value with a value, too many txn operations,
 * duplicate keys in a txn...).  ETCD_OK when the request may go.
 */
enum etcd_err mvcc_validate__range(const Etcdserverpb__RangeRequest *r);
enum etcd_err mvcc_validate__put(const Etcdserverpb__PutRequest *r);
enum etcd_err mvcc_validate__delete_range(
	const Etcdserverpb__DeleteRangeRequest *r);
enum etcd_err mvcc_validate__txn(const Etcdserverpb__TxnRequest *r);

/*
 * protobuf-c unpacks nested messages recursively: refuse a TxnRequest whose
 * Txn-in-Txn nesting exceeds @max_depth (or that is not well-formed
 * protobuf) before unpacking it.  true when it is safe to unpack.
 */
bool mvcc_wire__txn_depth_ok(const uint8_t *buf, size_t len,
			     unsigned int max_depth);

/*
 * Leases (lease_commands.c; the table is lease_table.c's).  Grant and
 * revoke are commands: every member applies them, and a revoke (a
 * client's, or the leader's expiry) deletes the lease's keys in one
 * revision.  The grant's TTL is taken as it is in the command: the proposer
 * raises it to the cluster's minimum first.
 *
 * Renewal is not replicated: the leader keeps, per lease, the latest
 * instant at which it may have been renewed (TT.now().latest of the
 * renewal; 0 until the leader first looks at the lease, which then counts
 * as renewed at that look) and proposes the expiry once its
 * TT.now().earliest is past that instant plus the TTL
 * (Documentation/lease-safety.rst).  A new leader renews every lease at
 * its election with mvcc_leases__renew_all().
 */
#define MVCC_LEASE_MAX_TTL 9000000000LL	/* etcd's MaxLeaseTTL, seconds */
#define MVCC_MAX_LEASES (1u << 20)

size_t mvcc_store__lease_count(const struct mvcc_store *s);
/* The TTL of lease @id, 0 if there is none. */
int64_t mvcc_store__lease_ttl_of(const struct mvcc_store *s, int64_t id);

/* LeaseLeases and LeaseTimeToLive answers (TTL: seconds left, rounded
 * up, judged at @earliest_ns; -1 for a missing lease, as etcd).  0 or
 * -ENOMEM. */
int mvcc_store__lease_leases(struct mvcc_store *s,
			     const struct mvcc_header *hdr,
			     struct mvcc_result *res);
int mvcc_store__lease_time_to_live(struct mvcc_store *s,
				   const struct mvcc_header *hdr,
				   const Etcdserverpb__LeaseTimeToLiveRequest *r,
				   uint64_t earliest_ns, struct mvcc_result *res);

/* A keepalive the leader has confirmed it may answer (its leadership
 * checked after the request arrived): renew lease @id at @latest_ns and
 * answer with its TTL, or TTL 0 when it is gone or its expiry has been
 * proposed.  0 or -ENOMEM. */
int mvcc_store__lease_keepalive(struct mvcc_store *s,
				const struct mvcc_header *hdr, int64_t id,
				uint64_t latest_ns, struct mvcc_result *res);

/* A new leader: every lease counts as renewed at @latest_ns. */
void mvcc_leases__renew_all(struct mvcc_store *s, uint64_t latest_ns);

/*
 * The leader's expiry scan at tick @tick: up to @max IDs of leases whose
 * renewal instant plus TTL is before @earliest_ns, to be proposed for
 * revocation; a lease is handed out again only after @retry_ticks (the
 * proposal may have been lost).  Leases not looked at yet count as
 * renewed at @latest_ns.
 */
size_t mvcc_leases__due(struct mvcc_store *s, uint64_t earliest_ns,
			uint64_t latest_ns, uint64_t tick,
			uint64_t retry_ticks, int64_t *ids, size_t max);

/*
 * Locks (locks.c): per lock prefix (a lock key is name/<lease in hex>,
 * attached to that lease; its prefix is name/), what the next holder must
 * wait for: the latest possible lease end of every key of the lock that
 * ended (deleted by a revoke, an expiry or a delete) and the token
 * (create revision) of the latest one that ended while holding the lock.
 * The ends come from the leader's stamp: before it proposes a command
 * that may delete keys (mvcc_cmd__needs_stamp()), the leader wraps it
 * with mvcc_cmd__stamp(), which writes its clock reading and, for a
 * revoke or a one-key delete, the lease's renew + TTL as it knows it, so
 * every member applies the same values.
 */
struct mvcc_lock_ends {
	int64_t max_end_ns;	/* CLOCK_REALTIME ns; 0: no key ever ended */
	int64_t last_token;	/* 0: no holder ever ended */
};

/* An entry is dropped once its prefix has no keys and its end lies more
 * than this before a stamp's TT.now().earliest. */
#define MVCC_LOCK_KEEP_NS (3600ULL * 1000000000ULL)

/* The pair of lock prefix @prefix (zeros when there is none). */
void mvcc_store__lock_ends(const struct mvcc_store *s, const uint8_t *prefix,
			   size_t plen, struct mvcc_lock_ends *out);
size_t mvcc_store__lock_count(const struct mvcc_store *s);

bool mvcc_cmd__needs_stamp(const uint8_t *cmd, size_t len);
/* The command @cmd stamped with the leader's TT.now() into a new malloc'd
 * buffer.  0, -EINVAL (a command that takes no stamp) or -ENOMEM. */
int mvcc_cmd__stamp(const struct mvcc_store *s, const uint8_t *cmd,
		    size_t len, uint64_t earliest_ns, uint64_t latest_ns,
		    uint8_t **out, size_t *outlen);

/* Maintenance.HashKV and .Hash (hash.c): the same on every member at the
 * same revision.  0 or -ENOMEM; HashKV's errors in res->err. */
int mvcc_store__hash_kv(const struct mvcc_store *s,
			const struct mvcc_header *hdr,
			const Etcdserverpb__HashKVRequest *req,
			struct mvcc_result *res);
int mvcc_store__hash(const struct mvcc_store *s, const struct mvcc_header *hdr,
		     struct mvcc_result *res);

/* Snapshots. */
typedef int (*mvcc_write_fn)(void *ctx, const void *buf, size_t len);

/* Stream the store through @write (which returns 0 or -errno, stopping the
 * snapshot).  0, the callback's error, or -ENOMEM. */
int mvcc_store__snapshot(const struct mvcc_store *s, mvcc_write_fn write,
			 void *ctx);

/* A new store from snapshot bytes.  0, -EINVAL (not a valid snapshot:
 * nothing is half restored) or -ENOMEM. */
int mvcc_store__restore(struct mvcc_store **out, const uint8_t *buf,
			size_t len, uint64_t quota_bytes);

#endif /* GNOMOND_MVCC_H */
