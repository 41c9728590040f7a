// SPDX-License-Identifier: GPL-2.0
/*
 * The Raft glue.  Once per loop turn gd_node__turn() takes the core's ready
 * work and does it in the order raft.h prescribes: persist (copied into the
 * WAL writer, written by the next chain), send, restore a received
 * snapshot, apply committed entries to the MVCC store (answering the
 * waiting writes), then the read indexes (answering reads the store has
 * caught up with).  A batch the WAL completes at once (nothing to write)
 * is reported at once, and the core asked again, a few times at most.
 *
 * Every --snapshot-count applied entries, a child process snapshots the
 * store (snapshot.c, reaped from the tick).  Configuration entries and
 * the entries that publish a member's name go to membership.c; a
 * snapshot's bytes are the member table, then the store (members.h; older
 * ones: the store alone).
 *
 * Status: when the role, term, leader or read mode changes, a log line
 * says so ("leader in term 7, fencing token 7, read mode lease") and the
 * file DATA_DIR/status is rewritten through the ring with the same facts
 * as one JSON object (padded with spaces to a fixed size, so a rewrite in
 * place never leaves a stale tail).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define STATUS_SIZE 512

static struct {
	struct gd_op op;
	bool busy, dirty;
	char buf[STATUS_SIZE];
} status_file;

static const char *read_mode_name(int mode)
{
	return mode == RAFT_READ_LEASE ? "lease" : "read-index";
}

static void write_status_file(struct gnomond *d);

static void on_status_written(struct gnomond *d, struct gd_op *op, int res,
			      uint32_t flags)
{
	(void)op;
	(void)flags;
	status_file.busy = false;
	if (res < 0)
		gd_warn("status file: %s", strerror(-res));
	if (status_file.dirty)
		write_status_file(d);
}

static void write_status_file(struct gnomond *d)
{
	enum raft_role role = raft__role(d->raft);
	struct io_uring_sqe *sqe;
	int n;

	if (d->status_fd < 0)
		return;
	if (status_file.busy) {
		status_file.dirty = true;
		return;
	}
	status_file.dirty = false;
	n = snprintf(status_file.buf, sizeof(status_file.buf),
		     "{\"name\":\"%s\",\"member_id\":\"%llx\",\"role\":\"%s\","
		     "\"term\":%llu,\"leader\":\"%s\",\"fencing_token\":%llu,"
		     "\"read_mode\":\"%s\",\"clock\":\"%s\","
		     "\"lease_end_ns\":%llu,\"lost_upto\":%llu}",
		     d->cfg.name,
		     (unsigned long long)d->self_id,
		     raft_role__name(role),
		     (unsigned long long)raft__term(d->raft),
		     gd_peers__name(d, raft__leader(d->raft)),
		     (unsigned long long)raft__fencing_token(d->raft),
		     read_mode_name(d->last_read_mode),
		     gnomon_status__name(d->now.status),
		     (unsigned long long)raft__lease_end(d->raft),
		     (unsigned long long)raft__lost_upto(d->raft));
	if (n < 0 || n >= STATUS_SIZE - 1)
		n = STATUS_SIZE - 2;
	memset(status_file.buf + n, ' ', STATUS_SIZE - 1 - n);
	status_file.buf[STATUS_SIZE - 1] = '\n';
	status_file.op.fn = on_status_written;
	sqe = gd_sqe(d, &status_file.op);
	if (!sqe)
		return;
	io_uring_prep_write(sqe, d->status_fd, status_file.buf, STATUS_SIZE, 0);
	status_file.busy = true;
}

static void report_status(struct gnomond *d)
{
	enum raft_role role = raft__role(d->raft);
	uint64_t term = raft__term(d->raft);
	uint32_t leader = raft__leader(d->raft);
	int mode = raft__read_mode(d->raft, &d->now);
	uint64_t lost = raft__lost_upto(d->raft);

	if (role == d->last_role && term == d->last_term &&
	    leader == d->last_leader && mode == d->last_read_mode &&
	    lost == d->last_lost_upto && d->now.status == d->last_clock)
		return;
	/* A clock that stops being synchronized turns lease reads off even
	 * when the read mode was already ReadIndex: say so either way. */
	if (d->now.status != d->last_clock)
		gd_info("clock %s (was %s): read mode %s",
			gnomon_status__name(d->now.status),
			gnomon_status__name(d->last_clock), read_mode_name(mode));
	d->last_clock = d->now.status;
	if (d->last_lost_upto && !lost)
		gd_info("the leader gave back the entries this member had lost "
			"(up to index %llu): it votes again",
			(unsigned long long)d->last_lost_upto);
	d->last_lost_upto = lost;
	d->last_role = role;
	d->last_term = term;
	d->last_leader = leader;
	d->last_read_mode = mode;
	if (role == RAFT_LEADER)
		gd_info("leader in term %llu, fencing token %llu, read mode %s "
			"(clock %s)", (unsigned long long)term,
			(unsigned long long)raft__fencing_token(d->raft),
			read_mode_name(mode), gnomon_status__name(d->now.status));
	else if (leader)
		gd_info("%s in term %llu, leader %s", raft_role__name(role),
			(unsigned long long)term, gd_peers__name(d, leader));
	else
		gd_info("%s in term %llu, no leader known",
			raft_role__name(role), (unsigned long long)term);
	write_status_file(d);
}

