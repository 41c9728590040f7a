// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of gnomon-fenced's configuration parser (tools/fenced/fenced_conf.c):
 * a good file with every key, the defaults, flags overriding the file, and
 * bad files that must each be refused with a message naming the line:
 * unknown keys, duplicates, missing '=', bad durations and units, a ttl that
 * is not whole seconds, a margin not below the ttl, bad names and endpoints,
 * missing required keys.  Run under ASan and UBSan.
 */
#include "../ktap.h"
#include "../../tools/fenced/fenced_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char good[] =
	"# gnomon-fenced\n"
	"\n"
	"endpoints = 127.0.0.1:2379, http://[::1]:2380 ,gd3:2379\n"
	"  lock=shared0\t\n"
	"resource = shared0.lease\n"
	"device = /dev/dm-3\n"
	"holder = node-a\n"
	"ttl = 2s\n"
	"margin = 150ms\n"
	"pr = off\n"
	"pr_abort = off\n"
	"status_file = /run/gnomon/fenced.status\n";

KTAP_TEST(fenced_conf_good_file)
{
	struct fenced_conf c;
	char err[FENCED_ERR_MAX] = "";

	fenced_conf__init(&c);
	KTAP_ASSERT(t, fenced_conf__parse(&c, good, "good", err) == 0, "%s", err);
	KTAP_EXPECT(t, c.nendpoints == 3, "%d endpoints", c.nendpoints);
	KTAP_EXPECT(t, !strcmp(c.endpoints[1], "http://[::1]:2380"), "'%s'",
		    c.endpoints[1]);
	KTAP_EXPECT(t, !strcmp(c.lock, "shared0"), "lock '%s'", c.lock);
	KTAP_EXPECT(t, !strcmp(c.resource, "shared0.lease"), "resource");
	KTAP_EXPECT(t, !strcmp(c.device, "/dev/dm-3"), "device");
	KTAP_EXPECT(t, !strcmp(c.holder, "node-a"), "holder");
	KTAP_EXPECT(t, c.ttl_ns == 2000000000ULL, "ttl %llu",
		    (unsigned long long)c.ttl_ns);
	KTAP_EXPECT(t, c.margin_ns == 150000000ULL, "margin");
	KTAP_EXPECT(t, !c.pr, "pr off");
	KTAP_EXPECT(t, !c.pr_abort, "pr_abort off");
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == 0, "%s", err);
}

KTAP_TEST(fenced_conf_defaults_and_flags)
{
	struct fenced_conf c;
	char err[FENCED_ERR_MAX] = "";

	fenced_conf__init(&c);
	KTAP_EXPECT(t, c.ttl_ns == 1000000000ULL && c.margin_ns == 100000000ULL &&
		    c.pr && c.pr_abort, "ttl 1s, margin 100ms, pr and pr_abort on");
	KTAP_EXPECT(t, fenced_conf__parse(&c, "lock = a\nttl = 1\n", "f", err) == 0,
		    "%s", err);
	/* A flag after the file: the same setter, overriding. */
	KTAP_EXPECT(t, fenced_conf__set(&c, "lock", "b", err) == 0 &&
		    !strcmp(c.lock, "b"), "flag overrides");
	KTAP_EXPECT(t, fenced_conf__set(&c, "ttl", "3s", err) == 0 &&
		    c.ttl_ns == 3000000000ULL, "ttl flag");
	KTAP_EXPECT(t, fenced_conf__set(&c, "bogus", "1", err) == -EINVAL &&
		    strstr(err, "unknown key 'bogus'"), "unknown flag key: %s", err);
	/* Required keys, one at a time. */
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == -EINVAL &&
		    strstr(err, "endpoints"), "no endpoints: %s", err);
	fenced_conf__set(&c, "endpoints", "127.0.0.1:1", err);
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == -EINVAL &&
		    strstr(err, "resource"), "no resource: %s", err);
	fenced_conf__set(&c, "resource", "r", err);
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == -EINVAL &&
		    strstr(err, "device"), "pr on without a device: %s", err);
	fenced_conf__set(&c, "pr", "off", err);
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == 0, "complete: %s", err);
	fenced_conf__set(&c, "margin", "3s", err);
	KTAP_EXPECT(t, fenced_conf__check(&c, err) == -EINVAL &&
		    strstr(err, "below ttl"), "margin >= ttl: %s", err);
}

