// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing and checking gnomond's flags (config.h).  Every error names the
 * flag and the bad value; defaults are etcd's (name "default", client port
 * 2379, peer port 2380 on localhost, heartbeat 100 ms, election 1000 ms).
 * The lease defaults to half the election timeout: the lease-safety
 * argument wants it at or below the election timeout, and after a leader
 * dies the next election waits for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/gparse.h"
#include "../api/api.h"
#include "../wal/wal_posix.h"
#include "config.h"

#define GD_VERSION "0.1.0"

enum {
	OPT_NAME = 256, OPT_DATA_DIR, OPT_LISTEN_CLIENT, OPT_ADVERTISE_CLIENT,
	OPT_LISTEN_PEER, OPT_ADVERTISE_PEER, OPT_INITIAL_CLUSTER,
	OPT_CLUSTER_STATE, OPT_CLUSTER_TOKEN, OPT_ELECTION, OPT_HEARTBEAT,
	OPT_LEASE, OPT_PEER_KEY, OPT_INSECURE, OPT_QUOTA, OPT_MAX_REQUEST,
	OPT_SNAPSHOT_COUNT, OPT_LOG_LEVEL, OPT_VERSION, OPT_HELP,
	OPT_WAL_SEGMENT, OPT_MAX_CLIENTS, OPT_HANDSHAKE_TIMEOUT,
	OPT_IDLE_TIMEOUT, OPT_RESTORE,
};

static const struct option options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "listen-client-urls", required_argument, NULL, OPT_LISTEN_CLIENT },
	{ "advertise-client-urls", required_argument, NULL,
	  OPT_ADVERTISE_CLIENT },
	{ "listen-peer-urls", required_argument, NULL, OPT_LISTEN_PEER },
	{ "initial-advertise-peer-urls", required_argument, NULL,
	  OPT_ADVERTISE_PEER },
	{ "initial-cluster", required_argument, NULL, OPT_INITIAL_CLUSTER },
	{ "initial-cluster-state", required_argument, NULL, OPT_CLUSTER_STATE },
	{ "initial-cluster-token", required_argument, NULL, OPT_CLUSTER_TOKEN },
	{ "election-timeout", required_argument, NULL, OPT_ELECTION },
	{ "heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT },
	{ "lease-ms", required_argument, NULL, OPT_LEASE },
	{ "peer-key-file", required_argument, NULL, OPT_PEER_KEY },
	{ "insecure-no-peer-auth", no_argument, NULL, OPT_INSECURE },
	{ "quota-backend-bytes", required_argument, NULL, OPT_QUOTA },
	{ "max-request-bytes", required_argument, NULL, OPT_MAX_REQUEST },
	{ "snapshot-count", required_argument, NULL, OPT_SNAPSHOT_COUNT },
	{ "wal-segment-bytes", required_argument, NULL, OPT_WAL_SEGMENT },
	{ "max-client-conns", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "client-handshake-timeout", required_argument, NULL,
	  OPT_HANDSHAKE_TIMEOUT },
	{ "client-idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "restore-snapshot", required_argument, NULL, OPT_RESTORE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: gnomond [--name NAME] [--data-dir DIR]\n"
"               [--listen-client-urls URLS] [--advertise-client-urls URLS]\n"
"               [--listen-peer-urls URLS] [--initial-advertise-peer-urls URLS]\n"
"               [--initial-cluster NAME=URL,...] [--initial-cluster-state new|existing]\n"
"               [--initial-cluster-token TOKEN]\n"
"               [--election-timeout MS] [--heartbeat-interval MS] [--lease-ms MS]\n"
"               (--peer-key-file FILE | --insecure-no-peer-auth)\n"
"               [--quota-backend-bytes N] [--max-request-bytes N]\n"
"               [--snapshot-count N] [--log-level error|warn|info|debug]\n"
"               [--max-client-conns N] [--client-handshake-timeout MS]\n"
"               [--client-idle-timeout MS]\n"
"       gnomond --restore-snapshot FILE --data-dir DIR [the member's flags]\n"
"See gnomond(8).\n");
}

int gd_url__parse(struct gd_url *u, const char *text)
{
	char host[64];
	const char *p, *colon;
	char *end;
	unsigned long port;

	memset(u, 0, sizeof(*u));
	if (strlen(text) >= sizeof(u->text))
		return -EINVAL;
	snprintf(u->text, sizeof(u->text), "%s", text);
	if (strncmp(text, "http://", 7))
		return -EPROTONOSUPPORT;
	p = text + 7;
	colon = strrchr(p, ':');
	if (!colon || colon == p || (size_t)(colon - p) >= sizeof(host))
		return -EINVAL;
	memcpy(host, p, colon - p);
	host[colon - p] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || (*end && strcmp(end, "/")) ||
	    port > 65535)
		return -EINVAL;
	u->addr.sin_family = AF_INET;
	u->addr.sin_port = htons((uint16_t)port);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &u->addr.sin_addr) != 1)
		return -EADDRNOTAVAIL;
	return 0;
}

