// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * TT.now(): the bound model, the status machine and the page's seqcount.
 *
 * Bound model.  A discipline update says: at CLOCK_MONOTONIC instant as_of,
 * CLOCK_REALTIME was within error of true time.  Afterwards the local
 * oscillator may drift by at most drift_ppb, so at monotonic instant m
 *
 *	bound(m) = error + drift_ppb * (m - as_of) / 1e9
 *
 * and TT.now() = [realtime - bound, realtime + bound].
 *
 * Status machine, evaluated at every read (there is no background state):
 *
 *	no update yet, or the source says unsynced ........ UNSYNCHRONIZED
 *	the update says disrupted, or the clock stepped ... DISRUPTED
 *	age > holdover .................................... UNSYNCHRONIZED
 *	age > freerun_intervals * interval ................ FREE_RUNNING
 *	otherwise ......................................... SYNCHRONIZED
 *
 * A copy of the page that is no page (bad magic, version or size) reads as
 * UNSYNCHRONIZED, and one taken while a writer never finished (odd seq) as
 * DISRUPTED: a reader never waits for a writer without bound.
 *
 * UNSYNCHRONIZED and DISRUPTED report the void interval [0, U64_MAX]: with no
 * bound we know nothing, and a narrow interval would be a lie.
 *
 * Step detection: realtime - monotonic only changes when the clock is
 * stepped, so a change larger than GNOMON_STEP_SLACK_NS since as_of means
 * the update no longer describes this clock.  The kernel also marks a step
 * in the page the moment timekeeping reports it (GNOMON_PAGE_STEPPED), which
 * lets page readers measure the age on CLOCK_REALTIME alone: one clock read
 * instead of two.
 */
#include "gnomon_core.h"

static __u64 sat_add(__u64 a, __u64 b)
{
	return a > GNOMON_U64_MAX - b ? GNOMON_U64_MAX : a + b;
}

/*
 * drift_ppb * age_ns / 1e9 without overflow in 64 bits, saturating.  This
 * is on every TT.now() path: the common case (an age under 2.4 hours and a
 * drift within GNOMON_MAX_DRIFT_PPB < 2^20) costs one division.
 */
static __u64 drift_growth(__u64 age_ns, __u32 drift_ppb)
{
	__u64 secs, rem;

	if (age_ns < (1ULL << 43) && drift_ppb <= GNOMON_MAX_DRIFT_PPB)
		return age_ns * drift_ppb / GNOMON_NSEC_PER_SEC;	/* < 2^63 */
	secs = age_ns / GNOMON_NSEC_PER_SEC;
	rem = age_ns % GNOMON_NSEC_PER_SEC;
	/* Under a second (secs == 0) only the remainder's part grows. */
	if (secs && drift_ppb > GNOMON_U64_MAX / secs)
		return GNOMON_U64_MAX;
	/* rem < 1e9 and drift_ppb < 2^32: the product fits in 64 bits. */
	return sat_add(secs * drift_ppb, rem * drift_ppb / GNOMON_NSEC_PER_SEC);
}

static __u64 abs_diff(__u64 a, __u64 b)
{
	return a > b ? a - b : b - a;
}

static bool clock_stepped(const struct gnomon_page *snap, __u64 mono_ns,
			  __u64 real_ns)
{
	__u64 mono_elapsed = mono_ns - snap->as_of_mono_ns;

	/* Compare real - real_as_of with mono - mono_as_of, in unsigned
	 * arithmetic: a step backwards makes real_ns < as_of_real_ns. */
	if (real_ns < snap->as_of_real_ns)
		return sat_add(snap->as_of_real_ns - real_ns, mono_elapsed) >
		       GNOMON_STEP_SLACK_NS;
	return abs_diff(real_ns - snap->as_of_real_ns, mono_elapsed) >
	       GNOMON_STEP_SLACK_NS;
}

static __u64 freerun_age(const struct gnomon_page *snap)
{
	__u64 n = snap->freerun_intervals;

	/* Both below 2^32 (the common case): the product cannot overflow. */
	if (snap->interval_ns < (1ULL << 32) || !n)
		return n * snap->interval_ns;
	if (n > GNOMON_U64_MAX / snap->interval_ns)
		return GNOMON_U64_MAX;
	return n * snap->interval_ns;
}

static void void_interval(struct gnomon_tt *out, __u32 status)
{
	out->status = status;
	out->bound_ns = GNOMON_BOUND_INFINITE;
	out->earliest_ns = 0;
	out->latest_ns = GNOMON_U64_MAX;
}

