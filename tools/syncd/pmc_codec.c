// SPDX-License-Identifier: GPL-2.0
/*
 * PTP management message codec (see pmc_codec.h for the layout).
 *
 * Decoding trusts nothing: the datagram length bounds messageLength, which
 * bounds the TLV, whose length field bounds the data field, which must be at
 * least as long as the data set we read from it.  Every read goes through
 * the cursor helpers below, so no byte outside buf is ever touched.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "pmc_codec.h"

#define PMC_MSG_MANAGEMENT	0x0D
#define PMC_VERSION		2
#define PMC_CONTROL_MANAGEMENT	0x04

static_assert(PMC_REQUEST_LEN == 54, "a GET is a header, management fields and an empty TLV");

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void get_port_identity(const uint8_t *p, struct pmc_port_identity *id)
{
	memcpy(id->clock, p, sizeof(id->clock));
	id->port = get16(p + 8);
}

static void put_port_identity(uint8_t *p, const struct pmc_port_identity *id)
{
	memcpy(p, id->clock, sizeof(id->clock));
	put16(p + 8, id->port);
}

int pmc_request__encode_get(const struct pmc_request *req, uint8_t *buf,
			    size_t size)
{
	static const struct pmc_port_identity wildcard = {
		.clock = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.port = 0xffff,
	};

	if (size < PMC_REQUEST_LEN)
		return -ENOBUFS;
	if (!req->mid)
		return -EINVAL;
	memset(buf, 0, PMC_REQUEST_LEN);
	buf[0] = PMC_MSG_MANAGEMENT;
	buf[1] = PMC_VERSION;
	put16(buf + 2, PMC_REQUEST_LEN);
	buf[4] = req->domain;
	put_port_identity(buf + 20, &req->source);
	put16(buf + 30, req->sequence_id);
	buf[32] = PMC_CONTROL_MANAGEMENT;
	buf[33] = 0x7f;
	put_port_identity(buf + 34, &wildcard);
	buf[44] = 0;		/* startingBoundaryHops: this clock only */
	buf[45] = 0;		/* boundaryHops */
	buf[46] = PMC_GET;
	put16(buf + 48, PMC_TLV_MANAGEMENT);
	put16(buf + 50, 2);	/* the id, no data */
	put16(buf + 52, req->mid);
	assert(get16(buf + 2) == PMC_REQUEST_LEN);
	return PMC_REQUEST_LEN;
}

static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static int decode_data(struct pmc_response *out, const uint8_t *d,
		       size_t dlen, const char **why)
{
	switch (out->mid) {
	case PMC_MID_CURRENT_DATA_SET:
		if (dlen < PMC_CURRENT_DS_LEN)
			return fail(why, "CURRENT_DATA_SET too short", -EBADMSG);
		out->u.current.steps_removed = get16(d);
		out->u.current.offset_scaled = (int64_t)get64(d + 2);
		out->u.current.path_delay_scaled = (int64_t)get64(d + 10);
		return 0;
	case PMC_MID_TIME_PROPERTIES_DATA_SET:
		if (dlen < PMC_TIME_PROPS_LEN)
			return fail(why, "TIME_PROPERTIES_DATA_SET too short",
				    -EBADMSG);
		out->u.time_props.utc_offset = (int16_t)get16(d);
		out->u.time_props.flags = d[2];
		out->u.time_props.time_source = d[3];
		return 0;
	case PMC_MID_PORT_DATA_SET:
		if (dlen < PMC_PORT_DS_LEN)
			return fail(why, "PORT_DATA_SET too short", -EBADMSG);
		get_port_identity(d, &out->u.port.id);
		out->u.port.state = d[10];
		out->u.port.peer_path_delay_scaled = (int64_t)get64(d + 12);
		out->u.port.log_sync_interval = (int8_t)d[22];
		return 0;
	case PMC_MID_TIME_STATUS_NP:
		if (dlen < PMC_TIME_STATUS_LEN)
			return fail(why, "TIME_STATUS_NP too short", -EBADMSG);
		out->u.time_status.master_offset_ns = (int64_t)get64(d);
		out->u.time_status.ingress_time_ns = (int64_t)get64(d + 8);
		out->u.time_status.gm_present = (int32_t)get32(d + 38);
		memcpy(out->u.time_status.gm_identity, d + 42, 8);
		return 0;
	}
	return fail(why, "unknown management id", -ENOTSUP);
}

int pmc_response__decode(const uint8_t *buf, size_t len,
			 struct pmc_response *out, const char **why)
{
	size_t msg_len, tlv_len;
	const uint8_t *tlv;
	uint16_t type;

	memset(out, 0, sizeof(*out));
	if (len < PMC_HEADER_LEN)
		return fail(why, "shorter than a PTP header", -EBADMSG);
	if ((buf[1] & 0x0f) != PMC_VERSION)
		return fail(why, "not PTP version 2", -EBADMSG);
	msg_len = get16(buf + 2);
	if (msg_len > len)
		return fail(why, "messageLength beyond the datagram", -EBADMSG);
	if (msg_len < PMC_HEADER_LEN)
		return fail(why, "messageLength shorter than a header", -EBADMSG);
	if ((buf[0] & 0x0f) != PMC_MSG_MANAGEMENT)
		return fail(why, "not a management message", -EPROTO);
	if (msg_len < PMC_MANAGEMENT_LEN + PMC_TLV_HEAD_LEN)
		return fail(why, "management message without a TLV", -EBADMSG);
	get_port_identity(buf + 20, &out->source);
	out->sequence_id = get16(buf + 30);
	out->action = buf[46] & 0x0f;
	if (out->action != PMC_RESPONSE)
		return fail(why, "not a management response", -EPROTO);

	tlv = buf + PMC_MANAGEMENT_LEN;
	type = get16(tlv);
	tlv_len = get16(tlv + 2);
	if (tlv_len < 2 ||
	    tlv_len > msg_len - PMC_MANAGEMENT_LEN - 4)
		return fail(why, "TLV length out of bounds", -EBADMSG);

	if (type == PMC_TLV_MANAGEMENT_ERROR) {
		/* errorId, managementId, 4 reserved bytes, displayData */
		if (tlv_len < 8)
			return fail(why, "error TLV too short", -EBADMSG);
		out->error = get16(tlv + 4);
		out->mid = get16(tlv + 6);
		if (!out->error)
			return fail(why, "error TLV with error code 0", -EBADMSG);
		return 0;
	}
	if (type != PMC_TLV_MANAGEMENT)
		return fail(why, "first TLV is not a management TLV", -EBADMSG);
	out->mid = get16(tlv + 4);
	return decode_data(out, tlv + PMC_TLV_HEAD_LEN, tlv_len - 2, why);
}

const char *pmc_port_state__name(uint8_t state)
{
	static const char *const names[] = {
		[PMC_PS_INITIALIZING] = "INITIALIZING",
		[PMC_PS_FAULTY] = "FAULTY",
		[PMC_PS_DISABLED] = "DISABLED",
		[PMC_PS_LISTENING] = "LISTENING",
		[PMC_PS_PRE_MASTER] = "PRE_MASTER",
		[PMC_PS_MASTER] = "MASTER",
		[PMC_PS_PASSIVE] = "PASSIVE",
		[PMC_PS_UNCALIBRATED] = "UNCALIBRATED",
		[PMC_PS_SLAVE] = "SLAVE",
	};

	if (state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "UNKNOWN";
}
