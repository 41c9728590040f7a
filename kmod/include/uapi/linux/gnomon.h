/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gnomon: bounded-uncertainty time and a host-wide hybrid logical clock.
 *
 * The character device /dev/gnomon serves two things:
 *
 *   TT.now()  an interval [earliest, latest] of CLOCK_REALTIME that contains
 *             true time, whose half-width (the bound) comes from the last
 *             discipline update grown by a declared maximum drift rate.
 *   HLC       one hybrid logical clock per host, shared by every process.
 *
 * All structures use fixed-width types and explicit padding; padding and
 * reserved fields must be zero on input and are zero on output.  Pointers are
 * never passed.  The ioctl type byte is 0xC7 (unused in
 * Documentation/userspace-api/ioctl/ioctl-number.rst), numbers 0x00-0x1F.
 *
 * Privilege: reading time, ticking and merging the HLC and waiting are open to
 * every user who can open the device.  Changing clock state (discipline,
 * configuration) requires CAP_SYS_TIME.
 *
 * It also keeps leases: named fencing resources, each with a token, an end
 * instant and a holder, that hold only while TT.now() can vouch for them
 * (Documentation/leases.rst).  Reading them is open to all; granting,
 * renewing and releasing need CAP_SYS_ADMIN, because a lease decides which
 * writes reach a block device.
 */
#ifndef _UAPI_LINUX_GNOMON_H
#define _UAPI_LINUX_GNOMON_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GNOMON_DEVICE_PATH	"/dev/gnomon"

/* Clock status, as in TT.now().status. */
enum gnomon_status {
	/* No usable discipline: the interval is [0, U64_MAX]. */
	GNOMON_STATUS_UNSYNCHRONIZED	= 0,
	/* Disciplined within the last few expected update intervals. */
	GNOMON_STATUS_SYNCHRONIZED	= 1,
	/* Updates stopped; the bound keeps growing until the holdover ends. */
	GNOMON_STATUS_FREE_RUNNING	= 2,
	/* The clock was stepped or the host migrated: the interval is void. */
	GNOMON_STATUS_DISRUPTED		= 3,
};

/* Where the discipline came from (struct gnomon_discipline.source). */
enum gnomon_source {
	GNOMON_SOURCE_NONE	= 0,
	GNOMON_SOURCE_STATIC	= 1,
	GNOMON_SOURCE_NTP	= 2,
	GNOMON_SOURCE_PTP	= 3,
};

/* The bound reported while unsynchronized or disrupted. */
#define GNOMON_BOUND_INFINITE	(~(__u64)0)

/* struct gnomon_tt.flags */
#define GNOMON_TT_STEP_DETECTED	(1U << 0) /* realtime moved against monotonic */

/* GNOMON_IOC_NOW: one TT.now() reading. */
struct gnomon_tt {
	__u64 earliest_ns;	/* CLOCK_REALTIME lower bound */
	__u64 latest_ns;	/* CLOCK_REALTIME upper bound */
	__u64 bound_ns;		/* half-width, GNOMON_BOUND_INFINITE if void */
	__u64 realtime_ns;	/* the CLOCK_REALTIME reading it is built on */
	__u32 status;		/* enum gnomon_status */
	__u32 flags;		/* GNOMON_TT_* */
};

/*
 * A hybrid logical clock timestamp (Kulkarni et al.).  Timestamps order
 * lexicographically by (wall_ns, logical).  When logical would overflow, the
 * clock borrows one nanosecond: wall_ns += 1 and logical = 0.
 */
struct gnomon_hlc {
	__u64 wall_ns;
	__u32 logical;
	__u32 __pad;
};

/* GNOMON_IOC_WAIT_UNTIL: sleep until TT.now().earliest > until_ns. */
struct gnomon_wait {
	__u64 until_ns;		/* CLOCK_REALTIME instant to pass */
	__u64 timeout_ns;	/* relative; 0 waits without a limit */
	__u32 flags;		/* none defined: zero */
	__u32 __pad;
	__u64 __reserved[2];
};

/* struct gnomon_discipline.flags */
#define GNOMON_DISC_UNSYNC	(1U << 0) /* the source itself is not synced */
#define GNOMON_DISC_DISRUPTED	(1U << 1) /* clock stepped, VM migrated, ... */
#define GNOMON_DISC_FLAGS	(GNOMON_DISC_UNSYNC | GNOMON_DISC_DISRUPTED)

