// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of gnomon-fenced's core (tools/fenced/fenced_core.c): fixed event
 * sequences, then a randomized simulation of three agents, a gnomond lock
 * service, their kernels' leases and a shared disk, over random event
 * orders, network delays, revocations, agent pauses and clock errors within
 * the bound.  The simulation checks the core's invariants from outside (it
 * knows the true pairing of keepalives and answers) and the property that
 * matters: no write with token T lands on the disk after one with a higher
 * token.  Two negative controls show the checker can fail: with no I/O margin
 * and no PR it must find stale writes.  Fixed sequences also drive a holder
 * whose clock loses its bound: it must release and give up, and campaign
 * again once the bound is back.
 */
#include "../ktap.h"
#include "../../tools/fenced/fenced_core.h"

#include <errno.h>

#define MS	1000000LL
#define TTL	(1000 * MS)

static struct fenced_tt tt(int64_t t, int64_t lo, int64_t hi)
{
	return (struct fenced_tt){ .earliest = t - lo, .latest = t + hi };
}

static int step(struct fenced_core *c, struct fenced_event ev,
		struct fenced_tt now, struct fenced_action *out)
{
	return fenced_core__step(c, &ev, now, out);
}

KTAP_TEST(fenced_takeover_in_order)
{
	struct fenced_core c;
	struct fenced_action a[FENCED_ACTIONS_MAX];
	int n;

	fenced_core__init(&c, 50 * MS);
	KTAP_EXPECT(t, step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT },
			    tt(1000 * MS, 5 * MS, 5 * MS), a) == 0, "sent");
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 7,
					   .prev_token = 3, .prev_end = 1500 * MS },
		 tt(1010 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_WAIT_UNTIL &&
		    a[0].at == 1500 * MS, "n=%d: waits for E", n);
	/* earliest == E is not past E */
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER },
		 tt(1505 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_WAIT_UNTIL, "n=%d", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER },
		 tt(1506 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_PR_TAKEOVER &&
		    a[0].token == 7 && a[0].prev_token == 3, "n=%d", n);
	/* preempt done but no answer yet: no grant */
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_PREEMPTED, .ok = true },
		 tt(1510 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 0, "n=%d: nothing to grant before an answer", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
		 tt(1520 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GRANT && a[0].token == 7 &&
		    a[0].at == 995 * MS + TTL - 50 * MS, "n=%d at=%lld", n,
		    (long long)a[0].at);
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT },
	     tt(1600 * MS, 5 * MS, 5 * MS), a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
		 tt(1620 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_RENEW &&
		    a[0].at == 1595 * MS + TTL - 50 * MS, "n=%d", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOST },
		 tt(1700 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_RELEASE, "n=%d: release", n);
	/* an older token later is refused */
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 6 },
		 tt(1800 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GIVE_UP &&
		    c.stale_refused == 1, "n=%d", n);
}

KTAP_TEST(fenced_bad_events)
{
	struct fenced_core c;
	struct fenced_action a[FENCED_ACTIONS_MAX];
	int i;

	fenced_core__init(&c, 0);
	KTAP_EXPECT(t, step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED,
						       .ttl_ns = TTL }, tt(0, 0, 0), a) == -EINVAL,
		    "answer with nothing pending");
	KTAP_EXPECT(t, step(&c, (struct fenced_event){ .type = FENCED_EV_PREEMPTED,
						       .ok = true }, tt(0, 0, 0), a) == -EINVAL,
		    "preempted while idle");
	for (i = 0; i < FENCED_PENDING_MAX; i++)
		step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, tt(i, 0, 0), a);
	KTAP_EXPECT(t, step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT },
			    tt(9, 0, 0), a) == -ENOBUFS, "too many unanswered");
	/* an answer of ttl 0: the lease is gone */
	KTAP_EXPECT(t, step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED },
			    tt(10, 0, 0), a) == 1 && a[0].type == FENCED_ACT_GIVE_UP,
		    "ttl 0 gives up");
}

/* A reading with no bound: the clock unsynchronized or disrupted. */
static const struct fenced_tt no_bound = { .earliest = 0, .latest = INT64_MAX };

/* A new session at AT that locks with TOKEN (no previous holder) and takes
 * the kernel lease: whether every step went as it should. */
static bool hold(struct fenced_core *c, uint64_t token, int64_t at)
{
	struct fenced_action a[FENCED_ACTIONS_MAX];
	struct fenced_tt now = tt(at, 5 * MS, 5 * MS);

	step(c, (struct fenced_event){ .type = FENCED_EV_LOST }, now, a);
	if (step(c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, now, a) ||
	    step(c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED,
					  .ttl_ns = TTL }, now, a) ||
	    step(c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = token },
		 now, a) != 1 || a[0].type != FENCED_ACT_PR_TAKEOVER)
		return false;
	return step(c, (struct fenced_event){ .type = FENCED_EV_PREEMPTED, .ok = true },
		    now, a) == 1 && a[0].type == FENCED_ACT_GRANT &&
	       a[0].token == token && c->granted;
}

/* RELEASE of TOKEN, then GIVE_UP: the kernel lease goes first. */
static bool released_and_gave_up(int n, const struct fenced_action *a,
				 uint64_t token)
{
	return n == 2 && a[0].type == FENCED_ACT_RELEASE && a[0].token == token &&
	       a[1].type == FENCED_ACT_GIVE_UP;
}

/*
 * While the clock has no bound the holder releases the kernel lease and
 * gives the lock up at its next tick, sends nothing (no keepalive, no new
 * session) and, once the clock has a bound again, campaigns again and
 * takes over with a higher token after the wait for E.
 */
