// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-lincheck: check a recorded history for linearizability.
 *
 *	gnomon-lincheck [--max-states N] [--quiet] HISTORY
 *
 * Exit status: 0 linearizable, 1 not linearizable (the violation is
 * described on stdout), 2 bad usage or bad input, 3 no verdict (the search
 * hit --max-states on some key and found no violation elsewhere).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/gparse.h"
#include "lincheck.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gnomon-lincheck [--max-states N] [--quiet] "
		"HISTORY|-\n");
}

static int load(struct lincheck_history *h, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char err[512];
	int ret;

	if (!f) {
		fprintf(stderr, "gnomon-lincheck: %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	ret = lincheck_history__load(h, f, path, err, sizeof(err));
	if (ret)
		fprintf(stderr, "gnomon-lincheck: %s\n", err);
	if (f != stdin)
		fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-states", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lincheck_opts opts = { .report = stdout };
	struct lincheck_report rep;
	struct lincheck_history *h;
	bool quiet = false;
	uint64_t n;
	int c, ret;

	while ((c = getopt_long(argc, argv, "m:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (gparse__u64(optarg, &n) || !n) {
				fprintf(stderr, "gnomon-lincheck: bad "
					"--max-states '%s'\n", optarg);
				return 2;
			}
			opts.max_states = n;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (lincheck_history__new(&h)) {
		fprintf(stderr, "gnomon-lincheck: out of memory\n");
		return 2;
	}
	if (load(h, argv[optind])) {
		lincheck_history__free(h);
		return 2;
	}
	ret = lincheck_history__check(h, &opts, &rep);
	lincheck_history__free(h);
	if (ret == -ENOMEM) {
		fprintf(stderr, "gnomon-lincheck: out of memory\n");
		return 2;
	}
	if (!quiet || ret)
		printf("%s: %" PRIu64 " operations on %" PRIu64 " keys, "
		       "%" PRIu64 " states searched, %" PRIu64 " keys not "
		       "linearizable, %" PRIu64 " undecided\n",
		       ret == 0 ? "linearizable" : ret == -EDOM ?
		       "NOT LINEARIZABLE" : "UNDECIDED", rep.ops, rep.keys,
		       rep.states, rep.bad_keys, rep.unknown_keys);
	return ret == 0 ? 0 : ret == -EDOM ? 1 : 3;
}
