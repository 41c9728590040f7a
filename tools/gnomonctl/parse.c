// SPDX-License-Identifier: GPL-2.0
/*
 * Argument parsers for gnomonctl.  They accept exactly the documented forms
 * and reject everything else (signs, spaces, overflow, unknown units), so a
 * typo is an error message rather than a surprising clock operation.
 * Numbers and durations are tools/common/gparse's; the HLC form is ours.
 */
#include <errno.h>
#include <string.h>

#include "../common/gparse.h"
#include "parse.h"

int parse_u64(const char *s, __u64 *out)
{
	uint64_t v;
	int err = gparse__u64(s, &v);

	if (!err)
		*out = v;
	return err;
}

int parse_duration(const char *s, __u64 *out_ns)
{
	uint64_t v;
	int err = gparse__duration(s, &v);

	if (!err)
		*out_ns = v;
	return err;
}

int parse_hlc(const char *s, struct gnomon_hlc *out)
{
	const char *dot = strchr(s, '.');
	__u64 wall, logical = 0;
	char buf[32];
	int err;

	memset(out, 0, sizeof(*out));
	if (!dot)
		return parse_u64(s, &out->wall_ns);
	if ((size_t)(dot - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(dot - s));
	buf[dot - s] = '\0';
	err = parse_u64(buf, &wall);
	if (!err)
		err = parse_u64(dot + 1, &logical);
	if (err)
		return err;
	if (logical > UINT32_MAX)
		return -ERANGE;
	out->wall_ns = wall;
	out->logical = (uint32_t)logical;
	return 0;
}
