// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace: record Lamport-stamped TCP traffic with the eBPF stamper and
 * rebuild its causal order across hosts.  This file dispatches the
 * subcommands and holds the shared error helpers; each subcommand lives in
 * its own file.
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

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "record", trace_cmd_record },
	{ "merge", trace_cmd_merge },
	{ "status", trace_cmd_status },
	{ "unpin", trace_cmd_unpin },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return trace_usage(stderr, 2);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return trace_usage(stdout, 0);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gnomon-trace: unknown command '%s'\n", argv[1]);
	return trace_usage(stderr, 2);
}
