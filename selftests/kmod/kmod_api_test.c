// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon.ko's interface: the device node, ioctl validation and privilege,
 * the read-only page and its agreement with the ioctl, counters, and unload
 * while the page is mapped.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kmod_util.h"

KTAP_TEST(device_is_readable_by_all)
{
	struct stat st;

	KTAP_ASSERT(t, stat(GNOMON_DEVICE_PATH, &st) == 0, "no %s", GNOMON_DEVICE_PATH);
	KTAP_EXPECT(t, S_ISCHR(st.st_mode), "not a character device");
	KTAP_EXPECT(t, (st.st_mode & 0777) == 0444, "mode %o", st.st_mode & 0777);
}

KTAP_TEST(fresh_module_is_unsynchronized_and_unbounded)
{
	struct gnomon_tt tt;
	int fd;

	KTAP_ASSERT(t, module_reload() == 0, "reload");
	fd = dev_open();
	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_NOW, &tt) == 0, "NOW");
	KTAP_EXPECT(t, tt.status == GNOMON_STATUS_UNSYNCHRONIZED, "status %u", tt.status);
	KTAP_EXPECT(t, tt.bound_ns == GNOMON_BOUND_INFINITE && tt.earliest_ns == 0 &&
		       tt.latest_ns == ~0ULL, "interval must be void");
	close(fd);
}

KTAP_TEST(unknown_ioctls_are_enotty)
{
	char buf[64] = { 0 };
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_EXPECT(t, xioctl(fd, _IOR(GNOMON_IOC_TYPE, 0x1f, struct gnomon_tt), buf) == -ENOTTY, "nr 0x1f");
	KTAP_EXPECT(t, xioctl(fd, _IOR('x', 0x01, struct gnomon_tt), buf) == -ENOTTY, "type x");
	/* The right number with the wrong size is a different command. */
	KTAP_EXPECT(t, xioctl(fd, _IOR(GNOMON_IOC_TYPE, 0x01, __u64), buf) == -ENOTTY, "size");
	close(fd);
}

static int try_discipline(void)
{
	int fd = dev_open();

	if (fd < 0)
		return 10;
	return discipline(fd, MS, SEC, 0) == -EPERM ? 0 : 11;
}

static int try_set_config(void)
{
	struct gnomon_config cfg = { .holdover_ns = SEC };
	int fd = dev_open();

	if (fd < 0)
		return 10;
	return xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg) == -EPERM ? 0 : 11;
}

static int try_read_and_tick(void)
{
	struct gnomon_hlc h;
	struct gnomon_tt tt;
	int fd = dev_open();

	if (fd < 0)
		return 10;
	if (xioctl(fd, GNOMON_IOC_NOW, &tt) || xioctl(fd, GNOMON_IOC_HLC_TICK, &h))
		return 11;
	return 0;
}

KTAP_TEST(state_changes_need_cap_sys_time)
{
	KTAP_EXPECT(t, as_nobody(try_discipline) == 0, "unprivileged discipline must be EPERM");
	KTAP_EXPECT(t, as_nobody(try_set_config) == 0, "unprivileged config must be EPERM");
	KTAP_EXPECT(t, as_nobody(try_read_and_tick) == 0, "reading and ticking are open to all");
}

KTAP_TEST(bad_discipline_and_config_are_einval)
{
	struct gnomon_discipline d = { .error_ns = MS, .interval_ns = SEC };
	struct gnomon_config cfg = { .drift_ppb = GNOMON_MAX_DRIFT_PPB + 1 };
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	d.__pad = 7;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_DISCIPLINE, &d) == -EINVAL, "padding");
	d.__pad = 0;
	d.flags = 0x80;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_DISCIPLINE, &d) == -EINVAL, "flags");
	d.flags = 0;
	d.as_of_ns = now_ns(CLOCK_MONOTONIC) + 10 * SEC;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_DISCIPLINE, &d) == -EINVAL, "future as_of");
	d.as_of_ns = 0;
	d.interval_ns = 0;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_DISCIPLINE, &d) == -EINVAL, "interval 0");
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg) == -EINVAL, "config drift");
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_DISCIPLINE, (void *)8) == -EFAULT, "bad pointer");
	close(fd);
}

