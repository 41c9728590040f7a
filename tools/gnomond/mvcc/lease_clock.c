// SPDX-License-Identifier: GPL-2.0
/*
 * The leader's clock judgement of etcd leases (see lease_clock.h and
 * Documentation/lease-safety.rst, K1-K3).
 *
 * Why each rule has the shape it has:
 *   - a renewal is recorded at TT.now().latest of a reading taken after
 *     the keepalive arrived, so renew is never before the arrival, in true
 *     time, whatever the clock's error within its bound;
 *   - expiry is judged on TT.now().earliest, so the true time of the
 *     decision is past renew + TTL, hence past the client's s + TTL;
 *   - a new leader cannot know what the old one renewed, only that it
 *     answered before this member was elected, so every lease counts as
 *     renewed at the new leader's first reading after its election;
 *   - a reading without a bound decides nothing.
 * The faults (LEASE_FAULT_*) break one rule each, so that the simulation
 * can show that its checker notices.
 */
#include "lease_clock.h"

enum lease_turn lease_judge__turn(struct lease_judge *j, bool leader,
				  uint64_t term, const struct gnomon_tt *now,
				  uint64_t *judge_ns)
{
	if (!leader) {
		j->term = 0;
		return LEASE_TURN_IDLE;
	}
	if (j->term != term) {
		j->term = term;
		if (!(j->faults & LEASE_FAULT_NO_RESET))
			return LEASE_TURN_RESET;
	}
	if (now->bound_ns == GNOMON_BOUND_INFINITE)
		return LEASE_TURN_IDLE;
	*judge_ns = j->faults & LEASE_FAULT_JUDGE_LATEST ? now->latest_ns :
		    now->earliest_ns;
	return LEASE_TURN_SCAN;
}

bool lease_clock__renew(struct lease_clock *c, uint64_t latest_ns)
{
	if (c->expire_tick)
		return false;
	if (latest_ns == UINT64_MAX)
		c->renew_ns = 0;	/* at the next reading with a bound */
	else if (latest_ns > c->renew_ns)
		c->renew_ns = latest_ns;
	return true;
}

void lease_clock__reset(struct lease_clock *c, uint64_t latest_ns)
{
	c->renew_ns = latest_ns == UINT64_MAX ? 0 : latest_ns;
	c->expire_tick = 0;
}

bool lease_clock__due(struct lease_clock *c, uint64_t ttl_ns,
		      uint64_t judge_ns, uint64_t latest_ns, uint64_t tick,
		      uint64_t retry_ticks)
{
	if (!c->renew_ns)
		c->renew_ns = latest_ns;
	if (c->expire_tick && tick < c->expire_tick + retry_ticks)
		return false;
	if (judge_ns <= c->renew_ns || judge_ns - c->renew_ns <= ttl_ns)
		return false;
	c->expire_tick = tick ? tick : 1;
	return true;
}

uint64_t lease_clock__end(const struct lease_clock *c, uint64_t ttl_ns,
			  uint64_t latest_ns)
{
	uint64_t renew = c->renew_ns ? c->renew_ns : latest_ns;
	uint64_t end = renew + ttl_ns;

	return end < renew || end > INT64_MAX ? INT64_MAX : end;
}
