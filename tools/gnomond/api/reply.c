// SPDX-License-Identifier: GPL-2.0
/*
 * The answers on a client connection's request streams (session.c takes
 * the requests in).  A unary answer is HEADERS (:status 200, content-type
 * application/grpc), one DATA with the length-prefixed message, and
 * trailers (grpc-status 0); an error is a single "Trailers-Only" HEADERS
 * frame with grpc-status and grpc-message.  An answer that comes after
 * nghttp2 closed its stream finds no stream and gets -ENOENT.
 *
 * A streaming method's answers queue in the stream's output buffer as
 * gRPC frames behind one HEADERS; nghttp2's data source reads the queue
 * and defers while it is empty (api_session__send resumes it), and when
 * the stream ends the trailers follow the last queued byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "session_internal.h"

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
		p = grow__array(st->resp, &st->rcap, st->rlen + need, 1, 256);
		if (!p)
			return -ENOMEM;
		st->resp = p;
	}
	p = st->resp + st->rlen;
	grpc_frame__put(p, 0, len);
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

/* Error or not, the trailers of a stream (session_internal.h). */
int api_reply__end(struct api_session *s, struct api_stream *st, int code,
		   const char *message)
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
		api_reply__end(s, st, GRPC_OK, NULL);
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
	return api_reply__end(s, st, GRPC_OK, NULL);
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
		return api_reply__end(s, st, code, message);
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
