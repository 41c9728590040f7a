/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond, the daemon: the state shared by its parts and the calls between
 * them.  One thread runs one io_uring loop (loop.c); every I/O is an
 * operation (struct gd_op, ring.h) whose completion calls its handler.
 * The parts:
 *
 *   ring.c      the ring services every part calls: gd_sqe(), gd_now(),
 *               gd_fatal(), the ring's set-up; they call no part
 *   loop.c      the turn, which calls into the parts: the tick timer,
 *               feed completions, then hand the Raft core's ready work out
 *               (node.c); only main calls it
 *   storage.c   the WAL through the ring: one write + sync chain in flight,
 *               batches handed out meanwhile merge into the next (group
 *               commit)
 *   peers.c     member-to-member TCP: connect with backoff, accept, framed
 *               receive, send queues; Raft frames (peer/peer_codec.h) and
 *               forwarding frames (forward.h) share the stream
 *   clients.c   client TCP: one api_session (api/api.h) per connection
 *   sock.c      one socket's lifecycle for peers.c and clients.c: the
 *               operations in flight, the close, the release when idle
 *   node.c      the Raft glue: ready work, apply, snapshots, status
 *   maintenance.c  MoveLeader, through Raft's leadership transfer
 *   members.c   the member table: slot -> etcd member, its encodings
 *   membership.c  MemberAdd/Remove/Promote/Update, their entries applied
 *   join.c      at start-up, a member joining a running cluster learns
 *               its slot
 *   route.c     where a request goes (logic only, unit-tested)
 *   serve.c     a client's request carried where route.c says
 *   requests.c  proposed, read under the lease or ReadIndex, or forwarded
 *               to the leader, waiting with a deadline
 *   answer.c    the response header, answers packed and delivered to a
 *               client stream, a forwarding member or a part
 *   local.c     what any member answers at once from its own state
 *   leases.c    the leader's side of etcd leases: minimum TTL, renewal
 *               at a new term, expiry on bounded time
 *   watch.c     the clients' Watch streams, fed by every applied command
 *   lock.c      etcd's Lock service (v3lockpb) on top of Txn and the store
 *   election.c  etcd's Election service (v3electionpb), the same way
 *
 * Nothing here blocks in the loop: files, sockets and timers all go
 * through the ring (selftests/gnomond/daemon_nonblocking.sh checks it);
 * only start-up and shutdown make blocking calls.
 */
#ifndef GNOMOND_DAEMON_H
#define GNOMOND_DAEMON_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnomon.h>

#include "../api/api.h"
#include "../mvcc/lease_clock.h"
#include "../mvcc/watch.h"
#include "../peer/peer_codec.h"
#include "../raft/raft.h"
#include "../wal/wal_posix.h"
#include "config.h"
#include "gd_buf.h"
#include "members.h"
#include "ring.h"


/* A step of a call the daemon makes itself answered: done(d, id, res). */
typedef void (*gd_done_fn)(struct gnomond *d, uint64_t id,
			   const struct mvcc_result *res);

/* Where an answer goes (answer.c): a local client stream, a member that
 * forwarded the request (peer != 0), or a part of the daemon (done: a
 * step of a Lock or Election call). */
struct gd_target {
	uint32_t peer;
	uint32_t slot, gen;
	int32_t stream;
	uint64_t fwd_id;
	gd_done_fn done;
	uint64_t id;		/* done's */
};

struct gd_pending {
	struct gd_target t;
	uint64_t index, term;		/* writes: the proposal */
	uint64_t read_id;		/* reads: raft__read id */
	uint64_t deadline;		/* in ticks */
	bool read_ready;
	Etcdserverpb__RangeRequest *range;	/* reads: owned */
	/* Lease reads (range NULL): KeepAlive or TimeToLive of this lease. */
	int64_t lease_id;
	bool lease_keys;
	/* Forwards waiting for a leader: the request, owned. */
	uint8_t *body;
	size_t body_len;
	uint32_t method;
	/* Forwards answered by the leader: the answer, owned, held until
	 * this member has applied index (forward.h). */
	uint8_t *resp;
	size_t resp_len;
};

