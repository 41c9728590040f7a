// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus of the gRPC fuzz target (api_fuzz.c): the exact
 * bytes a client sends for each kind of call, captured from the in-memory
 * client talking to a real session (each file starts with the chunk-size
 * byte the fuzz target expects), and a log of commands for its log mode.
 *
 *	api_fuzz_seeds DIR
 */
#include <stdio.h>

#include "api_h2client.h"

static const struct mvcc_header hdr = { 1, 2, 3 };

static void serve(void *arg, struct api_session *s, struct api_request *req)
{
	struct mvcc_result res = { 0 };

	if (!api_serve_local(arg, &hdr, req, &res))
		api_session__answer(s, req->stream_id, &res);
	else
		api_session__fail(s, req->stream_id, GRPC_UNIMPLEMENTED, "n/a");
	mvcc_result__release(&res);
}

static const struct api_ops ops = { .request = serve };

static ProtobufCBinaryData bin(const char *s)
{
	return (ProtobufCBinaryData){ strlen(s), (uint8_t *)s };
}

static int write_seed(const char *dir, const char *name, uint8_t mode,
		      const uint8_t *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 ||
	    fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/* Append one command, 16-bit length first, to the log seed. */
static void log_append(uint8_t *log, size_t *len, enum mvcc_cmd_type type,
		       const ProtobufCMessage *m)
{
	uint8_t *cmd;
	size_t n;

	if (mvcc_cmd__encode(type, m, &cmd, &n) || *len + n + 2 > 4096)
		abort();
	log[(*len)++] = n >> 8;
	log[(*len)++] = n;
	memcpy(log + *len, cmd, n);
	*len += n;
	free(cmd);
}

int main(int argc, char **argv)
{
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__RangeRequest range = ETCDSERVERPB__RANGE_REQUEST__INIT;
	Etcdserverpb__DeleteRangeRequest del = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	Etcdserverpb__CompactionRequest comp = ETCDSERVERPB__COMPACTION_REQUEST__INIT;
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__Compare cmp = ETCDSERVERPB__COMPARE__INIT, *cmpp = &cmp;
	Etcdserverpb__RequestOp op = ETCDSERVERPB__REQUEST_OP__INIT, *opp = &op;
	Etcdserverpb__StatusRequest status = ETCDSERVERPB__STATUS_REQUEST__INIT;
	Etcdserverpb__AlarmRequest alarm = ETCDSERVERPB__ALARM_REQUEST__INIT;
	const char *names[] = { "kv", "maintenance" };
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: api_fuzz_seeds DIR\n");
		return 2;
	}
	put.key = bin("k");
	put.value = bin("value");
	put.prev_kv = 1;
	range.key = bin("a");
	range.range_end = bin("z");
	range.limit = 2;
	del.key = bin("k");
	del.prev_kv = 1;
	comp.revision = 2;
	cmp.key = bin("k");
	cmp.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE;
	cmp.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE;
	cmp.value = bin("value");
	op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	op.request_put = &put;
	txn.compare = &cmpp;
	txn.n_compare = 1;
	txn.success = &opp;
	txn.n_success = 1;
	alarm.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__DEACTIVATE;
	alarm.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;

	for (int i = 0; i < 2; i++) {
		struct mvcc_store *store;
		struct api_session *s;
		struct h2c h;

		if (mvcc_store__new(&store, 0) ||
		    api_session__new(&s, &ops, store, NULL))
			return 1;
		h2c_init(&h);
		if (i == 0) {
			h2c_call(&h, "/etcdserverpb.KV/Put", &put.base);
			h2c_call(&h, "/etcdserverpb.KV/Range", &range.base);
			h2c_call(&h, "/etcdserverpb.KV/Txn", &txn.base);
			h2c_call(&h, "/etcdserverpb.KV/DeleteRange", &del.base);
			h2c_call(&h, "/etcdserverpb.KV/Compact", &comp.base);
		} else {
			h2c_call(&h, "/etcdserverpb.Maintenance/Status", &status.base);
			h2c_call(&h, "/etcdserverpb.Maintenance/Alarm", &alarm.base);
			h2c_call(&h, "/etcdserverpb.Cluster/MemberList", &status.base);
			h2c_call(&h, "/etcdserverpb.Lease/LeaseGrant", &status.base);
		}
		if (h2c_pump(&h, s))
			rc = 1;
		rc |= write_seed(argv[1], names[i], 255, h.sent, h.sent_len);
		h2c_free(&h);
		api_session__free(s);
		mvcc_store__free(store);
	}
	{
		uint8_t log[4096];
		size_t len = 0;

		log_append(log, &len, MVCC_CMD_PUT, &put.base);
		log_append(log, &len, MVCC_CMD_TXN, &txn.base);
		log_append(log, &len, MVCC_CMD_DELETE_RANGE, &del.base);
		log_append(log, &len, MVCC_CMD_PUT, &put.base);
		log_append(log, &len, MVCC_CMD_COMPACT, &comp.base);
		log_append(log, &len, MVCC_CMD_ALARM, &alarm.base);
		rc |= write_seed(argv[1], "log", 0, log, len);
	}
	return rc;
}
