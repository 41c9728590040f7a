// SPDX-License-Identifier: GPL-2.0
/*
 * libgnomon reading a damaged agent file (issue 13, sections 1 and 2):
 * a counter left odd by an agent killed mid-update, the file truncated
 * under running readers, the file replaced.  A reader must neither hang
 * nor die (SIGBUS), must say DISRUPTED or UNSYNCHRONIZED while the file
 * says nothing trustworthy, and must follow the file back to a valid page.
 * Each test runs in its own child (ktap.h), so a SIGBUS or a hang fails
 * that test alone.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "../ktap.h"
#include "gnomon.h"
#include "gnomon_core.h"
#include "client_internal.h"	/* the agent reader, for the torture test */

#define MS	1000000ULL
/* How long a reader may take to notice a replaced file (100 ms) and more. */
#define FOLLOW_POLLS	40
#define FOLLOW_NAP_MS	50

static __u64 now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static void nap_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * (long)MS };

	nanosleep(&ts, NULL);
}

/* A page as the agent writes it, disciplined now with this error. */
static void written_page(struct gnomon_page *p, __u64 error_ns)
{
	struct gnomon_discipline d = { .error_ns = error_ns, .interval_ns = 1000 * MS,
				       .source = GNOMON_SOURCE_STATIC };

	*p = (struct gnomon_page){ 0 };
	gnomon_page_init(p);
	gnomon_page_discipline(p, &d, now_ns(CLOCK_MONOTONIC), now_ns(CLOCK_REALTIME));
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len && ftruncate(fd, GNOMON_PAGE_SIZE) == 0;
	close(fd);
	return ok ? 0 : -1;
}

/* dir/clock holding a page disciplined with error_ns; GNOMON_SHM points
 * at it. */
