// SPDX-License-Identifier: GPL-2.0
/*
 * The watch hub (tools/gnomond/mvcc/watch.h) against a store and a fake
 * sink that decodes what it is sent: create, cancel and progress answers,
 * watch IDs, ranges and filters, prev_kv, a start revision in the past
 * (history), a compacted start, a congested stream catching up without a
 * gap or a duplicate, a replaced store, and a thousand watchers on one
 * random history, each of which must see exactly its range's events in
 * revision order.
 */
#include <errno.h>
#include <stdio.h>

#include "../ktap.h"
#include "mvcc_helpers.h"
#include "../../tools/gnomond/mvcc/watch.h"

#define MAX_RESP 4096

struct sink_state {
	Etcdserverpb__WatchResponse *r[MAX_RESP];
	int32_t stream[MAX_RESP];
	int n;
	size_t queued;		/* what queued() answers */
	int32_t gone;		/* send to this stream fails */
};

static int fake_send(void *ctx, uint64_t owner, int32_t stream,
		     const uint8_t *msg, size_t len)
{
	struct sink_state *st = ctx;

	(void)owner;
	if (stream == st->gone)
		return -ENOENT;
	if (st->n == MAX_RESP)
		abort();
	st->r[st->n] = etcdserverpb__watch_response__unpack(NULL, len, msg);
	if (!st->r[st->n])
		abort();
	st->stream[st->n++] = stream;
	return 0;
}

static size_t fake_queued(void *ctx, uint64_t owner, int32_t stream)
{
	(void)owner;
	(void)stream;
	return ((struct sink_state *)ctx)->queued;
}

static const struct mvcc_watch_sink fake = { fake_send, fake_queued };

static void sink_reset(struct sink_state *st)
{
	for (int i = 0; i < st->n; i++)
		etcdserverpb__watch_response__free_unpacked(st->r[i], NULL);
	st->n = 0;
}

static void create(struct mvcc_watch_hub *h, struct mvcc_store *s,
		   int32_t stream, const char *key, const char *end,
		   int64_t start, bool prev_kv, int filter)
{
	Etcdserverpb__WatchRequest r = ETCDSERVERPB__WATCH_REQUEST__INIT;
	Etcdserverpb__WatchCreateRequest c =
		ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	Etcdserverpb__WatchCreateRequest__FilterType f = filter;

	c.key = th_bin(key);
	c.range_end = th_bin(end);
	c.start_revision = start;
	c.prev_kv = prev_kv;
	if (filter >= 0) {
		c.filters = &f;
		c.n_filters = 1;
	}
	r.request_union_case =
		ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	r.create_request = &c;
	if (mvcc_watch_hub__request(h, s, &th_hdr, 1, stream, &r))
		abort();
}

/* A put or delete applied as the daemon does: apply, then the hub. */
static void put(struct mvcc_watch_hub *h, struct mvcc_store *s,
		const char *k, const char *v)
{
	if (th_put(s, k, v) < 0 || mvcc_watch_hub__applied(h, s, &th_hdr))
		abort();
}

static void del(struct mvcc_watch_hub *h, struct mvcc_store *s,
		const char *k)
{
	th_del_n(s, k, NULL);
	if (mvcc_watch_hub__applied(h, s, &th_hdr))
		abort();
}

static bool kv_is(const Mvccpb__KeyValue *kv, const char *k, const char *v)
{
	return kv && th_val_is(&kv->key, k) && (!v || th_val_is(&kv->value, v));
}