/* A snapshot's bytes: the member table if it has one (members.h), then
 * the store.  *t is set only if both decode. */
static int restore_bytes(struct gnomond *d, const uint8_t *data, size_t len,
			 struct mvcc_store **s, struct gd_members *t,
			 bool *has_table)
{
	size_t used = 0;
	int rc = gd_members__decode(t, data, len, &used);

	*has_table = !rc;
	if (rc && rc != -ENOENT) {
		gd_err("snapshot: a malformed member table");
		return rc;
	}
	return mvcc_store__restore(s, data + used, len - used,
				   d->cfg.quota_backend_bytes);
}

static int restore(struct gnomond *d, const struct raft_snapshot *snap)
{
	struct mvcc_store *s;
	struct raft_entry skip = { .index = snap->index };
	struct gd_members t;
	bool has_table;
	int rc = restore_bytes(d, snap->data, snap->len, &s, &t, &has_table);

	if (rc)
		return rc;
	if (has_table)
		gd_membership__replace(d, &t);
	mvcc_store__free(d->store);
	d->store = s;
	gd_watch__store_replaced(d);
	d->applied = snap->index;
	/* The storage writes it next: a child's older one must not win. */
	if (snap->index > d->snap_index)
		d->snap_index = snap->index;
	/* Writes waiting at or below the snapshot cannot be answered. */
	gd_requests__applied(d, &skip, NULL);
	gd_info("installed a snapshot up to index %llu from the leader",
		(unsigned long long)snap->index);
	return 0;
}

static int apply(struct gnomond *d, const struct raft_entry *e)
{
	struct mvcc_header hdr = gd_answer__header(d);
	struct mvcc_result res = { 0 };
	bool have = false;
	int rc;

	if (e->type == RAFT_ENTRY_CONF) {
		rc = gd_membership__apply_conf(d, e, &res);
		if (rc)
			return rc;
		have = true;
	} else if (e->type == RAFT_ENTRY_NORMAL &&
		   gd_member__is_update(e->data, e->len)) {
		gd_membership__apply_update(d, e, &res);
		have = true;
	} else if (e->type == RAFT_ENTRY_NORMAL && e->len) {
		rc = mvcc_store__apply(d->store, &hdr, e->data, e->len, &res);
		if (!rc)
			rc = gd_watch__applied(d);
		if (!rc)
			gd_lock__applied(d);
		if (!rc)
			gd_election__applied(d);
		if (rc)
			return rc;
		have = true;
	}
	d->applied = e->index;
	gd_requests__applied(d, e, have ? &res : NULL);
	mvcc_result__release(&res);
	return 0;
}

static int process(struct gnomond *d, const struct raft_ready *rd)
{
	int rc = gd_storage__persist(d, rd);

	if (rc)
		return rc;
	for (size_t i = 0; i < rd->n_msgs; i++)
		gd_peers__send_raft(d, &rd->msgs[i]);
	if (rd->snapshot) {
		rc = restore(d, rd->snapshot);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < rd->n_committed; i++) {
		rc = apply(d, &rd->committed[i]);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < rd->n_reads; i++)
		gd_requests__read_index(d, &rd->reads[i]);
	gd_requests__serve_reads(d);
	return 0;
}

