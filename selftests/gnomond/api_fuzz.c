// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for gnomond's gRPC request path: bytes from a client
 * go into an api_session (HTTP/2 by nghttp2, gRPC framing, protobuf
 * decoding, etcd's checks) and on into a real MVCC store through the
 * command path, as in the daemon.  The first byte picks the chunk size the
 * input is fed in (frames split anywhere); every other request is answered
 * only after the input ends, some after the session broke.
 *
 * A first byte of 0 selects the other mode: the rest is a Raft log, a
 * sequence of (16-bit length, command) that the state machine applies
 * unchecked, as a member would; then a snapshot of the result must restore
 * to the same store.  Any crash, sanitizer report or leak is a failure.
 */
#include <stdlib.h>

#include "api_h2client.h"

struct fuzz_ctx {
	struct mvcc_store *store;
	int32_t held[64];
	struct mvcc_result res[64];
	int nheld, n;
};

static const struct mvcc_header hdr = { 1, 2, 3 };

static void serve(void *arg, struct api_session *s, struct api_request *req)
{
	struct fuzz_ctx *f = arg;
	struct api_status st = { .db_size = 1 };
	struct mvcc_result res = { 0 };
	int rc = api_serve_local(f->store, &hdr, req, &res);

	if (rc == -EOPNOTSUPP)
		rc = api_status__pack(&hdr, 1, &st, &res.resp, &res.len);
	if (rc)
		abort();
	if (f->n++ % 2 == 0 || f->nheld == 64) {
		api_session__answer(s, req->stream_id, &res);
		mvcc_result__release(&res);
		return;
	}
	f->held[f->nheld] = req->stream_id;
	f->res[f->nheld++] = res;
}

static const struct api_ops ops = { .request = serve };

static void drain(struct api_session *s)
{
	const uint8_t *d;
	size_t len;

	for (int i = 0; i < 64; i++) {
		if (api_session__output(s, &d, &len) || !len)
			return;
		api_session__consume(s, len);
	}
}

static int count_bytes(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

static int copy_bytes(void *ctx, const void *buf, size_t len)
{
	uint8_t **p = ctx;

	memcpy(*p, buf, len);
	*p += len;
	return 0;
}

static void fuzz_log(const uint8_t *data, size_t size)
{
	struct mvcc_store *s, *r;
	struct mvcc_result res;
	size_t snap_len = 0;
	uint8_t *snap, *w;

	if (mvcc_store__new(&s, 1 << 20))
		abort();
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (mvcc_store__apply(s, &hdr, data, n, &res))
			abort();
		mvcc_result__release(&res);
		data += n;
		size -= n;
	}
	if (mvcc_store__snapshot(s, count_bytes, &snap_len))
		abort();
	snap = w = malloc(snap_len);
	if (!snap || mvcc_store__snapshot(s, copy_bytes, &w) ||
	    mvcc_store__restore(&r, snap, snap_len, 1 << 20))
		abort();
	if (mvcc_store__revision(r) != mvcc_store__revision(s) ||
	    mvcc_store__size(r) != mvcc_store__size(s) ||
	    mvcc_store__key_records(r) != mvcc_store__key_records(s))
		abort();
	free(snap);
	mvcc_store__free(r);
	mvcc_store__free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_limits lim = { .max_request_bytes = 4096, .max_streams = 16 };
	struct fuzz_ctx f = { 0 };
	struct api_session *s;
	size_t chunk;

	if (!size)
		return 0;
	if (!data[0]) {
		fuzz_log(data + 1, size - 1);
		return 0;
	}
	chunk = 1 + data[0] * 7;
	data++;
	size--;
	if (mvcc_store__new(&f.store, 1 << 20) ||
	    api_session__new(&s, &ops, &f, &lim))
		abort();
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (api_session__recv(s, data + off, n))
			break;
		drain(s);
	}
	for (int i = f.nheld - 1; i >= 0; i--) {
		api_session__answer(s, f.held[i], &f.res[i]);
		mvcc_result__release(&f.res[i]);
	}
	drain(s);
	api_session__free(s);
	mvcc_store__free(f.store);
	return 0;
}
