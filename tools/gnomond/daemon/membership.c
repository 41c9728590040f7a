// SPDX-License-Identifier: GPL-2.0
/*
 * Membership changes: etcd's MemberAdd, MemberRemove, MemberPromote and
 * MemberUpdate at the leader (a follower forwards them, serve.c), and
 * their entries applied on every member.
 *
 * One change at a time.  The Raft core changes one slot per configuration
 * entry (raft.h: single-server changes; two configurations one voter apart
 * have intersecting majorities) and refuses a change while the last one is
 * not committed; this part also waits until it is applied here, so that
 * the table it checks requests against is the one the change builds on.
 * A request that comes meanwhile gets a retryable UNAVAILABLE.
 *
 *   MemberAdd      the lowest free slot, a fresh random id (never one of
 *                  the table's), ADD_LEARNER or ADD_VOTER; the answer has
 *                  the new member and the whole list
 *   MemberRemove   REMOVE; never the last voter
 *   MemberPromote  PROMOTE, only for a learner in sync with the leader as
 *                  etcd judges it: its acknowledged index at least 90% of
 *                  the leader's last (peers.c records the acks)
 *   MemberUpdate   UPDATE: new peer URLs, the same config (etcd's
 *                  ConfChangeUpdateNode): one change at a time as well,
 *                  so that an update never races an addition or removal
 *                  of the same slot
 *
 * Every change carries the slot's row (members.h) as the entry's context;
 * applying it updates the table, reconnects or drops the peer (peers.c),
 * and answers the waiting request with the list after the change.  The
 * peer URLs have that one home.  A new member's name is not a change of
 * the configuration: it publishes it once it runs (publish()) in a normal
 * entry ("GNMU", members.h), as an etcd member publishes its attributes
 * in a normal request, and that entry sets the name alone.  A
 * member that applies its own removal stops a second later (so that its
 * last answers go out), saying so, with exit status 0: restarting it would
 * not bring it back.  A snapshot from the leader brings the table whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon.h"
#include "log.h"

#define REMOVED_GRACE_MS 1000
#define PUBLISH_RETRY_MS 2000
/* etcd: a learner is ready when its match is 90% of the leader's. */
#define READY_PERCENT 90

static enum etcd_err propose(struct gnomond *d, const struct gd_target *t,
			     uint32_t op, uint32_t slot,
			     const struct gd_member_row *row)
{
	struct gd_buf ctx = { 0 };
	uint64_t index = 0;
	int rc;

	if (d->applied < d->conf_index)
		return ETCD_ERR_MEMBER_CHANGE_PENDING;
	rc = gd_member__encode_ctx(row, &ctx);
	if (!rc)
		rc = raft__propose_conf(d->raft, op, slot, ctx.p,
					(uint32_t)ctx.len, &index);
	gd_buf__free(&ctx);
	if (rc == -ENOTCONN)
		return ETCD_ERR_NOT_LEADER;
	if (rc == -EBUSY || rc == -EINVAL)
		return ETCD_ERR_MEMBER_CHANGE_PENDING;
	if (rc)
		return ETCD_ERR_TIMEOUT;
	d->conf_index = index;
	gd_requests__wait(d, t, index);
	return ETCD_OK;
}

static uint64_t new_id(const struct gnomond *d)
{
	uint64_t id = 0;

	while (!id || gd_members__by_id(&d->members, id))
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = 0;
	return id;
}

static enum etcd_err add(struct gnomond *d, const struct gd_target *t,
			 const Etcdserverpb__MemberAddRequest *r)
{
	struct gd_member_row row = { .used = true, .learner = r->islearner };
	uint32_t slot = gd_members__free_slot(&d->members);

	if (gd_members__parse_urls(&row.peer, r->peerurls, r->n_peerurls))
		return ETCD_ERR_MEMBER_BAD_URLS;
	if (gd_members__by_url(&d->members, &row.peer, 0))
		return ETCD_ERR_PEER_URL_EXIST;
	if (!slot)
		return ETCD_ERR_TOO_MANY_MEMBERS;
	row.id = new_id(d);
	return propose(d, t, row.learner ? RAFT_CONF_ADD_LEARNER :
		       RAFT_CONF_ADD_VOTER, slot, &row);
}