struct gd_pending_vec {
	struct gd_pending *v;
	size_t head, len, cap;		/* live: v[head..len) */
};

struct gd_conn;		/* peers.c */
struct gd_client;	/* clients.c */
struct gd_storage;	/* storage.c */

struct gd_listener {
	struct gd_op op;
	struct gd_op pause_op;		/* accept paused after a failure */
	struct __kernel_timespec pause_ts;
	int fd;
	bool client;
};

struct gd_peer {
	uint32_t id;
	struct gd_conn *out;		/* our connection to it, NULL: down */
	uint64_t retry_tick;
	uint32_t backoff;		/* ticks */
	char client_urls[GD_MAX_URLS * GD_URL_LEN];	/* from its hello */
	char name[GD_NAME_LEN];				/* from its hello */
	uint64_t match;		/* the highest index it acknowledged */
	bool logged_down;
};

#define GD_MAX_CLIENTS	GD_MAX_CLIENT_CONNS
#define GD_MAX_LISTENERS (2 * GD_MAX_URLS)
#define GD_MAX_ACCEPTED	64

#define gd_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct gnomond {
	struct gd_config cfg;		/* cfg.self: this member's slot */
	/* The member table as applied (members.h); cfg.members only seeds
	 * a new cluster's. */
	struct gd_members members;
	uint64_t self_id;		/* this member's etcd id */
	struct io_uring ring;
	bool stop;
	int exit_code;
	uint64_t ticks;
	struct gd_op tick_op;
	struct __kernel_timespec tick_ts;

	struct gnomon_client *clock;
	struct gnomon_tt now;		/* read once per turn and per tick */
	unsigned int now_cq_tail;	/* the CQ tail just before it (ring.c) */

	struct raft *raft;
	struct gd_storage *storage;
	struct mvcc_store *store;
	uint64_t applied;
	uint64_t snap_index;		/* of the newest snapshot on disk */
	/* The core points at the newest snapshot's bytes: the boot one read
	 * into memory, or a later one mapped from its file (snapshot.c). */
	uint8_t *snap_data;
	void *snap_map;
	size_t snap_map_len;
	int snap_child;			/* pid of the saving child, 0: none */
	uint64_t snap_child_index;
	uint64_t snap_next;		/* applied index of the next one, 0: */
					/* the first, staggered (snapshot.c) */

	struct peer_codec codec;
	struct gd_peer peers[RAFT_MAX_MEMBERS + 1];	/* by member id */
	struct gd_conn *accepted[GD_MAX_ACCEPTED];
	struct gd_listener listeners[GD_MAX_LISTENERS];
	unsigned int n_listeners;

	struct gd_client *clients[GD_MAX_CLIENTS];
	uint32_t client_gen;

	struct gd_pending_vec writes;	/* by index, ascending */
	struct gd_pending_vec reads;	/* waiting for read index / apply */
	struct gd_pending_vec forwards;	/* sent to the leader */
	struct gd_pending_vec moves;	/* MoveLeader: index = the target */
	size_t n_unsent;		/* forwards waiting for a leader */
	uint64_t next_id;
	/* A write applied here was refused for space: raise this member's
	 * NOSPACE alarm (requests.c), proposing again from tick nospace_retry
	 * until it is raised. */
	bool raise_nospace;
	uint64_t nospace_retry;

	struct lease_judge lease_judge;	/* leases.c, mvcc/lease_clock.h */
	/* Membership (membership.c): the last change proposed here, the
	 * tick this member stops at once removed (0: not removed), and
	 * whether it joined a running cluster at this start (join.c). */
	uint64_t conf_index;
	uint64_t removed_tick;
	bool joining;
	struct mvcc_watch_hub *watch;

	/* What the status line last said. */
	enum raft_role last_role;
	uint64_t last_term;
	uint32_t last_leader;
	int last_read_mode;
	uint32_t last_clock;		/* TT.now() status */
	uint64_t last_lost_upto;
	int status_fd;
};

