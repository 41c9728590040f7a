// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded scan of protobuf wire format, to refuse a TxnRequest nested
 * deeper than we accept before protobuf-c unpacks it recursively (a 1.5 MiB
 * request could otherwise nest Txn in Txn hundreds of thousands of times
 * and exhaust the stack).  Only the fields that nest are followed:
 * TxnRequest.success (2) and .failure (3) are RequestOps, and
 * RequestOp.request_txn (4) is a TxnRequest.
 */
#include "mvcc.h"

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (*p == end)
			return false;
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Walk a message; @txn: it is a TxnRequest (else a RequestOp). */
static bool scan(const uint8_t *p, const uint8_t *end, bool txn,
		 unsigned int depth)
{
	uint64_t key, v;

	while (p < end) {
		if (!read_varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!read_varint(&p, end, &v))
				return false;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		case 2: {
			uint64_t field = key >> 3;
			bool nests;

			if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			nests = txn ? field == 2 || field == 3 : field == 4;
			if (nests && !txn && depth == 0)
				return false;	/* one Txn too deep */
			if (nests && !scan(p, p + v, !txn, txn ? depth : depth - 1))
				return false;
			p += v;
			break;
		}
		default:
			return false;	/* groups: not in proto3 */
		}
	}
	return true;
}

bool mvcc_wire__txn_depth_ok(const uint8_t *buf, size_t len,
			     unsigned int max_depth)
{
	return scan(buf, buf + len, true, max_depth);
}