static bool in_sync(const struct gnomond *d, uint32_t slot)
{
	uint64_t last = raft__last_index(d->raft);

	return d->peers[slot].match * 100 >= last * READY_PERCENT;
}

static enum etcd_err change(struct gnomond *d, const struct gd_target *t,
			    enum api_method method, uint64_t id)
{
	uint32_t slot = gd_members__by_id(&d->members, id);
	struct gd_member_row row;

	if (!slot)
		return ETCD_ERR_MEMBER_NOT_FOUND;
	row = d->members.s[slot];
	if (method == API_CLUSTER_MEMBER_REMOVE) {
		if (!row.learner && gd_members__voters(&d->members) == 1)
			return ETCD_ERR_NOT_ENOUGH_STARTED;
		return propose(d, t, RAFT_CONF_REMOVE, slot, &row);
	}
	if (!row.learner)
		return ETCD_ERR_MEMBER_NOT_LEARNER;
	if (!in_sync(d, slot))
		return ETCD_ERR_LEARNER_NOT_READY;
	row.learner = false;
	return propose(d, t, RAFT_CONF_PROMOTE, slot, &row);
}

static enum etcd_err update(struct gnomond *d, const struct gd_target *t,
			    const Etcdserverpb__MemberUpdateRequest *r)
{
	uint32_t slot = gd_members__by_id(&d->members, r->id);
	struct gd_member_row row;

	if (!slot)
		return ETCD_ERR_MEMBER_NOT_FOUND;
	row = d->members.s[slot];
	if (gd_members__parse_urls(&row.peer, r->peerurls, r->n_peerurls))
		return ETCD_ERR_MEMBER_BAD_URLS;
	if (gd_members__by_url(&d->members, &row.peer, slot))
		return ETCD_ERR_PEER_URL_EXIST;
	return propose(d, t, RAFT_CONF_UPDATE, slot, &row);
}

static const ProtobufCMessageDescriptor *descriptor(enum api_method m)
{
	switch (m) {
	case API_CLUSTER_MEMBER_ADD:
		return &etcdserverpb__member_add_request__descriptor;
	case API_CLUSTER_MEMBER_REMOVE:
		return &etcdserverpb__member_remove_request__descriptor;
	case API_CLUSTER_MEMBER_UPDATE:
		return &etcdserverpb__member_update_request__descriptor;
	case API_CLUSTER_MEMBER_PROMOTE:
		return &etcdserverpb__member_promote_request__descriptor;
	default:
		return NULL;
	}
}

void gd_membership__request(struct gnomond *d, const struct gd_target *t,
			    enum api_method method, const uint8_t *body,
			    size_t len)
{
	const ProtobufCMessageDescriptor *desc = descriptor(method);
	ProtobufCMessage *m = desc ? protobuf_c_message_unpack(desc, NULL, len,
							       body) : NULL;
	enum etcd_err err;

	if (!m) {
		gd_answer__fail(d, t, ETCD_ERR_BAD_COMMAND);
		return;
	}
	if (raft__role(d->raft) != RAFT_LEADER)
		err = ETCD_ERR_NOT_LEADER;
	else if (method == API_CLUSTER_MEMBER_ADD)
		err = add(d, t, (Etcdserverpb__MemberAddRequest *)m);
	else if (method == API_CLUSTER_MEMBER_UPDATE)
		err = update(d, t, (Etcdserverpb__MemberUpdateRequest *)m);
	else
		err = change(d, t, method,
			     method == API_CLUSTER_MEMBER_REMOVE ?
			     ((Etcdserverpb__MemberRemoveRequest *)m)->id :
			     ((Etcdserverpb__MemberPromoteRequest *)m)->id);
	protobuf_c_message_free_unpacked(m, NULL);
	if (err)
		gd_answer__fail(d, t, err);
}

/* The answer to @method: the list after it (and the new member). */
static void answer(struct gnomond *d, enum api_method method, uint64_t id,
		   struct mvcc_result *res)
{
	struct mvcc_header hdr = gd_answer__header(d);
	const struct api_member *added = NULL;
	struct gd_member_list *l = malloc(sizeof(*l));

	if (!l) {
		res->err = ETCD_ERR_TIMEOUT;
		return;
	}
	gd_peers__list(d, l);
	for (size_t i = 0; i < l->n; i++)
		if (l->m[i].id == id)
			added = &l->m[i];
	if (api_member_change__pack(method, &hdr,
				    mvcc_store__revision(d->store), added,
				    l->m, l->n, &res->resp, &res->len))
		res->err = ETCD_ERR_TIMEOUT;
	free(l);
}

