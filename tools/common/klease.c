// SPDX-License-Identifier: GPL-2.0
/*
 * klease: gnomon.ko's lease ioctls (see klease.h).  The kernel checks the
 * names, tokens and capability; this only fills the uapi structures, whose
 * reserved bytes must be zero.
 */
#include "klease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *klease__device(void)
{
	const char *path = getenv("GNOMON_DEVICE");

	return path && *path ? path : GNOMON_DEVICE_PATH;
}

int klease__open(void)
{
	int fd = open(klease__device(), O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int klease__set_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memset(dst, 0, size);
	memcpy(dst, src, len);
	return 0;
}

int klease__ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int klease__get(int fd, const char *name, struct gnomon_lease_info *info)
{
	memset(info, 0, sizeof(*info));
	if (klease__set_name(info->name, sizeof(info->name), name))
		return -ENAMETOOLONG;
	return klease__ioctl(fd, GNOMON_IOC_LEASE_GET, info);
}

int klease__change(int fd, unsigned long cmd, const char *name,
		   const char *holder, uint64_t token, uint64_t end_ns,
		   uint64_t margin_ns)
{
	struct gnomon_lease_req req;

	memset(&req, 0, sizeof(req));
	if (klease__set_name(req.name, sizeof(req.name), name) ||
	    klease__set_name(req.holder, sizeof(req.holder), holder))
		return -ENAMETOOLONG;
	req.token = token;
	req.end_ns = end_ns;
	req.margin_ns = margin_ns;
	return klease__ioctl(fd, cmd, &req);
}
