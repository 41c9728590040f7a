// SPDX-License-Identifier: GPL-2.0
/* Levelled logging to stderr for gnomon-syncd. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum syncd_log_level max_level = SYNCD_LOG_WARN;

void syncd_log_set_level(enum syncd_log_level level)
{
	max_level = level;
}

void syncd_log(enum syncd_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {
		[SYNCD_LOG_ERR] = "error",
		[SYNCD_LOG_WARN] = "warning",
		[SYNCD_LOG_INFO] = "info",
		[SYNCD_LOG_DEBUG] = "debug",
	};
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "gnomon-syncd: %s: ", names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
