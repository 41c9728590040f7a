// SPDX-License-Identifier: GPL-2.0
/*
 * gnomonctl fence pr: SCSI-3 persistent reservations keyed by a fencing
 * token, on a gnomon-fence device (or any SCSI disk).
 *
 *   fence pr register DEVICE --token T
 *   fence pr reserve DEVICE --token T
 *   fence pr preempt-abort DEVICE --token T --victim V
 *   fence pr release DEVICE --token T
 *   fence pr clear DEVICE --token T
 *   fence pr takeover DEVICE --token T [--previous V] [--no-abort]
 *   fence pr show DEVICE
 *
 * The work is done by pr.c, which the fencing agent shares; this file
 * parses and prints.  A command that dm would not pass to the underlying
 * device went to it directly, and the output says so ("via").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnomonctl.h"
#include "parse.h"
#include "pr.h"

#define EXIT_USAGE	2

enum pr_action { PR_REGISTER, PR_RESERVE, PR_PREEMPT_ABORT, PR_RELEASE,
		 PR_CLEAR, PR_TAKEOVER, PR_SHOW };

static const char *const action_names[] = {
	[PR_REGISTER] = "register", [PR_RESERVE] = "reserve",
	[PR_PREEMPT_ABORT] = "preempt-abort", [PR_RELEASE] = "release",
	[PR_CLEAR] = "clear", [PR_TAKEOVER] = "takeover", [PR_SHOW] = "show",
};

static int pr_usage(const char *what)
{
	fprintf(stderr, "gnomonctl: fence pr: %s\n"
		"usage: gnomonctl fence pr register|reserve|release|clear DEVICE --token T\n"
		"       gnomonctl fence pr preempt-abort DEVICE --token T --victim V\n"
		"       gnomonctl fence pr takeover DEVICE --token T [--previous V] [--no-abort]\n"
		"       gnomonctl fence pr show DEVICE\n", what);
	return EXIT_USAGE;
}

static int pr_fail(const char *action, const char *device, int err)
{
	if (err == -EBADE)
		fprintf(stderr, "gnomonctl: fence pr %s %s: reservation conflict\n",
			action, device);
	else
		fprintf(stderr, "gnomonctl: fence pr %s %s: %s\n", action, device,
			strerror(-err));
	return EXIT_FAILURE;
}

static int pr_show(const struct ctl *ctl, struct pr_dev *dev,
		   const char *device)
{
	struct pr_reservation_info res;
	struct pr_keys keys;
	size_t i, have;
	int err;

	err = pr__read_keys(dev, &keys);
	if (!err)
		err = pr__read_reservation(dev, &res);
	if (err)
		return pr_fail("show", device, err);
	have = keys.nr < 32 ? keys.nr : 32;
	if (ctl->json) {
		printf("{\"device\":\"%s\",\"generation\":%" PRIu32 ",\"keys\":[",
		       device, keys.generation);
		for (i = 0; i < have; i++)
			printf("%s%" PRIu64, i ? "," : "", keys.keys[i]);
		printf("],\"reservation\":");
		if (res.held)
			printf("{\"key\":%" PRIu64 ",\"type\":\"%s\"}", res.key,
			       pr__scsi_type_name(res.scsi_type));
		else
			printf("null");
		printf("}\n");
		return 0;
	}
	printf("device       %s\ngeneration   %" PRIu32 "\nkeys        ", device,
	       keys.generation);
	if (!have)
		printf(" none");
	for (i = 0; i < have; i++)
		printf(" %" PRIu64 " (0x%" PRIx64 ")", keys.keys[i], keys.keys[i]);
	printf("\nreservation  ");
	if (res.held)
		printf("%" PRIu64 " (0x%" PRIx64 ") %s\n", res.key, res.key,
		       pr__scsi_type_name(res.scsi_type));
	else
		printf("none\n");
	return 0;
}

/* The keys a takeover preempted: comma-separated in JSON, else each after a space. */
static void pr_print_preempted(const struct pr_keys *keys, bool json)
{
	size_t i, have = keys->nr < 32 ? keys->nr : 32;

	for (i = 0; i < have; i++)
		printf(json ? "%s%" PRIu64 : "%s %" PRIu64, json && i ? "," : "",
		       keys->keys[i]);
}

