// SPDX-License-Identifier: GPL-2.0
/*
 * Garbage in, errors out: 100,000+ random ioctls on /dev/gnomon, as root
 * and as nobody, with random command numbers, random argument bytes and bad
 * pointers, the lease ioctls among them.  The VM harness fails the run if the kernel log shows any
 * warning; here we check that the device still works afterwards, that
 * no call returned anything but 0 or a plain errno, and that the numbers
 * of the wait and config ioctls from before their structures grew are
 * always -ENOTTY.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kmod_util.h"

#define CALLS	60000

static const unsigned long known[] = {
	GNOMON_IOC_NOW, GNOMON_IOC_HLC_TICK, GNOMON_IOC_HLC_UPDATE,
	GNOMON_IOC_WAIT_UNTIL, GNOMON_IOC_DISCIPLINE, GNOMON_IOC_GET_CONFIG,
	GNOMON_IOC_SET_CONFIG, GNOMON_IOC_LEASE_GRANT, GNOMON_IOC_LEASE_RENEW,
	GNOMON_IOC_LEASE_RELEASE, GNOMON_IOC_LEASE_GET, GNOMON_IOC_LEASE_NEXT,
	GNOMON_IOC_WAIT_UNTIL_V0, GNOMON_IOC_GET_CONFIG_V0, GNOMON_IOC_SET_CONFIG_V0,
};

static bool old_number(unsigned long cmd)
{
	return cmd == GNOMON_IOC_WAIT_UNTIL_V0 || cmd == GNOMON_IOC_GET_CONFIG_V0 ||
	       cmd == GNOMON_IOC_SET_CONFIG_V0;
}

/* Half of the wait and config calls get their reserved fields zeroed, so
 * that random values reach the checks behind them. */
static void plausible_reserved(unsigned char *buf, unsigned long cmd, __u64 r)
{
	struct gnomon_config *cfg = (void *)buf;
	struct gnomon_wait *w = (void *)buf;

	if (r % 2)
		return;
	if (cmd == GNOMON_IOC_WAIT_UNTIL) {
		w->flags = 0;
		w->__pad = 0;
		memset(w->__reserved, 0, sizeof(w->__reserved));
	} else if (cmd == GNOMON_IOC_SET_CONFIG) {
		cfg->flags = 0;
		cfg->__pad = 0;
		memset(cfg->__reserved, 0, sizeof(cfg->__reserved));
	}
}

/*
 * Half of the lease calls get a valid name (one of 300, more than a module
 * keeps) and holder, so that random tokens, ends and margins reach the
 * lease logic instead of stopping at the name check.
 */
static void plausible_lease(unsigned char *buf, __u64 r)
{
	struct gnomon_lease_req *req = (void *)buf;

	if (r % 2)
		return;
	memset(req->name, 0, sizeof(req->name) + sizeof(req->holder));
	snprintf(req->name, sizeof(req->name), "g%u", (unsigned int)(r >> 8) % 300);
	snprintf(req->holder, sizeof(req->holder), "h%u", (unsigned int)(r >> 20) % 4);
	if (r & 4) {
		req->flags = 0;
		req->__pad = 0;
		memset(req->__reserved, 0, sizeof(req->__reserved));
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	return ktap_rng(&rng_state);
}

static int hammer(void)
{
	static const uintptr_t bad_ptrs[] = { 0, 8, 0xffff888000000000ULL, ~(uintptr_t)0 - 64 };
	unsigned char buf[256];
	int fd = dev_open(), odd = 0;

	if (fd < 0)
		return 10;
	for (int i = 0; i < CALLS; i++) {
		unsigned long cmd;
		void *arg = buf;
		int r;

		for (size_t j = 0; j < sizeof(buf); j += 8) {
			__u64 v = rng();

			memcpy(buf + j, &v, 8);
		}
		switch (rng() % 4) {
		case 0:
			cmd = (unsigned long)rng() & 0xffffffffUL;
			break;
		case 1:
			cmd = _IOC(rng() % 4, GNOMON_IOC_TYPE, rng() % 0x20, rng() % 256);
			break;
		default:
			cmd = known[rng() % (sizeof(known) / sizeof(known[0]))];
			break;
		}
		if (cmd == GNOMON_IOC_WAIT_UNTIL) {
			/* A random wait could last for ages: cap it at 1 ms. */
			struct gnomon_wait *w = (void *)buf;

			w->timeout_ns = 1 + w->timeout_ns % MS;
		}
		plausible_reserved(buf, cmd, rng());
		if (_IOC_TYPE(cmd) == GNOMON_IOC_TYPE && _IOC_NR(cmd) >= 0x08 &&
		    _IOC_NR(cmd) <= 0x0c)
			plausible_lease(buf, rng());
		if (rng() % 8 == 0)
			arg = (void *)bad_ptrs[rng() % 4];
		r = ioctl(fd, cmd, arg);
		if (r < 0 && (errno <= 0 || errno > 200))
			odd++;
		if (old_number(cmd) && !(r < 0 && errno == ENOTTY))
			odd++;
		/* Only CAP_SYS_ADMIN changes a lease. */
		if (r == 0 && getuid() != 0 && (cmd == GNOMON_IOC_LEASE_GRANT ||
		    cmd == GNOMON_IOC_LEASE_RENEW || cmd == GNOMON_IOC_LEASE_RELEASE))
			odd++;
	}
	close(fd);
	return odd ? 11 : 0;
}

static int sanity(void)
{
	struct gnomon_lease_info info;
	struct gnomon_hlc a, b;
	struct gnomon_tt tt;
	int fd = dev_open(), n = 0;

	if (fd < 0)
		return 10;
	if (xioctl(fd, GNOMON_IOC_NOW, &tt) || xioctl(fd, GNOMON_IOC_HLC_TICK, &a) ||
	    xioctl(fd, GNOMON_IOC_HLC_TICK, &b) || gnomon_hlc_compare(&a, &b) >= 0)
		return 12;
	/* The lease list still walks to its end, within the limit. */
	memset(&info, 0, sizeof(info));
	while (!xioctl(fd, GNOMON_IOC_LEASE_NEXT, &info)) {
		if (++n > GNOMON_LEASE_MAX_RESOURCES)
			return 13;
		memset(info.holder, 0, sizeof(info) - sizeof(info.name));
	}
	close(fd);
	return 0;
}

KTAP_TEST(random_ioctls_as_nobody)
{
	rng_state ^= (__u64)getpid();
	KTAP_EXPECT(t, as_nobody(hammer) == 0, "odd return values");
	KTAP_EXPECT(t, sanity() == 0, "device broken afterwards");
}

KTAP_TEST(random_ioctls_as_root)
{
	struct gnomon_config cfg;
	int fd;

	rng_state ^= (__u64)getpid() << 17;
	KTAP_EXPECT(t, hammer() == 0, "odd return values");
	KTAP_EXPECT(t, sanity() == 0, "device broken afterwards");
	/* Root may have set any valid configuration: the module must still
	 * hold it within its limits, and hand back zero reserved fields. */
	fd = dev_open();
	memset(&cfg, 0xff, sizeof(cfg));
	KTAP_ASSERT(t, fd >= 0 && xioctl(fd, GNOMON_IOC_GET_CONFIG, &cfg) == 0, "config");
	KTAP_EXPECT(t, gnomon_config_check(&cfg) == 0,
		    "configuration out of limits or reserved fields set");
	close(fd);
	KTAP_EXPECT(t, module_reload() == 0, "unload and reload after the storm");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
