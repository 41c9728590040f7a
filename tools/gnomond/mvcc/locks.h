/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the MVCC state machine: what a lock's next holder must wait
 * for (locks.c).  The write operations (txn.c, lease_commands.c) report
 * every lock key they delete; apply.c sets the leader's stamp around the
 * command that deletes it; snapshot.c carries the table.
 */
#ifndef GNOMOND_MVCC_LOCKS_H
#define GNOMOND_MVCC_LOCKS_H

#include "store.h"

/* A lock key @k whose live revision @live (attached to a lease) is being
 * deleted in the current write txn: fold its end into its prefix's entry.
 * Call before the tombstone.  0 or -ENOMEM. */
int locks_ended(struct mvcc_store *s, const struct mvcc_key *k,
		const struct mvcc_rev *live);

/* A stamped command @cmd (MVCC_CMD_STAMPED): set s->stamp and point
 * @cmd, @len at the inner command.  0 or -EINVAL (malformed). */
int locks_unstamp(struct mvcc_store *s, const uint8_t **cmd, size_t *len);

/* After a stamped command: drop a few entries nobody needs any more. */
void locks_prune(struct mvcc_store *s);

/* Restore path: append an entry (prefixes in ascending order).  0,
 * -EINVAL (out of order) or -ENOMEM. */
int locks_load(struct mvcc_store *s, const uint8_t *prefix, uint32_t plen,
	       int64_t max_end_ns, int64_t last_token);
void locks_table__destroy(struct mvcc_locks *t);

#endif /* GNOMOND_MVCC_LOCKS_H */