/* Set the i-th of flags, __pad, __reserved[0] and __reserved[1]. */
static void poke_reserved(__u32 *flags, __u32 *pad, __u64 *reserved, int i)
{
	switch (i) {
	case 0:
		*flags = 1;
		break;
	case 1:
		*pad = 1;
		break;
	default:
		reserved[i - 2] = 1ULL << 63;
		break;
	}
}

/* Flags, padding and reserved space must be zero, or nothing happens. */
KTAP_TEST(wait_and_config_reserved_must_be_zero)
{
	struct gnomon_config before, after, cfg;
	struct gnomon_wait w;
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_GET_CONFIG, &before) == 0, "get config");
	for (int i = 0; i < 4; i++) {
		/* A kernel that skipped the check would time out, not hang. */
		w = (struct gnomon_wait){ .until_ns = ~0ULL, .timeout_ns = 100 * MS };
		/* A valid change, refused only for the field poked. */
		cfg = (struct gnomon_config){
			.drift_ppb = before.drift_ppb > 1 ? before.drift_ppb - 1 : 2,
		};
		poke_reserved(&w.flags, &w.__pad, w.__reserved, i);
		poke_reserved(&cfg.flags, &cfg.__pad, cfg.__reserved, i);
		KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == -EINVAL,
			    "wait with field %d set", i);
		KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg) == -EINVAL,
			    "set config with field %d set", i);
	}
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_GET_CONFIG, &after) == 0, "get config");
	KTAP_EXPECT(t, after.drift_ppb == before.drift_ppb, "a refused config changed drift");
	w = (struct gnomon_wait){ .until_ns = 1, .timeout_ns = 100 * MS };
	KTAP_EXPECT(t, discipline(fd, MS, SEC, 0) == 0 &&
		       xioctl(fd, GNOMON_IOC_WAIT_UNTIL, &w) == 0, "a zeroed wait works");
	close(fd);
}

KTAP_TEST(get_config_reserved_come_back_zero)
{
	struct gnomon_config cfg;
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	memset(&cfg, 0xa5, sizeof(cfg));
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_GET_CONFIG, &cfg) == 0, "get config");
	KTAP_EXPECT(t, cfg.flags == 0 && cfg.__pad == 0 && cfg.__reserved[0] == 0 &&
		       cfg.__reserved[1] == 0, "flags %#x pad %#x reserved %#llx %#llx",
		    cfg.flags, cfg.__pad, (unsigned long long)cfg.__reserved[0],
		    (unsigned long long)cfg.__reserved[1]);
	KTAP_EXPECT(t, cfg.drift_ppb != 0xa5a5a5a5 && cfg.holdover_ns != 0xa5a5a5a5a5a5a5a5ULL,
		    "the fields themselves were written");
	close(fd);
}

/* The numbers from before the structures grew are unknown commands. */
KTAP_TEST(old_wait_and_config_numbers_are_enotty)
{
	struct gnomon_wait_v0 w = { .until_ns = 1, .timeout_ns = MS };
	struct gnomon_config_v0 cfg = { 0 };
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_EXPECT(t, GNOMON_IOC_WAIT_UNTIL_V0 != GNOMON_IOC_WAIT_UNTIL &&
		       GNOMON_IOC_GET_CONFIG_V0 != GNOMON_IOC_GET_CONFIG &&
		       GNOMON_IOC_SET_CONFIG_V0 != GNOMON_IOC_SET_CONFIG, "numbers differ");
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_WAIT_UNTIL_V0, &w) == -ENOTTY, "old WAIT_UNTIL");
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_GET_CONFIG_V0, &cfg) == -ENOTTY, "old GET_CONFIG");
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG_V0, &cfg) == -ENOTTY, "old SET_CONFIG");
	close(fd);
}

