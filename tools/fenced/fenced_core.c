// SPDX-License-Identifier: GPL-2.0
/*
 * fenced_core: gnomon-fenced's state machine.  See fenced_core.h for the
 * events, the actions and the invariants; the safety argument is in
 * Documentation/fencing.rst, "The agent".
 */
#include "fenced_core.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void fenced_core__init(struct fenced_core *c, int64_t margin_ns)
{
	assert(margin_ns >= 0);
	memset(c, 0, sizeof(*c));
	c->margin_ns = margin_ns;
	c->state = FENCED_IDLE;
}

static void push(struct fenced_action *out, int *n, enum fenced_act_type type,
		 uint64_t token, uint64_t prev_token, int64_t at)
{
	assert(*n < FENCED_ACTIONS_MAX);
	out[*n] = (struct fenced_action){ .type = type, .token = token,
					  .prev_token = prev_token, .at = at };
	(*n)++;
}

/* Lock or session gone: release at once, forget the session. */
static void lose(struct fenced_core *c, struct fenced_action *out, int *n)
{
	if (c->granted)
		push(out, n, FENCED_ACT_RELEASE, c->token, 0, 0);
	c->granted = false;
	c->state = FENCED_IDLE;
	c->npending = 0;
	c->answered = false;
	c->bound = 0;
	c->waited = false;
	c->preempted = false;
}

/* Lose, and tell the shell to drop the lock and the session. */
static void give_up(struct fenced_core *c, uint64_t token,
		    struct fenced_action *out, int *n)
{
	lose(c, out, n);
	push(out, n, FENCED_ACT_GIVE_UP, token, 0, 0);
}

static void check_wait(struct fenced_core *c, struct fenced_tt now,
		       struct fenced_action *out, int *n)
{
	if (now.earliest <= c->prev_end) {
		push(out, n, FENCED_ACT_WAIT_UNTIL, c->token, 0, c->prev_end);
		return;
	}
	c->waited = true;
	c->state = FENCED_PREEMPTING;
	push(out, n, FENCED_ACT_PR_TAKEOVER, c->token, c->prev_token, 0);
}

/* In HOLDING: grant or extend the kernel lease to what the answers allow. */
static void extend(struct fenced_core *c, struct fenced_tt now,
		   struct fenced_action *out, int *n)
{
	int64_t end;

	if (!c->answered)
		return;
	end = c->bound - c->margin_ns;
	if (!c->granted) {
		if (end <= now.latest)
			return;	/* nothing to grant yet: wait for an answer */
		c->granted = true;
		c->granted_token = c->token;
		c->kernel_end = end;
		push(out, n, FENCED_ACT_GRANT, c->token, 0, end);
	} else if (end > c->kernel_end) {
		c->kernel_end = end;
		push(out, n, FENCED_ACT_RENEW, c->token, 0, end);
	}
}

static void assert_invariants(const struct fenced_core *c)
{
	assert(c->npending >= 0 && c->npending <= FENCED_PENDING_MAX);
	if (!c->granted)
		return;
	assert(c->state == FENCED_HOLDING);
	assert(c->answered);
	assert(c->kernel_end <= c->bound - c->margin_ns);
	assert(c->waited && c->preempted);
	assert(c->granted_token == c->token);
}

static int on_answer(struct fenced_core *c, const struct fenced_event *ev,
		     struct fenced_tt now, struct fenced_action *out, int *n)
{
	int64_t s;

	if (!c->npending)
		return -EINVAL;
	s = c->pending[0];
	memmove(c->pending, c->pending + 1,
		(size_t)(c->npending - 1) * sizeof(c->pending[0]));
	c->npending--;
	if (ev->ttl_ns <= 0 || !fenced_tt__bounded(now)) {
		give_up(c, c->token, out, n);
		return 0;
	}
	if (!c->answered || s + ev->ttl_ns > c->bound)
		c->bound = s + ev->ttl_ns;
	c->answered = true;
	if (c->state == FENCED_HOLDING)
		extend(c, now, out, n);
	return 0;
}

static int on_locked(struct fenced_core *c, const struct fenced_event *ev,
		     struct fenced_tt now, struct fenced_action *out, int *n)
{
	if (c->state != FENCED_IDLE)
		return -EINVAL;
	if (ev->token <= c->granted_token) {
		c->stale_refused++;
		push(out, n, FENCED_ACT_GIVE_UP, ev->token, 0, 0);
		return 0;
	}
	if (!fenced_tt__bounded(now)) {
		give_up(c, ev->token, out, n);
		return 0;
	}
	c->token = ev->token;
	c->prev_token = ev->prev_token;
	c->prev_end = ev->prev_end;
	c->waited = false;
	c->preempted = false;
	c->state = FENCED_WAITING;
	check_wait(c, now, out, n);
	return 0;
}

static void on_timer(struct fenced_core *c, struct fenced_tt now,
		     struct fenced_action *out, int *n)
{
	if (!fenced_tt__bounded(now)) {
		if (c->state != FENCED_IDLE || c->npending || c->answered)
			give_up(c, c->token, out, n);
	} else if (c->state == FENCED_WAITING) {
		check_wait(c, now, out, n);
	} else if (c->state == FENCED_HOLDING && c->answered &&
		   now.earliest >= c->bound) {
		/* gnomond may have expired the session: it is lost. */
		give_up(c, c->token, out, n);
	}
}

static int dispatch(struct fenced_core *c, const struct fenced_event *ev,
		    struct fenced_tt now, struct fenced_action *out, int *n)
{
	switch (ev->type) {
	case FENCED_EV_KA_SENT:
		if (!fenced_tt__bounded(now))
			return -EAGAIN;
		if (c->npending == FENCED_PENDING_MAX)
			return -ENOBUFS;
		c->pending[c->npending++] = now.earliest;
		return 0;
	case FENCED_EV_KA_ANSWERED:
		return on_answer(c, ev, now, out, n);
	case FENCED_EV_LOCKED:
		return on_locked(c, ev, now, out, n);
	case FENCED_EV_PREEMPTED:
		if (c->state != FENCED_PREEMPTING)
			return -EINVAL;
		if (!ev->ok || !fenced_tt__bounded(now)) {
			give_up(c, c->token, out, n);
			return 0;
		}
		c->preempted = true;
		c->state = FENCED_HOLDING;
		extend(c, now, out, n);
		return 0;
	case FENCED_EV_LOST:
		lose(c, out, n);
		return 0;
	case FENCED_EV_TIMER:
		on_timer(c, now, out, n);
		return 0;
	}
	return -EINVAL;
}

int fenced_core__step(struct fenced_core *c, const struct fenced_event *ev,
		      struct fenced_tt now,
		      struct fenced_action out[FENCED_ACTIONS_MAX])
{
	int n = 0;
	int ret;

	assert(now.earliest <= now.latest);
	ret = dispatch(c, ev, now, out, &n);
	assert_invariants(c);
	return ret < 0 ? ret : n;
}