/*
 * GNOMON_IOC_DISCIPLINE (CAP_SYS_TIME): the source measured CLOCK_REALTIME to
 * be within error_ns of true time at the CLOCK_MONOTONIC instant as_of_ns.
 * as_of_ns 0 means "now"; an instant in the future is refused with -EINVAL.
 */
struct gnomon_discipline {
	__u64 error_ns;		/* measured error at as_of_ns */
	__u64 as_of_ns;		/* CLOCK_MONOTONIC instant of the measurement */
	__u64 interval_ns;	/* expected time until the next update, > 0 */
	__u32 drift_ppb;	/* max drift rate; 0 keeps the configured one */
	__u32 flags;		/* GNOMON_DISC_* */
	__u32 source;		/* enum gnomon_source */
	__u32 __pad;
};

/*
 * GNOMON_IOC_GET_CONFIG / GNOMON_IOC_SET_CONFIG (CAP_SYS_TIME to set).
 * A zero field in SET_CONFIG keeps the current value; flags, __pad and
 * __reserved must be zero there, and GET_CONFIG returns them zero.
 */
struct gnomon_config {
	__u64 max_offset_ns;	/* HLC: remote wall beyond latest + this: -ERANGE */
	__u64 holdover_ns;	/* free-running -> unsynchronized after this age */
	__u32 drift_ppb;	/* default max drift rate (50000 = 50 ppm) */
	__u32 freerun_intervals; /* synchronized -> free-running after N intervals */
	__u32 flags;		/* none defined: zero */
	__u32 __pad;
	__u64 __reserved[2];
};

/*
 * Leases.  A resource name is 1 to GNOMON_LEASE_NAME_MAX - 1 bytes of
 * [A-Za-z0-9._-], not "." or "..", NUL-terminated, with every byte after the
 * NUL zero; a holder is up to GNOMON_LEASE_HOLDER_MAX - 1 printable ASCII
 * bytes, NUL-terminated and zero-filled likewise.
 */
#define GNOMON_LEASE_NAME_MAX	64
#define GNOMON_LEASE_HOLDER_MAX	64
#define GNOMON_LEASE_MAX_RESOURCES 256
#define GNOMON_LEASE_MAX_MARGIN_NS (3600ULL * 1000000000ULL)

/* struct gnomon_lease_info.state: why a lease holds or not, judged now. */
enum gnomon_lease_state {
	GNOMON_LEASE_RELEASED	= 0,	/* released by its holder */
	GNOMON_LEASE_HELD	= 1,	/* TT.now().latest + margin < end */
	GNOMON_LEASE_EXPIRED	= 2,	/* TT.now().latest + margin >= end */
	GNOMON_LEASE_CLOCK	= 3,	/* the clock cannot vouch: no bound */
};

/*
 * GNOMON_IOC_LEASE_GRANT, _RENEW, _RELEASE (CAP_SYS_ADMIN).
 *
 * GRANT creates the resource if it does not exist.  RENEW needs a resource
 * that is granted (held or lapsed, not released).  Both set the end instant
 * (CLOCK_REALTIME, > 0) and the margin, and take the token if it is above
 * the highest one the resource has seen, or equal to it with the same holder
 * (an empty holder in RENEW means the current one); any other token is
 * refused with -ESTALE and counted.  RELEASE needs the current token (lower:
 * -ESTALE, higher: -EINVAL), end_ns and margin_ns zero, and an empty or the
 * current holder; the resource keeps its highest token.
 */
struct gnomon_lease_req {
	char name[GNOMON_LEASE_NAME_MAX];
	char holder[GNOMON_LEASE_HOLDER_MAX];
	__u64 token;
	__u64 end_ns;		/* CLOCK_REALTIME instant the lease ends */
	__u64 margin_ns;	/* stop holding this much before end_ns */
	__u32 flags;		/* none defined: zero */
	__u32 __pad;
	__u64 __reserved[2];
};

/*
 * GNOMON_IOC_LEASE_GET: the resource called name.  GNOMON_IOC_LEASE_NEXT:
 * the first resource whose name sorts (strcmp) after name, "" for the first;
 * -ENOENT after the last.  Only name is read; everything else is written.
 */
