/* SPDX-License-Identifier: GPL-2.0 */
/*
 * klease: gnomon.ko's lease ioctls on /dev/gnomon, the one home of that
 * code for gnomonctl's `lease` commands and for gnomon-fenced.  Leases live
 * only in the kernel module; GNOMON_DEVICE overrides the device's path.
 * Every function returns 0 (or a descriptor) or -errno and prints nothing:
 * the callers word their own messages.
 */
#ifndef GNOMON_KLEASE_H
#define GNOMON_KLEASE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/gnomon.h>

/* The device's path: $GNOMON_DEVICE or /dev/gnomon. */
const char *klease__device(void);
/* Open it read-only, close-on-exec: a descriptor or -errno. */
int klease__open(void);
/* A lease name or holder into a zero-filled field; -ENAMETOOLONG. */
int klease__set_name(char *dst, size_t size, const char *src);
/* ioctl(fd, cmd, arg) as 0 or -errno. */
int klease__ioctl(int fd, unsigned long cmd, void *arg);
/* GNOMON_IOC_LEASE_GET of NAME into INFO. */
int klease__get(int fd, const char *name, struct gnomon_lease_info *info);
/*
 * GRANT, RENEW or RELEASE (CMD) of NAME by HOLDER with TOKEN, ending at
 * END_NS (CLOCK_REALTIME) with MARGIN_NS; RELEASE takes end and margin 0.
 * -ESTALE: the token is below the highest the resource has seen.
 */
int klease__change(int fd, unsigned long cmd, const char *name,
		   const char *holder, uint64_t token, uint64_t end_ns,
		   uint64_t margin_ns);

#endif
