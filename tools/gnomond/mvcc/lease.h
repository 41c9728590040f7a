/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the MVCC state machine: the lease table (lease_table.c),
 * which the write operations (txn.c) and snapshots (snapshot.c) keep in
 * step with the keys, and the lease commands (lease_commands.c).  A key
 * is attached to at most one lease, the one its live revision names; a
 * tombstone or a put without that lease detaches it.
 */
#ifndef GNOMOND_MVCC_LEASE_H
#define GNOMOND_MVCC_LEASE_H

#include "etcdserverpb/lease.pb-c.h"
#include "mvcc.h"
#include "store.h"

struct mvcc_lease *lease_find(const struct mvcc_store *s, int64_t id);
/* Attach @k to lease @id (which exists).  0 or -ENOMEM. */
int lease_attach(struct mvcc_store *s, int64_t id, struct mvcc_key *k);
void lease_detach(struct mvcc_store *s, int64_t id, const struct mvcc_key *k);
/* A new lease in the table (restore, grant).  0, -EEXIST or -ENOMEM. */
int lease_insert(struct mvcc_store *s, int64_t id, int64_t ttl);
/* Drop lease @id and its key list (the keys themselves are the store's). */
void lease_remove(struct mvcc_store *s, int64_t id);
void lease_table__destroy(struct mvcc_leases *l);

/* The commands (lease_commands.c). */
int lease_grant(struct mvcc_store *s, const struct mvcc_header *hdr,
		const Etcdserverpb__LeaseGrantRequest *r,
		struct mvcc_result *res);
int lease_revoke(struct mvcc_store *s, const struct mvcc_header *hdr,
		 const Etcdserverpb__LeaseRevokeRequest *r,
		 struct mvcc_result *res);

#endif /* GNOMOND_MVCC_LEASE_H */