struct gnomon_lease_info {
	char name[GNOMON_LEASE_NAME_MAX];
	char holder[GNOMON_LEASE_HOLDER_MAX];
	__u64 token;		/* the highest token the resource has seen */
	__u64 end_ns;		/* 0 once released */
	__u64 margin_ns;
	__u64 judged_latest_ns;	/* TT.now().latest the state was judged on */
	__u32 state;		/* enum gnomon_lease_state */
	__u32 clock_status;	/* enum gnomon_status of that TT.now() */
	__u64 grants;		/* grants and renewals to a higher token */
	__u64 renewals;		/* renewals with the same token */
	__u64 releases;
	__u64 stale_refused;	/* grants and renewals with too low a token */
	__u64 lapses;		/* times it stopped holding while granted */
	__u64 fences;		/* first writes refused after a lapse */
	__u64 lapse_late_ns;	/* last lapse: TT.now().latest + margin - end
				 * when it was noticed (0 for a clock lapse) */
	__u64 __reserved[2];
};

#define GNOMON_IOC_TYPE		0xC7
#define GNOMON_IOC_NOW		_IOR(GNOMON_IOC_TYPE, 0x01, struct gnomon_tt)
#define GNOMON_IOC_HLC_TICK	_IOR(GNOMON_IOC_TYPE, 0x02, struct gnomon_hlc)
#define GNOMON_IOC_HLC_UPDATE	_IOWR(GNOMON_IOC_TYPE, 0x03, struct gnomon_hlc)
#define GNOMON_IOC_WAIT_UNTIL	_IOW(GNOMON_IOC_TYPE, 0x04, struct gnomon_wait)
#define GNOMON_IOC_DISCIPLINE	_IOW(GNOMON_IOC_TYPE, 0x05, struct gnomon_discipline)
#define GNOMON_IOC_GET_CONFIG	_IOR(GNOMON_IOC_TYPE, 0x06, struct gnomon_config)
#define GNOMON_IOC_SET_CONFIG	_IOW(GNOMON_IOC_TYPE, 0x07, struct gnomon_config)
#define GNOMON_IOC_LEASE_GRANT	_IOW(GNOMON_IOC_TYPE, 0x08, struct gnomon_lease_req)
#define GNOMON_IOC_LEASE_RENEW	_IOW(GNOMON_IOC_TYPE, 0x09, struct gnomon_lease_req)
#define GNOMON_IOC_LEASE_RELEASE _IOW(GNOMON_IOC_TYPE, 0x0a, struct gnomon_lease_req)
#define GNOMON_IOC_LEASE_GET	_IOWR(GNOMON_IOC_TYPE, 0x0b, struct gnomon_lease_info)
#define GNOMON_IOC_LEASE_NEXT	_IOWR(GNOMON_IOC_TYPE, 0x0c, struct gnomon_lease_info)

/*
 * Generic netlink: family GNOMON_GENL_NAME, version GNOMON_GENL_VERSION, in
 * the initial network namespace.  Multicast group GNOMON_GENL_MCGRP_FENCING
 * carries one message per event, with GNOMON_A_TIME_NS (CLOCK_REALTIME when
 * it was sent) and the attributes listed with each command.  Subscribing
 * needs CAP_SYS_ADMIN where the kernel can check it for a group.
 * GNOMON_CMD_LEASE_GET is a dump (NLM_F_DUMP) open to all: one message per
 * resource, with the attributes of struct gnomon_lease_info.  Every u64 is
 * an NLA_U64 (64-bit aligned with GNOMON_A_PAD), every u32 an NLA_U32.
 */
#define GNOMON_GENL_NAME		"gnomon"
#define GNOMON_GENL_VERSION		1
#define GNOMON_GENL_MCGRP_FENCING	"fencing"

enum gnomon_genl_cmd {
	GNOMON_CMD_UNSPEC,
	GNOMON_CMD_LEASE_GET,		/* dump request and its answers */
	GNOMON_CMD_LEASE_GRANTED,	/* NAME HOLDER TOKEN END_NS MARGIN_NS */
	GNOMON_CMD_LEASE_LAPSED,	/* NAME TOKEN STATE LATE_NS */
	GNOMON_CMD_FENCE_ENGAGED,	/* NAME TOKEN DEVICE */
	GNOMON_CMD_STALE_REFUSED,	/* NAME TOKEN HIGHEST_TOKEN */
	GNOMON_CMD_CLOCK_STATUS,	/* CLOCK_STATUS OLD_CLOCK_STATUS */
	__GNOMON_CMD_MAX,
};
#define GNOMON_CMD_MAX	(__GNOMON_CMD_MAX - 1)

