/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command-line side of gnomon-trace: the subcommands and the error and
 * usage helpers they share (errors go to stderr, the exit status is 1 for a
 * failure and 2 for a usage error).
 */
#ifndef GNOMON_TRACE_CLI_H
#define GNOMON_TRACE_CLI_H

#include <stdint.h>
#include <stdio.h>

int trace_cmd_record(int argc, char **argv);
int trace_cmd_merge(int argc, char **argv);
int trace_cmd_status(int argc, char **argv);
int trace_cmd_unpin(int argc, char **argv);

int trace_usage(FILE *out, int status);
int trace_usage_error(const char *what);
__attribute__((format(printf, 2, 3)))
int trace_error(int err, const char *fmt, ...);
/* A decimal unsigned integer, the whole string; -EINVAL otherwise. */
int trace_parse_u64(const char *s, unsigned long long *out);

#endif /* GNOMON_TRACE_CLI_H */
