// SPDX-License-Identifier: GPL-2.0
/*
 * gnomonctl monitor: gnomon.ko's fencing events, read with libnl-genl-3.
 *
 *   monitor [--count N] [--timeout DUR]   one line per event, as it happens
 *   monitor --dump                        the leases, one line each, then exit
 *
 * It resolves the generic netlink family "gnomon" and its "fencing"
 * multicast group, subscribes, and prints every message as one line: the
 * event's name and its attributes, as JSON with --json.  Attributes are
 * described once, in a table, for both forms.  --count and --timeout end
 * the watch (scripts and tests); by default it runs until interrupted.
 * Subscribing needs CAP_SYS_ADMIN where the kernel checks group flags.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "gnomonctl.h"
#include "parse.h"

enum attr_kind { KIND_U64, KIND_U32, KIND_STRING, KIND_LEASE_STATE, KIND_CLOCK };

static const struct {
	const char *key;
	enum attr_kind kind;
} attrs[GNOMON_A_MAX + 1] = {
	[GNOMON_A_TIME_NS] = { "time_ns", KIND_U64 },
	[GNOMON_A_NAME] = { "name", KIND_STRING },
	[GNOMON_A_HOLDER] = { "holder", KIND_STRING },
	[GNOMON_A_TOKEN] = { "token", KIND_U64 },
	[GNOMON_A_END_NS] = { "end_ns", KIND_U64 },
	[GNOMON_A_MARGIN_NS] = { "margin_ns", KIND_U64 },
	[GNOMON_A_STATE] = { "state", KIND_LEASE_STATE },
	[GNOMON_A_LATE_NS] = { "late_ns", KIND_U64 },
	[GNOMON_A_DEVICE] = { "device", KIND_STRING },
	[GNOMON_A_HIGHEST_TOKEN] = { "highest_token", KIND_U64 },
	[GNOMON_A_CLOCK_STATUS] = { "clock_status", KIND_CLOCK },
	[GNOMON_A_OLD_CLOCK_STATUS] = { "old_clock_status", KIND_CLOCK },
	[GNOMON_A_JUDGED_LATEST_NS] = { "judged_latest_ns", KIND_U64 },
	[GNOMON_A_GRANTS] = { "grants", KIND_U64 },
	[GNOMON_A_RENEWALS] = { "renewals", KIND_U64 },
	[GNOMON_A_RELEASES] = { "releases", KIND_U64 },
	[GNOMON_A_STALE_REFUSED] = { "stale_refused", KIND_U64 },
	[GNOMON_A_LAPSES] = { "lapses", KIND_U64 },
	[GNOMON_A_FENCES] = { "fences", KIND_U64 },
};

static const char *const events[GNOMON_CMD_MAX + 1] = {
	[GNOMON_CMD_LEASE_GET] = "lease",
	[GNOMON_CMD_LEASE_GRANTED] = "lease_granted",
	[GNOMON_CMD_LEASE_LAPSED] = "lease_lapsed",
	[GNOMON_CMD_FENCE_ENGAGED] = "fence_engaged",
	[GNOMON_CMD_STALE_REFUSED] = "stale_refused",
	[GNOMON_CMD_CLOCK_STATUS] = "clock_status",
};

static const char *const lease_states[] = {
	[GNOMON_LEASE_RELEASED] = "released",
	[GNOMON_LEASE_HELD] = "held",
	[GNOMON_LEASE_EXPIRED] = "expired",
	[GNOMON_LEASE_CLOCK] = "clock",
};

struct watch {
	const struct ctl *ctl;
	unsigned long printed;
	int err;			/* a malformed message */
};

static struct nla_policy policy[GNOMON_A_MAX + 1];

static void init_policy(void)
{
	static const int types[] = {
		[KIND_U64] = NLA_U64, [KIND_U32] = NLA_U32,
		[KIND_STRING] = NLA_STRING, [KIND_LEASE_STATE] = NLA_U32,
		[KIND_CLOCK] = NLA_U32,
	};

	for (int i = 0; i <= GNOMON_A_MAX; i++)
		if (attrs[i].key)
			policy[i].type = (uint16_t)types[attrs[i].kind];
}

/* The attribute's value as text; JSON-quoted if quote. */
static void print_value(const struct nlattr *a, enum attr_kind kind, bool quote)
{
	const char *s = NULL;
	uint32_t v;

	switch (kind) {
	case KIND_U64:
		printf("%llu", (unsigned long long)nla_get_u64((struct nlattr *)a));
		return;
	case KIND_U32:
		printf("%u", nla_get_u32((struct nlattr *)a));
		return;
	case KIND_STRING:
		s = nla_get_string((struct nlattr *)a);
		break;
	case KIND_LEASE_STATE:
		v = nla_get_u32((struct nlattr *)a);
		s = v < sizeof(lease_states) / sizeof(lease_states[0]) ?
		    lease_states[v] : "unknown";
		break;
	case KIND_CLOCK:
		s = gnomon_status__name(nla_get_u32((struct nlattr *)a));
		break;
	}
	if (quote)
		json_string(s);
	else
		fputs(s, stdout);
}

