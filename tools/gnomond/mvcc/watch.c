// SPDX-License-Identifier: GPL-2.0
/*
 * The watch hub (watch.h): streams, their watchers, and the two ways
 * events reach a watcher.
 *
 * Streams and watchers are in arrays (swap-removal): a stream holds the
 * watch IDs it handed out; the hub's watcher array is what every applied
 * command is matched against, each synced watcher testing the command's
 * few changes against its key range.  Responses are built in an arena,
 * with key-value bytes pointing into the store, and packed before the
 * store changes (ops_pack), like every other answer of the state machine.
 *
 * The catch-up step of one watcher reads the keys of its range and, for
 * each, the revisions within [next_rev, next_rev + window); it sorts them
 * by (revision, sub-revision) and sends them as one response whose header
 * revision is the window's end, then moves next_rev past it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/grow.h"
#include "ops.h"
#include "watch.h"

struct watch_stream {
	uint64_t owner;
	int32_t id;
	int64_t next_id;	/* the next automatic watch ID */
};

struct watcher {
	struct watch_stream *ws;
	int64_t id;
	ProtobufCBinaryData key, end;	/* owned */
	bool noput, nodelete, prev_kv, progress;
	bool unsynced;
	int64_t next_rev;
};

struct mvcc_watch_hub {
	const struct mvcc_watch_sink *sink;
	void *ctx;
	struct watch_stream **streams;
	size_t nstreams, capstreams;
	struct watcher **w;
	size_t nw, capw;
	size_t cursor;		/* where the next catch-up call starts */
	struct mvcc_event *scratch;	/* catch-up events */
	size_t capscratch;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p = grow__array(*v, cap, n + 1, size, 16);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

int mvcc_watch_hub__new(struct mvcc_watch_hub **out,
			const struct mvcc_watch_sink *sink, void *ctx)
{
	struct mvcc_watch_hub *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->sink = sink;
	h->ctx = ctx;
	*out = h;
	return 0;
}

static void watcher_free(struct watcher *w)
{
	free(w->key.data);
	free(w->end.data);
	free(w);
}

void mvcc_watch_hub__free(struct mvcc_watch_hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nw; i++)
		watcher_free(h->w[i]);
	for (size_t i = 0; i < h->nstreams; i++)
		free(h->streams[i]);
	free(h->w);
	free(h->streams);
	free(h->scratch);
	free(h);
}

size_t mvcc_watch_hub__count(const struct mvcc_watch_hub *h)
{
	return h->nw;
}

static struct watch_stream *stream_find(struct mvcc_watch_hub *h,
					uint64_t owner, int32_t id,
					size_t *pos)
{
	for (size_t i = 0; i < h->nstreams; i++)
		if (h->streams[i]->owner == owner && h->streams[i]->id == id) {
			if (pos)
				*pos = i;
			return h->streams[i];
		}
	return NULL;
}

static struct watcher *watcher_find(struct mvcc_watch_hub *h,
				    const struct watch_stream *ws, int64_t id,
				    size_t *pos)
{
	for (size_t i = 0; i < h->nw; i++)
		if (h->w[i]->ws == ws && h->w[i]->id == id) {
			if (pos)
				*pos = i;
			return h->w[i];
		}
	return NULL;
}

static void watcher_remove(struct mvcc_watch_hub *h, size_t i)
{
	watcher_free(h->w[i]);
	h->w[i] = h->w[--h->nw];
}

void mvcc_watch_hub__closed(struct mvcc_watch_hub *h, uint64_t owner,
			    int32_t stream)
{
	size_t pos;
	struct watch_stream *ws = stream_find(h, owner, stream, &pos);

	if (!ws)
		return;
	for (size_t i = 0; i < h->nw;) {
		if (h->w[i]->ws == ws)
			watcher_remove(h, i);
		else
			i++;
	}
	free(ws);
	h->streams[pos] = h->streams[--h->nstreams];
}

/* Pack and send @resp (header filled here) on @ws; a gone stream is
 * dropped with its watchers. */
