// SPDX-License-Identifier: GPL-2.0
/*
 * Fence records: encoding, decoding and the landing-order checker.  The
 * argument for why the checks prove landing order is in fence_record.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fence_record.h"
#include "../../tools/common/grow.h"
#include "../../tools/gnomond/wal/crc32c.h"

_Static_assert(sizeof(struct fr_record) <= FR_SLOT, "a record fits a slot");

static uint32_t fr_crc(const struct fr_record *r)
{
	struct fr_record c = *r;

	c.crc = 0;
	return crc32c(0, &c, sizeof(c));
}

void fr_encode(void *buf, uint32_t magic, const char *host, uint64_t token,
	       uint64_t seq, uint64_t first)
{
	struct fr_record r;

	assert(magic == FR_MAGIC || (magic == FR_CLAIM_MAGIC && seq == first));
	memset(&r, 0, sizeof(r));
	r.magic = magic;
	memcpy(r.host, host, strnlen(host, FR_HOST_LEN));
	r.token = token;
	r.seq = seq;
	r.first = first;
	r.crc = fr_crc(&r);
	memset(buf, 0, FR_SLOT);
	memcpy(buf, &r, sizeof(r));
}

static bool fr_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

int fr_decode(const void *buf, uint64_t slot, struct fr_record *rec)
{
	const uint8_t *b = buf;

	if (fr_zero(b, FR_SLOT))
		return 0;
	memcpy(rec, b, sizeof(*rec));
	if (rec->crc != fr_crc(rec) || rec->first > rec->seq ||
	    !fr_zero(b + sizeof(*rec), FR_SLOT - sizeof(*rec)))
		return -1;
	if (slot < FR_CLAIMS)
		return rec->magic == FR_CLAIM_MAGIC && rec->seq == rec->first &&
		       fr_claim_slot(rec->token) == slot ? 1 : -1;
	return rec->magic == FR_MAGIC && rec->seq < UINT64_MAX - FR_CLAIMS &&
	       fr_data_slot(rec->seq) == slot ? 1 : -1;
}

/* The data record of sequence seq: as fr_decode(), and 0 past the end. */
static int fr_data(const uint8_t *img, size_t slots, uint64_t seq,
		   struct fr_record *rec)
{
	uint64_t slot = fr_data_slot(seq);

	return slot < slots ? fr_decode(img + slot * FR_SLOT, slot, rec) : 0;
}

uint64_t fr_next_seq(const uint8_t *img, size_t slots)
{
	struct fr_record r;
	uint64_t next = 0;
	size_t i;

	for (i = FR_CLAIMS; i < slots; i++)
		if (fr_decode(img + i * FR_SLOT, i, &r) == 1 && r.seq + 1 > next)
			next = r.seq + 1;
	return next;
}

int fr_find_next(int (*read_slot)(void *ctx, uint64_t slot, void *buf),
		 void *ctx, size_t slots, void *buf, uint64_t *next)
{
	uint64_t lo = 0, hi = slots > FR_CLAIMS ? slots - FR_CLAIMS : 0, mid;
	struct fr_record r;
	int err;

	/* The first empty data slot: [0, lo) non-empty, [hi, end) empty. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		err = read_slot(ctx, fr_data_slot(mid), buf);
		if (err)
			return err;
		if (fr_zero(buf, FR_SLOT))
			hi = mid;
		else
			lo = mid + 1;
	}
	/* Down over a torn or corrupt last slot to one past a valid record. */
	while (lo > 0) {
		err = read_slot(ctx, fr_data_slot(lo - 1), buf);
		if (err)
			return err;
		if (fr_decode(buf, fr_data_slot(lo - 1), &r) == 1)
			break;
		lo--;
	}
	*next = lo;
	return 0;
}

/* One holder: one (token, first) pair. */
struct fr_holder {
	uint64_t token, first, last;
};

static void fr_note(struct fr_report *rep, int kind, uint64_t seq,
		    const struct fr_record *r, uint64_t over)
{
	struct fr_finding *f;

	if (kind == FR_LOST)
		rep->lost++;
	else
		rep->stale++;
	if (rep->nfindings == FR_MAX_FINDINGS)
		return;
	f = &rep->findings[rep->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->seq = seq;
	f->over_token = over;
	if (r) {
		f->token = r->token;
		memcpy(f->host, r->host, FR_HOST_LEN);
	}
}

static int fr_holders(const uint8_t *img, size_t slots, struct fr_report *rep,
		      struct fr_holder **out)
{
	struct fr_holder *h = NULL;
	size_t cap = 0, i, k;
	struct fr_record r;
	int d;

	for (i = 0; i < slots; i++) {
		d = fr_decode(img + i * FR_SLOT, i, &r);
		if (d < 0)
			rep->corrupt++;
		if (d != 1)
			continue;
		if (r.magic == FR_MAGIC)
			rep->records++;
		for (k = 0; k < rep->holders; k++)
			if (h[k].token == r.token && h[k].first == r.first)
				break;
		if (k == rep->holders) {
			struct fr_holder *g = grow__array(h, &cap, k + 1,
							  sizeof(*h), 8);
			if (!g) {
				free(h);
				return -ENOMEM;
			}
			h = g;
			h[k] = (struct fr_holder){ r.token, r.first, r.seq };
			rep->holders++;
		}
		if (r.seq > h[k].last)
			h[k].last = r.seq;
	}
	*out = h;
	return 0;
}

int fr_check(const uint8_t *img, size_t slots, struct fr_report *rep)
{
	struct fr_holder *h;
	struct fr_record r;
	size_t k, j;
	int d;

	memset(rep, 0, sizeof(*rep));
	d = fr_holders(img, slots, rep, &h);
	if (d)
		return d;
	for (k = 0; k < rep->holders; k++) {
		for (j = h[k].first; j <= h[k].last; j++) {
			d = fr_data(img, slots, j, &r);
			if (d != 1)
				fr_note(rep, FR_LOST, j, NULL, h[k].token);
			else if (r.token < h[k].token)
				fr_note(rep, FR_STALE_OVERWRITE, j, &r, h[k].token);
		}
		for (j = h[k].last + 1; fr_data_slot(j) < slots; j++)
			if (fr_data(img, slots, j, &r) == 1 &&
			    r.token < h[k].token)
				fr_note(rep, FR_STALE_PAST_READ, j, &r, h[k].token);
	}
	free(h);
	return 0;
}
