// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated world: true time, each member's TT.now(), the network, the
 * fault schedule and the client, and the event loop that ties them to the
 * members (sim_node.c) and the checker (sim_check.c).
 *
 * Time jumps from event to event (ticks, deliveries, disk completions,
 * faults, client operations); nothing depends on the host's clock, so a
 * seed replays exactly.  Member i's clock is true time + skew_i with
 * |skew_i| <= bound, so its TT.now() = [clock - bound, clock + bound]
 * always contains true time; a clock fault makes it UNSYNCHRONIZED (no
 * interval) for a while, or FREE_RUNNING (a valid, doubled interval), and
 * either must turn lease reads off.  Each member
 * ticks with its own period (10 ms +- 1 %).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "sim_internal.h"

static const uint8_t sim_key[] = "gnomond simulated cluster key";

int sim_grow(void **v, size_t *cap, size_t need, size_t size)
{
	void *p = grow__array(*v, cap, need, size, 16);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

uint64_t sim_rand(struct sim *s)
{
	/* splitmix64 */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi)
{
	return lo + sim_rand(s) % (hi - lo + 1);
}

static bool chance(struct sim *s, uint32_t pct)
{
	return sim_rand(s) % 100 < pct;
}

uint64_t sim_hash(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* FNV-1a, 64 bit */
	if (!h)
		h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

void sim_trace(struct sim *s, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t v[4] = { s->now, a, b, c };

	s->res->trace_hash = sim_hash(s->res->trace_hash, v, sizeof(v));
	if (s->cfg.verbose)
		fprintf(stderr, "%10llu ev %llu %llu %llu\n",
			(unsigned long long)(s->now - SIM_T0) / 1000,
			(unsigned long long)a, (unsigned long long)b,
			(unsigned long long)c);
}

void sim_violation(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->res->violations++) {
		va_start(ap, fmt);
		vsnprintf(s->res->violation, sizeof(s->res->violation), fmt, ap);
		va_end(ap);
	}
}

void sim_tt(const struct sim *s, const struct sim_node *n,
	    struct gnomon_tt *tt)
{
	uint64_t clock = s->now + (uint64_t)n->skew_ns;

	memset(tt, 0, sizeof(*tt));
	tt->realtime_ns = clock;
	if (s->now < n->unsync_until) {
		tt->status = GNOMON_STATUS_UNSYNCHRONIZED;
		tt->latest_ns = UINT64_MAX;
		tt->bound_ns = GNOMON_BOUND_INFINITE;
		return;
	}
	tt->status = GNOMON_STATUS_SYNCHRONIZED;
	tt->bound_ns = s->cfg.bound_ns;
	if (s->now < n->freerun_until) {
		tt->status = GNOMON_STATUS_FREE_RUNNING;
		tt->bound_ns *= 2;
	}
	tt->earliest_ns = clock - tt->bound_ns;
	tt->latest_ns = clock + tt->bound_ns;
}

/* A clock error within [-max, max]: the declared bound unless told. */
static int64_t random_skew(struct sim *s)
{
	uint64_t max = s->cfg.max_skew_ns ? s->cfg.max_skew_ns :
		       s->cfg.bound_ns;

	return (int64_t)sim_between(s, 0, 2 * max) - (int64_t)max;
}

static int net_push(struct sim *s, uint32_t to, const uint8_t *buf,
		    size_t len, uint64_t at)
{
	struct sim_msg m = { .at = at, .to = to, .len = len };

	m.buf = malloc(len);
	if (!m.buf)
		return -ENOMEM;
	memcpy(m.buf, buf, len);
	if (s->cfg.corrupt_pct && !s->healed && chance(s, s->cfg.corrupt_pct))
		m.buf[sim_between(s, 0, len - 1)] ^=
			(uint8_t)sim_between(s, 1, 255);
	if (sim_grow((void **)&s->net, &s->cap_net, s->n_net + 1, sizeof(m))) {
		free(m.buf);
		return -ENOMEM;
	}
	s->net[s->n_net++] = m;
	return 0;
}

int sim_net_send(struct sim *s, const struct raft_msg *m)
{
	size_t need = peer_msg__encoded_size(m), len;
	bool faulty = !s->healed;
	bool drops = faulty || (!s->quiet && s->now >= s->lossy_tail_at);
	int rc;

	if (sim_grow((void **)&s->enc, &s->enc_cap, need, 1))
		return -ENOMEM;
	rc = peer_codec__encode(&s->codec, m, s->enc, s->enc_cap, &len);
	if (rc)
		return rc;
	sim_trace(s, 1, m->to, m->type);
	if (drops && chance(s, s->cfg.drop_pct))
		return 0;
	rc = net_push(s, m->to, s->enc, len,
		      s->now + sim_between(s, SIM_MS / 10, 8 * SIM_MS));
	if (!rc && faulty && chance(s, s->cfg.dup_pct))
		rc = net_push(s, m->to, s->enc, len,
			      s->now + sim_between(s, SIM_MS, 30 * SIM_MS));
	return rc;
}

static int deliver(struct sim *s, size_t i)
{
	struct sim_msg msg = s->net[i];
	struct sim_node *n = &s->nodes[msg.to];
	struct raft_msg m;
	struct gnomon_tt tt;
	const char *why = NULL;
	int rc = 0;

	s->net[i] = s->net[--s->n_net];
	if (peer_codec__decode(&s->codec, msg.buf, msg.len, &m, &why)) {
		s->res->frames_rejected++;
		goto out;
	}
	/* Partitions cut links when the message arrives. */
	if (!n->up || n->group != s->nodes[m.from].group)
		goto out;
	sim_trace(s, 2, m.from * 16 + m.to, m.type);
	sim_tt(s, n, &tt);
	rc = raft__step(n->r, &m, &tt);
	if (rc == -EIO || rc == -EUCLEAN) {
		sim_violation(s, "member %u refused %s from %u in term %llu: "
			      "%s", n->id, raft_msg_type__name(m.type),
			      m.from, (unsigned long long)m.term,
			      rc == -EIO ? "protocol violated" :
			      "acknowledged entries lost");
		rc = 0;
	} else if (!rc) {
		rc = sim_node__ready(s, n);
	}
out:
	free(msg.buf);
	return rc;
}

static struct sim_node *pick_leader(struct sim *s)
{
	struct sim_node *best = NULL;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		struct sim_node *n = &s->nodes[i];

		if (n->up && raft__role(n->r) == RAFT_LEADER &&
		    (!best || chance(s, 50)))
			best = n;
	}
	return best;
}

