// SPDX-License-Identifier: GPL-2.0
/*
 * The member table and its encodings (members.h): lookups by id, URL and
 * free slot, and the row, table and update formats.  Decoders check every
 * length and URL and return -EINVAL on anything malformed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "members.h"

static const uint8_t table_magic[8] = { 'G', 'N', 'M', 'E', 'M', 'B', 0, 1 };
static const uint8_t update_magic[4] = { 'G', 'N', 'M', 'U' };
#define ROW_VERSION	1
#define ROW_FIXED	12
#define TABLE_FIXED	24

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

void gd_members__seed(struct gd_members *t, const struct gd_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->cluster_id = cfg->cluster_id;
	for (uint32_t i = 0; i < cfg->n_members; i++) {
		struct gd_member_row *m = &t->s[i + 1];

		m->used = true;
		m->id = cfg->members[i].id;
		memcpy(m->name, cfg->members[i].name, sizeof(m->name));
		m->peer.v[0] = cfg->members[i].peer;
		m->peer.n = 1;
	}
}

uint32_t gd_members__count(const struct gd_members *t)
{
	uint32_t n = 0;

	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		n += t->s[s].used;
	return n;
}

uint32_t gd_members__voters(const struct gd_members *t)
{
	uint32_t n = 0;

	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		n += t->s[s].used && !t->s[s].learner;
	return n;
}

int gd_members__check_hello(const struct gd_members *t, uint32_t slot,
			    uint64_t id)
{
	if (slot < 1 || slot > RAFT_MAX_MEMBERS || !t->s[slot].used)
		return -ENOENT;
	return t->s[slot].id == id ? 0 : -ESTALE;
}

uint32_t gd_members__by_id(const struct gd_members *t, uint64_t id)
{
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		if (t->s[s].used && t->s[s].id == id)
			return s;
	return 0;
}

uint32_t gd_members__by_url(const struct gd_members *t,
			    const struct gd_url_list *l, uint32_t skip)
{
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++) {
		const struct gd_url_list *p = &t->s[s].peer;

		if (!t->s[s].used || s == skip)
			continue;
		for (unsigned int i = 0; i < p->n; i++)
			for (unsigned int j = 0; j < l->n; j++)
				if (!strcmp(p->v[i].text, l->v[j].text))
					return s;
	}
	return 0;
}

uint32_t gd_members__free_slot(const struct gd_members *t)
{
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++)
		if (!t->s[s].used)
			return s;
	return 0;
}

void gd_members__masks(const struct gd_members *t, uint32_t *voters,
		       uint32_t *learners)
{
	*voters = *learners = 0;
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++) {
		if (!t->s[s].used)
			continue;
		if (t->s[s].learner)
			*learners |= 1u << s;
		else
			*voters |= 1u << s;
	}
}

int gd_members__parse_urls(struct gd_url_list *l, char *const *urls,
			   size_t n)
{
	memset(l, 0, sizeof(*l));
	if (!n || n > GD_MAX_URLS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (gd_url__parse(&l->v[i], urls[i]))
			return -EINVAL;
	l->n = (unsigned int)n;
	return 0;
}

/* Split a comma-separated list in place into at most max pointers. */
static size_t split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		v[n++] = tok;
	return n;
}

void gd_members__list(const struct gd_members *t, uint32_t self,
		      const char *self_name, const struct gd_url_list *own,
		      const struct gd_member_said said[RAFT_MAX_MEMBERS + 1],
		      struct gd_member_list *l)
{
	l->n = 0;
	for (uint32_t s = 1; s <= RAFT_MAX_MEMBERS; s++) {
		const struct gd_member_row *r = &t->s[s];
		struct api_member *m = &l->m[l->n];
		uint32_t i = l->n;

		if (!r->used)
			continue;
		l->n++;
		for (unsigned int j = 0; j < r->peer.n; j++)
			l->peer[i][j] = r->peer.v[j].text;
		*m = (struct api_member){
			.id = r->id,
			.name = s == self ? self_name :
				r->name[0] ? r->name : said[s].name,
			.peer_urls = l->peer[i], .n_peer_urls = r->peer.n,
			.client_urls = l->client[i],
			.is_learner = r->learner,
		};
		if (s == self) {
			for (unsigned int j = 0; j < own->n; j++)
				l->client[i][j] = own->v[j].text;
			m->n_client_urls = own->n;
			continue;
		}
		snprintf(l->urls[i], sizeof(l->urls[i]), "%s",
			 said[s].client_urls ? said[s].client_urls : "");
		m->n_client_urls = split(l->urls[i], l->client[i],
					 GD_MAX_URLS);
	}
	for (uint32_t i = 1; i < l->n; i++)
		for (uint32_t j = i; j && l->m[j - 1].id > l->m[j].id; j--) {
			struct api_member tmp = l->m[j];

			l->m[j] = l->m[j - 1];
			l->m[j - 1] = tmp;
		}
}

