/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the WAL tests (wal_test.c: recovery from segments in memory;
 * wal_files_test.c: the same through real files): the model log a test
 * keeps beside the WAL, the check that a recovery returned exactly that
 * log, and the segment a writer makes ahead of use.  Header-only: test
 * binaries are one file each.
 */
#ifndef GNOMOND_WAL_TEST_HELPERS_H
#define GNOMOND_WAL_TEST_HELPERS_H

#include <stdbool.h>
#include <string.h>

#include "../../tools/gnomond/wal/wal_posix.h"

#define MAX_ENTRIES	512

struct model {
	uint64_t term[MAX_ENTRIES + 1];
	uint8_t data[MAX_ENTRIES + 1][24];
	uint32_t len[MAX_ENTRIES + 1];
	uint64_t last;
};

static inline bool same_as(const struct wal_recovery *rec,
			   const struct model *m)
{
	if (rec->n != m->last)
		return false;
	for (size_t i = 0; i < rec->n; i++) {
		const struct raft_entry *e = &rec->entries[i];
		uint64_t idx = i + 1;

		if (e->index != idx || e->term != m->term[idx] ||
		    e->len != m->len[idx] ||
		    (e->len && memcmp(e->data, m->data[idx], e->len)))
			return false;
	}
	return true;
}

/* The segment after the last one in use, as the writer makes it ahead of
 * time, or as a crash while making it left it. */
enum unused_kind {
	EMPTY_FILE, SHORT_HEADER, ZERO_FILLED, TORN_HEADER, HEADER_ONLY,
	N_KINDS
};

static inline size_t make_unused(uint8_t *buf, size_t cap, int kind,
				 uint64_t no)
{
	memset(buf, 0, cap);
	if (kind != EMPTY_FILE && kind != ZERO_FILLED)
		wal_segment__encode_header(buf, no);
	if (kind == SHORT_HEADER)
		return 10;
	if (kind == TORN_HEADER)
		memset(buf + 12, 0, WAL_SEG_HEADER_SIZE - 12);
	return kind == EMPTY_FILE ? 0 : cap;
}

#endif /* GNOMOND_WAL_TEST_HELPERS_H */
