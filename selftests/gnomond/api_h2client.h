/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal in-memory gRPC client for the API tests, built on libnghttp2's
 * client side: it submits unary calls, moves bytes between itself and an
 * api_session (no sockets), and collects each stream's :status,
 * grpc-status, grpc-message and response message.  It also records every
 * byte it sends, which makes fuzzing seeds.  Header-only.
 */
#ifndef GNOMOND_API_H2CLIENT_H
#define GNOMOND_API_H2CLIENT_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "../../tools/common/grpc_frame.h"
#include "../../tools/gnomond/api/api.h"

#define H2C_MAX 32

struct h2c_stream {
	int32_t id;
	int http_status;
	int grpc_status;		/* -1: none received */
	char grpc_message[256];
	uint8_t *body;			/* request, then response data */
	size_t blen, boff;
	uint8_t resp[4096];		/* enough for the tests' answers */
	size_t rlen;
	bool closed;
	uint32_t close_code;
	bool keep_open;			/* send body, but not END_STREAM */
};

struct h2c {
	nghttp2_session *c;
	struct h2c_stream st[H2C_MAX];
	int n;
	uint8_t *sent;			/* everything sent, for seeds */
	size_t sent_len;
	/* For the next calls; NULL: "localhost" and "POST". */
	const char *authority, *method;
};

static struct h2c_stream *h2c_find(struct h2c *h, int32_t id)
{
	for (int i = 0; i < h->n; i++)
		if (h->st[i].id == id)
			return &h->st[i];
	return NULL;
}

static int h2c_on_header(nghttp2_session *c, const nghttp2_frame *f,
			 const uint8_t *name, size_t nlen, const uint8_t *value,
			 size_t vlen, uint8_t flags, void *user)
{
	struct h2c_stream *st = h2c_find(user, f->hd.stream_id);

	(void)c;
	(void)flags;
	if (!st)
		return 0;
	if (nlen == 7 && !memcmp(name, ":status", 7))
		st->http_status = atoi((const char *)value);
	else if (nlen == 11 && !memcmp(name, "grpc-status", 11))
		st->grpc_status = atoi((const char *)value);
	else if (nlen == 12 && !memcmp(name, "grpc-message", 12)) {
		size_t n = vlen < sizeof(st->grpc_message) - 1 ? vlen :
			   sizeof(st->grpc_message) - 1;

		memcpy(st->grpc_message, value, n);
		st->grpc_message[n] = 0;
	}
	return 0;
}

static int h2c_on_data(nghttp2_session *c, uint8_t flags, int32_t id,
		       const uint8_t *data, size_t len, void *user)
{
	struct h2c_stream *st = h2c_find(user, id);

	(void)c;
	(void)flags;
	if (st && st->rlen + len <= sizeof(st->resp)) {
		memcpy(st->resp + st->rlen, data, len);
		st->rlen += len;
	}
	return 0;
}

static int h2c_on_close(nghttp2_session *c, int32_t id, uint32_t code,
			void *user)
{
	struct h2c_stream *st = h2c_find(user, id);

	(void)c;
	if (st) {
		st->closed = true;
		st->close_code = code;
	}
	return 0;
}

static ssize_t h2c_read(nghttp2_session *c, int32_t id, uint8_t *buf,
			size_t length, uint32_t *flags,
			nghttp2_data_source *src, void *user)
{
	struct h2c_stream *st = src->ptr;
	size_t n = st->blen - st->boff;

	(void)c;
	(void)id;
	(void)user;
	if (n > length)
		n = length;
	memcpy(buf, st->body + st->boff, n);
	st->boff += n;
	if (!n && st->keep_open)
		return NGHTTP2_ERR_DEFERRED;
	if (st->boff == st->blen && !st->keep_open)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return n;
}

static inline void h2c_init(struct h2c *h)
{
	nghttp2_session_callbacks *cbs;

	memset(h, 0, sizeof(*h));
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2c_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2c_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2c_on_close);
	nghttp2_session_client_new(&h->c, cbs, h);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(h->c, NGHTTP2_FLAG_NONE, NULL, 0);
}

static inline void h2c_free(struct h2c *h)
{
	nghttp2_session_del(h->c);
	for (int i = 0; i < h->n; i++)
		free(h->st[i].body);
	free(h->sent);
}

#define H2C_NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), \
		       NGHTTP2_NV_FLAG_NONE }

/* Submit a unary call: @flag is the gRPC compressed-flag byte. */
static inline struct h2c_stream *h2c_call_raw(struct h2c *h, const char *path,
					      const uint8_t *msg, size_t len,
					      uint8_t flag)
{
	struct h2c_stream *st = &h->st[h->n];
	nghttp2_nv nv[] = {
		H2C_NV(":method", h->method ? h->method : "POST"),
		H2C_NV(":scheme", "http"), H2C_NV(":path", path),
		H2C_NV(":authority", h->authority ? h->authority : "localhost"),
		H2C_NV("content-type", "application/grpc"),
		H2C_NV("te", "trailers"),
	};
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = h2c_read };

	if (h->n == H2C_MAX)
		abort();
	memset(st, 0, sizeof(*st));
	st->grpc_status = -1;
	st->body = malloc(len + GRPC_FRAME_HDR);
	grpc_frame__put(st->body, flag, len);
	if (len)
		memcpy(st->body + GRPC_FRAME_HDR, msg, len);
	st->blen = len + GRPC_FRAME_HDR;
	st->id = nghttp2_submit_request(h->c, NULL, nv, 6, &prd, NULL);
	h->n++;
	return st;
}

static inline struct h2c_stream *h2c_call(struct h2c *h, const char *path,
					  const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len + 1);
	struct h2c_stream *st;

	protobuf_c_message_pack(m, buf);
	st = h2c_call_raw(h, path, buf, len, 0);
	free(buf);
	return st;
}

/* Move bytes both ways until neither side has anything to say. */
static inline int h2c_pump(struct h2c *h, struct api_session *s)
{
	for (int round = 0; round < 1000; round++) {
		const uint8_t *d;
		size_t len, moved = 0;
		ssize_t n;

		while ((n = nghttp2_session_mem_send(h->c, &d)) > 0) {
			h->sent = realloc(h->sent, h->sent_len + n);
			memcpy(h->sent + h->sent_len, d, n);
			h->sent_len += n;
			moved += n;
			if (api_session__recv(s, d, n))
				return -1;
		}
		if (api_session__output(s, &d, &len))
			return -1;
		if (len) {
			if (nghttp2_session_mem_recv(h->c, d, len) < 0)
				return -1;
			api_session__consume(s, len);
			moved += len;
		}
		if (!moved)
			return 0;
	}
	return -1;
}

#endif /* GNOMOND_API_H2CLIENT_H */
