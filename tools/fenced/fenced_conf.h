/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnomon-fenced's configuration: /etc/gnomon/fenced.conf, then the flags.
 *
 * The file is ini-like: one "key = value" a line, '#' starts a comment
 * line, blank lines are ignored.  Parsing is strict: an unknown key, a key
 * given twice, a line without '=' or a bad value is an error naming the
 * file and line.  Numbers and durations follow tools/common/gparse's unit
 * rule (a bare number is seconds).  A flag sets the same key through the
 * same function, so a flag and a line accept exactly the same values; flags
 * are applied after the file and override it.
 *
 * Keys: endpoints (comma-separated host:port, tried in order), lock (the
 * gnomond lock name), resource (the gnomon.ko lease the gnomon-fence table
 * names), device (the gnomon-fence dm device, for PR), holder (default:
 * the host name), ttl (whole seconds, default 1s: etcd's TTL unit), margin
 * (default 100ms, below ttl), pr (on|off, default on: then device is
 * required), pr_abort (on|off, default on: the takeover preempts with
 * PREEMPT AND ABORT; off: a plain PREEMPT, for targets where the abort
 * does not complete), status_file (rewritten on every state change).
 */
#ifndef GNOMON_FENCED_CONF_H
#define GNOMON_FENCED_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FENCED_CONF_PATH	"/etc/gnomon/fenced.conf"
#define FENCED_ENDPOINTS_MAX	16
#define FENCED_STR_MAX		256
#define FENCED_ERR_MAX		320

struct fenced_conf {
	char endpoints[FENCED_ENDPOINTS_MAX][FENCED_STR_MAX];
	int nendpoints;
	char lock[FENCED_STR_MAX];
	char resource[64];		/* GNOMON_LEASE_NAME_MAX */
	char device[FENCED_STR_MAX];
	char holder[64];		/* GNOMON_LEASE_HOLDER_MAX */
	char status_file[FENCED_STR_MAX];
	uint64_t ttl_ns;
	uint64_t margin_ns;
	bool pr;
	bool pr_abort;
	unsigned int seen;		/* keys set from the file, a bit each */
};

/* Defaults: ttl 1s, margin 100ms, pr and pr_abort on, holder = the host name. */
void fenced_conf__init(struct fenced_conf *c);
/* Set KEY to VALUE (a file line or a flag): 0 or -EINVAL with ERR filled. */
int fenced_conf__set(struct fenced_conf *c, const char *key,
		     const char *value, char err[FENCED_ERR_MAX]);
/* The text of a config file called NAME (for messages). */
int fenced_conf__parse(struct fenced_conf *c, const char *text,
		       const char *name, char err[FENCED_ERR_MAX]);
/* Read and parse PATH: 0, -ENOENT (no file) or -EINVAL with ERR. */
int fenced_conf__load(struct fenced_conf *c, const char *path,
		      char err[FENCED_ERR_MAX]);
/* After file and flags: required keys present, margin below ttl. */
int fenced_conf__check(const struct fenced_conf *c, char err[FENCED_ERR_MAX]);

#endif
