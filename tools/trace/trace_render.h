/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output of a merged trace: plain text (the default, parseable by awk),
 * Chrome Trace Event JSON (Perfetto, with flow arrows from each send to its
 * receives) and a self-contained SVG space-time diagram.
 */
#ifndef GNOMON_TRACE_RENDER_H
#define GNOMON_TRACE_RENDER_H

#include <stdio.h>

#include "trace_merge.h"

/* Pairs of concurrent sends listed in the text output at most. */
#define TRACE_MAX_CONCURRENT_SHOWN	1000

int trace_render__text(const struct trace_merge *m, FILE *out);
int trace_render__chrome(const struct trace_merge *m, FILE *out);
int trace_render__svg(const struct trace_merge *m, FILE *out);

#endif /* GNOMON_TRACE_RENDER_H */
