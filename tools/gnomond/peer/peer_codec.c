// SPDX-License-Identifier: GPL-2.0
/*
 * Encoder and decoder of the peer wire format (peer_codec.h).  The decoder
 * trusts nothing: every length is checked against what remains before it
 * is used, and it never reads past n.  It checks the MAC before it looks at
 * the body, so an outsider's bytes never reach the field parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "peer_codec.h"
#include "le_bytes.h"

int peer_codec__init(struct peer_codec *c, const void *key, size_t len)
{
	memset(c, 0, sizeof(*c));
	if (!key || len < PEER_MIN_KEY_SIZE)
		return -EINVAL;
	hmac_sha256__setkey(&c->key, key, len);
	return 0;
}

void peer_codec__free(struct peer_codec *c)
{
	free(c->entries);
	c->entries = NULL;
	c->entries_cap = 0;
}

size_t peer_msg__encoded_size(const struct raft_msg *m)
{
	uint64_t size = PEER_HEADER_SIZE + PEER_MAC_SIZE;

	for (uint32_t i = 0; i < m->n_entries; i++)
		size += PEER_ENTRY_HEADER_SIZE + m->entries[i].len;
	if (m->type == RAFT_MSG_SNAPSHOT)
		size += PEER_SNAP_CONF_SIZE;
	size += m->snap_len;
	return size > PEER_MAX_FRAME ? 0 : (size_t)size;
}

int peer_codec__encode(const struct peer_codec *c, const struct raft_msg *m,
		       uint8_t *buf, size_t cap, size_t *len)
{
	size_t size = peer_msg__encoded_size(m);
	uint8_t *p = buf + PEER_HEADER_SIZE;

	if (!size)
		return -EMSGSIZE;
	if (cap < size)
		return -ENOSPC;
	le_put32(buf, PEER_MAGIC);
	buf[4] = PEER_VERSION;
	buf[5] = (uint8_t)m->type;
	buf[6] = (uint8_t)m->flags;
	buf[7] = (uint8_t)(m->flags >> 8);
	le_put32(buf + 8, (uint32_t)size);
	le_put32(buf + 12, m->from);
	le_put32(buf + 16, m->to);
	le_put32(buf + 20, m->n_entries);
	le_put64(buf + 24, m->term);
	le_put64(buf + 32, m->index);
	le_put64(buf + 40, m->log_term);
	le_put64(buf + 48, m->commit);
	le_put64(buf + 56, m->lease_end);
	le_put64(buf + 64, m->read_ctx);
	le_put64(buf + 72, m->snap_len);
	le_put64(buf + 80, m->snap_offset);
	le_put64(buf + 88, m->snap_total);
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];

		le_put64(p, e->term);
		le_put32(p + 8, e->type);
		le_put32(p + 12, e->len);
		if (e->len)
			memcpy(p + 16, e->data, e->len);
		p += PEER_ENTRY_HEADER_SIZE + e->len;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		le_put32(p, m->membership.voters);
		le_put32(p + 4, m->membership.learners);
		p += PEER_SNAP_CONF_SIZE;
	}
	if (m->snap_len)
		memcpy(p, m->snap_data, m->snap_len);
	p += m->snap_len;
	hmac_sha256__mac(&c->key, buf, (size_t)(p - buf), p);
	*len = size;
	return 0;
}

int peer_frame__length(const uint8_t *buf, size_t n, size_t *frame_len)
{
	uint32_t len;

	if (n < 12)
		return -EAGAIN;
	if (le_get32(buf) != PEER_MAGIC || buf[4] != PEER_VERSION)
		return -EBADMSG;
	len = le_get32(buf + 8);
	if (len > PEER_MAX_FRAME)
		return -EMSGSIZE;
	if (len < PEER_HEADER_SIZE + PEER_MAC_SIZE)
		return -EBADMSG;
	*frame_len = len;
	return 0;
}

static int malformed(struct peer_codec *c, const char **why, const char *s)
{
	c->stats.malformed++;
	if (why)
		*why = s;
	return -EBADMSG;
}

static int check_header(struct peer_codec *c, const uint8_t *buf, size_t n,
			const char **why)
{
	size_t frame;
	int rc = peer_frame__length(buf, n, &frame);

	if (rc == -EAGAIN)
		return malformed(c, why, "truncated header");
	if (rc == -EMSGSIZE)
		return malformed(c, why, "frame too large");
	if (rc)
		return malformed(c, why, "bad magic, version or length");
	if (frame != n)
		return malformed(c, why, "frame length does not match");
	return 0;
}

static int grow_entries(struct peer_codec *c, size_t n)
{
	struct raft_entry *e;

	if (n <= c->entries_cap)
		return 0;
	e = realloc(c->entries, n * sizeof(*e));
	if (!e)
		return -ENOMEM;
	c->entries = e;
	c->entries_cap = n;
	return 0;
}

static int parse_fields(struct peer_codec *c, const uint8_t *buf, size_t body,
			struct raft_msg *m, const char **why)
{
	m->type = buf[5];
	m->flags = (uint32_t)buf[6] | (uint32_t)buf[7] << 8;
	m->from = le_get32(buf + 12);
	m->to = le_get32(buf + 16);
	m->n_entries = le_get32(buf + 20);
	m->term = le_get64(buf + 24);
	m->index = le_get64(buf + 32);
	m->log_term = le_get64(buf + 40);
	m->commit = le_get64(buf + 48);
	m->lease_end = le_get64(buf + 56);
	m->read_ctx = le_get64(buf + 64);
	m->snap_len = le_get64(buf + 72);
	m->snap_offset = le_get64(buf + 80);
	m->snap_total = le_get64(buf + 88);
	if (m->type < 1 || m->type > RAFT_MSG_TYPE_MAX)
		return malformed(c, why, "unknown message type");
	if (m->flags & ~RAFT_MSGF_ALL)
		return malformed(c, why, "unknown flags");
	if (!m->from || m->from > RAFT_MAX_MEMBERS || !m->to ||
	    m->to > RAFT_MAX_MEMBERS || m->from == m->to)
		return malformed(c, why, "bad member id");
	if (m->n_entries && m->type != RAFT_MSG_APPEND)
		return malformed(c, why, "entries in a non-append message");
	if (m->snap_len && m->type != RAFT_MSG_SNAPSHOT)
		return malformed(c, why, "snapshot data in a non-snapshot message");
	if (m->n_entries > (body - PEER_HEADER_SIZE) / PEER_ENTRY_HEADER_SIZE)
		return malformed(c, why, "entry count exceeds the frame");
	if (m->type == RAFT_MSG_SNAPSHOT &&
	    (body - PEER_HEADER_SIZE < PEER_SNAP_CONF_SIZE ||
	     m->snap_len != body - PEER_HEADER_SIZE - PEER_SNAP_CONF_SIZE))
		return malformed(c, why, "snapshot length does not match");
	if (m->type == RAFT_MSG_SNAPSHOT &&
	    (m->snap_len > m->snap_total ||
	     m->snap_offset > m->snap_total - m->snap_len))
		return malformed(c, why, "snapshot chunk beyond its total");
	if (m->type != RAFT_MSG_SNAPSHOT && m->snap_total)
		return malformed(c, why, "snapshot total in a non-snapshot "
				 "message");
	if (m->type != RAFT_MSG_SNAPSHOT &&
	    m->type != RAFT_MSG_SNAPSHOT_RESP && m->snap_offset)
		return malformed(c, why, "snapshot offset in a message "
				 "without one");
	if (m->n_entries && m->index + m->n_entries < m->index)
		return malformed(c, why, "entry index overflows");
	return 0;
}

static int parse_entries(struct peer_codec *c, const uint8_t *buf, size_t body,
			 struct raft_msg *m, const char **why)
{
	size_t off = PEER_HEADER_SIZE;

	if (grow_entries(c, m->n_entries))
		return malformed(c, why, "out of memory for entries");
	for (uint32_t i = 0; i < m->n_entries; i++) {
		struct raft_entry *e = &c->entries[i];

		if (body - off < PEER_ENTRY_HEADER_SIZE)
			return malformed(c, why, "truncated entry header");
		e->term = le_get64(buf + off);
		e->type = le_get32(buf + off + 8);
		e->len = le_get32(buf + off + 12);
		e->index = m->index + 1 + i;
		off += PEER_ENTRY_HEADER_SIZE;
		if (e->type > RAFT_ENTRY_TYPE_MAX)
			return malformed(c, why, "unknown entry type");
		if (e->term > m->term)
			return malformed(c, why, "entry term above message term");
		if (e->len > body - off)
			return malformed(c, why, "entry data exceeds the frame");
		e->data = e->len ? buf + off : NULL;
		off += e->len;
	}
	if (m->type != RAFT_MSG_SNAPSHOT && off != body)
		return malformed(c, why, "trailing bytes after the entries");
	m->entries = m->n_entries ? c->entries : NULL;
	if (m->type != RAFT_MSG_SNAPSHOT)
		return 0;
	m->membership.voters = le_get32(buf + off);
	m->membership.learners = le_get32(buf + off + 4);
	off += PEER_SNAP_CONF_SIZE;
	if (((m->membership.voters | m->membership.learners) &
	     ~(((1U << RAFT_MAX_MEMBERS) - 1) << 1)) ||
	    (m->membership.voters & m->membership.learners))
		return malformed(c, why, "bad snapshot config");
	m->snap_data = m->snap_len ? buf + off : NULL;
	return 0;
}

int peer_codec__decode(struct peer_codec *c, const uint8_t *buf, size_t n,
		       struct raft_msg *m, const char **why)
{
	uint8_t mac[PEER_MAC_SIZE];
	size_t body;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = check_header(c, buf, n, why);
	if (rc)
		return rc;
	body = n - PEER_MAC_SIZE;
	hmac_sha256__mac(&c->key, buf, body, mac);
	if (!hmac_sha256__equal(mac, buf + body, PEER_MAC_SIZE)) {
		c->stats.bad_mac++;
		if (why)
			*why = "bad MAC: not signed with the cluster key";
		return -EACCES;
	}
	rc = parse_fields(c, buf, body, m, why);
	if (!rc)
		rc = parse_entries(c, buf, body, m, why);
	if (rc) {
		memset(m, 0, sizeof(*m));
		return rc;
	}
	c->stats.decoded++;
	return 0;
}
