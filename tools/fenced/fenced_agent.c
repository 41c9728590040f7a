// SPDX-License-Identifier: GPL-2.0
/*
 * fenced_agent: the gnomond session and the core's actions (see
 * fenced_agent.h; the safety argument is in Documentation/fencing.rst,
 * "The agent").
 *
 * A session: LeaseGrant (a keepalive for the core: its send instant counts),
 * then Lock(name, lease), which gnomond answers once the lock is ours, and
 * a LeaseKeepAlive stream fed every TTL/3.  Every keepalive is reported to
 * the core as KA_SENT *before* it is handed to nghttp2, with TT.now()'s
 * earliest, so the instant the core pairs with an answer is never later
 * than the real send.
 *
 * The token and E.  gnomond's LockResponse carries, as fields 1000-1002
 * (gnomon_token, gnomon_prev_end_ns, gnomon_prev_token; 0 = none), the
 * key's create revision, E and P.  A server without them (etcd, or gnomond
 * before they were added) is handled by a fallback: the token is the key's
 * create_revision read by a Range, and E = TT.now().latest when the Lock
 * answer arrived + the TTL.  That is safe when every agent of the lock uses
 * the same ttl and ends by revoking its lease: the previous holder's key
 * was deleted (its lease ended) before our Lock was answered, so its last
 * renewal was before that instant and its gnomond lease, and its kernel
 * lease below it, end at most one TTL later.  P unknown: the PR takeover
 * needs it only on a device that cannot answer READ KEYS; otherwise it
 * preempts every registered key but its own.
 *
 * Failover: a lost connection (or no keepalive answered for 2 TTLs) moves
 * to the next endpoint; the session (lease id, lock key) is kept and the
 * keepalive stream and the Lock call are reopened there (Lock is idempotent
 * for the same lease: the same key, the same token).  Keepalives lost with
 * the old connection stay pending in the core, which only makes its bound
 * earlier; if the bound passes, the core releases the kernel lease and
 * gives the session up.
 */
#include "fenced_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "gnomon.h"
#include "../common/klease.h"
#include "../gnomonctl/pr.h"
#include "etcdserverpb/lease.pb-c.h"
#include "etcdserverpb/rpc.pb-c.h"
#include "v3lockpb/v3lock.pb-c.h"

#define NS_PER_S	1000000000LL
#define RETRY_NS	100000000LL	/* before a reconnect or a new session */

