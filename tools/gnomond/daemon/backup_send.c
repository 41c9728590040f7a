// SPDX-License-Identifier: GPL-2.0
/*
 * Maintenance.Snapshot: stream a backup of this member's store (backup.h)
 * to the client, as etcd streams its database, so that `etcdctl snapshot
 * save` writes it to a file.
 *
 * Consistent, without stalling the loop: the request forks a child (as
 * snapshot.c does for the WAL's snapshots), which gets the store as it was
 * at that applied index, one revision, writes the backup into a memfd the
 * parent created and exits.  The loop reaps it from the tick, maps the
 * memfd read-only and, every turn, hands the client 32 KiB messages
 * (SnapshotResponse: header, remaining_bytes after this one, blob) while
 * less than SEND_WINDOW is queued on the stream, so a slow client holds
 * memory for a window, not for the store; then it ends the stream (OK).  A
 * stream the client dropped is noticed when its next message cannot be
 * queued.  At most MAX_SENDS backups are taken or sent at a time; more
 * get etcd's "too many requests".
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../peer/sha256.h"
#include "backup.h"
#include "daemon.h"
#include "log.h"

#define MAX_SENDS	4
#define CHUNK		(32u * 1024)
#define SEND_WINDOW	(256u * 1024)
#define CHILD_BUF	(1u << 20)

struct send {
	uint32_t slot, gen;
	int32_t stream;
	pid_t pid;		/* the child, until reaped */
	int fd;			/* the memfd, until mapped */
	uint8_t *map;
	size_t len, off;
	Etcdserverpb__ResponseHeader hdr;
};

static struct send sends[MAX_SENDS];
static unsigned int n_sends;

/* ---- In the child ---- */

struct out {
	int fd;
	struct sha256 sum;
	uint8_t *buf;
	size_t fill;
	uint64_t total;
};

static int out_flush(struct out *o)
{
	size_t off = 0;
	ssize_t n;

	while (off < o->fill) {
		n = write(o->fd, o->buf + off, o->fill - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	o->fill = 0;
	return 0;
}

static int out_write(void *ctx, const void *buf, size_t len)
{
	struct out *o = ctx;
	const uint8_t *p = buf;
	size_t n;
	int rc;

	sha256__update(&o->sum, buf, len);
	o->total += len;
	while (len) {
		if (o->fill == CHILD_BUF && (rc = out_flush(o)))
			return rc;
		n = CHILD_BUF - o->fill < len ? CHILD_BUF - o->fill : len;
		memcpy(o->buf + o->fill, p, n);
		o->fill += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int child_write(struct gnomond *d, int fd,
		       const struct gd_backup_header *h)
{
	uint8_t head[GD_BACKUP_HEADER_SIZE], sum[SHA256_DIGEST_SIZE];
	uint8_t tail[GD_BACKUP_ALIGN + 8];
	struct out o = { .fd = fd, .buf = malloc(CHILD_BUF) };
	int rc;

	if (!o.buf)
		return -ENOMEM;
	sha256__init(&o.sum);
	gd_backup__encode_header(head, h);
	rc = out_write(&o, head, sizeof(head));
	if (!rc)
		rc = mvcc_store__snapshot(d->store, out_write, &o);
	if (!rc)
		rc = out_write(&o, tail, gd_backup__trailer(tail, o.total -
							     sizeof(head)));
	if (!rc) {
		sha256__final(&o.sum, sum);
		rc = out_write(&o, sum, sizeof(sum));
	}
	if (!rc)
		rc = out_flush(&o);
	return rc;
}

/* ---- In the loop ---- */

static void send_free(unsigned int i)
{
	struct send *s = &sends[i];

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->map)
		munmap(s->map, s->len);
	sends[i] = sends[--n_sends];
}

static int start(struct gnomond *d, struct send *s)
{
	struct gd_backup_header h = {
		.revision = mvcc_store__revision(d->store),
		.index = d->applied,
		.term = raft__term_at(d->raft, d->applied),
		.member_id = d->self_id,
	};
	int fd = memfd_create("gnomond-backup", MFD_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return -errno;
	pid = gd_snapshot__fork(fd);
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (!pid)
		_exit(child_write(d, fd, &h) ? 1 : 0);
	s->pid = pid;
	s->fd = fd;
	return 0;
}

void gd_backup__request(struct gnomond *d, const struct gd_target *t)
{
	struct api_session *as = gd_clients__session(d, t->slot, t->gen);
	struct send *s = &sends[n_sends];
	int rc;

	if (!as)
		return;
	if (n_sends == MAX_SENDS) {
		api_session__fail_etcd(as, t->stream,
				       ETCD_ERR_TOO_MANY_REQUESTS);
		return;
	}
	*s = (struct send){ .slot = t->slot, .gen = t->gen,
			    .stream = t->stream, .fd = -1 };
	etcdserverpb__response_header__init(&s->hdr);
	gd_answer__etcd_header(d, &s->hdr);
	rc = start(d, s);
	if (rc) {
		gd_warn("backup for a client: %s", strerror(-rc));
		api_session__fail_etcd(as, t->stream, ETCD_ERR_TIMEOUT);
		return;
	}
	n_sends++;
	api_session__handled(as, t->stream);
	gd_info("streaming a backup at revision %lld to a client",
		(long long)s->hdr.revision);
}

/* The child is done: map its memfd.  0 or -errno. */
static int reaped(struct send *s, int status)
{
	struct stat st;
	void *map;

	s->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	if (fstat(s->fd, &st))
		return -errno;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	close(s->fd);
	s->fd = -1;
	s->map = map;
	s->len = (size_t)st.st_size;
	return 0;
}

/* Queue what the window takes: 1 when the stream is done or gone. */
static int pump(struct gnomond *d, struct send *s)
{
	struct api_session *as = gd_clients__session(d, s->slot, s->gen);
	Etcdserverpb__SnapshotResponse r = ETCDSERVERPB__SNAPSHOT_RESPONSE__INIT;
	uint8_t buf[CHUNK + 256];
	size_t n, len;

	if (!as)
		return 1;
	r.header = &s->hdr;
	while (s->off < s->len && api_session__queued(as, s->stream) <
	       SEND_WINDOW) {
		n = s->len - s->off < CHUNK ? s->len - s->off : CHUNK;
		r.blob.data = s->map + s->off;
		r.blob.len = n;
		r.remaining_bytes = s->len - s->off - n;
		len = protobuf_c_message_pack(&r.base, buf);
		if (api_session__send(as, s->stream, buf, len))
			return 1;
		s->off += n;
	}
	if (s->off < s->len)
		return 0;
	api_session__end(as, s->stream);
	return 1;
}

void gd_backup__turn(struct gnomond *d)
{
	int status, rc;
	pid_t pid;

	for (unsigned int i = 0; i < n_sends;) {
		struct send *s = &sends[i];

		rc = 0;
		if (s->pid > 0) {
			pid = waitpid(s->pid, &status, WNOHANG);
			if (pid == s->pid)
				rc = reaped(s, status);
			else if (pid < 0)
				rc = -errno;
		}
		if (rc) {
			struct api_session *as =
				gd_clients__session(d, s->slot, s->gen);

			gd_warn("backup for a client failed: %s",
				strerror(-rc));
			if (as)
				api_session__fail_etcd(as, s->stream,
						       ETCD_ERR_TIMEOUT);
			send_free(i);
		} else if (s->map && pump(d, s)) {
			send_free(i);
		} else {
			i++;
		}
	}
}

void gd_backup__exit(void)
{
	while (n_sends)
		send_free(0);
}
