// SPDX-License-Identifier: GPL-2.0
/*
 * gparse: strict, integer-exact parsing of flag values (see gparse.h for
 * the unit rule).  No doubles: a fraction is kept as digits and scaled with
 * 64-bit arithmetic that is checked for overflow at every step, so
 * "0.000000001s" is exactly 1 ns and "18446744073.709551616s" is -ERANGE.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "gparse.h"

#define GPARSE_FRAC_MAX 9

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
	{ "", 1000000000ULL },	/* a bare number is seconds */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits from *s while they last; -ERANGE on overflow. */
static int take_digits(const char **s, uint64_t *out, unsigned int *count)
{
	uint64_t v = 0;
	unsigned int n = 0;

	while (is_digit(**s)) {
		unsigned int d = (unsigned int)(**s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		(*s)++;
		n++;
	}
	*out = v;
	*count = n;
	return 0;
}

/*
 * "digits[.digits]" from *s, with 1 to @max_frac digits after a point:
 * the number is whole + frac / scale (scale 1 without a point, else 10 to
 * the number of decimals).  0, -EINVAL or -ERANGE.
 */
static int take_decimal(const char **s, unsigned int max_frac,
			uint64_t *whole, uint64_t *frac, uint64_t *scale)
{
	unsigned int n, fn = 0;
	int err = take_digits(s, whole, &n);

	if (err)
		return err;
	if (!n)
		return -EINVAL;
	*frac = 0;
	*scale = 1;
	if (**s != '.')
		return 0;
	(*s)++;
	err = take_digits(s, frac, &fn);
	if (err || !fn || fn > max_frac)
		return -EINVAL;
	while (fn--)
		*scale *= 10;
	assert(*frac < *scale);
	return 0;
}

int gparse__u64(const char *s, uint64_t *out)
{
	uint64_t v;
	unsigned int n;
	int err = take_digits(&s, &v, &n);

	if (err)
		return err;
	if (!n || *s)
		return -EINVAL;
	*out = v;
	return 0;
}

int gparse__fixed(const char *s, unsigned int places, uint64_t *out)
{
	uint64_t whole, frac, scale, one = 1;
	unsigned int i;
	int err;

	if (places > GPARSE_FRAC_MAX)
		return -EINVAL;
	err = take_decimal(&s, places, &whole, &frac, &scale);
	if (err)
		return err;
	if (*s)
		return -EINVAL;
	for (i = 0; i < places; i++)
		one *= 10;
	/* scale divides one (both powers of ten, scale <= one). */
	frac *= one / scale;
	if (whole > (UINT64_MAX - frac) / one)
		return -ERANGE;
	*out = whole * one + frac;
	return 0;
}

/* Skip "digits[.digits]"; the rest of @s is its unit. */
static const char *unit_of(const char *s)
{
	while (is_digit(*s))
		s++;
	if (*s == '.')
		s++;
	while (is_digit(*s))
		s++;
	return s;
}

const char *gparse__duration_unit(const char *s)
{
	return unit_of(s);
}

int gparse__duration(const char *s, uint64_t *out_ns)
{
	uint64_t whole, frac, scale, unit = 0, ns;
	size_t i;
	int err = take_decimal(&s, GPARSE_FRAC_MAX, &whole, &frac, &scale);

	if (err)
		return err;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(s, units[i].name))
			unit = units[i].ns;
	if (!unit)
		return -EINVAL;
	if (whole > UINT64_MAX / unit)
		return -ERANGE;
	/* frac < scale <= 1e9, so frac * (unit / scale) < unit <= 3.6e12
	 * and frac * (unit % scale) < scale * scale <= 1e18: no overflow.
	 */
	assert(frac < scale);
	frac = frac * (unit / scale) + frac * (unit % scale) / scale;
	ns = whole * unit;
	if (ns > UINT64_MAX - frac)
		return -ERANGE;
	*out_ns = ns + frac;
	return 0;
}
