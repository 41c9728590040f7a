/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's log: one line per event on stderr, "gnomond[NAME]: LEVEL: text",
 * filtered by --log-level (error, warn, info, debug).  stderr is a pipe or
 * the journal under systemd; a line is one small write, so it does not
 * stall the loop in practice.
 */
#ifndef GNOMOND_DAEMON_LOG_H
#define GNOMOND_DAEMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum gd_log_level {
	GD_LOG_ERROR = 0,
	GD_LOG_WARN = 1,
	GD_LOG_INFO = 2,
	GD_LOG_DEBUG = 3,
};

void gd_log__setup(const char *member_name, enum gd_log_level level);
/* -EINVAL for an unknown name. */
int gd_log_level__parse(const char *name, enum gd_log_level *level);
void gd_log(enum gd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A warning that outsiders can trigger at will (a refused connection, a
 * rejected frame) goes through a limiter: the first at once, then at most
 * one per GD_RATELIMIT_S, saying how many were left out meanwhile.
 */
#define GD_RATELIMIT_S	5

struct gd_ratelimit {
	uint64_t next_ns;		/* CLOCK_MONOTONIC */
	uint64_t suppressed;
};

/* True if a line may go out now; *suppressed: how many did not since. */
bool gd_ratelimit__ok(struct gd_ratelimit *rl, uint64_t *suppressed);

#define gd_warn_ratelimited(rl, fmt, ...) do {				\
	uint64_t _left_out;						\
									\
	if (!gd_ratelimit__ok((rl), &_left_out))			\
		break;							\
	if (_left_out)							\
		gd_warn(fmt " (and %llu more not logged)",		\
			##__VA_ARGS__, (unsigned long long)_left_out);	\
	else								\
		gd_warn(fmt, ##__VA_ARGS__);				\
} while (0)

#define gd_err(...)	gd_log(GD_LOG_ERROR, __VA_ARGS__)
#define gd_warn(...)	gd_log(GD_LOG_WARN, __VA_ARGS__)
#define gd_info(...)	gd_log(GD_LOG_INFO, __VA_ARGS__)
#define gd_debug(...)	gd_log(GD_LOG_DEBUG, __VA_ARGS__)

#endif /* GNOMOND_DAEMON_LOG_H */