static void removed(struct gnomond *d)
{
	if (d->removed_tick)
		return;
	gd_warn("this member was removed from the cluster: it stops serving "
		"and exits (to bring it back: etcdctl member add, then start "
		"it on an empty data directory with --initial-cluster-state "
		"existing)");
	d->removed_tick = d->ticks + REMOVED_GRACE_MS / d->cfg.heartbeat_ms +
			  1;
}

static const char *const op_names[] = {
	[RAFT_CONF_ADD_LEARNER] = "added as a learner",
	[RAFT_CONF_ADD_VOTER] = "added as a voter",
	[RAFT_CONF_PROMOTE] = "promoted to a voter",
	[RAFT_CONF_REMOVE] = "removed",
	[RAFT_CONF_UPDATE] = "updated",
};

static const enum api_method op_methods[] = {
	[RAFT_CONF_ADD_LEARNER] = API_CLUSTER_MEMBER_ADD,
	[RAFT_CONF_ADD_VOTER] = API_CLUSTER_MEMBER_ADD,
	[RAFT_CONF_PROMOTE] = API_CLUSTER_MEMBER_PROMOTE,
	[RAFT_CONF_REMOVE] = API_CLUSTER_MEMBER_REMOVE,
	[RAFT_CONF_UPDATE] = API_CLUSTER_MEMBER_UPDATE,
};

int gd_membership__apply_conf(struct gnomond *d, const struct raft_entry *e,
			      struct mvcc_result *res)
{
	struct gd_member_row row, *s;
	struct raft_conf_change cc;
	uint32_t voters, learners;
	bool moved;

	if (raft_conf__decode(e, &cc) || cc.op < RAFT_CONF_ADD_LEARNER ||
	    cc.op > RAFT_CONF_UPDATE || cc.slot < 1 ||
	    cc.slot > RAFT_MAX_MEMBERS ||
	    gd_member__decode_ctx(&row, cc.ctx, cc.ctx_len)) {
		gd_err("configuration entry %llu: malformed member record",
		       (unsigned long long)e->index);
		return -EBADMSG;
	}
	s = &d->members.s[cc.slot];
	/* An update replayed by a member that joined later: the slot may be
	 * another member's by now (the leader checked it against its table). */
	if (cc.op == RAFT_CONF_UPDATE && s->id != row.id) {
		res->err = ETCD_ERR_MEMBER_NOT_FOUND;
		return 0;
	}
	moved = memcmp(&s->peer, &row.peer, sizeof(row.peer));
	if (cc.op == RAFT_CONF_REMOVE) {
		memset(s, 0, sizeof(*s));
	} else if (cc.op == RAFT_CONF_PROMOTE) {
		s->learner = false;
	} else if (cc.op == RAFT_CONF_UPDATE) {
		s->peer = row.peer;
	} else {
		*s = row;
		s->learner = cc.op == RAFT_CONF_ADD_LEARNER;
	}
	gd_info("member %llx (slot %u) %s at index %llu%s%s",
		(unsigned long long)row.id, cc.slot, op_names[cc.op],
		(unsigned long long)e->index,
		cc.op == RAFT_CONF_UPDATE ? ": peer URLs now " : "",
		cc.op == RAFT_CONF_UPDATE ? row.peer.v[0].text : "");
	/* A member that joined replays entries older than its table. */
	gd_members__masks(&d->members, &voters, &learners);
	if (voters != cc.after.voters || learners != cc.after.learners)
		gd_debug("the member table (voters %#x, learners %#x) differs "
			"from the Raft configuration (%#x, %#x)", voters,
			learners, cc.after.voters, cc.after.learners);
	/* A promotion, or an update that moves nothing, keeps the
	 * connections (and the answers on them). */
	if (cc.op != RAFT_CONF_PROMOTE && (cc.op != RAFT_CONF_UPDATE || moved))
		gd_peers__changed(d, cc.slot);
	/* The slot may have been another member's, earlier in the log. */
	if (cc.slot == d->cfg.self && row.id == d->self_id &&
	    cc.op == RAFT_CONF_REMOVE)
		removed(d);
	answer(d, op_methods[cc.op], row.id, res);
	return 0;
}

