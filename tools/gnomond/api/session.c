// SPDX-License-Identifier: GPL-2.0
/*
 * One client connection of the etcd API: HTTP/2 by libnghttp2 in memory
 * mode (mem_recv / mem_send, no socket), gRPC on top (grpc.c).
 *
 * Each request stream gets a struct api_stream at its first HEADERS: the
 * :path, content-type and the body, buffered up to gRPC's size limit (past
 * it the bytes are dropped and only counted, so a huge upload costs no
 * memory), and within the connection's budget of buffered bytes (past it
 * the request is answered "too many requests", so that many slow uploads
 * cannot pile up memory either).  At END_STREAM the request is decoded
 * and either refused here or handed to the daemon; the answers go out
 * through reply.c.  The stream's memory goes when nghttp2 closes the
 * stream, whichever side ends it.
 *
 * A streaming method's body is cut into messages as it arrives: each
 * whole one is decoded and dispatched at once, and the buffer keeps only
 * the part of the next.
 *
 * nghttp2's HTTP messaging checks are off: they refuse an :authority in
 * URL form ("http://127.0.0.1:2379", which etcdctl's endpoint status
 * --cluster sends and etcd serves) with RST_STREAM.  What gRPC needs of
 * the request is checked here instead: :method POST (else RST_STREAM
 * PROTOCOL_ERROR, as grpc-go does), :path, content-type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "session_internal.h"

#define OUT_HIGH_WATER (256 * 1024)
#define STREAM_WINDOW (1 << 20)
#define CONN_WINDOW (8 << 20)

static void stream_free(struct api_session *s, struct api_stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	s->buffered -= st->bcap;
	if (st->streaming && st->dispatched && s->ops->closed)
		s->ops->closed(s->ctx, s, st->id);
	free(st->body);
	free(st->resp);
	free(st->end_msg);
	free(st);
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f,
			    void *user)
{
	struct api_session *s = user;
	struct api_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	st->id = f->hd.stream_id;
	st->method = -1;
	st->route_err = "malformed method name: (none)";
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	if (nghttp2_session_set_stream_user_data(h2, f->hd.stream_id, st)) {
		stream_free(s, st);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static bool header_is(const uint8_t *name, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(name, want, len);
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f,
		     const uint8_t *name, size_t namelen, const uint8_t *value,
		     size_t valuelen, uint8_t flags, void *user)
{
	struct api_stream *st;

	(void)flags;
	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
	if (!st)
		return 0;
	if (header_is(name, namelen, ":path")) {
		st->method = grpc_route((const char *)value, valuelen,
					st->route_buf, sizeof(st->route_buf),
					&st->route_err);
		st->streaming = api_method__streams(st->method);
	} else if (header_is(name, namelen, ":method")) {
		st->post = header_is(value, valuelen, "POST");
	} else if (header_is(name, namelen, "content-type"))
		st->grpc_content = valuelen >= 16 &&
			!memcmp(value, "application/grpc", 16) &&
			(valuelen == 16 || value[16] == '+' || value[16] == ';');
	return 0;
}

/* One whole message of a stream to the daemon. */
static void stream_dispatch(struct api_session *s, struct api_stream *st,
			    size_t n)
{
	struct api_request req = { .stream_id = st->id, .method = st->method };
	struct grpc_error err;

	st->dispatched = true;
	if (!st->grpc_content) {
		api_reply__end(s, st, GRPC_UNKNOWN,
			   "content-type is not application/grpc");
		return;
	}
	req.decoded = grpc_decode(st->method, st->body, n, s->max_request,
				  &req.msg, &req.len, &err);
	if (!req.decoded) {
		api_reply__end(s, st, err.code ? err.code : GRPC_INTERNAL,
			   err.msg ? err.msg : "out of memory");
		return;
	}
	st->inflight++;
	s->ops->request(s->ctx, s, &req);
	if (req.decoded)
		protobuf_c_message_free_unpacked(req.decoded, NULL);
}