/* Everything but step detection, given the age of the update. */
static void tt_from_age(const struct gnomon_page *snap, __u64 age,
			__u64 real_ns, struct gnomon_tt *out)
{
	if (age > snap->holdover_ns) {
		void_interval(out, GNOMON_STATUS_UNSYNCHRONIZED);
		return;
	}
	out->status = age > freerun_age(snap) ? GNOMON_STATUS_FREE_RUNNING
					      : GNOMON_STATUS_SYNCHRONIZED;
	out->bound_ns = sat_add(snap->error_ns,
				drift_growth(age, snap->drift_ppb));
	/* Only a page with absurd values (an agent file is anyone's to
	 * write) saturates: that is no bound at all. */
	if (out->bound_ns == GNOMON_BOUND_INFINITE) {
		void_interval(out, GNOMON_STATUS_UNSYNCHRONIZED);
		return;
	}
	out->earliest_ns = real_ns > out->bound_ns ? real_ns - out->bound_ns : 0;
	out->latest_ns = sat_add(real_ns, out->bound_ns);
	gnomon_assert(out->earliest_ns <= real_ns && real_ns <= out->latest_ns);
}

bool gnomon_page_valid(const struct gnomon_page *snap)
{
	return snap->magic == GNOMON_PAGE_MAGIC &&
	       snap->version == GNOMON_PAGE_VERSION &&
	       snap->size >= sizeof(*snap) && snap->size <= GNOMON_PAGE_SIZE;
}

/*
 * The update's own verdict: false if it leaves no interval to compute.  A
 * copy that is not a page (an agent file truncated or overwritten) says
 * nothing; one whose seq is odd comes from a writer that never finished
 * (see gnomon_page_read_begin), and nothing it holds can be trusted.
 */
static bool tt_usable(const struct gnomon_page *snap, struct gnomon_tt *out)
{
	if (!gnomon_page_valid(snap)) {
		void_interval(out, GNOMON_STATUS_UNSYNCHRONIZED);
		return false;
	}
	if (snap->seq & 1) {
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return false;
	}
	if (!(snap->flags & GNOMON_PAGE_DISCIPLINED) ||
	    (snap->flags & GNOMON_PAGE_UNSYNC)) {
		void_interval(out, GNOMON_STATUS_UNSYNCHRONIZED);
		return false;
	}
	if (snap->flags & GNOMON_PAGE_DISRUPTED) {
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return false;
	}
	if (snap->flags & GNOMON_PAGE_STEPPED) {
		out->flags |= GNOMON_TT_STEP_DETECTED;
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return false;
	}
	return true;
}

void gnomon_tt_compute(const struct gnomon_page *snap, __u64 mono_ns,
		       __u64 real_ns, struct gnomon_tt *out)
{
	out->realtime_ns = real_ns;
	out->flags = 0;
	if (!tt_usable(snap, out))
		return;
	/* A monotonic reading older than the update cannot age it. */
	if (mono_ns < snap->as_of_mono_ns)
		mono_ns = snap->as_of_mono_ns;
	if (clock_stepped(snap, mono_ns, real_ns)) {
		out->flags |= GNOMON_TT_STEP_DETECTED;
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return;
	}
	tt_from_age(snap, mono_ns - snap->as_of_mono_ns, real_ns, out);
}

/*
 * With GNOMON_PAGE_STEP_WATCH the writer flags steps itself, so the age can
 * be measured on CLOCK_REALTIME: since the update it ran in step with
 * CLOCK_MONOTONIC, or the page says STEPPED.  A reading before as_of_real
 * can only come from a step the writer has not flagged yet.
 */
void gnomon_tt_compute_realtime(const struct gnomon_page *snap, __u64 real_ns,
				struct gnomon_tt *out)
{
	out->realtime_ns = real_ns;
	out->flags = 0;
	if (!tt_usable(snap, out))
		return;
	/* Without a writer that flags steps, one clock cannot tell. */
	if (!(snap->flags & GNOMON_PAGE_STEP_WATCH)) {
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return;
	}
	if (real_ns + GNOMON_STEP_SLACK_NS < snap->as_of_real_ns) {
		out->flags |= GNOMON_TT_STEP_DETECTED;
		void_interval(out, GNOMON_STATUS_DISRUPTED);
		return;
	}
	tt_from_age(snap, real_ns > snap->as_of_real_ns ?
			  real_ns - snap->as_of_real_ns : 0, real_ns, out);
}

