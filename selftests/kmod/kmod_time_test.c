// SPDX-License-Identifier: GPL-2.0
/*
 * TT.now() in a real kernel: the status timeline with a static source,
 * disruption, and commit-wait (waits past earliest, times out, is
 * interruptible, wakes on a discipline update).
 */
#include <signal.h>

#include "kmod_util.h"

static int fd;

static int setup(void)
{
	/* Short intervals so the timeline takes seconds: free-running after
	 * 2 x 200 ms, unsynchronized after a 1.5 s holdover. */
	struct gnomon_config cfg = { .holdover_ns = 1500 * MS, .freerun_intervals = 2 };

	if (module_reload())
		return -1;
	fd = dev_open();
	if (fd < 0)
		return -1;
	return xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg);
}

/* The status the timeline of setup() gives an update of this age. */
static __u32 status_at(__u64 age_ns)
{
	if (age_ns <= 400 * MS)
		return GNOMON_STATUS_SYNCHRONIZED;
	if (age_ns <= 1500 * MS)
		return GNOMON_STATUS_FREE_RUNNING;
	return GNOMON_STATUS_UNSYNCHRONIZED;
}

/*
 * The VM may stall at any point (TCG on a loaded host), so the age of the
 * update is only known to lie between the end and the start of the
 * discipline call and the read: the status must fit one of those ages.
 */
static bool status_fits(__u32 status, __u64 disc_start, __u64 disc_end,
			__u64 read_start, __u64 read_end)
{
	return status == status_at(read_start - disc_end) ||
	       status == status_at(read_end - disc_start);
}

KTAP_TEST(status_timeline_with_a_static_source)
{
	__u64 d0, d1, r0, r1;
	long long changes;
	struct gnomon_tt tt;

	KTAP_ASSERT(t, setup() == 0, "setup");
	changes = sysfs_counter("status_changes");
	d0 = now_ns(CLOCK_MONOTONIC);
	KTAP_ASSERT(t, discipline(fd, 2 * MS, 200 * MS, 0) == 0, "discipline");
	d1 = now_ns(CLOCK_MONOTONIC);
	tt = read_tt(fd);
	r1 = now_ns(CLOCK_MONOTONIC);
	KTAP_EXPECT(t, status_fits(tt.status, d0, d1, d1, r1), "at once: %u", tt.status);
	KTAP_EXPECT(t, tt.bound_ns >= 2 * MS && tt.bound_ns < 3 * MS, "bound %llu",
		    (unsigned long long)tt.bound_ns);

	/* Nobody reads between here and the check: the kernel's own work
	 * item must notice both transitions. */
	sleep_ns(1700 * MS);
	tt = read_tt(fd);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED, "after holdover: %u", tt.status);
	KTAP_EXPECT(t, tt.bound_ns == GNOMON_BOUND_INFINITE, "void after holdover");
	KTAP_EXPECT(t, sysfs_counter("status_changes") >= changes + 3,
		    "status changes %lld -> %lld (want unsync->sync->free->unsync)",
		    changes, sysfs_counter("status_changes"));

	d0 = now_ns(CLOCK_MONOTONIC);
	KTAP_ASSERT(t, discipline(fd, 2 * MS, 200 * MS, 0) == 0, "discipline");
	d1 = now_ns(CLOCK_MONOTONIC);
	sleep_ns(600 * MS);
	r0 = now_ns(CLOCK_MONOTONIC);
	tt = read_tt(fd);
	r1 = now_ns(CLOCK_MONOTONIC);
	KTAP_EXPECT(t, status_fits(tt.status, d0, d1, r0, r1), "after %llu ms: %u",
		    (unsigned long long)((r1 - d0) / MS), tt.status);
	/* 50 ppm over at least 0.6 s = 30 us of growth, at least. */
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED || tt.bound_ns >= 2 * MS + 30000,
		    "bound %llu grew too little", (unsigned long long)tt.bound_ns);
}

