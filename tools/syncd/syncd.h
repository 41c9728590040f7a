/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomon-syncd: the discipline agent.
 *
 * Once per interval the agent asks one time source (a struct
 * syncd_source_ops) how far CLOCK_REALTIME may be from true time, turns the
 * answer into a struct gnomon_discipline, and hands it to one sink (a struct
 * syncd_sink_ops): the kernel module's GNOMON_IOC_DISCIPLINE, or, when the
 * module is not loaded, the shared-memory file libgnomon reads.  Sources and
 * sinks are const ops tables; the error models behind the sources are pure
 * functions (ntp_model.c, ptp_model.c) so that tests can feed them crafted
 * readings.
 */
#ifndef GNOMON_SYNCD_H
#define GNOMON_SYNCD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/gnomon.h>

#define SYNCD_DEFAULT_PTP4L_SOCKET	"/var/run/ptp4l"
#define SYNCD_DEFAULT_INTERVAL_NS	(1000000000ULL)

enum syncd_source_kind {
	SYNCD_SOURCE_STATIC,
	SYNCD_SOURCE_CHRONY,		/* chrony or ntpd, both via adjtimex */
	SYNCD_SOURCE_PTP4L,
};

struct syncd_options {
	enum syncd_source_kind source;
	const char *device;		/* /dev/gnomon */
	const char *shm_path;		/* /run/gnomon/clock */
	const char *ptp4l_socket;
	const char *phc_path;		/* NULL: no PHC (software timestamping) */
	uint64_t interval_ns;
	uint64_t static_error_ns;
	uint64_t holdover_ns;		/* 0: keep the sink's */
	int64_t asymmetry_ns;		/* < 0: use the mean path delay */
	uint32_t drift_ppb;
	uint32_t freerun_intervals;	/* 0: keep the sink's */
	uint8_t ptp_domain;
	bool once;
	bool foreground;
	bool mark_disrupted;
};

struct syncd_source;

struct syncd_source_ops {
	const char *name;
	int (*open)(struct syncd_source **src, const struct syncd_options *opt);
	/*
	 * Fill error_ns, as_of_ns, flags and source of *d.  -EAGAIN: nothing
	 * new to report this round (the sink keeps ageing the last update).
	 */
	int (*sample)(struct syncd_source *src, struct gnomon_discipline *d);
	void (*close)(struct syncd_source *src);
};

extern const struct syncd_source_ops syncd_static_source;
extern const struct syncd_source_ops syncd_ntp_source;
extern const struct syncd_source_ops syncd_ptp4l_source;

struct syncd_sink;

struct syncd_sink_ops {
	const char *name;
	int (*open)(struct syncd_sink **sink, const struct syncd_options *opt);
	int (*configure)(struct syncd_sink *sink, const struct gnomon_config *cfg);
	int (*discipline)(struct syncd_sink *sink,
			  const struct gnomon_discipline *d);
	void (*close)(struct syncd_sink *sink);
};

extern const struct syncd_sink_ops syncd_kernel_sink;
extern const struct syncd_sink_ops syncd_shm_sink;

/* CLOCK_MONOTONIC and CLOCK_REALTIME in ns, read back to back. */
uint64_t syncd_mono_ns(void);
uint64_t syncd_real_ns(void);

#endif /* GNOMON_SYNCD_H */
