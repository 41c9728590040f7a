// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-lincheck on hand-written histories of one register: the ones that
 * are linearizable must pass, and each classic anomaly (stale read after a
 * completed write, lost write, read of a value never written, concurrent
 * writes seen in contradictory orders, a cas that could not have swapped,
 * a timed-out write observed before it was sent) must be caught and
 * reported at the operation that exposes it.
 */
#include <errno.h>

#include "../ktap.h"
#include "lincheck.h"

/* Check a history given as text lines; the report goes to rep (if any). */
static int check_text(const char *const *lines, char *rep, size_t replen)
{
	struct lincheck_history *h;
	struct lincheck_report r;
	struct lincheck_opts o = { 0 };
	char err[256];
	FILE *f = NULL;
	int ret;

	if (lincheck_history__new(&h))
		return -ENOMEM;
	for (uint32_t i = 0; lines[i]; i++) {
		ret = lincheck_history__parse_line(h, lines[i], i + 1, err,
						   sizeof(err));
		if (ret) {
			ktap_diag("parse: %s", err);
			lincheck_history__free(h);
			return ret;
		}
	}
	if (rep) {
		f = fmemopen(rep, replen, "w");
		o.report = f;
	}
	ret = lincheck_history__check(h, &o, &r);
	if (f)
		fclose(f);
	lincheck_history__free(h);
	return ret;
}

KTAP_TEST(empty_history_is_linearizable)
{
	const char *lines[] = { "# nothing", "", NULL };

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "empty");
}

KTAP_TEST(sequential_ops_pass)
{
	const char *lines[] = {
		"c=1 op=get k=x t0=0 t1=5 st=ok",
		"c=1 op=put k=x v=a t0=10 t1=20 st=ok",
		"c=2 op=get k=x v=a t0=30 t1=40 st=ok",
		"c=2 op=cas k=x from=a v=b swapped=1 t0=50 t1=60 st=ok",
		"c=1 op=cas k=x from=a v=c swapped=0 t0=70 t1=80 st=ok",
		"c=1 op=get k=x v=b t0=90 t1=95 st=ok",
		"c=3 op=del k=x t0=100 t1=110 st=ok",
		"c=3 op=get k=x v= t0=120 t1=130 st=ok",
		"c=3 op=cas k=x from= v=d swapped=1 t0=140 t1=150 st=ok",
		"c=2 op=get k=x v=d t0=160 t1=170 st=ok",
		NULL,
	};

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "sequential");
}

KTAP_TEST(concurrent_reads_see_either_side_of_a_write)
{
	/* The write spans both reads: one sees it, the other does not. */
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=1 op=put k=x v=b t0=20 t1=100 st=ok",
		"c=2 op=get k=x v=b t0=30 t1=40 st=ok",
		"c=3 op=get k=x v=a t0=25 t1=35 st=ok",
		"c=4 op=get k=x v=b t0=50 t1=60 st=ok",
		NULL,
	};

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "overlap");
}

KTAP_TEST(unknown_outcomes_may_or_may_not_happen)
{
	/* b timed out but was applied; c timed out and never was. */
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=put k=x v=b t0=20 st=info",
		"c=3 op=put k=x v=c t0=25 st=info",
		"c=4 op=get k=x v=a t0=30 t1=40 st=ok",
		"c=4 op=get k=x v=b t0=500 t1=510 st=ok",
		"c=5 op=put k=x v=z t0=600 t1=610 st=fail",
		"c=5 op=get k=x t0=620 t1=630 st=info",
		"c=4 op=get k=x v=b t0=700 t1=710 st=ok",
		NULL,
	};

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "info");
}

KTAP_TEST(touching_intervals_are_concurrent)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=get k=x t0=10 t1=10 st=ok",
		NULL,
	};

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "touching");
}

KTAP_TEST(keys_are_independent)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=1 op=put k=y v=b t0=20 t1=30 st=ok",
		"c=2 op=get k=y v=b t0=40 t1=50 st=ok",
		"c=2 op=get k=x v=a t0=60 t1=70 st=ok",
		NULL,
	};

	KTAP_EXPECT(t, check_text(lines, NULL, 0) == 0, "two keys");
}

static void expect_violation(struct ktap *t, const char *const *lines,
			     const char *culprit)
{
	char rep[4096] = "";
	int ret = check_text(lines, rep, sizeof(rep));

	KTAP_EXPECT(t, ret == -EDOM, "check returned %d, report: %s", ret, rep);
	KTAP_EXPECT(t, strstr(rep, culprit), "report lacks '%s': %s", culprit,
		    rep);
}

KTAP_TEST(stale_read_after_completed_write_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=1 op=put k=x v=b t0=20 t1=30 st=ok",
		"c=2 op=get k=x v=a t0=40 t1=50 st=ok",
		NULL,
	};

	expect_violation(t, lines, "line 3:");
}