KTAP_TEST(disrupted_update_voids_the_interval)
{
	struct gnomon_tt tt;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, discipline(fd, MS, SEC, GNOMON_DISC_DISRUPTED) == 0, "discipline");
	tt = read_tt(fd);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
		       tt.bound_ns == GNOMON_BOUND_INFINITE, "status %u", tt.status);
	KTAP_ASSERT(t, discipline(fd, MS, SEC, 0) == 0, "discipline");
	KTAP_EXPECT(t, read_tt(fd).status == GNOMON_STATUS_SYNCHRONIZED, "recovers");
}

KTAP_TEST(commit_wait_really_waits_past_earliest)
{
	struct gnomon_wait w = { 0 };
	struct gnomon_tt before, after;
	__u64 start, waited;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, discipline(fd, 20 * MS, SEC, 0) == 0, "discipline");
	/* Start the stopwatch before the reading: a stall between the two
	 * must not shorten the measured wait. */
	start = now_ns(CLOCK_MONOTONIC);
	before = read_tt(fd);
	w.until_ns = before.latest_ns;
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == 0, "wait");
	waited = now_ns(CLOCK_MONOTONIC) - start;
	after = read_tt(fd);
	KTAP_EXPECT(t, after.earliest_ns > w.until_ns, "earliest %llu not past %llu",
		    (unsigned long long)after.earliest_ns, (unsigned long long)w.until_ns);
	KTAP_EXPECT(t, waited >= 2 * before.bound_ns, "waited %llu ns, less than two bounds",
		    (unsigned long long)waited);
	ktap_diag("bound %llu ns, waited %llu ns", (unsigned long long)before.bound_ns,
		  (unsigned long long)waited);
}

KTAP_TEST(commit_wait_times_out_while_unsynchronized)
{
	struct gnomon_wait w = { .until_ns = 1, .timeout_ns = 300 * MS };
	long long timeouts;
	__u64 start, waited;

	KTAP_ASSERT(t, setup() == 0, "setup");
	timeouts = sysfs_counter("commit_wait_timeouts");
	start = now_ns(CLOCK_MONOTONIC);
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == -ETIMEDOUT, "timeout");
	waited = now_ns(CLOCK_MONOTONIC) - start;
	KTAP_EXPECT(t, waited >= 300 * MS, "returned early: %llu", (unsigned long long)waited);
	KTAP_EXPECT(t, sysfs_counter("commit_wait_timeouts") == timeouts + 1, "counter");
}

static void on_alarm(int sig)
{
	(void)sig;
}

KTAP_TEST(commit_wait_is_interruptible)
{
	struct gnomon_wait w = { .until_ns = 1 };	/* unsynchronized: forever */
	struct sigaction sa = { .sa_handler = on_alarm };

	KTAP_ASSERT(t, setup() == 0, "setup");
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == -EINTR, "signal must interrupt");
}

KTAP_TEST(commit_wait_completes_once_disciplined)
{
	struct gnomon_wait w = { .timeout_ns = 20 * SEC };
	__u64 start, waited;
	pid_t child;

	KTAP_ASSERT(t, setup() == 0, "setup");
	w.until_ns = now_ns(CLOCK_REALTIME) - SEC;	/* past, once bounded */
	child = fork();
	KTAP_ASSERT(t, child >= 0, "fork");
	if (child == 0) {
		sleep_ns(500 * MS);
		_exit(discipline(fd, MS, SEC, 0) ? 1 : 0);
	}
	start = now_ns(CLOCK_MONOTONIC);
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == 0, "wait");
	waited = now_ns(CLOCK_MONOTONIC) - start;
	waitpid(child, NULL, 0);
	KTAP_EXPECT(t, waited >= 400 * MS && waited < 5 * SEC,
		    "woke after %llu ms", (unsigned long long)(waited / MS));
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
