// SPDX-License-Identifier: GPL-2.0
/*
 * Levelled log lines on stderr (log.h).  Each line is formatted into one
 * buffer and written with a single write(), so lines of concurrent members
 * sharing a terminal do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[] = {
	[GD_LOG_ERROR] = "error",
	[GD_LOG_WARN] = "warn",
	[GD_LOG_INFO] = "info",
	[GD_LOG_DEBUG] = "debug",
};

static char log_name[64] = "?";
static enum gd_log_level log_level = GD_LOG_INFO;

void gd_log__setup(const char *member_name, enum gd_log_level level)
{
	snprintf(log_name, sizeof(log_name), "%s", member_name);
	log_level = level;
}

int gd_log_level__parse(const char *name, enum gd_log_level *level)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(*level_names);
	     i++) {
		if (!strcmp(name, level_names[i])) {
			*level = i;
			return 0;
		}
	}
	if (!strcmp(name, "warning")) {
		*level = GD_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void gd_log(enum gd_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "gnomond[%s]: %s: ", log_name,
		     level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

bool gd_ratelimit__ok(struct gd_ratelimit *rl, uint64_t *suppressed)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	if (now < rl->next_ns) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->next_ns = now + (uint64_t)GD_RATELIMIT_S * 1000000000;
	return true;
}
