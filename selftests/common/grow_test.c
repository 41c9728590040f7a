// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tools/common/grow.h, the one grow-array rule: growth by
 * doubling from the first size, contents kept across moves, no change when
 * there is room, and a NULL (array and capacity untouched) when the size
 * would overflow.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../ktap.h"
#include "../../tools/common/grow.h"

KTAP_TEST(doubles_from_first)
{
	uint32_t *v = NULL, *n;
	size_t cap = 0;

	for (size_t i = 0; i < 1000; i++) {
		if (i == cap) {
			n = grow__array(v, &cap, i + 1, sizeof(*v), 16);
			KTAP_ASSERT(t, n, "grow to %zu", i + 1);
			v = n;
		}
		v[i] = (uint32_t)i * 7;
	}
	KTAP_EXPECT(t, cap == 1024, "cap %zu, want 16 doubled to 1024", cap);
	for (size_t i = 0; i < 1000; i++)
		KTAP_EXPECT(t, v[i] == (uint32_t)i * 7, "v[%zu] = %u", i, v[i]);
	free(v);
}

KTAP_TEST(room_left_alone)
{
	size_t cap = 0;
	char *v = grow__array(NULL, &cap, 100, 1, 4096);

	KTAP_ASSERT(t, v && cap == 4096, "first %zu", cap);
	KTAP_EXPECT(t, grow__array(v, &cap, 4096, 1, 4096) == v && cap == 4096,
		    "full array without need moved or grew: %zu", cap);
	v = grow__array(v, &cap, 3 * 4096 + 1, 1, 4096);
	KTAP_ASSERT(t, v, "jump");
	KTAP_EXPECT(t, cap == 4 * 4096, "jump to %zu, want 16384", cap);
	free(v);
}

KTAP_TEST(overflow_refused)
{
	size_t cap = 8;
	uint64_t *v = malloc(cap * sizeof(*v));

	KTAP_ASSERT(t, v, "malloc");
	v[7] = 77;
	KTAP_EXPECT(t, !grow__array(v, &cap, SIZE_MAX / 4, sizeof(*v), 8),
		    "SIZE_MAX / 4 items of 8 bytes accepted");
	KTAP_EXPECT(t, !grow__array(v, &cap, SIZE_MAX, 1, 8),
		    "SIZE_MAX bytes accepted");
	KTAP_EXPECT(t, cap == 8 && v[7] == 77, "array changed: cap %zu", cap);
	free(v);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
