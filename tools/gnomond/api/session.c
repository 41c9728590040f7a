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
 * cannot pile up memory either).  At END_STREAM the request is decoded and
 * either refused here
 * or handed to the daemon.  The answer is HEADERS (:status 200,
 * content-type application/grpc), one DATA with the length-prefixed
 * message, and trailers (grpc-status 0); an error is a single
 * "Trailers-Only" HEADERS frame with grpc-status and grpc-message.  The
 * stream's memory goes when nghttp2 closes the stream, whichever side
 * ends it; a late answer then finds no stream and gets -ENOENT.
 *
 * A streaming method's body is cut into messages as it arrives: each
 * whole one is decoded and dispatched at once, and the buffer keeps only
 * the part of the next.  Its answers queue in the stream's output buffer
 * as gRPC frames behind one HEADERS; nghttp2's data source reads the queue
 * and defers while it is empty (api_session__send resumes it), and when
 * the stream ends the trailers follow the last queued byte.
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

#include <nghttp2/nghttp2.h>

#include "grpc.h"

#define OUT_HIGH_WATER (256 * 1024)
#define STREAM_WINDOW (1 << 20)
#define CONN_WINDOW (8 << 20)

struct api_stream {
	struct api_stream *prev, *next;	/* the session's list */
	int32_t id;
	int method;			/* -1: unknown :path */
	const char *route_err;
	char route_buf[128];
	bool grpc_content;		/* content-type application/grpc... */
	bool post;			/* :method POST */
	bool dispatched;		/* request went to the daemon */
	bool answered;
	/* Streams: requests dispatched and not answered; the client ended
	 * its side; HEADERS sent; trailers decided (status in end_*); the
	 * data source waits for resume. */
	bool streaming, half_closed, started, ending, deferred;
	uint32_t inflight;
	int end_code;
	char *end_msg;
	uint8_t *body;
	size_t blen, bcap;
	size_t dropped;			/* body bytes past the limit */
	bool over_budget;		/* the session's budget was full */
	uint8_t *resp;			/* gRPC frames being sent */
	size_t rlen, roff, rcap;
};

struct api_session {
	nghttp2_session *h2;
	const struct api_ops *ops;
	void *ctx;
	size_t max_request;
	size_t max_buffered, buffered;	/* request bodies held */
	uint8_t *out;
	size_t olen, ooff, ocap;
	bool broken;
	bool settings_seen;		/* the client's first SETTINGS */
	/* Every stream alive, so that freeing the session frees them:
	 * nghttp2_session_del() does not report closes. */
	struct api_stream *streams;
};

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

static int stream_end(struct api_session *s, struct api_stream *st,
		      int code, const char *message);