static const struct {
	const char *text;
	const char *want;	/* in the message */
} bad[] = {
	{ "lock = a\nfoo = 1\n", "f:2: unknown key 'foo'" },
	{ "lock = a\nlock = b\n", "f:2: lock given twice" },
	{ "lock\n", "f:1: expected 'key = value'" },
	{ "ttl = 1.5s\n", "whole seconds" },
	{ "ttl = 0\n", "whole seconds" },
	{ "ttl = 2h\n", "whole seconds" },
	{ "ttl = 1 s\n", "bad ttl" },
	{ "ttl = -1\n", "bad ttl" },
	{ "margin = 10 ms\n", "bad margin" },
	{ "margin = 10fortnights\n", "bad margin" },
	{ "margin = 99999999999999999999\n", "bad margin" },
	{ "margin =\n", "bad margin" },
	{ "pr = yes\n", "pr must be on or off" },
	{ "pr_abort = 1\n", "pr_abort must be on or off" },
	{ "resource = a/b\n", "bad resource" },
	{ "resource = ..\n", "bad resource" },
	{ "resource = 0123456789012345678901234567890123456789012345678901234567890123\n",
	  "longer than 63" },
	{ "holder = a b\n", "bad holder" },
	{ "device = dm-0\n", "not a path" },
	{ "status_file = x\n", "not an absolute path" },
	{ "endpoints = host\n", "bad endpoint 'host'" },
	{ "endpoints = h:0\n", "bad endpoint" },
	{ "endpoints = h:65536\n", "bad endpoint" },
	{ "endpoints = a:1,,b:2\n", "bad endpoints" },
	{ "endpoints = a:1,\n", "bad endpoints" },
	{ "lock =\n", "lock is empty" },
};

KTAP_TEST(fenced_conf_bad_files)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fenced_conf c;
		char err[FENCED_ERR_MAX] = "";
		int ret;

		fenced_conf__init(&c);
		ret = fenced_conf__parse(&c, bad[i].text, "f", err);
		KTAP_EXPECT(t, ret == -EINVAL && strstr(err, bad[i].want),
			    "bad file %zu refused with '%s': ret %d, '%s'", i,
			    bad[i].want, ret, err);
	}
}

KTAP_TEST(fenced_conf_load)
{
	char path[] = "/tmp/fenced_conf_test.XXXXXX";
	char err[FENCED_ERR_MAX] = "";
	struct fenced_conf c;
	int fd = mkstemp(path);

	KTAP_ASSERT(t, fd >= 0, "mkstemp");
	KTAP_ASSERT(t, write(fd, good, sizeof(good) - 1) == (ssize_t)sizeof(good) - 1,
		    "write");
	close(fd);
	fenced_conf__init(&c);
	KTAP_EXPECT(t, fenced_conf__load(&c, path, err) == 0 && c.nendpoints == 3,
		    "loads: %s", err);
	/* A NUL inside the file is refused, not read as the end. */
	fd = open(path, O_WRONLY | O_APPEND);
	KTAP_ASSERT(t, fd >= 0 && write(fd, "\0x = 1\n", 7) == 7, "append");
	close(fd);
	fenced_conf__init(&c);
	KTAP_EXPECT(t, fenced_conf__load(&c, path, err) == -EINVAL &&
		    strstr(err, "NUL"), "NUL refused: %s", err);
	unlink(path);
	fenced_conf__init(&c);
	KTAP_EXPECT(t, fenced_conf__load(&c, path, err) == -ENOENT,
		    "a missing file is -ENOENT");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
