// SPDX-License-Identifier: GPL-2.0
/*
 * gnomond-leasebench: the cheap clients of the leases' cost benchmark
 * (tools/bench/gnomond-coord-vs-etcd.sh, part "leases"), in C so that the
 * client's CPU does not decide the figure on a 2-core machine.  Either
 * speaks etcd's gRPC API to one member, over one HTTP/2 connection,
 * through gnomon-fenced's client (tools/fenced/fenced_grpc.c).
 *
 *   gnomond-leasebench hold ENDPOINT LEASES TTL
 *     grants LEASES leases of TTL seconds (7 grants in flight) and keeps
 *     them alive on one LeaseKeepAlive stream at a fixed rate: rounds of
 *     TTL/3 seconds, each renewing the leases granted before it began,
 *     evenly spread over the round (a lease granted during a round is
 *     renewed in the next, within 2/3 of its TTL).  Once all are granted
 *     a round starts that renews them all, and so does every one after
 *     it: LEASES / (TTL/3) keepalives a second (the last grant's wait
 *     for its first renewal is at most the time the grants took plus
 *     TTL/3).  Prints "ready" then; on SIGUSR1 a line "count answers A
 *     sent S expired E"; on SIGTERM it revokes them all and prints the
 *     keepalive answers a second since "ready", the answers that said a
 *     lease had expired (TTL <= 0), the longest delay of a keepalive
 *     behind its schedule, the revocations answered NOT_FOUND (expired)
 *     and its own CPU a second.
 *   gnomond-leasebench writes ENDPOINT RATE SECONDS
 *     puts 256-byte values to distinct keys at RATE a second for SECONDS,
 *     open loop (each put has its instant; at most 8 in flight), and
 *     prints writes/s, then the median, 99th percentile and largest
 *     latency in microseconds, each from the put's instant (so a put kept
 *     waiting by earlier ones counts its wait), and the failures.
 *
 * Exit status: 0, 1 on an error (connection lost, a grant refused, a
 * stream ended), 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../fenced/fenced_grpc.h"
#include "etcdserverpb/lease.pb-c.h"
#include "etcdserverpb/rpc.pb-c.h"

#define NS_PER_S	1000000000ULL
#define TAG_KA		0		/* the keepalive stream */
#define GRPC_NOT_FOUND	5
#define VALUE_LEN	256
#define DRAIN_NS	(30 * NS_PER_S)	/* for the calls still in flight */

