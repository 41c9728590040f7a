// SPDX-License-Identifier: GPL-2.0
/*
 * etcd leases in the simulation: clients that grant leases and keep them
 * alive, members that judge expiry with the daemon's own code
 * (mvcc/lease_clock.c) on their simulated TT.now(), and the check of the
 * guarantee of Documentation/lease-safety.rst in true time:
 *
 *   a client that sends a grant or a keepalive when its own
 *   TT.now().earliest is s, and gets an answer with a TTL, holds the lease
 *   until s + TTL: no member applies its expiry before that true time.
 *
 * As in the daemon, grant and expiry are log entries (24 bytes: kind, ID,
 * TTL; the sim's other entries are 8) that every member applies to its
 * table, and renewals are not: a keepalive reaches the member the client
 * takes for the leader, which answers it only after raft__read()
 * confirmed its leadership and the member applied up to the read's index,
 * renewing at its TT.now().latest of that moment (K1).  Every tick each
 * member asks its struct lease_judge what to do: reset every lease at a
 * new term (K3), or propose the expiry of those due (K2).  The table and
 * the renewals are lost in a crash; a snapshot carries the table (rebuilt
 * from the committed lease commands up to its index, which the checker
 * knows are the same on every member).
 *
 * Clients run through the faulty phase and the first half of the healed
 * one, with their own clocks (skew within the bound), keepalive intervals
 * from a tenth of the TTL to beyond it (so leases expire under live
 * clients too), and messages that are delayed and lost.  A client whose
 * keepalive is answered with TTL 0, or whose grant is not answered,
 * grants a new lease.  At the end, a lease that nobody renewed for
 * 2 TTL + 500 ms must have expired (liveness: a leader with no clock bound
 * must not make a lease live for ever).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sim_internal.h"
#include "../mvcc/lease_clock.h"

#define LCMD_GRANT	0x4c47ULL
#define LCMD_EXPIRE	0x4c45ULL
#define N_CLIENTS_MAX	8
#define RETRY_TICKS	20
#define LIVE_SLACK_NS	(500 * SIM_MS)

struct lcmd {			/* a lease entry */
	uint64_t kind, id, ttl_ns;
};

struct lrec {			/* what the world knows of lease ID i + 1 */
	uint64_t ttl_ns;
	uint64_t held_until;	/* max s + TTL over the answers received */
	uint64_t expired_at;	/* true time its expiry first applied, 0 */
	uint64_t last_sent;	/* its client's last grant or keepalive */
	bool granted;		/* its grant applied somewhere */
};

struct lhist {			/* a committed lease command */
	uint64_t index;
	struct lcmd c;
};

struct lheld {			/* a lease in a member's table */
	uint64_t id, ttl_ns;
	struct lease_clock clock;
};

struct lpend {			/* a keepalive waiting for its read */
	uint64_t read_id, lease, index, s_ns;
	uint32_t client;
	bool ready;
};

struct lnode {
	struct lheld *v;
	size_t n, cap;
	struct lpend *p;
	size_t np, capp;
	struct lease_judge judge;
};

enum lstate { LC_GRANT, LC_GRANTING, LC_HOLDING };

struct lclient {
	enum lstate state;
	uint64_t lease, s_ns, next_at;
	uint64_t grant_index, grant_term;
	uint32_t grant_node;
	int64_t skew_ns;
};

struct lmsg {
	uint64_t at, lease, s_ns, ttl_ns;
	uint32_t node, client;
	bool answer;		/* to the client, else a keepalive */
};

struct sim_leases {
	struct lrec *rec;
	size_t nrec, caprec;
	struct lhist *hist;
	size_t nhist, caphist;
	struct lnode nodes[RAFT_MAX_MEMBERS + 1];
	struct lclient clients[N_CLIENTS_MAX];
	uint32_t n_clients;
	struct lmsg *net;
	size_t nnet, capnet;
	uint64_t stop_at;	/* clients stop then */
};

