// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace's error and usage helpers (trace_cli.h), shared by main and
 * every subcommand: they call nothing else of gnomon-trace, so that main
 * calls the subcommands and both call these, and no two files call each
 * other in a loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/gparse.h"
#include "trace_cli.h"

static const char usage_text[] =
	"usage: gnomon-trace record [--cgroup PATH] [-o FILE] [--pin] [--node-id N]\n"
	"                           [--max-jump N] [--duration DUR]\n"
	"       gnomon-trace merge [--format text|chrome|svg] [-o FILE] FILE...\n"
	"       gnomon-trace status\n"
	"       gnomon-trace unpin [--cgroup PATH]\n"
	"See gnomon-trace(1).\n";

int trace_usage(FILE *out, int status)
{
	fputs(usage_text, out);
	return status;
}

int trace_usage_error(const char *what)
{
	fprintf(stderr, "gnomon-trace: %s\n", what);
	return trace_usage(stderr, 2);
}

int trace_error(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("gnomon-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
	return 1;
}

int trace_parse_u64(const char *s, unsigned long long *out)
{
	uint64_t v;
	int err = gparse__u64(s, &v);

	if (err)
		return -EINVAL;
	*out = v;
	return 0;
}
