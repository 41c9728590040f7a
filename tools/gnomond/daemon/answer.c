// SPDX-License-Identifier: GPL-2.0
/*
 * Answers: the response header of this member, an answer packed from a
 * message or an error, and its delivery to where the request came from
 * (struct gd_target): a stream of a local client connection, the member
 * that forwarded the request (with this member's applied index first,
 * forward.h), or a part of the daemon that made the request itself (a
 * step of a Lock or Election call: t->done).  A client that went away
 * meanwhile (its slot's generation changed) gets nothing.  Answers are
 * logic on the daemon's state; they reach the ring only through the
 * connections' output (clients.c, peers.c), flushed once per turn.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "forward.h"

struct mvcc_header gd_answer__header(const struct gnomond *d)
{
	return (struct mvcc_header){
		.cluster_id = d->members.cluster_id,
		.member_id = d->self_id,
		.raft_term = raft__term(d->raft),
	};
}

void gd_answer__etcd_header(const struct gnomond *d,
			    Etcdserverpb__ResponseHeader *h)
{
	struct mvcc_header hdr = gd_answer__header(d);

	h->cluster_id = hdr.cluster_id;
	h->member_id = hdr.member_id;
	h->raft_term = hdr.raft_term;
	h->revision = mvcc_store__revision(d->store);
}

/* To the member that forwarded the request: the applied index, then the
 * answer (forward.h). */
static void deliver_peer(struct gnomond *d, const struct gd_target *t,
			 const struct mvcc_result *res)
{
	size_t len = FWD_RESULT_INDEX_SIZE + (res->err ? 0 : res->len);
	uint8_t *body = malloc(len);

	if (!body)
		return;		/* the member times the request out */
	for (int i = 0; i < FWD_RESULT_INDEX_SIZE; i++)
		body[i] = (uint8_t)(d->applied >> (8 * i));
	if (len > FWD_RESULT_INDEX_SIZE)
		memcpy(body + FWD_RESULT_INDEX_SIZE, res->resp, res->len);
	gd_peers__send_fwd(d, t->peer, FWD_RESULT, t->fwd_id, 0,
			   (int32_t)res->err, body, len);
	free(body);
}

void gd_answer__deliver(struct gnomond *d, const struct gd_target *t,
			const struct mvcc_result *res)
{
	struct api_session *s;

	if (t->done) {
		t->done(d, t->id, res);
		return;
	}
	if (t->peer) {
		deliver_peer(d, t, res);
		return;
	}
	s = gd_clients__session(d, t->slot, t->gen);
	if (s)
		api_session__answer(s, t->stream, res);
}

void gd_answer__fail(struct gnomond *d, const struct gd_target *t,
		     enum etcd_err err)
{
	struct mvcc_result res = { .err = err };

	gd_answer__deliver(d, t, &res);
}

void gd_answer__message(struct gnomond *d, const struct gd_target *t,
			const ProtobufCMessage *msg, enum etcd_err err)
{
	struct mvcc_result res = { .err = err };

	if (!err) {
		res.len = protobuf_c_message_get_packed_size(msg);
		res.resp = malloc(res.len ? res.len : 1);
		if (res.resp)
			protobuf_c_message_pack(msg, res.resp);
		else
			res.err = ETCD_ERR_TIMEOUT;
	}
	gd_answer__deliver(d, t, &res);
	mvcc_result__release(&res);
}
