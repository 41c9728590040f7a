/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record format of gnomon-trace: JSON lines, one object per line.
 *
 * The first line of a record is its header:
 *
 *	{"gnomon_trace":1,"node":7,"host":"a","cgroup":"/sys/fs/cgroup"}
 *
 * and every other line one event of struct trace_event, with the keys of
 * trace_event__format().  Values are unsigned integers or strings without
 * control characters; the parser accepts exactly that subset of JSON, in
 * any key order, and rejects anything else with -EINVAL.  No I/O here.
 */
#ifndef GNOMON_TRACE_EVENT_H
#define GNOMON_TRACE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_FORMAT_VERSION	1
#define TRACE_ADDR_LEN		48	/* an IPv6 address in text, with room */
#define TRACE_NAME_LEN		64

enum trace_dir {
	TRACE_SEND = 1,
	TRACE_RECV = 2,
};

struct trace_event {
	uint64_t lamport;	/* local Lamport value of the event */
	uint64_t remote;	/* receive: the sender's Lamport value */
	uint64_t realtime_ns;	/* CLOCK_REALTIME of the event */
	uint64_t hlc_wall;	/* host HLC when the recorder read it, or 0 */
	uint32_t hlc_logical;
	uint32_t seq, end_seq;	/* TCP sequence range [seq, end_seq) */
	uint16_t node;		/* the node that recorded the event */
	uint16_t remote_node;	/* receive: the sender's node id */
	uint16_t local_port, peer_port;
	uint8_t dir;		/* enum trace_dir */
	uint8_t tcp_flags;
	char local[TRACE_ADDR_LEN], peer[TRACE_ADDR_LEN];
};

struct trace_header {
	uint16_t node;
	char host[TRACE_NAME_LEN];
	char cgroup[256];
};

enum trace_line_kind {
	TRACE_LINE_HEADER = 1,
	TRACE_LINE_EVENT = 2,
};

/* One JSON line (with '\n') into buf; -ENOSPC if it does not fit. */
int trace_event__format(const struct trace_event *e, char *buf, size_t len);
int trace_header__format(const struct trace_header *h, char *buf, size_t len);

/* Parse one line into *h or *e; returns enum trace_line_kind or -EINVAL. */
int trace_line__parse(const char *line, struct trace_header *h,
		      struct trace_event *e);

const char *trace_dir__name(uint8_t dir);

/*
 * An address in text: 4 bytes of IPv4, or 16 of IPv6 when ipv6.  An
 * IPv4-mapped IPv6 address (a dual-stack socket talking IPv4) is written as
 * IPv4, so that both ends of a connection name it the same way.
 */
void trace_addr__format(int ipv6, const uint8_t *addr, char *buf, size_t len);

#endif /* GNOMON_TRACE_EVENT_H */