static struct lrec *rec_of(struct sim_leases *L, uint64_t id)
{
	return id && id <= L->nrec ? &L->rec[id - 1] : NULL;
}

static int64_t skew(struct sim *s)
{
	uint64_t b = s->cfg.bound_ns;

	return (int64_t)sim_between(s, 0, 2 * b) - (int64_t)b;
}

/* The client's TT.now().earliest. */
static uint64_t client_earliest(const struct sim *s, const struct lclient *c)
{
	return s->now + (uint64_t)c->skew_ns - s->cfg.bound_ns;
}

int sim_lease__init(struct sim *s)
{
	struct sim_leases *L;

	if (!s->cfg.lease_clients)
		return 0;
	L = calloc(1, sizeof(*L));
	if (!L)
		return -ENOMEM;
	L->n_clients = s->cfg.lease_clients < N_CLIENTS_MAX ?
		       s->cfg.lease_clients : N_CLIENTS_MAX;
	L->stop_at = SIM_T0 + s->cfg.duration_ns + s->cfg.heal_ns / 2;
	for (uint32_t i = 1; i <= RAFT_MAX_MEMBERS; i++)
		L->nodes[i].judge.faults = s->cfg.lease_faults;
	for (uint32_t i = 0; i < L->n_clients; i++) {
		L->clients[i].skew_ns = skew(s);
		L->clients[i].next_at = SIM_T0 + sim_between(s, 50 * SIM_MS,
							     300 * SIM_MS);
	}
	s->leases = L;
	return 0;
}

void sim_lease__free(struct sim *s)
{
	struct sim_leases *L = s->leases;

	if (!L)
		return;
	for (uint32_t i = 0; i <= RAFT_MAX_MEMBERS; i++) {
		free(L->nodes[i].v);
		free(L->nodes[i].p);
	}
	free(L->rec);
	free(L->hist);
	free(L->net);
	free(L);
	s->leases = NULL;
}

static struct lheld *held_find(struct lnode *ln, uint64_t id)
{
	for (size_t i = 0; i < ln->n; i++)
		if (ln->v[i].id == id)
			return &ln->v[i];
	return NULL;
}

/* A command applied to a member's table; true if it changed it. */
static int table_apply(struct lnode *ln, const struct lcmd *c, bool *changed)
{
	struct lheld *h = held_find(ln, c->id);

	*changed = false;
	if (c->kind == LCMD_GRANT && !h) {
		if (sim_grow((void **)&ln->v, &ln->cap, ln->n + 1,
			     sizeof(*ln->v)))
			return -ENOMEM;
		ln->v[ln->n++] = (struct lheld){ .id = c->id,
						 .ttl_ns = c->ttl_ns };
		*changed = true;
	} else if (c->kind == LCMD_EXPIRE && h) {
		*h = ln->v[--ln->n];
		*changed = true;
	}
	return 0;
}

static int send(struct sim *s, struct lmsg m)
{
	struct sim_leases *L = s->leases;

	if (!s->healed && sim_rand(s) % 100 < s->cfg.drop_pct)
		return 0;
	m.at = s->now + sim_between(s, SIM_MS / 10, 8 * SIM_MS);
	if (sim_grow((void **)&L->net, &L->capnet, L->nnet + 1,
		     sizeof(m)))
		return -ENOMEM;
	L->net[L->nnet++] = m;
	return 0;
}

static struct sim_node *a_leader(struct sim *s)
{
	struct sim_node *best = NULL;

	for (uint32_t i = 1; i <= s->cfg.n_members; i++) {
		struct sim_node *n = &s->nodes[i];

		if (n->up && raft__role(n->r) == RAFT_LEADER &&
		    (!best || sim_rand(s) % 2))
			best = n;
	}
	return best;
}

