// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of gnomon-trace's record format and merge logic, on histories
 * built here: a ping-pong, a relay A->B->C, independent sends, receives
 * with no or the wrong send, and malformed record lines.  They check the
 * total order, the send/receive matching and the vector clocks against
 * what the histories are by construction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../ktap.h"
#include "../../tools/trace/trace_event.h"
#include "../../tools/trace/trace_merge.h"
#include "../../tools/trace/trace_render.h"

/* A tiny simulator of the stamping rules: one Lamport clock per node. */
struct sim {
	struct trace_merge m;
	uint64_t clock[8];
	uint32_t seq[8][8];	/* next sequence number from i to j */
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	trace_merge__init(&s->m);
}

static void conn(struct trace_event *e, int self, int peer)
{
	snprintf(e->local, sizeof(e->local), "198.18.0.%d", self);
	snprintf(e->peer, sizeof(e->peer), "198.18.0.%d", peer);
	e->local_port = (uint16_t)(7000 + self);
	e->peer_port = (uint16_t)(7000 + peer);
}

/* Node from sends len bytes to node to; returns the send event. */
static struct trace_event sim_send(struct sim *s, int from, int to, uint32_t len)
{
	struct trace_event e = { 0 };

	e.dir = TRACE_SEND;
	e.node = (uint16_t)from;
	e.lamport = ++s->clock[from];
	conn(&e, from, to);
	e.seq = s->seq[from][to];
	e.end_seq = e.seq + len;
	s->seq[from][to] += len;
	return e;
}

static struct trace_event sim_recv(struct sim *s, const struct trace_event *snd)
{
	struct trace_event e = { 0 };
	int self = snd->peer_port - 7000, peer = snd->node;

	e.dir = TRACE_RECV;
	e.node = (uint16_t)self;
	e.remote = snd->lamport;
	e.remote_node = snd->node;
	if (s->clock[self] < snd->lamport)
		s->clock[self] = snd->lamport;
	e.lamport = ++s->clock[self];
	conn(&e, self, peer);
	e.seq = snd->seq;
	e.end_seq = snd->end_seq;
	return e;
}

static int add(struct sim *s, const struct trace_event *e)
{
	return trace_merge__add(&s->m, e);
}

/* Position (1-based) of the input event idx in the total order. */
static size_t pos(const struct sim *s, size_t idx)
{
	return s->m.rank[idx] + 1;
}

KTAP_TEST(ping_pong_rebuilds_the_chain)
{
	struct trace_event ev[8];
	struct sim s;
	size_t i;

	sim_init(&s);
	for (i = 0; i < 4; i++) {
		ev[2 * i] = i % 2 ? sim_send(&s, 2, 1, 8) : sim_send(&s, 1, 2, 8);
		ev[2 * i + 1] = sim_recv(&s, &ev[2 * i]);
	}
	/* Added out of order on purpose: every receive first. */
	for (i = 0; i < 8; i += 2)
		KTAP_ASSERT(t, add(&s, &ev[i + 1]) == 0, "add");
	for (i = 0; i < 8; i += 2)
		KTAP_ASSERT(t, add(&s, &ev[i]) == 0, "add");
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	KTAP_EXPECT(t, s.m.matched == 4 && s.m.unmatched == 0,
		    "matched %zu unmatched %zu", s.m.matched, s.m.unmatched);
	/* Sends were added at 4..7, receives at 0..3. */
	for (i = 0; i < 4; i++) {
		KTAP_EXPECT(t, pos(&s, 4 + i) == 2 * i + 1, "send %zu at %zu", i, pos(&s, 4 + i));
		KTAP_EXPECT(t, pos(&s, i) == 2 * i + 2, "recv %zu at %zu", i, pos(&s, i));
		KTAP_EXPECT(t, s.m.send_of[i] == (long)(4 + i), "recv %zu from %ld", i, s.m.send_of[i]);
		KTAP_EXPECT(t, trace_merge__before(&s.m, 4 + i, i), "send before recv");
	}
	trace_merge__free(&s.m);
}

