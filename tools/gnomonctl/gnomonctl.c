// SPDX-License-Identifier: GPL-2.0
/*
 * gnomonctl: read and steer gnomon's clocks from the command line.
 *
 *   gnomonctl [--json] now | status | hlc tick | hlc update TS
 *                    | wait-until T|latest [--timeout DUR]
 *                    | discipline --error ERR [options] | config [options]
 *                    | lease grant|renew|release|show ... (lease.c)
 *                    | monitor [--count N] [--timeout DUR] [--dump] (monitor.c)
 *
 * Every subcommand prints a human summary by default and one JSON object
 * with --json (which may appear anywhere on the line).  Errors go to stderr
 * and the exit status is 1 for a failed operation, 2 for bad usage.
 * Output formatting is in output.c; this file parses and dispatches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnomon.h"
#include "gnomonctl.h"
#include "parse.h"

static int op_error(const char *what, int err)
{
	fprintf(stderr, "gnomonctl: %s: %s\n", what, strerror(-err));
	return EXIT_FAILURE;
}

static int cmd_now(struct ctl *ctl)
{
	struct gnomon_hlc hlc;
	struct gnomon_tt tt;
	int err;

	err = gnomon_client__now(ctl->client, &tt);
	if (err)
		return op_error("reading TT.now()", err);
	err = gnomon_client__hlc_tick(ctl->client, &hlc);
	if (err)
		return op_error("ticking the HLC", err);
	print_now(ctl, &tt, &hlc);
	return 0;
}

static int cmd_status(struct ctl *ctl)
{
	struct gnomon_config cfg;
	struct gnomon_tt tt;
	int err;

	err = gnomon_client__now(ctl->client, &tt);
	if (err)
		return op_error("reading TT.now()", err);
	err = gnomon_client__get_config(ctl->client, &cfg);
	print_status(ctl, &tt, err ? NULL : &cfg);
	return 0;
}

static int cmd_hlc(struct ctl *ctl, int argc, char **argv)
{
	struct gnomon_hlc remote, ts;
	int err;

	if (argc < 2)
		return usage_error("hlc needs a subcommand: %s", "tick | update TS");
	if (!strcmp(argv[1], "tick") && argc == 2) {
		err = gnomon_client__hlc_tick(ctl->client, &ts);
		if (err)
			return op_error("ticking the HLC", err);
		print_hlc(ctl, &ts);
		return 0;
	}
	if (!strcmp(argv[1], "update") && argc == 3) {
		if (parse_hlc(argv[2], &remote))
			return usage_error("'%s' is not an HLC timestamp (WALL_NS.LOGICAL)",
					   argv[2]);
		err = gnomon_client__hlc_update(ctl->client, &remote, &ts);
		if (err == -ERANGE) {
			fprintf(stderr, "gnomonctl: %s is further ahead than the max offset allows; rejected\n",
				argv[2]);
			return EXIT_FAILURE;
		}
		if (err)
			return op_error("merging the HLC", err);
		print_hlc(ctl, &ts);
		return 0;
	}
	return usage_error("unknown hlc usage: %s", argv[1]);
}

static int cmd_wait_until(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	__u64 until, timeout = 0;
	struct gnomon_tt tt;
	int c, err;

	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (c != 't')
			return EXIT_USAGE;
		if (parse_duration(optarg, &timeout))
			return usage_error("bad --timeout '%s'", optarg);
	}
	if (optind != argc - 1)
		return usage_error("wait-until needs one time: %s", "NS_SINCE_EPOCH | latest");
	if (!strcmp(argv[optind], "latest")) {
		/* Spanner's commit wait: s = TT.now().latest. */
		err = gnomon_client__now(ctl->client, &tt);
		if (err)
			return op_error("reading TT.now()", err);
		if (tt.bound_ns == GNOMON_BOUND_INFINITE) {
			fprintf(stderr, "gnomonctl: the clock is %s: no latest to wait for\n",
				gnomon_status__name(tt.status));
			return EXIT_FAILURE;
		}
		until = tt.latest_ns;
	} else if (parse_u64(argv[optind], &until)) {
		return usage_error("'%s' is not a time in ns since the epoch", argv[optind]);
	}
	err = gnomon_client__wait_until(ctl->client, until, timeout);
	if (err)
		return op_error("waiting", err);
	err = gnomon_client__now(ctl->client, &tt);
	if (err)
		return op_error("reading TT.now()", err);
	print_waited(ctl, until, &tt);
	return 0;
}

static int cmd_discipline(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "error", required_argument, NULL, 'e' },
		{ "interval", required_argument, NULL, 'i' },
		{ "drift-ppb", required_argument, NULL, 'd' },
		{ "source", required_argument, NULL, 's' },
		{ "unsync", no_argument, NULL, 'u' },
		{ "disrupted", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct gnomon_discipline d = { .source = GNOMON_SOURCE_STATIC,
				       .interval_ns = 1000000000ULL };
	bool have_error = false;
	__u64 v;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (parse_duration(optarg, &d.error_ns))
				return usage_error("bad --error '%s'", optarg);
			have_error = true;
			break;
		case 'i':
			if (parse_duration(optarg, &d.interval_ns))
				return usage_error("bad --interval '%s'", optarg);
			break;
		case 'd':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				return usage_error("bad --drift-ppb '%s'", optarg);
			d.drift_ppb = (uint32_t)v;
			break;
		case 's':
			if (!strcmp(optarg, "static"))
				d.source = GNOMON_SOURCE_STATIC;
			else if (!strcmp(optarg, "ntp"))
				d.source = GNOMON_SOURCE_NTP;
			else if (!strcmp(optarg, "ptp"))
				d.source = GNOMON_SOURCE_PTP;
			else
				return usage_error("unknown --source '%s' (static, ntp, ptp)", optarg);
			break;
		case 'u':
			d.flags |= GNOMON_DISC_UNSYNC;
			break;
		case 'D':
			d.flags |= GNOMON_DISC_DISRUPTED;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!have_error && !(d.flags & (GNOMON_DISC_UNSYNC | GNOMON_DISC_DISRUPTED)))
		return usage_error("discipline needs %s", "--error ERR (or --unsync / --disrupted)");
	err = gnomon_client__discipline(ctl->client, &d);
	if (err == -ENODEV) {
		fprintf(stderr, "gnomonctl: discipline needs the kernel device (%s is not available)\n",
			GNOMON_DEVICE_PATH);
		return EXIT_FAILURE;
	}
	if (err == -EPERM) {
		fprintf(stderr, "gnomonctl: discipline needs CAP_SYS_TIME\n");
		return EXIT_FAILURE;
	}
	if (err)
		return op_error("discipline", err);
	return cmd_status(ctl);
}

