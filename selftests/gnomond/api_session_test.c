// SPDX-License-Identifier: GPL-2.0
/*
 * The gRPC/HTTP2 session of gnomond's etcd API, driven in memory by an
 * nghttp2 client (api_h2client.h): routing, framing, etcd's errors with
 * their gRPC codes, size limits, answers given later and out of order,
 * answers to streams the client reset, streams (several messages each way,
 * cut anywhere, ended by the client), and HTTP/2 garbage.
 */
#include "../ktap.h"
#include "api_h2client.h"

struct held {
	int32_t id;
	struct mvcc_result res;
};

struct backend {
	struct mvcc_store *store;
	bool defer;
	struct held held[H2C_MAX];
	int nheld;
	int calls;
	int closed;
};

static const struct mvcc_header hdr = { .cluster_id = 5, .member_id = 6,
					.raft_term = 2 };

static void serve(void *ctx, struct api_session *s, struct api_request *req)
{
	struct backend *b = ctx;
	struct held *h = &b->held[b->nheld];

	b->calls++;
	h->id = req->stream_id;
	if (req->method == API_LEASE_KEEPALIVE) {
		const Etcdserverpb__LeaseKeepAliveRequest *k =
			(const void *)req->decoded;

		if (mvcc_store__lease_keepalive(b->store, &hdr, k->id, 1,
						&h->res))
			abort();
	} else if (api_serve_local(b->store, &hdr, req, &h->res)) {
		abort();
	}
	if (!b->defer) {
		api_session__answer(s, h->id, &h->res);
		mvcc_result__release(&h->res);
		return;
	}
	b->nheld++;
}

static void closed(void *ctx, struct api_session *s, int32_t id)
{
	struct backend *b = ctx;

	(void)s;
	(void)id;
	b->closed++;
}

static const struct api_ops ops = { .request = serve, .closed = closed };

static void setup_limits(struct backend *b, struct api_session **s,
			 struct h2c *h, const struct api_limits *lim)
{
	memset(b, 0, sizeof(*b));
	if (mvcc_store__new(&b->store, 0) || api_session__new(s, &ops, b, lim))
		abort();
	h2c_init(h);
}

static void setup(struct backend *b, struct api_session **s, struct h2c *h,
		  size_t max_request)
{
	struct api_limits lim = { .max_request_bytes = max_request };

	setup_limits(b, s, h, &lim);
}

static void teardown(struct backend *b, struct api_session *s, struct h2c *h)
{
	for (int i = 0; i < b->nheld; i++)
		mvcc_result__release(&b->held[i].res);
	api_session__free(s);
	h2c_free(h);
	mvcc_store__free(b->store);
}

static Etcdserverpb__PutRequest put_req(const char *k, const char *v)
{
	Etcdserverpb__PutRequest p = ETCDSERVERPB__PUT_REQUEST__INIT;

	p.key.data = (uint8_t *)k;
	p.key.len = strlen(k);
	p.value.data = (uint8_t *)v;
	p.value.len = strlen(v);
	return p;
}

/* The message of a good answer: one uncompressed gRPC frame. */
static bool answer_ok(const struct h2c_stream *st)
{
	uint8_t flag;

	return st->closed && st->http_status == 200 && st->grpc_status == 0 &&
	       st->rlen >= GRPC_FRAME_HDR &&
	       grpc_frame__get(st->resp, &flag) == st->rlen - GRPC_FRAME_HDR &&
	       flag == 0;
}

/* Does the HTTP/2 byte stream d hold a frame of this type? */
static bool has_frame(const uint8_t *d, size_t len, uint8_t type)
{
	size_t off = 0;

	while (len - off >= 9) {
		size_t flen = (size_t)d[off] << 16 | (size_t)d[off + 1] << 8 |
			      d[off + 2];

		if (d[off + 3] == type)
			return true;
		off += 9 + flen;
		if (off > len)
			break;
	}
	return false;
}

/* Take the session's output: does it hold a frame of this type? */
static bool output_has(struct api_session *s, uint8_t type)
{
	const uint8_t *d;
	size_t len;
	bool found;

	if (api_session__output(s, &d, &len))
		return false;
	found = has_frame(d, len, type);
	api_session__consume(s, len);
	return found;
}

