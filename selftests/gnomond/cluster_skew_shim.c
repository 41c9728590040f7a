// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only LD_PRELOAD shim that skews one process's CLOCK_REALTIME.
 *
 * CLOCK_REALTIME is one clock for the whole host, so the clock-fault tests
 * cannot make one cluster member's clock wrong by itself.  Preloaded into a
 * member (gnomond) and into the gnomon-syncd that writes that member's
 * clock page, this shim adds a signed offset to every CLOCK_REALTIME read
 * (clock_gettime, so also what libgnomon reads).  The offset is the int64_t
 * (ns) at the start of the file named by GNOMON_TEST_SKEW_FILE, mapped
 * shared, so a test changes it while the processes run.  Both the member
 * and its agent see the same wrong clock: the page stays self-consistent
 * and the member cannot tell that its clock is off by more than the error
 * the page declares — exactly "skew beyond the declared bound".
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*skew_clock_fn)(clockid_t, struct timespec *);

static skew_clock_fn skew_real;
static volatile const int64_t *skew_offset;

__attribute__((constructor)) static void skew_init(void)
{
	const char *path = getenv("GNOMON_TEST_SKEW_FILE");
	void *p;
	int fd;

	skew_real = (skew_clock_fn)dlsym(RTLD_NEXT, "clock_gettime");
	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	p = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		skew_offset = p;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int64_t ns;
	int ret;

	if (!skew_real)
		return -1;
	ret = skew_real(id, ts);
	if (ret || !skew_offset ||
	    (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return ret;
	ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + *skew_offset;
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}
