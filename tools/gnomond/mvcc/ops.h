/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the MVCC state machine: the request operations, building
 * protobuf-c responses in an arena.  Key-value bytes in these responses
 * point into the store, so they must be packed before the store changes
 * again (mvcc_store__* in apply.c do that).
 */
#ifndef GNOMOND_MVCC_OPS_H
#define GNOMOND_MVCC_OPS_H

#include "arena.h"
#include "mvcc.h"
#include "store.h"

/* A key range as etcd defines it: end NULL = the single key; end_unbounded
 * = every key >= key ("\0" as range_end). */
struct key_range {
	const uint8_t *key;
	size_t klen;
	const uint8_t *end;
	size_t elen;
	bool single;
	bool unbounded;
};

void key_range__from(struct key_range *r, const ProtobufCBinaryData *key,
		     const ProtobufCBinaryData *range_end);
bool key_range__contains(const struct key_range *r, const uint8_t *key,
			 size_t klen);

/* Iterate over the keys of @r: first record with key >= start, then stop
 * with key_range__past(). */
bool key_range__past(const struct key_range *r, const struct mvcc_key *k);

Mvccpb__KeyValue *ops_kv(struct arena *a, const struct mvcc_key *k,
			 const struct mvcc_rev *r, bool keys_only);
Etcdserverpb__ResponseHeader *ops_header(struct arena *a,
					 const struct mvcc_header *hdr,
					 int64_t rev);

/* Range at the store's (or write txn's) current view.  On error *resp is
 * untouched; -ENOMEM is returned as err ETCD_OK with *resp NULL. */
enum etcd_err ops_range(struct mvcc_store *s, struct arena *a,
			const Etcdserverpb__RangeRequest *req,
			Etcdserverpb__RangeResponse **resp);

/* Pack @msg into @res (ETCD_OK).  0 or -ENOMEM. */
int ops_pack(const ProtobufCMessage *msg, struct mvcc_result *res);

#endif /* GNOMOND_MVCC_OPS_H */