KTAP_TEST(api_put_then_range)
{
	Etcdserverpb__PutRequest p = put_req("alpha", "one");
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	Etcdserverpb__RangeResponse *rr;
	struct h2c_stream *a, *b2;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	KTAP_EXPECT(t, !api_session__handshaken(s), "not handshaken at first");
	a = h2c_call(&h, "/etcdserverpb.KV/Put", &p.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, answer_ok(a), "put answered: status %d grpc %d",
		    a->http_status, a->grpc_status);
	KTAP_EXPECT(t, api_session__handshaken(s) && api_session__idle(s),
		    "handshaken, and idle once answered");
	r.key = p.key;
	b2 = h2c_call(&h, "/etcdserverpb.KV/Range", &r.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_ASSERT(t, answer_ok(b2), "range answered");
	rr = etcdserverpb__range_response__unpack(NULL, b2->rlen - GRPC_FRAME_HDR,
						  b2->resp + GRPC_FRAME_HDR);
	KTAP_ASSERT(t, rr && rr->n_kvs == 1, "decodes");
	KTAP_EXPECT(t, rr->kvs[0]->value.len == 3 &&
		    !memcmp(rr->kvs[0]->value.data, "one", 3) &&
		    rr->header->revision == 2 && rr->header->member_id == 6,
		    "value and header");
	etcdserverpb__range_response__free_unpacked(rr, NULL);
	api_session__goaway(s);
	KTAP_EXPECT(t, output_has(s, NGHTTP2_GOAWAY) && api_session__done(s),
		    "a GOAWAY, then done");
	teardown(&be, s, &h);
}

KTAP_TEST(api_errors_as_etcd_sends_them)
{
	Etcdserverpb__PutRequest p = put_req("", "x");
	Etcdserverpb__PutRequest big = put_req("k", "");
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct h2c_stream *empty, *unk, *svc, *comp, *bad, *large, *fut;
	static uint8_t value[3000];
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 2048);
	empty = h2c_call(&h, "/etcdserverpb.KV/Put", &p.base);
	unk = h2c_call(&h, "/etcdserverpb.KV/Frobnicate", &p.base);
	svc = h2c_call(&h, "/etcdserverpb.Auth/Authenticate", &p.base);
	comp = h2c_call_raw(&h, "/etcdserverpb.KV/Range", (const uint8_t *)"\x0a\x01k", 3, 1);
	bad = h2c_call_raw(&h, "/etcdserverpb.KV/Range", (const uint8_t *)"\x0a\x09k", 3, 0);
	memset(value, 'v', sizeof(value));
	big.value.data = value;
	big.value.len = sizeof(value);
	large = h2c_call(&h, "/etcdserverpb.KV/Put", &big.base);
	r.key.data = (uint8_t *)"k";
	r.key.len = 1;
	r.revision = 99;
	fut = h2c_call(&h, "/etcdserverpb.KV/Range", &r.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, empty->grpc_status == GRPC_INVALID_ARGUMENT &&
		    !strcmp(empty->grpc_message, "etcdserver: key is not provided"),
		    "empty key: %d %s", empty->grpc_status, empty->grpc_message);
	KTAP_EXPECT(t, unk->grpc_status == GRPC_UNIMPLEMENTED &&
		    !strcmp(unk->grpc_message,
			    "unknown method Frobnicate for service etcdserverpb.KV"),
		    "unknown method: %s", unk->grpc_message);
	KTAP_EXPECT(t, svc->grpc_status == GRPC_UNIMPLEMENTED &&
		    !strcmp(svc->grpc_message, "unknown service etcdserverpb.Auth"),
		    "unknown service: %s", svc->grpc_message);
	KTAP_EXPECT(t, comp->grpc_status == GRPC_UNIMPLEMENTED,
		    "compressed message: %d", comp->grpc_status);
	KTAP_EXPECT(t, bad->grpc_status == GRPC_INTERNAL, "bad protobuf: %d",
		    bad->grpc_status);
	KTAP_EXPECT(t, large->grpc_status == GRPC_INVALID_ARGUMENT &&
		    !strcmp(large->grpc_message, "etcdserver: request is too large"),
		    "too large: %d %s", large->grpc_status, large->grpc_message);
	KTAP_EXPECT(t, fut->grpc_status == GRPC_OUT_OF_RANGE &&
		    !strcmp(fut->grpc_message,
			    "etcdserver: mvcc: required revision is a future revision"),
		    "future: %s", fut->grpc_message);
	KTAP_EXPECT(t, be.calls == 1, "only the future read reached the backend");
	KTAP_EXPECT(t, empty->http_status == 200 && empty->rlen == 0,
		    "errors are trailers-only");
	teardown(&be, s, &h);
}

/* etcdctl endpoint status --cluster sends :authority in URL form. */
KTAP_TEST(api_authority_in_url_form_is_served)
{
	Etcdserverpb__RangeRequest r = ETCDSERVERPB__RANGE_REQUEST__INIT;
	struct h2c_stream *url, *get;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	r.key.data = (uint8_t *)"k";
	r.key.len = 1;
	h.authority = "http://127.0.0.1:2379";
	url = h2c_call(&h, "/etcdserverpb.KV/Range", &r.base);
	h.authority = NULL;
	h.method = "GET";
	get = h2c_call(&h, "/etcdserverpb.KV/Range", &r.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, answer_ok(url), "URL-form :authority answered: %d %u",
		    url->grpc_status, url->close_code);
	KTAP_EXPECT(t, get->closed && get->close_code == NGHTTP2_PROTOCOL_ERROR &&
		    get->grpc_status == -1, "GET is reset: %u", get->close_code);
	KTAP_EXPECT(t, be.calls == 1, "only the POST reached the backend");
	teardown(&be, s, &h);
}

