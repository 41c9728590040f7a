// SPDX-License-Identifier: GPL-2.0
/*
 * The member table's encodings (tools/gnomond/daemon/members.c), without
 * a member: a row, a table and an update round-trip; every truncation and
 * a flipped length are refused; a snapshot without the table section is
 * told apart (-ENOENT); lookups by id, URL and free slot; the hello's
 * check that a slot's member is the one saying it; the list MemberList
 * answers with.
 */
#include <errno.h>
#include <string.h>

#include "../ktap.h"
#include "../../tools/gnomond/daemon/members.h"

static struct gd_member_row row(uint64_t id, const char *name,
				const char *url, bool learner)
{
	struct gd_member_row m = { .used = true, .learner = learner,
				   .id = id, .peer = { .n = 1 } };

	strcpy(m.name, name);
	gd_url__parse(&m.peer.v[0], url);
	return m;
}

static bool same(const struct gd_member_row *a, const struct gd_member_row *b)
{
	return a->used == b->used && a->learner == b->learner &&
	       a->id == b->id && !strcmp(a->name, b->name) &&
	       a->peer.n == b->peer.n &&
	       !strcmp(a->peer.v[0].text, b->peer.v[0].text) &&
	       a->peer.v[0].addr.sin_port == b->peer.v[0].addr.sin_port;
}

static void table(struct gd_members *t)
{
	memset(t, 0, sizeof(*t));
	t->cluster_id = 0x1234567890abcdefULL;
	t->s[1] = row(11, "a", "http://127.0.0.1:2380", false);
	t->s[2] = row(22, "b", "http://127.0.0.1:2381", false);
	t->s[4] = row(44, "", "http://127.0.0.1:2384", true);
}

KTAP_TEST(row_round_trip)
{
	struct gd_member_row a = row(0xfeedULL << 40, "member-one",
				     "http://localhost:2390", true), b;
	struct gd_buf buf = { 0 };

	KTAP_EXPECT(t, !gd_member__encode_ctx(&a, &buf), "encode");
	KTAP_EXPECT(t, !gd_member__decode_ctx(&b, buf.p, buf.len), "decode");
	KTAP_EXPECT(t, same(&a, &b), "the same row back");
	for (size_t n = 0; n < buf.len; n++)
		KTAP_EXPECT(t, gd_member__decode_ctx(&b, buf.p, n) == -EINVAL,
			    "truncated to %zu of %zu refused", n, buf.len);
	buf.p[2] = 60;	/* a name longer than the row */
	KTAP_EXPECT(t, gd_member__decode_ctx(&b, buf.p, buf.len) == -EINVAL,
		    "a bad name length refused");
	gd_buf__free(&buf);
}

KTAP_TEST(table_round_trip)
{
	struct gd_members a, b;
	struct gd_buf buf = { 0 };
	size_t used = 0;

	table(&a);
	KTAP_EXPECT(t, !gd_members__encode(&a, &buf), "encode");
	/* A store's bytes follow the section in a snapshot. */
	gd_buf__append(&buf, "GNMVCC", 6);
	KTAP_EXPECT(t, !gd_members__decode(&b, buf.p, buf.len, &used),
		    "decode");
	KTAP_EXPECT(t, used == buf.len - 6, "the section's length %zu", used);
	KTAP_EXPECT(t, b.cluster_id == a.cluster_id, "cluster id");
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		KTAP_EXPECT(t, a.s[s].used == b.s[s].used &&
			    (!a.s[s].used || same(&a.s[s], &b.s[s])),
			    "slot %u", s);
	for (size_t n = 8; n < used; n++)
		KTAP_EXPECT(t, gd_members__decode(&b, buf.p, n, &used) ==
			    -EINVAL, "truncated to %zu refused", n);
	KTAP_EXPECT(t, gd_members__decode(&b, (const uint8_t *)"GNMVCC\0\2",
					  8, &used) == -ENOENT,
		    "a store's snapshot alone is not a table");
	gd_buf__free(&buf);
}

KTAP_TEST(update_round_trip)
{
	struct gd_member_row a = row(7, "", "http://127.0.0.1:2399", false), b;
	struct gd_buf buf = { 0 };
	uint32_t slot = 0;

	KTAP_EXPECT(t, !gd_member__encode_update(3, &a, &buf), "encode");
	KTAP_EXPECT(t, gd_member__is_update(buf.p, buf.len), "is an update");
	KTAP_EXPECT(t, buf.p[0] != 1, "never an MVCC command's version");
	KTAP_EXPECT(t, !gd_member__decode_update(&slot, &b, buf.p, buf.len) &&
		    slot == 3 && same(&a, &b), "decode");
	buf.p[4] = 10;	/* slot 10 */
	KTAP_EXPECT(t, gd_member__decode_update(&slot, &b, buf.p, buf.len) ==
		    -EINVAL, "a slot beyond 9 refused");
	gd_buf__free(&buf);
}

