/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The member table (members.c): Raft slot -> etcd member.  The Raft core
 * knows members by slot (1..RAFT_MAX_MEMBERS, a bit each in its voter and
 * learner masks); etcd's clients know them by a 64-bit id, a name and URLs.
 * The table maps one to the other and is part of the replicated state:
 *
 *   - a new cluster (--initial-cluster-state new) seeds it from
 *     --initial-cluster, slots 1..n in the order given, ids hashed from
 *     the cluster token, name and URL (config.c);
 *   - every configuration entry (MemberAdd, Remove, Promote and Update,
 *     the last as RAFT_CONF_UPDATE, as etcd's ConfChangeUpdateNode)
 *     carries the changed slot's row as its context
 *     (gd_member__encode_ctx), applied on every member in log order;
 *   - a member added at run time publishes its name, once it runs, in a
 *     normal entry that starts with "GNMU" (which no MVCC command does:
 *     theirs start with version 1), as etcd members publish their
 *     attributes; applying it sets the name alone (the peer URLs change
 *     only with a configuration entry);
 *   - snapshots carry the whole table in front of the store's bytes
 *     (gd_members__encode: magic "GNMEMB" 0 1), so that a member that
 *     catches up from a snapshot, or restarts from one, has it; a snapshot
 *     without that section (written before membership changes) restores
 *     the store alone and keeps the seeded table;
 *   - a member joining a running cluster (--initial-cluster-state
 *     existing, empty data directory) fetches it from a member it is
 *     told of (join.c) to learn its own slot and id.
 *
 * Encodings, little-endian:
 *
 *   row (a configuration entry's context)
 *	u8 version (1), u8 learner, u8 name length, u8 URL count,
 *	u64 id, name, then per URL: u8 length, text
 *   table
 *	"GNMEMB" 0 1, u32 section length (all of it), u64 cluster id,
 *	u32 rows, then per row: u32 slot, u32 length, row
 *   update (a normal entry: a published name)
 *	"GNMU", u32 slot, row
 *
 * Logic only: no I/O, no daemon state.
 */
#ifndef GNOMOND_DAEMON_MEMBERS_H
#define GNOMOND_DAEMON_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../api/api.h"
#include "config.h"
#include "gd_buf.h"

struct gd_member_row {
	bool used, learner;
	uint64_t id;
	char name[GD_NAME_LEN];		/* "" for one added, until it says */
	struct gd_url_list peer;
};

struct gd_members {
	uint64_t cluster_id;
	struct gd_member_row s[RAFT_MAX_MEMBERS + 1];	/* by slot, 1.. */
};

/* The table of a new cluster: --initial-cluster's members, all voters. */
void gd_members__seed(struct gd_members *t, const struct gd_config *cfg);
uint32_t gd_members__count(const struct gd_members *t);
uint32_t gd_members__voters(const struct gd_members *t);
/* The slot of member id, 0: none. */
uint32_t gd_members__by_id(const struct gd_members *t, uint64_t id);
/*
 * May the member that says hello (peer_auth.h) as slot with member id id
 * talk as that slot?  0 if it is the slot's member; -ENOENT if the slot is
 * free (here: an addition not applied yet, or a removed member); -ESTALE
 * if the slot is another member's (a removed member whose slot was
 * reused, or, here, a removal and addition not applied yet).  A refused
 * member retries with backoff, so one this table does not know yet gets
 * in once it is applied.
 */
int gd_members__check_hello(const struct gd_members *t, uint32_t slot,
			    uint64_t id);
/* The slot, other than skip, with one of l's peer URLs; 0: none. */
uint32_t gd_members__by_url(const struct gd_members *t,
			    const struct gd_url_list *l, uint32_t skip);
/* The lowest free slot, 0: all taken. */
uint32_t gd_members__free_slot(const struct gd_members *t);
/* The Raft core's masks (bit = slot). */
void gd_members__masks(const struct gd_members *t, uint32_t *voters,
		       uint32_t *learners);
/* Parse URLs (etcd's peerURLs) into l: 0 or -EINVAL. */
int gd_members__parse_urls(struct gd_url_list *l, char *const *urls,
			   size_t n);

int gd_member__encode_ctx(const struct gd_member_row *m, struct gd_buf *out);
int gd_member__decode_ctx(struct gd_member_row *m, const uint8_t *p,
			  size_t n);

bool gd_member__is_update(const uint8_t *p, size_t n);
int gd_member__encode_update(uint32_t slot, const struct gd_member_row *m,
			     struct gd_buf *out);
int gd_member__decode_update(uint32_t *slot, struct gd_member_row *m,
			     const uint8_t *p, size_t n);

/* The table as MemberList lists it, sorted by id as etcd does: names
 * and client URLs as the members said (@said, by slot: name, then
 * comma-separated client URLs; for this member, @self_name and @own). */
struct gd_member_said {
	const char *name;
	const char *client_urls;
};
struct gd_member_list {
	struct api_member m[RAFT_MAX_MEMBERS];
	const char *peer[RAFT_MAX_MEMBERS][GD_MAX_URLS];
	const char *client[RAFT_MAX_MEMBERS][GD_MAX_URLS];
	char urls[RAFT_MAX_MEMBERS][GD_MAX_URLS * GD_URL_LEN];
	uint32_t n;
};
void gd_members__list(const struct gd_members *t, uint32_t self,
		      const char *self_name, const struct gd_url_list *own,
		      const struct gd_member_said said[RAFT_MAX_MEMBERS + 1],
		      struct gd_member_list *l);

int gd_members__encode(const struct gd_members *t, struct gd_buf *out);
/* 0 with *used the section's length; -ENOENT if p does not start with
 * a table (an older snapshot: the store's bytes alone); -EINVAL. */
int gd_members__decode(struct gd_members *t, const uint8_t *p, size_t n,
		       size_t *used);

#endif /* GNOMOND_DAEMON_MEMBERS_H */
