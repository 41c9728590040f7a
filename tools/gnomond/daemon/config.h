/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's command line: etcd's flag names and meanings where etcd has the
 * flag (--name, --data-dir, the four URL lists, --initial-cluster*,
 * --election-timeout and --heartbeat-interval in ms, --quota-backend-bytes,
 * --snapshot-count, --max-request-bytes, --log-level), gnomon's own for the
 * rest (--lease-ms, --peer-key-file, --insecure-no-peer-auth).
 *
 * A new cluster's members take Raft slots 1..n in the order
 * --initial-cluster lists them, so every founding member must be given the
 * same list; after that the replicated member table (members.h) decides,
 * and for a member joining a running cluster (--initial-cluster-state
 * existing, empty data directory) the list only says whom to ask.  URLs are http://IPV4:PORT or
 * http://localhost:PORT (no TLS, no DNS).  gd_config__parse() prints what
 * is wrong and returns -EINVAL; nothing is opened here.
 */
#ifndef GNOMOND_DAEMON_CONFIG_H
#define GNOMOND_DAEMON_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "../raft/raft.h"
#include "log.h"

#define GD_MAX_URLS	4
#define GD_URL_LEN	128
#define GD_NAME_LEN	64
#define GD_MAX_CLIENT_CONNS 4096	/* the most --max-client-conns allows */

struct gd_url {
	char text[GD_URL_LEN];
	struct sockaddr_in addr;
};

struct gd_url_list {
	struct gd_url v[GD_MAX_URLS];
	unsigned int n;
};

struct gd_member {
	char name[GD_NAME_LEN];
	struct gd_url peer;	/* the first peer URL --initial-cluster gives */
	uint64_t id;		/* etcd-style 64-bit member id */
};

struct gd_config {
	char name[GD_NAME_LEN];
	char data_dir[512];
	struct gd_url_list listen_client, advertise_client;
	struct gd_url_list listen_peer, advertise_peer;
	struct gd_member members[RAFT_MAX_MEMBERS];
	uint32_t n_members;
	uint32_t self;			/* 1..n_members */
	uint64_t cluster_id;
	bool existing;			/* --initial-cluster-state existing */
	uint32_t heartbeat_ms, election_ms, lease_ms;
	char peer_key_file[512];
	bool insecure_no_peer_auth;
	uint64_t quota_backend_bytes;	/* 0: etcd's default (2 GiB) */
	uint64_t max_request_bytes;	/* 0: etcd's default (1.5 MiB) */
	uint64_t snapshot_count;	/* applied entries between snapshots */
	uint64_t wal_segment_bytes;	/* 0: 64 MiB (wal_posix.h) */
	/* Client connections: 0 derives the cap from RLIMIT_NOFILE
	 * (clients.c); a timeout of 0 is none. */
	uint32_t max_client_conns;
	uint32_t client_handshake_timeout_ms;
	uint32_t client_idle_timeout_ms;
	enum gd_log_level log_level;
	/* --restore-snapshot: make data_dir from this backup and exit. */
	char restore_snapshot[512];
};

/* 0 with *cfg filled; 1 after --help or --version (exit 0); -EINVAL after
 * printing the problem to stderr (exit 2). */
int gd_config__parse(struct gd_config *cfg, int argc, char **argv);
int gd_url__parse(struct gd_url *u, const char *text);

#endif /* GNOMOND_DAEMON_CONFIG_H */