KTAP_TEST(lookups)
{
	struct gd_members m;
	struct gd_url_list l = { .n = 1 };
	uint32_t v, lr;

	table(&m);
	gd_url__parse(&l.v[0], "http://127.0.0.1:2381");
	KTAP_EXPECT(t, gd_members__by_id(&m, 44) == 4, "by id");
	KTAP_EXPECT(t, !gd_members__by_id(&m, 45), "unknown id");
	KTAP_EXPECT(t, gd_members__by_url(&m, &l, 0) == 2, "by URL");
	KTAP_EXPECT(t, !gd_members__by_url(&m, &l, 2), "by URL, skipping");
	KTAP_EXPECT(t, gd_members__free_slot(&m) == 3, "lowest free slot");
	KTAP_EXPECT(t, gd_members__count(&m) == 3 &&
		    gd_members__voters(&m) == 2, "counts");
	gd_members__masks(&m, &v, &lr);
	KTAP_EXPECT(t, v == 0x6 && lr == 0x10, "masks %#x %#x", v, lr);
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		m.s[s].used = true;
	KTAP_EXPECT(t, !gd_members__free_slot(&m), "no free slot of 9");
}

/* A hello as a slot must name the slot's current member: slots are
 * reused, and a removed member may still run. */
KTAP_TEST(check_hello)
{
	struct gd_members m;

	table(&m);
	KTAP_EXPECT(t, !gd_members__check_hello(&m, 2, 22), "the slot's member");
	KTAP_EXPECT(t, !gd_members__check_hello(&m, 4, 44), "a learner");
	KTAP_EXPECT(t, gd_members__check_hello(&m, 3, 33) == -ENOENT,
		    "a free slot (an addition not applied here yet)");
	KTAP_EXPECT(t, gd_members__check_hello(&m, 0, 0) == -ENOENT &&
		    gd_members__check_hello(&m, RAFT_MAX_MEMBERS + 1, 1) ==
		    -ENOENT, "no such slot");
	/* Member 22 removed, 77 added in slot 2 (the lowest free). */
	m.s[2] = row(77, "", "http://127.0.0.1:2390", false);
	KTAP_EXPECT(t, gd_members__check_hello(&m, 2, 22) == -ESTALE,
		    "the removed member is refused in its old slot");
	KTAP_EXPECT(t, !gd_members__check_hello(&m, 2, 77),
		    "the member added in its place is taken");
	KTAP_EXPECT(t, gd_members__check_hello(&m, 1, 77) == -ESTALE,
		    "a member in another's slot is refused");
}

/* MemberList's view: sorted by id, this member's own name and client
 * URLs, a row without a name named by what its member said. */
KTAP_TEST(list)
{
	struct gd_member_said said[RAFT_MAX_MEMBERS + 1] = {
		[2] = { "b-said", "http://127.0.0.1:2479" },
		[4] = { "d-said", "http://127.0.0.1:2480,http://127.0.0.1:2481" },
	};
	struct gd_url_list own = { .n = 1 };
	struct gd_member_list l;
	struct gd_members m;

	table(&m);
	m.s[1].id = 99;
	gd_url__parse(&own.v[0], "http://127.0.0.1:2478");
	gd_members__list(&m, 1, "me", &own, said, &l);
	KTAP_EXPECT(t, l.n == 3, "three members, %u", l.n);
	KTAP_EXPECT(t, l.m[0].id == 22 && l.m[1].id == 44 && l.m[2].id == 99,
		    "sorted by id");
	KTAP_EXPECT(t, !strcmp(l.m[0].name, "b") &&
		    !strcmp(l.m[1].name, "d-said") &&
		    !strcmp(l.m[2].name, "me"), "names");
	KTAP_EXPECT(t, l.m[1].n_client_urls == 2 && l.m[1].is_learner &&
		    !strcmp(l.m[1].client_urls[1], "http://127.0.0.1:2481"),
		    "a learner's two client URLs");
	KTAP_EXPECT(t, l.m[2].n_client_urls == 1 &&
		    !strcmp(l.m[2].client_urls[0], "http://127.0.0.1:2478"),
		    "this member's own URL");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
