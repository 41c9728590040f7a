// SPDX-License-Identifier: GPL-2.0
/*
 * gnomonctl output: one human-readable form and one JSON object per
 * command.  A void interval (unsynchronized, disrupted) prints as
 * "unbounded" for people and as null bounds in JSON, never as numbers that
 * could be mistaken for a real interval.  Usage errors are printed here
 * too, so that the subcommands' files (lease.c, monitor.c) and
 * gnomonctl.c, which dispatches to them, call this file and not each other.
 */
#include <stdio.h>
#include <string.h>

#include "gnomonctl.h"

#define SYSFS_DIR	"/sys/class/misc/gnomon/"

int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gnomonctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'gnomonctl --help'.\n");
	return EXIT_USAGE;
}

static const char *const counters[] = {
	"reads", "hlc_ticks", "hlc_updates", "hlc_rejections",
	"status_changes", "disciplines", "commit_waits", "commit_wait_timeouts",
	"clock_steps", "lease_stale_refused",
};

static bool bounded(const struct gnomon_tt *tt)
{
	return tt->bound_ns != GNOMON_BOUND_INFINITE;
}

static void json_u64_or_null(const char *key, bool present, uint64_t v,
			     const char *sep)
{
	if (present)
		printf("\"%s\":%llu%s", key, (unsigned long long)v, sep);
	else
		printf("\"%s\":null%s", key, sep);
}

static void json_tt_fields(const struct ctl *ctl, const struct gnomon_tt *tt)
{
	json_u64_or_null("earliest_ns", bounded(tt), tt->earliest_ns, ",");
	json_u64_or_null("latest_ns", bounded(tt), tt->latest_ns, ",");
	json_u64_or_null("bound_ns", bounded(tt), tt->bound_ns, ",");
	printf("\"realtime_ns\":%llu,\"status\":\"%s\",\"step_detected\":%s,"
	       "\"source\":\"%s\",\"clock_source\":\"%s\"",
	       (unsigned long long)tt->realtime_ns,
	       gnomon_status__name(tt->status),
	       tt->flags & GNOMON_TT_STEP_DETECTED ? "true" : "false",
	       gnomon_time_source__name(gnomon_client__source(ctl->client)),
	       gnomon_clock_source__name(gnomon_client__clock_source(ctl->client)));
}

static void json_hlc(const struct ctl *ctl, const struct gnomon_hlc *ts)
{
	printf("\"hlc\":{\"wall_ns\":%llu,\"logical\":%u,\"scope\":\"%s\"}",
	       (unsigned long long)ts->wall_ns, ts->logical,
	       gnomon_hlc_scope__name(gnomon_client__hlc_scope(ctl->client)));
}

static void human_tt(const struct ctl *ctl, const struct gnomon_tt *tt)
{
	if (bounded(tt)) {
		printf("earliest  %llu\nlatest    %llu\nbound     %llu ns\n",
		       (unsigned long long)tt->earliest_ns,
		       (unsigned long long)tt->latest_ns,
		       (unsigned long long)tt->bound_ns);
	} else {
		printf("interval  unbounded (no trustworthy bound)\n");
	}
	printf("status    %s%s\nsource    %s (disciplined by %s)\n",
	       gnomon_status__name(tt->status),
	       tt->flags & GNOMON_TT_STEP_DETECTED ? " (clock step detected)" : "",
	       gnomon_time_source__name(gnomon_client__source(ctl->client)),
	       gnomon_clock_source__name(gnomon_client__clock_source(ctl->client)));
}

void print_now(const struct ctl *ctl, const struct gnomon_tt *tt,
	       const struct gnomon_hlc *hlc)
{
	if (ctl->json) {
		putchar('{');
		json_tt_fields(ctl, tt);
		putchar(',');
		json_hlc(ctl, hlc);
		puts("}");
		return;
	}
	human_tt(ctl, tt);
	printf("hlc       %llu.%u (%s)\n", (unsigned long long)hlc->wall_ns,
	       hlc->logical,
	       gnomon_hlc_scope__name(gnomon_client__hlc_scope(ctl->client)));
}

/* Counters exist only with the kernel module; absent ones are skipped. */
static bool read_counter(const char *name, unsigned long long *v)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), SYSFS_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fscanf(f, "%llu", v);
	fclose(f);
	return n == 1;
}

static void print_counters(const struct ctl *ctl)
{
	bool first = true;
	unsigned long long v;
	size_t i;

	if (gnomon_client__source(ctl->client) != GNOMON_FROM_KERNEL)
		return;
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (!read_counter(counters[i], &v))
			continue;
		if (ctl->json)
			printf("%s\"%s\":%llu", first ? ",\"counters\":{" : ",",
			       counters[i], v);
		else
			printf("%-21s %llu\n", counters[i], v);
		first = false;
	}
	if (ctl->json && !first)
		putchar('}');
}

static void json_config(const struct gnomon_config *cfg)
{
	printf("\"max_offset_ns\":%llu,\"holdover_ns\":%llu,\"drift_ppb\":%u,"
	       "\"freerun_intervals\":%u",
	       (unsigned long long)cfg->max_offset_ns,
	       (unsigned long long)cfg->holdover_ns, cfg->drift_ppb,
	       cfg->freerun_intervals);
}

static void human_config(const struct gnomon_config *cfg)
{
	printf("max offset         %llu ns\nholdover           %llu ns\n"
	       "drift bound        %u ppb\nfree-run after     %u intervals\n",
	       (unsigned long long)cfg->max_offset_ns,
	       (unsigned long long)cfg->holdover_ns, cfg->drift_ppb,
	       cfg->freerun_intervals);
}

void print_status(const struct ctl *ctl, const struct gnomon_tt *tt,
		  const struct gnomon_config *cfg)
{
	if (ctl->json) {
		putchar('{');
		json_tt_fields(ctl, tt);
		printf(",\"hlc_scope\":\"%s\"",
		       gnomon_hlc_scope__name(gnomon_client__hlc_scope(ctl->client)));
		if (cfg) {
			printf(",\"config\":{");
			json_config(cfg);
			putchar('}');
		}
		print_counters(ctl);
		puts("}");
		return;
	}
	human_tt(ctl, tt);
	printf("hlc scope %s\n",
	       gnomon_hlc_scope__name(gnomon_client__hlc_scope(ctl->client)));
	if (cfg)
		human_config(cfg);
	print_counters(ctl);
}

void print_hlc(const struct ctl *ctl, const struct gnomon_hlc *ts)
{
	if (ctl->json) {
		putchar('{');
		json_hlc(ctl, ts);
		puts("}");
		return;
	}
	printf("%llu.%u\n", (unsigned long long)ts->wall_ns, ts->logical);
}

void print_waited(const struct ctl *ctl, uint64_t until_ns,
		  const struct gnomon_tt *tt)
{
	if (ctl->json) {
		printf("{\"until_ns\":%llu,", (unsigned long long)until_ns);
		json_tt_fields(ctl, tt);
		puts("}");
		return;
	}
	printf("waited until earliest %llu > %llu\n",
	       (unsigned long long)tt->earliest_ns, (unsigned long long)until_ns);
}

void print_config(const struct ctl *ctl, const struct gnomon_config *cfg)
{
	if (ctl->json) {
		putchar('{');
		json_config(cfg);
		puts("}");
		return;
	}
	human_config(cfg);
}

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}