enum gnomon_genl_attr {
	GNOMON_A_UNSPEC,
	GNOMON_A_PAD,
	GNOMON_A_TIME_NS,		/* u64 */
	GNOMON_A_NAME,			/* string */
	GNOMON_A_HOLDER,		/* string */
	GNOMON_A_TOKEN,			/* u64 */
	GNOMON_A_END_NS,		/* u64 */
	GNOMON_A_MARGIN_NS,		/* u64 */
	GNOMON_A_STATE,			/* u32, enum gnomon_lease_state */
	GNOMON_A_LATE_NS,		/* u64: latest + margin - end when noticed */
	GNOMON_A_DEVICE,		/* string, e.g. "dm-3" */
	GNOMON_A_HIGHEST_TOKEN,		/* u64 */
	GNOMON_A_CLOCK_STATUS,		/* u32, enum gnomon_status */
	GNOMON_A_OLD_CLOCK_STATUS,	/* u32 */
	GNOMON_A_JUDGED_LATEST_NS,	/* u64 */
	GNOMON_A_GRANTS,		/* u64, and the other counters */
	GNOMON_A_RENEWALS,
	GNOMON_A_RELEASES,
	GNOMON_A_STALE_REFUSED,
	GNOMON_A_LAPSES,
	GNOMON_A_FENCES,
	__GNOMON_A_MAX,
};
#define GNOMON_A_MAX	(__GNOMON_A_MAX - 1)

/*
 * The mapped page.  mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0)
 * on /dev/gnomon; PROT_WRITE is refused and mprotect() cannot add it later.
 * gnomon-syncd writes the same layout to a shared-memory file when the module
 * is not loaded.
 *
 * magic, version and size are constant.  Every other field is protected by
 * seq, which the writer makes odd before it changes anything and even after.
 * Read protocol (the vDSO pattern):
 *
 *	do {
 *		s = READ_ONCE(page->seq);       // retry while odd
 *		smp_rmb();                      // acquire
 *		copy the fields you need;
 *		smp_rmb();
 *	} while ((s & 1) || s != READ_ONCE(page->seq));
 *
 * then compute TT.now() from the copy as Documentation/design.rst describes.
 * Bound the retries: a writer that died between its two increments (the
 * agent's file can be left so) keeps seq odd for good, and a reader that
 * gives up must report the clock DISRUPTED.  Check magic, version and size
 * on every read too; a copy that fails them reads as UNSYNCHRONIZED.
 * With GNOMON_PAGE_STEP_WATCH set, the kernel marks a clock step in the page
 * (GNOMON_PAGE_STEPPED) from the timekeeping core as it happens, so a reader
 * needs only CLOCK_REALTIME, read inside the loop above (before the second
 * seq check); otherwise read CLOCK_MONOTONIC and CLOCK_REALTIME after the
 * loop.  libgnomon does exactly this, with the same code as the kernel.
 */
#define GNOMON_PAGE_MAGIC	0x676e6d6eU	/* "gnmn" */
#define GNOMON_PAGE_VERSION	1
#define GNOMON_PAGE_SIZE	4096

/* struct gnomon_page.flags */
#define GNOMON_PAGE_DISCIPLINED	(1U << 0) /* at least one update arrived */
#define GNOMON_PAGE_UNSYNC	(1U << 1) /* last update said GNOMON_DISC_UNSYNC */
#define GNOMON_PAGE_DISRUPTED	(1U << 2) /* last update said GNOMON_DISC_DISRUPTED */
#define GNOMON_PAGE_STEPPED	(1U << 3) /* the wall clock was set since */
#define GNOMON_PAGE_STEP_WATCH	(1U << 4) /* the writer sets STEPPED as a step
					   * happens (the kernel does; the
					   * agent's file does not) */

struct gnomon_page {
	/* constant */
	__u32 magic;
	__u16 version;
	__u16 size;		/* sizeof(struct gnomon_page) */
	/* seqcount */
	__u32 seq;
	__u32 flags;		/* GNOMON_PAGE_* */
	/* protected by seq: the last discipline update */
	__u64 as_of_mono_ns;	/* CLOCK_MONOTONIC instant of the measurement */
	__u64 as_of_real_ns;	/* CLOCK_REALTIME at that instant (step check) */
	__u64 error_ns;		/* measured error at as_of_mono_ns */
	__u64 interval_ns;	/* expected update interval */
	/* protected by seq: configuration */
	__u64 holdover_ns;
	__u64 max_offset_ns;
	__u32 drift_ppb;
	__u32 freerun_intervals;
	__u32 source;		/* enum gnomon_source */
	__u32 __pad;
	__u64 updates;		/* discipline updates so far */
};

#endif /* _UAPI_LINUX_GNOMON_H */
