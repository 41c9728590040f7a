// SPDX-License-Identifier: GPL-2.0
/*
 * fenced_grpc: gRPC over HTTP/2 for gnomon-fenced (see fenced_grpc.h).
 *
 * nghttp2 runs in memory: fgrpc__io() reads what the socket has and feeds
 * nghttp2_session_mem_recv(), then writes what nghttp2_session_mem_send()
 * produces, keeping the rest for the next POLLOUT.  The callbacks only
 * record: response DATA is appended to its stream's buffer, grpc-status is
 * taken from the trailers, a closed stream is marked.  After each round the
 * complete messages and the ended calls are handed to the caller.
 */
#include "fenced_grpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "../common/grow.h"
#include "../common/grpc_frame.h"

#define FGRPC_MSG_MAX	(1U << 20)	/* nothing we ask for is larger */

void fgrpc__init(struct fgrpc *g, fgrpc_msg_fn on_msg, fgrpc_end_fn on_end,
		 void *user)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->on_msg = on_msg;
	g->on_end = on_end;
	g->user = user;
}

static struct fgrpc_stream *by_id(struct fgrpc *g, int32_t id)
{
	for (int i = 0; i < FGRPC_STREAMS; i++)
		if (g->st[i].id == id)
			return &g->st[i];
	return NULL;
}

static struct fgrpc_stream *by_tag(struct fgrpc *g, int tag)
{
	for (int i = 0; i < FGRPC_STREAMS; i++)
		if (g->st[i].id && g->st[i].tag == tag)
			return &g->st[i];
	return NULL;
}

static void stream_free(struct fgrpc_stream *st)
{
	free(st->out);
	free(st->in);
	memset(st, 0, sizeof(*st));
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f,
		     const uint8_t *name, size_t nlen, const uint8_t *value,
		     size_t vlen, uint8_t flags, void *user)
{
	struct fgrpc_stream *st = by_id(user, f->hd.stream_id);
	size_t n;

	(void)s;
	(void)flags;
	if (!st)
		return 0;
	if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
		st->status = 0;
		for (size_t i = 0; i < vlen && i < 4; i++)
			if (value[i] >= '0' && value[i] <= '9')
				st->status = st->status * 10 + value[i] - '0';
	} else if (nlen == 12 && !memcmp(name, "grpc-message", 12)) {
		n = vlen < sizeof(st->message) - 1 ? vlen :
		    sizeof(st->message) - 1;
		memcpy(st->message, value, n);
		st->message[n] = 0;
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id,
		   const uint8_t *data, size_t len, void *user)
{
	struct fgrpc *g = user;
	struct fgrpc_stream *st = by_id(g, id);

	(void)s;
	(void)flags;
	if (!st)
		return 0;
	if (st->ilen + len > FGRPC_MSG_MAX + GRPC_FRAME_HDR) {
		g->failed = true;
		return 0;
	}
	if (st->ilen + len > st->icap) {
		uint8_t *p = grow__array(st->in, &st->icap, st->ilen + len, 1,
					 256);

		if (!p) {
			g->failed = true;
			return 0;
		}
		st->in = p;
	}
	memcpy(st->in + st->ilen, data, len);
	st->ilen += len;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct fgrpc_stream *st = by_id(user, id);

	(void)s;
	(void)code;
	if (st)
		st->closed = true;
	return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf,
			 size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct fgrpc_stream *st = src->ptr;
	size_t n = st->olen - st->ooff;

	(void)s;
	(void)user;
	if (st->id != id)	/* cancelled, the slot reused */
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (!n && st->keep_open)
		return NGHTTP2_ERR_DEFERRED;
	if (n > length)
		n = length;
	memcpy(buf, st->out + st->ooff, n);
	st->ooff += n;
	if (st->ooff == st->olen) {
		st->ooff = st->olen = 0;
		if (!st->keep_open)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
	}
	return (ssize_t)n;
}