static int cmd_config(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-offset", required_argument, NULL, 'm' },
		{ "holdover", required_argument, NULL, 'h' },
		{ "drift-ppb", required_argument, NULL, 'd' },
		{ "freerun-intervals", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct gnomon_config cfg = { 0 };
	bool set = false;
	__u64 v;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		set = true;
		switch (c) {
		case 'm':
			if (parse_duration(optarg, &cfg.max_offset_ns))
				return usage_error("bad --max-offset '%s'", optarg);
			break;
		case 'h':
			if (parse_duration(optarg, &cfg.holdover_ns))
				return usage_error("bad --holdover '%s'", optarg);
			break;
		case 'd':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				return usage_error("bad --drift-ppb '%s'", optarg);
			cfg.drift_ppb = (uint32_t)v;
			break;
		case 'f':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				return usage_error("bad --freerun-intervals '%s'", optarg);
			cfg.freerun_intervals = (uint32_t)v;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (set) {
		err = gnomon_client__set_config(ctl->client, &cfg);
		if (err == -EPERM) {
			fprintf(stderr, "gnomonctl: config needs CAP_SYS_TIME\n");
			return EXIT_FAILURE;
		}
		if (err)
			return op_error("setting the configuration", err);
	}
	err = gnomon_client__get_config(ctl->client, &cfg);
	if (err)
		return op_error("reading the configuration", err);
	print_config(ctl, &cfg);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: gnomonctl [--json] COMMAND [ARGS]\n"
	      "  now                       TT.now() interval, status, source, an HLC tick\n"
	      "  status                    status, bound, sources, configuration\n"
	      "  hlc tick                  a local HLC event\n"
	      "  hlc update WALL.LOGICAL   merge a received HLC timestamp\n"
	      "  wait-until NS|latest [--timeout DUR]\n"
	      "                            commit-wait until TT.now().earliest > NS\n"
	      "  discipline --error DUR [--interval DUR] [--drift-ppb N]\n"
	      "             [--source static|ntp|ptp] [--unsync] [--disrupted]\n"
	      "  config [--max-offset DUR] [--holdover DUR] [--drift-ppb N]\n"
	      "         [--freerun-intervals N]\n"
	      "  lease grant RESOURCE --token N --ttl DUR [--holder ID] [--margin DUR]\n"
	      "  lease renew RESOURCE --ttl DUR [--token N] [--holder ID] [--margin DUR]\n"
	      "  lease release RESOURCE [--token N] [--holder ID]\n"
	      "  lease show [RESOURCE]         leases of gnomon.ko (fencing)\n"
	      "  fence pr register|reserve|release|clear|takeover|preempt-abort|show\n"
	      "           DEVICE [--token T] [--victim V] [--previous V]\n"
	      "                            SCSI-3 reservations keyed by a fencing token\n"
	      "  monitor [--count N] [--timeout DUR] | monitor --dump\n"
	      "                            fencing events as they happen (netlink)\n"
	      "Durations take ns, us, ms, s, m, h (bare numbers are seconds).\n", f);
}

int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	int i, j, err, rc;

	/* --json may appear anywhere: take it out before subcommand parsing. */
	for (i = 1, j = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			ctl.json = true;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	argv[argc] = NULL;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	err = gnomon_client__open(&ctl.client, 0);
	if (err)
		return op_error("opening libgnomon", err);

	argc--;
	argv++;
	if (!strcmp(argv[0], "now") && argc == 1)
		rc = cmd_now(&ctl);
	else if (!strcmp(argv[0], "status") && argc == 1)
		rc = cmd_status(&ctl);
	else if (!strcmp(argv[0], "hlc"))
		rc = cmd_hlc(&ctl, argc, argv);
	else if (!strcmp(argv[0], "wait-until"))
		rc = cmd_wait_until(&ctl, argc, argv);
	else if (!strcmp(argv[0], "discipline"))
		rc = cmd_discipline(&ctl, argc, argv);
	else if (!strcmp(argv[0], "config"))
		rc = cmd_config(&ctl, argc, argv);
	else if (!strcmp(argv[0], "lease"))
		rc = cmd_lease(&ctl, argc, argv);
	else if (!strcmp(argv[0], "fence"))
		rc = cmd_fence(&ctl, argc, argv);
	else if (!strcmp(argv[0], "monitor"))
		rc = cmd_monitor(&ctl, argc, argv);
	else
		rc = usage_error("unknown command or arguments: '%s'", argv[0]);

	gnomon_client__close(ctl.client);
	return rc;
}
