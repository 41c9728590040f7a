/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the MVCC tests: build etcd requests, run them through the
 * command path (wrap, apply) exactly as the daemon does, and decode the
 * packed answers back with protobuf-c.  Header-only: test binaries are one
 * file each.
 */
#ifndef GNOMOND_MVCC_TEST_HELPERS_H
#define GNOMOND_MVCC_TEST_HELPERS_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/gnomond/mvcc/mvcc.h"

static const struct mvcc_header th_hdr = { .cluster_id = 7, .member_id = 9,
					   .raft_term = 3 };

static inline ProtobufCBinaryData th_bin(const char *s)
{
	ProtobufCBinaryData b = { s ? strlen(s) : 0, (uint8_t *)s };

	return b;
}

/* A store's snapshot in memory: mvcc_store__snapshot(s, th_snap_write, &b). */
struct th_snap {
	uint8_t *p;
	size_t len;
};

static inline int th_snap_write(void *ctx, const void *buf, size_t len)
{
	struct th_snap *b = ctx;
	uint8_t *n = realloc(b->p, b->len + len);

	if (!n)
		return -ENOMEM;
	memcpy(n + b->len, buf, len);
	b->p = n;
	b->len += len;
	return 0;
}

/* Apply @msg as a command of @type; returns the etcd error, answer in *res. */
static inline enum etcd_err th_apply(struct mvcc_store *s,
				     enum mvcc_cmd_type type,
				     const ProtobufCMessage *msg,
				     struct mvcc_result *res)
{
	uint8_t *cmd;
	size_t len;

	if (mvcc_cmd__encode(type, msg, &cmd, &len))
		abort();
	if (mvcc_store__apply(s, &th_hdr, cmd, len, res))
		abort();
	free(cmd);
	return res->err;
}

static inline Etcdserverpb__PutResponse *th_put_req(struct mvcc_store *s,
	const char *k, const char *v, bool prev, enum etcd_err *err)
{
	Etcdserverpb__PutRequest r = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__PutResponse *resp = NULL;
	struct mvcc_result res;

	r.key = th_bin(k);
	r.value = th_bin(v);
	r.prev_kv = prev;
	*err = th_apply(s, MVCC_CMD_PUT, &r.base, &res);
	if (!*err)
		resp = etcdserverpb__put_response__unpack(NULL, res.len, res.resp);
	mvcc_result__release(&res);
	return resp;
}

/* Put and return the new revision (-1 on error). */
static inline int64_t th_put(struct mvcc_store *s, const char *k, const char *v)
{
	enum etcd_err err;
	Etcdserverpb__PutResponse *r = th_put_req(s, k, v, false, &err);
	int64_t rev = r ? r->header->revision : -1;

	if (r)
		etcdserverpb__put_response__free_unpacked(r, NULL);
	return rev;
}

static inline Etcdserverpb__DeleteRangeResponse *
th_del(struct mvcc_store *s, const char *k, const char *end, bool prev,
       enum etcd_err *err)
{
	Etcdserverpb__DeleteRangeRequest r =
		ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	Etcdserverpb__DeleteRangeResponse *resp = NULL;
	struct mvcc_result res;

	r.key = th_bin(k);
	r.range_end = th_bin(end);
	r.prev_kv = prev;
	*err = th_apply(s, MVCC_CMD_DELETE_RANGE, &r.base, &res);
	if (!*err)
		resp = etcdserverpb__delete_range_response__unpack(NULL, res.len,
								   res.resp);
	mvcc_result__release(&res);
	return resp;
}

/* Delete and return how many keys went (-1 on error). */
static inline int64_t th_del_n(struct mvcc_store *s, const char *k,
			       const char *end)
{
	enum etcd_err err;
	Etcdserverpb__DeleteRangeResponse *d = th_del(s, k, end, false, &err);
	int64_t n = d ? d->deleted : -1;

	if (d)
		etcdserverpb__delete_range_response__free_unpacked(d, NULL);
	return n;
}

static inline Etcdserverpb__RangeResponse *
th_range_req(struct mvcc_store *s, const Etcdserverpb__RangeRequest *r,
	     enum etcd_err *err)
{
	Etcdserverpb__RangeResponse *resp = NULL;
	struct mvcc_result res;

	if (mvcc_store__range(s, &th_hdr, r, &res))
		abort();
	*err = res.err;
	if (!res.err)
		resp = etcdserverpb__range_response__unpack(NULL, res.len,
							    res.resp);
	mvcc_result__release(&res);
	return resp;
}

static inline Etcdserverpb__RangeResponse *
th_get(struct mvcc_store *s, const char *k, const char *end, int64_t rev,
       enum etcd_err *err)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;

	r.key = th_bin(k);
	r.range_end = th_bin(end);
	r.revision = rev;
	return th_range_req(s, &r, err);
}

static inline bool th_val_is(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && !memcmp(b->data, s, b->len);
}

static inline enum etcd_err th_compact(struct mvcc_store *s, int64_t rev)
{
	Etcdserverpb__CompactionRequest r = ETCDSERVERPB__COMPACTION_REQUEST__INIT;
	struct mvcc_result res;
	enum etcd_err err;

	r.revision = rev;
	err = th_apply(s, MVCC_CMD_COMPACT, &r.base, &res);
	mvcc_result__release(&res);
	return err;
}

#endif /* GNOMOND_MVCC_TEST_HELPERS_H */
