/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records that fenced writers put on a shared disk, and the checker that
 * proves from the final disk image alone whether a write with a lower
 * fencing token landed after a holder with a higher one had taken over.
 *
 * Layout.  The disk is a row of FR_SLOT-byte slots.  The first FR_CLAIMS
 * are claims, the rest data: data slot FR_CLAIMS + i holds the record with
 * sequence number i, or nothing.  A record names its holder's host, its
 * token T, its sequence s and `first`, the first sequence that holder (that
 * token) wrote, under a CRC32C.  A claim is the same record with its own
 * magic, sequence = first, in claim slot T mod FR_CLAIMS.
 *
 * The writers' rule.  A new holder, once it holds, reads the data slots,
 * takes first = one past the highest sequence it found (0 on an empty
 * disk), and writes first, first+1, ... in order, each with O_DIRECT and
 * only after the previous write was acknowledged; right after its first
 * record it writes its claim.  One holder is one token.
 *
 * The written slots are a prefix, so the read need not be whole.  Claim:
 * at every instant the non-empty data slots are 0..n-1 for some n, and n
 * never falls.  Slots only fill (nothing writes zeros; a slot that empties
 * is a lost write, reported below).  A writer issues slot s > first only
 * after slot s-1 was acknowledged, so s-1 is non-empty when s lands; and it
 * issues `first` after a read that found first-1 non-empty (or first = 0).
 * So a slot never fills while the one below it is empty, whatever the
 * landing order of different writers, stale or not: the claim does not
 * lean on fencing, only on every writer following this rule.  Emptiness is
 * then monotone in s and fr_find_next() binary-searches the first empty
 * slot n with about log2(slots) reads of one slot each, then steps down
 * over non-valid slots (a torn last write) so that it returns what
 * fr_next_seq() would on a whole read: one past the highest valid record.
 * The search spans several reads, not an instant, but every slot from the
 * result up held no valid record when it was looked at after the holder
 * held (slot n was empty, so by the claim every slot above it too): that
 * is all that check 2 below needs of "the takeover read".
 *
 * Why the final image proves landing order.  You cannot see from a file
 * when a block landed, only what is in it at the end.  But the claim of T'
 * (or any record of T') shows that holder T' wrote, and had acknowledged,
 * every data slot from first' to last' (the highest sequence of T' still
 * in the image, or first' from the claim alone) before the claim or that
 * record.  Lower tokens write data slots only, never claims, so a stale
 * writer cannot erase the claim even when it overwrites every data record
 * of T' (the first fault loop did exactly that).
 *   1. Overwrite: a data slot in [first', last'] that holds a record with a
 *      token T < T' holds a write that landed after T' wrote it: stale.
 *   2. Past the takeover read: a record (T, s) with T < T' and s > last'
 *      (so s >= first') was absent when T' read the disk to take over (T'
 *      would have started past it), so it landed after T' held the lock and
 *      read the disk, which fencing forbids: stale too.
 *   A slot in [first', last'] that is empty or fails its checksum means a
 *   write T' had acknowledged is gone: reported as lost.
 * Claim slots are T mod FR_CLAIMS: a claim overwritten by one of a token
 * FR_CLAIMS higher loses that evidence only (the check may then miss, never
 * invent, a stale write); tokens are lock revisions, a few per takeover,
 * so a run of the test stays well inside.  Nothing here needs
 * the writers' logs or clocks; the writers print an acknowledgement per
 * write only for the takeover benchmark.
 *
 * No I/O in fr_check(): it reads an image in memory.
 */
#ifndef GNOMON_FENCE_RECORD_H
#define GNOMON_FENCE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FR_SLOT		4096u
#define FR_MAGIC	0x43524647u	/* "GFRC" little-endian: a data record */
#define FR_CLAIM_MAGIC	0x4c434647u	/* "GFCL": a claim */
#define FR_CLAIMS	256u		/* claim slots before the data */
#define FR_HOST_LEN	16

struct fr_record {
	uint32_t magic;
	uint32_t crc;		/* CRC32C of the record with crc = 0 */
	char host[FR_HOST_LEN];	/* NUL-padded */
	uint64_t token;
	uint64_t seq;
	uint64_t first;
};

/* Fill slot buffer buf (FR_SLOT bytes) with a record (magic FR_MAGIC) or
 * a claim (FR_CLAIM_MAGIC, seq = first). */
void fr_encode(void *buf, uint32_t magic, const char *host, uint64_t token,
	       uint64_t seq, uint64_t first);

/* The disk slot of data sequence seq, and of token's claim. */
static inline uint64_t fr_data_slot(uint64_t seq) { return FR_CLAIMS + seq; }
static inline uint64_t fr_claim_slot(uint64_t token) { return token % FR_CLAIMS; }

/* Slot `slot` of the disk: 1 with a valid record or claim that belongs
 * there in *rec; 0: empty (all zero); -1: anything else (torn, corrupt,
 * misplaced). */
int fr_decode(const void *buf, uint64_t slot, struct fr_record *rec);

/* The first sequence a new holder writes: one past the highest valid data
 * record in the image (slots slots in all), 0 if none. */
uint64_t fr_next_seq(const uint8_t *img, size_t slots);

/* The same from a disk read slot by slot (the prefix argument above):
 * read_slot(ctx, slot, buf) fills buf (FR_SLOT bytes, the caller's, aligned
 * as its reads need) with slot `slot` and returns 0 or -errno.  *next the
 * first sequence to write; 0 or read_slot's error. */
int fr_find_next(int (*read_slot)(void *ctx, uint64_t slot, void *buf),
		 void *ctx, size_t slots, void *buf, uint64_t *next);

#define FR_MAX_FINDINGS	16

struct fr_finding {
	enum { FR_STALE_OVERWRITE, FR_STALE_PAST_READ, FR_LOST } kind;
	uint64_t seq;		/* the data sequence (slot) concerned */
	uint64_t token;		/* the record found there (0 if none) */
	uint64_t over_token;	/* the higher holder it violates */
	char host[FR_HOST_LEN + 1];
};

struct fr_report {
	size_t records, holders, corrupt;
	size_t stale, lost;
	size_t nfindings;	/* at most FR_MAX_FINDINGS kept */
	struct fr_finding findings[FR_MAX_FINDINGS];
};

/* Check an image of `slots` slots in all (claims and data); 0, or
 * -ENOMEM. */
int fr_check(const uint8_t *img, size_t slots, struct fr_report *rep);

#endif /* GNOMON_FENCE_RECORD_H */