KTAP_TEST(page_cannot_be_made_writable)
{
	int fd = open(GNOMON_DEVICE_PATH, O_RDWR);	/* root may open it rw */
	void *p;

	KTAP_ASSERT(t, fd >= 0, "open rw");
	p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KTAP_EXPECT(t, p == MAP_FAILED && errno == EPERM, "writable shared map: %p", p);
	p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	KTAP_EXPECT(t, p == MAP_FAILED, "writable private map: %p", p);
	p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	KTAP_EXPECT(t, p == MAP_FAILED, "executable map: %p", p);
	p = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_ASSERT(t, p != MAP_FAILED, "read-only map");
	KTAP_EXPECT(t, mprotect(p, GNOMON_PAGE_SIZE, PROT_READ | PROT_WRITE) < 0 &&
		       errno == EACCES, "mprotect(PROT_WRITE) must fail with EACCES");
	KTAP_EXPECT(t, ((struct gnomon_page *)p)->magic == GNOMON_PAGE_MAGIC, "magic");
	KTAP_EXPECT(t, mmap(NULL, 2 * GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED,
		    "two pages");
	KTAP_EXPECT(t, mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, GNOMON_PAGE_SIZE) ==
		       MAP_FAILED, "offset");
	munmap(p, GNOMON_PAGE_SIZE);
	close(fd);
}

KTAP_TEST(page_and_ioctl_agree)
{
	struct gnomon_page snap;
	struct gnomon_tt a, b;
	const struct gnomon_page *page;
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	KTAP_ASSERT(t, discipline(fd, 3 * MS, SEC, 0) == 0, "discipline");
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_ASSERT(t, page != MAP_FAILED, "map");
	gnomon_page_snapshot(page, &snap);
	gnomon_tt_compute(&snap, now_ns(CLOCK_MONOTONIC), now_ns(CLOCK_REALTIME), &a);
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_NOW, &b) == 0, "NOW");
	KTAP_EXPECT(t, a.status == GNOMON_STATUS_SYNCHRONIZED && b.status == a.status,
		    "status page %u ioctl %u", a.status, b.status);
	/* The two reads are microseconds apart: the bound grows by ~ns. */
	KTAP_EXPECT(t, b.bound_ns >= a.bound_ns && b.bound_ns - a.bound_ns < 1000,
		    "bounds page %llu ioctl %llu", (unsigned long long)a.bound_ns,
		    (unsigned long long)b.bound_ns);
	KTAP_EXPECT(t, a.bound_ns >= 3 * MS, "bound below the error");
	KTAP_EXPECT(t, snap.source == GNOMON_SOURCE_STATIC && snap.updates >= 1, "page fields");
	munmap((void *)page, GNOMON_PAGE_SIZE);
	close(fd);
}

KTAP_TEST(counters_count)
{
	long long reads = sysfs_counter("reads"), ticks = sysfs_counter("hlc_ticks");
	struct gnomon_hlc h;
	struct gnomon_tt tt;
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0 && reads >= 0 && ticks >= 0, "sysfs counters");
	for (int i = 0; i < 5; i++) {
		xioctl(fd, GNOMON_IOC_NOW, &tt);
		xioctl(fd, GNOMON_IOC_HLC_TICK, &h);
	}
	KTAP_EXPECT(t, sysfs_counter("reads") == reads + 5, "reads");
	KTAP_EXPECT(t, sysfs_counter("hlc_ticks") == ticks + 5, "ticks");
	close(fd);
}

KTAP_TEST(unload_while_mapped_is_refused_then_clean)
{
	const struct gnomon_page *page;
	char cmd[512];
	int fd = dev_open();

	KTAP_ASSERT(t, fd >= 0, "open");
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_ASSERT(t, page != MAP_FAILED, "map");
	close(fd);	/* the mapping alone must pin the module */
	KTAP_EXPECT(t, system("rmmod gnomon 2>/dev/null") != 0, "rmmod succeeded while mapped");
	KTAP_EXPECT(t, page->magic == GNOMON_PAGE_MAGIC, "page unreadable");
	munmap((void *)page, GNOMON_PAGE_SIZE);
	KTAP_EXPECT(t, system("rmmod gnomon") == 0, "rmmod after unmap");
	KTAP_EXPECT(t, access(GNOMON_DEVICE_PATH, F_OK) != 0, "device still there");
	snprintf(cmd, sizeof(cmd), "insmod '%s'", getenv("GNOMON_VM_MODULE"));
	KTAP_EXPECT(t, system(cmd) == 0, "reload");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
