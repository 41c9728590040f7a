// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of gnomon-syncd's PTP management codec: the GET request's exact
 * bytes, decoding of crafted ptp4l answers, and hostile input (every
 * truncation, lying length fields, random garbage and random mutations of
 * valid answers) that must give a clear error and never read out of bounds.
 * Built with ASan and UBSan, so an out-of-bounds read fails the test.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ktap.h"
#include "pmc_craft.h"

KTAP_TEST(get_request_bytes)
{
	struct pmc_request req = {
		.source = { .clock = { 1, 2, 3, 4, 5, 6, 7, 8 }, .port = 0x1234 },
		.sequence_id = 0xbeef,
		.mid = PMC_MID_TIME_STATUS_NP,
		.domain = 24,
	};
	uint8_t buf[PMC_MAX_MESSAGE];
	int len = pmc_request__encode_get(&req, buf, sizeof(buf));

	KTAP_ASSERT(t, len == 54, "len %d", len);
	KTAP_EXPECT(t, buf[0] == 0x0d && buf[1] == 0x02, "type/version %x %x",
		    buf[0], buf[1]);
	KTAP_EXPECT(t, buf[2] == 0 && buf[3] == 54, "messageLength");
	KTAP_EXPECT(t, buf[4] == 24, "domain %u", buf[4]);
	KTAP_EXPECT(t, !memcmp(buf + 20, req.source.clock, 8) &&
		    buf[28] == 0x12 && buf[29] == 0x34, "sourcePortIdentity");
	KTAP_EXPECT(t, buf[30] == 0xbe && buf[31] == 0xef, "sequenceId");
	KTAP_EXPECT(t, buf[32] == 0x04 && buf[33] == 0x7f, "control/interval");
	for (int i = 34; i < 44; i++)
		KTAP_EXPECT(t, buf[i] == 0xff, "target byte %d not wildcard", i);
	KTAP_EXPECT(t, buf[44] == 0 && buf[45] == 0, "boundary hops");
	KTAP_EXPECT(t, buf[46] == PMC_GET, "action %u", buf[46]);
	KTAP_EXPECT(t, buf[48] == 0 && buf[49] == 1, "TLV type");
	KTAP_EXPECT(t, buf[50] == 0 && buf[51] == 2, "TLV length");
	KTAP_EXPECT(t, buf[52] == 0xc0 && buf[53] == 0x00, "management id");
}

KTAP_TEST(get_request_errors)
{
	struct pmc_request req = { .mid = PMC_MID_PORT_DATA_SET };
	uint8_t buf[PMC_REQUEST_LEN];

	KTAP_EXPECT(t, pmc_request__encode_get(&req, buf, sizeof(buf) - 1) ==
		    -ENOBUFS, "short buffer accepted");
	req.mid = 0;
	KTAP_EXPECT(t, pmc_request__encode_get(&req, buf, sizeof(buf)) ==
		    -EINVAL, "id 0 accepted");
}

KTAP_TEST(decode_time_status)
{
	struct pmc_response r;
	const char *why = NULL;
	struct craft_msg m;
	int ret;

	craft_time_status(&m, 7, -123456, 1700000000123456789LL, 1);
	ret = pmc_response__decode(m.b, m.len, &r, &why);
	KTAP_ASSERT(t, ret == 0, "ret %d (%s)", ret, why);
	KTAP_EXPECT(t, r.sequence_id == 7 && r.mid == PMC_MID_TIME_STATUS_NP,
		    "seq %u mid %x", r.sequence_id, r.mid);
	KTAP_EXPECT(t, r.source.port == 1 && r.source.clock[0] == 0x02,
		    "source port identity");
	KTAP_EXPECT(t, r.u.time_status.master_offset_ns == -123456,
		    "offset %lld", (long long)r.u.time_status.master_offset_ns);
	KTAP_EXPECT(t, r.u.time_status.ingress_time_ns == 1700000000123456789LL,
		    "ingress %lld", (long long)r.u.time_status.ingress_time_ns);
	KTAP_EXPECT(t, r.u.time_status.gm_present == 1, "gm_present");
	KTAP_EXPECT(t, !memcmp(r.u.time_status.gm_identity, "GMGMGMGM", 8),
		    "gm identity");
	KTAP_EXPECT(t, r.error == 0, "error %u", r.error);
}