static int agent_file(char *dir, size_t dlen, char *path, size_t plen,
		      __u64 error_ns)
{
	struct gnomon_page p;

	snprintf(dir, dlen, "/tmp/gnomon-agenttest-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, plen, "%s/clock", dir);
	written_page(&p, error_ns);
	setenv("GNOMON_SHM", path, 1);
	return write_file(path, &p, sizeof(p));
}

/* Replace the file by rename, as an agent starting afresh does. */
static int replace_file(const char *dir, const char *path, const void *data,
			size_t len)
{
	char tmp[128];

	snprintf(tmp, sizeof(tmp), "%s/new", dir);
	return write_file(tmp, data, len) || rename(tmp, path) ? -1 : 0;
}

static void remove_files(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}

static struct gnomon_tt tt_now(struct gnomon_client *c)
{
	struct gnomon_tt tt = { 0 };

	gnomon_client__now(c, &tt);
	return tt;
}

/* Poll until TT.now() reports the status (bounded). */
static struct gnomon_tt wait_status(struct gnomon_client *c, __u32 status)
{
	struct gnomon_tt tt = tt_now(c);

	for (int i = 0; i < FOLLOW_POLLS && tt.status != status; i++) {
		nap_ms(FOLLOW_NAP_MS);
		tt = tt_now(c);
	}
	return tt;
}

KTAP_TEST(an_odd_counter_left_by_a_killed_agent_reads_as_disrupted)
{
	char dir[64], path[96];
	struct gnomon_client *c;
	struct gnomon_config cfg;
	struct gnomon_page p;
	struct gnomon_tt tt;
	__u32 seq;
	int fd;

	KTAP_ASSERT(t, agent_file(dir, sizeof(dir), path, sizeof(path), 2 * MS) == 0, "file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_ASSERT(t, gnomon_client__source(c) == GNOMON_FROM_AGENT, "source");
	KTAP_EXPECT(t, tt_now(c).status == GNOMON_STATUS_SYNCHRONIZED, "before");

	fd = open(path, O_RDWR);
	KTAP_ASSERT(t, fd >= 0 && pread(fd, &p, sizeof(p), 0) == sizeof(p), "read back");
	seq = p.seq + 1;
	KTAP_ASSERT(t, pwrite(fd, &seq, sizeof(seq), offsetof(struct gnomon_page, seq)) == 4,
		    "odd counter");
	alarm(20);
	for (int i = 0; i < 3; i++) {
		tt = tt_now(c);
		KTAP_EXPECT(t, tt.status == GNOMON_STATUS_DISRUPTED &&
			       tt.bound_ns == GNOMON_BOUND_INFINITE,
			    "read %d: status %s", i, gnomon_status__name(tt.status));
	}
	KTAP_EXPECT(t, gnomon_client__get_config(c, &cfg) == -EPROTO,
		    "no configuration from an unfinished page");
	KTAP_EXPECT(t, gnomon_client__wait_until(c, 0, 50 * MS) == -ETIMEDOUT,
		    "commit-wait cannot finish on a disrupted clock");
	alarm(0);
	seq++;
	KTAP_ASSERT(t, pwrite(fd, &seq, sizeof(seq), offsetof(struct gnomon_page, seq)) == 4,
		    "even again");
	KTAP_EXPECT(t, tt_now(c).status == GNOMON_STATUS_SYNCHRONIZED, "after");
	close(fd);
	gnomon_client__close(c);
	remove_files(dir, path);
}

KTAP_TEST(a_truncated_file_reads_as_unsynchronized_and_recovers_in_place)
{
	char dir[64], path[96];
	struct gnomon_client *c;
	struct gnomon_config cfg;
	struct gnomon_page p;
	struct gnomon_tt tt;
	int fd;

	KTAP_ASSERT(t, agent_file(dir, sizeof(dir), path, sizeof(path), 3 * MS) == 0, "file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_ASSERT(t, tt_now(c).status == GNOMON_STATUS_SYNCHRONIZED, "before");

	fd = open(path, O_RDWR);
	KTAP_ASSERT(t, fd >= 0 && ftruncate(fd, 0) == 0, "truncate -s 0");
	tt = tt_now(c);		/* a mapped reader died of SIGBUS here */
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED &&
		       tt.bound_ns == GNOMON_BOUND_INFINITE, "status %s",
		    gnomon_status__name(tt.status));
	KTAP_EXPECT(t, gnomon_client__get_config(c, &cfg) == -EPROTO, "no configuration");
	KTAP_EXPECT(t, gnomon_client__clock_source(c) == GNOMON_SOURCE_NONE, "no source");
	KTAP_ASSERT(t, ftruncate(fd, 100) == 0, "a stub");
	KTAP_EXPECT(t, tt_now(c).status == GNOMON_STATUS_UNSYNCHRONIZED, "a short file");

	/* The agent puts the page back into the same file. */
	written_page(&p, 3 * MS);
	KTAP_ASSERT(t, ftruncate(fd, GNOMON_PAGE_SIZE) == 0 &&
		       pwrite(fd, &p, sizeof(p), 0) == sizeof(p), "page back");
	tt = tt_now(c);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_SYNCHRONIZED && tt.bound_ns >= 3 * MS,
		    "status %s", gnomon_status__name(tt.status));
	close(fd);
	gnomon_client__close(c);
	remove_files(dir, path);
}

KTAP_TEST(a_replaced_file_is_followed_by_name)
{
	char dir[64], path[96], garbage[GNOMON_PAGE_SIZE];
	struct gnomon_client *c;
	struct gnomon_page p;
	struct gnomon_tt tt;

	KTAP_ASSERT(t, agent_file(dir, sizeof(dir), path, sizeof(path), 2 * MS) == 0, "file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_ASSERT(t, tt_now(c).status == GNOMON_STATUS_SYNCHRONIZED, "before");

	memset(garbage, 0x5a, sizeof(garbage));
	KTAP_ASSERT(t, replace_file(dir, path, garbage, sizeof(garbage)) == 0, "garbage");
	tt = wait_status(c, GNOMON_STATUS_UNSYNCHRONIZED);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED,
		    "garbage in its place: status %s", gnomon_status__name(tt.status));

	written_page(&p, 7 * MS);
	KTAP_ASSERT(t, replace_file(dir, path, &p, sizeof(p)) == 0, "a new page");
	tt = wait_status(c, GNOMON_STATUS_SYNCHRONIZED);
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_SYNCHRONIZED &&
		       tt.bound_ns >= 7 * MS && tt.bound_ns < 8 * MS,
		    "the new page: status %s bound %llu", gnomon_status__name(tt.status),
		    (unsigned long long)tt.bound_ns);
	gnomon_client__close(c);
	remove_files(dir, path);
}

/* Threads share one client while the file is truncated, replaced and
 * rewritten under them: none may crash, and every answer is an interval
 * that holds its realtime. */
static atomic_bool stop_readers;
static atomic_long bad_answers;

static void *reader(void *arg)
{
	struct gnomon_client *c = arg;
	struct gnomon_tt tt;

	while (!atomic_load(&stop_readers)) {
		if (gnomon_client__now(c, &tt) ||
		    tt.earliest_ns > tt.realtime_ns || tt.realtime_ns > tt.latest_ns)
			atomic_fetch_add(&bad_answers, 1);
	}
	return NULL;
}

