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
/* Apply a Put, DeleteRange or Txn request as one write transaction;
 * *resp gets its response (header included). */
int txn_apply(struct mvcc_store *s, struct arena *a, enum mvcc_cmd_type type,
	      const ProtobufCMessage *req, ProtobufCMessage **resp,
	      enum etcd_err *err);

#endif /* GNOMOND_MVCC_TXN_H */