KTAP_TEST(decode_data_sets)
{
	uint8_t port[PMC_PORT_DS_LEN] = { 0 }, cur[PMC_CURRENT_DS_LEN] = { 0 };
	uint8_t tp[PMC_TIME_PROPS_LEN] = { 0 };
	struct pmc_response r;
	const char *why = NULL;
	struct craft_msg m;

	memcpy(port, "ABCDEFGH", 8);
	craft_be(port + 8, 3, 2);
	port[10] = PMC_PS_SLAVE;
	port[22] = (uint8_t)-2;
	craft_start(&m, 1, PMC_RESPONSE);
	craft_tlv(&m, PMC_TLV_MANAGEMENT, PMC_MID_PORT_DATA_SET, port, sizeof(port));
	KTAP_ASSERT(t, !pmc_response__decode(m.b, m.len, &r, &why), "%s", why);
	KTAP_EXPECT(t, r.u.port.state == PMC_PS_SLAVE, "state %u", r.u.port.state);
	KTAP_EXPECT(t, r.u.port.id.port == 3, "port %u", r.u.port.id.port);
	KTAP_EXPECT(t, r.u.port.log_sync_interval == -2, "logSync %d",
		    r.u.port.log_sync_interval);

	craft_be(cur, 1, 2);
	craft_be(cur + 2, (uint64_t)(-1500LL * 65536), 8);
	craft_be(cur + 10, 2000ULL * 65536 + 32768, 8);
	craft_start(&m, 2, PMC_RESPONSE);
	craft_tlv(&m, PMC_TLV_MANAGEMENT, PMC_MID_CURRENT_DATA_SET, cur, sizeof(cur));
	KTAP_ASSERT(t, !pmc_response__decode(m.b, m.len, &r, &why), "%s", why);
	KTAP_EXPECT(t, r.u.current.steps_removed == 1, "steps");
	KTAP_EXPECT(t, r.u.current.offset_scaled == -1500LL * 65536, "offset");
	KTAP_EXPECT(t, r.u.current.path_delay_scaled == 2000LL * 65536 + 32768,
		    "delay");

	craft_be(tp, 37, 2);
	tp[2] = PMC_TP_PTP_TIMESCALE;
	tp[3] = 0xa0;
	craft_start(&m, 3, PMC_RESPONSE);
	craft_tlv(&m, PMC_TLV_MANAGEMENT, PMC_MID_TIME_PROPERTIES_DATA_SET, tp,
		sizeof(tp));
	KTAP_ASSERT(t, !pmc_response__decode(m.b, m.len, &r, &why), "%s", why);
	KTAP_EXPECT(t, r.u.time_props.utc_offset == 37 &&
		    r.u.time_props.flags == PMC_TP_PTP_TIMESCALE &&
		    r.u.time_props.time_source == 0xa0, "time properties");
}

KTAP_TEST(decode_error_status)
{
	uint8_t d[8] = { 0 };
	struct pmc_response r;
	const char *why = NULL;
	struct craft_msg m;
	int ret;

	/* errorId, managementId, reserved: the codec reads id from the body. */
	craft_start(&m, 9, PMC_RESPONSE);
	craft_be(m.b + 48, PMC_TLV_MANAGEMENT_ERROR, 2);
	craft_be(m.b + 50, 8, 2);
	craft_be(d, 0x0002, 2);			/* NO_SUCH_ID */
	craft_be(d + 2, PMC_MID_TIME_STATUS_NP, 2);
	memcpy(m.b + 52, d, sizeof(d));
	m.len = 60;
	craft_be(m.b + 2, m.len, 2);
	ret = pmc_response__decode(m.b, m.len, &r, &why);
	KTAP_ASSERT(t, ret == 0, "ret %d (%s)", ret, why);
	KTAP_EXPECT(t, r.error == 2 && r.mid == PMC_MID_TIME_STATUS_NP,
		    "error %u mid %x", r.error, r.mid);
}