int gd_member__encode_ctx(const struct gd_member_row *m, struct gd_buf *out)
{
	size_t name = strnlen(m->name, sizeof(m->name) - 1);
	uint8_t fixed[ROW_FIXED] = { ROW_VERSION, m->learner, (uint8_t)name,
				     (uint8_t)m->peer.n };
	int rc;

	put64(fixed + 4, m->id);
	rc = gd_buf__append(out, fixed, sizeof(fixed));
	if (!rc)
		rc = gd_buf__append(out, m->name, name);
	for (unsigned int i = 0; !rc && i < m->peer.n; i++) {
		uint8_t len = (uint8_t)strnlen(m->peer.v[i].text,
					       GD_URL_LEN - 1);

		rc = gd_buf__append(out, &len, 1);
		if (!rc)
			rc = gd_buf__append(out, m->peer.v[i].text, len);
	}
	return rc;
}

int gd_member__decode_ctx(struct gd_member_row *m, const uint8_t *p,
			  size_t n)
{
	char url[GD_URL_LEN];
	size_t off = ROW_FIXED;

	memset(m, 0, sizeof(*m));
	if (n < ROW_FIXED || p[0] != ROW_VERSION || p[1] > 1 ||
	    p[2] >= GD_NAME_LEN || !p[3] || p[3] > GD_MAX_URLS ||
	    n < ROW_FIXED + (size_t)p[2])
		return -EINVAL;
	m->used = true;
	m->learner = p[1];
	m->id = get64(p + 4);
	memcpy(m->name, p + off, p[2]);
	off += p[2];
	for (unsigned int i = 0; i < p[3]; i++) {
		if (off >= n || p[off] >= GD_URL_LEN || n - off - 1 < p[off])
			return -EINVAL;
		memcpy(url, p + off + 1, p[off]);
		url[p[off]] = 0;
		off += 1 + (size_t)p[off];
		if (gd_url__parse(&m->peer.v[i], url))
			return -EINVAL;
	}
	m->peer.n = p[3];
	return off == n && m->id ? 0 : -EINVAL;
}

bool gd_member__is_update(const uint8_t *p, size_t n)
{
	return n >= sizeof(update_magic) &&
	       !memcmp(p, update_magic, sizeof(update_magic));
}

int gd_member__encode_update(uint32_t slot, const struct gd_member_row *m,
			     struct gd_buf *out)
{
	uint8_t hdr[8];
	int rc;

	memcpy(hdr, update_magic, 4);
	put32(hdr + 4, slot);
	rc = gd_buf__append(out, hdr, sizeof(hdr));
	return rc ? rc : gd_member__encode_ctx(m, out);
}

int gd_member__decode_update(uint32_t *slot, struct gd_member_row *m,
			     const uint8_t *p, size_t n)
{
	if (n < 8 || !gd_member__is_update(p, n))
		return -EINVAL;
	*slot = get32(p + 4);
	if (*slot < 1 || *slot > RAFT_MAX_MEMBERS)
		return -EINVAL;
	return gd_member__decode_ctx(m, p + 8, n - 8);
}

int gd_members__encode(const struct gd_members *t, struct gd_buf *out)
{
	size_t start = out->len;
	uint8_t fixed[TABLE_FIXED];
	int rc;

	memcpy(fixed, table_magic, 8);
	put32(fixed + 8, 0);
	put64(fixed + 12, t->cluster_id);
	put32(fixed + 20, gd_members__count(t));
	rc = gd_buf__append(out, fixed, sizeof(fixed));
	for (uint32_t s = 1; !rc && s <= RAFT_MAX_MEMBERS; s++) {
		uint8_t row[8];
		size_t at;

		if (!t->s[s].used)
			continue;
		put32(row, s);
		rc = gd_buf__append(out, row, sizeof(row));
		at = out->len;
		if (!rc)
			rc = gd_member__encode_ctx(&t->s[s], out);
		if (!rc)
			put32(out->p + at - 4, (uint32_t)(out->len - at));
	}
	if (!rc)
		put32(out->p + start + 8, (uint32_t)(out->len - start));
	return rc;
}

int gd_members__decode(struct gd_members *t, const uint8_t *p, size_t n,
		       size_t *used)
{
	struct gd_members new = { 0 };
	uint32_t len, rows;
	size_t off = TABLE_FIXED;

	if (n < sizeof(table_magic) || memcmp(p, table_magic, 8))
		return -ENOENT;
	if (n < TABLE_FIXED)
		return -EINVAL;
	len = get32(p + 8);
	rows = get32(p + 20);
	if (len < TABLE_FIXED || len > n || rows > RAFT_MAX_MEMBERS)
		return -EINVAL;
	new.cluster_id = get64(p + 12);
	for (uint32_t i = 0; i < rows; i++) {
		uint32_t slot, rlen;

		if (len - off < 8)
			return -EINVAL;
		slot = get32(p + off);
		rlen = get32(p + off + 4);
		off += 8;
		if (slot < 1 || slot > RAFT_MAX_MEMBERS || new.s[slot].used ||
		    rlen > len - off ||
		    gd_member__decode_ctx(&new.s[slot], p + off, rlen))
			return -EINVAL;
		off += rlen;
	}
	if (off != len)
		return -EINVAL;
	*t = new;
	*used = len;
	return 0;
}