static int client_write(struct sim *s, struct sim_node *n)
{
	struct sim_proposal p = { .value = ++s->next_value, .node = n->id };
	uint64_t index;
	int rc;

	rc = raft__propose(n->r, &p.value, sizeof(p.value), &index);
	if (rc == -EBUSY || rc == -ENOTCONN) {
		s->next_value--;
		return 0;
	}
	if (rc)
		return rc;
	p.index = index;
	p.term = raft__term(n->r);
	if (sim_grow((void **)&s->props, &s->cap_props, s->n_props + 1,
		     sizeof(p)))
		return -ENOMEM;
	s->props[s->n_props++] = p;
	if (s->healed && !s->heal_first_value)
		s->heal_first_value = p.value;
	return sim_node__ready(s, n);
}

static int client_read(struct sim *s, struct sim_node *n)
{
	struct sim_read r = { .id = ++s->next_read_id,
			      .required = s->ck.acked_index };
	struct gnomon_tt tt;
	int rc;

	if (sim_grow((void **)&n->reads, &n->cap_reads, n->n_reads + 1,
		     sizeof(r)))
		return -ENOMEM;
	n->reads[n->n_reads++] = r;
	sim_tt(s, n, &tt);
	rc = raft__read(n->r, r.id, &tt);
	if (rc) {
		n->n_reads--;
		return rc == -ENOTCONN ? 0 : rc;
	}
	return sim_node__ready(s, n);
}

static int client(struct sim *s)
{
	struct sim_node *n = pick_leader(s);
	int rc = 0;

	s->next_client = s->now + sim_between(s, SIM_MS, 6 * SIM_MS);
	if (!n)
		return 0;
	if (chance(s, 60))
		rc = client_write(s, n);
	else
		rc = client_read(s, n);
	if (!rc && s->cfg.transfers && !s->healed && chance(s, 2)) {
		rc = raft__transfer(n->r, (uint32_t)sim_between(s, 1,
						s->cfg.n_members));
		s->res->transfers += !rc;
		/* -EINVAL: the slot is not a voter (membership changes). */
		rc = (rc == -EBUSY || rc == -ENOTCONN || rc == -EINVAL) ? 0 :
		     rc;
		if (!rc)
			rc = sim_node__ready(s, n);
	}
	return rc;
}