int fgrpc__connect(struct fgrpc *g, const char *endpoint)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	nghttp2_session_callbacks *cbs;
	char host[256], *colon;
	struct addrinfo *ai;
	int one = 1, err;

	if (!strncmp(endpoint, "http://", 7))
		endpoint += 7;
	snprintf(host, sizeof(host), "%s", endpoint);
	snprintf(g->authority, sizeof(g->authority), "%s", endpoint);
	colon = strrchr(host, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = 0;
		memmove(host, host + 1, strlen(host));
	}
	err = getaddrinfo(host, colon + 1, &hints, &ai);
	if (err)
		return -EHOSTUNREACH;
	g->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (g->fd < 0) {
		err = -errno;
		freeaddrinfo(ai);
		return err;
	}
	setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = connect(g->fd, ai->ai_addr, ai->ai_addrlen) ? -errno : 0;
	freeaddrinfo(ai);
	if (err && err != -EINPROGRESS)
		goto close_fd;
	g->connecting = err == -EINPROGRESS;
	if (nghttp2_session_callbacks_new(&cbs)) {
		err = -ENOMEM;
		goto close_fd;
	}
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
	err = nghttp2_session_client_new(&g->h2, cbs, g) ? -ENOMEM : 0;
	nghttp2_session_callbacks_del(cbs);
	if (err)
		goto close_fd;
	nghttp2_submit_settings(g->h2, NGHTTP2_FLAG_NONE, NULL, 0);
	return 0;

close_fd:
	close(g->fd);
	g->fd = -1;
	return err;
}

bool fgrpc__connected(const struct fgrpc *g)
{
	return g->fd >= 0 && !g->connecting;
}

short fgrpc__events(const struct fgrpc *g)
{
	if (g->fd < 0)
		return 0;
	if (g->connecting)
		return POLLOUT;
	return POLLIN | (g->wlen > g->woff ||
			 nghttp2_session_want_write(g->h2) ? POLLOUT : 0);
}

/* Move nghttp2's output into wbuf and write as much as the socket takes. */
static int flush(struct fgrpc *g)
{
	const uint8_t *d;
	ssize_t n;

	if (g->woff == g->wlen)
		g->woff = g->wlen = 0;
	while ((n = nghttp2_session_mem_send(g->h2, &d)) > 0) {
		if (g->wlen + (size_t)n > g->wcap) {
			uint8_t *p = grow__array(g->wbuf, &g->wcap,
						 g->wlen + (size_t)n, 1, 4096);

			if (!p)
				return -ENOMEM;
			g->wbuf = p;
		}
		memcpy(g->wbuf + g->wlen, d, (size_t)n);
		g->wlen += (size_t)n;
	}
	if (n < 0)
		return -EPROTO;
	while (g->woff < g->wlen) {
		n = send(g->fd, g->wbuf + g->woff, g->wlen - g->woff,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		g->woff += (size_t)n;
	}
	return 0;
}

static int receive(struct fgrpc *g)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t n = recv(g->fd, buf, sizeof(buf), 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (nghttp2_session_mem_recv(g->h2, buf, (size_t)n) < 0)
			return -EPROTO;
		if (g->failed)
			return -EPROTO;
	}
}

/* Hand complete messages and ended calls to the caller. */
static int deliver(struct fgrpc *g)
{
	for (int i = 0; i < FGRPC_STREAMS; i++) {
		struct fgrpc_stream *st = &g->st[i];
		int tag = st->tag;

		while (st->id && st->ilen >= GRPC_FRAME_HDR) {
			uint8_t flag;
			size_t len = grpc_frame__get(st->in, &flag);
			size_t all = GRPC_FRAME_HDR + len;

			if (flag != 0 || len > FGRPC_MSG_MAX)
				return -EPROTO;	/* compressed or huge */
			if (st->ilen < all)
				break;
			g->on_msg(g->user, tag, st->in + GRPC_FRAME_HDR, len);
			if (!st->id || st->tag != tag)
				break;	/* the caller cancelled it */
			memmove(st->in, st->in + all, st->ilen - all);
			st->ilen -= all;
		}
		if (st->id && st->closed) {
			int status = st->status;
			char msg[sizeof(st->message)];

			memcpy(msg, st->message, sizeof(msg));
			stream_free(st);
			g->on_end(g->user, tag, status, msg);
		}
	}
	return 0;
}