KTAP_TEST(watch_create_events_cancel)
{
	struct sink_state st = { .gone = -1 };
	Etcdserverpb__WatchRequest r = ETCDSERVERPB__WATCH_REQUEST__INIT;
	Etcdserverpb__WatchCancelRequest c = ETCDSERVERPB__WATCH_CANCEL_REQUEST__INIT;
	Etcdserverpb__WatchProgressRequest pr =
		ETCDSERVERPB__WATCH_PROGRESS_REQUEST__INIT;
	struct mvcc_watch_hub *h;
	struct mvcc_store *s;
	Etcdserverpb__WatchResponse *w;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0) &&
		    !mvcc_watch_hub__new(&h, &fake, &st), "hub");
	th_put(s, "a", "0");
	create(h, s, 3, "a", "b", 0, true, -1);
	create(h, s, 3, "a", NULL, 0, false,
	       ETCDSERVERPB__WATCH_CREATE_REQUEST__FILTER_TYPE__NOPUT);
	KTAP_ASSERT(t, st.n == 2 && st.r[0]->created && st.r[1]->created,
		    "two created answers");
	KTAP_EXPECT(t, st.r[0]->watch_id == 0 && st.r[1]->watch_id == 1 &&
		    st.r[0]->header->revision == 2,
		    "IDs 0 and 1 as etcd picks them, header at revision 2");
	sink_reset(&st);
	put(h, s, "a", "1");
	put(h, s, "c", "out of range");
	del(h, s, "a");
	KTAP_ASSERT(t, st.n == 3, "three event answers: %d", st.n);
	w = st.r[0];
	KTAP_EXPECT(t, w->watch_id == 0 && w->n_events == 1 &&
		    w->events[0]->type == MVCCPB__EVENT__EVENT_TYPE__PUT &&
		    kv_is(w->events[0]->kv, "a", "1") &&
		    kv_is(w->events[0]->prev_kv, "a", "0") &&
		    w->header->revision == 3, "the put, with prev_kv");
	w = st.r[1];
	KTAP_EXPECT(t, w->watch_id == 0 && w->n_events == 1 &&
		    w->events[0]->type == MVCCPB__EVENT__EVENT_TYPE__DELETE &&
		    w->events[0]->kv->mod_revision == 5, "the delete");
	w = st.r[2];
	KTAP_EXPECT(t, w->watch_id == 1 && w->n_events == 1 &&
		    w->events[0]->type == MVCCPB__EVENT__EVENT_TYPE__DELETE,
		    "NOPUT sees only the delete");
	sink_reset(&st);
	c.watch_id = 1;
	r.request_union_case =
		ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CANCEL_REQUEST;
	r.cancel_request = &c;
	mvcc_watch_hub__request(h, s, &th_hdr, 1, 3, &r);
	r.request_union_case =
		ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_PROGRESS_REQUEST;
	r.progress_request = &pr;
	mvcc_watch_hub__request(h, s, &th_hdr, 1, 3, &r);
	KTAP_EXPECT(t, st.n == 2 && st.r[0]->canceled &&
		    st.r[0]->watch_id == 1 && st.r[1]->watch_id == -1 &&
		    st.r[1]->header->revision == 5,
		    "canceled; progress answers with the revision");
	sink_reset(&st);
	put(h, s, "a", "2");
	KTAP_EXPECT(t, st.n == 1 && st.r[0]->watch_id == 0,
		    "the canceled watcher is silent");
	sink_reset(&st);
	mvcc_watch_hub__closed(h, 1, 3);
	put(h, s, "a", "3");
	KTAP_EXPECT(t, !st.n && !mvcc_watch_hub__count(h),
		    "a closed stream's watchers are gone");
	mvcc_watch_hub__free(h);
	mvcc_store__free(s);
}

KTAP_TEST(watch_history_and_compaction)
{
	struct sink_state st = { .gone = -1 };
	struct mvcc_watch_hub *h;
	struct mvcc_store *s;
	Etcdserverpb__WatchResponse *w;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0) &&
		    !mvcc_watch_hub__new(&h, &fake, &st), "hub");
	for (int i = 0; i < 10; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		th_put(s, i % 2 ? "p/odd" : "p/even", v);
	}
	create(h, s, 1, "p/", "p0", 4, false, -1);
	KTAP_EXPECT(t, st.n == 1 && st.r[0]->created, "created");
	KTAP_ASSERT(t, !mvcc_watch_hub__catch_up(h, s, &th_hdr), "catch up");
	KTAP_ASSERT(t, st.n == 2, "one answer from history");
	w = st.r[1];
	KTAP_EXPECT(t, w->n_events == 8 && w->events[0]->kv->mod_revision == 4 &&
		    w->events[7]->kv->mod_revision == 11 &&
		    w->header->revision == 11,
		    "revisions 4..11 in order: %zu events", w->n_events);
	sink_reset(&st);
	put(h, s, "p/x", "live");
	KTAP_EXPECT(t, st.n == 1 && st.r[0]->events[0]->kv->mod_revision == 12,
		    "then live events");
	sink_reset(&st);
	KTAP_ASSERT(t, th_compact(s, 8) == ETCD_OK, "compact at 8");
	create(h, s, 1, "p/", "p0", 3, false, -1);
	mvcc_watch_hub__catch_up(h, s, &th_hdr);
	KTAP_EXPECT(t, st.n == 2 && st.r[1]->canceled &&
		    st.r[1]->compact_revision == 8,
		    "a start below the compaction is canceled with "
		    "compact_revision 8");
	mvcc_watch_hub__free(h);
	mvcc_store__free(s);
	sink_reset(&st);
}

/* Revisions seen by a watcher, checked to be next..last without gaps. */
static bool contiguous(struct sink_state *st, int64_t wid, int64_t first,
		       int64_t last)
{
	int64_t want = first;

	for (int i = 0; i < st->n; i++)
		for (size_t j = 0; st->r[i]->watch_id == wid &&
		     j < st->r[i]->n_events; j++)
			if (st->r[i]->events[j]->kv->mod_revision != want++)
				return false;
	return want == last + 1;
}

