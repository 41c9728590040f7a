// SPDX-License-Identifier: GPL-2.0
/*
 * JSON-lines encoding and decoding of gnomon-trace records.
 *
 * The writer emits a fixed set of keys.  The reader is a small strict
 * parser for flat objects whose values are unsigned decimal integers or
 * plain strings (no escapes, no control characters): that is all the
 * writer produces, and a record edited into anything else is refused
 * rather than guessed at.  Unknown keys are skipped so that later versions
 * can add fields.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "trace_event.h"

const char *trace_dir__name(uint8_t dir)
{
	switch (dir) {
	case TRACE_SEND:
		return "send";
	case TRACE_RECV:
		return "recv";
	default:
		return "?";
	}
}

void trace_addr__format(int ipv6, const uint8_t *addr, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int af = ipv6 ? AF_INET6 : AF_INET;

	if (ipv6 && !memcmp(addr, mapped, sizeof(mapped))) {
		af = AF_INET;
		addr += sizeof(mapped);
	}
	if (!inet_ntop(af, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static int finish(int n, size_t len)
{
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? 0 : -ENOSPC;
}

int trace_event__format(const struct trace_event *e, char *buf, size_t len)
{
	int n = snprintf(buf, len,
		"{\"dir\":\"%s\",\"node\":%u,\"lamport\":%llu,\"remote\":%llu,"
		"\"remote_node\":%u,\"local\":\"%s\",\"local_port\":%u,"
		"\"peer\":\"%s\",\"peer_port\":%u,\"seq\":%u,\"end_seq\":%u,"
		"\"tcp_flags\":%u,\"realtime_ns\":%llu,\"hlc_wall\":%llu,"
		"\"hlc_logical\":%u}\n",
		trace_dir__name(e->dir), e->node,
		(unsigned long long)e->lamport, (unsigned long long)e->remote,
		e->remote_node, e->local, e->local_port, e->peer, e->peer_port,
		e->seq, e->end_seq, e->tcp_flags,
		(unsigned long long)e->realtime_ns,
		(unsigned long long)e->hlc_wall, e->hlc_logical);

	return finish(n, len);
}

int trace_header__format(const struct trace_header *h, char *buf, size_t len)
{
	int n = snprintf(buf, len,
		"{\"gnomon_trace\":%d,\"node\":%u,\"host\":\"%s\",\"cgroup\":\"%s\"}\n",
		TRACE_FORMAT_VERSION, h->node, h->host, h->cgroup);

	return finish(n, len);
}

struct cursor {
	const char *p;
};

static void skip_ws(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static int expect(struct cursor *c, char ch)
{
	skip_ws(c);
	if (*c->p != ch)
		return -EINVAL;
	c->p++;
	return 0;
}

/* A string without escapes into out (truncation is an error). */
static int parse_string(struct cursor *c, char *out, size_t len)
{
	size_t n = 0;

	if (expect(c, '"'))
		return -EINVAL;
	while (*c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '\0' || ch < 0x20 || ch == '\\' || n + 1 >= len)
			return -EINVAL;
		out[n++] = (char)ch;
		c->p++;
	}
	c->p++;
	out[n] = '\0';
	return 0;
}