static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
	       NS_PER_S + ((uint64_t)ru.ru_utime.tv_usec +
			   (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

/* Wait for the socket until @until (or a signal), then do its I/O. */
static int pump(struct fgrpc *g, uint64_t until)
{
	struct pollfd p = { .fd = g->fd, .events = fgrpc__events(g) };
	uint64_t now = mono_ns(), wait = until > now ? until - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(wait / NS_PER_S),
			       .tv_nsec = (long)(wait % NS_PER_S) };
	int n = ppoll(&p, 1, &ts, NULL);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return fgrpc__io(g, n ? p.revents : 0);
}

/* A free tag for a unary call, of 1..@max, or -1. */
static int free_tag(const struct fgrpc *g, int max)
{
	for (int tag = 1; tag <= max; tag++)
		if (!fgrpc__busy(g, tag))
			return tag;
	return -1;
}

static int connect_to(struct fgrpc *g, const char *endpoint)
{
	uint64_t until = mono_ns() + 10 * NS_PER_S;
	int err = fgrpc__connect(g, endpoint);

	while (!err && !fgrpc__connected(g) && mono_ns() < until)
		err = pump(g, until);
	if (!err && !fgrpc__connected(g))
		err = -ETIMEDOUT;
	if (err)
		fprintf(stderr, "connecting to %s: %s\n", endpoint,
			strerror(-err));
	return err;
}

/* ---- hold ---- */

struct holder {
	struct fgrpc g;
	int64_t *ids;
	size_t want, granted, asked;	/* leases wanted, granted, asked for */
	int64_t ttl;
	bool revoking, failed;
	size_t revoke_next, revoked, not_found, revoke_failed;
	uint64_t answers, sent, expired, max_lag_ns;
	/* The renewal round: its start, its leases, the next to renew. */
	uint64_t round_start, period_ns;
	size_t round_n, round_i;
};

static void hold_msg(void *user, int tag, const uint8_t *msg, size_t len)
{
	struct holder *h = user;

	if (tag == TAG_KA) {
		Etcdserverpb__LeaseKeepAliveResponse *r =
			etcdserverpb__lease_keep_alive_response__unpack(NULL,
								len, msg);

		h->answers++;
		if (r && r->ttl <= 0)
			h->expired++;
		if (r)
			etcdserverpb__lease_keep_alive_response__free_unpacked(
				r, NULL);
	} else if (!h->revoking) {
		Etcdserverpb__LeaseGrantResponse *r =
			etcdserverpb__lease_grant_response__unpack(NULL, len,
								   msg);

		if (r && r->id && r->ttl > 0 && h->granted < h->want)
			h->ids[h->granted++] = r->id;
		else
			h->failed = true;
		if (r)
			etcdserverpb__lease_grant_response__free_unpacked(r,
									  NULL);
	}
}

static void hold_end(void *user, int tag, int status, const char *msg)
{
	struct holder *h = user;

	if (tag == TAG_KA || !h->revoking) {
		if (status || tag == TAG_KA) {
			fprintf(stderr, "%s ended: grpc-status %d %s\n",
				tag == TAG_KA ? "LeaseKeepAlive" : "LeaseGrant",
				status, msg);
			h->failed = true;
		}
		return;
	}
	h->revoked++;
	if (status == GRPC_NOT_FOUND)
		h->not_found++;
	else if (status)
		h->revoke_failed++;
}

/* Ask for grants (or revocations) while a slot is free. */
static void hold_calls(struct holder *h)
{
	int tag;

	/* One slot stays for the keepalive stream. */
	while ((tag = free_tag(&h->g, FGRPC_STREAMS - 1)) >= 0) {
		if (!h->revoking && h->asked < h->want) {
			Etcdserverpb__LeaseGrantRequest r =
				ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;

			r.ttl = h->ttl;
			if (fgrpc__call(&h->g, tag,
					"/etcdserverpb.Lease/LeaseGrant",
					&r.base, false))
				break;
			h->asked++;
		} else if (h->revoking && h->revoke_next < h->granted) {
			Etcdserverpb__LeaseRevokeRequest r =
				ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;

			r.id = h->ids[h->revoke_next];
			if (fgrpc__call(&h->g, tag,
					"/etcdserverpb.Lease/LeaseRevoke",
					&r.base, false))
				break;
			h->revoke_next++;
		} else {
			break;
		}
	}
}

static int keepalive(struct holder *h, int64_t id)
{
	Etcdserverpb__LeaseKeepAliveRequest r =
		ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;

	r.id = id;
	h->sent++;
	if (fgrpc__busy(&h->g, TAG_KA))
		return fgrpc__send(&h->g, TAG_KA, &r.base);
	return fgrpc__call(&h->g, TAG_KA, "/etcdserverpb.Lease/LeaseKeepAlive",
			   &r.base, true);
}

/* Send the keepalives due by @now; the instant of the next one. */
static int renew_due(struct holder *h, uint64_t now, uint64_t *next)
{
	for (;;) {
		uint64_t due;
		int err;

		if (h->round_i == h->round_n) {
			if (h->round_n)
				h->round_start += h->period_ns;
			else
				h->round_start = now + NS_PER_S / 10;
			h->round_n = h->granted;
			h->round_i = 0;
			if (!h->round_n) {
				*next = h->round_start;
				return 0;
			}
		}
		due = h->round_start + h->period_ns * h->round_i / h->round_n;
		if (due > now) {
			*next = due;
			return 0;
		}
		if (now - due > h->max_lag_ns)
			h->max_lag_ns = now - due;
		err = keepalive(h, h->ids[h->round_i++]);
		if (err)
			return err;
	}
}

static int hold(const char *endpoint, size_t want, int64_t ttl)
{
	struct holder h = { .want = want, .ttl = ttl,
			    .period_ns = (uint64_t)ttl * NS_PER_S / 3 };
	uint64_t t0, t_granted = 0, t_ready = 0, cpu0 = 0, a0 = 0, until;
	bool ready = false;
	int err;

	h.ids = calloc(want, sizeof(*h.ids));
	if (!h.ids)
		return 1;
	fgrpc__init(&h.g, hold_msg, hold_end, &h);
	if (connect_to(&h.g, endpoint))
		return 1;
	t0 = mono_ns();
	h.round_start = t0;
	while (!got_term && !h.failed) {
		uint64_t next;

		hold_calls(&h);
		err = renew_due(&h, mono_ns(), &next);
		if (!err)
			err = pump(&h.g, next);
		if (err) {
			fprintf(stderr, "hold: %s\n", strerror(-err));
			return 1;
		}
		if (!ready && h.granted == want) {
			/* From now on every round renews them all. */
			ready = true;
			t_ready = t_granted = mono_ns();
			h.round_start = t_ready;
			h.round_n = want;
			h.round_i = 0;
			cpu0 = cpu_ns();
			a0 = h.answers;
			printf("ready leases %zu (granted in %.1f s)\n",
			       h.granted, (t_granted - t0) / 1e9);
			fflush(stdout);
		}
		if (got_usr1) {
			got_usr1 = 0;
			printf("count answers %" PRIu64 " sent %" PRIu64
			       " expired %" PRIu64 "\n", h.answers, h.sent,
			       h.expired);
			fflush(stdout);
		}
	}
	if (h.failed)
		return 1;
	if (!ready) {
		fprintf(stderr, "hold: stopped before ready\n");
		return 1;
	}
	{
		double span = (mono_ns() - t_ready) / 1e9;
		double cpu = (cpu_ns() - cpu0) / 1e6;
		uint64_t answers = h.answers - a0;

		fgrpc__cancel(&h.g, TAG_KA);
		h.revoking = true;
		until = mono_ns() + DRAIN_NS + h.granted * NS_PER_S / 1000;
		while (h.revoked < h.granted && mono_ns() < until) {
			hold_calls(&h);
			if (pump(&h.g, mono_ns() + NS_PER_S / 10))
				break;
		}
		printf("keepalives/s %.0f expired %" PRIu64 " of %" PRIu64
		       " answers, leases %zu, granted in %.1f s, most late"
		       " %.1f ms, revoked %zu not_found %zu failed %zu,"
		       " holder_cpu_ms/s %.1f\n", answers / span, h.expired,
		       h.answers, h.granted, (t_granted - t0) / 1e9,
		       h.max_lag_ns / 1e6, h.revoked, h.not_found,
		       h.revoke_failed, cpu / span);
	}
	fgrpc__close(&h.g);
	free(h.ids);
	return 0;
}

/* ---- writes ---- */

struct writer {
	struct fgrpc g;
	uint64_t *at;			/* each put's instant */
	int32_t slot_put[FGRPC_STREAMS + 1];	/* the put in each tag */
	uint64_t *lat;
	size_t nlat, failed;
};

static void write_msg(void *user, int tag, const uint8_t *msg, size_t len)
{
	(void)user;
	(void)tag;
	(void)msg;
	(void)len;
}

static void write_end(void *user, int tag, int status, const char *msg)
{
	struct writer *w = user;

	(void)msg;
	if (status) {
		w->failed++;
		return;
	}
	w->lat[w->nlat++] = mono_ns() - w->at[w->slot_put[tag]];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int writes(const char *endpoint, double rate, double seconds)
{
	size_t n = (size_t)(rate * seconds), next = 0;
	struct writer w = { 0 };
	uint8_t value[VALUE_LEN];
	uint64_t t0, until;
	char key[64];

	w.at = calloc(n ? n : 1, sizeof(*w.at));
	w.lat = calloc(n ? n : 1, sizeof(*w.lat));
	if (!w.at || !w.lat)
		return 1;
	memset(value, 'v', sizeof(value));
	fgrpc__init(&w.g, write_msg, write_end, &w);
	if (connect_to(&w.g, endpoint))
		return 1;
	t0 = mono_ns();
	for (size_t i = 0; i < n; i++)
		w.at[i] = t0 + (uint64_t)(i * (NS_PER_S / rate));
	until = t0 + (uint64_t)(seconds * NS_PER_S) + DRAIN_NS;
	while (w.nlat + w.failed < n && mono_ns() < until) {
		uint64_t now = mono_ns();
		int tag, err;

		while (next < n && w.at[next] <= now &&
		       (tag = free_tag(&w.g, FGRPC_STREAMS)) >= 0) {
			Etcdserverpb__PutRequest r =
				ETCDSERVERPB__PUT_REQUEST__INIT;

			snprintf(key, sizeof(key), "/bench/lw/%d/%zu",
				 (int)getpid(), next);
			r.key.data = (uint8_t *)key;
			r.key.len = strlen(key);
			r.value.data = value;
			r.value.len = sizeof(value);
			if (fgrpc__call(&w.g, tag, "/etcdserverpb.KV/Put",
					&r.base, false))
				break;
			w.slot_put[tag] = (int32_t)next++;
		}
		err = pump(&w.g, next < n && free_tag(&w.g, FGRPC_STREAMS) >= 0 ?
			   w.at[next] : now + NS_PER_S / 10);
		if (err) {
			fprintf(stderr, "writes: %s\n", strerror(-err));
			return 1;
		}
	}
	qsort(w.lat, w.nlat, sizeof(*w.lat), cmp_u64);
	printf("writes/s %.0f p50_us %.0f p99_us %.0f max_us %.0f n %zu"
	       " failed %zu\n", w.nlat / seconds,
	       w.nlat ? w.lat[w.nlat / 2] / 1e3 : 0,
	       w.nlat ? w.lat[w.nlat * 99 / 100] / 1e3 : 0,
	       w.nlat ? w.lat[w.nlat - 1] / 1e3 : 0, w.nlat, w.failed);
	fgrpc__close(&w.g);
	free(w.at);
	free(w.lat);
	return w.failed || w.nlat < n;
}

static int usage(void)
{
	fprintf(stderr, "usage: gnomond-leasebench hold ENDPOINT LEASES TTL\n"
			"       gnomond-leasebench writes ENDPOINT RATE SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "hold") && atol(argv[3]) > 0 &&
	    atol(argv[4]) > 0)
		return hold(argv[2], (size_t)atol(argv[3]), atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "writes") && atof(argv[3]) > 0 &&
	    atof(argv[4]) > 0)
		return writes(argv[2], atof(argv[3]), atof(argv[4]));
	return usage();
}
