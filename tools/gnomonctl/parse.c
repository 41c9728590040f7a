// SPDX-License-Identifier: GPL-2.0
/*
 * Argument parsers for gnomonctl.  They accept exactly the documented forms
 * and reject everything else (signs, spaces, overflow, unknown units), so a
 * typo is an error message rather than a surprising clock operation.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "parse.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits from *s while they last; -ERANGE on overflow. */
static int take_digits(const char **s, __u64 *out, unsigned int *count)
{
	__u64 v = 0;
	unsigned int n = 0;

	while (is_digit(**s)) {
		unsigned int d = (unsigned int)(**s - '0');

		if (v > (((__u64)~0ULL) - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		(*s)++;
		n++;
	}
	*out = v;
	*count = n;
	return 0;
}

int parse_u64(const char *s, __u64 *out)
{
	unsigned int n;
	int err = take_digits(&s, out, &n);

	if (err)
		return err;
	return n && !*s ? 0 : -EINVAL;
}

static const struct {
	const char *name;
	__u64 ns;
} units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

int parse_duration(const char *s, __u64 *out_ns)
{
	__u64 whole, frac = 0, scale = 1, unit = 1;
	unsigned int n, fn = 0;
	int err = take_digits(&s, &whole, &n);

	if (err)
		return err;
	if (!n)
		return -EINVAL;
	if (*s == '.') {
		s++;
		err = take_digits(&s, &frac, &fn);
		if (err || !fn || fn > 9)
			return err ? err : -EINVAL;
		while (fn--)
			scale *= 10;
	}
	if (*s) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(s, units[i].name))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		unit = units[i].ns;
	}
	if (whole > ((__u64)~0ULL) / unit)
		return -ERANGE;
	/* frac < scale <= 1e9: both products below fit in 64 bits. */
	frac = frac * (unit / scale) + frac * (unit % scale) / scale;
	if (whole * unit > ((__u64)~0ULL) - frac)
		return -ERANGE;
	*out_ns = whole * unit + frac;
	return 0;
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
