/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomond's log: one line per event on stderr, "gnomond[NAME]: LEVEL: text",
 * filtered by --log-level (error, warn, info, debug).  stderr is a pipe or
 * the journal under systemd; a line is one small write, so it does not
 * stall the loop in practice.
 */
#ifndef GNOMOND_DAEMON_LOG_H
#define GNOMOND_DAEMON_LOG_H

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

#define gd_err(...)	gd_log(GD_LOG_ERROR, __VA_ARGS__)
#define gd_warn(...)	gd_log(GD_LOG_WARN, __VA_ARGS__)
#define gd_info(...)	gd_log(GD_LOG_INFO, __VA_ARGS__)
#define gd_debug(...)	gd_log(GD_LOG_DEBUG, __VA_ARGS__)

#endif /* GNOMOND_DAEMON_LOG_H */