static int send_resp(struct mvcc_watch_hub *h, struct watch_stream *ws,
		     const struct mvcc_header *hdr, int64_t rev,
		     Etcdserverpb__WatchResponse *resp)
{
	Etcdserverpb__ResponseHeader hd = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	struct mvcc_result res = { 0 };
	int rc;

	hd.cluster_id = hdr->cluster_id;
	hd.member_id = hdr->member_id;
	hd.raft_term = hdr->raft_term;
	hd.revision = rev;
	resp->header = &hd;
	rc = ops_pack(&resp->base, &res);
	resp->header = NULL;
	if (rc)
		return rc;
	if (h->sink->send(h->ctx, ws->owner, ws->id, res.resp, res.len))
		mvcc_watch_hub__closed(h, ws->owner, ws->id);
	mvcc_result__release(&res);
	return 0;
}

static bool congested(struct mvcc_watch_hub *h, const struct watch_stream *ws)
{
	return h->sink->queued(h->ctx, ws->owner, ws->id) >
	       MVCC_WATCH_HIGH_WATER;
}

static int copy_bin(ProtobufCBinaryData *dst, const ProtobufCBinaryData *src)
{
	dst->len = src->len;
	dst->data = NULL;
	if (!src->len)
		return 0;
	dst->data = malloc(src->len);
	if (!dst->data)
		return -ENOMEM;
	memcpy(dst->data, src->data, src->len);
	return 0;
}

static bool id_taken(struct mvcc_watch_hub *h, const struct watch_stream *ws,
		     int64_t id)
{
	return watcher_find(h, ws, id, NULL) != NULL;
}

static int create(struct mvcc_watch_hub *h, struct mvcc_store *s,
		  const struct mvcc_header *hdr, struct watch_stream *ws,
		  const Etcdserverpb__WatchCreateRequest *c)
{
	Etcdserverpb__WatchResponse resp = ETCDSERVERPB__WATCH_RESPONSE__INIT;
	struct watcher *w;
	int64_t id = c->watch_id;

	resp.created = true;
	if (id && id_taken(h, ws, id)) {
		resp.watch_id = id;
		resp.canceled = true;
		resp.cancel_reason =
			"mvcc: duplicate watch ID provided on the WatchStream";
		return send_resp(h, ws, hdr, s->rev, &resp);
	}
	if (!id) {
		while (id_taken(h, ws, ws->next_id))
			ws->next_id++;
		id = ws->next_id++;
	}
	w = calloc(1, sizeof(*w));
	if (!w || grow((void **)&h->w, &h->capw, h->nw, sizeof(*h->w)) ||
	    copy_bin(&w->key, &c->key) || copy_bin(&w->end, &c->range_end)) {
		if (w)
			watcher_free(w);
		return -ENOMEM;
	}
	w->ws = ws;
	w->id = id;
	for (size_t i = 0; i < c->n_filters; i++) {
		if (c->filters[i] ==
		    ETCDSERVERPB__WATCH_CREATE_REQUEST__FILTER_TYPE__NOPUT)
			w->noput = true;
		else if (c->filters[i] ==
			 ETCDSERVERPB__WATCH_CREATE_REQUEST__FILTER_TYPE__NODELETE)
			w->nodelete = true;
	}
	w->prev_kv = c->prev_kv;
	w->progress = c->progress_notify;
	w->next_rev = c->start_revision > 0 ? c->start_revision : s->rev + 1;
	w->unsynced = w->next_rev <= s->rev;
	h->w[h->nw++] = w;
	resp.watch_id = id;
	return send_resp(h, ws, hdr, s->rev, &resp);
}

int mvcc_watch_hub__request(struct mvcc_watch_hub *h, struct mvcc_store *s,
			    const struct mvcc_header *hdr, uint64_t owner,
			    int32_t stream, const Etcdserverpb__WatchRequest *r)
{
	Etcdserverpb__WatchResponse resp = ETCDSERVERPB__WATCH_RESPONSE__INIT;
	struct watch_stream *ws = stream_find(h, owner, stream, NULL);
	size_t pos;

	if (!ws) {
		ws = calloc(1, sizeof(*ws));
		if (!ws || grow((void **)&h->streams, &h->capstreams,
				h->nstreams, sizeof(*h->streams))) {
			free(ws);
			return -ENOMEM;
		}
		ws->owner = owner;
		ws->id = stream;
		h->streams[h->nstreams++] = ws;
	}
	switch (r->request_union_case) {
	case ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST:
		return create(h, s, hdr, ws, r->create_request);
	case ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CANCEL_REQUEST:
		if (!watcher_find(h, ws, r->cancel_request->watch_id, &pos))
			return 0;
		watcher_remove(h, pos);
		resp.watch_id = r->cancel_request->watch_id;
		resp.canceled = true;
		return send_resp(h, ws, hdr, s->rev, &resp);
	case ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_PROGRESS_REQUEST:
		resp.watch_id = -1;
		return send_resp(h, ws, hdr, s->rev, &resp);
	default:
		return 0;
	}
}

