// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-syncd: feed gnomon's clock from a real time source.
 *
 * Start-up: parse the command line, pick the sink (the module's device if it
 * exists, else the shared-memory file; --shm forces the file), push the
 * configuration (drift, holdover, free-run intervals), open the source, and
 * detach unless --foreground.  Everything that can fail is opened before
 * detaching, so a bad set-up is an error exit, not a silent daemon.
 *
 * Loop: once per interval, on an absolute CLOCK_MONOTONIC schedule, sample
 * the source and pass the update to the sink.  A source with nothing new
 * (ptp4l silent, no Sync since last time) sends nothing: the clock then ages
 * on its own into free-running and unsynchronised, which is the honest
 * answer.  SIGTERM and SIGINT end the loop; the clock is left as it is.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gnomon_core.h"
#include "log.h"
#include "options.h"
#include "syncd.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must cut the sleep short. */
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static const struct syncd_source_ops *source_ops(enum syncd_source_kind kind)
{
	switch (kind) {
	case SYNCD_SOURCE_STATIC:
		return &syncd_static_source;
	case SYNCD_SOURCE_CHRONY:
		return &syncd_ntp_source;
	case SYNCD_SOURCE_PTP4L:
		return &syncd_ptp4l_source;
	}
	return NULL;
}

static int open_sink(const struct syncd_options *opt, bool use_shm,
		     const struct syncd_sink_ops **ops, struct syncd_sink **sink)
{
	int ret;

	if (!use_shm) {
		*ops = &syncd_kernel_sink;
		ret = (*ops)->open(sink, opt);
		if (ret != -ENOENT)
			goto opened;
		syncd_info("%s not present (module not loaded): using %s",
			   opt->device, opt->shm_path);
	}
	*ops = &syncd_shm_sink;
	ret = (*ops)->open(sink, opt);
opened:
	if (ret)
		syncd_err("cannot open the %s sink: %s", (*ops)->name,
			  strerror(-ret));
	return ret;
}

static int push_config(const struct syncd_options *opt,
		       const struct syncd_sink_ops *ops, struct syncd_sink *sink)
{
	struct gnomon_config cfg = {
		.holdover_ns = opt->holdover_ns,
		.drift_ppb = opt->drift_ppb,
		.freerun_intervals = opt->freerun_intervals,
	};

	return ops->configure(sink, &cfg);
}

static int mark_disrupted(const struct syncd_options *opt,
			  const struct syncd_sink_ops *ops, struct syncd_sink *sink)
{
	struct gnomon_discipline d = {
		.interval_ns = opt->interval_ns,
		.drift_ppb = opt->drift_ppb,
		.flags = GNOMON_DISC_DISRUPTED,
		.source = GNOMON_SOURCE_NONE,
	};
	int ret = ops->discipline(sink, &d);

	if (!ret)
		syncd_warn("clock marked disrupted until the next update");
	return ret;
}

/* Sleep until the absolute monotonic instant *next; a signal cuts it short. */
static void sleep_until(uint64_t next)
{
	struct timespec ts = {
		.tv_sec = (time_t)(next / GNOMON_NSEC_PER_SEC),
		.tv_nsec = (long)(next % GNOMON_NSEC_PER_SEC),
	};

	while (!stop_signal &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* One poll: 0, -EAGAIN (nothing new) or a fatal -errno. */
static int poll_once(const struct syncd_options *opt,
		     const struct syncd_source_ops *src_ops,
		     struct syncd_source *src,
		     const struct syncd_sink_ops *sink_ops, struct syncd_sink *sink,
		     uint64_t *last_as_of)
{
	struct gnomon_discipline d = { 0 };
	int ret;

	ret = src_ops->sample(src, &d);
	if (ret)
		return ret;
	d.interval_ns = opt->interval_ns;
	d.drift_ppb = opt->drift_ppb;
	assert(d.interval_ns && d.source <= GNOMON_SOURCE_PTP &&
	       !(d.flags & ~GNOMON_DISC_FLAGS));
	/* The sink refuses a measurement older than the one it has. */
	if (d.as_of_ns < *last_as_of)
		d.as_of_ns = *last_as_of;
	ret = sink_ops->discipline(sink, &d);
	if (ret)
		return ret;
	*last_as_of = d.as_of_ns;
	syncd_debug("update: error %llu ns, flags 0x%x, source %s",
		    (unsigned long long)d.error_ns, d.flags,
		    gnomon_source_name(d.source));
	return 0;
}

static int run(const struct syncd_options *opt,
	       const struct syncd_source_ops *src_ops, struct syncd_source *src,
	       const struct syncd_sink_ops *sink_ops, struct syncd_sink *sink)
{
	uint64_t next = syncd_mono_ns(), last_as_of = 0;
	int ret;

	for (;;) {
		ret = poll_once(opt, src_ops, src, sink_ops, sink, &last_as_of);
		if (opt->once)
			return ret;
		/* EPERM will not fix itself; refused updates are logged. */
		if (ret == -EPERM)
			return ret;
		next += opt->interval_ns;
		if (next < syncd_mono_ns())
			next = syncd_mono_ns();
		sleep_until(next);
		if (stop_signal) {
			syncd_info("signal %d: exiting", (int)stop_signal);
			return 0;
		}
	}
}

static int detach(void)
{
	int fd;

	if (daemon(0, 1) < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct syncd_source_ops *src_ops;
	const struct syncd_sink_ops *sink_ops;
	struct syncd_source *src = NULL;
	struct syncd_sink *sink;
	struct syncd_options opt;
	int verbosity, ret;
	bool use_shm;

	switch (syncd_options__parse(argc, argv, &opt, &use_shm, &verbosity)) {
	case SYNCD_EXIT_OK:
		return 0;
	case SYNCD_EXIT_USAGE:
		return 2;
	case SYNCD_RUN:
		break;
	}
	syncd_log_set_level(verbosity >= 2 ? SYNCD_LOG_DEBUG :
			    verbosity == 1 ? SYNCD_LOG_INFO : SYNCD_LOG_WARN);
	ret = install_signals();
	if (!ret)
		ret = open_sink(&opt, use_shm, &sink_ops, &sink);
	if (ret)
		return 1;
	/* A one-shot mark leaves the running agent's configuration alone. */
	if (opt.mark_disrupted) {
		ret = mark_disrupted(&opt, sink_ops, sink);
		goto out;
	}
	src_ops = source_ops(opt.source);
	ret = push_config(&opt, sink_ops, sink);
	if (!ret)
		ret = src_ops->open(&src, &opt);
	if (!ret && !opt.foreground && !opt.once)
		ret = detach();
	if (!ret) {
		syncd_info("source %s, sink %s, interval %llu ns, drift %u ppb",
			   src_ops->name, sink_ops->name,
			   (unsigned long long)opt.interval_ns, opt.drift_ppb);
		ret = run(&opt, src_ops, src, sink_ops, sink);
		if (ret == -EAGAIN)
			syncd_err("%s has no usable measurement", src_ops->name);
	}
	if (src)
		src_ops->close(src);
out:
	sink_ops->close(sink);
	return ret ? 1 : 0;
}