__u64 gnomon_tt_next_transition(const struct gnomon_page *snap)
{
	__u64 freerun;

	if (!(snap->flags & GNOMON_PAGE_DISCIPLINED) ||
	    (snap->flags & (GNOMON_PAGE_UNSYNC | GNOMON_PAGE_DISRUPTED |
			    GNOMON_PAGE_STEPPED)))
		return GNOMON_U64_MAX;
	freerun = freerun_age(snap);
	if (freerun < snap->holdover_ns)
		return sat_add(sat_add(snap->as_of_mono_ns, freerun), 1);
	return sat_add(sat_add(snap->as_of_mono_ns, snap->holdover_ns), 1);
}

void gnomon_page_init(struct gnomon_page *page)
{
	page->magic = GNOMON_PAGE_MAGIC;
	page->version = GNOMON_PAGE_VERSION;
	page->size = sizeof(*page);
	page->drift_ppb = GNOMON_DEFAULT_DRIFT_PPB;
	page->holdover_ns = GNOMON_DEFAULT_HOLDOVER_NS;
	page->max_offset_ns = GNOMON_DEFAULT_MAX_OFFSET_NS;
	page->freerun_intervals = GNOMON_DEFAULT_FREERUN_INTERVALS;
}

int gnomon_discipline_check(const struct gnomon_page *page,
			    const struct gnomon_discipline *d, __u64 mono_ns)
{
	if (d->__pad || (d->flags & ~GNOMON_DISC_FLAGS))
		return -EINVAL;
	if (d->source > GNOMON_SOURCE_PTP)
		return -EINVAL;
	if (d->error_ns > GNOMON_MAX_ERROR_NS || d->drift_ppb > GNOMON_MAX_DRIFT_PPB)
		return -EINVAL;
	if (!d->interval_ns || d->interval_ns > GNOMON_MAX_HOLDOVER_NS)
		return -EINVAL;
	/* A measurement from the future, or older than the one we have. */
	if (d->as_of_ns > mono_ns)
		return -EINVAL;
	if (d->as_of_ns && (page->flags & GNOMON_PAGE_DISCIPLINED) &&
	    d->as_of_ns < page->as_of_mono_ns)
		return -EINVAL;
	return 0;
}

static void page_write_begin(struct gnomon_page *page)
{
	GNOMON_WRITE_ONCE(page->seq, page->seq + 1);
	gnomon_assert(page->seq & 1);
	gnomon_wmb();
}

static void page_write_end(struct gnomon_page *page)
{
	gnomon_wmb();
	GNOMON_WRITE_ONCE(page->seq, page->seq + 1);
	gnomon_assert(!(page->seq & 1));
}

void gnomon_page_discipline(struct gnomon_page *page,
			    const struct gnomon_discipline *d,
			    __u64 mono_ns, __u64 real_ns)
{
	__u64 as_of = d->as_of_ns ? d->as_of_ns : mono_ns;
	__u32 flags = GNOMON_PAGE_DISCIPLINED |
		      (page->flags & GNOMON_PAGE_STEP_WATCH);

	if (d->flags & GNOMON_DISC_UNSYNC)
		flags |= GNOMON_PAGE_UNSYNC;
	if (d->flags & GNOMON_DISC_DISRUPTED)
		flags |= GNOMON_PAGE_DISRUPTED;

	page_write_begin(page);
	page->flags = flags;
	page->as_of_mono_ns = as_of;
	/* realtime at as_of, by the current realtime - monotonic offset. */
	page->as_of_real_ns = real_ns - (mono_ns - as_of);
	page->error_ns = d->error_ns;
	page->interval_ns = d->interval_ns;
	if (d->drift_ppb)
		page->drift_ppb = d->drift_ppb;
	page->source = d->source;
	page->updates++;
	page_write_end(page);
}

int gnomon_config_check(const struct gnomon_config *cfg)
{
	if (cfg->flags || cfg->__pad || cfg->__reserved[0] || cfg->__reserved[1])
		return -EINVAL;
	if (cfg->drift_ppb > GNOMON_MAX_DRIFT_PPB ||
	    cfg->holdover_ns > GNOMON_MAX_HOLDOVER_NS ||
	    cfg->max_offset_ns > GNOMON_MAX_OFFSET_LIMIT_NS ||
	    cfg->freerun_intervals > GNOMON_MAX_FREERUN_INTERVALS)
		return -EINVAL;
	return 0;
}

