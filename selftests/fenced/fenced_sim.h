/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The randomized simulation behind fenced_core_test.c, in 1 ms ticks of
 * true time.  Three agents (each fenced_core + a kernel lease + an
 * application writing through it), a gnomond model (sessions with a TTL,
 * one lock, tokens = a rising revision, E = the ended holder's max received
 * s + TTL, random revocations), a disk with optional SCSI-3 PR, and per-
 * direction in-order channels with random delays and cuts longer than the
 * TTL.  Agent processes pause at random (the kernel and the application go
 * on).  Each agent's TT.now() readings err by up to its own bound but always
 * contain true time: the bound the whole design assumes.
 */
#ifndef GNOMON_FENCED_SIM_H
#define GNOMON_FENCED_SIM_H

#define SIM_AGENTS	3
#define SIM_TICKS	8000
#define SIM_MSGS	4096
#define SIM_BOUND	(20 * MS)

struct sim_conf {
	int64_t margin;
	bool pr;
	int64_t io_max;
};

struct sim_result {
	uint64_t landed, refused, takeovers, revokes, stale, invariant;
	char first[200];
};

enum sim_kind { M_KA_REQ, M_KA_RESP, M_LOCKED, M_LOST, M_PREEMPTED, M_LAND };

struct sim_msg {
	int64_t due;
	enum sim_kind kind;
	int agent;
	uint64_t sess;
	int64_t s, ttl, prev_end;
	uint64_t token, prev_token;
};

struct sim_agent {
	struct fenced_core core;
	int64_t bound;		/* its clock error bound */
	uint64_t sess;		/* 0: none */
	int64_t restart_at, last_ka, paused_until;
	int64_t ans_bound;	/* true max answered s + ttl, this session */
	bool kset;
	uint64_t ktoken, waited_token;
	int64_t kend;
	int64_t chan_up, chan_down;
};

struct sim_server {
	bool alive[SIM_AGENTS];
	uint64_t sess[SIM_AGENTS];
	int64_t erec[SIM_AGENTS];
	int holder;
	uint64_t rev, last_token;
	int64_t last_end;
};

struct sim {
	const struct sim_conf *conf;
	struct sim_result *r;
	uint64_t rng;
	int64_t now;
	uint64_t next_sess, max_grant, disk_key, disk_max;
	struct sim_agent a[SIM_AGENTS];
	struct sim_server srv;
	struct sim_msg q[SIM_MSGS];
	int nq;
};

static int64_t sim_rand(struct sim *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(ktap_rng(&s->rng) % (uint64_t)(hi - lo + 1));
}

__attribute__((format(printf, 3, 4)))
static void sim_bad(struct sim *s, uint64_t *counter, const char *fmt, ...)
{
	va_list ap;

	if (!s->r->stale && !s->r->invariant) {
		va_start(ap, fmt);
		vsnprintf(s->r->first, sizeof(s->r->first), fmt, ap);
		va_end(ap);
	}
	(*counter)++;
}

static void sim_send(struct sim *s, struct sim_msg m, int64_t *chan)
{
	int64_t d = sim_rand(s, 1, 10) * MS;

	if (chan && sim_rand(s, 0, 99) < 2)
		d = sim_rand(s, 500, 2500) * MS;	/* a cut */
	m.due = s->now + d;
	if (chan) {
		if (m.due < *chan)
			m.due = *chan;
		*chan = m.due;
	}
	if (s->nq < SIM_MSGS)
		s->q[s->nq++] = m;
}

static struct fenced_tt sim_tt(struct sim *s, int i)
{
	return (struct fenced_tt){
		.earliest = s->now - sim_rand(s, 0, s->a[i].bound),
		.latest = s->now + sim_rand(s, 0, s->a[i].bound) };
}