/* loop.c, the turn (main only; the ring services are in ring.h) */
void gd_loop__init(struct gnomond *d);
int gd_loop__run(struct gnomond *d);

/* storage.c */
int gd_storage__open(struct gnomond *d, struct wal_loaded *ld);
void gd_storage__close(struct gnomond *d);
/* Take one ready batch (copied); it is written with the next chain. */
int gd_storage__persist(struct gnomond *d, const struct raft_ready *rd);
/* Start a chain if none is in flight and something waits; true if a
 * batch completed at once (the core may have more work). */
bool gd_storage__kick(struct gnomond *d);
int gd_storage__dirfd(const struct gnomond *d);
/* A snapshot up to index is durable: drop the segments it covers. */
int gd_storage__compact(struct gnomond *d, uint64_t index);

/* peers.c: what comes in on a peer connection besides Raft messages goes
 * through these (main sets them to requests.c's). */
struct gd_peer_ops {
	/* A request forwarded by member from (forward.h). */
	void (*forwarded)(struct gnomond *d, uint32_t from, uint64_t id,
			  uint32_t method, const uint8_t *body, size_t len);
	/* The leader's answer to a request this member forwarded. */
	void (*result)(struct gnomond *d, uint64_t id, int32_t status,
		       const uint8_t *body, size_t len);
};

int gd_peers__init(struct gnomond *d, const uint8_t *key, size_t key_len,
		   const struct gd_peer_ops *ops);
/* Close every connection; each is freed when its operations complete. */
void gd_peers__close(struct gnomond *d);
/* Connections not freed yet (the exit waits for 0). */
unsigned int gd_peers__allocated(void);
void gd_peers__tick(struct gnomond *d);
void gd_peers__accepted(struct gnomond *d, int fd);
void gd_peers__send_raft(struct gnomond *d, const struct raft_msg *m);
/* A forwarding frame to member peer; false if it has no connection. */
bool gd_peers__send_fwd(struct gnomond *d, uint32_t peer, uint32_t type,
			uint64_t id, uint32_t method, int32_t status,
			const void *body, size_t len);
void gd_peers__flush(struct gnomond *d);
/* A member's name: its row's, else what its hello said. */
const char *gd_peers__name(const struct gnomond *d, uint32_t id);
/* The member list, with what the members' hellos said (members.h). */
void gd_peers__list(const struct gnomond *d, struct gd_member_list *l);
/* Member id's row changed or went (applied): reconnect, or drop it
 * (a removed member keeps our connection until it closes it). */
void gd_peers__changed(struct gnomond *d, uint32_t id);

/* clients.c: a client's requests and closed streams go through these
 * (main sets them to serve.c's). */
struct gd_client_ops {
	void (*request)(struct gnomond *d, uint32_t slot, uint32_t gen,
			struct api_request *req);
	void (*closed)(struct gnomond *d, uint32_t slot, uint32_t gen,
		       int32_t stream);
};

/* At start, before the ring: the cap on client connections. */
int gd_clients__set_cap(struct gnomond *d);
void gd_clients__accepted(struct gnomond *d, int fd);
struct api_session *gd_clients__session(struct gnomond *d, uint32_t slot,
					uint32_t gen);
void gd_clients__flush(struct gnomond *d);
/* Handshake and idle timeouts (once a second). */
void gd_clients__tick(struct gnomond *d);
void gd_clients__close_all(struct gnomond *d);
/* Connections not freed yet (the exit waits for 0). */
uint32_t gd_clients__allocated(void);
int gd_clients__init(struct gnomond *d, const struct gd_client_ops *ops);
void gd_clients__exit(void);

