/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fenced_agent: gnomon-fenced's shell around fenced_core.  It owns the
 * gnomond session (LeaseGrant, the LeaseKeepAlive stream, Lock), turns what
 * gnomond answers into the core's events, each with a TT.now() reading, and
 * carries out the core's actions: PR takeover (tools/gnomonctl/pr.c), the
 * kernel lease (tools/common/klease.c), wake-ups, giving the session up.
 * fenced_main.c runs the poll loop and calls in here.
 */
#ifndef GNOMON_FENCED_AGENT_H
#define GNOMON_FENCED_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "fenced_conf.h"
#include "fenced_core.h"
#include "fenced_grpc.h"

struct gnomon_client;

enum fenced_tag {
	FT_GRANT, FT_KEEPALIVE, FT_LOCK, FT_RANGE, FT_REVOKE, FT_UNLOCK,
};

struct fenced_agent {
	const struct fenced_conf *conf;
	struct fenced_core core;
	struct gnomon_client *clock;
	int kfd;			/* /dev/gnomon, for the kernel lease */
	int wait_fd;			/* timerfd: WAIT_UNTIL, reconnects */
	struct fgrpc g;
	int ep;				/* endpoint in use */
	int64_t reconnect_at;		/* CLOCK_MONOTONIC ns, 0: none */
	int64_t last_rx;		/* monotonic: last keepalive answer */
	int64_t session_at;		/* monotonic: session start asked */
	/* The gnomond session. */
	int64_t lease_id;		/* 0: none */
	int64_t ttl_ns;			/* granted TTL */
	bool locked;			/* Lock answered */
	uint8_t key[512];		/* our lock key */
	size_t klen;
	int64_t lock_latest;		/* TT latest when Lock answered */
	/* For the log and the status. */
	enum fenced_state shown;
	bool shown_granted;
	uint64_t takeovers, losses, reconnects;
	bool clock_void;		/* TT.now() had no bound when last read */
	bool stopping;
};

/* Open the clock and /dev/gnomon: 0 or -errno (message printed). */
int fenced_agent__init(struct fenced_agent *a, const struct fenced_conf *conf,
		       int wait_fd);
void fenced_agent__exit(struct fenced_agent *a);
/* The poll entry for the gnomond connection (fd -1 when none). */
int fenced_agent__fd(const struct fenced_agent *a, short *events);
/* Socket I/O. */
void fenced_agent__io(struct fenced_agent *a, short revents);
/* The keepalive period elapsed: send one, tick the core, check liveness. */
void fenced_agent__tick(struct fenced_agent *a);
/* wait_fd fired: a WAIT_UNTIL or a reconnect is due. */
void fenced_agent__wake(struct fenced_agent *a);
/* SIGTERM: release the kernel lease, then revoke the gnomond lease; true
 * when nothing is left to wait for. */
bool fenced_agent__stop(struct fenced_agent *a);
bool fenced_agent__stopped(const struct fenced_agent *a);
/* One line: state, token, lease, endpoint, counters. */
void fenced_agent__status(const struct fenced_agent *a, char *buf,
			  size_t size);

#endif