KTAP_TEST(relay_is_transitive)
{
	struct sim s;
	struct trace_event ab, rb, bc, rc;

	sim_init(&s);
	ab = sim_send(&s, 1, 2, 8);
	rb = sim_recv(&s, &ab);
	bc = sim_send(&s, 2, 3, 8);
	rc = sim_recv(&s, &bc);
	add(&s, &rc);
	add(&s, &bc);
	add(&s, &rb);
	add(&s, &ab);
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	KTAP_EXPECT(t, s.m.matched == 2, "matched %zu", s.m.matched);
	KTAP_EXPECT(t, pos(&s, 3) == 1 && pos(&s, 2) == 2 && pos(&s, 1) == 3 &&
		    pos(&s, 0) == 4, "order %zu %zu %zu %zu",
		    pos(&s, 3), pos(&s, 2), pos(&s, 1), pos(&s, 0));
	KTAP_EXPECT(t, trace_merge__before(&s.m, 3, 0), "A's send before C's receive");
	KTAP_EXPECT(t, !trace_merge__concurrent(&s.m, 3, 0), "not concurrent");
	trace_merge__free(&s.m);
}

KTAP_TEST(independent_sends_are_concurrent)
{
	struct sim s;
	struct trace_event x, y, rx, ry;

	sim_init(&s);
	x = sim_send(&s, 1, 2, 8);
	y = sim_send(&s, 3, 2, 8);
	rx = sim_recv(&s, &x);
	ry = sim_recv(&s, &y);
	add(&s, &x);
	add(&s, &y);
	add(&s, &rx);
	add(&s, &ry);
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	/* Same Lamport value on two nodes: ordered, but concurrent. */
	KTAP_EXPECT(t, x.lamport == y.lamport, "lamport %llu %llu",
		    (unsigned long long)x.lamport, (unsigned long long)y.lamport);
	KTAP_EXPECT(t, trace_merge__concurrent(&s.m, 0, 1), "sends concurrent");
	KTAP_EXPECT(t, trace_merge__before(&s.m, 0, 3), "x before y's receive");
	KTAP_EXPECT(t, trace_merge__before(&s.m, 1, 3), "y before its receive");
	trace_merge__free(&s.m);
}

KTAP_TEST(unmatched_and_mismatched_receives)
{
	struct sim s;
	struct trace_event x, rx, lost;

	sim_init(&s);
	x = sim_send(&s, 1, 2, 8);
	rx = sim_recv(&s, &x);
	rx.peer_port = 9;		/* another connection */
	lost = sim_recv(&s, &x);
	lost.remote = 99;		/* a send nobody recorded */
	add(&s, &x);
	add(&s, &rx);
	add(&s, &lost);
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	KTAP_EXPECT(t, s.m.matched == 0 && s.m.unmatched == 2 && s.m.mismatched == 1,
		    "matched %zu unmatched %zu mismatched %zu",
		    s.m.matched, s.m.unmatched, s.m.mismatched);
	KTAP_EXPECT(t, s.m.send_of[1] == -1 && s.m.send_of[2] == -1, "no links");
	trace_merge__free(&s.m);
}

KTAP_TEST(split_receive_matches_one_send)
{
	struct sim s;
	struct trace_event x, r1, r2;

	sim_init(&s);
	x = sim_send(&s, 1, 2, 3000);	/* one GSO send, two receives */
	r1 = sim_recv(&s, &x);
	r1.end_seq = r1.seq + 1448;
	r2 = sim_recv(&s, &x);
	r2.seq = r1.end_seq;
	add(&s, &x);
	add(&s, &r1);
	add(&s, &r2);
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	KTAP_EXPECT(t, s.m.send_of[1] == 0 && s.m.send_of[2] == 0, "both from the send");
	KTAP_EXPECT(t, trace_merge__before(&s.m, 1, 2), "pieces in order");
	trace_merge__free(&s.m);
}