static int grant(struct sim *s, struct lclient *c)
{
	struct sim_leases *L = s->leases;
	struct sim_node *n = a_leader(s);
	struct lcmd cmd = { .kind = LCMD_GRANT };
	uint64_t index;
	int rc;

	c->next_at = s->now + sim_between(s, 5 * SIM_MS, 20 * SIM_MS);
	if (!n)
		return 0;
	if (sim_grow((void **)&L->rec, &L->caprec, L->nrec + 1,
		     sizeof(*L->rec)))
		return -ENOMEM;
	cmd.id = L->nrec + 1;
	cmd.ttl_ns = sim_between(s, 150 * SIM_MS, 400 * SIM_MS);
	rc = raft__propose(n->r, &cmd, sizeof(cmd), &index);
	if (rc == -EBUSY || rc == -ENOTCONN)
		return 0;
	if (rc)
		return rc;
	L->rec[L->nrec++] = (struct lrec){ .ttl_ns = cmd.ttl_ns,
					   .last_sent = s->now };
	c->state = LC_GRANTING;
	c->lease = cmd.id;
	c->s_ns = client_earliest(s, c);
	c->grant_node = n->id;
	c->grant_index = index;
	c->grant_term = raft__term(n->r);
	c->next_at = s->now + 3 * cmd.ttl_ns;	/* then it gives up */
	sim_trace(s, 20, cmd.id, n->id);
	return sim_node__ready(s, n);
}

static int keepalive(struct sim *s, struct lclient *c)
{
	struct lrec *r = rec_of(s->leases, c->lease);
	struct sim_node *n = a_leader(s);
	struct lmsg m = { .lease = c->lease, .s_ns = client_earliest(s, c),
			  .client = (uint32_t)(c - s->leases->clients) };

	/* Sometimes a member it takes for the leader, wrongly. */
	if (!n || sim_rand(s) % 10 == 0)
		n = &s->nodes[sim_between(s, 1, s->cfg.n_members)];
	m.node = n->id;
	r->last_sent = s->now;
	c->next_at = s->now + sim_between(s, r->ttl_ns / 10,
					  r->ttl_ns * 6 / 5);
	return send(s, m);
}

static int client_act(struct sim *s, struct lclient *c)
{
	if (s->now >= s->leases->stop_at) {
		c->next_at = UINT64_MAX;
		return 0;
	}
	if (sim_rand(s) % 10 == 0)
		c->skew_ns = skew(s);
	switch (c->state) {
	case LC_HOLDING:
		return keepalive(s, c);
	default:
		/* Not granted yet, or the grant's answer never came. */
		c->state = LC_GRANT;
		return grant(s, c);
	}
}

static void got_answer(struct sim *s, const struct lmsg *m)
{
	struct lclient *c = &s->leases->clients[m->client];
	struct lrec *r = rec_of(s->leases, m->lease);
	uint64_t until = m->s_ns + m->ttl_ns;

	if (m->ttl_ns) {
		if (until > r->held_until)
			r->held_until = until;
		if (r->expired_at && r->expired_at < until)
			sim_violation(s, "lease %llu: answered until %llu "
				      "(s + TTL), but its expiry applied at "
				      "true time %llu",
				      (unsigned long long)m->lease,
				      (unsigned long long)(until - SIM_T0),
				      (unsigned long long)(r->expired_at -
							   SIM_T0));
		s->res->lease_keepalives++;
	}
	if (c->lease != m->lease)
		return;
	if (!m->ttl_ns) {
		c->state = LC_GRANT;
		c->next_at = s->now + sim_between(s, SIM_MS, 10 * SIM_MS);
	} else if (c->state == LC_GRANTING) {
		c->state = LC_HOLDING;
		c->next_at = s->now + sim_between(s, r->ttl_ns / 10,
						  r->ttl_ns * 6 / 5);
	}
}