KTAP_TEST(lost_write_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=get k=x t0=20 t1=30 st=ok",
		NULL,
	};

	expect_violation(t, lines, "line 2:");
}

KTAP_TEST(read_of_never_written_value_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=get k=x v=ghost t0=5 t1=30 st=ok",
		NULL,
	};

	expect_violation(t, lines, "v=ghost");
}

KTAP_TEST(contradictory_orders_of_concurrent_writes_are_caught)
{
	/* Two writes run concurrently; two readers see them in opposite order. */
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=200 st=ok",
		"c=2 op=put k=x v=b t0=0 t1=200 st=ok",
		"c=3 op=get k=x v=a t0=50 t1=55 st=ok",
		"c=3 op=get k=x v=b t0=70 t1=75 st=ok",
		"c=4 op=get k=x v=b t0=50 t1=55 st=ok",
		"c=4 op=get k=x v=a t0=70 t1=75 st=ok",
		NULL,
	};

	expect_violation(t, lines, "not linearizable");
}

KTAP_TEST(impossible_cas_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=cas k=x from=b v=c swapped=1 t0=20 t1=30 st=ok",
		NULL,
	};

	expect_violation(t, lines, "op=cas");
}

KTAP_TEST(failed_cas_that_should_have_swapped_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=2 op=cas k=x from=a v=c swapped=0 t0=20 t1=30 st=ok",
		NULL,
	};

	expect_violation(t, lines, "swapped=0");
}

KTAP_TEST(read_before_an_unknown_write_was_sent_is_caught)
{
	const char *lines[] = {
		"c=1 op=get k=x v=late t0=0 t1=10 st=ok",
		"c=2 op=put k=x v=late t0=20 st=info",
		NULL,
	};

	expect_violation(t, lines, "line 1:");
}

KTAP_TEST(read_after_delete_is_caught)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=ok",
		"c=1 op=del k=x t0=20 t1=30 st=ok",
		"c=2 op=get k=x v=a t0=40 t1=50 st=ok",
		NULL,
	};

	expect_violation(t, lines, "line 3:");
}

KTAP_TEST(a_failed_write_is_never_observed)
{
	const char *lines[] = {
		"c=1 op=put k=x v=a t0=0 t1=10 st=fail",
		"c=2 op=get k=x v=a t0=20 t1=30 st=ok",
		NULL,
	};

	expect_violation(t, lines, "v=a");
}

KTAP_TEST(only_the_bad_key_is_reported)
{
	const char *lines[] = {
		"c=1 op=put k=good v=a t0=0 t1=10 st=ok",
		"c=1 op=put k=bad v=a t0=0 t1=10 st=ok",
		"c=2 op=get k=good v=a t0=20 t1=30 st=ok",
		"c=2 op=get k=bad v=z t0=20 t1=30 st=ok",
		NULL,
	};
	char rep[4096] = "";

	KTAP_EXPECT(t, check_text(lines, rep, sizeof(rep)) == -EDOM, "%s", rep);
	KTAP_EXPECT(t, strstr(rep, "key bad:") && !strstr(rep, "key good"),
		    "%s", rep);
}

KTAP_TEST(malformed_lines_are_rejected)
{
	static const char *const bad[] = {
		"c=1 op=put k=x t0=0 t1=1 st=ok",		/* no value */
		"c=1 op=get k=x t0=5 t1=1 st=ok",		/* ends first */
		"c=1 op=zap k=x t0=0 t1=1 st=ok",		/* unknown op */
		"c=1 op=get k=x t0=0 t1=1 st=maybe",		/* status */
		"c=1 op=get t0=0 t1=1 st=ok",			/* no key */
		"c=1 op=get k=x k=y t0=0 t1=1 st=ok",		/* repeated */
		"c=1 op=get k=x t0=0 t1=1 st=ok color=red",	/* unknown */
		"c=1 op=cas k=x v=b t0=0 t1=1 st=ok swapped=1",	/* no from */
		"c=1 op=cas k=x from=a v=b t0=0 t1=1 st=ok",	/* no swapped */
		"c=x op=get k=x t0=0 t1=1 st=ok",		/* client */
		"c=1 op=get k=x t0=0 t1=1e3 st=ok",		/* time */
		"c=1 op=get k=x t0=0 st=ok",			/* no t1 */
	};
	struct lincheck_history *h;
	char err[256];

	KTAP_ASSERT(t, lincheck_history__new(&h) == 0, "new");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		KTAP_EXPECT(t, lincheck_history__parse_line(h, bad[i], 7, err,
				sizeof(err)) == -EINVAL, "accepted: %s", bad[i]);
		KTAP_EXPECT(t, !strncmp(err, "line 7:", 7), "message: %s", err);
	}
	lincheck_history__free(h);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
