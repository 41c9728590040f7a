// SPDX-License-Identifier: GPL-2.0
/*
 * libgnomon without the kernel module: the agent's shared-memory file and
 * the adjtimex fallback, the per-process HLC and commit-wait by sleeping.
 * The agent file is written here with lib/core's writer, exactly as
 * gnomon-syncd writes it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/timex.h>
#include <time.h>

#include "../ktap.h"
#include "gnomon.h"
#include "gnomon_core.h"

#define MS	1000000ULL

static __u64 now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* A fresh agent file, mapped writable here; returns the mapping. */
static struct gnomon_page *make_agent_file(char *path, size_t len)
{
	struct gnomon_page *page;
	int fd;

	snprintf(path, len, "/tmp/gnomon-libtest-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, GNOMON_PAGE_SIZE) < 0)
		return NULL;
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (page == MAP_FAILED)
		return NULL;
	gnomon_page_init(page);
	setenv("GNOMON_SHM", path, 1);
	return page;
}

/*
 * The two clocks read as one instant: a pair read across a preemption (a
 * slow valgrind run) would put a step of that gap into the page, and
 * readers would rightly call the clock disrupted for good.
 */
static void clock_pair(__u64 *mono, __u64 *real)
{
	for (int i = 0; i < 100; i++) {
		__u64 before = now_ns(CLOCK_MONOTONIC);

		*real = now_ns(CLOCK_REALTIME);
		*mono = now_ns(CLOCK_MONOTONIC);
		if (*mono - before < GNOMON_STEP_SLACK_NS / 10)
			return;
	}
}

static void discipline_now(struct gnomon_page *page, __u64 error_ns)
{
	struct gnomon_discipline d = { .error_ns = error_ns,
				       .interval_ns = 1000 * MS,
				       .source = GNOMON_SOURCE_STATIC };
	__u64 mono, real;

	clock_pair(&mono, &real);
	gnomon_page_discipline(page, &d, mono, real);
}

KTAP_TEST(open_rejects_unknown_flags)
{
	struct gnomon_client *c;

	KTAP_EXPECT(t, gnomon_client__open(&c, 1U << 9) == -EINVAL, "flags");
}

KTAP_TEST(adjtimex_source_follows_the_kernel_ntp_state)
{
	struct gnomon_client *c;
	struct timex tx = { 0 };
	struct gnomon_tt tt;
	int state;

	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL | GNOMON_OPEN_NO_AGENT) == 0, "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_ADJTIMEX, "source");
	KTAP_EXPECT(t, gnomon_client__hlc_scope(c) == GNOMON_HLC_PROCESS, "scope");
	state = adjtimex(&tx);
	KTAP_ASSERT(t, gnomon_client__now(c, &tt) == 0, "now");
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED &&
			       tt.bound_ns == GNOMON_BOUND_INFINITE, "unsynced kernel: void interval");
	} else {
		KTAP_EXPECT(t, tt.status == GNOMON_STATUS_SYNCHRONIZED, "synced kernel");
		KTAP_EXPECT(t, tt.bound_ns >= (__u64)tx.maxerror * 1000, "bound below maxerror");
	}
	KTAP_EXPECT(t, gnomon_client__discipline(c, &(struct gnomon_discipline){ 0 }) == -ENODEV,
		    "discipline needs the kernel");
	KTAP_EXPECT(t, gnomon_client__get_config(c, &(struct gnomon_config){ 0 }) == -ENODEV,
		    "no config without a page");
	gnomon_client__close(c);
}

KTAP_TEST(agent_file_serves_bounded_time)
{
	struct gnomon_page *page;
	struct gnomon_client *c;
	struct gnomon_tt tt;
	char path[64];

	page = make_agent_file(path, sizeof(path));
	KTAP_ASSERT(t, page, "agent file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_AGENT, "source %s",
		    gnomon_time_source__name(gnomon_client__source(c)));

	KTAP_ASSERT(t, gnomon_client__now(c, &tt) == 0, "now");
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED, "before any update");

	discipline_now(page, 2 * MS);	/* seen through the shared mapping */
	KTAP_ASSERT(t, gnomon_client__now(c, &tt) == 0, "now");
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_SYNCHRONIZED, "status %s",
		    gnomon_status__name(tt.status));
	/* 50 ppm over well under a second adds less than 50 us. */
	KTAP_EXPECT(t, tt.bound_ns >= 2 * MS && tt.bound_ns < 2 * MS + 50000,
		    "bound %llu", (unsigned long long)tt.bound_ns);
	KTAP_EXPECT(t, tt.latest_ns - tt.earliest_ns == 2 * tt.bound_ns &&
		       tt.earliest_ns < tt.realtime_ns, "interval");
	gnomon_client__close(c);
	munmap(page, GNOMON_PAGE_SIZE);
	unlink(path);
}

KTAP_TEST(bad_agent_file_falls_back_to_adjtimex)
{
	struct gnomon_page *page;
	struct gnomon_client *c;
	char path[64];

	page = make_agent_file(path, sizeof(path));
	KTAP_ASSERT(t, page, "agent file");
	page->magic = 0xdeadbeef;
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_ADJTIMEX, "bad magic");
	gnomon_client__close(c);

	page->magic = GNOMON_PAGE_MAGIC;
	KTAP_ASSERT(t, truncate(path, 16) == 0, "truncate");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_ADJTIMEX, "short file");
	gnomon_client__close(c);
	munmap(page, GNOMON_PAGE_SIZE);
	unlink(path);

	setenv("GNOMON_SHM", "/nonexistent/gnomon", 1);
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_ADJTIMEX, "missing file");
	gnomon_client__close(c);
}