/* A keepalive at a member: the leader confirms its leadership first. */
static int got_keepalive(struct sim *s, const struct lmsg *m)
{
	struct lnode *ln = &s->leases->nodes[m->node];
	struct sim_node *n = &s->nodes[m->node];
	struct lpend p = { .lease = m->lease, .s_ns = m->s_ns,
			   .client = m->client };
	struct gnomon_tt tt;
	int rc;

	if (!n->up || raft__role(n->r) != RAFT_LEADER)
		return 0;	/* not the leader: no answer */
	p.read_id = ++s->next_read_id;
	if (sim_grow((void **)&ln->p, &ln->capp, ln->np + 1, sizeof(p)))
		return -ENOMEM;
	ln->p[ln->np++] = p;
	sim_tt(s, n, &tt);
	rc = raft__read(n->r, p.read_id, &tt);
	if (rc) {
		ln->np--;
		return rc == -ENOTCONN ? 0 : rc;
	}
	return sim_node__ready(s, n);
}

uint64_t sim_lease__next(const struct sim *s)
{
	const struct sim_leases *L = s->leases;
	uint64_t t = UINT64_MAX;

	if (!L)
		return t;
	for (uint32_t i = 0; i < L->n_clients; i++)
		if (L->clients[i].next_at < t)
			t = L->clients[i].next_at;
	for (size_t i = 0; i < L->nnet; i++)
		if (L->net[i].at < t)
			t = L->net[i].at;
	return t;
}

int sim_lease__events(struct sim *s)
{
	struct sim_leases *L = s->leases;
	int rc = 0;

	if (!L)
		return 0;
	for (size_t i = 0; i < L->nnet && !rc; i++) {
		struct lmsg m = L->net[i];

		if (m.at > s->now)
			continue;
		L->net[i--] = L->net[--L->nnet];
		if (m.answer)
			got_answer(s, &m);
		else
			rc = got_keepalive(s, &m);
	}
	for (uint32_t i = 0; i < L->n_clients && !rc; i++)
		if (L->clients[i].next_at <= s->now)
			rc = client_act(s, &L->clients[i]);
	return rc;
}

int sim_lease__tick(struct sim *s, struct sim_node *n)
{
	struct lnode *ln;
	struct gnomon_tt tt;
	uint64_t judge_ns, index, tick = s->now / SIM_TICK_NS;

	if (!s->leases)
		return 0;
	ln = &s->leases->nodes[n->id];
	sim_tt(s, n, &tt);
	switch (lease_judge__turn(&ln->judge,
				  raft__role(n->r) == RAFT_LEADER,
				  raft__term(n->r), &tt, &judge_ns)) {
	case LEASE_TURN_RESET:
		for (size_t i = 0; i < ln->n; i++)
			lease_clock__reset(&ln->v[i].clock, tt.latest_ns);
		return 0;
	case LEASE_TURN_SCAN:
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < ln->n; i++) {
		struct lheld *h = &ln->v[i];
		struct lcmd c = { .kind = LCMD_EXPIRE, .id = h->id };
		int rc;

		if (!lease_clock__due(&h->clock, h->ttl_ns, judge_ns,
				      tt.latest_ns, tick, RETRY_TICKS))
			continue;
		rc = raft__propose(n->r, &c, sizeof(c), &index);
		if (rc && rc != -EBUSY && rc != -ENOTCONN)
			return rc;
		sim_trace(s, 21, h->id, n->id);
	}
	return 0;
}

