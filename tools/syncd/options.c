// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-syncd's command line: every value is range-checked here, against
 * the same limits the kernel enforces (gnomon_core.h), so that a typo is a
 * usage error at start-up rather than a refused update later.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/gparse.h"
#include "gnomon_core.h"
#include "options.h"

#define SYNCD_VERSION	"0.1.0"

enum {
	OPT_SOURCE = 256, OPT_ERROR_NS, OPT_INTERVAL, OPT_ONCE, OPT_DEVICE,
	OPT_SHM, OPT_DRIFT, OPT_FOREGROUND, OPT_MARK, OPT_HOLDOVER,
	OPT_FREERUN, OPT_SOCKET, OPT_PHC, OPT_ASYM, OPT_DOMAIN, OPT_VERSION,
};

/* In the order of the enum above: an option's name is long_options[c - OPT_SOURCE]. */
static const struct option long_options[] = {
	{ "source",		required_argument, NULL, OPT_SOURCE },
	{ "error-ns",		required_argument, NULL, OPT_ERROR_NS },
	{ "interval",		required_argument, NULL, OPT_INTERVAL },
	{ "once",		no_argument,	   NULL, OPT_ONCE },
	{ "device",		required_argument, NULL, OPT_DEVICE },
	{ "shm",		required_argument, NULL, OPT_SHM },
	{ "drift-ppm",		required_argument, NULL, OPT_DRIFT },
	{ "foreground",		no_argument,	   NULL, OPT_FOREGROUND },
	{ "mark-disrupted",	no_argument,	   NULL, OPT_MARK },
	{ "holdover",		required_argument, NULL, OPT_HOLDOVER },
	{ "freerun-intervals",	required_argument, NULL, OPT_FREERUN },
	{ "ptp4l-socket",	required_argument, NULL, OPT_SOCKET },
	{ "phc",		required_argument, NULL, OPT_PHC },
	{ "asymmetry-ns",	required_argument, NULL, OPT_ASYM },
	{ "domain",		required_argument, NULL, OPT_DOMAIN },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fputs("usage: gnomon-syncd [options]\n"
	      "  --source chrony|ntp|ptp4l|static  time source (default chrony)\n"
	      "  --error-ns N           static source: the error to report\n"
	      "  --interval DUR         poll/update interval (default 1s)\n"
	      "  --drift-ppm PPM        declared maximum drift (default 50)\n"
	      "  --holdover DUR         free-running -> unsynchronized after DUR\n"
	      "  --freerun-intervals N  synchronized -> free-running after N intervals\n"
	      "  --device PATH          the module's device (default /dev/gnomon)\n"
	      "  --shm PATH             write the shared-memory file PATH instead\n"
	      "                         (default /run/gnomon/clock without the module)\n"
	      "  --ptp4l-socket PATH    ptp4l's management socket (default /var/run/ptp4l)\n"
	      "  --phc /dev/ptpN        read the PHC-to-system offset (hardware timestamping)\n"
	      "  --asymmetry-ns N       path asymmetry allowance (default: mean path delay)\n"
	      "  --domain N             PTP domain number (default 0)\n"
	      "  --once                 one update, then exit\n"
	      "  --mark-disrupted       mark the clock disrupted, then exit\n"
	      "  --foreground           do not detach\n"
	      "  -v, --verbose          more log output (repeat for debug)\n"
	      "DUR is a number with an optional unit: ns, us, ms, s (default s).\n",
	      f);
}

/*
 * gparse's duration (a bare number is seconds), limited as before to ns, us,
 * ms and s: minutes and hours are no interval or holdover for an agent.
 */
