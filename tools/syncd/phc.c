// SPDX-License-Identifier: GPL-2.0
/*
 * PHC offset (see phc.h).  The narrowest window is the reading least
 * disturbed by interrupts and bus latency; its midpoint estimates the system
 * time of the PHC read and its width is what the error model charges for
 * not knowing where inside the window the read happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/ptp_clock.h>

#include "phc.h"

int phc_offset__pick(const struct phc_sample *samples, unsigned int n,
		     struct phc_offset *out)
{
	bool found = false;

	for (unsigned int i = 0; i < n; i++) {
		const struct phc_sample *s = &samples[i];
		uint64_t window;

		if (s->after_ns < s->before_ns)
			continue;
		window = (uint64_t)(s->after_ns - s->before_ns);
		if (found && window >= out->window_ns)
			continue;
		out->window_ns = window;
		out->phc_ns = s->phc_ns;
		out->offset_ns = s->phc_ns -
				 (s->before_ns + (int64_t)(window / 2));
		found = true;
	}
	return found ? 0 : -EINVAL;
}

int phc__open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int64_t to_ns(const struct ptp_clock_time *t)
{
	return t->sec * 1000000000LL + t->nsec;
}

int phc__read_offset(int fd, unsigned int n, struct phc_offset *out)
{
	struct ptp_sys_offset_extended req;
	struct phc_sample samples[PTP_MAX_SAMPLES];

	if (!n || n > PTP_MAX_SAMPLES)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.n_samples = n;
	if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &req) < 0)
		return -errno;
	for (unsigned int i = 0; i < req.n_samples && i < n; i++) {
		samples[i].before_ns = to_ns(&req.ts[i][0]);
		samples[i].phc_ns = to_ns(&req.ts[i][1]);
		samples[i].after_ns = to_ns(&req.ts[i][2]);
	}
	return phc_offset__pick(samples, req.n_samples < n ? req.n_samples : n,
				out);
}