static void pr_done(const struct ctl *ctl, const struct pr_dev *dev,
		    enum pr_action action, const char *device, uint64_t token,
		    const struct pr_keys *preempted)
{
	if (ctl->json) {
		printf("{\"device\":\"%s\",\"action\":\"%s\",\"key\":%" PRIu64
		       ",\"via\":\"%s\"", device, action_names[action], token,
		       dev->used_lower ? dev->lower : device);
		if (action == PR_TAKEOVER) {
			printf(",\"preempted\":[");
			pr_print_preempted(preempted, true);
			printf("]");
		}
		printf("}\n");
		return;
	}
	printf("%s: %s with key %" PRIu64 " (0x%" PRIx64 ")%s%s", device,
	       action_names[action], token, token,
	       dev->used_lower ? ", sent to " : "",
	       dev->used_lower ? dev->lower : "");
	if (action == PR_TAKEOVER) {
		printf(", preempted");
		if (!preempted->nr)
			printf(" none");
		pr_print_preempted(preempted, false);
	}
	printf("\n");
}

int cmd_fence(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, 't' },
		{ "victim", required_argument, NULL, 'v' },
		{ "previous", required_argument, NULL, 'p' },
		{ "no-abort", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t token = 0, victim = 0;
	bool have_token = false, have_victim = false, abort = true;
	enum pr_action action;
	struct pr_keys preempted = { 0 };
	struct pr_dev dev;
	const char *device;
	__u64 v;
	int c, err;

	if (argc < 4 || strcmp(argv[1], "pr"))
		return pr_usage("needs 'pr ACTION DEVICE'");
	for (action = PR_REGISTER; action <= PR_SHOW; action++)
		if (!strcmp(argv[2], action_names[action]))
			break;
	if (action > PR_SHOW)
		return pr_usage("unknown action");
	device = argv[3];
	optind = 0;
	while ((c = getopt_long(argc - 3, argv + 3, "", opts, NULL)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'n' && action == PR_TAKEOVER) {
			abort = false;
			continue;
		}
		if (c == 'n')
			return pr_usage("--no-abort is for takeover");
		if (parse_u64(optarg, &v) || !v)
			return pr_usage("a key is a decimal number above 0");
		if (c == 't') {
			token = v;
			have_token = true;
		} else if ((c == 'v' && action == PR_PREEMPT_ABORT) ||
			   (c == 'p' && action == PR_TAKEOVER)) {
			victim = v;
			have_victim = true;
		} else {
			return pr_usage("option not valid for this action");
		}
	}
	if (optind != argc - 3)
		return pr_usage("unexpected argument");
	if (action != PR_SHOW && !have_token)
		return pr_usage("needs --token T");
	if (action == PR_SHOW && have_token)
		return pr_usage("show takes no --token");
	if (action == PR_PREEMPT_ABORT && !have_victim)
		return pr_usage("preempt-abort needs --victim V");

	err = pr__open(device, &dev);
	if (err)
		return pr_fail(action_names[action], device, err);
	switch (action) {
	case PR_REGISTER:
		err = pr__register(&dev, token);
		break;
	case PR_RESERVE:
		err = pr__reserve(&dev, token, PR_FENCE_TYPE);
		break;
	case PR_PREEMPT_ABORT:
		err = pr__preempt_abort(&dev, token, victim, PR_FENCE_TYPE);
		break;
	case PR_RELEASE:
		err = pr__release(&dev, token, PR_FENCE_TYPE);
		break;
	case PR_CLEAR:
		err = pr__clear(&dev, token);
		break;
	case PR_TAKEOVER:
		err = pr__takeover(&dev, token, victim, abort, &preempted);
		break;
	case PR_SHOW:
		err = pr_show(ctl, &dev, device);
		pr__close(&dev);
		return err;
	}
	if (!err)
		pr_done(ctl, &dev, action, device, token, &preempted);
	pr__close(&dev);
	return err ? pr_fail(action_names[action], device, err) : 0;
}