/* Append a chunk of a stream's body; dispatch every whole message. */
static int stream_data(struct api_session *s, struct api_stream *st,
		       const uint8_t *data, size_t len)
{
	size_t limit = s->max_request + API_GRPC_OVERHEAD_BYTES;

	for (;;) {
		size_t want = GRPC_FRAME_HDR, take;

		if (st->ending)
			return 0;
		if (st->blen >= GRPC_FRAME_HDR) {
			want += grpc_frame__get(st->body, NULL);
			if (want - GRPC_FRAME_HDR > limit) {
				/* grpc_decode words the refusal. */
				stream_dispatch(s, st, GRPC_FRAME_HDR);
				return 0;
			}
			if (st->blen == want) {
				stream_dispatch(s, st, want);
				st->blen = 0;
				continue;
			}
		}
		if (!len)
			return 0;
		if (st->bcap < want) {
			uint8_t *b = realloc(st->body, want);

			if (!b)
				return NGHTTP2_ERR_CALLBACK_FAILURE;
			s->buffered += want - st->bcap;
			st->body = b;
			st->bcap = want;
		}
		take = want - st->blen < len ? want - st->blen : len;
		memcpy(st->body + st->blen, data, take);
		st->blen += take;
		data += take;
		len -= take;
	}
}

static void dispatch(struct api_session *s, int32_t id, struct api_stream *st);

/* gRPC refuses a message past its limit as soon as the length prefix is
 * in, without waiting for the rest. */
static bool prefix_too_large(const struct api_session *s,
			     const struct api_stream *st)
{
	return st->blen >= GRPC_FRAME_HDR &&
	       grpc_frame__get(st->body, NULL) >
	       s->max_request + API_GRPC_OVERHEAD_BYTES;
}

static int on_data(nghttp2_session *h2, uint8_t flags, int32_t id,
		   const uint8_t *data, size_t len, void *user)
{
	struct api_session *s = user;
	struct api_stream *st = nghttp2_session_get_stream_user_data(h2, id);
	size_t limit = s->max_request + API_GRPC_OVERHEAD_BYTES + GRPC_FRAME_HDR;

	(void)flags;
	if (st && st->streaming)
		return stream_data(s, st, data, len);
	if (!st || st->dispatched)
		return 0;
	if (st->dropped || st->blen + len > limit) {
		st->dropped += len;
		return 0;
	}
	if (st->over_budget)
		return 0;
	if (st->blen + len > st->bcap) {
		size_t cap = st->bcap ? st->bcap : 256;
		uint8_t *b;

		while (cap < st->blen + len)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		if (s->buffered - st->bcap + cap > s->max_buffered) {
			st->over_budget = true;
			return 0;
		}
		b = realloc(st->body, cap);
		if (!b)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		s->buffered += cap - st->bcap;
		st->body = b;
		st->bcap = cap;
	}
	memcpy(st->body + st->blen, data, len);
	st->blen += len;
	if (prefix_too_large(s, st)) {
		st->blen = GRPC_FRAME_HDR;
		dispatch(s, id, st);
	}
	return 0;
}

static void dispatch(struct api_session *s, int32_t id, struct api_stream *st)
{
	struct api_request req = { .stream_id = id };
	struct grpc_error err;

	st->dispatched = true;
	if (!st->grpc_content) {
		api_session__fail(s, id, GRPC_UNKNOWN,
				  "content-type is not application/grpc");
		return;
	}
	if (st->method < 0) {
		api_session__fail(s, id, GRPC_UNIMPLEMENTED, st->route_err);
		return;
	}
	if (st->over_budget) {
		api_session__fail_etcd(s, id, ETCD_ERR_TOO_MANY_REQUESTS);
		return;
	}
	if (st->dropped && st->blen >= GRPC_FRAME_HDR) {
		/* Only the length prefix matters: it is in the kept bytes. */
		st->blen = GRPC_FRAME_HDR;
	}
	req.method = st->method;
	req.decoded = grpc_decode(st->method, st->body, st->blen,
				  s->max_request, &req.msg, &req.len, &err);
	if (!req.decoded) {
		api_session__fail(s, id, err.code ? err.code : GRPC_INTERNAL,
				  err.msg ? err.msg : "out of memory");
		return;
	}
	s->ops->request(s->ctx, s, &req);
	if (req.decoded)
		protobuf_c_message_free_unpacked(req.decoded, NULL);
	/* The body is no longer needed, answered or not. */
	s->buffered -= st->bcap;
	free(st->body);
	st->body = NULL;
	st->blen = st->bcap = 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f,
			 void *user)
{
	struct api_session *s = user;
	struct api_stream *st = nghttp2_session_get_stream_user_data(h2,
							f->hd.stream_id);

	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
		s->settings_seen = true;
	if (st && f->hd.type == NGHTTP2_HEADERS &&
	    f->headers.cat == NGHTTP2_HCAT_REQUEST && !st->post) {
		/* gRPC is POST only: reset, as grpc-go does. */
		st->dispatched = true;
		st->streaming = false;
		return nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE,
						 f->hd.stream_id,
						 NGHTTP2_PROTOCOL_ERROR) ?
		       NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if (st && st->streaming) {
		st->half_closed = true;
		if (grpc_method__ends_with_client(st->method) && !st->inflight)
			api_reply__end(s, st, GRPC_OK, NULL);
	} else if (st && !st->dispatched) {
		dispatch(s, f->hd.stream_id, st);
	}
	return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code,
			   void *user)
{
	struct api_stream *st = nghttp2_session_get_stream_user_data(h2, id);

	(void)code;
	if (st) {
		nghttp2_session_set_stream_user_data(h2, id, NULL);
		stream_free(user, st);
	}
	return 0;
}

