// SPDX-License-Identifier: GPL-2.0
/*
 * gnomond: a Raft member serving etcd's v3 KV API, with leader leases made
 * safe by bounded-uncertainty time (gnomond(8), Documentation/operations.rst).
 *
 * Start-up (blocking, before the loop): parse the flags, read the cluster
 * key, create or load the data directory (WAL recovery refuses corruption
 * with a clear error), listen, then run the io_uring loop until SIGTERM or
 * SIGINT.  On the way out the WAL chain in flight is waited for, so that a
 * clean stop never leaves a write half done.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "backup.h"
#include "listen.h"
#include "log.h"
#include "storage.h"

#define MAX_KEY 4096

static const char insecure_key[] = "gnomond-insecure-no-peer-auth";

/* Where what comes in on the connections goes: the parts above them. */
static const struct gd_peer_ops peer_ops = {
	.forwarded = gd_serve__forwarded,
	.result = gd_requests__result,
};
static const struct gd_client_ops client_ops = {
	.request = gd_serve__client,
	.closed = gd_serve__closed,
};

static int read_key(const struct gd_config *cfg, uint8_t *key, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd;

	if (!cfg->peer_key_file[0]) {
		gd_warn("--insecure-no-peer-auth: members do not authenticate "
			"each other; for tests only");
		memcpy(key, insecure_key, sizeof(insecure_key) - 1);
		*len = sizeof(insecure_key) - 1;
		return 0;
	}
	fd = open(cfg->peer_key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		gd_err("--peer-key-file %s: %s", cfg->peer_key_file,
		       strerror(errno));
		return -errno;
	}
	n = read(fd, key, MAX_KEY);
	if (!fstat(fd, &st) && (st.st_mode & 077))
		gd_warn("--peer-key-file %s is readable by others: chmod 600",
			cfg->peer_key_file);
	close(fd);
	if (n < PEER_MIN_KEY_SIZE) {
		gd_err("--peer-key-file %s: the key must have at least %d "
		       "bytes", cfg->peer_key_file, PEER_MIN_KEY_SIZE);
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

static int make_dirs(const char *path)
{
	char buf[512];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i])
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

static int load(struct gnomond *d, struct wal_loaded *ld)
{
	char err[512] = "";
	int rc = make_dirs(d->cfg.data_dir);

	if (rc) {
		gd_err("--data-dir %s: %s", d->cfg.data_dir, strerror(-rc));
		return rc;
	}
	rc = wal_posix__load(d->cfg.data_dir, ld, err, sizeof(err));
	if (rc == -EUCLEAN) {
		gd_err("%s: the write-ahead log is corrupt: %s; refusing to "
		       "start (restore this member's data directory from a "
		       "backup; see \"Losing a data directory\" in "
		       "Documentation/operations.rst)", d->cfg.data_dir, err);
		return rc;
	}
	if (rc) {
		gd_err("%s: cannot load: %s%s%s", d->cfg.data_dir,
		       strerror(-rc), err[0] ? ": " : "", err);
		return rc;
	}
	/* An empty data directory and --initial-cluster-state existing: a
	 * member added to a running cluster (join.c). */
	d->joining = d->cfg.existing && !ld->boot.hs.term &&
		     !ld->boot.n_entries && !ld->boot.snapshot.index;
	rc = d->joining ? gd_join__fetch(d) : gd_join__load(d);
	if (rc)
		wal_loaded__free(ld);
	return rc;
}

/*
 * Wait (bounded) for the WAL chain in flight before freeing its buffers,
 * and for the operations of closed connections, which free them.
 */
static bool draining(const struct gnomond *d)
{
	return (d->storage && d->storage->busy) || gd_peers__allocated() ||
	       gd_clients__allocated();
}

static void drain(struct gnomond *d)
{
	struct __kernel_timespec ts = { .tv_nsec = 100000000 };
	struct io_uring_cqe *cqe;

	for (int i = 0; i < 50 && draining(d); i++) {
		if (io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts,
						     NULL) < 0)
			continue;
		while (!io_uring_peek_cqe(&d->ring, &cqe)) {
			struct gd_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			uint32_t flags = cqe->flags;

			io_uring_cqe_seen(&d->ring, cqe);
			if (op)
				op->fn(d, op, res, flags);
		}
	}
}

static int start(struct gnomond *d)
{
	uint8_t key[MAX_KEY];
	struct wal_loaded ld;
	size_t key_len = 0;
	int rc;

	rc = gnomon_client__open(&d->clock, 0);
	if (rc) {
		gd_err("libgnomon: %s", strerror(-rc));
		return rc;
	}
	gd_now(d);
	gd_info("time source %s, clock %s",
		gnomon_time_source__name(gnomon_client__source(d->clock)),
		gnomon_status__name(d->now.status));
	rc = read_key(&d->cfg, key, &key_len);
	if (!rc)
		rc = gd_peers__init(d, key, key_len, &peer_ops);
	if (rc)
		return rc;
	rc = load(d, &ld);
	if (rc)
		return rc;
	rc = gd_node__start(d, &ld);
	if (!rc)
		rc = gd_storage__open(d, &ld);
	wal_loaded__free(&ld);
	if (rc) {
		gd_err("%s: %s", d->cfg.data_dir, strerror(-rc));
		return rc;
	}
	rc = gd_listen__open(d);
	if (!rc)
		rc = gd_clients__set_cap(d);
	if (rc)
		return rc;
	rc = gd_ring__init(d);
	if (!rc) {
		gd_loop__init(d);
		rc = gd_clients__init(d, &client_ops);
	}
	if (rc) {
		gd_err("io_uring: %s", strerror(-rc));
		return rc;
	}
	gd_listen__arm(d);
	gd_peers__tick(d);
	return 0;
}

int main(int argc, char **argv)
{
	static struct gnomond d;
	int rc;

	rc = gd_config__parse(&d.cfg, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (d.cfg.restore_snapshot[0])
		return gd_backup__restore(d.cfg.restore_snapshot,
					  d.cfg.data_dir,
					  d.cfg.wal_segment_bytes) ? 1 : 0;
	gd_log__setup(d.cfg.name, d.cfg.log_level);
	gd_members__seed(&d.members, &d.cfg);
	d.self_id = d.members.s[d.cfg.self].id;
	d.status_fd = -1;
	rc = start(&d);
	if (!rc)
		rc = gd_loop__run(&d);
	else
		rc = 1;
	d.stop = true;
	gd_clients__close_all(&d);
	gd_peers__close(&d);
	if (d.ring.ring_fd > 0)
		drain(&d);
	gd_listen__close(&d);
	gd_storage__close(&d);
	if (d.raft)
		gd_node__stop(&d);
	gd_ring__exit(&d);
	gd_clients__exit();
	gnomon_client__close(d.clock);
	gd_info("stopped");
	return rc ? 1 : 0;
}