KTAP_TEST(reject_wrong_kinds)
{
	struct pmc_response r;
	const char *why = NULL;
	struct craft_msg m;

	craft_time_status(&m, 7, 0, 0, 0);
	m.b[0] = 0x00;				/* a Sync */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EPROTO,
		    "sync decoded");
	craft_time_status(&m, 7, 0, 0, 0);
	m.b[46] = PMC_GET;			/* our own request echoed */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EPROTO,
		    "GET decoded as a response");
	craft_time_status(&m, 7, 0, 0, 0);
	m.b[1] = 0x01;				/* PTP v1 */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "v1 decoded");
	craft_start(&m, 1, PMC_RESPONSE);
	craft_tlv(&m, PMC_TLV_MANAGEMENT, 0x2000, (const uint8_t *)"x\0", 2);
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -ENOTSUP,
		    "DEFAULT_DATA_SET decoded");
	craft_start(&m, 1, PMC_RESPONSE);
	craft_tlv(&m, 0x0003, PMC_MID_TIME_STATUS_NP, (const uint8_t *)"", 0);
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "non-management TLV decoded");
	KTAP_EXPECT(t, why && *why, "no reason given");
}

KTAP_TEST(reject_lying_lengths)
{
	struct pmc_response r;
	const char *why = NULL;
	struct craft_msg m;

	craft_time_status(&m, 7, 1, 1, 1);
	craft_be(m.b + 2, m.len + 1, 2);		/* messageLength past the datagram */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "long messageLength");
	craft_time_status(&m, 7, 1, 1, 1);
	craft_be(m.b + 50, 2 + PMC_TIME_STATUS_LEN + 2, 2);	/* TLV past the message */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "long TLV");
	craft_time_status(&m, 7, 1, 1, 1);
	craft_be(m.b + 50, 1, 2);			/* TLV shorter than its id */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "TLV length 1");
	craft_time_status(&m, 7, 1, 1, 1);
	craft_be(m.b + 50, 2 + PMC_TIME_STATUS_LEN - 1, 2);	/* data set cut short */
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "short TIME_STATUS_NP");
	craft_start(&m, 1, PMC_RESPONSE);
	craft_tlv(&m, PMC_TLV_MANAGEMENT, PMC_MID_PORT_DATA_SET, (const uint8_t *)"", 0);
	KTAP_EXPECT(t, pmc_response__decode(m.b, m.len, &r, &why) == -EBADMSG,
		    "empty PORT_DATA_SET");
}

KTAP_TEST(every_truncation_fails_cleanly)
{
	struct pmc_response r;
	struct craft_msg m;

	craft_time_status(&m, 7, -5, 5, 1);
	for (size_t len = 0; len < m.len; len++) {
		/* A fresh heap copy of exactly len bytes: ASan sees overreads. */
		uint8_t *copy = malloc(len ? len : 1);
		const char *why = NULL;
		int ret;

		KTAP_ASSERT(t, copy, "malloc");
		memcpy(copy, m.b, len);
		ret = pmc_response__decode(copy, len, &r, &why);
		KTAP_EXPECT(t, ret == -EBADMSG && why,
			    "prefix of %zu bytes: ret %d", len, ret);
		free(copy);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	return ktap_rng(&rng_state);
}

KTAP_TEST(garbage_and_mutations)
{
	static const int codes[] = { 0, -EBADMSG, -EPROTO, -ENOTSUP };
	int accepted = 0, rounds = 200000;
	struct pmc_response r;
	struct craft_msg m;

	for (int i = 0; i < rounds; i++) {
		size_t len = rng() % 200;
		uint8_t *buf = malloc(len ? len : 1);
		const char *why = NULL;
		bool known = false;
		int ret;

		KTAP_ASSERT(t, buf, "malloc");
		if (i & 1) {
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rng();
		} else {
			craft_time_status(&m, 7, (int64_t)rng(), (int64_t)rng(), 1);
			len = len < m.len ? m.len : len;
			free(buf);
			buf = malloc(len);
			KTAP_ASSERT(t, buf, "malloc");
			memset(buf, 0, len);
			memcpy(buf, m.b, m.len);
			for (int k = 0; k < 3; k++)
				buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
		}
		ret = pmc_response__decode(buf, len, &r, &why);
		for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++)
			known |= ret == codes[c];
		KTAP_EXPECT(t, known, "round %d: unexpected return %d", i, ret);
		KTAP_EXPECT(t, ret == 0 || why, "round %d: error without reason", i);
		accepted += ret == 0;
		free(buf);
	}
	ktap_diag("%d of %d random messages decoded", accepted, rounds);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
