/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the API layer: gRPC's side of a request, apart from HTTP/2.
 * Routing a :path to a method, unwrapping one length-prefixed message
 * (a unary call's only one, or one of a stream's), decoding and checking it, and the percent-encoding of
 * grpc-message.  Errors carry gRPC's or etcd's exact text.
 */
#ifndef GNOMOND_API_GRPC_H
#define GNOMOND_API_GRPC_H

#include "api.h"
#include "../../common/grpc_frame.h"

/* The method for a :path, or -1 with the "unknown service/method" text in
 * @why (a static or @buf). */
int grpc_route(const char *path, size_t len, char *buf, size_t bufsize,
	       const char **why);

/* A two-way stream, which ends when the client's side has ended and every
 * request on it is answered. */
bool grpc_method__ends_with_client(enum api_method m);

struct grpc_error {
	enum grpc_status code;
	const char *msg;	/* static, or in buf */
	char buf[96];
};

/*
 * Unwrap and decode the body of a unary call to @m, or one whole message
 * of a stream.  On success returns
 * the decoded message and points *msg and *len at its bytes in @body; on
 * failure returns NULL with @err filled (err->code 0 with NULL: no memory).
 */
ProtobufCMessage *grpc_decode(enum api_method m, const uint8_t *body,
			      size_t blen,
			      size_t max_request, const uint8_t **msg,
			      size_t *len, struct grpc_error *err);

/* Percent-encode @msg for grpc-message into @out (size >= 3*strlen+1). */
void grpc_percent_encode(const char *msg, char *out);

#endif /* GNOMOND_API_GRPC_H */
