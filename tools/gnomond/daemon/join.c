// SPDX-License-Identifier: GPL-2.0
/*
 * Joining a running cluster: at start-up, before the loop, a member
 * started with --initial-cluster-state existing on an empty data
 * directory learns its Raft slot and member id.
 *
 * The operator has added it first (etcdctl member add), which gave it a
 * slot and an id in the cluster's member table, under the peer URLs it was
 * added with.  It asks the members --initial-cluster names for that table
 * over the authenticated peer protocol (forward.h: the acceptor's
 * challenge, a JOIN frame with the challenge's nonce and one of its own
 * under the cluster key, a MEMBERS frame back with the table and its
 * nonce, under the key) and finds the row whose peer URLs include its
 * --initial-advertise-peer-urls, refusing a row that has a name: that
 * member started before (membership.c publishes the name) and lost its
 * data; its log is gone, so it must be removed and added back.  A member
 * that has not applied the
 * addition yet does not list it: it asks the next, and tries again every
 * second for JOIN_SECONDS.  It keeps the table it joined with in
 * DATA_DIR/members.join (gd_join__load() reads it at a restart, until a
 * snapshot carries the table).  It then boots its Raft core with no
 * configuration of its own (raft.h: n_members 0) and catches up from the
 * leader's snapshot and log, which bring the table as applied.
 *
 * Blocking calls with timeouts: start-up only (daemon_nonblocking.sh
 * watches the loop, which has not started).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../peer/peer_auth.h"
#include "daemon.h"
#include "forward.h"
#include "log.h"

#define JOIN_SECONDS	60
#define JOIN_IO_MS	2000
#define JOIN_MAX_FRAME	(64u << 10)
#define JOIN_FILE	"members.join"

/* Exactly n bytes, each wait bounded by JOIN_IO_MS: 0 or -errno. */
static int io_full(int fd, void *buf, size_t n, bool out)
{
	struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
	uint8_t *b = buf;
	ssize_t k;

	while (n) {
		if (poll(&p, 1, JOIN_IO_MS) <= 0)
			return -ETIMEDOUT;
		k = out ? send(fd, b, n, MSG_NOSIGNAL) : recv(fd, b, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? -errno : -ECONNRESET;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int connect_to(const struct sockaddr_in *addr)
{
	struct pollfd p = { .events = POLLOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -errno;
	p.fd = fd;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) &&
	    errno != EINPROGRESS)
		err = errno;
	else if (poll(&p, 1, JOIN_IO_MS) <= 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

/* The answer to a JOIN: a MEMBERS frame carrying our nonce. */
static int read_members(struct gnomond *d, int fd,
			const uint8_t mine[PEER_NONCE_SIZE],
			struct gd_members *t)
{
	uint8_t hdr[12], *buf;
	struct fwd_frame f;
	const char *why = "";
	size_t len, used;
	int rc = io_full(fd, hdr, sizeof(hdr), false);

	if (!rc)
		rc = fwd_frame__length(hdr, sizeof(hdr), &len);
	if (rc)
		return rc;
	if (len > JOIN_MAX_FRAME)
		return -EMSGSIZE;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	rc = io_full(fd, buf + sizeof(hdr), len - sizeof(hdr), false);
	if (!rc)
		rc = fwd_frame__decode(&d->codec.key, buf, len, &f, &why);
	if (!rc && (f.type != FWD_MEMBERS || f.len < PEER_NONCE_SIZE ||
		    memcmp(f.body, mine, PEER_NONCE_SIZE)))
		rc = -EBADMSG;
	if (!rc)
		rc = gd_members__decode(t, f.body + PEER_NONCE_SIZE,
					f.len - PEER_NONCE_SIZE, &used);
	if (rc == -EACCES)
		gd_warn("join: the answer is not signed with this member's "
			"cluster key (--peer-key-file)");
	free(buf);
	return rc;
}

/* Ask the member at addr for its table. */
static int ask(struct gnomond *d, const struct sockaddr_in *addr,
	       struct gd_members *t)
{
	uint8_t ch[PEER_CHALLENGE_SIZE], body[2 * PEER_NONCE_SIZE];
	struct fwd_frame f = { .type = FWD_JOIN, .body = body,
			       .len = sizeof(body) };
	struct gd_buf out = { 0 };
	int fd = connect_to(addr), rc;

	if (fd < 0)
		return fd;
	rc = io_full(fd, ch, sizeof(ch), false);
	if (!rc)
		rc = peer_challenge__decode(ch, sizeof(ch), body);
	if (!rc && getrandom(body + PEER_NONCE_SIZE, PEER_NONCE_SIZE, 0) !=
		   PEER_NONCE_SIZE)
		rc = -EAGAIN;
	if (!rc)
		rc = fwd_frame__encode(&d->codec.key, &f, &out);
	if (!rc)
		rc = io_full(fd, out.p, out.len, true);
	if (!rc)
		rc = read_members(d, fd, body + PEER_NONCE_SIZE, t);
	gd_buf__free(&out);
	close(fd);
	return rc;
}

/* The table as joined, durable in the data directory: a restart before
 * the first snapshot replays the log on top of it (its slots and ids,
 * not --initial-cluster's order). */
static int save(struct gnomond *d)
{
	char tmp[600], path[600];
	struct gd_buf b = { 0 };
	int rc = gd_members__encode(&d->members, &b), fd = -1;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", d->cfg.data_dir, JOIN_FILE);
	snprintf(path, sizeof(path), "%s/%s", d->cfg.data_dir, JOIN_FILE);
	if (!rc) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		rc = fd < 0 ? -errno : 0;
	}
	if (!rc && (write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd)))
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc) {
		fd = open(d->cfg.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	gd_buf__free(&b);
	if (rc)
		gd_err("%s: %s", path, strerror(-rc));
	return rc;
}

int gd_join__load(struct gnomond *d)
{
	uint8_t buf[JOIN_MAX_FRAME];
	struct gd_members t;
	char path[600];
	size_t used;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->cfg.data_dir, JOIN_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || gd_members__decode(&t, buf, (size_t)n, &used)) {
		gd_err("%s: not a member table", path);
		return -EUCLEAN;
	}
	return gd_membership__boot_table(d, &t);
}

static bool is_self(const struct gd_config *cfg, const struct gd_url *u)
{
	for (unsigned int i = 0; i < cfg->advertise_peer.n; i++)
		if (!strcmp(cfg->advertise_peer.v[i].text, u->text))
			return true;
	return false;
}

int gd_join__fetch(struct gnomond *d)
{
	const struct gd_config *cfg = &d->cfg;
	struct gd_members t;
	bool told = false;
	uint32_t slot;

	for (int s = 0; s < JOIN_SECONDS; s++) {
		for (uint32_t i = 0; i < cfg->n_members; i++) {
			const struct gd_url *u = &cfg->members[i].peer;

			if (is_self(cfg, u) || ask(d, &u->addr, &t))
				continue;
			slot = gd_members__by_url(&t, &cfg->advertise_peer, 0);
			if (!slot) {
				if (!told)
					gd_info("join: %s does not list this "
						"member's peer URL %s yet",
						u->text,
						cfg->advertise_peer.v[0].text);
				told = true;
				continue;
			}
			if (t.s[slot].name[0]) {
				gd_err("join: slot %u (member %llx, %s) has "
				       "started before: its data directory "
				       "was lost.  Remove it (etcdctl member "
				       "remove %llx) and add it back (etcdctl "
				       "member add)", slot,
				       (unsigned long long)t.s[slot].id,
				       t.s[slot].name,
				       (unsigned long long)t.s[slot].id);
				return -EEXIST;
			}
			d->members = t;
			d->cfg.self = slot;
			d->self_id = t.s[slot].id;
			gd_info("join: member %llx, slot %u, as a %s (table "
				"from %s)",
				(unsigned long long)t.s[slot].id, slot,
				t.s[slot].learner ? "learner" : "voter",
				u->text);
			return save(d);
		}
		sleep(1);
	}
	gd_err("join: no member named by --initial-cluster lists this "
	       "member's peer URL %s: add it first (etcdctl member add NAME "
	       "--peer-urls=%s), then start it with --initial-cluster-state "
	       "existing", cfg->advertise_peer.v[0].text,
	       cfg->advertise_peer.v[0].text);
	return -ENOENT;
}