KTAP_TEST(fenced_no_bound_gives_up)
{
	struct fenced_core c;
	struct fenced_action a[FENCED_ACTIONS_MAX];
	int64_t end;
	int n;

	fenced_core__init(&c, 50 * MS);
	KTAP_ASSERT(t, hold(&c, 7, 1000 * MS), "holding token 7");
	end = c.kernel_end;
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER }, no_bound, a);
	KTAP_EXPECT(t, released_and_gave_up(n, a, 7), "n=%d: tick without a bound", n);
	KTAP_EXPECT(t, c.state == FENCED_IDLE && !c.granted, "state %d", c.state);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, no_bound, a);
	KTAP_EXPECT(t, n == -EAGAIN, "n=%d: a keepalive or a new session without a bound", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER }, no_bound, a);
	KTAP_EXPECT(t, n == 0, "n=%d: nothing left to give up", n);
	/* The bound is back: a new session, the lock with token 9, whose
	 * previous holder (this host) may have held until end. */
	step(&c, (struct fenced_event){ .type = FENCED_EV_LOST },
	     tt(1200 * MS, 5 * MS, 5 * MS), a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT },
		 tt(1200 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 0, "n=%d: a session starts again", n);
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
	     tt(1210 * MS, 5 * MS, 5 * MS), a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 9,
					   .prev_token = 7, .prev_end = end },
		 tt(1300 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_WAIT_UNTIL && a[0].at == end,
		    "n=%d: waits for E", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER },
		 tt(end + 6 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_PR_TAKEOVER && a[0].token == 9,
		    "n=%d", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_PREEMPTED, .ok = true },
		 tt(end + 10 * MS, 5 * MS, 5 * MS), a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GRANT && a[0].token == 9,
		    "n=%d: holds again with token 9", n);
}

/* Every other event read without a bound gives up too, and never renews,
 * grants or waits. */
KTAP_TEST(fenced_no_bound_every_event)
{
	struct fenced_core c;
	struct fenced_action a[FENCED_ACTIONS_MAX];
	struct fenced_tt now = tt(3000 * MS, 5 * MS, 5 * MS);
	int n;

	fenced_core__init(&c, 50 * MS);
	KTAP_ASSERT(t, hold(&c, 7, 1000 * MS), "holding token 7");
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT },
	     tt(1100 * MS, 5 * MS, 5 * MS), a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
		 no_bound, a);
	KTAP_EXPECT(t, released_and_gave_up(n, a, 7), "n=%d: answered, no renew", n);

	/* Waiting for E. */
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, now, a);
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
	     now, a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 8,
					   .prev_end = 4000 * MS }, now, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_WAIT_UNTIL, "n=%d", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER }, no_bound, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GIVE_UP && c.state == FENCED_IDLE,
		    "n=%d: gives up the wait", n);

	/* The lock granted while the clock has no bound. */
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, now, a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 9 },
		 no_bound, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GIVE_UP && a[0].token == 9 &&
		    c.state == FENCED_IDLE, "n=%d: locked", n);

	/* The PR takeover done while the clock has no bound: no grant. */
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, now, a);
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
	     now, a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_LOCKED, .token = 10 }, now, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_PR_TAKEOVER, "n=%d", n);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_PREEMPTED, .ok = true },
		 no_bound, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GIVE_UP && !c.granted,
		    "n=%d: preempted", n);

	/* A session queueing for the lock. */
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_SENT }, now, a);
	step(&c, (struct fenced_event){ .type = FENCED_EV_KA_ANSWERED, .ttl_ns = TTL },
	     now, a);
	n = step(&c, (struct fenced_event){ .type = FENCED_EV_TIMER }, no_bound, a);
	KTAP_EXPECT(t, n == 1 && a[0].type == FENCED_ACT_GIVE_UP, "n=%d: queueing", n);
}

#include "fenced_sim.h"

KTAP_TEST(fenced_sim_random)
{
	struct sim_result r = { 0 };
	uint64_t seed;

	for (seed = 1; seed <= 60; seed++)
		sim_run(seed, &(struct sim_conf){ .margin = 30 * MS, .pr = false,
						  .io_max = 25 * MS }, &r);
	for (seed = 61; seed <= 120; seed++)
		sim_run(seed, &(struct sim_conf){ .margin = 0, .pr = true,
						  .io_max = 25 * MS }, &r);
	ktap_diag("%llu writes landed, %llu refused, %llu takeovers, %llu revokes",
		  (unsigned long long)r.landed, (unsigned long long)r.refused,
		  (unsigned long long)r.takeovers, (unsigned long long)r.revokes);
	KTAP_EXPECT(t, r.takeovers > 100 && r.landed > 1000, "the simulation did work");
	KTAP_EXPECT(t, r.stale == 0, "%llu stale writes landed (first: %s)",
		    (unsigned long long)r.stale, r.first);
	KTAP_EXPECT(t, r.invariant == 0, "%llu invariant breaches (first: %s)",
		    (unsigned long long)r.invariant, r.first);
}

/* Negative control: with no I/O margin and no PR, writes in flight at the
 * lapse land after the next holder's first write and the checker says so. */
KTAP_TEST(fenced_sim_checker_catches_no_margin)
{
	struct sim_result r = { 0 };
	uint64_t seed;

	for (seed = 1; seed <= 60; seed++)
		sim_run(seed, &(struct sim_conf){ .margin = 0, .pr = false,
						  .io_max = 100 * MS }, &r);
	ktap_diag("%llu stale writes (first: %s)", (unsigned long long)r.stale, r.first);
	KTAP_EXPECT(t, r.stale > 0, "the checker found no stale write without the margin");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