int sim_lease__apply(struct sim *s, struct sim_node *n,
		     const struct raft_entry *e)
{
	struct sim_leases *L = s->leases;
	struct lclient *c;
	struct lrec *r;
	struct lcmd cmd;
	bool changed;
	int rc;

	if (!L || e->type != RAFT_ENTRY_NORMAL || e->len != sizeof(cmd))
		return 0;
	memcpy(&cmd, e->data, sizeof(cmd));
	r = rec_of(L, cmd.id);
	if (!r)
		return 0;
	if (!L->nhist || e->index > L->hist[L->nhist - 1].index) {
		if (sim_grow((void **)&L->hist, &L->caphist, L->nhist + 1,
			     sizeof(*L->hist)))
			return -ENOMEM;
		L->hist[L->nhist++] = (struct lhist){ e->index, cmd };
	}
	rc = table_apply(&L->nodes[n->id], &cmd, &changed);
	if (rc || !changed)
		return rc;
	if (cmd.kind == LCMD_EXPIRE) {
		if (r->expired_at)
			return 0;
		r->expired_at = s->now;
		s->res->lease_expiries++;
		if (r->held_until > s->now)
			sim_violation(s, "lease %llu: member %u applied its "
				      "expiry at true time %llu, before %llu "
				      "(s + TTL of an answered keepalive)",
				      (unsigned long long)cmd.id, n->id,
				      (unsigned long long)(s->now - SIM_T0),
				      (unsigned long long)(r->held_until -
							   SIM_T0));
		return 0;
	}
	if (!r->granted)
		s->res->lease_grants++;
	r->granted = true;
	/* The proposer answers the grant once it applied its own entry. */
	for (uint32_t i = 0; i < L->n_clients; i++) {
		c = &L->clients[i];
		if (c->state == LC_GRANTING && c->lease == cmd.id &&
		    c->grant_node == n->id && c->grant_index == e->index &&
		    c->grant_term == e->term)
			return send(s, (struct lmsg){
				.lease = cmd.id, .s_ns = c->s_ns,
				.ttl_ns = cmd.ttl_ns, .client = i,
				.answer = true });
	}
	return 0;
}

bool sim_lease__read(struct sim *s, struct sim_node *n,
		     const struct raft_read *rd)
{
	struct lnode *ln;

	if (!s->leases)
		return false;
	ln = &s->leases->nodes[n->id];
	for (size_t i = 0; i < ln->np; i++) {
		if (ln->p[i].read_id != rd->id)
			continue;
		if (rd->status) {
			ln->p[i] = ln->p[--ln->np];
		} else {
			ln->p[i].ready = true;
			ln->p[i].index = rd->index;
		}
		return true;
	}
	return false;
}

int sim_lease__serve(struct sim *s, struct sim_node *n)
{
	struct lnode *ln;
	struct gnomon_tt tt;
	int rc = 0;

	if (!s->leases)
		return 0;
	ln = &s->leases->nodes[n->id];
	for (size_t i = 0; i < ln->np && !rc; i++) {
		struct lpend p = ln->p[i];
		struct lheld *h;
		struct lmsg m = { .lease = p.lease, .s_ns = p.s_ns,
				  .client = p.client, .answer = true };

		if (!p.ready || n->applied < p.index)
			continue;
		ln->p[i--] = ln->p[--ln->np];
		h = held_find(ln, p.lease);
		sim_tt(s, n, &tt);
		if (h && lease_clock__renew(&h->clock, tt.latest_ns))
			m.ttl_ns = h->ttl_ns;
		rc = send(s, m);
	}
	return rc;
}

int sim_lease__restore(struct sim *s, struct sim_node *n, uint64_t index)
{
	struct sim_leases *L = s->leases;
	struct lnode *ln;
	bool changed;
	int rc = 0;

	if (!L)
		return 0;
	ln = &L->nodes[n->id];
	ln->n = 0;
	if (!index) {
		/* A start: what the member kept in memory is gone. */
		ln->np = 0;
		ln->judge.term = 0;
	}
	for (size_t i = 0; i < L->nhist && L->hist[i].index <= index && !rc;
	     i++)
		rc = table_apply(ln, &L->hist[i].c, &changed);
	return rc;
}

void sim_lease__finish(struct sim *s)
{
	struct sim_leases *L = s->leases;

	if (!L)
		return;
	for (size_t i = 0; i < L->nrec; i++) {
		const struct lrec *r = &L->rec[i];

		if (r->granted && !r->expired_at &&
		    s->now - r->last_sent > 2 * r->ttl_ns + LIVE_SLACK_NS) {
			sim_violation(s, "lease %zu: not expired %llu ms after "
				      "its last renewal (TTL %llu ms)", i + 1,
				      (unsigned long long)(s->now -
							   r->last_sent) /
				      SIM_MS,
				      (unsigned long long)r->ttl_ns / SIM_MS);
			return;
		}
	}
}
