/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The contract between the TCP stamping program (gnomon_stamp.bpf.c) and its
 * userspace (gnomon-trace): the wire option, the maps' value layouts and the
 * ring-buffer event.
 *
 * The wire option (RFC 6994 shared experimental kind):
 *
 *	 0      1      2      3      4  ...  9     10     11
 *	+------+------+------+------+-----------+------+------+
 *	| 253  |  12  | ExID 0x474E | Lamport   | node id     |
 *	+------+------+------+------+-----------+------+------+
 *
 * all fields big-endian; the Lamport value is 48 bits.  Any other length
 * with the same kind and ExID is malformed.
 *
 * The maps: gnomon_clock (one array element: the Lamport clock),
 * gnomon_config (one element, written by userspace only), gnomon_counts
 * (per-CPU counters) and gnomon_events (ring buffer of struct
 * gnomon_stamp_event).  The program only ever moves the clock forward with
 * atomic operations; userspace never writes the clock, so the two cannot
 * race.
 *
 * This header is included by the BPF program (after vmlinux.h) and by C
 * userspace (after <linux/types.h>); it defines no functions.
 */
#ifndef GNOMON_STAMP_H
#define GNOMON_STAMP_H

#define GNOMON_OPT_KIND		253	/* RFC 6994 experimental */
#define GNOMON_OPT_EXID		0x474E	/* "GN" */
#define GNOMON_OPT_LEN		12
#define GNOMON_LAMPORT_BITS	48
#define GNOMON_LAMPORT_MAX	((1ULL << GNOMON_LAMPORT_BITS) - 1)
/* Default poisoning guard: a remote value more than this ahead of the local
 * clock is not merged. */
#define GNOMON_DEFAULT_MAX_JUMP	(1ULL << 32)
/* Merge retries under contention before the receive is counted as lost. */
#define GNOMON_CAS_TRIES	8

/* The program's name as the kernel shows it (BPF_OBJ_NAME_LEN - 1 chars). */
#define GNOMON_PROG_NAME	"gnomon_sockops"

/* struct gnomon_stamp_event.dir */
enum gnomon_stamp_dir {
	GNOMON_DIR_SEND	= 1,
	GNOMON_DIR_RECV	= 2,
};

/* The counters, each a __u64 in struct gnomon_stamp_counts. */
enum gnomon_count {
	GNOMON_CNT_STAMPED,	/* options written */
	GNOMON_CNT_MERGED,	/* received stamps merged into the clock */
	GNOMON_CNT_MALFORMED,	/* received options of the wrong shape */
	GNOMON_CNT_REJECTED,	/* received stamps too far ahead: not merged */
	GNOMON_CNT_NO_ROOM,	/* no option space left to stamp a segment */
	GNOMON_CNT_DUPLICATE,	/* another program already wrote our option */
	GNOMON_CNT_CONTENDED,	/* merge lost the race GNOMON_CAS_TRIES times */
	GNOMON_CNT_RB_DROPS,	/* events lost because the ring buffer was full */
	GNOMON_CNT_NR,
};

struct gnomon_stamp_counts {
	__u64 n[GNOMON_CNT_NR];
};

struct gnomon_stamp_clock {
	__u64 lamport;		/* the clock; only ever increases */
};

struct gnomon_stamp_config {
	__u64 max_jump;		/* poisoning guard, 0: GNOMON_DEFAULT_MAX_JUMP */
	__u32 node_id;		/* 16 bits on the wire */
	__u32 events;		/* nonzero: emit ring-buffer events */
};

/* struct gnomon_stamp_event.family */
#define GNOMON_AF_INET	2
#define GNOMON_AF_INET6	10

/*
 * One stamped send or one received stamp.  Addresses are in network byte
 * order (IPv4 in the first 4 bytes); ports and sequence numbers in host
 * order.  For a send, lamport is the value written; for a receive, lamport
 * is the local value after the merge and remote/remote_node are what the
 * option carried.  [seq, end_seq) is the segment's sequence range (SYN and
 * FIN count one).  mono_ns is CLOCK_MONOTONIC; the recorder converts it.
 */
struct gnomon_stamp_event {
	__u64 lamport;
	__u64 remote;
	__u64 mono_ns;
	__u32 seq;
	__u32 end_seq;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u16 node_id;
	__u16 remote_node;
	__u8 dir;		/* enum gnomon_stamp_dir */
	__u8 family;		/* GNOMON_AF_* */
	__u8 tcp_flags;		/* of the segment */
	__u8 __pad[5];
};

#endif /* GNOMON_STAMP_H */