KTAP_TEST(api_answers_later_in_any_order)
{
	Etcdserverpb__PutRequest p1 = put_req("a", "1"), p2 = put_req("b", "2");
	struct h2c_stream *a, *b2, *c;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	be.defer = true;
	a = h2c_call(&h, "/etcdserverpb.KV/Put", &p1.base);
	b2 = h2c_call(&h, "/etcdserverpb.KV/Put", &p2.base);
	c = h2c_call(&h, "/etcdserverpb.KV/Put", &p2.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_ASSERT(t, be.nheld == 3, "all three held: %d", be.nheld);
	KTAP_EXPECT(t, !a->closed && !b2->closed, "nothing answered yet");
	/* The client gives up on the third call. */
	nghttp2_submit_rst_stream(h.c, NGHTTP2_FLAG_NONE, c->id, NGHTTP2_CANCEL);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, api_session__answer(s, c->id,
					   &be.held[2].res) == -ENOENT,
		    "answering a reset stream is -ENOENT");
	KTAP_EXPECT(t, !api_session__answer(s, b2->id, &be.held[1].res),
		    "second first");
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, answer_ok(b2) && !a->closed, "second answered alone");
	KTAP_EXPECT(t, !api_session__answer(s, a->id, &be.held[0].res), "first");
	KTAP_EXPECT(t, api_session__answer(s, a->id, &be.held[0].res) == -ENOENT,
		    "no second answer");
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, answer_ok(a), "first answered");
	teardown(&be, s, &h);
}

KTAP_TEST(api_freed_with_pending_requests)
{
	Etcdserverpb__PutRequest p = put_req("a", "1");
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	be.defer = true;
	h2c_call(&h, "/etcdserverpb.KV/Put", &p.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, be.nheld == 1, "held");
	teardown(&be, s, &h);	/* no leak: ASan would say */
}

KTAP_TEST(api_http2_garbage_is_refused)
{
	static const uint8_t junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	KTAP_EXPECT(t, api_session__recv(s, junk, sizeof(junk) - 1) == -EPROTO,
		    "not HTTP/2");
	KTAP_EXPECT(t, api_session__recv(s, junk, 1) == -EPROTO, "stays broken");
	KTAP_EXPECT(t, output_has(s, NGHTTP2_GOAWAY),
		    "a GOAWAY before the close");
	KTAP_EXPECT(t, api_session__done(s), "done after flushing");
	teardown(&be, s, &h);
}

/* The length prefix alone is enough to refuse a message past gRPC's limit:
 * the answer comes while the client is still sending. */
KTAP_TEST(api_too_large_answered_at_the_prefix)
{
	static const uint8_t part[100];
	struct h2c_stream *st;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 2048);
	st = h2c_call_raw(&h, "/etcdserverpb.KV/Put", part, sizeof(part), 0);
	st->body[1] = 4;	/* declares 64 MiB */
	st->keep_open = true;
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, st->grpc_status == GRPC_RESOURCE_EXHAUSTED &&
		    strstr(st->grpc_message, "larger than max"),
		    "refused before the stream ends: %d %s", st->grpc_status,
		    st->grpc_message);
	KTAP_EXPECT(t, be.calls == 0, "nothing reached the backend");
	teardown(&be, s, &h);
}

KTAP_TEST(api_grpc_message_is_percent_encoded)
{
	struct h2c_stream *st;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	be.defer = true;
	st = h2c_call_raw(&h, "/etcdserverpb.KV/Range", (const uint8_t *)"\x0a\x01k", 3, 0);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, !api_session__fail(s, st->id, GRPC_UNAVAILABLE,
					  "100% \xc3\xa9\n"), "fail");
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, st->grpc_status == GRPC_UNAVAILABLE &&
		    !strcmp(st->grpc_message, "100%25 %C3%A9%0A"),
		    "encoded: %s", st->grpc_message);
	teardown(&be, s, &h);
}

KTAP_TEST(api_connection_buffer_budget)
{
	struct api_limits lim = { .max_buffered_bytes = 4096 };
	Etcdserverpb__PutRequest big = put_req("big", ""), small = put_req("s", "1");
	struct h2c_stream *a, *b2;
	static uint8_t value[5000];
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup_limits(&be, &s, &h, &lim);
	big.value.data = value;
	big.value.len = sizeof(value);
	a = h2c_call(&h, "/etcdserverpb.KV/Put", &big.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, a->grpc_status == GRPC_RESOURCE_EXHAUSTED &&
		    !strcmp(a->grpc_message, "etcdserver: too many requests"),
		    "over the budget: %d %s", a->grpc_status, a->grpc_message);
	b2 = h2c_call(&h, "/etcdserverpb.KV/Put", &small.base);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, answer_ok(b2), "the budget is given back");
	KTAP_EXPECT(t, be.calls == 1, "only the small put was served");
	teardown(&be, s, &h);
}