/* node.c */
int gd_node__start(struct gnomond *d, struct wal_loaded *ld);
void gd_node__stop(struct gnomond *d);
void gd_node__turn(struct gnomond *d);
void gd_node__tick(struct gnomond *d);

/* snapshot.c: start a snapshot child past --snapshot-count, reap it */
void gd_snapshot__tick(struct gnomond *d);
void gd_snapshot__stop(struct gnomond *d);
/* fork() for a child that serializes the store: it dies with the loop and
 * keeps only the descriptor @keep (of 3 and up). */
pid_t gd_snapshot__fork(int keep);

/* leases.c */
int64_t gd_leases__min_ttl(const struct gnomond *d);
void gd_leases__tick(struct gnomond *d);
/* The leader's stamp on a command that may delete keys (leases.c). */
int gd_leases__stamp(struct gnomond *d, const uint8_t *cmd, size_t len,
		     uint8_t **out, size_t *outlen);

/* watch.c */
int gd_watch__init(struct gnomond *d);
void gd_watch__exit(struct gnomond *d);
void gd_watch__request(struct gnomond *d, uint32_t slot, uint32_t gen,
		       const struct api_request *req);
void gd_watch__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
		      int32_t stream);
/* After each apply; 0 or -ENOMEM (the member must stop). */
int gd_watch__applied(struct gnomond *d);
void gd_watch__store_replaced(struct gnomond *d);
void gd_watch__turn(struct gnomond *d);
void gd_watch__tick(struct gnomond *d);

/* lock.c */
void gd_lock__request(struct gnomond *d, const struct gd_target *t,
		      const struct api_request *req);
void gd_lock__applied(struct gnomond *d);
void gd_lock__exit(void);

/* election.c */
void gd_election__request(struct gnomond *d, const struct gd_target *t,
			  const struct api_request *req);
void gd_election__applied(struct gnomond *d);
void gd_election__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
			 int32_t stream);
void gd_election__exit(void);
int gd_election__txn(ProtobufCBinaryData key, int64_t rev,
		     const ProtobufCBinaryData *value, int64_t lease,
		     bool get_else, uint8_t **cmd, size_t *len);

/* answer.c */
/* This member's header (its term), for the store's answers. */
struct mvcc_header gd_answer__header(const struct gnomond *d);
/* @h: this member's header at its applied revision. */
void gd_answer__etcd_header(const struct gnomond *d,
			    Etcdserverpb__ResponseHeader *h);
void gd_answer__deliver(struct gnomond *d, const struct gd_target *t,
			const struct mvcc_result *res);
void gd_answer__fail(struct gnomond *d, const struct gd_target *t,
		     enum etcd_err err);
/* Answer @t with @msg packed, or with @err. */
void gd_answer__message(struct gnomond *d, const struct gd_target *t,
			const ProtobufCMessage *msg, enum etcd_err err);

/* serve.c: a client's request, where route.c says (gd_client_ops) */
void gd_serve__client(struct gnomond *d, uint32_t slot, uint32_t gen,
		      struct api_request *req);
void gd_serve__closed(struct gnomond *d, uint32_t slot, uint32_t gen,
		      int32_t stream);
/* A request a member forwarded (gd_peer_ops): membership changes to
 * membership.c, the rest to requests.c. */
void gd_serve__forwarded(struct gnomond *d, uint32_t from, uint64_t id,
			 uint32_t method, const uint8_t *body, size_t len);

/* requests.c */
/* Propose (leader) or forward (follower) a write's command. */
void gd_requests__write(struct gnomond *d, const struct gd_target *t,
			enum api_method method, const uint8_t *cmd,
			size_t len);
/* A linearizable Range (the packed RangeRequest @msg), as a client's. */
void gd_requests__range(struct gnomond *d, const struct gd_target *t,
			const uint8_t *msg, size_t len);