void gnomon_page_configure(struct gnomon_page *page,
			   const struct gnomon_config *cfg)
{
	page_write_begin(page);
	if (cfg->max_offset_ns)
		page->max_offset_ns = cfg->max_offset_ns;
	if (cfg->holdover_ns)
		page->holdover_ns = cfg->holdover_ns;
	if (cfg->drift_ppb)
		page->drift_ppb = cfg->drift_ppb;
	if (cfg->freerun_intervals)
		page->freerun_intervals = cfg->freerun_intervals;
	page_write_end(page);
}

void gnomon_page_get_config(const struct gnomon_page *page,
			    struct gnomon_config *cfg)
{
	*cfg = (struct gnomon_config){
		.max_offset_ns = page->max_offset_ns,
		.holdover_ns = page->holdover_ns,
		.drift_ppb = page->drift_ppb,
		.freerun_intervals = page->freerun_intervals,
	};
}

void gnomon_page_mark_stepped(struct gnomon_page *page)
{
	page_write_begin(page);
	page->flags |= GNOMON_PAGE_STEPPED;
	page_write_end(page);
}

void gnomon_page_recover(struct gnomon_page *page)
{
	if (!(page->seq & 1))
		return;
	/* The dead writer's section is still open: close it on a page that
	 * says nothing until the next update. */
	page->flags &= GNOMON_PAGE_STEP_WATCH;
	page->as_of_mono_ns = 0;
	page->as_of_real_ns = 0;
	page->error_ns = 0;
	page->interval_ns = 0;
	page->holdover_ns = GNOMON_DEFAULT_HOLDOVER_NS;
	page->max_offset_ns = GNOMON_DEFAULT_MAX_OFFSET_NS;
	page->drift_ppb = GNOMON_DEFAULT_DRIFT_PPB;
	page->freerun_intervals = GNOMON_DEFAULT_FREERUN_INTERVALS;
	page->source = GNOMON_SOURCE_NONE;
	page_write_end(page);
}

__u32 gnomon_page_read_begin(const struct gnomon_page *page,
			     struct gnomon_page *snap)
{
	const volatile struct gnomon_page *vp = page;
	__u32 seq, spins = 0;

	/* A writer is done within nanoseconds; one that is not after this
	 * many polls has died half-way, and the odd seq stays in the copy. */
	do {
		seq = GNOMON_READ_ONCE(page->seq);
	} while ((seq & 1) && ++spins < GNOMON_PAGE_READ_SPINS);
	gnomon_rmb();
	snap->magic = vp->magic;
	snap->version = vp->version;
	snap->size = vp->size;
	snap->seq = seq;
	snap->flags = vp->flags;
	snap->as_of_mono_ns = vp->as_of_mono_ns;
	snap->as_of_real_ns = vp->as_of_real_ns;
	snap->error_ns = vp->error_ns;
	snap->interval_ns = vp->interval_ns;
	snap->holdover_ns = vp->holdover_ns;
	snap->max_offset_ns = vp->max_offset_ns;
	snap->drift_ppb = vp->drift_ppb;
	snap->freerun_intervals = vp->freerun_intervals;
	snap->source = vp->source;
	snap->__pad = 0;
	snap->updates = vp->updates;
	return seq;
}

bool gnomon_page_read_retry(const struct gnomon_page *page, __u32 seq)
{
	gnomon_rmb();
	return GNOMON_READ_ONCE(page->seq) != seq;
}

bool gnomon_page_snapshot(const struct gnomon_page *page,
			  struct gnomon_page *snap)
{
	unsigned int tries;
	__u32 seq;

	for (tries = 0; tries < GNOMON_PAGE_READ_TRIES; tries++) {
		seq = gnomon_page_read_begin(page, snap);
		if (!gnomon_page_read_retry(page, seq))
			return !(seq & 1);
	}
	/* Never still between two reads: as good as a writer stuck. */
	snap->seq |= 1;
	return false;
}

const char *gnomon_status_name(__u32 status)
{
	switch (status) {
	case GNOMON_STATUS_UNSYNCHRONIZED:
		return "unsynchronized";
	case GNOMON_STATUS_SYNCHRONIZED:
		return "synchronized";
	case GNOMON_STATUS_FREE_RUNNING:
		return "free-running";
	case GNOMON_STATUS_DISRUPTED:
		return "disrupted";
	}
	return "unknown";
}

const char *gnomon_source_name(__u32 source)
{
	switch (source) {
	case GNOMON_SOURCE_NONE:
		return "none";
	case GNOMON_SOURCE_STATIC:
		return "static";
	case GNOMON_SOURCE_NTP:
		return "ntp";
	case GNOMON_SOURCE_PTP:
		return "ptp";
	}
	return "unknown";
}