/* A LeaseKeepAlive stream whose body is @n requests for IDs @ids (0 packs
 * to an empty message), all in one go, then the client's END_STREAM. */
static struct h2c_stream *keepalive_stream(struct h2c *h, const int64_t *ids,
					   int n)
{
	struct h2c_stream *st = h2c_call_raw(h,
		"/etcdserverpb.Lease/LeaseKeepAlive", NULL, 0, 0);
	uint8_t *body = malloc(n * 16 + 1);
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		Etcdserverpb__LeaseKeepAliveRequest r =
			ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
		size_t m;

		r.id = ids[i];
		m = etcdserverpb__lease_keep_alive_request__pack(&r,
					body + len + GRPC_FRAME_HDR);
		grpc_frame__put(body + len, 0, m);
		len += GRPC_FRAME_HDR + m;
	}
	free(st->body);
	st->body = body;
	st->blen = len;
	return st;
}

/* The IDs of the keepalive answers in @st's data, in order. */
static int answered_ids(const struct h2c_stream *st, int64_t *ids, int max)
{
	size_t off = 0;
	int n = 0;

	while (off + GRPC_FRAME_HDR <= st->rlen && n < max) {
		size_t m = grpc_frame__get(st->resp + off, NULL);
		Etcdserverpb__LeaseKeepAliveResponse *r;

		if (m > st->rlen - off - GRPC_FRAME_HDR)
			break;
		r = etcdserverpb__lease_keep_alive_response__unpack(NULL, m,
			st->resp + off + GRPC_FRAME_HDR);
		if (!r)
			break;
		ids[n++] = r->id;
		etcdserverpb__lease_keep_alive_response__free_unpacked(r, NULL);
		off += GRPC_FRAME_HDR + m;
	}
	return off == st->rlen ? n : -1;
}

KTAP_TEST(api_stream_messages_each_way)
{
	const int64_t ids[] = { 5, 0, 7 };
	int64_t got[4];
	struct h2c_stream *a;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	a = keepalive_stream(&h, ids, 3);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, be.calls == 3, "three requests, the empty one too: %d",
		    be.calls);
	KTAP_EXPECT(t, answered_ids(a, got, 4) == 3 && got[0] == 5 &&
		    !got[1] && got[2] == 7, "three answers, in order");
	KTAP_EXPECT(t, a->closed && a->grpc_status == 0,
		    "the client ended its side: the stream ends OK (%d)",
		    a->grpc_status);
	KTAP_EXPECT(t, be.closed == 1, "the daemon hears of the close");
	teardown(&be, s, &h);
}

KTAP_TEST(api_stream_waits_for_its_answers)
{
	const int64_t ids[] = { 1, 2 };
	int64_t got[4];
	struct h2c_stream *a;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	be.defer = true;
	a = keepalive_stream(&h, ids, 2);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, be.nheld == 2 && !a->closed,
		    "half-closed with two requests unanswered: still open");
	api_session__answer(s, be.held[1].id, &be.held[1].res);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, !a->closed && answered_ids(a, got, 4) == 1 &&
		    got[0] == 2, "one answer, out of order, still open");
	api_session__answer(s, be.held[0].id, &be.held[0].res);
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, a->closed && a->grpc_status == 0 &&
		    answered_ids(a, got, 4) == 2, "the last answer ends it");
	KTAP_EXPECT(t, api_session__send(s, a->id, NULL, 0) == -ENOENT,
		    "nothing more can be sent");
	teardown(&be, s, &h);
}

KTAP_TEST(api_stream_error_ends_it)
{
	const int64_t ids[] = { 1 };
	struct h2c_stream *a;
	struct api_session *s;
	struct backend be;
	struct h2c h;

	setup(&be, &s, &h, 0);
	be.defer = true;
	a = keepalive_stream(&h, ids, 1);
	a->blen--;	/* the client ends inside a message */
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, a->closed && a->grpc_status == 0 && !be.calls,
		    "a partial message is not a request");
	a = keepalive_stream(&h, ids, 1);
	a->body[1] = 0x7f;	/* a 2 GB message */
	KTAP_ASSERT(t, !h2c_pump(&h, s), "pump");
	KTAP_EXPECT(t, a->closed && a->grpc_status == GRPC_RESOURCE_EXHAUSTED,
		    "an oversized message ends the stream: %d %s",
		    a->grpc_status, a->grpc_message);
	teardown(&be, s, &h);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
