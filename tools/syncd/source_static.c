// SPDX-License-Identifier: GPL-2.0
/*
 * The static source, for tests and demos: every poll reports the error given
 * with --error-ns, measured now.  It makes the bound and the status timeline
 * predictable without any time daemon.
 */
#include <errno.h>
#include <stdlib.h>

#include "syncd.h"

struct syncd_source {
	uint64_t error_ns;
};

static int static_open(struct syncd_source **src, const struct syncd_options *opt)
{
	struct syncd_source *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->error_ns = opt->static_error_ns;
	*src = s;
	return 0;
}

static int static_sample(struct syncd_source *src, struct gnomon_discipline *d)
{
	d->error_ns = src->error_ns;
	d->as_of_ns = syncd_mono_ns();
	d->flags = 0;
	d->source = GNOMON_SOURCE_STATIC;
	return 0;
}

static void static_close(struct syncd_source *src)
{
	free(src);
}

const struct syncd_source_ops syncd_static_source = {
	.name = "static",
	.open = static_open,
	.sample = static_sample,
	.close = static_close,
};