static bool in_range(const struct watcher *w, const struct mvcc_key *k)
{
	struct key_range kr;

	key_range__from(&kr, &w->key, &w->end);
	return key_range__contains(&kr, k->key, k->klen);
}

/* One event, or NULL when @w filters it out (*oom on no memory). */
static Mvccpb__Event *event(struct arena *a, const struct watcher *w,
			    const struct mvcc_event *e, bool *oom)
{
	const struct mvcc_rev *r = &e->k->revs[e->idx];
	bool del = !r->version;
	Mvccpb__Event *ev;

	if ((del && w->nodelete) || (!del && w->noput))
		return NULL;
	ev = arena__alloc(a, sizeof(*ev));
	if (!ev)
		goto oom;
	mvccpb__event__init(ev);
	ev->type = del ? MVCCPB__EVENT__EVENT_TYPE__DELETE
		       : MVCCPB__EVENT__EVENT_TYPE__PUT;
	ev->kv = ops_kv(a, e->k, r, false);
	if (!ev->kv)
		goto oom;
	if (w->prev_kv && e->idx && e->k->revs[e->idx - 1].version) {
		ev->prev_kv = ops_kv(a, e->k, &e->k->revs[e->idx - 1], false);
		if (!ev->prev_kv)
			goto oom;
	}
	return ev;
oom:
	*oom = true;
	return NULL;
}

/* Send @w the events @ev[0..n) in range, up to revision @rev. */
static int send_events(struct mvcc_watch_hub *h,
		       const struct mvcc_header *hdr, struct watcher *w,
		       const struct mvcc_event *ev, size_t n, int64_t rev)
{
	Etcdserverpb__WatchResponse resp = ETCDSERVERPB__WATCH_RESPONSE__INIT;
	struct arena a = { 0 };
	bool oom = false;
	int rc = 0;

	for (size_t i = 0; i < n && !oom; i++) {
		Mvccpb__Event *e;

		if (!in_range(w, ev[i].k))
			continue;
		e = event(&a, w, &ev[i], &oom);
		if (!e)
			continue;
		if (!resp.n_events ||
		    !(resp.n_events & (resp.n_events - 1))) {
			Mvccpb__Event **v = arena__calloc(&a,
				resp.n_events ? resp.n_events * 2 : 1,
				sizeof(*v));

			if (!v) {
				oom = true;
				break;
			}
			if (resp.n_events)
				memcpy(v, resp.events,
				       resp.n_events * sizeof(*v));
			resp.events = v;
		}
		resp.events[resp.n_events++] = e;
	}
	if (oom)
		rc = -ENOMEM;
	else if (resp.n_events) {
		resp.watch_id = w->id;
		rc = send_resp(h, w->ws, hdr, rev, &resp);
	}
	arena__release(&a);
	return rc;
}

int mvcc_watch_hub__applied(struct mvcc_watch_hub *h, struct mvcc_store *s,
			    const struct mvcc_header *hdr)
{
	int64_t rev = s->rev;

	if (!s->nev)
		return 0;
	for (size_t i = 0; i < h->nw; i++) {
		struct watcher *w = h->w[i];
		size_t before = h->nw;
		int rc;

		if (w->unsynced || w->next_rev > rev)
			continue;
		/* A revision it missed (never expected): read the history. */
		if (w->next_rev < rev || congested(h, w->ws)) {
			w->unsynced = true;
			continue;
		}
		w->next_rev = rev + 1;
		rc = send_events(h, hdr, w, s->ev, s->nev, rev);
		if (rc)
			return rc;
		if (h->nw < before)	/* its stream was gone */
			i = (size_t)-1;
	}
	return 0;
}

static int event_order(const void *a, const void *b)
{
	const struct mvcc_event *x = a, *y = b;
	const struct mvcc_rev *rx = &x->k->revs[x->idx];
	const struct mvcc_rev *ry = &y->k->revs[y->idx];

	if (rx->main != ry->main)
		return rx->main < ry->main ? -1 : 1;
	return rx->sub < ry->sub ? -1 : rx->sub > ry->sub;
}