static int parse_uint(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	skip_ws(c);
	while (*c->p >= '0' && *c->p <= '9') {
		unsigned int d = (unsigned int)(*c->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		c->p++;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

enum field_type { F_U64, F_U32, F_U16, F_U8, F_STR, F_DIR };

struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	size_t size;		/* F_STR: buffer size */
};

#define EV(k, t, m) { k, t, offsetof(struct trace_event, m), sizeof(((struct trace_event *)0)->m) }
#define HD(k, t, m) { k, t, offsetof(struct trace_header, m), sizeof(((struct trace_header *)0)->m) }

static const struct field event_fields[] = {
	EV("dir", F_DIR, dir), EV("node", F_U16, node),
	EV("lamport", F_U64, lamport), EV("remote", F_U64, remote),
	EV("remote_node", F_U16, remote_node), EV("local", F_STR, local),
	EV("local_port", F_U16, local_port), EV("peer", F_STR, peer),
	EV("peer_port", F_U16, peer_port), EV("seq", F_U32, seq),
	EV("end_seq", F_U32, end_seq), EV("tcp_flags", F_U8, tcp_flags),
	EV("realtime_ns", F_U64, realtime_ns), EV("hlc_wall", F_U64, hlc_wall),
	EV("hlc_logical", F_U32, hlc_logical),
};

static const struct field header_fields[] = {
	HD("node", F_U16, node), HD("host", F_STR, host),
	HD("cgroup", F_STR, cgroup),
};

static int store(const struct field *f, void *base, struct cursor *c)
{
	char *dst = (char *)base + f->offset;
	char word[8];
	uint64_t v;

	switch (f->type) {
	case F_STR:
		return parse_string(c, dst, f->size);
	case F_DIR:
		if (parse_string(c, word, sizeof(word)))
			return -EINVAL;
		if (!strcmp(word, "send"))
			*(uint8_t *)dst = TRACE_SEND;
		else if (!strcmp(word, "recv"))
			*(uint8_t *)dst = TRACE_RECV;
		else
			return -EINVAL;
		return 0;
	default:
		break;
	}
	if (parse_uint(c, &v))
		return -EINVAL;
	switch (f->type) {
	case F_U64:
		*(uint64_t *)dst = v;
		return 0;
	case F_U32:
		if (v > UINT32_MAX)
			return -EINVAL;
		*(uint32_t *)dst = (uint32_t)v;
		return 0;
	case F_U16:
		if (v > UINT16_MAX)
			return -EINVAL;
		*(uint16_t *)dst = (uint16_t)v;
		return 0;
	default:
		if (v > UINT8_MAX)
			return -EINVAL;
		*(uint8_t *)dst = (uint8_t)v;
		return 0;
	}
}

/* Skip a value of a key we do not know: a string or an integer. */
static int skip_value(struct cursor *c)
{
	char tmp[512];
	uint64_t v;

	skip_ws(c);
	if (*c->p == '"')
		return parse_string(c, tmp, sizeof(tmp));
	return parse_uint(c, &v);
}

int trace_line__parse(const char *line, struct trace_header *h,
		      struct trace_event *e)
{
	struct cursor c = { line };
	bool header = strstr(line, "\"gnomon_trace\"") != NULL;
	const struct field *fields = header ? header_fields : event_fields;
	size_t nfields = header ? sizeof(header_fields) / sizeof(header_fields[0]) :
				  sizeof(event_fields) / sizeof(event_fields[0]);
	void *base = header ? (void *)h : (void *)e;
	bool have_dir = false;
	char key[32];

	if (header)
		memset(h, 0, sizeof(*h));
	else
		memset(e, 0, sizeof(*e));
	if (expect(&c, '{'))
		return -EINVAL;
	skip_ws(&c);
	if (*c.p == '}')
		return -EINVAL;
	for (;;) {
		const struct field *f = NULL;
		size_t i;

		if (parse_string(&c, key, sizeof(key)) || expect(&c, ':'))
			return -EINVAL;
		for (i = 0; i < nfields; i++)
			if (!strcmp(fields[i].key, key))
				f = &fields[i];
		if (header && !strcmp(key, "gnomon_trace")) {
			uint64_t version;

			if (parse_uint(&c, &version) || version != TRACE_FORMAT_VERSION)
				return -EINVAL;
		} else if (f) {
			if (store(f, base, &c))
				return -EINVAL;
			have_dir |= f->type == F_DIR;
		} else if (skip_value(&c)) {
			return -EINVAL;
		}
		skip_ws(&c);
		if (*c.p == '}')
			break;
		if (expect(&c, ','))
			return -EINVAL;
	}
	c.p++;
	skip_ws(&c);
	if (*c.p != '\0')
		return -EINVAL;
	if (header)
		return TRACE_LINE_HEADER;
	return have_dir ? TRACE_LINE_EVENT : -EINVAL;
}