static void sim_step(struct sim *s, int i, struct fenced_event ev)
{
	struct sim_agent *ag = &s->a[i];
	struct fenced_action act[FENCED_ACTIONS_MAX];
	struct fenced_tt now = sim_tt(s, i);
	int n, k;

	n = fenced_core__step(&ag->core, &ev, now, act);
	if (ev.type == FENCED_EV_KA_SENT && n == 0)
		sim_send(s, (struct sim_msg){ .kind = M_KA_REQ, .agent = i, .sess = ag->sess,
					      .s = now.earliest }, &ag->chan_up);
	for (k = 0; k < n; k++) {
		struct fenced_action *x = &act[k];

		switch (x->type) {
		case FENCED_ACT_WAIT_UNTIL:
			break;
		case FENCED_ACT_PR_TAKEOVER:
			if (now.earliest <= ag->core.prev_end)
				sim_bad(s, &s->r->invariant, "PR for %llu before the wait",
					(unsigned long long)x->token);
			ag->waited_token = x->token;
			sim_send(s, (struct sim_msg){ .kind = M_PREEMPTED, .agent = i,
						      .sess = ag->sess, .token = x->token }, NULL);
			break;
		case FENCED_ACT_GRANT:
		case FENCED_ACT_RENEW:
			if (x->at > ag->ans_bound - s->conf->margin)
				sim_bad(s, &s->r->invariant, "kernel end past s+TTL-margin");
			if (x->type == FENCED_ACT_GRANT &&
			    (x->token <= s->max_grant || ag->waited_token != x->token ||
			     s->disk_key != x->token))
				sim_bad(s, &s->r->invariant, "grant %llu: max %llu key %llu",
					(unsigned long long)x->token,
					(unsigned long long)s->max_grant,
					(unsigned long long)s->disk_key);
			if (x->token > s->max_grant)
				s->max_grant = x->token;
			ag->kset = true;
			ag->ktoken = x->token;
			ag->kend = x->at;
			break;
		case FENCED_ACT_RELEASE:
			ag->kset = false;
			break;
		case FENCED_ACT_GIVE_UP:
			ag->sess = 0;
			ag->restart_at = s->now + sim_rand(s, 1, 300) * MS;
			break;
		}
	}
}

static void sim_end_session(struct sim *s, int i, bool revoke)
{
	struct sim_server *v = &s->srv;

	v->alive[i] = false;
	if (v->holder == i) {
		v->holder = -1;
		/* a running max: a short-lived holder's E can be earlier */
		if (v->erec[i] > v->last_end)
			v->last_end = v->erec[i];
		s->r->revokes += revoke;
	}
	sim_send(s, (struct sim_msg){ .kind = M_LOST, .agent = i, .sess = v->sess[i] },
		 &s->a[i].chan_down);
}

static void sim_server_recv(struct sim *s, const struct sim_msg *m)
{
	struct sim_server *v = &s->srv;
	int i = m->agent;
	int64_t ttl = TTL;

	if (m->sess != v->sess[i]) {
		if (m->sess < v->sess[i])
			return;
		if (v->alive[i])
			sim_end_session(s, i, false);
		v->sess[i] = m->sess;
		v->alive[i] = true;
		v->erec[i] = m->s + TTL;
	}
	if (!v->alive[i])
		ttl = 0;
	else if (m->s + TTL > v->erec[i])
		v->erec[i] = m->s + TTL;
	sim_send(s, (struct sim_msg){ .kind = M_KA_RESP, .agent = i, .sess = m->sess,
				      .s = m->s, .ttl = ttl }, &s->a[i].chan_down);
}

static void sim_agent_recv(struct sim *s, const struct sim_msg *m)
{
	struct sim_agent *ag = &s->a[m->agent];

	if (m->sess != ag->sess)
		return;
	switch (m->kind) {
	case M_KA_RESP:
		if (m->ttl > 0 && m->s + m->ttl > ag->ans_bound)
			ag->ans_bound = m->s + m->ttl;
		sim_step(s, m->agent, (struct fenced_event){
			.type = FENCED_EV_KA_ANSWERED, .ttl_ns = m->ttl });
		break;
	case M_LOCKED:
		sim_step(s, m->agent, (struct fenced_event){
			.type = FENCED_EV_LOCKED, .token = m->token,
			.prev_token = m->prev_token, .prev_end = m->prev_end });
		break;
	case M_LOST:
		sim_step(s, m->agent, (struct fenced_event){ .type = FENCED_EV_LOST });
		ag->sess = 0;
		ag->restart_at = s->now + sim_rand(s, 1, 300) * MS;
		break;
	case M_PREEMPTED:
		if (m->token > s->disk_key)
			s->disk_key = m->token;
		sim_step(s, m->agent, (struct fenced_event){
			.type = FENCED_EV_PREEMPTED, .ok = true });
		break;
	default:
		break;
	}
}