/* One whole message of a stream to the daemon. */
static void stream_dispatch(struct api_session *s, struct api_stream *st,
			    size_t n)
{
	struct api_request req = { .stream_id = st->id, .method = st->method };
	struct grpc_error err;

	st->dispatched = true;
	if (!st->grpc_content) {
		stream_end(s, st, GRPC_UNKNOWN,
			   "content-type is not application/grpc");
		return;
	}
	req.decoded = grpc_decode(st->method, st->body, n, s->max_request,
				  &req.msg, &req.len, &err);
	if (!req.decoded) {
		stream_end(s, st, err.code ? err.code : GRPC_INTERNAL,
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
			want += (size_t)st->body[1] << 24 |
				(size_t)st->body[2] << 16 |
				(size_t)st->body[3] << 8 | st->body[4];
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
	size_t n;

	if (st->blen < GRPC_FRAME_HDR)
		return false;
	n = (size_t)st->body[1] << 24 | (size_t)st->body[2] << 16 |
	    (size_t)st->body[3] << 8 | st->body[4];
	return n > s->max_request + API_GRPC_OVERHEAD_BYTES;
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
			stream_end(s, st, GRPC_OK, NULL);
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
			size_t cap = s->ocap ? s->ocap : 16384;
			uint8_t *o;

			while (cap < s->olen + n)
				cap *= 2;
			o = realloc(s->out, cap);
			if (!o)
				return -ENOMEM;
			s->out = o;
			s->ocap = cap;
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

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
		   strlen(v), NGHTTP2_NV_FLAG_NONE }

static ssize_t read_resp(nghttp2_session *h2, int32_t id, uint8_t *buf,
			 size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct api_stream *st = src->ptr;
	size_t n = st->rlen - st->roff;
	nghttp2_nv trailer[] = { NV("grpc-status", "0") };

	(void)user;
	if (n > length)
		n = length;
	memcpy(buf, st->resp + st->roff, n);
	st->roff += n;
	if (st->roff == st->rlen) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (!nghttp2_submit_trailer(h2, id, trailer, 1))
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return n;
}

static struct api_stream *pending(struct api_session *s, int32_t id)
{
	struct api_stream *st = nghttp2_session_get_stream_user_data(s->h2, id);

	if (st && st->streaming)
		return st->ending ? NULL : st;
	return st && st->dispatched && !st->answered ? st : NULL;
}

/* A length-prefixed gRPC frame of @msg appended to @st's output. */
static int frame_append(struct api_stream *st, const uint8_t *msg, size_t len)
{
	size_t need = len + GRPC_FRAME_HDR;
	uint8_t *p;

	if (len > UINT32_MAX)
		return -EINVAL;
	if (st->roff && st->roff == st->rlen)
		st->roff = st->rlen = 0;
	if (st->roff > st->rlen / 2) {
		memmove(st->resp, st->resp + st->roff, st->rlen - st->roff);
		st->rlen -= st->roff;
		st->roff = 0;
	}
	if (st->rlen + need > st->rcap) {
		size_t cap = st->rcap ? st->rcap : 256;

		while (cap < st->rlen + need)
			cap *= 2;
		p = realloc(st->resp, cap);
		if (!p)
			return -ENOMEM;
		st->resp = p;
		st->rcap = cap;
	}
	p = st->resp + st->rlen;
	p[0] = 0;
	p[1] = len >> 24;
	p[2] = len >> 16;
	p[3] = len >> 8;
	p[4] = len;
	if (len)
		memcpy(p + GRPC_FRAME_HDR, msg, len);
	st->rlen += need;
	return 0;
}

static ssize_t read_stream(nghttp2_session *h2, int32_t id, uint8_t *buf,
			   size_t length, uint32_t *flags,
			   nghttp2_data_source *src, void *user)
{
	struct api_stream *st = src->ptr;
	size_t n = st->rlen - st->roff;
	char status[12];

	(void)user;
	if (!n && !st->ending) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > length)
		n = length;
	memcpy(buf, st->resp + st->roff, n);
	st->roff += n;
	if (st->roff == st->rlen && st->ending) {
		snprintf(status, sizeof(status), "%d", st->end_code);
		{
			nghttp2_nv t[] = { NV("grpc-status", status),
					   NV("grpc-message",
					      st->end_msg ? st->end_msg : "") };

			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (!nghttp2_submit_trailer(h2, id, t,
						    st->end_msg ? 2 : 1))
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		}
	}
	return n;
}

/* Queue one message on a stream; the first sends the HEADERS. */
static int stream_push(struct api_session *s, struct api_stream *st,
		       const uint8_t *msg, size_t len)
{
	nghttp2_nv hdrs[] = { NV(":status", "200"),
			      NV("content-type", "application/grpc") };
	nghttp2_data_provider prd = { .source.ptr = st,
				      .read_callback = read_stream };
	int rc = frame_append(st, msg, len);

	if (rc)
		return rc;
	if (!st->started) {
		if (nghttp2_submit_response(s->h2, st->id, hdrs, 2, &prd))
			return -ENOMEM;
		st->started = true;
	} else if (st->deferred) {
		st->deferred = false;
		if (nghttp2_session_resume_data(s->h2, st->id))
			return -ENOMEM;
	}
	return 0;
}

/* A "Trailers-Only" answer: one HEADERS frame with the status and the
 * (percent-encoded, NULL: none) message. */
static int trailers_only(struct api_session *s, int32_t id, int code,
			 const char *enc)
{
	char status[12];

	snprintf(status, sizeof(status), "%d", code);
	{
		nghttp2_nv hdrs[] = { NV(":status", "200"),
				      NV("content-type", "application/grpc"),
				      NV("grpc-status", status),
				      NV("grpc-message", enc ? enc : "") };

		if (nghttp2_submit_response(s->h2, id, hdrs, enc ? 4 : 3, NULL))
			return -ENOMEM;
	}
	return 0;
}

/* Error or not, the trailers of a stream: in a Trailers-Only HEADERS if
 * nothing was sent yet, else after the queued messages. */
static int stream_end(struct api_session *s, struct api_stream *st,
		      int code, const char *message)
{
	char *enc = NULL;
	int rc = 0;

	if (st->ending)
		return -ENOENT;
	st->ending = true;
	if (message && *message) {
		enc = malloc(strlen(message) * 3 + 1);
		if (!enc)
			return -ENOMEM;
		grpc_percent_encode(message, enc);
	}
	st->end_code = code;
	st->end_msg = enc;
	if (st->started) {
		if (st->deferred) {
			st->deferred = false;
			rc = nghttp2_session_resume_data(s->h2, st->id);
		}
		return rc ? -ENOMEM : 0;
	}
	return trailers_only(s, st->id, code, enc);
}

/* A request on a stream is answered: end the stream if it was the last
 * one and the client has ended its side. */
static void stream_answered(struct api_session *s, struct api_stream *st)
{
	if (st->inflight)
		st->inflight--;
	if (!st->inflight && st->half_closed && !st->ending &&
	    grpc_method__ends_with_client(st->method))
		stream_end(s, st, GRPC_OK, NULL);
}

int api_session__reply(struct api_session *s, int32_t stream_id,
		       const uint8_t *msg, size_t len)
{
	struct api_stream *st = pending(s, stream_id);
	nghttp2_nv hdrs[] = { NV(":status", "200"),
			      NV("content-type", "application/grpc") };
	nghttp2_data_provider prd;
	int rc;

	if (!st)
		return -ENOENT;
	if (st->streaming) {
		rc = stream_push(s, st, msg, len);
		stream_answered(s, st);
		return rc;
	}
	rc = frame_append(st, msg, len);
	if (rc)
		return rc;
	prd.source.ptr = st;
	prd.read_callback = read_resp;
	if (nghttp2_submit_response(s->h2, stream_id, hdrs, 2, &prd))
		return -ENOMEM;
	st->answered = true;
	return 0;
}

int api_session__send(struct api_session *s, int32_t stream_id,
		      const uint8_t *msg, size_t len)
{
	struct api_stream *st = pending(s, stream_id);

	if (!st || !st->streaming)
		return -ENOENT;
	return stream_push(s, st, msg, len);
}

int api_session__handled(struct api_session *s, int32_t stream_id)
{
	struct api_stream *st = pending(s, stream_id);

	if (!st || !st->streaming)
		return -ENOENT;
	stream_answered(s, st);
	return 0;
}

int api_session__end(struct api_session *s, int32_t stream_id)
{
	struct api_stream *st = pending(s, stream_id);

	if (!st || !st->streaming)
		return -ENOENT;
	return stream_end(s, st, GRPC_OK, NULL);
}

size_t api_session__queued(const struct api_session *s, int32_t stream_id)
{
	const struct api_stream *st =
		nghttp2_session_get_stream_user_data(s->h2, stream_id);

	return st ? st->rlen - st->roff : 0;
}

int api_session__fail(struct api_session *s, int32_t stream_id,
		      enum grpc_status code, const char *message)
{
	struct api_stream *st = pending(s, stream_id);
	char *enc;
	int rc;

	if (!st)
		return -ENOENT;
	if (st->streaming)
		return stream_end(s, st, code, message);
	enc = malloc(strlen(message) * 3 + 1);
	if (!enc)
		return -ENOMEM;
	grpc_percent_encode(message, enc);
	rc = trailers_only(s, stream_id, code, enc);
	free(enc);
	if (!rc)
		st->answered = true;
	return rc;
}

int api_session__fail_etcd(struct api_session *s, int32_t stream_id,
			   enum etcd_err err)
{
	return api_session__fail(s, stream_id, etcd_err__grpc_status(err),
				 etcd_err__message(err));
}

int api_session__answer(struct api_session *s, int32_t stream_id,
			const struct mvcc_result *res)
{
	if (res->err)
		return api_session__fail_etcd(s, stream_id, res->err);
	return api_session__reply(s, stream_id, res->resp, res->len);
}
