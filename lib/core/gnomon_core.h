/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The one home of gnomon's clock arithmetic: the HLC rules, the TT.now()
 * bound model and status machine, and the seqcount protocol of the page.
 *
 * This code is compiled twice: into gnomon.ko and into libgnomon.  It does no
 * I/O, takes no locks and reads no clocks: callers pass the clock readings in,
 * which is also what makes it testable on the host.  Callers serialise
 * writers; readers of the page need no lock.
 */
#ifndef GNOMON_CORE_H
#define GNOMON_CORE_H

#ifdef __KERNEL__
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/types.h>
#include <asm/barrier.h>
#define gnomon_assert(cond)	WARN_ON_ONCE(!(cond))
#define gnomon_wmb()		smp_wmb()
#define gnomon_rmb()		smp_rmb()
#define GNOMON_READ_ONCE(x)	READ_ONCE(x)
#define GNOMON_WRITE_ONCE(x, v)	WRITE_ONCE(x, v)
#else
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#define gnomon_assert(cond)	assert(cond)
#define gnomon_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define gnomon_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define GNOMON_READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define GNOMON_WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#endif

#include <linux/gnomon.h>

#define GNOMON_NSEC_PER_SEC	1000000000ULL
#define GNOMON_U64_MAX		(~(__u64)0)

/* Defaults: ClockBound's 50 ppm drift and 1000 s holdover, CockroachDB's
 * 500 ms max offset, and four missed updates before free-running. */
#define GNOMON_DEFAULT_DRIFT_PPB	50000U
#define GNOMON_DEFAULT_HOLDOVER_NS	(1000 * GNOMON_NSEC_PER_SEC)
#define GNOMON_DEFAULT_MAX_OFFSET_NS	(500 * 1000000ULL)
#define GNOMON_DEFAULT_FREERUN_INTERVALS 4U

/* Limits that keep the arithmetic meaningful. */
#define GNOMON_MAX_DRIFT_PPB		1000000U	/* 1000 ppm */
#define GNOMON_MAX_ERROR_NS		(1000 * GNOMON_NSEC_PER_SEC)
#define GNOMON_MAX_HOLDOVER_NS		(7 * 86400 * GNOMON_NSEC_PER_SEC)
#define GNOMON_MAX_OFFSET_LIMIT_NS	(3600 * GNOMON_NSEC_PER_SEC)
#define GNOMON_MAX_FREERUN_INTERVALS	1000U

/*
 * CLOCK_REALTIME minus CLOCK_MONOTONIC only changes when the clock is
 * stepped (settimeofday, ADJ_SETOFFSET, a leap second): slewing moves both.
 * A change larger than this slack since the last update is a step.
 */
#define GNOMON_STEP_SLACK_NS		(1000000ULL)	/* 1 ms */

/* HLC: a local or send event. */
void gnomon_hlc_tick(struct gnomon_hlc *clock, __u64 physical_ns);
/* HLC: merge a received timestamp; -ERANGE if msg->wall_ns > max_wall_ns. */
int gnomon_hlc_update(struct gnomon_hlc *clock, const struct gnomon_hlc *msg,
		      __u64 physical_ns, __u64 max_wall_ns);
/* -1, 0 or 1 as a is before, equal to or after b. */
int gnomon_hlc_compare(const struct gnomon_hlc *a, const struct gnomon_hlc *b);
/* The furthest remote wall time an update may carry. */
__u64 gnomon_hlc_max_wall(const struct gnomon_tt *now, __u64 max_offset_ns);

/* Page: set up constants and defaults; the page must be zeroed. */
void gnomon_page_init(struct gnomon_page *page);
/* Check a discipline update against the page's state and the clocks. */
int gnomon_discipline_check(const struct gnomon_page *page,
			    const struct gnomon_discipline *d, __u64 mono_ns);
/* Apply a checked update (writer side of the seqcount). */
void gnomon_page_discipline(struct gnomon_page *page,
			    const struct gnomon_discipline *d,
			    __u64 mono_ns, __u64 real_ns);
/* Limits, and flags, __pad and __reserved zero; 0 or -EINVAL. */
int gnomon_config_check(const struct gnomon_config *cfg);
/* Apply a checked configuration; zero fields keep their value. */
void gnomon_page_configure(struct gnomon_page *page,
			   const struct gnomon_config *cfg);
/* The page's configuration; flags, __pad and __reserved come back zero. */
void gnomon_page_get_config(const struct gnomon_page *page,
			    struct gnomon_config *cfg);
/* Writer side: the wall clock was just set (kernel, from timekeeping). */
void gnomon_page_mark_stepped(struct gnomon_page *page);
/* Writer side, holding the writers' lock: a page whose seq is odd was left
 * by a writer that died mid-update; reset what it holds (unsynchronized,
 * default configuration) and make seq even again.  No-op if seq is even. */
void gnomon_page_recover(struct gnomon_page *page);

/* magic, version and size say this is a page of this layout. */
bool gnomon_page_valid(const struct gnomon_page *snap);

/*
 * Reader side, bounded: a reader never waits on a writer for good.
 * read_begin polls an odd seq at most GNOMON_PAGE_READ_SPINS times, then
 * copies anyway and returns the odd seq, which stays in the copy, so
 * gnomon_tt_compute() reports it DISRUPTED.  A consistent copy:
 *
 *	for (tries = 0; tries < GNOMON_PAGE_READ_TRIES; tries++) {
 *		seq = gnomon_page_read_begin(page, &snap);
 *		... read a clock here to tie it to this copy ...
 *		if (!gnomon_page_read_retry(page, seq))
 *			break;
 *	}
 *	(out of tries: snap.seq |= 1)
 *
 * gnomon_page_snapshot() is that loop; false if the copy is not consistent
 * (its seq is then odd).  Magic, version and size are checked on every
 * copy by gnomon_tt_compute(), not only when the page is opened.
 */
#define GNOMON_PAGE_READ_SPINS	4096U
#define GNOMON_PAGE_READ_TRIES	64U
__u32 gnomon_page_read_begin(const struct gnomon_page *page,
			     struct gnomon_page *snap);
bool gnomon_page_read_retry(const struct gnomon_page *page, __u32 seq);
bool gnomon_page_snapshot(const struct gnomon_page *page,
			  struct gnomon_page *snap);

/* TT.now() from a snapshot and the two clocks read at (almost) one instant;
 * an invalid copy is UNSYNCHRONIZED, an odd seq DISRUPTED. */
void gnomon_tt_compute(const struct gnomon_page *snap, __u64 mono_ns,
		       __u64 real_ns, struct gnomon_tt *out);
/* TT.now() from CLOCK_REALTIME alone, read inside the snapshot's seq
 * window; a page without GNOMON_PAGE_STEP_WATCH reads as disrupted. */
void gnomon_tt_compute_realtime(const struct gnomon_page *snap, __u64 real_ns,
				struct gnomon_tt *out);
/* The CLOCK_MONOTONIC instant at which the status will next change
 * without a new update, or GNOMON_U64_MAX if it will not. */
__u64 gnomon_tt_next_transition(const struct gnomon_page *snap);

const char *gnomon_status_name(__u32 status);
const char *gnomon_source_name(__u32 source);

#endif /* GNOMON_CORE_H */
