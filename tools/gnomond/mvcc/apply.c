// SPDX-License-Identifier: GPL-2.0
/*
 * The request-level API of the MVCC state machine (mvcc.h): store life
 * cycle, reads, and apply(), which decodes a command from the log, runs it
 * and packs the response before returning, so the response never refers
 * to store memory that a later command could free.
 *
 * Command format: byte 0 = MVCC_CMD_VERSION, byte 1 = enum mvcc_cmd_type,
 * then the etcd request message in protobuf encoding.  The request as the
 * client sent it is the log payload: no second encoding, and a member of
 * any version decodes it with the same .proto.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "locks.h"
#include "ops.h"
#include "txn.h"

int mvcc_store__new(struct mvcc_store **out, uint64_t quota_bytes)
{
	struct mvcc_store *s = malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	mvcc_core__init(s, quota_bytes);
	*out = s;
	return 0;
}

void mvcc_store__free(struct mvcc_store *s)
{
	if (!s)
		return;
	mvcc_core__destroy(s);
	lease_table__destroy(&s->leases);
	locks_table__destroy(&s->locks);
	free(s);
}

int64_t mvcc_store__revision(const struct mvcc_store *s)
{
	return s->rev;
}

int64_t mvcc_store__compact_revision(const struct mvcc_store *s)
{
	return s->compact_rev;
}

uint64_t mvcc_store__size(const struct mvcc_store *s)
{
	return s->used;
}

bool mvcc_store__alarm_text(const struct mvcc_store *s, size_t i, char *buf,
			    size_t size)
{
	const ProtobufCEnumValue *v;

	if (i >= s->n_alarms)
		return false;
	v = protobuf_c_enum_descriptor_get_value(
		&etcdserverpb__alarm_type__descriptor, (int)s->alarms[i].type);
	snprintf(buf, size, "memberID:%llu alarm:%s",
		 (unsigned long long)s->alarms[i].member, v ? v->name : "?");
	return true;
}

size_t mvcc_store__key_records(const struct mvcc_store *s)
{
	return s->idx.count;
}

void mvcc_result__release(struct mvcc_result *res)
{
	free(res->resp);
	memset(res, 0, sizeof(*res));
}

static void fill_header(Etcdserverpb__ResponseHeader *h,
			const struct mvcc_header *hdr)
{
	h->cluster_id = hdr->cluster_id;
	h->member_id = hdr->member_id;
	h->raft_term = hdr->raft_term;
}

/* Finish a request: an etcd error, or the response packed. */
static int finish(struct arena *a, int ret, enum etcd_err err,
		  const ProtobufCMessage *msg, Etcdserverpb__ResponseHeader *h,
		  const struct mvcc_header *hdr, struct mvcc_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!ret && err)
		res->err = err;
	else if (!ret && msg) {
		fill_header(h, hdr);
		ret = ops_pack(msg, res);
	} else if (!ret) {
		ret = -ENOMEM;
	}
	arena__release(a);
	return ret;
}

int mvcc_store__range(struct mvcc_store *s, const struct mvcc_header *hdr,
		      const Etcdserverpb__RangeRequest *req,
		      struct mvcc_result *res)
{
	Etcdserverpb__RangeResponse *resp;
	struct arena a = { 0 };
	enum etcd_err err = ops_range(s, &a, req, &resp);

	return finish(&a, 0, err, resp ? &resp->base : NULL,
		      resp ? resp->header : NULL, hdr, res);
}

/* An AlarmResponse listing the alarms v[0..n). */
static int alarm_answer(const struct mvcc_store *s,
			const struct mvcc_header *hdr,
			const struct mvcc_alarm *v, uint32_t n,
			struct mvcc_result *res)
{
	Etcdserverpb__AlarmResponse resp = ETCDSERVERPB__ALARM_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	Etcdserverpb__AlarmMember m[MVCC_MAX_ALARMS];
	Etcdserverpb__AlarmMember *mp[MVCC_MAX_ALARMS];

	assert(n <= MVCC_MAX_ALARMS);
	for (uint32_t i = 0; i < n; i++) {
		etcdserverpb__alarm_member__init(&m[i]);
		m[i].memberid = v[i].member;
		m[i].alarm = v[i].type;
		mp[i] = &m[i];
	}
	h.revision = s->rev;
	fill_header(&h, hdr);
	resp.header = &h;
	resp.alarms = mp;
	resp.n_alarms = n;
	return ops_pack(&resp.base, res);
}

