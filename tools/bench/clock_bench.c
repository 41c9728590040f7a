// SPDX-License-Identifier: GPL-2.0
/*
 * clock_bench: the cost of TT.now() and of HLC ticks, as ratios against
 * clock_gettime(CLOCK_REALTIME) measured in the same run.
 *
 * Methods are measured in interleaved rounds (A B C A B C ...) and each
 * reports its median round, so a noisy neighbour hurts all of them alike.
 * TT.now() is timed through libgnomon from whatever source it finds: with
 * the module loaded that is the mapped page (one clock read, see
 * Documentation/design.rst); on a host without it, the agent's file, which
 * this program writes itself (two clock reads).  With --kernel-page it
 * writes the file as the kernel writes its page (GNOMON_PAGE_STEP_WATCH)
 * and points GNOMON_DEVICE at it, which times the kernel's read path on a
 * host that cannot load the module (the VM's TCG clock reads are system
 * calls, which would drown the figure); HLC figures are then left out.
 * The ioctl and the host-wide HLC need the module.
 *
 * Output: one line per figure, "name value unit [ratio]", for
 * Documentation/performance.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gnomon.h"
#include "gnomon_core.h"

#define ROUNDS		15
#define ITERS		200000
#define HLC_TICKS	200000

static struct gnomon_client *client;
static int dev_fd = -1;

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_clock_gettime(void)
{
	struct timespec ts;

	return clock_gettime(CLOCK_REALTIME, &ts);
}

static int bench_tt_library(void)
{
	struct gnomon_tt tt;

	return gnomon_client__now(client, &tt);
}

static int bench_tt_ioctl(void)
{
	struct gnomon_tt tt;

	return ioctl(dev_fd, GNOMON_IOC_NOW, &tt);
}

struct method {
	const char *name;
	int (*fn)(void);
	double rounds[ROUNDS];
};

static double time_round(int (*fn)(void))
{
	double t0 = now_sec();

	for (int i = 0; i < ITERS; i++)
		if (fn()) {
			perror("clock_bench");
			exit(1);
		}
	return (now_sec() - t0) * 1e9 / ITERS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void *hlc_ticker(void *arg)
{
	struct gnomon_hlc ts;

	for (int i = 0; i < HLC_TICKS; i++)
		if (gnomon_client__hlc_tick(client, &ts))
			return arg;
	return NULL;
}

/* Ticks per second with n threads sharing the clock. */
static double hlc_rate(int n)
{
	pthread_t th[2];
	double t0 = now_sec();

	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, hlc_ticker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return (double)n * HLC_TICKS / (now_sec() - t0);
}

/* Without the module, serve TT.now() from a page file written here. */
static int make_page_file(char *path, size_t len, bool kernel_page)
{
	struct gnomon_discipline d = { .error_ns = 1000000, .interval_ns = 10000000000ULL,
				       .source = GNOMON_SOURCE_STATIC };
	struct timespec mono, real;
	struct gnomon_page *page;
	int fd;

	snprintf(path, len, "/tmp/gnomon-bench-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, GNOMON_PAGE_SIZE) < 0)
		return -errno;
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (page == MAP_FAILED)
		return -errno;
	gnomon_page_init(page);
	if (kernel_page)
		page->flags = GNOMON_PAGE_STEP_WATCH;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	gnomon_page_discipline(page,  &d,
			       (__u64)mono.tv_sec * 1000000000ULL + (__u64)mono.tv_nsec,
			       (__u64)real.tv_sec * 1000000000ULL + (__u64)real.tv_nsec);
	munmap(page, GNOMON_PAGE_SIZE);
	setenv(kernel_page ? "GNOMON_DEVICE" : "GNOMON_SHM", path, 1);
	return 0;
}

int main(int argc, char **argv)
{
	bool kernel_page = argc > 1 && !strcmp(argv[1], "--kernel-page");
	struct method methods[3] = {
		{ "clock_gettime_realtime", bench_clock_gettime, { 0 } },
		{ "tt_now_library", bench_tt_library, { 0 } },
		{ "tt_now_ioctl", bench_tt_ioctl, { 0 } },
	};
	int nmethods = 2, err;
	char path[64] = "";
	double base;

	if ((kernel_page || access(GNOMON_DEVICE_PATH, R_OK) != 0) &&
	    make_page_file(path, sizeof(path), kernel_page)) {
		fprintf(stderr, "clock_bench: cannot write a page file\n");
		return 1;
	}
	err = gnomon_client__open(&client, 0);
	if (err) {
		fprintf(stderr, "clock_bench: %s\n", strerror(-err));
		return 1;
	}
	if (gnomon_client__source(client) == GNOMON_FROM_KERNEL && !kernel_page) {
		dev_fd = open(GNOMON_DEVICE_PATH, O_RDONLY);
		if (dev_fd >= 0)
			nmethods = 3;
	}
	printf("source %s%s\n", gnomon_time_source__name(gnomon_client__source(client)),
	       kernel_page ? " (page file written as the kernel writes it)" : "");
	for (int r = 0; r < ROUNDS; r++)
		for (int m = 0; m < nmethods; m++)
			methods[m].rounds[r] = time_round(methods[m].fn);
	base = median(methods[0].rounds, ROUNDS);
	for (int m = 0; m < nmethods; m++) {
		double v = median(methods[m].rounds, ROUNDS);

		printf("%s %.1f ns ratio %.2f\n", methods[m].name, v, v / base);
	}
	if (kernel_page)
		goto out;
	printf("hlc_ticks_1_thread %.0f per_s scope %s\n", hlc_rate(1),
	       gnomon_hlc_scope__name(gnomon_client__hlc_scope(client)));
	printf("hlc_ticks_2_threads %.0f per_s scope %s\n", hlc_rate(2),
	       gnomon_hlc_scope__name(gnomon_client__hlc_scope(client)));
out:
	gnomon_client__close(client);
	if (dev_fd >= 0)
		close(dev_fd);
	if (*path)
		unlink(path);
	return 0;
}
