// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace merge: read the records of several hosts, merge them
 * (trace_merge.c) and render the result (trace_render.c).  A line that is
 * not a valid record line stops the merge with its file and line number.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_cli.h"
#include "trace_merge.h"
#include "trace_render.h"

static int load_file(struct trace_merge *m, const char *path)
{
	FILE *f = fopen(path, "re");
	struct trace_header h;
	struct trace_event e;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int err = 0, kind;

	if (!f)
		return trace_error(-errno, "cannot open %s", path);
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (len == 1 && line[0] == '\n')
			continue;
		kind = trace_line__parse(line, &h, &e);
		if (kind == TRACE_LINE_HEADER)
			err = trace_merge__add_header(m, &h);
		else if (kind == TRACE_LINE_EVENT)
			err = trace_merge__add(m, &e);
		else
			err = -EINVAL;
		if (err) {
			trace_error(err, "%s:%zu: not a gnomon-trace record line", path, lineno);
			break;
		}
	}
	if (!err && ferror(f))
		err = trace_error(-EIO, "cannot read %s", path);
	free(line);
	fclose(f);
	return err ? 1 : 0;
}

static const struct option merge_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int trace_cmd_merge(int argc, char **argv)
{
	int (*render)(const struct trace_merge *, FILE *) = trace_render__text;
	const char *out_path = NULL;
	struct trace_merge m;
	FILE *out = stdout;
	int opt, err = 0, i;

	while ((opt = getopt_long(argc, argv, "f:o:h", merge_opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "text"))
				render = trace_render__text;
			else if (!strcmp(optarg, "chrome") || !strcmp(optarg, "json"))
				render = trace_render__chrome;
			else if (!strcmp(optarg, "svg"))
				render = trace_render__svg;
			else
				return trace_usage_error("--format wants text, chrome or svg");
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			return trace_usage(stdout, 0);
		default:
			return trace_usage(stderr, 2);
		}
	}
	if (optind == argc)
		return trace_usage_error("merge needs at least one record file");
	trace_merge__init(&m);
	for (i = optind; i < argc && !err; i++)
		err = load_file(&m, argv[i]);
	if (!err && (err = trace_merge__run(&m)))
		err = trace_error(err, "merge failed");
	if (!err && out_path && !(out = fopen(out_path, "we")))
		err = trace_error(-errno, "cannot create %s", out_path);
	if (!err) {
		int rc = render(&m, out);

		if (out_path && fclose(out) && !rc)
			rc = -EIO;
		if (rc)
			err = trace_error(rc, "cannot write %s", out_path ? out_path : "output");
	}
	trace_merge__free(&m);
	return err ? 1 : 0;
}