static int apply_compact(struct mvcc_store *s, const struct mvcc_header *hdr,
			 const Etcdserverpb__CompactionRequest *r,
			 struct mvcc_result *res)
{
	Etcdserverpb__CompactionResponse resp =
		ETCDSERVERPB__COMPACTION_RESPONSE__INIT;
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;

	memset(res, 0, sizeof(*res));
	if (r->revision > s->rev) {
		res->err = ETCD_ERR_FUTURE_REV;
		return 0;
	}
	if (r->revision <= s->compact_rev) {
		res->err = ETCD_ERR_COMPACTED;
		return 0;
	}
	if (mvcc_core__compact(s, r->revision))
		return -ENOMEM;
	h.revision = s->rev;
	fill_header(&h, hdr);
	resp.header = &h;
	return ops_pack(&resp.base, res);
}

/*
 * As etcd's alarm store, keyed by (member, type): GET answers the raised
 * alarms of the type asked for (NONE: all), ACTIVATE the alarm it raised
 * (nothing if it was already raised), DEACTIVATE the alarm it cleared
 * (nothing if it was not raised).  Only NOSPACE is raised: it is the one
 * alarm gnomond acts on; past MVCC_MAX_ALARMS, ACTIVATE raises nothing.
 */
static int apply_alarm(struct mvcc_store *s, const struct mvcc_header *hdr,
		       const Etcdserverpb__AlarmRequest *r,
		       struct mvcc_result *res)
{
	struct mvcc_alarm a = { .member = r->memberid, .type = r->alarm };
	struct mvcc_alarm got[MVCC_MAX_ALARMS];
	uint32_t n = 0;

	switch (r->action) {
	case ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE:
		if (a.type != ETCDSERVERPB__ALARM_TYPE__NOSPACE ||
		    mvcc_store__alarm_raised(s, a.member, a.type) ||
		    s->n_alarms == MVCC_MAX_ALARMS)
			break;
		s->alarms[s->n_alarms++] = a;
		got[n++] = a;
		break;
	case ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__DEACTIVATE:
		for (uint32_t i = 0; i < s->n_alarms; i++) {
			if (s->alarms[i].member != a.member ||
			    s->alarms[i].type != a.type)
				continue;
			memmove(&s->alarms[i], &s->alarms[i + 1],
				(s->n_alarms - i - 1) * sizeof(a));
			s->n_alarms--;
			got[n++] = a;
			break;
		}
		break;
	default:
		for (uint32_t i = 0; i < s->n_alarms; i++)
			if (a.type == ETCDSERVERPB__ALARM_TYPE__NONE ||
			    s->alarms[i].type == a.type)
				got[n++] = s->alarms[i];
		break;
	}
	return alarm_answer(s, hdr, got, n, res);
}

static Etcdserverpb__ResponseHeader *write_header(enum mvcc_cmd_type type,
						  ProtobufCMessage *resp)
{
	if (!resp)
		return NULL;
	switch (type) {
	case MVCC_CMD_PUT:
		return ((Etcdserverpb__PutResponse *)resp)->header;
	case MVCC_CMD_DELETE_RANGE:
		return ((Etcdserverpb__DeleteRangeResponse *)resp)->header;
	default:
		return ((Etcdserverpb__TxnResponse *)resp)->header;
	}
}

static int apply_msg(struct mvcc_store *s, const struct mvcc_header *hdr,
		     enum mvcc_cmd_type type, ProtobufCMessage *m,
		     struct mvcc_result *res)
{
	struct arena a = { 0 };
	enum etcd_err err = ETCD_OK;
	ProtobufCMessage *resp;
	int ret;

	switch (type) {
	case MVCC_CMD_PUT:
	case MVCC_CMD_DELETE_RANGE:
	case MVCC_CMD_TXN:
		ret = txn_apply(s, &a, type, m, &resp, &err);
		return finish(&a, ret, err, resp, write_header(type, resp), hdr,
			      res);
	case MVCC_CMD_COMPACT:
		return apply_compact(s, hdr, (Etcdserverpb__CompactionRequest *)m,
				     res);
	case MVCC_CMD_ALARM:
		return apply_alarm(s, hdr, (Etcdserverpb__AlarmRequest *)m, res);
	case MVCC_CMD_LEASE_GRANT:
		return lease_grant(s, hdr, (Etcdserverpb__LeaseGrantRequest *)m,
				   res);
	case MVCC_CMD_LEASE_REVOKE:
		return lease_revoke(s, hdr,
				    (Etcdserverpb__LeaseRevokeRequest *)m, res);
	case MVCC_CMD_STAMPED:
		break;	/* never decoded: mvcc_store__apply() unwraps it */
	}
	assert(0);
	return -EINVAL;
}

