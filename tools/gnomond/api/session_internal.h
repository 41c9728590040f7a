/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the API layer: one client connection's state, shared by
 * session.c (HTTP/2 in, requests to the daemon) and reply.c (the answers
 * out on the request streams).
 */
#ifndef GNOMOND_API_SESSION_INTERNAL_H
#define GNOMOND_API_SESSION_INTERNAL_H

#include <nghttp2/nghttp2.h>

#include "grpc.h"

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

/* End @st with gRPC status @code and @message (NULL: none): in a
 * Trailers-Only HEADERS if nothing was sent yet, else after the queued
 * messages.  0, -ENOENT if it is already ending, or -ENOMEM. */
int api_reply__end(struct api_session *s, struct api_stream *st, int code,
		   const char *message);

#endif /* GNOMOND_API_SESSION_INTERNAL_H */
