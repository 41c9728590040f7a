// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace: record Lamport-stamped TCP traffic with the eBPF stamper and
 * rebuild its causal order across hosts.  This file dispatches the
 * subcommands; each lives in its own file, and the error and usage helpers
 * they share are in trace_cli.c.
 */
#include <stdio.h>
#include <string.h>

#include "trace_cli.h"

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