static int on_message(struct nl_msg *msg, void *arg)
{
	struct watch *w = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[GNOMON_A_MAX + 1];
	const char *event;
	int err;

	err = genlmsg_parse(nlh, 0, tb, GNOMON_A_MAX, policy);
	if (err < 0) {
		w->err = err;
		return NL_STOP;
	}
	event = gh->cmd <= GNOMON_CMD_MAX && events[gh->cmd] ? events[gh->cmd] :
		"unknown";
	if (w->ctl->json)
		printf("{\"event\":\"%s\"", event);
	else
		fputs(event, stdout);
	for (int i = 0; i <= GNOMON_A_MAX; i++) {
		if (!tb[i] || !attrs[i].key)
			continue;
		printf(w->ctl->json ? ",\"%s\":" : " %s=", attrs[i].key);
		print_value(tb[i], attrs[i].kind, w->ctl->json);
	}
	puts(w->ctl->json ? "}" : "");
	fflush(stdout);
	w->printed++;
	return NL_OK;
}

static int connect_family(struct nl_sock **sk, int *family)
{
	int err;

	*sk = nl_socket_alloc();
	if (!*sk)
		return -ENOMEM;
	err = genl_connect(*sk);
	if (!err) {
		*family = genl_ctrl_resolve(*sk, GNOMON_GENL_NAME);
		err = *family < 0 ? *family : 0;
	}
	if (err) {
		fprintf(stderr, "gnomonctl: netlink family '%s': %s (is gnomon.ko loaded?)\n",
			GNOMON_GENL_NAME, nl_geterror(err));
		nl_socket_free(*sk);
		*sk = NULL;
	}
	return err;
}

static int dump(struct watch *w)
{
	struct nl_sock *sk;
	struct nl_msg *msg;
	int family, err;

	if (connect_family(&sk, &family))
		return EXIT_FAILURE;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, w);
	msg = nlmsg_alloc();
	err = msg ? 0 : -NLE_NOMEM;
	if (!err && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_DUMP, GNOMON_CMD_LEASE_GET, GNOMON_GENL_VERSION))
		err = -NLE_NOMEM;
	if (!err)
		err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nlmsg_free(msg);
	nl_socket_free(sk);
	if (err < 0 || w->err) {
		fprintf(stderr, "gnomonctl: lease dump: %s\n",
			nl_geterror(err < 0 ? err : w->err));
		return EXIT_FAILURE;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int watch(struct watch *w, unsigned long count, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns ? mono_ns() + timeout_ns : 0;
	struct nl_sock *sk;
	int family, group, err;

	if (connect_family(&sk, &family))
		return EXIT_FAILURE;
	group = genl_ctrl_resolve_grp(sk, GNOMON_GENL_NAME, GNOMON_GENL_MCGRP_FENCING);
	err = group < 0 ? group : 0;
	if (!err) {
		nl_socket_disable_seq_check(sk);
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, w);
		err = nl_socket_add_membership(sk, group);
	}
	if (err) {
		fprintf(stderr, "gnomonctl: joining '%s': %s%s\n", GNOMON_GENL_MCGRP_FENCING,
			nl_geterror(err), err == -NLE_PERM ? " (needs CAP_SYS_ADMIN)" : "");
		nl_socket_free(sk);
		return EXIT_FAILURE;
	}
	/* Say we listen, so that a script can start causing events. */
	fprintf(stderr, "gnomonctl: monitoring %s/%s\n", GNOMON_GENL_NAME,
		GNOMON_GENL_MCGRP_FENCING);
	while (!err && !w->err && (!count || w->printed < count)) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
		int wait_ms = -1;

		if (deadline) {
			uint64_t now = mono_ns();

			if (now >= deadline)
				break;
			wait_ms = (int)((deadline - now + 999999) / 1000000);
		}
		if (poll(&pfd, 1, wait_ms) < 0) {
			err = errno == EINTR ? 0 : -NLE_FAILURE;
			continue;
		}
		if (pfd.revents)
			err = nl_recvmsgs_default(sk);
	}
	nl_socket_free(sk);
	if (err < 0 || w->err) {
		fprintf(stderr, "gnomonctl: monitor: %s\n",
			nl_geterror(err < 0 ? err : w->err));
		return EXIT_FAILURE;
	}
	return 0;
}

int cmd_monitor(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dump", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct watch w = { .ctl = ctl };
	__u64 count = 0, timeout = 0;
	bool do_dump = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, &count))
				return usage_error("bad --count '%s'", optarg);
			break;
		case 't':
			if (parse_duration(optarg, &timeout))
				return usage_error("bad --timeout '%s'", optarg);
			break;
		case 'd':
			do_dump = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	init_policy();
	return do_dump ? dump(&w) : watch(&w, (unsigned long)count, timeout);
}