static int url_error(const char *flag, const char *text, int rc)
{
	const char *why = rc == -EPROTONOSUPPORT ?
		"only http:// is supported (no TLS)" :
		rc == -EADDRNOTAVAIL ?
		"the host must be an IPv4 address or localhost" :
		"expected http://HOST:PORT";

	fprintf(stderr, "gnomond: --%s: bad URL '%s': %s\n", flag, text, why);
	return -EINVAL;
}

static int parse_url_list(struct gd_url_list *l, const char *flag,
			  const char *text)
{
	char buf[GD_MAX_URLS * GD_URL_LEN], *save = NULL, *tok;
	int rc;

	if (strlen(text) >= sizeof(buf)) {
		fprintf(stderr, "gnomond: --%s: too long\n", flag);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	l->n = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (l->n == GD_MAX_URLS) {
			fprintf(stderr, "gnomond: --%s: at most %d URLs\n",
				flag, GD_MAX_URLS);
			return -EINVAL;
		}
		rc = gd_url__parse(&l->v[l->n], tok);
		if (rc)
			return url_error(flag, tok, rc);
		l->n++;
	}
	if (!l->n) {
		fprintf(stderr, "gnomond: --%s: no URL given\n", flag);
		return -EINVAL;
	}
	return 0;
}

/* FNV-1a, 64 bits: stable member and cluster ids from names and URLs. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	if (!h)
		h = 0xcbf29ce484222325ULL;
	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int parse_cluster(struct gd_config *cfg, const char *text,
			 const char *token)
{
	char buf[RAFT_MAX_MEMBERS * (GD_NAME_LEN + GD_URL_LEN + 2)];
	char *save = NULL, *tok, *eq;
	struct gd_member *m;
	int rc;

	if (strlen(text) >= sizeof(buf)) {
		fprintf(stderr, "gnomond: --initial-cluster: too long\n");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	cfg->n_members = 0;
	cfg->cluster_id = fnv1a(fnv1a(0, token), text);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq || eq == tok || eq - tok >= GD_NAME_LEN) {
			fprintf(stderr, "gnomond: --initial-cluster: '%s' is "
				"not NAME=URL\n", tok);
			return -EINVAL;
		}
		*eq = 0;
		for (uint32_t i = 0; i < cfg->n_members; i++) {
			if (!strcmp(cfg->members[i].name, tok)) {
				/* etcd allows several URLs per member. */
				rc = gd_url__parse(&(struct gd_url){ 0 }, eq + 1);
				if (rc)
					return url_error("initial-cluster",
							 eq + 1, rc);
				tok = NULL;
				break;
			}
		}
		if (!tok)
			continue;
		if (cfg->n_members == RAFT_MAX_MEMBERS) {
			fprintf(stderr, "gnomond: --initial-cluster: at most "
				"%d members\n", RAFT_MAX_MEMBERS);
			return -EINVAL;
		}
		m = &cfg->members[cfg->n_members++];
		snprintf(m->name, sizeof(m->name), "%s", tok);
		rc = gd_url__parse(&m->peer, eq + 1);
		if (rc)
			return url_error("initial-cluster", eq + 1, rc);
		m->id = fnv1a(fnv1a(cfg->cluster_id, m->name), m->peer.text);
	}
	return 0;
}