/* At the leader: propose a write's command. */
void gd_requests__propose(struct gnomond *d, const struct gd_target *t,
			  const uint8_t *cmd, size_t len);
/* At the leader: answer @t when the entry proposed at @index applies
 * (with the result apply hands gd_requests__applied()). */
void gd_requests__wait(struct gnomond *d, const struct gd_target *t,
		       uint64_t index);
/* At the leader: a linearizable Range (takes @range); a lease's
 * KeepAlive or TimeToLive (the packed request). */
void gd_requests__read(struct gnomond *d, const struct gd_target *t,
		       Etcdserverpb__RangeRequest *range);
void gd_requests__lease_read(struct gnomond *d, const struct gd_target *t,
			     enum api_method method, const uint8_t *body,
			     size_t len);
/* To the leader, once one is known (a write's command or a read). */
void gd_requests__forward(struct gnomond *d, const struct gd_target *t,
			  enum api_method method, const uint8_t *body,
			  size_t len);
void gd_requests__forwarded(struct gnomond *d, uint32_t from, uint64_t id,
			    uint32_t method, const uint8_t *body, size_t len);
void gd_requests__result(struct gnomond *d, uint64_t id, int32_t status,
			 const uint8_t *body, size_t len);
void gd_requests__applied(struct gnomond *d, const struct raft_entry *e,
			  struct mvcc_result *res);
void gd_requests__read_index(struct gnomond *d, const struct raft_read *rd);
void gd_requests__serve_reads(struct gnomond *d);
void gd_requests__expire(struct gnomond *d);
/* Send forwards that waited for a leader, once one is known. */
void gd_requests__retry_forwards(struct gnomond *d);
/* Propose this member's NOSPACE alarm if a write was refused for space
 * (once a turn, outside the Raft core's ready work). */
void gd_requests__raise_alarms(struct gnomond *d);
/* The deadline (in ticks) of a request taken now. */
uint64_t gd_requests__deadline(const struct gnomond *d);

/* join.c: at start-up, a member joining a running cluster fetches the
 * member table and takes its slot from it (blocking, bounded). */
int gd_join__fetch(struct gnomond *d);
/* At a restart: the table a member joined with, if it did (0 if not). */
int gd_join__load(struct gnomond *d);

/* membership.c: MemberAdd/Remove/Promote/Update at the leader, their
 * entries applied everywhere */
void gd_membership__request(struct gnomond *d, const struct gd_target *t,
			    enum api_method method, const uint8_t *body,
			    size_t len);
/* A RAFT_ENTRY_CONF entry: 0, or -EBADMSG (the member must stop). */
int gd_membership__apply_conf(struct gnomond *d, const struct raft_entry *e,
			      struct mvcc_result *res);
/* A member's published name, a normal entry (gd_member__is_update()). */
void gd_membership__apply_update(struct gnomond *d, const struct raft_entry *e,
				 struct mvcc_result *res);
/* A snapshot's table, from the leader / at start-up (finds cfg.self). */
void gd_membership__replace(struct gnomond *d, const struct gd_members *t);
int gd_membership__boot_table(struct gnomond *d, const struct gd_members *t);
void gd_membership__tick(struct gnomond *d);

/* maintenance.c: MoveLeader through leadership transfer */
void gd_maintenance__move_leader(struct gnomond *d, const struct gd_target *t,
				 const Etcdserverpb__MoveLeaderRequest *req);
/* Answer the moves that are done or past their deadline (every turn). */
void gd_maintenance__turn(struct gnomond *d);
void gd_maintenance__drop_all(struct gnomond *d);

/* backup_send.c: Maintenance.Snapshot, a backup streamed to a client */
void gd_backup__request(struct gnomond *d, const struct gd_target *t);
/* Reap the children, queue what the streams take (every turn). */
void gd_backup__turn(struct gnomond *d);
void gd_backup__exit(void);
void gd_requests__drop_all(struct gnomond *d);

#endif /* GNOMOND_DAEMON_H */
