/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requests a member answers from its own state (local.c), through a
 * narrow view of that state: the daemon fills struct gd_local for each
 * request (serve.c), and selftests/gnomond/daemon_local_test.c builds one
 * by hand, with no ring and no member.
 */
#ifndef GNOMOND_DAEMON_LOCAL_H
#define GNOMOND_DAEMON_LOCAL_H

#include <stdint.h>

#include "../api/api.h"

/* What local.c reads. */
struct gd_local {
	struct mvcc_store *store;	/* ranges, leases, alarms, size */
	struct mvcc_header hdr;		/* each answer's header */
	/* Raft, as this member sees it */
	uint64_t leader;		/* the leader's member id, 0: unknown */
	uint64_t last_index, term, applied;
	bool is_learner;		/* this member */
	/* The member table as MemberList lists it, in any order (local.c
	 * sorts it by id); at most RAFT_MAX_MEMBERS. */
	const struct api_member *members;
	uint32_t n_members;
};

/* A serializable Range, Maintenance.Status, Cluster.MemberList,
 * LeaseLeases, Defragment, Hash or HashKV, answered into @res at once
 * (any other method: ETCD_ERR_UNIMPLEMENTED); the caller releases @res. */
void gd_local__answer(const struct gd_local *l, enum api_method method,
		      const ProtobufCMessage *decoded, struct mvcc_result *res);

#endif /* GNOMOND_DAEMON_LOCAL_H */