KTAP_TEST(record_lines_round_trip)
{
	struct trace_event e = { 0 }, back;
	struct trace_header h = { .node = 7 }, hb;
	char line[512];

	e.dir = TRACE_RECV;
	e.node = 3;
	e.lamport = 1ULL << 47;
	e.remote = 12;
	e.remote_node = 9;
	e.seq = 4000000000u;
	e.end_seq = 5;
	e.tcp_flags = 0x18;
	e.realtime_ns = 1795644056193945894ULL;
	snprintf(e.local, sizeof(e.local), "fe80::1");
	snprintf(e.peer, sizeof(e.peer), "198.18.0.2");
	snprintf(h.host, sizeof(h.host), "alpha");
	snprintf(h.cgroup, sizeof(h.cgroup), "/sys/fs/cgroup");
	KTAP_ASSERT(t, trace_event__format(&e, line, sizeof(line)) == 0, "format");
	KTAP_EXPECT(t, trace_line__parse(line, &hb, &back) == TRACE_LINE_EVENT, "%s", line);
	KTAP_EXPECT(t, !memcmp(&e, &back, sizeof(e)), "event differs after round trip");
	KTAP_ASSERT(t, trace_header__format(&h, line, sizeof(line)) == 0, "format");
	KTAP_EXPECT(t, trace_line__parse(line, &hb, &back) == TRACE_LINE_HEADER, "%s", line);
	KTAP_EXPECT(t, hb.node == 7 && !strcmp(hb.host, "alpha"), "header differs");
	KTAP_EXPECT(t, trace_event__format(&e, line, 20) == -ENOSPC, "short buffer");
}

KTAP_TEST(addresses_in_text)
{
	const uint8_t v4[4] = { 198, 18, 1, 2 };
	const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18,
				     [14] = 1, [15] = 2 };
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char buf[TRACE_ADDR_LEN];

	trace_addr__format(0, v4, buf, sizeof(buf));
	KTAP_EXPECT(t, !strcmp(buf, "198.18.1.2"), "%s", buf);
	trace_addr__format(1, mapped, buf, sizeof(buf));
	KTAP_EXPECT(t, !strcmp(buf, "198.18.1.2"), "mapped: %s", buf);
	trace_addr__format(1, v6, buf, sizeof(buf));
	KTAP_EXPECT(t, !strcmp(buf, "2001:db8::1"), "%s", buf);
	trace_addr__format(1, v6, buf, 4);
	KTAP_EXPECT(t, !strcmp(buf, "?"), "short buffer: %s", buf);
}

KTAP_TEST(bad_record_lines_are_refused)
{
	static const char *const bad[] = {
		"", "{}", "[1]", "{\"dir\":\"send\"", "{\"dir\":\"sideways\"}",
		"{\"dir\":\"send\",\"node\":65536}", "{\"dir\":\"send\",\"seq\":-1}",
		"{\"dir\":\"send\",\"lamport\":18446744073709551616}",
		"{\"dir\":\"send\",\"local\":\"a\\\"b\"}", "{\"node\":1}",
		"{\"dir\":\"send\"} trailing", "{\"gnomon_trace\":2,\"node\":1}",
		"{\"dir\":\"send\",\"local\":\"" "0123456789012345678901234567890123456789012345678\"}",
	};
	struct trace_header h;
	struct trace_event e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, trace_line__parse(bad[i], &h, &e) == -EINVAL,
			    "accepted: %s", bad[i]);
	KTAP_EXPECT(t, trace_line__parse("{\"dir\":\"send\",\"future\":\"x\",\"node\":2}", &h, &e) ==
		    TRACE_LINE_EVENT && e.node == 2, "unknown keys are skipped");
}

KTAP_TEST(renderers_write_every_event)
{
	struct sim s;
	struct trace_event x, rx;
	char buf[16384];
	FILE *f;

	sim_init(&s);
	x = sim_send(&s, 1, 2, 8);
	rx = sim_recv(&s, &x);
	add(&s, &x);
	add(&s, &rx);
	KTAP_ASSERT(t, trace_merge__run(&s.m) == 0, "run");
	f = fmemopen(buf, sizeof(buf), "w");
	KTAP_ASSERT(t, f && trace_render__text(&s.m, f) == 0, "text");
	fclose(f);
	KTAP_EXPECT(t, strstr(buf, "pos=2 node=2 recv L=2") && strstr(buf, "from=1"), "%s", buf);
	f = fmemopen(buf, sizeof(buf), "w");
	KTAP_ASSERT(t, f && trace_render__chrome(&s.m, f) == 0, "chrome");
	fclose(f);
	KTAP_EXPECT(t, strstr(buf, "\"ph\":\"s\"") && strstr(buf, "\"ph\":\"f\""), "flow arrows");
	f = fmemopen(buf, sizeof(buf), "w");
	KTAP_ASSERT(t, f && trace_render__svg(&s.m, f) == 0, "svg");
	fclose(f);
	KTAP_EXPECT(t, strstr(buf, "<svg") && strstr(buf, "marker-end") && strstr(buf, "</svg>"), "svg");
	trace_merge__free(&s.m);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
