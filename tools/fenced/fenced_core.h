/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fenced_core: the decisions of gnomon-fenced, free of I/O.
 *
 * The agent holds a gnomond lock through a lease (session) with a short TTL.
 * Its shell feeds the core events, each with a TT.now() reading, and carries
 * out the actions the core returns.  The core never reads a clock, sleeps or
 * talks to anything (the C-Raft style): the same code runs in the daemon and
 * in the randomized simulation in selftests/fenced/.
 *
 * Events and what they mean:
 *   KA_SENT      a keepalive (or the LeaseGrant) left; s = now.earliest.
 *   KA_ANSWERED  gnomond answered the oldest unanswered keepalive with ttl;
 *                ttl <= 0 means the lease is gone.  Answers on one stream
 *                come in order but carry no request id, so the core pairs
 *                an answer with the OLDEST send instant still pending: if a
 *                request was lost the pairing is early, never late, so the
 *                bound it yields is conservative.
 *   LOCKED       the lock is ours with token T (the key's create revision);
 *                E is the previous holder's last possible lease end and P
 *                its token (its PR key), both read from gnomond.
 *   PREEMPTED    PR register T / reserve / PREEMPT AND ABORT P finished.
 *   LOST         the lock or the session is gone.
 *   TIMER        a wake-up the core asked for, or a periodic tick.
 *
 * Actions:
 *   WAIT_UNTIL   wake me (TIMER) when own TT.now().earliest > at.
 *   PR_TAKEOVER  register token, reserve, preempt-and-abort prev_token.
 *   GRANT/RENEW  kernel lease for token with end at.
 *   RELEASE      release the kernel lease now.
 *   GIVE_UP      drop the lock and session (a new session may follow).
 *
 * A clock with no bound.  A reading with latest == INT64_MAX has none (the
 * clock unsynchronized, or disrupted by a step): the kernel lease does not
 * hold and earliest > E can never be seen, so holding the lock, or queueing
 * for it, would only keep the other hosts out (Documentation/fencing.rst,
 * "A clock with no bound").  With such a reading KA_SENT is refused
 * (-EAGAIN: send nothing, start no session), and TIMER in a session,
 * KA_ANSWERED, LOCKED and PREEMPTED give it up: RELEASE first if the kernel
 * lease is ours, then GIVE_UP.  A new session starts once a reading has a
 * bound again.
 *
 * Invariants (asserted after every step):
 *   - a granted kernel lease ends no later than (send instant s of the last
 *     ANSWERED keepalive) + TTL - margin: gnomond's guarantee is that the
 *     lease holds until s + TTL in true time, and margin covers writes in
 *     flight when the kernel stops passing them;
 *   - no kernel grant before the wait (earliest > E) and the preempt;
 *   - the tokens granted only rise.
 */
#ifndef GNOMON_FENCED_CORE_H
#define GNOMON_FENCED_CORE_H

#include <stdbool.h>
#include <stdint.h>

#define FENCED_PENDING_MAX	8	/* unanswered keepalives */
#define FENCED_ACTIONS_MAX	2	/* actions one step can return */

struct fenced_tt {
	int64_t earliest;	/* CLOCK_REALTIME ns */
	int64_t latest;		/* INT64_MAX: no bound */
};

static inline bool fenced_tt__bounded(struct fenced_tt now)
{
	return now.latest != INT64_MAX;
}

enum fenced_ev_type {
	FENCED_EV_KA_SENT,
	FENCED_EV_KA_ANSWERED,
	FENCED_EV_LOCKED,
	FENCED_EV_PREEMPTED,
	FENCED_EV_LOST,
	FENCED_EV_TIMER,
};

struct fenced_event {
	enum fenced_ev_type type;
	int64_t ttl_ns;		/* KA_ANSWERED */
	uint64_t token;		/* LOCKED */
	uint64_t prev_token;	/* LOCKED, 0: none */
	int64_t prev_end;	/* LOCKED: E */
	bool ok;		/* PREEMPTED */
};

enum fenced_act_type {
	FENCED_ACT_WAIT_UNTIL,
	FENCED_ACT_PR_TAKEOVER,
	FENCED_ACT_GRANT,
	FENCED_ACT_RENEW,
	FENCED_ACT_RELEASE,
	FENCED_ACT_GIVE_UP,
};

struct fenced_action {
	enum fenced_act_type type;
	uint64_t token;
	uint64_t prev_token;
	int64_t at;		/* WAIT_UNTIL instant or kernel lease end */
};

enum fenced_state {
	FENCED_IDLE,		/* no lock */
	FENCED_WAITING,		/* locked, waiting for earliest > E */
	FENCED_PREEMPTING,	/* PR takeover under way */
	FENCED_HOLDING,		/* may hold the kernel lease */
};

struct fenced_core {
	int64_t margin_ns;
	enum fenced_state state;
	int64_t pending[FENCED_PENDING_MAX];	/* send instants, oldest first */
	int npending;
	bool answered;		/* some keepalive of this session answered */
	int64_t bound;		/* max answered s + ttl */
	uint64_t token;		/* the lock's token, while locked */
	uint64_t prev_token;
	int64_t prev_end;
	bool waited;		/* saw earliest > prev_end for token */
	bool preempted;		/* PR takeover done for token */
	bool granted;		/* kernel lease is ours */
	int64_t kernel_end;
	uint64_t granted_token;	/* highest token ever granted */
	uint64_t stale_refused;	/* LOCKED with a token not above it */
};

void fenced_core__init(struct fenced_core *c, int64_t margin_ns);
/*
 * Feed one event with a TT.now() reading; fills out[] and returns how many
 * actions, or -EINVAL for an event out of place (e.g. an answer with nothing
 * pending), -ENOBUFS when too many keepalives are unanswered or -EAGAIN for
 * KA_SENT with a reading without a bound.
 */
int fenced_core__step(struct fenced_core *c, const struct fenced_event *ev,
		      struct fenced_tt now,
		      struct fenced_action out[FENCED_ACTIONS_MAX]);

#endif