KTAP_TEST(watch_congested_stream_catches_up)
{
	struct sink_state st = { .gone = -1 };
	struct mvcc_watch_hub *h;
	struct mvcc_store *s;
	int64_t first;

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0) &&
		    !mvcc_watch_hub__new(&h, &fake, &st), "hub");
	create(h, s, 1, "k", NULL, 0, false, -1);
	sink_reset(&st);
	first = mvcc_store__revision(s) + 1;
	put(h, s, "k", "1");
	st.queued = MVCC_WATCH_HIGH_WATER + 1;
	for (int i = 0; i < 600; i++)
		put(h, s, "k", "x");
	mvcc_watch_hub__catch_up(h, s, &th_hdr);
	KTAP_EXPECT(t, st.n == 1, "while congested nothing more is sent");
	st.queued = 0;
	for (int i = 0; i < 10; i++) {
		put(h, s, "k", "y");
		mvcc_watch_hub__catch_up(h, s, &th_hdr);
	}
	put(h, s, "k", "z");
	KTAP_EXPECT(t, contiguous(&st, 0, first, mvcc_store__revision(s)),
		    "every revision %lld..%lld once, in order",
		    (long long)first, (long long)mvcc_store__revision(s));
	KTAP_EXPECT(t, st.r[st.n - 1]->n_events == 1,
		    "and it is live again");
	sink_reset(&st);
	mvcc_watch_hub__store_replaced(h);
	put(h, s, "k", "after");
	KTAP_EXPECT(t, !st.n, "a replaced store: nothing live until caught up");
	mvcc_watch_hub__catch_up(h, s, &th_hdr);
	KTAP_EXPECT(t, st.n == 1 && st.r[0]->n_events == 1,
		    "then the missed revision from history");
	sink_reset(&st);
	st.gone = 1;
	put(h, s, "k", "gone");
	KTAP_EXPECT(t, !mvcc_watch_hub__count(h),
		    "a stream that is gone loses its watchers");
	mvcc_watch_hub__free(h);
	mvcc_store__free(s);
}

#define NW 1000
#define ROUNDS 200

/* Move the revisions sent to each stream into got[stream]. */
static void take_revs(struct sink_state *st, int64_t (*got)[ROUNDS],
		      size_t *ngot)
{
	for (int i = 0; i < st->n; i++)
		for (size_t j = 0; j < st->r[i]->n_events; j++) {
			int32_t w = st->stream[i];

			got[w][ngot[w]++] = st->r[i]->events[j]->kv->mod_revision;
		}
	sink_reset(st);
}

/* Each watcher on a stream of its own: stream i, range i. */
static void watcher_range(int i, char *k, char *e)
{
	snprintf(k, 8, "%02d", (i % 50) & 63);
	snprintf(e, 8, "%02d", i % 50 + 1 + i % 7);
}

KTAP_TEST(watch_thousand_watchers_random_history)
{
	static struct sink_state st = { .gone = -1 };
	static int64_t got[NW][ROUNDS], log_rev[ROUNDS];
	static char log_key[ROUNDS][8];
	static size_t ngot[NW];
	struct mvcc_watch_hub *h;
	struct mvcc_store *s;
	uint64_t x = 12345;
	unsigned int bad = 0, nlog = 0;
	char k[8], e[8];

	KTAP_ASSERT(t, !mvcc_store__new(&s, 0) &&
		    !mvcc_watch_hub__new(&h, &fake, &st), "hub");
	for (int i = 0; i < NW; i++) {
		watcher_range(i, k, e);
		create(h, s, i, k, i % 3 ? e : NULL, 0, false, -1);
	}
	sink_reset(&st);
	for (int r = 0; r < ROUNDS; r++) {
		int64_t rev = mvcc_store__revision(s);

		snprintf(k, sizeof(k), "%02d", (int)(ktap_rng(&x) % 60));
		if (ktap_rng(&x) % 4)
			put(h, s, k, "v");
		else
			del(h, s, k);
		if (mvcc_store__revision(s) != rev) {
			log_rev[nlog] = mvcc_store__revision(s);
			memcpy(log_key[nlog++], k, sizeof(k));
		}
		/* Every fourth round a congested spell for everybody. */
		st.queued = r % 4 == 1 ? MVCC_WATCH_HIGH_WATER + 1 : 0;
		if (!st.queued)
			mvcc_watch_hub__catch_up(h, s, &th_hdr);
		take_revs(&st, got, ngot);
	}
	st.queued = 0;
	for (int i = 0; i < 40; i++) {
		mvcc_watch_hub__catch_up(h, s, &th_hdr);
		take_revs(&st, got, ngot);
	}
	for (int i = 0; i < NW; i++) {
		size_t n = 0;

		watcher_range(i, k, e);
		for (unsigned int l = 0; l < nlog; l++) {
			bool in = i % 3 ? strcmp(log_key[l], k) >= 0 &&
					  strcmp(log_key[l], e) < 0
					: !strcmp(log_key[l], k);

			if (in && (n >= ngot[i] || got[i][n++] != log_rev[l]))
				bad++;
		}
		if (n != ngot[i])
			bad++;
	}
	KTAP_EXPECT(t, !bad, "%u watchers saw other than exactly their "
		    "range's history in order", bad);
	KTAP_EXPECT(t, mvcc_watch_hub__count(h) == NW, "%zu watchers",
		    mvcc_watch_hub__count(h));
	mvcc_watch_hub__free(h);
	mvcc_store__free(s);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
