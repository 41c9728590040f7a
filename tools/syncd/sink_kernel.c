// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel sink: GNOMON_IOC_SET_CONFIG and GNOMON_IOC_DISCIPLINE on
 * /dev/gnomon (both need CAP_SYS_TIME).  The module checks every update with
 * gnomon_discipline_check(), the same code the shm sink runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "syncd.h"

struct syncd_sink {
	int fd;
	const char *path;
};

static int kernel_open(struct syncd_sink **sink, const struct syncd_options *opt)
{
	struct syncd_sink *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->path = opt->device;
	k->fd = open(k->path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0 && (errno == EACCES || errno == EPERM))
		k->fd = open(k->path, O_RDONLY | O_CLOEXEC);
	if (k->fd < 0) {
		ret = -errno;
		free(k);
		return ret;
	}
	*sink = k;
	return 0;
}

static int kernel_ioctl(struct syncd_sink *k, unsigned long cmd, const void *arg,
			const char *what)
{
	int err;

	if (ioctl(k->fd, cmd, arg) == 0)
		return 0;
	err = errno;
	syncd_err("%s %s: %s%s", k->path, what, strerror(err),
		  err == EPERM ? " (needs CAP_SYS_TIME)" : "");
	return -err;
}

static int kernel_configure(struct syncd_sink *k, const struct gnomon_config *cfg)
{
	return kernel_ioctl(k, GNOMON_IOC_SET_CONFIG, cfg, "set config");
}

static int kernel_discipline(struct syncd_sink *k,
			     const struct gnomon_discipline *d)
{
	return kernel_ioctl(k, GNOMON_IOC_DISCIPLINE, d, "discipline");
}

static void kernel_close(struct syncd_sink *k)
{
	close(k->fd);
	free(k);
}

const struct syncd_sink_ops syncd_kernel_sink = {
	.name = "kernel",
	.open = kernel_open,
	.configure = kernel_configure,
	.discipline = kernel_discipline,
	.close = kernel_close,
};