static int parse_u64(const char *flag, const char *text, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (gparse__u64(text, &v) || v < min || v > max) {
		fprintf(stderr, "gnomond: --%s: '%s' is not a number in "
			"[%llu, %llu]\n", flag, text, (unsigned long long)min,
			(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A number in [0, max] that fits 32 bits. */
static int parse_u32(const char *flag, const char *text, uint32_t max,
		     uint32_t *out)
{
	uint64_t v;
	int rc = parse_u64(flag, text, 0, max, &v);

	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

static void set_defaults(struct gd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "default");
	cfg->heartbeat_ms = 100;
	cfg->election_ms = 1000;
	cfg->snapshot_count = 100000;
	cfg->log_level = GD_LOG_INFO;
	/* grpc-go's ConnectionTimeout, which etcd leaves at its default;
	 * etcd closes no idle connection (MaxConnectionIdle: infinity). */
	cfg->client_handshake_timeout_ms = 120000;
}

/* Room in a WAL segment beyond the largest request: the record and entry
 * headers and the request's framing inside its entry. */
#define GD_SEGMENT_SLACK (64u << 10)

/* A WAL segment, given or default, must hold the largest entry a request
 * can make. */
static int check_segment(const struct gd_config *cfg)
{
	uint64_t req = cfg->max_request_bytes ? cfg->max_request_bytes :
		       API_DEFAULT_MAX_REQUEST_BYTES;
	uint64_t seg = cfg->wal_segment_bytes ? cfg->wal_segment_bytes :
		       WAL_DEFAULT_SEGMENT_SIZE;

	if (seg >= req + GD_SEGMENT_SLACK)
		return 0;
	fprintf(stderr, "gnomond: --wal-segment-bytes %llu%s is too small for "
		"--max-request-bytes %llu: at least %llu\n",
		(unsigned long long)seg,
		cfg->wal_segment_bytes ? "" : " (the default)",
		(unsigned long long)req,
		(unsigned long long)(req + GD_SEGMENT_SLACK));
	return -EINVAL;
}

static int check_cluster(struct gd_config *cfg)
{
	for (uint32_t i = 0; i < cfg->n_members; i++)
		if (!strcmp(cfg->members[i].name, cfg->name))
			cfg->self = i + 1;
	if (!cfg->self) {
		fprintf(stderr, "gnomond: --initial-cluster has no member "
			"named '%s' (--name)\n", cfg->name);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->advertise_peer.n; i++)
		if (!strcmp(cfg->advertise_peer.v[i].text,
			    cfg->members[cfg->self - 1].peer.text))
			return 0;
	fprintf(stderr, "gnomond: --initial-cluster gives '%s' for %s, which "
		"--initial-advertise-peer-urls does not list\n",
		cfg->members[cfg->self - 1].peer.text, cfg->name);
	return -EINVAL;
}

static int check_timing(struct gd_config *cfg, bool lease_set)
{
	if (cfg->election_ms < 5 * cfg->heartbeat_ms) {
		fprintf(stderr, "gnomond: --election-timeout (%u ms) must be at "
			"least 5 times --heartbeat-interval (%u ms)\n",
			cfg->election_ms, cfg->heartbeat_ms);
		return -EINVAL;
	}
	if (!lease_set)
		cfg->lease_ms = cfg->election_ms / 2;
	if (cfg->lease_ms > cfg->election_ms) {
		fprintf(stderr, "gnomond: --lease-ms (%u) must not exceed "
			"--election-timeout (%u)\n", cfg->lease_ms,
			cfg->election_ms);
		return -EINVAL;
	}
	if (!cfg->peer_key_file[0] && !cfg->insecure_no_peer_auth) {
		fprintf(stderr, "gnomond: members authenticate each other with "
			"a cluster key: give --peer-key-file FILE (at least 16 "
			"bytes, the same on every member), or "
			"--insecure-no-peer-auth for tests\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_one(struct gd_config *cfg, int opt, const char *arg,
		     const char **cluster, const char **token, bool *lease_set)
{
	uint64_t v = 0;
	int rc = 0;

	switch (opt) {
	case OPT_NAME:
		if (!*arg || strlen(arg) >= sizeof(cfg->name)) {
			fprintf(stderr, "gnomond: --name: 1 to %zu characters\n",
				sizeof(cfg->name) - 1);
			return -EINVAL;
		}
		snprintf(cfg->name, sizeof(cfg->name), "%s", arg);
		return 0;
	case OPT_DATA_DIR:
		if (!*arg || strlen(arg) >= sizeof(cfg->data_dir)) {
			fprintf(stderr, "gnomond: --data-dir: bad path\n");
			return -EINVAL;
		}
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", arg);
		return 0;
	case OPT_LISTEN_CLIENT:
		return parse_url_list(&cfg->listen_client, "listen-client-urls",
				      arg);
	case OPT_ADVERTISE_CLIENT:
		return parse_url_list(&cfg->advertise_client,
				      "advertise-client-urls", arg);
	case OPT_LISTEN_PEER:
		return parse_url_list(&cfg->listen_peer, "listen-peer-urls",
				      arg);
	case OPT_ADVERTISE_PEER:
		return parse_url_list(&cfg->advertise_peer,
				      "initial-advertise-peer-urls", arg);
	case OPT_INITIAL_CLUSTER:
		*cluster = arg;
		return 0;
	case OPT_CLUSTER_TOKEN:
		*token = arg;
		return 0;
	case OPT_CLUSTER_STATE:
		if (strcmp(arg, "new") && strcmp(arg, "existing")) {
			fprintf(stderr, "gnomond: --initial-cluster-state: "
				"'%s' is neither new nor existing\n", arg);
			return -EINVAL;
		}
		cfg->existing = !strcmp(arg, "existing");
		return 0;
	case OPT_ELECTION:
		rc = parse_u64("election-timeout", arg, 10, 600000, &v);
		cfg->election_ms = (uint32_t)v;
		return rc;
	case OPT_HEARTBEAT:
		rc = parse_u64("heartbeat-interval", arg, 1, 60000, &v);
		cfg->heartbeat_ms = (uint32_t)v;
		return rc;
	case OPT_LEASE:
		rc = parse_u64("lease-ms", arg, 0, 600000, &v);
		cfg->lease_ms = (uint32_t)v;
		*lease_set = true;
		return rc;
	case OPT_PEER_KEY:
		snprintf(cfg->peer_key_file, sizeof(cfg->peer_key_file), "%s",
			 arg);
		return 0;
	case OPT_INSECURE:
		cfg->insecure_no_peer_auth = true;
		return 0;
	case OPT_QUOTA:
		return parse_u64("quota-backend-bytes", arg, 0,
				 (uint64_t)8 << 30, &cfg->quota_backend_bytes);
	case OPT_MAX_REQUEST:
		return parse_u64("max-request-bytes", arg, 0, 64 << 20,
				 &cfg->max_request_bytes);
	case OPT_RESTORE:
		if (!*arg || strlen(arg) >= sizeof(cfg->restore_snapshot)) {
			fprintf(stderr, "gnomond: --restore-snapshot: a file "
				"name (under %zu bytes)\n",
				sizeof(cfg->restore_snapshot));
			return -EINVAL;
		}
		snprintf(cfg->restore_snapshot, sizeof(cfg->restore_snapshot),
			 "%s", arg);
		return 0;
	case OPT_SNAPSHOT_COUNT:
		return parse_u64("snapshot-count", arg, 100, UINT32_MAX,
				 &cfg->snapshot_count);
	case OPT_WAL_SEGMENT:
		return parse_u64("wal-segment-bytes", arg, 64 << 10, 1 << 30,
				 &cfg->wal_segment_bytes);
	case OPT_MAX_CLIENTS:
		return parse_u32("max-client-conns", arg, GD_MAX_CLIENT_CONNS,
				 &cfg->max_client_conns);
	case OPT_HANDSHAKE_TIMEOUT:
		return parse_u32("client-handshake-timeout", arg, 3600000,
				 &cfg->client_handshake_timeout_ms);
	case OPT_IDLE_TIMEOUT:
		return parse_u32("client-idle-timeout", arg, 86400000,
				 &cfg->client_idle_timeout_ms);
	case OPT_LOG_LEVEL:
		if (gd_log_level__parse(arg, &cfg->log_level)) {
			fprintf(stderr, "gnomond: --log-level: '%s' is not "
				"error, warn, info or debug\n", arg);
			return -EINVAL;
		}
		return 0;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

int gd_config__parse(struct gd_config *cfg, int argc, char **argv)
{
	const char *cluster = NULL, *token = "etcd-cluster";
	bool lease_set = false;
	char buf[GD_URL_LEN + GD_NAME_LEN];
	int opt, rc;

	set_defaults(cfg);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("gnomond %s (etcd API %s)\n", GD_VERSION, "3.4");
			return 1;
		}
		rc = parse_one(cfg, opt, optarg, &cluster, &token, &lease_set);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "gnomond: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!cfg->data_dir[0])
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s.gnomond",
			 cfg->name);
	if (!cfg->listen_client.n)
		parse_url_list(&cfg->listen_client, "", "http://localhost:2379");
	if (!cfg->advertise_client.n)
		cfg->advertise_client = cfg->listen_client;
	if (!cfg->listen_peer.n)
		parse_url_list(&cfg->listen_peer, "", "http://localhost:2380");
	if (!cfg->advertise_peer.n)
		cfg->advertise_peer = cfg->listen_peer;
	if (!cluster) {
		snprintf(buf, sizeof(buf), "%s=%s", cfg->name,
			 cfg->advertise_peer.v[0].text);
		cluster = buf;
	}
	rc = parse_cluster(cfg, cluster, token);
	if (!rc)
		rc = check_cluster(cfg);
	if (!rc)
		rc = check_timing(cfg, lease_set);
	if (!rc)
		rc = check_segment(cfg);
	return rc;
}