KTAP_TEST(commit_wait_passes_earliest)
{
	struct gnomon_tt before, after;
	struct gnomon_page *page;
	struct gnomon_client *c;
	__u64 start, waited;
	char path[64];

	page = make_agent_file(path, sizeof(path));
	KTAP_ASSERT(t, page, "agent file");
	discipline_now(page, 5 * MS);
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	start = now_ns(CLOCK_MONOTONIC);	/* before the reading, see kmod */
	KTAP_ASSERT(t, gnomon_client__now(c, &before) == 0, "now");
	KTAP_ASSERT(t, gnomon_client__wait_until(c, before.latest_ns, 0) == 0, "wait");
	waited = now_ns(CLOCK_MONOTONIC) - start;
	KTAP_ASSERT(t, gnomon_client__now(c, &after) == 0, "now");
	KTAP_EXPECT(t, after.earliest_ns > before.latest_ns, "earliest not past the target");
	/* earliest must travel two bounds: at least 10 ms of real waiting. */
	KTAP_EXPECT(t, waited >= 2 * before.bound_ns, "waited only %llu ns",
		    (unsigned long long)waited);
	gnomon_client__close(c);
	munmap(page, GNOMON_PAGE_SIZE);
	unlink(path);
}

KTAP_TEST(commit_wait_times_out_when_unbounded)
{
	struct gnomon_page *page;
	struct gnomon_client *c;
	__u64 start, waited;
	char path[64];

	page = make_agent_file(path, sizeof(path));	/* never disciplined */
	KTAP_ASSERT(t, page, "agent file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	start = now_ns(CLOCK_MONOTONIC);
	KTAP_EXPECT(t, gnomon_client__wait_until(c, 0, 50 * MS) == -ETIMEDOUT, "timeout");
	waited = now_ns(CLOCK_MONOTONIC) - start;
	KTAP_EXPECT(t, waited >= 50 * MS, "returned after %llu ns", (unsigned long long)waited);
	gnomon_client__close(c);
	munmap(page, GNOMON_PAGE_SIZE);
	unlink(path);
}

KTAP_TEST(process_hlc_rejects_far_future_remote)
{
	struct gnomon_hlc remote = { 0 }, ts;
	struct gnomon_client *c;

	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL | GNOMON_OPEN_NO_AGENT) == 0, "open");
	remote.wall_ns = now_ns(CLOCK_REALTIME) + 3600ULL * 1000000000ULL;
	KTAP_EXPECT(t, gnomon_client__hlc_update(c, &remote, &ts) == -ERANGE, "an hour ahead");
	remote.wall_ns = now_ns(CLOCK_REALTIME) + 100 * MS;
	remote.logical = 41;
	KTAP_ASSERT(t, gnomon_client__hlc_update(c, &remote, &ts) == 0, "100 ms ahead");
	KTAP_EXPECT(t, ts.wall_ns == remote.wall_ns && ts.logical == 42, "merged %llu.%u",
		    (unsigned long long)ts.wall_ns, ts.logical);
	remote.__pad = 1;
	KTAP_EXPECT(t, gnomon_client__hlc_update(c, &remote, &ts) == -EINVAL, "padding");
	gnomon_client__close(c);
}

#define THREADS		4
#define TICKS		100000

struct tick_log {
	struct gnomon_client *client;
	struct gnomon_hlc ts[TICKS];
	int err;
};

static void *ticker(void *arg)
{
	struct tick_log *log = arg;

	for (int i = 0; i < TICKS && !log->err; i++)
		log->err = gnomon_client__hlc_tick(log->client, &log->ts[i]);
	return NULL;
}

static int cmp_hlc(const void *a, const void *b)
{
	return gnomon_hlc__compare(a, b);
}

KTAP_TEST(process_hlc_is_strictly_monotonic_across_threads)
{
	static struct tick_log logs[THREADS];
	static struct gnomon_hlc all[THREADS * TICKS];
	struct gnomon_client *c;
	pthread_t th[THREADS];
	int dups = 0;

	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL | GNOMON_OPEN_NO_AGENT) == 0, "open");
	for (int i = 0; i < THREADS; i++) {
		logs[i].client = c;
		KTAP_ASSERT(t, pthread_create(&th[i], NULL, ticker, &logs[i]) == 0, "thread");
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		KTAP_ASSERT(t, !logs[i].err, "tick failed: %d", logs[i].err);
		for (int j = 1; j < TICKS; j++)
			KTAP_ASSERT(t, gnomon_hlc__compare(&logs[i].ts[j - 1], &logs[i].ts[j]) < 0,
				    "thread %d went back at tick %d", i, j);
		memcpy(&all[i * TICKS], logs[i].ts, sizeof(logs[i].ts));
	}
	qsort(all, THREADS * TICKS, sizeof(all[0]), cmp_hlc);
	for (int i = 1; i < THREADS * TICKS; i++)
		dups += gnomon_hlc__compare(&all[i - 1], &all[i]) == 0;
	KTAP_EXPECT(t, dups == 0, "%d duplicate timestamps", dups);
	gnomon_client__close(c);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
