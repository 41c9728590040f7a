/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the tests of gnomon.ko, which run as root inside the test VM
 * with the module loaded (tools/vm/run; GNOMON_VM_MODULE names the .ko).
 */
#ifndef GNOMON_KMOD_UTIL_H
#define GNOMON_KMOD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "../ktap.h"
#include "gnomon_core.h"

/*
 * The layouts of struct gnomon_wait and struct gnomon_config before they
 * grew flags and reserved space.  The size is part of an ioctl number, so
 * their numbers are other commands now, which the module does not know.
 */
struct gnomon_wait_v0 {
	__u64 until_ns;
	__u64 timeout_ns;
};

struct gnomon_config_v0 {
	__u64 max_offset_ns;
	__u64 holdover_ns;
	__u32 drift_ppb;
	__u32 freerun_intervals;
};

#define GNOMON_IOC_WAIT_UNTIL_V0 _IOW(GNOMON_IOC_TYPE, 0x04, struct gnomon_wait_v0)
#define GNOMON_IOC_GET_CONFIG_V0 _IOR(GNOMON_IOC_TYPE, 0x06, struct gnomon_config_v0)
#define GNOMON_IOC_SET_CONFIG_V0 _IOW(GNOMON_IOC_TYPE, 0x07, struct gnomon_config_v0)

#define MS	1000000ULL
#define SEC	1000000000ULL
#define SYSFS	"/sys/class/misc/gnomon/"

static inline __u64 now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * SEC + (__u64)ts.tv_nsec;
}

static inline int dev_open(void)
{
	return open(GNOMON_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
}

/* ioctl returning 0 or -errno. */
static inline int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline void sleep_ns(__u64 ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / SEC), .tv_nsec = (long)(ns % SEC) };

	nanosleep(&ts, NULL);
}

/* TT.now() from the device; status 0xff if the call failed. */
static inline struct gnomon_tt read_tt(int fd)
{
	struct gnomon_tt tt = { 0 };

	if (xioctl(fd, GNOMON_IOC_NOW, &tt))
		tt.status = 0xff;
	return tt;
}

static inline long long sysfs_counter(const char *name)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Reload gnomon.ko for a test that needs fresh state; 0 or -1. */
static inline int module_reload(void)
{
	const char *ko = getenv("GNOMON_VM_MODULE");
	char cmd[512];

	if (!ko || !*ko)
		return -1;
	if (system("rmmod gnomon") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	return system(cmd) == 0 ? 0 : -1;
}

/* Discipline with error_ns, interval_ns now; 0 or -errno. */
static inline int discipline(int fd, __u64 error_ns, __u64 interval_ns,
			     __u32 flags)
{
	struct gnomon_discipline d = { .error_ns = error_ns,
				       .interval_ns = interval_ns,
				       .flags = flags,
				       .source = GNOMON_SOURCE_STATIC };

	return xioctl(fd, GNOMON_IOC_DISCIPLINE, &d);
}

/* Run fn in a child as user nobody; its exit status, or -1. */
static inline int as_nobody(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(120);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif /* GNOMON_KMOD_UTIL_H */
