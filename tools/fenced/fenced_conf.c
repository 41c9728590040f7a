// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-fenced's configuration parser (see fenced_conf.h).  Every value
 * goes through fenced_conf__set(), whether it came from the file or from a
 * flag, and every error names what was wrong; nothing is guessed.
 */
#include "fenced_conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/gparse.h"

#define NS_PER_S	1000000000ULL
#define TTL_MAX_S	3600

enum conf_key {
	K_ENDPOINTS, K_LOCK, K_RESOURCE, K_DEVICE, K_HOLDER, K_TTL, K_MARGIN,
	K_PR, K_PR_ABORT, K_STATUS_FILE, K_NR,
};

static const char *const key_names[K_NR] = {
	[K_ENDPOINTS] = "endpoints", [K_LOCK] = "lock",
	[K_RESOURCE] = "resource", [K_DEVICE] = "device",
	[K_HOLDER] = "holder", [K_TTL] = "ttl", [K_MARGIN] = "margin",
	[K_PR] = "pr", [K_PR_ABORT] = "pr_abort",
	[K_STATUS_FILE] = "status_file",
};

static int fail(char err[FENCED_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, FENCED_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void fenced_conf__init(struct fenced_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->ttl_ns = NS_PER_S;
	c->margin_ns = 100000000ULL;
	c->pr = true;
	c->pr_abort = true;
	if (gethostname(c->holder, sizeof(c->holder) - 1))
		c->holder[0] = 0;
	c->holder[sizeof(c->holder) - 1] = 0;
}

static int copy(char *dst, size_t size, const char *v, const char *key,
		char err[FENCED_ERR_MAX])
{
	size_t len = strlen(v);

	if (!len)
		return fail(err, "%s is empty", key);
	if (len >= size)
		return fail(err, "%s '%s' is longer than %zu bytes", key, v,
			    size - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

/* gnomon.ko's rule for a resource name: [A-Za-z0-9._-], not . or .. */
static bool resource_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == strlen(s);
}

/* host:port with a port 1..65535; "http://" in front is allowed. */
static int endpoint_ok(const char *e)
{
	const char *colon;
	uint64_t port;

	if (!strncmp(e, "http://", 7))
		e += 7;
	colon = strrchr(e, ':');
	if (!colon || colon == e || !printable(e) ||
	    gparse__u64(colon + 1, &port) || !port || port > 65535)
		return 0;
	return 1;
}

static int set_endpoints(struct fenced_conf *c, const char *v,
			 char err[FENCED_ERR_MAX])
{
	const char *p = v;

	c->nendpoints = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		char *e;

		if (c->nendpoints == FENCED_ENDPOINTS_MAX)
			return fail(err, "more than %d endpoints",
				    FENCED_ENDPOINTS_MAX);
		if (!len || len >= FENCED_STR_MAX)
			return fail(err, "bad endpoints '%s'", v);
		e = c->endpoints[c->nendpoints];
		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		memcpy(e, p, len);
		while (len && (e[len - 1] == ' ' || e[len - 1] == '\t'))
			len--;
		e[len] = 0;
		if (!len)
			return fail(err, "bad endpoints '%s'", v);
		if (!endpoint_ok(e))
			return fail(err, "bad endpoint '%s' (host:port)", e);
		c->nendpoints++;
		p += strcspn(p, ",");
		if (!*p)
			return 0;
		p++;
	}
}

static int set_duration(uint64_t *out, const char *v, const char *key,
			char err[FENCED_ERR_MAX])
{
	if (gparse__duration(v, out))
		return fail(err, "bad %s '%s' (a duration: digits, then ns, us, ms, s, m or h; a bare number is seconds)",
			    key, v);
	return 0;
}

static int set_switch(bool *dst, const char *v, const char *key,
		      char err[FENCED_ERR_MAX])
{
	if (!strcmp(v, "on"))
		*dst = true;
	else if (!strcmp(v, "off"))
		*dst = false;
	else
		return fail(err, "%s must be on or off, not '%s'", key, v);
	return 0;
}

static int set_key(struct fenced_conf *c, enum conf_key k, const char *v,
		   char err[FENCED_ERR_MAX])
{
	const char *name = key_names[k];

	switch (k) {
	case K_ENDPOINTS:
		return set_endpoints(c, v, err);
	case K_LOCK:
		if (copy(c->lock, sizeof(c->lock), v, name, err))
			return -EINVAL;
		return printable(v) ? 0 : fail(err, "bad lock '%s'", v);
	case K_RESOURCE:
		if (copy(c->resource, sizeof(c->resource), v, name, err))
			return -EINVAL;
		return resource_ok(v) ? 0 :
		       fail(err, "bad resource '%s' (names are [A-Za-z0-9._-])", v);
	case K_DEVICE:
		if (copy(c->device, sizeof(c->device), v, name, err))
			return -EINVAL;
		return v[0] == '/' ? 0 : fail(err, "device '%s' is not a path", v);
	case K_HOLDER:
		if (copy(c->holder, sizeof(c->holder), v, name, err))
			return -EINVAL;
		return printable(v) ? 0 : fail(err, "bad holder '%s'", v);
	case K_STATUS_FILE:
		if (copy(c->status_file, sizeof(c->status_file), v, name, err))
			return -EINVAL;
		return v[0] == '/' ? 0 :
		       fail(err, "status_file '%s' is not an absolute path", v);
	case K_TTL:
		if (set_duration(&c->ttl_ns, v, name, err))
			return -EINVAL;
		if (!c->ttl_ns || c->ttl_ns % NS_PER_S ||
		    c->ttl_ns > TTL_MAX_S * NS_PER_S)
			return fail(err, "ttl '%s' must be whole seconds from 1s to %ds (etcd's lease TTL is in seconds)",
				    v, TTL_MAX_S);
		return 0;
	case K_MARGIN:
		return set_duration(&c->margin_ns, v, name, err);
	case K_PR:
		return set_switch(&c->pr, v, name, err);
	case K_PR_ABORT:
		return set_switch(&c->pr_abort, v, name, err);
	case K_NR:
		break;
	}
	return fail(err, "unknown key");
}

static int lookup(const char *key)
{
	for (int k = 0; k < K_NR; k++)
		if (!strcmp(key, key_names[k]))
			return k;
	return -1;
}

int fenced_conf__set(struct fenced_conf *c, const char *key,
		     const char *value, char err[FENCED_ERR_MAX])
{
	int k = lookup(key);

	if (k < 0)
		return fail(err, "unknown key '%s'", key);
	return set_key(c, k, value, err);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r'))
		*--end = 0;
	return s;
}

static int parse_line(struct fenced_conf *c, char *line, const char *name,
		      int lineno, char err[FENCED_ERR_MAX])
{
	char msg[FENCED_ERR_MAX];
	char *eq, *key, *value;
	int k;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return fail(err, "%s:%d: expected 'key = value'", name, lineno);
	*eq = 0;
	key = trim(line);
	value = trim(eq + 1);
	k = lookup(key);
	if (k < 0)
		return fail(err, "%s:%d: unknown key '%s'", name, lineno, key);
	if (c->seen & (1U << k))
		return fail(err, "%s:%d: %s given twice", name, lineno, key);
	c->seen |= 1U << k;
	if (set_key(c, k, value, msg))
		return fail(err, "%s:%d: %s", name, lineno, msg);
	return 0;
}

int fenced_conf__parse(struct fenced_conf *c, const char *text,
		       const char *name, char err[FENCED_ERR_MAX])
{
	char *buf = strdup(text), *line, *nl;
	int lineno = 0, ret = 0;

	if (!buf)
		return fail(err, "%s: out of memory", name);
	for (line = buf; line && !ret; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		ret = parse_line(c, line, name, ++lineno, err);
	}
	free(buf);
	return ret;
}

int fenced_conf__load(struct fenced_conf *c, const char *path,
		      char err[FENCED_ERR_MAX])
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!f) {
		fail(err, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -ENOENT : -EINVAL;
	}
	{
		FILE *m = open_memstream(&text, &len);
		char buf[4096];
		size_t n;

		if (!m) {
			fclose(f);
			return fail(err, "%s: out of memory", path);
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, m);
		ret = ferror(f);
		fclose(m);
	}
	fclose(f);
	if (ret) {
		free(text);
		return fail(err, "%s: read error", path);
	}
	if (memchr(text, 0, len)) {
		free(text);
		return fail(err, "%s: a NUL byte in the file", path);
	}
	ret = fenced_conf__parse(c, text, path, err);
	free(text);
	return ret;
}

int fenced_conf__check(const struct fenced_conf *c, char err[FENCED_ERR_MAX])
{
	if (!c->nendpoints)
		return fail(err, "no endpoints (endpoints = host:port,...)");
	if (!c->lock[0])
		return fail(err, "no lock name (lock = NAME)");
	if (!c->resource[0])
		return fail(err, "no kernel lease resource (resource = NAME)");
	if (!c->holder[0])
		return fail(err, "no holder id (holder = ID)");
	if (c->pr && !c->device[0])
		return fail(err, "pr = on needs device = /dev/... (the gnomon-fence device)");
	if (c->margin_ns >= c->ttl_ns)
		return fail(err, "margin (%llu ns) must be below ttl (%llu ns)",
			    (unsigned long long)c->margin_ns,
			    (unsigned long long)c->ttl_ns);
	return 0;
}
