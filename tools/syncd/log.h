/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Levelled logging to stderr: "gnomon-syncd: <level>: message".  Under
 * systemd, stderr goes to the journal; the level prefix keeps it greppable.
 */
#ifndef GNOMON_SYNCD_LOG_H
#define GNOMON_SYNCD_LOG_H

enum syncd_log_level {
	SYNCD_LOG_ERR,
	SYNCD_LOG_WARN,
	SYNCD_LOG_INFO,
	SYNCD_LOG_DEBUG,
};

/* Messages above this level are dropped (default SYNCD_LOG_WARN). */
void syncd_log_set_level(enum syncd_log_level level);

__attribute__((format(printf, 2, 3)))
void syncd_log(enum syncd_log_level level, const char *fmt, ...);

#define syncd_err(...)		syncd_log(SYNCD_LOG_ERR, __VA_ARGS__)
#define syncd_warn(...)		syncd_log(SYNCD_LOG_WARN, __VA_ARGS__)
#define syncd_info(...)		syncd_log(SYNCD_LOG_INFO, __VA_ARGS__)
#define syncd_debug(...)	syncd_log(SYNCD_LOG_DEBUG, __VA_ARGS__)

#endif /* GNOMON_SYNCD_LOG_H */