/* Cancel @w because its next revision was compacted (etcd's answer). */
static int compacted(struct mvcc_watch_hub *h, struct mvcc_store *s,
		     const struct mvcc_header *hdr, size_t i)
{
	Etcdserverpb__WatchResponse resp = ETCDSERVERPB__WATCH_RESPONSE__INIT;
	struct watcher *w = h->w[i];
	struct watch_stream *ws = w->ws;

	resp.watch_id = w->id;
	resp.canceled = true;
	resp.compact_revision = s->compact_rev;
	watcher_remove(h, i);
	return send_resp(h, ws, hdr, s->rev, &resp);
}

/* Read @w's events in [next_rev, to] from the history into h->scratch. */
static int collect(struct mvcc_watch_hub *h, struct mvcc_store *s,
		   const struct watcher *w, int64_t to, size_t *n)
{
	struct key_range kr;
	struct mvcc_iter it;
	struct mvcc_key *k;

	*n = 0;
	key_range__from(&kr, &w->key, &w->end);
	mvcc_index__seek(&s->idx, kr.key, kr.klen, &it);
	while ((k = mvcc_iter__next(&it)) && !key_range__past(&kr, k)) {
		uint32_t lo = 0, hi = k->nrevs;

		while (lo < hi) {	/* first revision >= next_rev */
			uint32_t mid = lo + (hi - lo) / 2;

			if (k->revs[mid].main < w->next_rev)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < k->nrevs && k->revs[lo].main <= to; lo++) {
			if (grow((void **)&h->scratch, &h->capscratch, *n,
				 sizeof(*h->scratch)))
				return -ENOMEM;
			h->scratch[(*n)++] = (struct mvcc_event){ k, lo };
		}
	}
	if (*n > 1)
		qsort(h->scratch, *n, sizeof(*h->scratch), event_order);
	return 0;
}

/* One catch-up step of h->w[i]; *gone when it left the array. */
static int catch_up_one(struct mvcc_watch_hub *h, struct mvcc_store *s,
			const struct mvcc_header *hdr, size_t i, bool *gone)
{
	struct watcher *w = h->w[i];
	size_t before = h->nw, n;
	int64_t to;
	int rc;

	*gone = false;
	if (w->next_rev < s->compact_rev) {
		*gone = true;
		return compacted(h, s, hdr, i);
	}
	if (w->next_rev > s->rev) {
		w->unsynced = false;
		return 0;
	}
	if (congested(h, w->ws))
		return 0;
	to = w->next_rev + MVCC_WATCH_CATCHUP_REVS - 1;
	if (to > s->rev)
		to = s->rev;
	rc = collect(h, s, w, to, &n);
	if (rc)
		return rc;
	rc = send_events(h, hdr, w, h->scratch, n, to);
	if (rc)
		return rc;
	if (h->nw < before) {
		*gone = true;
		return 0;
	}
	w->next_rev = to + 1;
	w->unsynced = w->next_rev <= s->rev;
	return 0;
}

int mvcc_watch_hub__catch_up(struct mvcc_watch_hub *h, struct mvcc_store *s,
			     const struct mvcc_header *hdr)
{
	unsigned int served = 0;

	for (size_t seen = 0; seen < h->nw &&
	     served < MVCC_WATCH_CATCHUP_WATCHERS; seen++) {
		bool gone;
		int rc;

		if (h->cursor >= h->nw)
			h->cursor = 0;
		if (!h->w[h->cursor]->unsynced) {
			h->cursor++;
			continue;
		}
		served++;
		rc = catch_up_one(h, s, hdr, h->cursor, &gone);
		if (rc)
			return rc;
		if (!gone)
			h->cursor++;
	}
	return 0;
}

void mvcc_watch_hub__store_replaced(struct mvcc_watch_hub *h)
{
	for (size_t i = 0; i < h->nw; i++)
		h->w[i]->unsynced = true;
}

int mvcc_watch_hub__progress(struct mvcc_watch_hub *h, struct mvcc_store *s,
			     const struct mvcc_header *hdr)
{
	for (size_t i = 0; i < h->nw; i++) {
		Etcdserverpb__WatchResponse resp =
			ETCDSERVERPB__WATCH_RESPONSE__INIT;
		size_t before = h->nw;
		int rc;

		if (!h->w[i]->progress || h->w[i]->unsynced)
			continue;
		resp.watch_id = h->w[i]->id;
		rc = send_resp(h, h->w[i]->ws, hdr, s->rev, &resp);
		if (rc)
			return rc;
		if (h->nw < before)
			i = (size_t)-1;
	}
	return 0;
}
