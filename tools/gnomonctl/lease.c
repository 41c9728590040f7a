// SPDX-License-Identifier: GPL-2.0
/*
 * gnomonctl lease: grant, renew, release and show gnomon.ko's leases.
 *
 *   lease grant RESOURCE --token N --ttl DUR [--holder ID] [--margin DUR]
 *   lease renew RESOURCE --ttl DUR [--token N] [--holder ID] [--margin DUR]
 *   lease release RESOURCE [--token N] [--holder ID]
 *   lease show [RESOURCE]
 *
 * These talk to /dev/gnomon directly (tools/common/klease.c; GNOMON_DEVICE
 * overrides the path):
 * leases live only in the kernel module.  A lease granted for DUR ends at
 * TT.now().earliest + DUR, the earliest instant the grant can have been
 * made at, so it never outlasts DUR in true time.  renew and release
 * default to the resource's current token, renew to its margin.  After a change the resource is
 * shown as `show` would.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/klease.h"
#include "gnomonctl.h"
#include "parse.h"

enum lease_op { LEASE_GRANT, LEASE_RENEW, LEASE_RELEASE };

static const char *const state_names[] = {
	[GNOMON_LEASE_RELEASED] = "released",
	[GNOMON_LEASE_HELD] = "held",
	[GNOMON_LEASE_EXPIRED] = "expired",
	[GNOMON_LEASE_CLOCK] = "clock",
};

static const char *state_name(uint32_t state)
{
	return state < sizeof(state_names) / sizeof(state_names[0]) ?
	       state_names[state] : "unknown";
}

static int lease_dev_open(void)
{
	int fd = klease__open();

	if (fd < 0) {
		fprintf(stderr, "gnomonctl: leases need the kernel module (%s: %s)\n",
			klease__device(), strerror(-fd));
		return -1;
	}
	return fd;
}

static int copy_name(char *dst, size_t size, const char *src, const char *what)
{
	if (klease__set_name(dst, size, src)) {
		fprintf(stderr, "gnomonctl: %s '%s' is longer than %zu bytes\n",
			what, src, size - 1);
		return -EINVAL;
	}
	return 0;
}

static void print_info(const struct ctl *ctl, const struct gnomon_lease_info *l,
		       bool first)
{
	if (ctl->json) {
		printf("%s{\"name\":", first ? "" : ",");
		json_string(l->name);
		printf(",\"holder\":");
		json_string(l->holder);
		printf(",\"token\":%llu,\"state\":\"%s\",\"holds\":%s,"
		       "\"end_ns\":%llu,\"margin_ns\":%llu,"
		       "\"judged_latest_ns\":%llu,\"clock_status\":\"%s\","
		       "\"grants\":%llu,\"renewals\":%llu,\"releases\":%llu,"
		       "\"stale_refused\":%llu,\"lapses\":%llu,\"fences\":%llu,"
		       "\"lapse_late_ns\":%llu}",
		       (unsigned long long)l->token, state_name(l->state),
		       l->state == GNOMON_LEASE_HELD ? "true" : "false",
		       (unsigned long long)l->end_ns,
		       (unsigned long long)l->margin_ns,
		       (unsigned long long)l->judged_latest_ns,
		       gnomon_status__name(l->clock_status),
		       (unsigned long long)l->grants,
		       (unsigned long long)l->renewals,
		       (unsigned long long)l->releases,
		       (unsigned long long)l->stale_refused,
		       (unsigned long long)l->lapses,
		       (unsigned long long)l->fences,
		       (unsigned long long)l->lapse_late_ns);
		return;
	}
	printf("%s: %s, token %llu, holder '%s'\n", l->name,
	       state_name(l->state), (unsigned long long)l->token, l->holder);
	if (l->state == GNOMON_LEASE_HELD)
		printf("  ends %llu, %llu ns after latest %llu (margin %llu ns)\n",
		       (unsigned long long)l->end_ns,
		       (unsigned long long)(l->end_ns - l->judged_latest_ns),
		       (unsigned long long)l->judged_latest_ns,
		       (unsigned long long)l->margin_ns);
	else if (l->end_ns)
		printf("  ended %llu (margin %llu ns), clock %s\n",
		       (unsigned long long)l->end_ns,
		       (unsigned long long)l->margin_ns,
		       gnomon_status__name(l->clock_status));
	printf("  grants %llu renewals %llu releases %llu stale_refused %llu "
	       "lapses %llu fences %llu lapse_late_ns %llu\n",
	       (unsigned long long)l->grants, (unsigned long long)l->renewals,
	       (unsigned long long)l->releases,
	       (unsigned long long)l->stale_refused,
	       (unsigned long long)l->lapses, (unsigned long long)l->fences,
	       (unsigned long long)l->lapse_late_ns);
}

static int show_one(const struct ctl *ctl, int fd, const char *name)
{
	struct gnomon_lease_info info;
	int err = klease__get(fd, name, &info);

	if (err == -ENOENT) {
		fprintf(stderr, "gnomonctl: no lease resource '%s'\n", name);
		return EXIT_FAILURE;
	}
	if (err) {
		fprintf(stderr, "gnomonctl: reading lease '%s': %s\n", name,
			strerror(-err));
		return EXIT_FAILURE;
	}
	print_info(ctl, &info, true);
	if (ctl->json)
		putchar('\n');
	return 0;
}

static int show_all(const struct ctl *ctl, int fd)
{
	struct gnomon_lease_info info = { 0 };
	bool first = true;
	int err;

	if (ctl->json)
		printf("{\"leases\":[");
	for (;;) {
		char cursor[GNOMON_LEASE_NAME_MAX];

		memcpy(cursor, info.name, sizeof(cursor));
		memset(&info, 0, sizeof(info));
		memcpy(info.name, cursor, sizeof(cursor));
		err = klease__ioctl(fd, GNOMON_IOC_LEASE_NEXT, &info);
		if (err)
			break;
		print_info(ctl, &info, first);
		first = false;
	}
	if (ctl->json)
		puts("]}");
	else if (first)
		puts("no lease resources");
	if (err != -ENOENT) {
		fprintf(stderr, "gnomonctl: listing leases: %s\n", strerror(-err));
		return EXIT_FAILURE;
	}
	return 0;
}

static int op_failed(enum lease_op op, int fd, const struct gnomon_lease_req *req,
		     int err)
{
	static const char *const verbs[] = { "grant", "renew", "release" };
	struct gnomon_lease_info info;

	if (err == -EPERM) {
		fprintf(stderr, "gnomonctl: lease %s needs CAP_SYS_ADMIN\n", verbs[op]);
	} else if (err == -ESTALE && !klease__get(fd, req->name, &info)) {
		fprintf(stderr, "gnomonctl: token %llu%s%s%s refused for '%s': the highest it has seen is %llu (holder '%s'); refused %llu times\n",
			(unsigned long long)req->token,
			req->holder[0] ? " (holder '" : "", req->holder,
			req->holder[0] ? "')" : "", req->name,
			(unsigned long long)info.token, info.holder,
			(unsigned long long)info.stale_refused);
	} else if (err == -ENOENT) {
		fprintf(stderr, "gnomonctl: lease %s: '%s' is not granted\n",
			verbs[op], req->name);
	} else if (err == -EINVAL) {
		fprintf(stderr, "gnomonctl: lease %s: refused '%s' (names are [A-Za-z0-9._-], holders printable; release needs the current token)\n",
			verbs[op], req->name);
	} else {
		fprintf(stderr, "gnomonctl: lease %s '%s': %s\n", verbs[op],
			req->name, strerror(-err));
	}
	return EXIT_FAILURE;
}

static int lease_change(const struct ctl *ctl, enum lease_op op, int argc,
			char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, 't' },
		{ "ttl", required_argument, NULL, 'l' },
		{ "holder", required_argument, NULL, 'H' },
		{ "margin", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct gnomon_lease_req req;
	bool have_token = false, have_ttl = false, have_margin = false;
	struct gnomon_lease_info info;
	struct gnomon_tt tt;
	unsigned long cmd;
	__u64 ttl = 0;
	int c, fd, err, rc;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, &req.token))
				return usage_error("bad --token '%s'", optarg);
			have_token = true;
			break;
		case 'l':
			if (op == LEASE_RELEASE || parse_duration(optarg, &ttl) || !ttl)
				return usage_error("bad --ttl '%s'", optarg);
			have_ttl = true;
			break;
		case 'H':
			if (copy_name(req.holder, sizeof(req.holder), optarg, "holder"))
				return EXIT_USAGE;
			break;
		case 'm':
			if (op == LEASE_RELEASE || parse_duration(optarg, &req.margin_ns))
				return usage_error("bad --margin '%s'", optarg);
			have_margin = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error("lease %s needs one RESOURCE", argv[0]);
	if (copy_name(req.name, sizeof(req.name), argv[optind], "resource"))
		return EXIT_USAGE;
	if (op == LEASE_GRANT && !have_token)
		return usage_error("lease grant needs %s", "--token N");
	if (op != LEASE_RELEASE && !have_ttl)
		return usage_error("lease %s needs --ttl DUR", argv[0]);

	fd = lease_dev_open();
	if (fd < 0)
		return EXIT_FAILURE;
	rc = EXIT_FAILURE;
	if (!have_token || (op == LEASE_RENEW && !have_margin)) {
		err = klease__get(fd, req.name, &info);
		if (err) {
			op_failed(op, fd, &req, err);
			goto out;
		}
		if (!have_token)
			req.token = info.token;
		if (op == LEASE_RENEW && !have_margin)
			req.margin_ns = info.margin_ns;
	}
	if (op != LEASE_RELEASE) {
		err = klease__ioctl(fd, GNOMON_IOC_NOW, &tt);
		if (err || tt.bound_ns == GNOMON_BOUND_INFINITE) {
			fprintf(stderr, "gnomonctl: the clock is %s: a lease needs a bounded TT.now()\n",
				err ? strerror(-err) : gnomon_status__name(tt.status));
			goto out;
		}
		req.end_ns = tt.earliest_ns + ttl;
	}
	cmd = op == LEASE_GRANT ? GNOMON_IOC_LEASE_GRANT :
	      op == LEASE_RENEW ? GNOMON_IOC_LEASE_RENEW : GNOMON_IOC_LEASE_RELEASE;
	err = klease__ioctl(fd, cmd, &req);
	if (err) {
		op_failed(op, fd, &req, err);
		goto out;
	}
	rc = show_one(ctl, fd, req.name);
out:
	close(fd);
	return rc;
}

int cmd_lease(const struct ctl *ctl, int argc, char **argv)
{
	int fd, rc;

	if (argc < 2)
		return usage_error("lease needs a subcommand: %s",
				   "grant | renew | release | show");
	argc--;
	argv++;
	if (!strcmp(argv[0], "grant"))
		return lease_change(ctl, LEASE_GRANT, argc, argv);
	if (!strcmp(argv[0], "renew"))
		return lease_change(ctl, LEASE_RENEW, argc, argv);
	if (!strcmp(argv[0], "release"))
		return lease_change(ctl, LEASE_RELEASE, argc, argv);
	if (strcmp(argv[0], "show") || argc > 2)
		return usage_error("unknown lease usage: %s", argv[0]);
	fd = lease_dev_open();
	if (fd < 0)
		return EXIT_FAILURE;
	rc = argc == 2 ? show_one(ctl, fd, argv[1]) : show_all(ctl, fd);
	close(fd);
	return rc;
}
