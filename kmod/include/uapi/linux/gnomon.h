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
 * A zero field in SET_CONFIG keeps the current value.
 */
struct gnomon_config {
	__u64 max_offset_ns;	/* HLC: remote wall beyond latest + this: -ERANGE */
	__u64 holdover_ns;	/* free-running -> unsynchronized after this age */
	__u32 drift_ppb;	/* default max drift rate (50000 = 50 ppm) */
	__u32 freerun_intervals; /* synchronized -> free-running after N intervals */
};

#define GNOMON_IOC_TYPE		0xC7
#define GNOMON_IOC_NOW		_IOR(GNOMON_IOC_TYPE, 0x01, struct gnomon_tt)
#define GNOMON_IOC_HLC_TICK	_IOR(GNOMON_IOC_TYPE, 0x02, struct gnomon_hlc)
#define GNOMON_IOC_HLC_UPDATE	_IOWR(GNOMON_IOC_TYPE, 0x03, struct gnomon_hlc)
#define GNOMON_IOC_WAIT_UNTIL	_IOW(GNOMON_IOC_TYPE, 0x04, struct gnomon_wait)
#define GNOMON_IOC_DISCIPLINE	_IOW(GNOMON_IOC_TYPE, 0x05, struct gnomon_discipline)
#define GNOMON_IOC_GET_CONFIG	_IOR(GNOMON_IOC_TYPE, 0x06, struct gnomon_config)
#define GNOMON_IOC_SET_CONFIG	_IOW(GNOMON_IOC_TYPE, 0x07, struct gnomon_config)

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