void gd_node__turn(struct gnomond *d)
{
	struct raft_ready rd;
	int rc;

	for (int i = 0; i < 8 && !d->stop; i++) {
		rc = raft__ready(d->raft, &rd);
		if (!rc)
			rc = process(d, &rd);
		if (rc) {
			gd_fatal(d, "raft ready work", rc);
			return;
		}
		if (!gd_storage__kick(d))
			break;
	}
	gd_requests__retry_forwards(d);
	gd_requests__raise_alarms(d);
	gd_watch__turn(d);
	gd_maintenance__turn(d);
	report_status(d);
	gd_peers__flush(d);
	gd_clients__flush(d);
}

void gd_node__tick(struct gnomond *d)
{
	int rc = raft__tick(d->raft, &d->now);

	if (rc)
		gd_warn("raft__tick: %s", strerror(-rc));
	gd_leases__tick(d);
	gd_watch__tick(d);
	gd_snapshot__tick(d);
	gd_membership__tick(d);
}

int gd_node__start(struct gnomond *d, struct wal_loaded *ld)
{
	const struct raft_snapshot *snap = &ld->boot.snapshot;
	struct raft_config rc;
	struct timespec ts;
	char path[600];
	int err;

	/* The snapshot first: its member table says which slot is ours. */
	if (snap->index) {
		struct gd_members t;
		bool has_table;

		err = restore_bytes(d, snap->data, snap->len, &d->store, &t,
				    &has_table);
		if (!err && has_table)
			err = gd_membership__boot_table(d, &t);
	} else {
		err = mvcc_store__new(&d->store, d->cfg.quota_backend_bytes);
	}
	if (err)
		return err;
	/* A joining member knows no configuration until the leader's
	 * snapshot or log brings it (raft.h). */
	raft_config__defaults(&rc, d->cfg.self,
			      d->joining ? 0 : d->cfg.n_members);
	rc.heartbeat_ticks = 1;
	rc.election_ticks = d->cfg.election_ms / d->cfg.heartbeat_ms;
	rc.lease_ns = (uint64_t)d->cfg.lease_ms * 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	rc.seed = ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)getpid() ^
		  d->cfg.self;
	err = raft__new(&d->raft, &rc, &ld->boot);
	if (!err)
		err = gd_watch__init(d);
	if (err)
		return err;
	d->applied = d->snap_index = snap->index;
	/* The core points at the snapshot's bytes: keep them. */
	d->snap_data = ld->snap_buf;
	ld->snap_buf = NULL;
	d->last_role = RAFT_FOLLOWER;
	d->last_read_mode = -1;
	d->last_clock = d->now.status;
	d->last_lost_upto = raft__lost_upto(d->raft);
	if (d->last_lost_upto)
		gd_warn("%s: the last WAL record was cut short: this member "
			"lost entries up to index %llu that it may have "
			"acknowledged.  It neither votes nor campaigns until "
			"the leader has given them back", d->cfg.data_dir,
			(unsigned long long)d->last_lost_upto);
	snprintf(path, sizeof(path), "%s/status", d->cfg.data_dir);
	d->status_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (d->status_fd < 0)
		gd_warn("%s: %s", path, strerror(errno));
	gd_info("member %s (id %llx, %u of %u), term %llu, %zu log entries "
		"after snapshot %llu", d->cfg.name,
		(unsigned long long)d->self_id,
		d->cfg.self, gd_members__count(&d->members),
		(unsigned long long)ld->boot.hs.term, ld->boot.n_entries,
		(unsigned long long)snap->index);
	return 0;
}

void gd_node__stop(struct gnomond *d)
{
	gd_requests__drop_all(d);
	gd_watch__exit(d);
	gd_maintenance__drop_all(d);
	gd_lock__exit();
	gd_election__exit();
	gd_snapshot__stop(d);
	raft__free(d->raft);
	d->raft = NULL;
	mvcc_store__free(d->store);
	d->store = NULL;
	free(d->snap_data);
	d->snap_data = NULL;
	if (d->status_fd >= 0)
		close(d->status_fd);
}