KTAP_TEST(threads_survive_the_file_changing_under_them)
{
	char dir[64], path[96];
	struct gnomon_client *c;
	struct gnomon_page p;
	pthread_t th[3];
	int fd;

	KTAP_ASSERT(t, agent_file(dir, sizeof(dir), path, sizeof(path), 2 * MS) == 0, "file");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	for (int i = 0; i < 3; i++)
		KTAP_ASSERT(t, pthread_create(&th[i], NULL, reader, c) == 0, "thread");
	for (int round = 0; round < 20; round++) {
		written_page(&p, (__u64)(round + 1) * MS);
		fd = open(path, O_RDWR);
		if (fd >= 0) {
			KTAP_EXPECT(t, ftruncate(fd, 0) == 0, "truncate");
			nap_ms(5);
			KTAP_EXPECT(t, ftruncate(fd, GNOMON_PAGE_SIZE) == 0 &&
				       pwrite(fd, &p, sizeof(p), 0) == sizeof(p), "rewrite");
			close(fd);
		}
		nap_ms(5);
		KTAP_EXPECT(t, replace_file(dir, path, &p, sizeof(p)) == 0, "replace");
		nap_ms(20);
	}
	atomic_store(&stop_readers, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	KTAP_EXPECT(t, atomic_load(&bad_answers) == 0, "%ld bad answers",
		    atomic_load(&bad_answers));
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED).status ==
		       GNOMON_STATUS_SYNCHRONIZED, "synchronized at the end");
	gnomon_client__close(c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/new", dir);
	unlink(path);
	rmdir(dir);
}

/* The pread protocol under a writer that never rests: a copy it calls
 * consistent must keep the writer's invariant error == interval == updates.
 * The writer starts before the reader's first read and goes on until it
 * has written WRITER_MIN_WRITES times and the reader has taken
 * READER_MIN_READS copies, so that many reads overlap writing however the
 * threads are scheduled; WRITER_MAX_S bounds it in time. */
#define WRITER_MIN_WRITES	100000ULL
#define READER_MIN_READS	1000L
#define WRITER_MAX_S		60

static atomic_bool writer_running;
static atomic_long reads_taken;

static void *writer(void *arg)
{
	struct gnomon_page *page = arg;
	struct gnomon_discipline d = { .source = GNOMON_SOURCE_STATIC };
	time_t until = time(NULL) + WRITER_MAX_S;

	atomic_store(&writer_running, true);
	for (__u64 i = 1; ; i++) {
		if (i > WRITER_MIN_WRITES && atomic_load(&reads_taken) >= READER_MIN_READS)
			break;
		if (!(i % 1024)) {
			if (time(NULL) > until)
				break;
			sched_yield();	/* lets valgrind's one-at-a-time reader in */
		}
		d.error_ns = i;
		d.interval_ns = i;
		gnomon_page_discipline(page, &d, i, i);
	}
	atomic_store(&writer_running, false);
	return NULL;
}

KTAP_TEST(copies_read_under_a_busy_writer_are_never_torn)
{
	long reads = 0, consistent = 0, torn = 0, unmarked = 0;
	char dir[64], path[96];
	struct gnomon_agent a = { 0 };
	struct gnomon_page *page, snap;
	pthread_t w;
	int fd;

	KTAP_ASSERT(t, agent_file(dir, sizeof(dir), path, sizeof(path), MS) == 0, "file");
	fd = open(path, O_RDWR);
	KTAP_ASSERT(t, fd >= 0, "open");
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	KTAP_ASSERT(t, page != MAP_FAILED, "map");
	*page = (struct gnomon_page){ 0 };
	gnomon_page_init(page);
	KTAP_ASSERT(t, gnomon_agent__open(&a, path) == 0, "agent reader");
	KTAP_ASSERT(t, pthread_create(&w, NULL, writer, page) == 0, "thread");
	while (!atomic_load(&writer_running))
		sched_yield();
	while (atomic_load(&writer_running)) {
		reads = atomic_fetch_add(&reads_taken, 1) + 1;
		if (!gnomon_agent__snapshot(&a, &snap)) {
			unmarked += !(snap.seq & 1);
			continue;
		}
		consistent++;
		if (snap.updates && (snap.error_ns != snap.interval_ns ||
				     snap.updates != snap.error_ns ||
				     snap.as_of_mono_ns != snap.error_ns))
			torn++;
	}
	pthread_join(w, NULL);
	ktap_diag("%ld reads, %ld consistent, %ld torn", reads, consistent, torn);
	KTAP_EXPECT(t, reads >= READER_MIN_READS, "only %ld reads while writing", reads);
	KTAP_EXPECT(t, torn == 0, "%ld torn copies taken for consistent", torn);
	KTAP_EXPECT(t, unmarked == 0, "%ld unsettled copies with an even seq", unmarked);
	KTAP_EXPECT(t, consistent > 0, "no consistent copy at all");
	gnomon_agent__close(&a);
	munmap(page, GNOMON_PAGE_SIZE);
	remove_files(dir, path);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