int fgrpc__io(struct fgrpc *g, short revents)
{
	int err;

	if (g->fd < 0)
		return -ENOTCONN;
	if (g->connecting) {
		socklen_t len = sizeof(err);

		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			return -errno;
		if (err)
			return -err;
		g->connecting = false;
		return flush(g);
	}
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		err = receive(g);
		if (err)
			return err;
	}
	err = deliver(g);
	if (err)
		return err;
	if (g->fd < 0)
		return -ENOTCONN;	/* closed by a callback */
	return flush(g);
}

static int frame(struct fgrpc_stream *st, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *p;

	p = realloc(st->out, st->olen + GRPC_FRAME_HDR + len);
	if (!p)
		return -ENOMEM;
	st->out = p;
	p += st->olen;
	grpc_frame__put(p, 0, len);
	protobuf_c_message_pack(m, p + GRPC_FRAME_HDR);
	st->olen += GRPC_FRAME_HDR + len;
	return 0;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), \
		   NGHTTP2_NV_FLAG_NONE }

int fgrpc__call(struct fgrpc *g, int tag, const char *path,
		const ProtobufCMessage *m, bool keep_open)
{
	nghttp2_nv nv[] = {
		NV(":method", "POST"), NV(":scheme", "http"),
		NV(":path", path), NV(":authority", g->authority),
		NV("content-type", "application/grpc"), NV("te", "trailers"),
	};
	struct fgrpc_stream *st = by_id(g, 0);
	nghttp2_data_provider prd;
	int32_t id;

	if (g->fd < 0)
		return -ENOTCONN;
	if (!st || by_tag(g, tag))
		return -EBUSY;
	st->tag = tag;
	st->status = -1;
	st->keep_open = keep_open;
	if (frame(st, m)) {
		stream_free(st);
		return -ENOMEM;
	}
	prd.source.ptr = st;
	prd.read_callback = read_body;
	id = nghttp2_submit_request(g->h2, NULL, nv, sizeof(nv) / sizeof(nv[0]),
				    &prd, NULL);
	if (id < 0) {
		stream_free(st);
		return -EPROTO;
	}
	st->id = id;
	return g->connecting ? 0 : flush(g);
}

int fgrpc__send(struct fgrpc *g, int tag, const ProtobufCMessage *m)
{
	struct fgrpc_stream *st = by_tag(g, tag);

	if (!st || !st->keep_open || st->closed)
		return -ENOENT;
	if (frame(st, m))
		return -ENOMEM;
	nghttp2_session_resume_data(g->h2, st->id);
	return g->connecting ? 0 : flush(g);
}

bool fgrpc__busy(const struct fgrpc *g, int tag)
{
	return by_tag((struct fgrpc *)g, tag) != NULL;
}

void fgrpc__cancel(struct fgrpc *g, int tag)
{
	struct fgrpc_stream *st = by_tag(g, tag);

	if (!st)
		return;
	if (!st->closed)
		nghttp2_submit_rst_stream(g->h2, NGHTTP2_FLAG_NONE, st->id,
					  NGHTTP2_CANCEL);
	stream_free(st);
}

void fgrpc__close(struct fgrpc *g)
{
	for (int i = 0; i < FGRPC_STREAMS; i++)
		if (g->st[i].id)
			stream_free(&g->st[i]);
	if (g->h2)
		nghttp2_session_del(g->h2);
	g->h2 = NULL;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->connecting = false;
	free(g->wbuf);
	g->wbuf = NULL;
	g->wlen = g->woff = g->wcap = 0;
	g->failed = false;
}
