/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PTP management messages gnomon-syncd exchanges with ptp4l over its
 * Unix domain socket (the protocol pmc speaks, IEEE 1588-2008 clause 15 plus
 * linuxptp's TIME_STATUS_NP).  Pure encoding and decoding: no I/O, no
 * allocation, every length checked before it is trusted.
 *
 * Wire layout, all integers big-endian:
 *
 *	common header		34 bytes (messageType 0xD, versionPTP 2,
 *				messageLength, domainNumber, ..., sequenceId,
 *				controlField 4, logMessageInterval 0x7f)
 *	management fields	14 bytes (targetPortIdentity, starting and
 *				remaining boundary hops, actionField)
 *	TLV			type, length (counts the id and data), id, data
 *
 * A GET carries an empty data field, which ptp4l accepts for every id.
 */
#ifndef GNOMON_SYNCD_PMC_CODEC_H
#define GNOMON_SYNCD_PMC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define PMC_HEADER_LEN		34
#define PMC_MANAGEMENT_LEN	48	/* header + management fields */
#define PMC_TLV_HEAD_LEN	6	/* type, length, id */
#define PMC_REQUEST_LEN		(PMC_MANAGEMENT_LEN + PMC_TLV_HEAD_LEN)
#define PMC_MAX_MESSAGE		1500

#define PMC_TLV_MANAGEMENT		0x0001
#define PMC_TLV_MANAGEMENT_ERROR	0x0002

#define PMC_MID_CURRENT_DATA_SET	0x2001
#define PMC_MID_TIME_PROPERTIES_DATA_SET 0x2003
#define PMC_MID_PORT_DATA_SET		0x2004
#define PMC_MID_TIME_STATUS_NP		0xC000

/* Sizes of the data fields we decode. */
#define PMC_CURRENT_DS_LEN	18
#define PMC_TIME_PROPS_LEN	4
#define PMC_PORT_DS_LEN		26
#define PMC_TIME_STATUS_LEN	50

enum pmc_action {
	PMC_GET		= 0,
	PMC_SET		= 1,
	PMC_RESPONSE	= 2,
	PMC_COMMAND	= 3,
	PMC_ACKNOWLEDGE	= 4,
};

enum pmc_port_state {
	PMC_PS_INITIALIZING	= 1,
	PMC_PS_FAULTY		= 2,
	PMC_PS_DISABLED		= 3,
	PMC_PS_LISTENING	= 4,
	PMC_PS_PRE_MASTER	= 5,
	PMC_PS_MASTER		= 6,
	PMC_PS_PASSIVE		= 7,
	PMC_PS_UNCALIBRATED	= 8,
	PMC_PS_SLAVE		= 9,
};

/* timePropertiesDS.flags */
#define PMC_TP_PTP_TIMESCALE	(1U << 3)

struct pmc_port_identity {
	uint8_t clock[8];
	uint16_t port;
};

struct pmc_request {
	struct pmc_port_identity source;	/* who we are */
	uint16_t sequence_id;
	uint16_t mid;
	uint8_t domain;
};

struct pmc_current_ds {
	uint16_t steps_removed;
	int64_t offset_scaled;		/* offsetFromMaster, ns * 2^16 */
	int64_t path_delay_scaled;	/* meanPathDelay, ns * 2^16 */
};

struct pmc_time_props {
	int16_t utc_offset;
	uint8_t flags;
	uint8_t time_source;
};

struct pmc_port_ds {
	struct pmc_port_identity id;
	uint8_t state;			/* enum pmc_port_state */
	int8_t log_sync_interval;
	int64_t peer_path_delay_scaled;
};

struct pmc_time_status {
	int64_t master_offset_ns;
	int64_t ingress_time_ns;	/* last sync's ingress, 0 if none yet */
	int32_t gm_present;		/* 0: this clock is the grandmaster */
	uint8_t gm_identity[8];
};

struct pmc_response {
	struct pmc_port_identity source;
	uint16_t sequence_id;
	uint16_t mid;
	uint8_t action;			/* enum pmc_action */
	uint16_t error;			/* MANAGEMENT_ERROR_STATUS code, or 0 */
	union {
		struct pmc_current_ds current;
		struct pmc_time_props time_props;
		struct pmc_port_ds port;
		struct pmc_time_status time_status;
	} u;
};

/* Encode a GET request into buf; returns its length or -ENOBUFS/-EINVAL. */
int pmc_request__encode_get(const struct pmc_request *req, uint8_t *buf,
			    size_t size);
/*
 * Decode a management response.  Returns 0, -EBADMSG for a malformed or
 * truncated message, -EPROTO for a well-formed message that is not a
 * management response, -ENOTSUP for an id this decoder does not know.
 * *why (if not NULL) gets a static, human-readable reason on failure.
 */
int pmc_response__decode(const uint8_t *buf, size_t len,
			 struct pmc_response *out, const char **why);

const char *pmc_port_state__name(uint8_t state);

#endif /* GNOMON_SYNCD_PMC_CODEC_H */