static const char *const state_names[] = {
	[FENCED_IDLE] = "idle", [FENCED_WAITING] = "waiting",
	[FENCED_PREEMPTING] = "preempting", [FENCED_HOLDING] = "holding",
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("gnomon-fenced: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/*
 * TT.now(); with no bound, an interval nothing can be waited out against,
 * on which the core gives the session up and starts none (fenced_core.h,
 * "A clock with no bound").  Each change of that is logged.
 */
static struct fenced_tt tt_now(struct fenced_agent *a)
{
	struct fenced_tt r = { .earliest = 0, .latest = INT64_MAX };
	struct gnomon_tt t;

	if (!gnomon_client__now(a->clock, &t) &&
	    t.bound_ns != GNOMON_BOUND_INFINITE && t.latest_ns <= INT64_MAX) {
		r.earliest = (int64_t)t.earliest_ns;
		r.latest = (int64_t)t.latest_ns;
	}
	if (fenced_tt__bounded(r) == a->clock_void) {
		a->clock_void = !fenced_tt__bounded(r);
		logf_("%s", a->clock_void ?
		      "the clock has no bound (unsynchronized or disrupted): no session" :
		      "the clock has a bound again");
	}
	return r;
}

/* The one-shot wake-up: the sooner of a WAIT_UNTIL and a retry. */
static void arm(struct fenced_agent *a, int64_t at_mono)
{
	struct itimerspec its = { 0 };
	struct itimerspec cur;

	if (!timerfd_gettime(a->wait_fd, &cur) &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec)) {
		int64_t left = cur.it_value.tv_sec * NS_PER_S +
			       cur.it_value.tv_nsec;

		if (mono_ns() + left <= at_mono)
			return;
	}
	if (at_mono <= 0)
		at_mono = 1;
	its.it_value.tv_sec = at_mono / NS_PER_S;
	its.it_value.tv_nsec = at_mono % NS_PER_S;
	timerfd_settime(a->wait_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void write_status(const struct fenced_agent *a)
{
	char line[512], tmp[FENCED_STR_MAX + 8];
	FILE *f;

	if (!a->conf->status_file[0])
		return;
	fenced_agent__status(a, line, sizeof(line));
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->conf->status_file);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", line);
	if (fclose(f) || rename(tmp, a->conf->status_file))
		unlink(tmp);
}

/* One log line per change of state or of the kernel lease. */
static void show(struct fenced_agent *a)
{
	const struct fenced_core *c = &a->core;

	if (c->state == a->shown && c->granted == a->shown_granted)
		return;
	if (c->granted && !a->shown_granted)
		a->takeovers++;
	logf_("%s -> %s, token %" PRIu64 ", kernel lease %s",
	      state_names[a->shown], state_names[c->state], c->token,
	      c->granted ? "granted" : "not held");
	a->shown = c->state;
	a->shown_granted = c->granted;
	write_status(a);
}

static void schedule_retry(struct fenced_agent *a)
{
	a->reconnect_at = mono_ns() + RETRY_NS;
	arm(a, a->reconnect_at);
}

static void feed(struct fenced_agent *a, const struct fenced_event *ev);

/* "K1 K2" or "none": the keys a takeover preempted, for the log. */
static void pr_keys_str(const struct pr_keys *keys, char *out, size_t len)
{
	size_t max = sizeof(keys->keys) / sizeof(keys->keys[0]);
	size_t i, n = keys->nr < max ? keys->nr : max, at = 0;

	snprintf(out, len, "none");
	for (i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(out + at, len - at, "%s%" PRIu64,
				       i ? " " : "", keys->keys[i]);
}

/*
 * The storage side of taking over: pr__takeover() preempts every key but
 * TOKEN (READ KEYS through the gnomon-fence device's underlying disk,
 * pr.c), so a key this host registered before, or a third initiator's
 * stale key, is handled as the previous holder's is.  PREV only matters
 * on a device that cannot be read.
 */
static bool pr_takeover(struct fenced_agent *a, uint64_t token, uint64_t prev)
{
	struct pr_keys preempted;
	struct pr_dev dev;
	char list[160];
	int err;

	if (!a->conf->pr)
		return true;
	err = pr__open(a->conf->device, &dev);
	if (err) {
		logf_("PR: opening %s: %s", a->conf->device, strerror(-err));
		return false;
	}
	err = pr__takeover(&dev, token, prev, a->conf->pr_abort, &preempted);
	pr__close(&dev);
	if (err) {
		logf_("PR takeover of %s with key %" PRIu64 " (previous %" PRIu64 "): %s",
		      a->conf->device, token, prev, strerror(-err));
		return false;
	}
	pr_keys_str(&preempted, list, sizeof(list));
	logf_("PR: %s reserved with key %" PRIu64 ", preempted %s%s (previous %" PRIu64 ")",
	      a->conf->device, token, list,
	      a->conf->pr_abort ? " and aborted" : " (no abort)", prev);
	return true;
}

static void kernel(struct fenced_agent *a, unsigned long cmd, uint64_t token,
		   int64_t end)
{
	const char *what = cmd == GNOMON_IOC_LEASE_GRANT ? "grant" :
			   cmd == GNOMON_IOC_LEASE_RENEW ? "renew" : "release";
	int err = klease__change(a->kfd, cmd, a->conf->resource,
				 a->conf->holder, token,
				 end > 0 ? (uint64_t)end : 0, 0);

	if (err)
		logf_("kernel lease %s of '%s' with token %" PRIu64 ": %s", what,
		      a->conf->resource, token, strerror(-err));
}

/* Drop the lock and the session: revoke the lease, start over later. */
static void session_drop(struct fenced_agent *a, const char *why)
{
	if (a->lease_id && a->g.fd >= 0) {
		Etcdserverpb__LeaseRevokeRequest r =
			ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;

		r.id = a->lease_id;
		fgrpc__cancel(&a->g, FT_REVOKE);
		fgrpc__call(&a->g, FT_REVOKE, "/etcdserverpb.Lease/LeaseRevoke",
			    &r.base, false);
	}
	if (a->lease_id)
		logf_("session %" PRIx64 " given up: %s", (uint64_t)a->lease_id,
		      why);
	fgrpc__cancel(&a->g, FT_GRANT);
	fgrpc__cancel(&a->g, FT_KEEPALIVE);
	fgrpc__cancel(&a->g, FT_LOCK);
	fgrpc__cancel(&a->g, FT_RANGE);
	a->lease_id = 0;
	a->locked = false;
	a->klen = 0;
	a->losses++;
	if (!a->stopping)
		schedule_retry(a);
}

static void act(struct fenced_agent *a, const struct fenced_action *x,
		struct fenced_tt now)
{
	struct fenced_event ev = { .type = FENCED_EV_PREEMPTED };

	switch (x->type) {
	case FENCED_ACT_WAIT_UNTIL:
		/* Wake when earliest passes at; the core checks again. */
		arm(a, mono_ns() + (x->at - now.earliest) + 1000000);
		break;
	case FENCED_ACT_PR_TAKEOVER:
		ev.ok = pr_takeover(a, x->token, x->prev_token);
		feed(a, &ev);
		break;
	case FENCED_ACT_GRANT:
		kernel(a, GNOMON_IOC_LEASE_GRANT, x->token, x->at);
		break;
	case FENCED_ACT_RENEW:
		kernel(a, GNOMON_IOC_LEASE_RENEW, x->token, x->at);
		break;
	case FENCED_ACT_RELEASE:
		kernel(a, GNOMON_IOC_LEASE_RELEASE, x->token, 0);
		break;
	case FENCED_ACT_GIVE_UP:
		session_drop(a, fenced_tt__bounded(now) ? "lock or session lost" :
			     "the clock has no bound");
		break;
	}
}

static void feed(struct fenced_agent *a, const struct fenced_event *ev)
{
	struct fenced_action out[FENCED_ACTIONS_MAX];
	struct fenced_tt now = tt_now(a);
	int n = fenced_core__step(&a->core, ev, now, out);

	for (int i = 0; i < n; i++)
		act(a, &out[i], now);
	show(a);
}

static bool ka_sent(struct fenced_agent *a)
{
	struct fenced_action out[FENCED_ACTIONS_MAX];
	struct fenced_event ev = { .type = FENCED_EV_KA_SENT };

	/* KA_SENT returns no actions; -ENOBUFS: too many unanswered,
	 * -EAGAIN: the clock has no bound. */
	return fenced_core__step(&a->core, &ev, tt_now(a), out) == 0;
}

static void send_keepalive(struct fenced_agent *a)
{
	Etcdserverpb__LeaseKeepAliveRequest r =
		ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;

	if (!a->lease_id || a->g.fd < 0 || !ka_sent(a))
		return;
	r.id = a->lease_id;
	if (fgrpc__busy(&a->g, FT_KEEPALIVE))
		fgrpc__send(&a->g, FT_KEEPALIVE, &r.base);
	else
		fgrpc__call(&a->g, FT_KEEPALIVE,
			    "/etcdserverpb.Lease/LeaseKeepAlive", &r.base, true);
}

static void send_lock(struct fenced_agent *a)
{
	V3lockpb__LockRequest r = V3LOCKPB__LOCK_REQUEST__INIT;

	r.name.data = (uint8_t *)a->conf->lock;
	r.name.len = strlen(a->conf->lock);
	r.lease = a->lease_id;
	fgrpc__call(&a->g, FT_LOCK, "/v3lockpb.Lock/Lock", &r.base, false);
}

static void send_range(struct fenced_agent *a)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;

	r.key.data = a->key;
	r.key.len = a->klen;
	fgrpc__call(&a->g, FT_RANGE, "/etcdserverpb.KV/Range", &r.base, false);
}

static void session_start(struct fenced_agent *a)
{
	Etcdserverpb__LeaseGrantRequest r =
		ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	struct fenced_event lost = { .type = FENCED_EV_LOST };

	feed(a, &lost);		/* a new session: forget the old one */
	if (!ka_sent(a)) {	/* the clock has no bound: not yet */
		schedule_retry(a);
		return;
	}
	r.ttl = (int64_t)(a->conf->ttl_ns / NS_PER_S);
	a->session_at = mono_ns();
	a->last_rx = a->session_at;
	fgrpc__call(&a->g, FT_GRANT, "/etcdserverpb.Lease/LeaseGrant", &r.base,
		    false);
}

static void connect_next(struct fenced_agent *a)
{
	const char *ep = a->conf->endpoints[a->ep];
	int err;

	a->reconnect_at = 0;
	err = fgrpc__connect(&a->g, ep);
	if (err) {
		logf_("connecting to %s: %s", ep, strerror(-err));
		a->ep = (a->ep + 1) % a->conf->nendpoints;
		schedule_retry(a);
		return;
	}
	a->last_rx = mono_ns();
	write_status(a);
	if (!a->lease_id) {
		session_start(a);
		return;
	}
	/* Resume the session on this member. */
	send_keepalive(a);
	if (!a->locked)
		send_lock(a);
	else if (a->core.state == FENCED_IDLE)
		send_range(a);
}

static void conn_lost(struct fenced_agent *a, int err)
{
	logf_("connection to %s lost: %s", a->conf->endpoints[a->ep],
	      strerror(-err));
	fgrpc__close(&a->g);
	a->ep = (a->ep + 1) % a->conf->nendpoints;
	a->reconnects++;
	write_status(a);
	schedule_retry(a);
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * A top-level varint field TAG of a message, 0 when absent.  gnomond's
 * LockResponse fields 1000-1002 are read from the wire bytes, not from the
 * generated struct, so the agent reads them whether or not the proto it
 * was built with declares them.
 */
static uint64_t wire_field(const uint8_t *msg, size_t len, uint32_t tag)
{
	const uint8_t *p = msg, *end = msg + len;
	uint64_t key, v, found = 0;

	while (p < end && varint(&p, end, &key)) {
		switch (key & 7) {
		case 0:
			if (!varint(&p, end, &v))
				return 0;
			if (key >> 3 == tag)
				found = v;
			break;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return 0;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				return 0;
			p += v;
			break;
		default:
			return 0;
		}
	}
	return found;
}

static void locked(struct fenced_agent *a, uint64_t token, int64_t prev_end,
		   uint64_t prev_token, const char *how)
{
	struct fenced_event ev = { .type = FENCED_EV_LOCKED, .token = token,
				   .prev_end = prev_end,
				   .prev_token = prev_token };
	struct timespec now;

	/* "at": CLOCK_REALTIME, for the takeover's phases (performance.rst). */
	clock_gettime(CLOCK_REALTIME, &now);
	logf_("lock '%s' granted: token %" PRIu64 ", waiting for earliest > %" PRId64 " (%s), previous token %" PRIu64 ", at %" PRId64,
	      a->conf->lock, token, prev_end, how, prev_token,
	      (int64_t)(now.tv_sec * NS_PER_S + now.tv_nsec));
	feed(a, &ev);
}

static void on_lock(struct fenced_agent *a, const uint8_t *msg, size_t len)
{
	V3lockpb__LockResponse *r = v3lockpb__lock_response__unpack(NULL, len,
								     msg);
	uint64_t token;

	if (!r || !r->key.len || r->key.len > sizeof(a->key)) {
		if (r)
			v3lockpb__lock_response__free_unpacked(r, NULL);
		session_drop(a, "bad Lock answer");
		return;
	}
	memcpy(a->key, r->key.data, r->key.len);
	a->klen = r->key.len;
	a->locked = true;
	a->lock_latest = tt_now(a).latest;
	token = wire_field(msg, len, 1000);
	if (token)
		locked(a, token, (int64_t)wire_field(msg, len, 1001),
		       wire_field(msg, len, 1002), "E from gnomond");
	else
		send_range(a);
	v3lockpb__lock_response__free_unpacked(r, NULL);
}

static void on_range(struct fenced_agent *a, const uint8_t *msg, size_t len)
{
	Etcdserverpb__RangeResponse *r;

	/* E is Lock answered + TTL: nothing to add to a reading with no bound. */
	if (a->lock_latest == INT64_MAX) {
		session_drop(a, "the clock had no bound when the lock was granted");
		return;
	}
	r = etcdserverpb__range_response__unpack(NULL, len, msg);
	if (!r || r->n_kvs != 1 || r->kvs[0]->create_revision <= 0) {
		if (r)
			etcdserverpb__range_response__free_unpacked(r, NULL);
		session_drop(a, "the lock key is gone");
		return;
	}
	locked(a, (uint64_t)r->kvs[0]->create_revision,
	       a->lock_latest + a->ttl_ns, 0,
	       "fallback: Lock answered + TTL");
	etcdserverpb__range_response__free_unpacked(r, NULL);
}

static void on_grant(struct fenced_agent *a, const uint8_t *msg, size_t len)
{
	Etcdserverpb__LeaseGrantResponse *r =
		etcdserverpb__lease_grant_response__unpack(NULL, len, msg);
	struct fenced_event ev = { .type = FENCED_EV_KA_ANSWERED };

	if (!r || !r->id || r->ttl <= 0 || (r->error && r->error[0])) {
		logf_("LeaseGrant refused: %s",
		      r && r->error ? r->error : "bad answer");
		if (r)
			etcdserverpb__lease_grant_response__free_unpacked(r, NULL);
		session_drop(a, "no lease");
		return;
	}
	a->lease_id = r->id;
	a->ttl_ns = r->ttl * NS_PER_S;
	a->last_rx = mono_ns();
	etcdserverpb__lease_grant_response__free_unpacked(r, NULL);
	logf_("session %" PRIx64 " (ttl %" PRId64 " s) on %s, asking for lock '%s'",
	      (uint64_t)a->lease_id, (int64_t)(a->ttl_ns / NS_PER_S),
	      a->conf->endpoints[a->ep], a->conf->lock);
	ev.ttl_ns = a->ttl_ns;
	feed(a, &ev);
	if (!a->lease_id)
		return;		/* given up: the clock has no bound */
	send_keepalive(a);
	send_lock(a);
}

static void on_keepalive(struct fenced_agent *a, const uint8_t *msg,
			 size_t len)
{
	Etcdserverpb__LeaseKeepAliveResponse *r =
		etcdserverpb__lease_keep_alive_response__unpack(NULL, len, msg);
	struct fenced_event ev = { .type = FENCED_EV_KA_ANSWERED };

	if (!r)
		return;
	ev.ttl_ns = r->ttl * NS_PER_S;
	etcdserverpb__lease_keep_alive_response__free_unpacked(r, NULL);
	if (!a->lease_id)
		return;
	a->last_rx = mono_ns();
	if (ev.ttl_ns <= 0)
		logf_("session %" PRIx64 " expired at gnomond",
		      (uint64_t)a->lease_id);
	feed(a, &ev);
}

static void on_msg(void *user, int tag, const uint8_t *msg, size_t len)
{
	struct fenced_agent *a = user;

	switch (tag) {
	case FT_GRANT:
		on_grant(a, msg, len);
		break;
	case FT_KEEPALIVE:
		on_keepalive(a, msg, len);
		break;
	case FT_LOCK:
		on_lock(a, msg, len);
		break;
	case FT_RANGE:
		on_range(a, msg, len);
		break;
	default:
		break;
	}
}

static void on_end(void *user, int tag, int status, const char *msg)
{
	struct fenced_agent *a = user;

	if (!status)
		return;
	logf_("call %d ended with grpc-status %d: %s", tag, status, msg);
	if (tag == FT_LOCK && !a->locked)
		session_drop(a, "Lock refused");
	else if (tag == FT_GRANT && !a->lease_id)
		schedule_retry(a);
}

int fenced_agent__init(struct fenced_agent *a, const struct fenced_conf *conf,
		       int wait_fd)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->conf = conf;
	a->wait_fd = wait_fd;
	fenced_core__init(&a->core, (int64_t)conf->margin_ns);
	fgrpc__init(&a->g, on_msg, on_end, a);
	err = gnomon_client__open(&a->clock, 0);
	if (err) {
		logf_("opening the clock: %s", strerror(-err));
		return err;
	}
	a->kfd = klease__open();
	if (a->kfd < 0) {
		logf_("kernel leases need gnomon.ko (%s: %s)", klease__device(),
		      strerror(-a->kfd));
		gnomon_client__close(a->clock);
		return -ENODEV;
	}
	write_status(a);
	connect_next(a);
	return 0;
}

void fenced_agent__exit(struct fenced_agent *a)
{
	fgrpc__close(&a->g);
	close(a->kfd);
	gnomon_client__close(a->clock);
}

int fenced_agent__fd(const struct fenced_agent *a, short *events)
{
	*events = fgrpc__events(&a->g);
	return a->g.fd;
}

void fenced_agent__io(struct fenced_agent *a, short revents)
{
	int err = fgrpc__io(&a->g, revents);

	if (err && a->g.fd >= 0)
		conn_lost(a, err);
}

void fenced_agent__tick(struct fenced_agent *a)
{
	struct fenced_event tick = { .type = FENCED_EV_TIMER };
	struct fenced_tt now;

	if (a->stopping)
		return;
	if (!fenced_tt__bounded(tt_now(a))) {
		feed(a, &tick);	/* the core gives the session up */
		return;
	}
	if (a->g.fd >= 0 && mono_ns() - a->last_rx >
	    2 * (int64_t)a->conf->ttl_ns) {
		conn_lost(a, -ETIMEDOUT);
		return;
	}
	send_keepalive(a);
	feed(a, &tick);
	now = tt_now(a);
	if (a->core.state == FENCED_IDLE && a->lease_id && a->core.answered &&
	    now.earliest >= a->core.bound)
		session_drop(a, "no keepalive answered for a TTL");
}

void fenced_agent__wake(struct fenced_agent *a)
{
	struct fenced_event tick = { .type = FENCED_EV_TIMER };
	int64_t now = mono_ns();

	if (a->stopping)
		return;
	if (a->core.state == FENCED_WAITING)
		feed(a, &tick);
	if (a->reconnect_at && now >= a->reconnect_at) {
		a->reconnect_at = 0;
		if (a->g.fd < 0)
			connect_next(a);
		else if (!a->lease_id && !fgrpc__busy(&a->g, FT_GRANT))
			session_start(a);
	} else if (a->reconnect_at) {
		arm(a, a->reconnect_at);
	}
}

bool fenced_agent__stop(struct fenced_agent *a)
{
	struct fenced_event lost = { .type = FENCED_EV_LOST };
	bool revoking = a->lease_id && a->g.fd >= 0;

	a->stopping = true;
	feed(a, &lost);		/* the kernel lease goes first */
	logf_("stopping: kernel lease released%s",
	      revoking ? ", revoking the session" : "");
	session_drop(a, "stopping");
	return !revoking;
}

bool fenced_agent__stopped(const struct fenced_agent *a)
{
	return a->g.fd < 0 || !fgrpc__busy(&a->g, FT_REVOKE);
}

void fenced_agent__status(const struct fenced_agent *a, char *buf, size_t size)
{
	const struct fenced_core *c = &a->core;

	snprintf(buf, size,
		 "state=%s token=%" PRIu64 " kernel=%s kernel_end=%" PRId64
		 " session=%" PRIx64 " endpoint=%s connected=%d takeovers=%" PRIu64
		 " losses=%" PRIu64 " reconnects=%" PRIu64 " stale_refused=%" PRIu64,
		 state_names[c->state], c->token,
		 c->granted ? "granted" : "none", c->granted ? c->kernel_end : 0,
		 (uint64_t)a->lease_id, a->conf->endpoints[a->ep],
		 fgrpc__connected(&a->g), a->takeovers, a->losses,
		 a->reconnects, c->stale_refused);
}