ProtobufCMessage *api_request__take(struct api_request *req)
{
	ProtobufCMessage *m = req->decoded;

	req->decoded = NULL;
	return m;
}

int api_session__new(struct api_session **out, const struct api_ops *ops,
		     void *ctx, const struct api_limits *limits)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	struct api_session *s;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
		  limits && limits->max_streams ? limits->max_streams
						: API_DEFAULT_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
	};
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->ctx = ctx;
	s->max_request = limits && limits->max_request_bytes ?
		limits->max_request_bytes : API_DEFAULT_MAX_REQUEST_BYTES;
	s->max_buffered = limits && limits->max_buffered_bytes ?
		limits->max_buffered_bytes : API_DEFAULT_MAX_BUFFERED;
	if (nghttp2_session_callbacks_new(&cbs)) {
		free(s);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
		on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
		on_stream_close);
	rc = nghttp2_option_new(&opt);
	if (!rc) {
		nghttp2_option_set_no_http_messaging(opt, 1);
		rc = nghttp2_session_server_new2(&s->h2, cbs, s, opt);
		nghttp2_option_del(opt);
	}
	nghttp2_session_callbacks_del(cbs);
	if (rc) {
		free(s);
		return -ENOMEM;
	}
	if (nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, iv,
				    sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(s->h2, NGHTTP2_FLAG_NONE, 0,
						  CONN_WINDOW)) {
		api_session__free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void api_session__free(struct api_session *s)
{
	if (!s)
		return;
	nghttp2_session_del(s->h2);
	while (s->streams)
		stream_free(s, s->streams);
	free(s->out);
	free(s);
}

int api_session__recv(struct api_session *s, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (s->broken)
		return -EPROTO;
	n = nghttp2_session_mem_recv(s->h2, buf, len);
	if (n < 0) {
		s->broken = true;
		if (n == NGHTTP2_ERR_NOMEM)
			return -ENOMEM;
		/* Tell the client why before the connection closes: nghttp2
		 * queues no GOAWAY for a bad preface. */
		nghttp2_session_terminate_session(s->h2,
						  NGHTTP2_PROTOCOL_ERROR);
		return -EPROTO;
	}
	return 0;
}

bool api_session__handshaken(const struct api_session *s)
{
	return s->settings_seen;
}

bool api_session__idle(const struct api_session *s)
{
	return !s->streams && s->olen == s->ooff;
}

void api_session__goaway(struct api_session *s)
{
	nghttp2_session_terminate_session(s->h2, NGHTTP2_NO_ERROR);
}

int api_session__output(struct api_session *s, const uint8_t **data,
			size_t *len)
{
	while (s->olen - s->ooff < OUT_HIGH_WATER) {
		const uint8_t *chunk;
		ssize_t n = nghttp2_session_mem_send(s->h2, &chunk);

		if (n < 0) {
			s->broken = true;
			return n == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
		}
		if (!n)
			break;
		if (s->ooff && s->ooff == s->olen)
			s->ooff = s->olen = 0;
		if (s->olen + n > s->ocap) {
			uint8_t *o = grow__array(s->out, &s->ocap, s->olen + n,
						 1, 16384);

			if (!o)
				return -ENOMEM;
			s->out = o;
		}
		memcpy(s->out + s->olen, chunk, n);
		s->olen += n;
	}
	*data = s->out + s->ooff;
	*len = s->olen - s->ooff;
	return 0;
}

void api_session__consume(struct api_session *s, size_t n)
{
	if (n > s->olen - s->ooff)
		n = s->olen - s->ooff;
	s->ooff += n;
	if (s->ooff == s->olen)
		s->ooff = s->olen = 0;
}

bool api_session__done(const struct api_session *s)
{
	if (s->olen != s->ooff)
		return false;
	return s->broken || (!nghttp2_session_want_read(s->h2) &&
			     !nghttp2_session_want_write(s->h2));
}
