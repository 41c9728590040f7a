// SPDX-License-Identifier: GPL-2.0
/*
 * The fence-record checker on images built in memory: clean takeovers
 * pass; each kind of stale write (an overwrite of a higher token's slot, a
 * record past a higher token's takeover read), a lost write and a corrupt
 * slot are found; the writer's starting sequence follows the rule.
 */
#include <stdlib.h>
#include <string.h>

#include "../ktap.h"
#include "fence_record.h"

#define SLOTS 64

static uint8_t *img_new(void)
{
	uint8_t *img = calloc(SLOTS, FR_SLOT);

	if (!img)
		abort();
	return img;
}

/* Holder `host` with `token` writes n records the writers' way. */
static uint64_t hold(uint8_t *img, const char *host, uint64_t token, int n)
{
	uint64_t first = fr_next_seq(img, SLOTS), s;

	for (s = first; s < first + (uint64_t)n; s++)
		fr_encode(img + s * FR_SLOT, host, token, s, first);
	return first;
}

KTAP_TEST(clean_takeovers_pass)
{
	uint8_t *img = img_new();
	struct fr_report rep;

	hold(img, "a", 5, 10);
	hold(img, "b", 9, 7);
	hold(img, "a", 12, 3);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.records == 20 && rep.holders == 3, "records %zu holders %zu",
		    rep.records, rep.holders);
	KTAP_EXPECT(t, rep.stale == 0 && rep.lost == 0 && rep.corrupt == 0,
		    "stale %zu lost %zu corrupt %zu", rep.stale, rep.lost, rep.corrupt);
	KTAP_EXPECT(t, fr_next_seq(img, SLOTS) == 20, "next %llu",
		    (unsigned long long)fr_next_seq(img, SLOTS));
	free(img);
}

/* A paused holder's write lands on a slot the new holder already wrote. */
KTAP_TEST(overwrite_by_lower_token_is_stale)
{
	uint8_t *img = img_new();
	struct fr_report rep;
	uint64_t a = hold(img, "a", 5, 10), b;

	b = hold(img, "b", 9, 6);
	fr_encode(img + (b + 2) * FR_SLOT, "a", 5, b + 2, a);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.stale == 1 && rep.nfindings == 1, "stale %zu", rep.stale);
	KTAP_EXPECT(t, rep.findings[0].kind == FR_STALE_OVERWRITE &&
		    rep.findings[0].slot == b + 2 && rep.findings[0].token == 5 &&
		    rep.findings[0].over_token == 9 && !strcmp(rep.findings[0].host, "a"),
		    "kind %d slot %llu", rep.findings[0].kind,
		    (unsigned long long)rep.findings[0].slot);
	free(img);
}

/* A lower token's record past the higher holder's last one, but after its
 * takeover read. */
KTAP_TEST(record_past_takeover_read_is_stale)
{
	uint8_t *img = img_new();
	struct fr_report rep;
	uint64_t a = hold(img, "a", 5, 10), b;

	/* a's writes of b..b+3 landed before b's (which overwrote them), its
	 * b+4 and b+5 after b's read. */
	b = hold(img, "b", 9, 4);
	fr_encode(img + (b + 4) * FR_SLOT, "a", 5, b + 4, a);
	fr_encode(img + (b + 5) * FR_SLOT, "a", 5, b + 5, a);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.stale == 2 && rep.lost == 0 &&
		    rep.findings[0].kind == FR_STALE_PAST_READ &&
		    rep.findings[0].slot == b + 4,
		    "stale %zu lost %zu kind %d", rep.stale, rep.lost,
		    rep.findings[0].kind);
	free(img);
}

/* A higher token overwriting a lower one's slot (a later holder starting
 * after a crash read) is the normal order, never stale. */
KTAP_TEST(higher_over_lower_is_fine)
{
	uint8_t *img = img_new();
	struct fr_report rep;

	hold(img, "a", 5, 10);
	fr_encode(img + 9 * FR_SLOT, "b", 9, 9, 9);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.stale == 0 && rep.lost == 0, "stale %zu lost %zu",
		    rep.stale, rep.lost);
	free(img);
}

KTAP_TEST(lost_and_corrupt_slots_are_found)
{
	uint8_t *img = img_new();
	struct fr_report rep;

	hold(img, "a", 5, 10);
	memset(img + 3 * FR_SLOT, 0, FR_SLOT);
	img[6 * FR_SLOT + 40] ^= 1;
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.lost == 2 && rep.corrupt == 1 && rep.stale == 0,
		    "lost %zu corrupt %zu stale %zu", rep.lost, rep.corrupt, rep.stale);
	free(img);
}

KTAP_TEST(misplaced_record_is_corrupt)
{
	uint8_t *img = img_new();
	struct fr_record r;

	fr_encode(img, "a", 5, 3, 0);
	KTAP_EXPECT(t, fr_decode(img, 0, &r) == -1, "a record for slot 3 in slot 0");
	KTAP_EXPECT(t, fr_decode(img + FR_SLOT, 1, &r) == 0, "an empty slot");
	fr_encode(img, "a", 5, 0, 0);
	KTAP_EXPECT(t, fr_decode(img, 0, &r) == 1 && r.token == 5, "a good record");
	free(img);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