static void partition(struct sim *s)
{
	uint32_t n = s->cfg.n_members;

	for (uint32_t i = 1; i <= n; i++)
		s->nodes[i].group = chance(s, 50);
	/* Often: the leader alone on one side. */
	if (chance(s, 50)) {
		struct sim_node *l = pick_leader(s);

		for (uint32_t i = 1; i <= n; i++)
			s->nodes[i].group = l && &s->nodes[i] == l;
	}
	s->partition_until = s->now + sim_between(s, 50 * SIM_MS,
						  800 * SIM_MS);
	s->res->partitions++;
	sim_trace(s, 6, 0, 0);
}

static int fault(struct sim *s)
{
	struct sim_node *n = &s->nodes[sim_between(s, 1, s->cfg.n_members)];
	uint64_t what = sim_rand(s) % 100;

	s->next_fault = s->now + sim_between(s, 20 * SIM_MS, 200 * SIM_MS);
	if (what < 25 && s->cfg.crashes && n->up) {
		sim_node__crash(s, n);
		n->restart_at = s->now + sim_between(s, 10 * SIM_MS,
						     600 * SIM_MS);
	} else if (what < 45 && s->cfg.partitions && !s->partition_until) {
		partition(s);
	} else if (what < 55 && s->cfg.clock_faults) {
		n->unsync_until = s->now + sim_between(s, 10 * SIM_MS,
						       300 * SIM_MS);
	} else if (what < 60 && s->cfg.clock_faults) {
		n->freerun_until = s->now + sim_between(s, 10 * SIM_MS,
							300 * SIM_MS);
	} else if (what < 80) {
		n->skew_ns = random_skew(s);
	} else if (s->cfg.membership) {
		return sim_membership__change(s);
	}
	return 0;
}

static void heal(struct sim *s)
{
	s->healed = true;
	s->partition_until = 0;
	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		s->nodes[i].group = 0;
		s->nodes[i].unsync_until = 0;
		s->nodes[i].freerun_until = 0;
		if (!s->nodes[i].up && !s->nodes[i].absent)
			s->nodes[i].restart_at = s->now;
	}
	sim_trace(s, 7, 0, 0);
}

static uint64_t next_event(const struct sim *s)
{
	uint64_t t = s->next_client;

	if (!s->healed && s->next_fault < t)
		t = s->next_fault;
	if (s->partition_until && s->partition_until < t)
		t = s->partition_until;
	if (sim_lease__next(s) < t)
		t = sim_lease__next(s);
	for (size_t i = 0; i < s->n_net; i++)
		if (s->net[i].at < t)
			t = s->net[i].at;
	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		const struct sim_node *n = &s->nodes[i];
		uint64_t d = sim_disk__next(n);

		if (n->up && n->next_tick < t)
			t = n->next_tick;
		if (!n->up && n->restart_at < t)
			t = n->restart_at;
		if (d < t)
			t = d;
	}
	return t;
}

static int node_events(struct sim *s, struct sim_node *n)
{
	struct gnomon_tt tt;
	int rc;

	if (!n->up) {
		if (n->absent || n->restart_at > s->now)
			return 0;
		sim_trace(s, 8, n->id, 0);
		return sim_node__start(s, n);
	}
	rc = sim_node__disk_events(s, n);
	if (rc || n->next_tick > s->now)
		return rc;
	n->next_tick += n->tick_ns;
	sim_tt(s, n, &tt);
	rc = raft__tick(n->r, &tt);
	if (!rc)
		rc = sim_lease__tick(s, n);
	if (!rc)
		rc = sim_node__maybe_snapshot(s, n);
	if (!rc)
		rc = sim_node__ready(s, n);
	return rc;
}