/* A member's name, published (publish()): the name alone. */
void gd_membership__apply_update(struct gnomond *d, const struct raft_entry *e,
				 struct mvcc_result *res)
{
	struct gd_member_row row, *s;
	uint32_t slot;

	if (gd_member__decode_update(&slot, &row, e->data, e->len) ||
	    d->members.s[slot].id != row.id) {
		res->err = ETCD_ERR_MEMBER_NOT_FOUND;
		return;
	}
	s = &d->members.s[slot];
	if (row.name[0] && !s->name[0]) {
		gd_info("member %llx (slot %u) started as %s",
			(unsigned long long)row.id, slot, row.name);
		memcpy(s->name, row.name, sizeof(row.name));
	}
	answer(d, API_CLUSTER_MEMBER_UPDATE, row.id, res);
}

void gd_membership__replace(struct gnomond *d, const struct gd_members *t)
{
	struct gd_members old = d->members;

	d->members = *t;
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		if (old.s[s].used != t->s[s].used || old.s[s].id != t->s[s].id ||
		    memcmp(&old.s[s].peer, &t->s[s].peer, sizeof(t->s[s].peer)))
			gd_peers__changed(d, s);
}

int gd_membership__boot_table(struct gnomond *d, const struct gd_members *t)
{
	uint32_t slot = gd_members__by_url(t, &d->cfg.advertise_peer, 0);

	if (!slot) {
		gd_err("%s: this member (peer URL %s) is not in the member "
		       "table of its data directory: it was removed from the "
		       "cluster.  To bring it back: etcdctl member add, then "
		       "start it on an empty data directory with "
		       "--initial-cluster-state existing", d->cfg.data_dir,
		       d->cfg.advertise_peer.v[0].text);
		return -ENOENT;
	}
	d->members = *t;
	d->cfg.self = slot;
	d->self_id = t->s[slot].id;
	return 0;
}

/*
 * A removed member may never apply its removal: the leader stops sending
 * to it once it holds the entry (raft.h).  The configuration in its log
 * takes effect at once, though: a member that finds itself out of it for
 * two election timeouts (an uncommitted change that a new leader drops
 * is gone within one) treats itself as removed; but only once it has been
 * in it: a member that joined replays older entries first, which may
 * name its slot as another member's.
 */
static void removed_in_log(struct gnomond *d)
{
	static uint64_t since;
	static bool seen;
	struct raft_membership m;
	uint32_t all;

	raft__membership(d->raft, &m);
	all = m.voters | m.learners;
	if (all & (1u << d->cfg.self))
		seen = true;
	if (!seen || (all & (1u << d->cfg.self))) {
		since = 0;
		return;
	}
	if (!since)
		since = d->ticks;
	else if (d->ticks - since >= 2ull * d->cfg.election_ms /
		 d->cfg.heartbeat_ms)
		removed(d);
}

/*
 * A member added at run time has no name in its row ("unstarted", as etcd
 * lists it) until it publishes its name, as etcd members publish their
 * attributes: an update entry, proposed through the leader as a write.
 * A started member's slot is never joined again (join.c): a member that
 * lost its data directory must be removed and added back.
 */
static void publish(struct gnomond *d)
{
	static uint64_t next;
	struct gd_member_row row = d->members.s[d->cfg.self];
	struct gd_target none = { .slot = GD_MAX_CLIENTS };
	struct gd_buf cmd = { 0 };

	if (!row.used || row.name[0] || d->removed_tick ||
	    !raft__leader(d->raft) || d->ticks < next)
		return;
	next = d->ticks + PUBLISH_RETRY_MS / d->cfg.heartbeat_ms + 1;
	snprintf(row.name, sizeof(row.name), "%s", d->cfg.name);
	if (!gd_member__encode_update(d->cfg.self, &row, &cmd))
		gd_requests__write(d, &none, API_KV_PUT, cmd.p, cmd.len);
	gd_buf__free(&cmd);
}

void gd_membership__tick(struct gnomond *d)
{
	publish(d);
	removed_in_log(d);
	if (d->removed_tick && d->ticks >= d->removed_tick && !d->stop) {
		gd_info("removed from the cluster: exiting");
		d->stop = true;
	}
}