static const ProtobufCMessageDescriptor *cmd_descriptor(unsigned int type)
{
	switch (type) {
	case MVCC_CMD_PUT:
		return &etcdserverpb__put_request__descriptor;
	case MVCC_CMD_DELETE_RANGE:
		return &etcdserverpb__delete_range_request__descriptor;
	case MVCC_CMD_TXN:
		return &etcdserverpb__txn_request__descriptor;
	case MVCC_CMD_COMPACT:
		return &etcdserverpb__compaction_request__descriptor;
	case MVCC_CMD_ALARM:
		return &etcdserverpb__alarm_request__descriptor;
	case MVCC_CMD_LEASE_GRANT:
		return &etcdserverpb__lease_grant_request__descriptor;
	case MVCC_CMD_LEASE_REVOKE:
		return &etcdserverpb__lease_revoke_request__descriptor;
	default:
		return NULL;
	}
}

static int apply_cmd(struct mvcc_store *s, const struct mvcc_header *hdr,
		     const uint8_t *cmd, size_t len, struct mvcc_result *res)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;
	int ret;

	if (len < MVCC_CMD_HDR_LEN || cmd[0] != MVCC_CMD_VERSION)
		return 0;
	d = cmd_descriptor(cmd[1]);
	if (!d)
		return 0;
	if (cmd[1] == MVCC_CMD_TXN &&
	    !mvcc_wire__txn_depth_ok(cmd + 2, len - 2, MVCC_MAX_TXN_DEPTH))
		return 0;
	m = protobuf_c_message_unpack(d, NULL, len - 2, cmd + 2);
	if (!m)
		return 0;
	ret = apply_msg(s, hdr, cmd[1], m, res);
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

/* A stamped command (locks.c) runs its inner command with the stamp set. */
int mvcc_store__apply(struct mvcc_store *s, const struct mvcc_header *hdr,
		      const uint8_t *cmd, size_t len, struct mvcc_result *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	s->nev = 0;
	res->err = ETCD_ERR_BAD_COMMAND;
	if (len < MVCC_CMD_HDR_LEN || cmd[0] != MVCC_CMD_VERSION ||
	    cmd[1] != MVCC_CMD_STAMPED)
		return apply_cmd(s, hdr, cmd, len, res);
	if (locks_unstamp(s, &cmd, &len))
		return 0;
	ret = apply_cmd(s, hdr, cmd, len, res);
	if (!ret)
		locks_prune(s);
	memset(&s->stamp, 0, sizeof(s->stamp));
	return ret;
}

/* A command buffer with its header written and room for @len bytes. */
static uint8_t *cmd_alloc(enum mvcc_cmd_type type, size_t len)
{
	uint8_t *buf = malloc(len + MVCC_CMD_HDR_LEN);

	if (buf) {
		buf[0] = MVCC_CMD_VERSION;
		buf[1] = type;
	}
	return buf;
}

int mvcc_cmd__wrap(enum mvcc_cmd_type type, const uint8_t *pb, size_t len,
		   uint8_t **out, size_t *outlen)
{
	uint8_t *buf;

	if (!cmd_descriptor(type))
		return -EINVAL;
	buf = cmd_alloc(type, len);
	if (!buf)
		return -ENOMEM;
	if (len)
		memcpy(buf + MVCC_CMD_HDR_LEN, pb, len);
	*out = buf;
	*outlen = len + MVCC_CMD_HDR_LEN;
	return 0;
}

int mvcc_cmd__encode(enum mvcc_cmd_type type, const ProtobufCMessage *msg,
		     uint8_t **out, size_t *outlen)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;

	if (cmd_descriptor(type) != msg->descriptor)
		return -EINVAL;
	buf = cmd_alloc(type, len);
	if (!buf)
		return -ENOMEM;
	*outlen = protobuf_c_message_pack(msg, buf + MVCC_CMD_HDR_LEN) +
		  MVCC_CMD_HDR_LEN;
	*out = buf;
	return 0;
}