static void sim_land(struct sim *s, const struct sim_msg *m)
{
	if (s->conf->pr && m->token != s->disk_key) {
		s->r->refused++;
		return;
	}
	s->r->landed++;
	if (m->token < s->disk_max)
		sim_bad(s, &s->r->stale, "token %llu landed after %llu at %lld ms",
			(unsigned long long)m->token, (unsigned long long)s->disk_max,
			(long long)(s->now / MS));
	else
		s->disk_max = m->token;
}

static void sim_deliver(struct sim *s)
{
	int k = 0;

	while (k < s->nq) {
		struct sim_msg m = s->q[k];

		if (m.due > s->now ||
		    (m.kind != M_KA_REQ && m.kind != M_LAND &&
		     s->a[m.agent].paused_until > s->now)) {
			k++;
			continue;
		}
		s->q[k] = s->q[--s->nq];
		if (m.kind == M_KA_REQ)
			sim_server_recv(s, &m);
		else if (m.kind == M_LAND)
			sim_land(s, &m);
		else
			sim_agent_recv(s, &m);
	}
}

static void sim_server_tick(struct sim *s)
{
	struct sim_server *v = &s->srv;
	int i, pick;

	for (i = 0; i < SIM_AGENTS; i++) {
		if (v->alive[i] && s->now > v->erec[i])
			sim_end_session(s, i, false);
		else if (v->alive[i] && v->holder == i && sim_rand(s, 0, 1999) == 0)
			sim_end_session(s, i, true);
	}
	if (v->holder >= 0)
		return;
	pick = (int)sim_rand(s, 0, SIM_AGENTS - 1);
	for (i = 0; i < SIM_AGENTS; i++, pick = (pick + 1) % SIM_AGENTS)
		if (v->alive[pick])
			break;
	if (i == SIM_AGENTS)
		return;
	v->holder = pick;
	s->r->takeovers++;
	sim_send(s, (struct sim_msg){ .kind = M_LOCKED, .agent = pick, .sess = v->sess[pick],
				      .token = ++v->rev, .prev_token = v->last_token,
				      .prev_end = v->last_end }, &s->a[pick].chan_down);
	v->last_token = v->rev;
}

static void sim_agent_tick(struct sim *s, int i)
{
	struct sim_agent *ag = &s->a[i];
	struct fenced_tt r;

	/* the application writes through the kernel whatever the agent does */
	if (sim_rand(s, 0, 3) == 0 && ag->kset) {
		r = sim_tt(s, i);
		if (r.latest < ag->kend && s->nq < SIM_MSGS)
			s->q[s->nq++] = (struct sim_msg){ .kind = M_LAND, .agent = i,
				.token = ag->ktoken,
				.due = s->now + sim_rand(s, 0, s->conf->io_max) };
	}
	if (ag->paused_until > s->now)
		return;
	if (sim_rand(s, 0, 2999) == 0)
		ag->paused_until = s->now + sim_rand(s, 200, 3000) * MS;
	if (!ag->sess) {
		if (s->now < ag->restart_at)
			return;
		ag->sess = ++s->next_sess;
		ag->ans_bound = 0;
		ag->last_ka = s->now;
		sim_step(s, i, (struct fenced_event){ .type = FENCED_EV_KA_SENT });
		return;
	}
	if (s->now - ag->last_ka >= 300 * MS) {
		ag->last_ka = s->now;
		sim_step(s, i, (struct fenced_event){ .type = FENCED_EV_KA_SENT });
	}
	if (ag->sess)
		sim_step(s, i, (struct fenced_event){ .type = FENCED_EV_TIMER });
}

static void sim_run(uint64_t seed, const struct sim_conf *conf, struct sim_result *r)
{
	static struct sim s;
	int i, tick;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.r = r;
	s.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	s.srv.holder = -1;
	s.now = 1000000 * MS;
	for (i = 0; i < SIM_AGENTS; i++) {
		fenced_core__init(&s.a[i].core, conf->margin);
		s.a[i].bound = sim_rand(&s, 0, SIM_BOUND);
	}
	for (tick = 0; tick < SIM_TICKS; tick++, s.now += MS) {
		sim_deliver(&s);
		sim_server_tick(&s);
		for (i = 0; i < SIM_AGENTS; i++)
			sim_agent_tick(&s, i);
	}
}

#endif
