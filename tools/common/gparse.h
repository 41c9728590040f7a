/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gparse: the one integer-exact parser of numbers and durations that every
 * gnomon tool's flags go through (gnomonctl, gnomond, gnomon-syncd,
 * gnomon-trace).  Not part of libgnomon: tools link tools/common/gparse.c
 * directly, so it never appears in lib/libgnomon.map.
 *
 * The unit rule, the same for every gnomon flag that takes a duration: a
 * duration is decimal digits, an optional fraction of at most 9 digits, and
 * an optional unit ns, us, ms, s, m or h; a bare number is seconds.  Signs,
 * spaces, exponents and overflow are errors.  etcd-compatible flags of
 * gnomond keep etcd's units (they are plain numbers parsed by gparse__u64).
 */
#ifndef GNOMON_GPARSE_H
#define GNOMON_GPARSE_H

#include <stdint.h>

/* Decimal digits only; 0, -EINVAL (empty, sign, space, junk), -ERANGE. */
int gparse__u64(const char *s, uint64_t *out);

/*
 * A decimal "digits[.digits]" with at most @places (<= 9) digits after the
 * point, as an integer in units of 10^-places: "12.5" with 3 places is
 * 12500.  No unit.  0, -EINVAL or -ERANGE.
 */
int gparse__fixed(const char *s, unsigned int places, uint64_t *out);

/* A duration by the unit rule above, in ns; 0, -EINVAL or -ERANGE. */
int gparse__duration(const char *s, uint64_t *out_ns);

/* The unit ("ns" .. "h", or "" for a bare number) that @s ended with. */
const char *gparse__duration_unit(const char *s);

#endif
