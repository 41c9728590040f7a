/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crafting ptp4l's management answers for tests, written independently of
 * the codec under test (tools/syncd/pmc_codec.c): a message is built byte by
 * byte from the IEEE 1588 layout.
 */
#ifndef GNOMON_SELFTESTS_PMC_CRAFT_H
#define GNOMON_SELFTESTS_PMC_CRAFT_H

#include <stdint.h>
#include <string.h>

#include "../../tools/syncd/pmc_codec.h"

struct craft_msg {
	uint8_t b[PMC_MAX_MESSAGE];
	size_t len;
};

static inline void craft_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void craft_start(struct craft_msg *m, uint16_t seq, uint8_t action)
{
	memset(m, 0, sizeof(*m));
	m->b[0] = 0x0d;			/* management */
	m->b[1] = 0x02;			/* PTP v2 */
	m->b[4] = 0;			/* domain */
	memcpy(m->b + 20, "\x02\xa1\x76\xff\xfe\x03\x2a\x13", 8);
	craft_be(m->b + 28, 1, 2);		/* source port 1 */
	craft_be(m->b + 30, seq, 2);
	m->b[32] = 0x04;
	m->b[33] = 0x7f;
	memset(m->b + 34, 0xff, 10);
	m->b[46] = action;
	m->len = 48;
}

static inline void craft_tlv(struct craft_msg *m, uint16_t type,
			     uint16_t id, const uint8_t *data, size_t dlen)
{
	craft_be(m->b + m->len, type, 2);
	craft_be(m->b + m->len + 2, 2 + dlen, 2);
	craft_be(m->b + m->len + 4, id, 2);
	memcpy(m->b + m->len + 6, data, dlen);
	m->len += 6 + dlen;
	craft_be(m->b + 2, m->len, 2);
}

/* A TIME_STATUS_NP answer with sequenceId seq. */
static inline void craft_time_status(struct craft_msg *m, uint16_t seq,
				     int64_t offset, int64_t ingress,
				     int32_t gm_present)
{
	uint8_t d[PMC_TIME_STATUS_LEN] = { 0 };

	craft_be(d, (uint64_t)offset, 8);
	craft_be(d + 8, (uint64_t)ingress, 8);
	craft_be(d + 38, (uint32_t)gm_present, 4);
	memcpy(d + 42, "GMGMGMGM", 8);
	craft_start(m, seq, PMC_RESPONSE);
	craft_tlv(m, PMC_TLV_MANAGEMENT, PMC_MID_TIME_STATUS_NP, d, sizeof(d));
}

#endif /* GNOMON_SELFTESTS_PMC_CRAFT_H */
