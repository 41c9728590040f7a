/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal: the write operations of the MVCC state machine (txn.c), each
 * run as one write transaction.  They return 0 or -ENOMEM; an etcd error
 * goes to *err and leaves the store unchanged.
 */
#ifndef GNOMOND_MVCC_TXN_H
#define GNOMOND_MVCC_TXN_H

#include "ops.h"

enum etcd_err txn_quota(struct mvcc_store *s, uint64_t cost);
int txn_put(struct mvcc_store *s, struct arena *a,
	    const Etcdserverpb__PutRequest *r, Etcdserverpb__PutResponse **out,
	    enum etcd_err *err);
int txn_delete(struct mvcc_store *s, struct arena *a,
	       const Etcdserverpb__DeleteRangeRequest *r,
	       Etcdserverpb__DeleteRangeResponse **out);
int txn_txn(struct mvcc_store *s, struct arena *a,
	    const Etcdserverpb__TxnRequest *r, Etcdserverpb__TxnResponse **out,
	    enum etcd_err *err);

#endif /* GNOMOND_MVCC_TXN_H */