int syncd_parse_duration(const char *s, uint64_t *ns)
{
	const char *unit = gparse__duration_unit(s);

	if (!strcmp(unit, "m") || !strcmp(unit, "h"))
		return -EINVAL;
	return gparse__duration(s, ns);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int ret = gparse__u64(s, &v);

	if (ret)
		return ret;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_source(const char *s, enum syncd_source_kind *kind)
{
	if (!strcmp(s, "chrony") || !strcmp(s, "ntp"))
		*kind = SYNCD_SOURCE_CHRONY;
	else if (!strcmp(s, "ptp4l") || !strcmp(s, "ptp"))
		*kind = SYNCD_SOURCE_PTP4L;
	else if (!strcmp(s, "static"))
		*kind = SYNCD_SOURCE_STATIC;
	else
		return -EINVAL;
	return 0;
}

/* PPM with at most three decimals, to ppb exactly. */
static int parse_drift(const char *s, uint32_t *ppb)
{
	uint64_t v;
	int ret = gparse__fixed(s, 3, &v);

	if (ret)
		return ret;
	if (!v)
		return -EINVAL;
	if (v > GNOMON_MAX_DRIFT_PPB)
		return -ERANGE;
	*ppb = (uint32_t)v;
	return 0;
}

/* Apply one option; 0 or -errno for a bad value. */
static int apply(int c, const char *arg, struct syncd_options *opt,
		 bool *use_shm)
{
	uint64_t v = 0;
	int ret;

	switch (c) {
	case OPT_SOURCE:
		return parse_source(arg, &opt->source);
	case OPT_ERROR_NS:
		return parse_u64(arg, GNOMON_MAX_ERROR_NS, &opt->static_error_ns);
	case OPT_INTERVAL:
		ret = syncd_parse_duration(arg, &opt->interval_ns);
		if (!ret && (!opt->interval_ns ||
			     opt->interval_ns > GNOMON_MAX_HOLDOVER_NS))
			ret = -ERANGE;
		return ret;
	case OPT_HOLDOVER:
		ret = syncd_parse_duration(arg, &opt->holdover_ns);
		if (!ret && (!opt->holdover_ns ||
			     opt->holdover_ns > GNOMON_MAX_HOLDOVER_NS))
			ret = -ERANGE;
		return ret;
	case OPT_FREERUN:
		ret = parse_u64(arg, GNOMON_MAX_FREERUN_INTERVALS, &v);
		opt->freerun_intervals = (uint32_t)v;
		return ret ? ret : (v ? 0 : -ERANGE);
	case OPT_DRIFT:
		return parse_drift(arg, &opt->drift_ppb);
	case OPT_ASYM:
		ret = parse_u64(arg, GNOMON_MAX_ERROR_NS, &v);
		opt->asymmetry_ns = (int64_t)v;
		return ret;
	case OPT_DOMAIN:
		ret = parse_u64(arg, 255, &v);
		opt->ptp_domain = (uint8_t)v;
		return ret;
	case OPT_DEVICE:
		opt->device = arg;
		return 0;
	case OPT_SHM:
		opt->shm_path = arg;
		*use_shm = true;
		return 0;
	case OPT_SOCKET:
		opt->ptp4l_socket = arg;
		return 0;
	case OPT_PHC:
		opt->phc_path = arg;
		return 0;
	case OPT_ONCE:
		opt->once = true;
		return 0;
	case OPT_FOREGROUND:
		opt->foreground = true;
		return 0;
	case OPT_MARK:
		opt->mark_disrupted = true;
		return 0;
	}
	return -EINVAL;
}

enum syncd_action syncd_options__parse(int argc, char **argv,
				       struct syncd_options *opt,
				       bool *use_shm, int *verbosity)
{
	int c, ret;

	*opt = (struct syncd_options){
		.source = SYNCD_SOURCE_CHRONY,
		.device = GNOMON_DEVICE_PATH,
		.shm_path = "/run/gnomon/clock",
		.ptp4l_socket = SYNCD_DEFAULT_PTP4L_SOCKET,
		.interval_ns = SYNCD_DEFAULT_INTERVAL_NS,
		.asymmetry_ns = -1,
		.drift_ppb = GNOMON_DEFAULT_DRIFT_PPB,
	};
	*use_shm = false;
	*verbosity = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'v':
			++*verbosity;
			continue;
		case 'h':
			usage(stdout);
			return SYNCD_EXIT_OK;
		case OPT_VERSION:
			puts("gnomon-syncd " SYNCD_VERSION);
			return SYNCD_EXIT_OK;
		case '?':
			usage(stderr);
			return SYNCD_EXIT_USAGE;
		}
		ret = apply(c, optarg, opt, use_shm);
		if (ret) {
			fprintf(stderr, "gnomon-syncd: bad value '%s' for --%s: %s\n",
				optarg, long_options[c - OPT_SOURCE].name,
				ret == -ERANGE ? "out of range" : "not understood");
			return SYNCD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gnomon-syncd: unexpected argument '%s'\n",
			argv[optind]);
		return SYNCD_EXIT_USAGE;
	}
	return SYNCD_RUN;
}
