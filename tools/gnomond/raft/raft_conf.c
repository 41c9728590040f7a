// SPDX-License-Identifier: GPL-2.0
/*
 * Membership changes: the conf entry's encoding, the rules for one change,
 * and the config in effect (raft.h, "Membership", gives the design).
 *
 * The config in effect is the one of the latest conf entry in the log, or,
 * with none after the snapshot, the snapshot's (r->snap.membership; for a
 * log that starts at index 0, voters 1..n_members).  It is set when a conf
 * entry is appended (raft_conf__appended) and found again by scanning the
 * log backwards after the log lost its tail or was replaced
 * (raft_conf__reload): a truncated uncommitted change rolls back that way.
 * Scans are rare (truncation, snapshot install, boot, snapshot taken) and
 * stop at the first conf entry.
 *
 * The leader accepts a change only if the previous one is committed and
 * it has committed an entry of its term: then any leader of a later term
 * holds this config or the one before it (the previous one is committed,
 * and no conf entry of an older term can sit after this leader's first
 * committed entry), and two configs a slot apart have intersecting
 * majorities.  Newly added slots get fresh progress; the slot removed last
 * keeps getting appends and heartbeats, counted for no quorum, until the
 * next change (so it learns its removal and its commit, and stays quiet);
 * a leader that removed
 * itself counts no vote of its own, and once the removal commits it sends
 * that commit to everyone in one more round and steps down.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_internal.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void raft_conf__encode(const struct raft_conf_change *cc, uint8_t *buf)
{
	put32(buf, cc->op);
	put32(buf + 4, cc->slot);
	put32(buf + 8, cc->after.voters);
	put32(buf + 12, cc->after.learners);
	if (cc->ctx_len)
		memcpy(buf + RAFT_CONF_HEADER, cc->ctx, cc->ctx_len);
}

bool raft_conf__valid(const struct raft_membership *m)
{
	return !((m->voters | m->learners) & ~RAFT_SLOTS_MASK) &&
	       !(m->voters & m->learners);
}

static bool slot_valid(uint32_t slot)
{
	return slot >= 1 && slot <= RAFT_MAX_MEMBERS;
}

int raft_conf__decode(const struct raft_entry *e, struct raft_conf_change *cc)
{
	uint32_t bit;

	if (e->type != RAFT_ENTRY_CONF || e->len < RAFT_CONF_HEADER ||
	    !e->data)
		return -EINVAL;
	cc->op = get32(e->data);
	cc->slot = get32(e->data + 4);
	cc->after.voters = get32(e->data + 8);
	cc->after.learners = get32(e->data + 12);
	cc->ctx_len = e->len - RAFT_CONF_HEADER;
	cc->ctx = cc->ctx_len ? e->data + RAFT_CONF_HEADER : NULL;
	if (!slot_valid(cc->slot) || !raft_conf__valid(&cc->after) ||
	    !cc->after.voters)
		return -EINVAL;
	/* The slot ends up where the op puts it. */
	bit = 1U << cc->slot;
	switch (cc->op) {
	case RAFT_CONF_ADD_LEARNER:
		return cc->after.learners & bit ? 0 : -EINVAL;
	case RAFT_CONF_ADD_VOTER:
	case RAFT_CONF_PROMOTE:
		return cc->after.voters & bit ? 0 : -EINVAL;
	case RAFT_CONF_REMOVE:
		return (cc->after.voters | cc->after.learners) & bit ?
		       -EINVAL : 0;
	case RAFT_CONF_UPDATE:
		return (cc->after.voters | cc->after.learners) & bit ?
		       0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

int raft_conf__apply(const struct raft_membership *cur, uint32_t op,
		     uint32_t slot, struct raft_membership *after)
{
	uint32_t bit = 1U << slot;

	if (!slot_valid(slot))
		return -EINVAL;
	*after = *cur;
	switch (op) {
	case RAFT_CONF_ADD_LEARNER:
	case RAFT_CONF_ADD_VOTER:
		if ((cur->voters | cur->learners) & bit)
			return -EINVAL;
		if (op == RAFT_CONF_ADD_LEARNER)
			after->learners |= bit;
		else
			after->voters |= bit;
		return 0;
	case RAFT_CONF_PROMOTE:
		if (!(cur->learners & bit))
			return -EINVAL;
		after->learners &= ~bit;
		after->voters |= bit;
		return 0;
	case RAFT_CONF_REMOVE:
		if (!((cur->voters | cur->learners) & bit))
			return -EINVAL;
		after->voters &= ~bit;
		after->learners &= ~bit;
		return after->voters ? 0 : -EINVAL;
	case RAFT_CONF_UPDATE:
		return (cur->voters | cur->learners) & bit ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* The config as of index (>= the snapshot's, in the log): the latest conf
 * entry up to index, else the snapshot's.  *at: that entry's index. */
static void config_at(const struct raft *r, uint64_t index,
		      struct raft_membership *m, uint64_t *at)
{
	for (uint64_t i = index; i > r->log.offset; i--) {
		const struct raft_entry *e = raft_log__get(&r->log, i);
		struct raft_conf_change cc;

		if (e->type == RAFT_ENTRY_CONF && !raft_conf__decode(e, &cc)) {
			*m = cc.after;
			*at = i;
			return;
		}
	}
	*m = r->snap.membership;
	*at = 0;
}

static void progress_reset(struct raft *r, uint32_t slot)
{
	struct raft_progress *p = &r->prs[slot];

	memset(p, 0, sizeof(*p));
	/* Every message from now on carries a read context above what the
	 * slot's previous holder could echo. */
	p->ctx_floor = ++r->read_ctx;
	p->next = raft_log__last(&r->log) + 1;
	p->probe = true;
	p->heartbeat_due = true;
	p->active = true;
}

static void set_config(struct raft *r, const struct raft_membership *m,
		       uint64_t index)
{
	uint32_t added = (m->voters | m->learners) &
			 ~(r->conf.voters | r->conf.learners);

	r->conf = *m;
	r->conf_index = index;
	r->leaving_slot = 0;
	if (r->role != RAFT_LEADER)
		return;
	raft_for_each_slot(s, added)
		if (s != r->cfg.self)
			progress_reset(r, s);
}

void raft_conf__appended(struct raft *r, const struct raft_entry *e)
{
	struct raft_conf_change cc;

	if (e->type == RAFT_ENTRY_CONF && !raft_conf__decode(e, &cc))
		set_config(r, &cc.after, e->index);
}

void raft_conf__reload(struct raft *r)
{
	struct raft_membership m;
	uint64_t at;

	config_at(r, raft_log__last(&r->log), &m, &at);
	set_config(r, &m, at);
}

/*
 * A leader whose removal has committed: one more round of appends carries
 * the commit to every member, then it steps down.  Called from
 * raft__ready() before the appends are built.
 */
int raft_conf__maybe_step_down(struct raft *r)
{
	int rc;

	if (r->role != RAFT_LEADER || (r->conf.voters & (1U << r->cfg.self)) ||
	    r->hs.commit < r->conf_index)
		return 0;
	raft_for_each_slot(s, raft_peers(r))
		r->prs[s].heartbeat_due = true;
	rc = raft_replicate__flush(r);
	raft_become_follower(r, r->hs.term, 0);
	return rc;
}

int raft__propose_conf(struct raft *r, uint32_t op, uint32_t slot,
		       const void *ctx, uint32_t ctx_len, uint64_t *index)
{
	struct raft_conf_change cc = {
		.op = op, .slot = slot, .ctx = ctx, .ctx_len = ctx_len,
	};
	bool twice = r->cfg.fault_flags & RAFT_FAULT_CONF_TWICE;
	uint8_t *buf;
	int rc = raft_can_propose(r);

	if (rc)
		return rc;
	if (!twice && (r->conf_index > r->hs.commit || !r->committed_in_term))
		return -EBUSY;
	if ((ctx_len && !ctx) || ctx_len > UINT32_MAX - RAFT_CONF_HEADER)
		return -EINVAL;
	rc = raft_conf__apply(&r->conf, op, slot, &cc.after);
	if (rc)
		return rc;
	buf = malloc(RAFT_CONF_HEADER + ctx_len);
	if (!buf)
		return -ENOMEM;
	raft_conf__encode(&cc, buf);
	rc = raft_log__append(&r->log, r->hs.term, RAFT_ENTRY_CONF, buf,
			      RAFT_CONF_HEADER + ctx_len);
	free(buf);
	if (rc)
		return rc;
	set_config(r, &cc.after, raft_log__last(&r->log));
	if (op == RAFT_CONF_REMOVE && slot != r->cfg.self)
		r->leaving_slot = slot;
	if (index)
		*index = r->conf_index;
	return raft_replicate__maybe_commit(r);
}

void raft__membership(const struct raft *r, struct raft_membership *m)
{
	*m = r->conf;
}

int raft__membership_at(const struct raft *r, uint64_t index,
			struct raft_membership *m)
{
	uint64_t at;

	if (index < r->snap.index || index > raft_log__last(&r->log))
		return -EINVAL;
	config_at(r, index, m, &at);
	return 0;
}
