// SPDX-License-Identifier: GPL-2.0
/*
 * The host-wide HLC in a real kernel: strictly monotonic and duplicate-free
 * across processes and threads under contention, immune to the wall clock
 * being stepped back, and closed to far-future ("end of time") timestamps.
 */
#include <pthread.h>
#include <stdlib.h>

#include "gnomon.h"
#include "kmod_util.h"

#define PROCS		2
#define THREADS		2
#define TICKS		250000	/* 1,000,000 ticks in all */

struct ticker_arg {
	struct gnomon_hlc *out;
	int fd;
	int err;
};

static void *ticker(void *p)
{
	struct ticker_arg *a = p;

	for (int i = 0; i < TICKS && !a->err; i++)
		a->err = xioctl(a->fd, GNOMON_IOC_HLC_TICK, &a->out[i]);
	return NULL;
}

static int cmp_hlc(const void *a, const void *b)
{
	return gnomon_hlc_compare(a, b);
}

KTAP_TEST(ticks_are_unique_and_monotonic_across_processes_and_threads)
{
	size_t total = (size_t)PROCS * THREADS * TICKS;
	struct gnomon_hlc *all;
	long dups = 0, regressions = 0;

	all = mmap(NULL, total * sizeof(*all), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KTAP_ASSERT(t, all != MAP_FAILED, "shared buffer");
	for (int p = 0; p < PROCS; p++) {
		if (fork() == 0) {
			struct ticker_arg args[THREADS];
			pthread_t th[THREADS];
			int fd = dev_open();

			for (int i = 0; i < THREADS; i++) {
				args[i] = (struct ticker_arg){
					.out = all + (size_t)(p * THREADS + i) * TICKS,
					.fd = fd };
				pthread_create(&th[i], NULL, ticker, &args[i]);
			}
			for (int i = 0; i < THREADS; i++)
				pthread_join(th[i], NULL);
			for (int i = 0; i < THREADS; i++)
				if (args[i].err)
					_exit(1);
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;

		wait(&status);
		KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0, "ticker failed");
	}
	for (size_t s = 0; s < (size_t)PROCS * THREADS; s++)
		for (size_t i = 1; i < TICKS; i++)
			regressions += gnomon_hlc_compare(&all[s * TICKS + i - 1],
							  &all[s * TICKS + i]) >= 0;
	qsort(all, total, sizeof(*all), cmp_hlc);
	for (size_t i = 1; i < total; i++)
		dups += gnomon_hlc_compare(&all[i - 1], &all[i]) == 0;
	ktap_diag("%zu ticks, %ld regressions, %ld duplicates", total, regressions, dups);
	KTAP_EXPECT(t, regressions == 0, "%ld regressions", regressions);
	KTAP_EXPECT(t, dups == 0, "%ld duplicates", dups);
	munmap(all, total * sizeof(*all));
}

static int set_realtime(__u64 ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / SEC), .tv_nsec = (long)(ns % SEC) };

	return clock_settime(CLOCK_REALTIME, &ts);
}

