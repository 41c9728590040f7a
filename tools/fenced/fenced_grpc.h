/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fenced_grpc: the small gRPC client gnomon-fenced speaks to one gnomond
 * member with: HTTP/2 through libnghttp2's client API (mem_send/mem_recv on
 * a non-blocking TCP socket the caller polls), protobuf-c messages framed
 * the gRPC way (a 5-byte prefix: flag 0, big-endian length).  Unary calls
 * and one kind of bidirectional stream (the request side stays open, the
 * caller sends messages into it: LeaseKeepAlive).
 *
 * Messages and stream ends are delivered from fgrpc__io(), never from
 * inside nghttp2's callbacks, so a callback may start new calls.  A lost
 * connection is an error from fgrpc__io(); the caller closes the client
 * and connects to the next endpoint.
 */
#ifndef GNOMON_FENCED_GRPC_H
#define GNOMON_FENCED_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define FGRPC_STREAMS	8

struct fgrpc_stream;
struct nghttp2_session;

/* A whole response message of the call with TAG. */
typedef void (*fgrpc_msg_fn)(void *user, int tag, const uint8_t *msg,
			     size_t len);
/* The call with TAG ended: grpc-status (-1: none, e.g. reset), message. */
typedef void (*fgrpc_end_fn)(void *user, int tag, int status, const char *msg);

struct fgrpc_stream {
	int32_t id;			/* 0: slot free */
	int tag;
	uint8_t *out;			/* framed request bytes */
	size_t olen, ooff;
	bool keep_open;			/* bidi: no END_STREAM from us */
	uint8_t *in;			/* response bytes not yet delivered */
	size_t ilen, icap;
	int status;
	char message[128];
	bool closed;
};

struct fgrpc {
	int fd;				/* -1: not connected */
	bool connecting;
	struct nghttp2_session *h2;
	char authority[256];
	uint8_t *wbuf;			/* produced by nghttp2, not yet written */
	size_t wlen, woff, wcap;
	struct fgrpc_stream st[FGRPC_STREAMS];
	fgrpc_msg_fn on_msg;
	fgrpc_end_fn on_end;
	void *user;
	bool failed;			/* a protocol error: drop the connection */
};

void fgrpc__init(struct fgrpc *g, fgrpc_msg_fn on_msg, fgrpc_end_fn on_end,
		 void *user);
/* Start a non-blocking connect to ENDPOINT (host:port, "http://" allowed). */
int fgrpc__connect(struct fgrpc *g, const char *endpoint);
/* poll() events the client wants now. */
short fgrpc__events(const struct fgrpc *g);
/* Do the I/O REVENTS allow and deliver what arrived: 0 or -errno. */
int fgrpc__io(struct fgrpc *g, short revents);
/* Start a call to PATH with message M; TAG names it in the callbacks.
 * KEEP_OPEN: a bidirectional stream, more messages by fgrpc__send(). */
int fgrpc__call(struct fgrpc *g, int tag, const char *path,
		const ProtobufCMessage *m, bool keep_open);
/* One more message on the open stream with TAG: 0 or -errno. */
int fgrpc__send(struct fgrpc *g, int tag, const ProtobufCMessage *m);
/* Is a call with TAG under way? */
bool fgrpc__busy(const struct fgrpc *g, int tag);
/* Cancel the call with TAG (RST_STREAM), if any; no end is delivered. */
void fgrpc__cancel(struct fgrpc *g, int tag);
bool fgrpc__connected(const struct fgrpc *g);
/* Drop the connection and every call; no ends are delivered. */
void fgrpc__close(struct fgrpc *g);

#endif
