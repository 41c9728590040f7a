// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tools/common/gparse.c, the one parser of numbers and
 * durations behind every gnomon flag: exact values at the edges of u64,
 * every unit, fractions to the nanosecond, and rejection of signs, spaces,
 * exponents, unknown units and overflow.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../ktap.h"
#include "../../tools/common/gparse.h"

KTAP_TEST(u64_exact)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "7", 7 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551614", UINT64_MAX - 1 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		KTAP_EXPECT(t, gparse__u64(good[i].s, &v) == 0 && v == good[i].v,
			    "'%s' -> %llu", good[i].s, (unsigned long long)v);
	}
}

KTAP_TEST(u64_rejects)
{
	static const struct { const char *s; int err; } bad[] = {
		{ "", -EINVAL }, { "-1", -EINVAL }, { "+1", -EINVAL },
		{ " 1", -EINVAL }, { "1 ", -EINVAL }, { "1\n", -EINVAL },
		{ "0x10", -EINVAL }, { "1e3", -EINVAL }, { "1.0", -EINVAL },
		{ "1s", -EINVAL }, { "18446744073709551616", -ERANGE },
		{ "99999999999999999999999", -ERANGE },
	};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, gparse__u64(bad[i].s, &v) == bad[i].err,
			    "'%s' gave %d", bad[i].s, gparse__u64(bad[i].s, &v));
	KTAP_EXPECT(t, v == 42, "output written on failure: %llu",
		    (unsigned long long)v);
}

KTAP_TEST(fixed_exact)
{
	static const struct { const char *s; unsigned int places; uint64_t v; } good[] = {
		{ "50", 3, 50000 }, { "0.001", 3, 1 }, { "12.5", 3, 12500 },
		{ "12.50", 3, 12500 }, { "7", 0, 7 }, { "1.000000001", 9, 1000000001 },
		{ "18446744073709551.615", 3, UINT64_MAX },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		KTAP_EXPECT(t, gparse__fixed(good[i].s, good[i].places, &v) == 0 &&
			    v == good[i].v, "'%s' (%u places) -> %llu", good[i].s,
			    good[i].places, (unsigned long long)v);
	}
}

KTAP_TEST(fixed_rejects)
{
	static const struct { const char *s; unsigned int places; int err; } bad[] = {
		{ "", 3, -EINVAL }, { "-3", 3, -EINVAL }, { "+3", 3, -EINVAL },
		{ " 3", 3, -EINVAL }, { "3.", 3, -EINVAL }, { ".5", 3, -EINVAL },
		{ "0.0005", 3, -EINVAL }, { "1e2", 3, -EINVAL }, { "5ppm", 3, -EINVAL },
		{ "1.5", 0, -EINVAL }, { "1", 10, -EINVAL },
		{ "18446744073709551.616", 3, -ERANGE },
		{ "18446744073709552", 3, -ERANGE },
	};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, gparse__fixed(bad[i].s, bad[i].places, &v) == bad[i].err,
			    "'%s' (%u places) gave %d", bad[i].s, bad[i].places,
			    gparse__fixed(bad[i].s, bad[i].places, &v));
	KTAP_EXPECT(t, v == 42, "output written on failure: %llu",
		    (unsigned long long)v);
}

KTAP_TEST(duration_units)
{
	static const struct { const char *s; uint64_t ns; } good[] = {
		{ "1", 1000000000 }, { "0", 0 }, { "0.2", 200000000 },
		{ "10ns", 10 }, { "100us", 100000 }, { "250ms", 250000000 },
		{ "1.5s", 1500000000 }, { "2m", 120000000000ULL },
		{ "1h", 3600000000000ULL }, { "0.000000001s", 1 },
		{ "0.000000001", 1 }, { "1.5ns", 1 }, { "0.5us", 500 },
		{ "1.000000001h", 3600000003600ULL }, { "0.123456789m", 7407407340ULL },
		{ "18446744073709551615ns", UINT64_MAX },
		{ "18446744073.709551615s", UINT64_MAX },
		{ "18446744073.709551615", UINT64_MAX },
		{ "307445734m", 18446744040000000000ULL },
	};
	uint64_t ns;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ns = 1;
		KTAP_EXPECT(t, gparse__duration(good[i].s, &ns) == 0 &&
			    ns == good[i].ns, "'%s' -> %llu", good[i].s,
			    (unsigned long long)ns);
	}
}

KTAP_TEST(duration_rejects)
{
	static const struct { const char *s; int err; } bad[] = {
		{ "", -EINVAL }, { "x", -EINVAL }, { "-1", -EINVAL },
		{ "+1s", -EINVAL }, { " 1s", -EINVAL }, { "1s ", -EINVAL },
		{ "1 s", -EINVAL }, { "nan", -EINVAL }, { "inf", -EINVAL },
		{ "1e30", -EINVAL }, { "1e3s", -EINVAL }, { ".5s", -EINVAL },
		{ "1.s", -EINVAL }, { "1.", -EINVAL }, { "1..5s", -EINVAL },
		{ "1.0000000001s", -EINVAL }, { "1d", -EINVAL }, { "1S", -EINVAL },
		{ "1sec", -EINVAL }, { "1mss", -EINVAL },
		{ "18446744073709551616ns", -ERANGE },
		{ "18446744073.709551616s", -ERANGE },
		{ "18446744074s", -ERANGE }, { "5124096h", -ERANGE },
		{ "307445735m", -ERANGE },
	};
	uint64_t ns = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, gparse__duration(bad[i].s, &ns) == bad[i].err,
			    "'%s' gave %d", bad[i].s,
			    gparse__duration(bad[i].s, &ns));
	KTAP_EXPECT(t, ns == 42, "output written on failure: %llu",
		    (unsigned long long)ns);
}

KTAP_TEST(duration_unit_named)
{
	KTAP_EXPECT(t, !strcmp(gparse__duration_unit("5m"), "m"), "5m");
	KTAP_EXPECT(t, !strcmp(gparse__duration_unit("1.5ms"), "ms"), "1.5ms");
	KTAP_EXPECT(t, !strcmp(gparse__duration_unit("3"), ""), "bare");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
