/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for gnomonctl's arguments: 0 or -errno, never a guess.
 * Numbers and durations go through tools/common/gparse (one unit rule for
 * every gnomon tool); these adapt them to the uapi's __u64.
 */
#ifndef GNOMONCTL_PARSE_H
#define GNOMONCTL_PARSE_H

#include <stdint.h>
#include <linux/gnomon.h>

/* An unsigned decimal integer, all of the string. */
int parse_u64(const char *s, __u64 *out);
/* A duration by gparse's rule: ns, us, ms, s, m or h; a bare number is
 * seconds.  "1.5s" is allowed. */
int parse_duration(const char *s, __u64 *out_ns);
/* An HLC timestamp "WALL_NS.LOGICAL" or "WALL_NS" (logical 0). */
int parse_hlc(const char *s, struct gnomon_hlc *out);

#endif /* GNOMONCTL_PARSE_H */