static int step_world(struct sim *s)
{
	int rc = 0;

	s->now = next_event(s);
	if (s->partition_until && s->partition_until <= s->now) {
		for (uint32_t i = 1; i <= s->cfg.n_members; i++)
			s->nodes[i].group = 0;
		s->partition_until = 0;
	}
	if (!s->healed && s->next_fault <= s->now)
		rc = fault(s);
	for (size_t i = 0; i < s->n_net && !rc; i++)
		if (s->net[i].at <= s->now)
			rc = deliver(s, i--);
	for (uint32_t i = 1; i <= s->cfg.n_members && !rc; i++)
		rc = node_events(s, &s->nodes[i]);
	if (!rc && s->next_client <= s->now)
		rc = client(s);
	if (!rc)
		rc = sim_lease__events(s);
	if (!rc)
		rc = sim_check__step(s);
	return rc;
}

void sim_config__defaults(struct sim_config *cfg, uint64_t seed,
			  uint32_t n_members)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->n_members = n_members;
	cfg->duration_ns = 2000 * SIM_MS;
	cfg->heal_ns = 2000 * SIM_MS;
	cfg->quiet_ns = 500 * SIM_MS;
	cfg->bound_ns = 5 * SIM_MS;
	cfg->lease_ns = 250 * SIM_MS;
	cfg->drop_pct = 5;
	cfg->dup_pct = 3;
	cfg->corrupt_pct = 1;
	cfg->crashes = cfg->partitions = cfg->clock_faults = true;
	cfg->transfers = cfg->snapshots = true;
	cfg->cut_tails = true;
	cfg->lease_clients = 3;
}

static void sim_free(struct sim *s)
{
	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		sim_node__free(&s->nodes[i]);
	for (size_t i = 0; i < s->n_net; i++)
		free(s->net[i].buf);
	free(s->net);
	free(s->enc);
	free(s->props);
	peer_codec__free(&s->codec);
	sim_check__free(&s->ck);
	sim_lease__free(s);
}

static bool converged(const struct sim *s)
{
	uint64_t commit = 0;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		if (sim_membership__counts(s, i) &&
		    raft__commit(s->nodes[i].r) > commit)
			commit = raft__commit(s->nodes[i].r);
	for (uint32_t i = 1; i <= s->cfg.n_members; i++)
		if (sim_membership__counts(s, i) &&
		    raft__commit(s->nodes[i].r) != commit)
			return false;
	return true;
}

int sim__run(const struct sim_config *cfg, struct sim_result *res)
{
	struct sim s = { .cfg = *cfg, .res = res, .now = SIM_T0 };
	uint64_t heal_at = SIM_T0 + cfg->duration_ns;
	uint64_t end = heal_at + cfg->heal_ns;
	int rc;

	memset(res, 0, sizeof(*res));
	if (cfg->n_members < 1 || cfg->n_members > RAFT_MAX_MEMBERS)
		return -EINVAL;
	s.rng = cfg->seed;
	rc = peer_codec__init(&s.codec, sim_key, sizeof(sim_key));
	if (!rc)
		rc = sim_lease__init(&s);
	if (rc) {
		peer_codec__free(&s.codec);
		return rc;
	}
	s.next_fault = SIM_T0 + 300 * SIM_MS;
	s.lossy_tail_at = end - 100 * SIM_MS;
	s.next_client = SIM_T0 + 50 * SIM_MS;
	sim_membership__init(&s);
	for (uint32_t i = 1; i <= cfg->n_members && !rc; i++) {
		struct sim_node *n = &s.nodes[i];

		n->id = i;
		n->tick_ns = SIM_TICK_NS - SIM_TICK_NS / 100 +
			     sim_between(&s, 0, SIM_TICK_NS / 50);
		n->skew_ns = random_skew(&s);
		rc = sim_node__start(&s, n);
	}
	while (!rc && s.now < end) {
		if (!s.healed && s.now >= heal_at)
			heal(&s);
		rc = step_world(&s);
	}
	/* Quiet: no more client operations and a clean network.  The last
	 * 100 ms of the healed phase dropped messages again, so some of the
	 * last writes' appends were lost: heartbeats alone must now bring
	 * every member to the leader's commit index. */
	s.quiet = true;
	s.next_client = UINT64_MAX;
	while (!rc && s.now < end + cfg->quiet_ns)
		rc = step_world(&s);
	if (!rc) {
		res->converged = converged(&s);
		sim_lease__finish(&s);
	}
	sim_free(&s);
	return rc;
}
