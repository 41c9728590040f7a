// SPDX-License-Identifier: GPL-2.0
/*
 * The fence-record checker on images built in memory: clean takeovers
 * pass; each kind of stale write (an overwrite of a higher token's slot, a
 * record past a higher token's takeover read), a lost write and a corrupt
 * slot are found; the writer's starting sequence follows the rule, and
 * the binary search for it (fr_find_next) agrees with a whole read on every
 * prefix the rule leaves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ktap.h"
#include "fence_record.h"

#define SLOTS (FR_CLAIMS + 64)

static uint8_t *img_new(void)
{
	uint8_t *img = calloc(SLOTS, FR_SLOT);

	if (!img)
		abort();
	return img;
}

static void put(uint8_t *img, uint32_t magic, const char *host,
		uint64_t token, uint64_t seq, uint64_t first)
{
	uint64_t slot = magic == FR_MAGIC ? fr_data_slot(seq) : fr_claim_slot(token);

	fr_encode(img + slot * FR_SLOT, magic, host, token, seq, first);
}

/* Holder `host` with `token` writes n records the writers' way. */
static uint64_t hold(uint8_t *img, const char *host, uint64_t token, int n)
{
	uint64_t first = fr_next_seq(img, SLOTS), s;

	for (s = first; s < first + (uint64_t)n; s++) {
		put(img, FR_MAGIC, host, token, s, first);
		if (s == first)
			put(img, FR_CLAIM_MAGIC, host, token, s, first);
	}
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
	put(img, FR_MAGIC, "a", 5, b + 2, a);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.stale == 1 && rep.nfindings == 1, "stale %zu", rep.stale);
	KTAP_EXPECT(t, rep.findings[0].kind == FR_STALE_OVERWRITE &&
		    rep.findings[0].seq == b + 2 && rep.findings[0].token == 5 &&
		    rep.findings[0].over_token == 9 && !strcmp(rep.findings[0].host, "a"),
		    "kind %d slot %llu", rep.findings[0].kind,
		    (unsigned long long)rep.findings[0].seq);
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
	put(img, FR_MAGIC, "a", 5, b + 4, a);
	put(img, FR_MAGIC, "a", 5, b + 5, a);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.stale == 2 && rep.lost == 0 &&
		    rep.findings[0].kind == FR_STALE_PAST_READ &&
		    rep.findings[0].seq == b + 4,
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
	put(img, FR_MAGIC, "b", 9, 9, 9);
	put(img, FR_CLAIM_MAGIC, "b", 9, 9, 9);
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
	memset(img + fr_data_slot(3) * FR_SLOT, 0, FR_SLOT);
	img[fr_data_slot(6) * FR_SLOT + 40] ^= 1;
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.lost == 2 && rep.corrupt == 1 && rep.stale == 0,
		    "lost %zu corrupt %zu stale %zu", rep.lost, rep.corrupt, rep.stale);
	free(img);
}

KTAP_TEST(misplaced_record_is_corrupt)
{
	uint8_t *img = img_new();
	struct fr_record r;
	uint64_t d = fr_data_slot(0);

	fr_encode(img + d * FR_SLOT, FR_MAGIC, "a", 5, 3, 0);
	KTAP_EXPECT(t, fr_decode(img + d * FR_SLOT, d, &r) == -1,
		    "a record of sequence 3 in the slot of 0");
	KTAP_EXPECT(t, fr_decode(img + (d + 1) * FR_SLOT, d + 1, &r) == 0, "an empty slot");
	fr_encode(img + d * FR_SLOT, FR_MAGIC, "a", 5, 0, 0);
	KTAP_EXPECT(t, fr_decode(img + d * FR_SLOT, d, &r) == 1 && r.token == 5, "a good record");
	KTAP_EXPECT(t, fr_decode(img + d * FR_SLOT, 5, &r) == -1, "a record in a claim slot");
	fr_encode(img, FR_CLAIM_MAGIC, "a", 5, 0, 0);
	KTAP_EXPECT(t, fr_decode(img, 0, &r) == -1, "a claim in another token's slot");
	free(img);
}

/* The first fault loop's case: the stale writer overwrote every record of
 * the higher holder; its claim still shows the violation. */
KTAP_TEST(erased_holder_is_caught_by_its_claim)
{
	uint8_t *img = img_new();
	struct fr_report rep;
	uint64_t a = hold(img, "a", 5, 10), b, s;

	b = hold(img, "b", 9, 3);
	for (s = b; s < b + 6; s++)
		put(img, FR_MAGIC, "a", 5, s, a);
	KTAP_ASSERT(t, fr_check(img, SLOTS, &rep) == 0, "check ran");
	KTAP_EXPECT(t, rep.holders == 2 && rep.stale == 6 && rep.lost == 0,
		    "holders %zu stale %zu lost %zu", rep.holders, rep.stale, rep.lost);
	free(img);
}

/* fr_find_next()'s reader over an image in memory, counting its reads. */
struct slot_reader {
	const uint8_t *img;
	unsigned int reads;
};

static int read_slot(void *ctx, uint64_t slot, void *buf)
{
	struct slot_reader *r = ctx;

	if (slot >= SLOTS)
		return -EINVAL;
	r->reads++;
	memcpy(buf, r->img + slot * FR_SLOT, FR_SLOT);
	return 0;
}

static uint64_t find_next(const uint8_t *img, unsigned int *reads)
{
	struct slot_reader r = { img, 0 };
	uint8_t buf[FR_SLOT];
	uint64_t next = UINT64_MAX;

	if (fr_find_next(read_slot, &r, SLOTS, buf, &next))
		abort();
	*reads = r.reads;
	return next;
}

/* On every prefix the writers' rule leaves, a torn last slot included, the
 * search agrees with the whole read, in at most log2(64) + 2 reads. */
KTAP_TEST(search_agrees_with_whole_read)
{
	unsigned int n, reads, worst = 0;
	uint64_t got, want;
	uint8_t *img;

	for (n = 0; n <= SLOTS - FR_CLAIMS; n++) {
		for (int torn = 0; torn <= (n > 0); torn++) {
			img = img_new();
			hold(img, "a", 5, n / 2);
			hold(img, "b", 9, n - n / 2);
			if (torn)
				img[fr_data_slot(n - 1) * FR_SLOT + 20] ^= 1;
			got = find_next(img, &reads);
			want = fr_next_seq(img, SLOTS);
			KTAP_EXPECT(t, got == want, "prefix %u torn %d: search %llu, whole read %llu",
				    n, torn, (unsigned long long)got,
				    (unsigned long long)want);
			if (reads > worst)
				worst = reads;
			free(img);
		}
	}
	KTAP_EXPECT(t, worst <= 8, "at most 8 reads of 64 data slots: %u", worst);
}

/* What the search leans on: a record past an empty slot, which no writer
 * following the rule leaves, is invisible to it (a whole read sees it). */
KTAP_TEST(search_needs_the_prefix)
{
	uint8_t *img = img_new();
	unsigned int reads;

	hold(img, "a", 5, 4);
	put(img, FR_MAGIC, "a", 5, 40, 0);
	KTAP_EXPECT(t, find_next(img, &reads) == 4 && fr_next_seq(img, SLOTS) == 41,
		    "search %llu, whole read %llu",
		    (unsigned long long)find_next(img, &reads),
		    (unsigned long long)fr_next_seq(img, SLOTS));
	free(img);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