KTAP_TEST(wall_clock_steps_do_not_move_the_hlc_back)
{
	__u64 real0 = now_ns(CLOCK_REALTIME), mono0 = now_ns(CLOCK_MONOTONIC);
	long long steps = sysfs_counter("clock_steps");
	struct gnomon_client *client;
	struct gnomon_hlc a, b, c;
	struct gnomon_tt tt;
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_ASSERT(t, discipline(fd, MS, 10 * SEC, 0) == 0, "discipline");
	KTAP_ASSERT(t, gnomon_client__open(&client, GNOMON_OPEN_NO_AGENT) == 0, "libgnomon");
	KTAP_ASSERT(t, gnomon_client__now(client, &tt) == 0 &&
		       tt.status == GNOMON_STATUS_SYNCHRONIZED, "synchronized before the step");
	gnomon_client__close(client);
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_HLC_TICK, &a) == 0, "tick");

	KTAP_ASSERT(t, set_realtime(real0 - 3600 * SEC) == 0, "settime back");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_HLC_TICK, &b) == 0, "tick");
	KTAP_EXPECT(t, gnomon_hlc_compare(&a, &b) < 0 && b.wall_ns == a.wall_ns,
		    "after a step back: %llu.%u then %llu.%u", (unsigned long long)a.wall_ns,
		    a.logical, (unsigned long long)b.wall_ns, b.logical);
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_NOW, &tt) == 0, "now");
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED && (tt.flags & GNOMON_TT_STEP_DETECTED),
		    "a step must disrupt TT.now(): status %u flags %#x", tt.status, tt.flags);
	/* The page reader uses CLOCK_REALTIME alone: it relies on the kernel
	 * having flagged the step from timekeeping. */
	KTAP_ASSERT(t, gnomon_client__open(&client, GNOMON_OPEN_NO_AGENT) == 0, "libgnomon");
	KTAP_EXPECT(t, gnomon_client__source(client) == GNOMON_FROM_KERNEL, "kernel source");
	KTAP_ASSERT(t, gnomon_client__now(client, &tt) == 0, "page now");
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED && (tt.flags & GNOMON_TT_STEP_DETECTED),
		    "the page must show the step: status %u flags %#x", tt.status, tt.flags);
	KTAP_EXPECT(t, sysfs_counter("clock_steps") >= steps + 1, "clock_steps counter");

	KTAP_ASSERT(t, set_realtime(real0 + 3600 * SEC) == 0, "settime forward");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_HLC_TICK, &c) == 0, "tick");
	KTAP_EXPECT(t, c.wall_ns >= real0 + 3600 * SEC && c.logical == 0,
		    "after a step forward the HLC follows: %llu.%u", (unsigned long long)c.wall_ns,
		    c.logical);

	/* Put the clock back where it would have been. */
	set_realtime(real0 + (now_ns(CLOCK_MONOTONIC) - mono0));
	gnomon_client__close(client);
	close(fd);
}

KTAP_TEST(far_future_remote_timestamps_are_rejected_and_counted)
{
	struct gnomon_config cfg = { .max_offset_ns = 10 * MS };
	long long rejections = sysfs_counter("hlc_rejections");
	struct gnomon_hlc m, before, after;
	struct gnomon_tt tt;
	int fd;

	KTAP_ASSERT(t, module_reload() == 0, "reload");
	fd = dev_open();
	KTAP_ASSERT(t, fd >= 0, "open");
	rejections = sysfs_counter("hlc_rejections");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg) == 0, "config");
	KTAP_ASSERT(t, discipline(fd, 5 * MS, 10 * SEC, 0) == 0, "discipline");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_HLC_TICK, &before) == 0, "tick");

	/* The largest possible time would freeze the clock forever. */
	m = (struct gnomon_hlc){ .wall_ns = ~0ULL, .logical = ~0U };
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_HLC_UPDATE, &m) == -ERANGE, "end of time");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_NOW, &tt) == 0, "now");
	m = (struct gnomon_hlc){ .wall_ns = tt.latest_ns + 100 * MS };
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_HLC_UPDATE, &m) == -ERANGE, "latest + 100 ms");
	KTAP_EXPECT(t, sysfs_counter("hlc_rejections") == rejections + 2, "counted");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_HLC_TICK, &after) == 0, "tick");
	KTAP_EXPECT(t, after.wall_ns < tt.latest_ns + 10 * MS, "a rejected time leaked in");

	m = (struct gnomon_hlc){ .wall_ns = tt.realtime_ns + 8 * MS, .logical = 5 };
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_HLC_UPDATE, &m) == 0, "within bound + offset");
	KTAP_EXPECT(t, m.wall_ns >= tt.realtime_ns + 8 * MS, "merged result %llu.%u",
		    (unsigned long long)m.wall_ns, m.logical);
	m.__pad = 1;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_HLC_UPDATE, &m) == -EINVAL, "padding");
	close(fd);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
