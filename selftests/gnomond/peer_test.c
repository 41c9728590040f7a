// SPDX-License-Identifier: GPL-2.0
/*
 * Peer messages: SHA-256 (FIPS 180-4 examples) and HMAC-SHA256 (RFC 4231)
 * test vectors; codec round trips for every message type; frames signed
 * with another key, or changed by one bit anywhere, are rejected and
 * counted; malformed frames (signed, so that the parser is reached) are
 * rejected with a reason; the stream framing helper; the challenge a
 * member sends on an accepted connection, the hello's nonce and member id,
 * and the bound on Raft frames.
 */
#include <errno.h>
#include "../ktap.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "../../tools/gnomond/peer/peer_auth.h"
#include "../../tools/gnomond/peer/peer_codec.h"
#include "../../tools/gnomond/peer/peer_key.h"

static const char key[] = "a cluster key of 32 bytes, say..";

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static bool sha_is(const void *data, size_t len, const char *want)
{
	uint8_t d[32];
	char h[65];

	sha256__digest(data, len, d);
	hex(d, 32, h);
	if (strcmp(h, want))
		ktap_diag("sha256 %s, want %s", h, want);
	return !strcmp(h, want);
}

static bool hmac_is(const void *k, size_t klen, const char *data,
		    const char *want)
{
	struct hmac_sha256_key hk;
	uint8_t d[32];
	char h[65];

	hmac_sha256__setkey(&hk, k, klen);
	hmac_sha256__mac(&hk, data, strlen(data), d);
	hex(d, 32, h);
	if (strcmp(h, want))
		ktap_diag("hmac %s, want %s", h, want);
	return !strcmp(h, want);
}

KTAP_TEST(peer_sha256_vectors)
{
	static char million[1000000];
	struct sha256 s;
	uint8_t d[32];
	char h[65];

	KTAP_EXPECT(t, sha_is("", 0, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855"), "empty");
	KTAP_EXPECT(t, sha_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad"), "abc");
	KTAP_EXPECT(t, sha_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmno"
			      "mnopnopq", 56,
			      "248d6a61d20638b8e5c026930c3e6039"
			      "a33ce45964ff2167f6ecedd419db06c1"), "448 bits");
	memset(million, 'a', sizeof(million));
	KTAP_EXPECT(t, sha_is(million, sizeof(million),
			      "cdc76e5c9914fb9281a1c7e284d73e67"
			      "f1809a48a497200e046d39ccc7112cd0"), "1M a");
	/* The same in odd-sized pieces. */
	sha256__init(&s);
	for (size_t off = 0; off < sizeof(million); off += 777)
		sha256__update(&s, million + off, sizeof(million) - off < 777 ?
			       sizeof(million) - off : 777);
	sha256__final(&s, d);
	hex(d, 32, h);
	KTAP_EXPECT(t, !strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67"
			       "f1809a48a497200e046d39ccc7112cd0"),
		    "incremental: %s", h);
}

KTAP_TEST(peer_hmac_rfc4231_vectors)
{
	uint8_t k1[20], k6[131];

	memset(k1, 0x0b, sizeof(k1));
	memset(k6, 0xaa, sizeof(k6));
	KTAP_EXPECT(t, hmac_is(k1, sizeof(k1), "Hi There",
			       "b0344c61d8db38535ca8afceaf0bf12b"
			       "881dc200c9833da726e9376c2e32cff7"), "case 1");
	KTAP_EXPECT(t, hmac_is("Jefe", 4, "what do ya want for nothing?",
			       "5bdcc146bf60754e6a042426089575c7"
			       "5a003f089d2739839dec58b964ec3843"), "case 2");
	KTAP_EXPECT(t, hmac_is(k6, sizeof(k6), "Test Using Larger Than "
			       "Block-Size Key - Hash Key First",
			       "60e431591ee0b67f0d8a26aacbf5b77f"
			       "8e0bc6213728c5140546040f0ee37f54"), "case 6");
}

static size_t encode(const struct peer_codec *c, const struct raft_msg *m,
		     uint8_t *buf, size_t cap)
{
	size_t len = 0;

	if (peer_codec__encode(c, m, buf, cap, &len))
		return 0;
	return len;
}

static bool same_msg(const struct raft_msg *a, const struct raft_msg *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to ||
	    a->flags != b->flags || a->term != b->term ||
	    a->index != b->index || a->log_term != b->log_term ||
	    a->commit != b->commit || a->lease_end != b->lease_end ||
	    a->read_ctx != b->read_ctx || a->n_entries != b->n_entries ||
	    a->snap_len != b->snap_len || a->snap_offset != b->snap_offset ||
	    a->snap_total != b->snap_total ||
	    a->membership.voters != b->membership.voters ||
	    a->membership.learners != b->membership.learners)
		return false;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->term != y->term || x->index != y->index ||
		    x->type != y->type || x->len != y->len ||
		    (x->len && memcmp(x->data, y->data, x->len)))
			return false;
	}
	return !a->snap_len || !memcmp(a->snap_data, b->snap_data, a->snap_len);
}

static struct raft_entry ents[3] = {
	{ .term = 4, .index = 11, .type = RAFT_ENTRY_NOOP },
	{ .term = 5, .index = 12, .len = 5, .data = (const uint8_t *)"hello" },
	{ .term = 5, .index = 13, .len = 1, .data = (const uint8_t *)"x" },
};

static struct raft_msg sample(uint32_t type)
{
	struct raft_msg m = {
		.type = type, .from = 2, .to = 3, .term = 5, .index = 10,
		.log_term = 4, .commit = 9, .lease_end = 123456789,
		.read_ctx = 77,
	};

	if (type == RAFT_MSG_APPEND) {
		m.entries = ents;
		m.n_entries = 3;
	}
	if (type == RAFT_MSG_SNAPSHOT) {
		m.snap_data = (const uint8_t *)"snapshot bytes";
		m.snap_len = 14;
		m.snap_offset = 100;
		m.snap_total = 200;
		m.membership.voters = 0x1c;
		m.membership.learners = 0x202;
	}
	if (type == RAFT_MSG_SNAPSHOT_RESP)
		m.snap_offset = 114;
	if (type == RAFT_MSG_VOTE)
		m.flags = RAFT_MSGF_TRANSFER;
	if (type == RAFT_MSG_APPEND_RESP)
		m.flags = RAFT_MSGF_REJECT;
	return m;
}

KTAP_TEST(peer_codec_round_trip)
{
	struct peer_codec c;
	uint8_t buf[1024];

	KTAP_ASSERT(t, !peer_codec__init(&c, key, sizeof(key) - 1), "init");
	for (uint32_t type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		struct raft_msg m = sample(type), out;
		const char *why = NULL;
		size_t len = encode(&c, &m, buf, sizeof(buf)), flen = 0;
		int rc;

		KTAP_ASSERT(t, len == peer_msg__encoded_size(&m), "encode");
		KTAP_EXPECT(t, !peer_frame__length(buf, len, &flen) &&
			    flen == len, "frame length");
		rc = peer_codec__decode(&c, buf, len, &out, &why);
		KTAP_EXPECT(t, rc == 0, "%s: %d %s", raft_msg_type__name(type),
			    rc, why);
		KTAP_EXPECT(t, !rc && same_msg(&m, &out), "%s differs",
			    raft_msg_type__name(type));
	}
	KTAP_EXPECT(t, c.stats.decoded == RAFT_MSG_TYPE_MAX, "counted %llu",
		    (unsigned long long)c.stats.decoded);
	KTAP_EXPECT(t, encode(&c, &(struct raft_msg){ .type = 5 }, buf, 10) == 0,
		    "a short buffer must be refused");
	peer_codec__free(&c);
	KTAP_EXPECT(t, peer_codec__init(&c, "short", 5) == -EINVAL,
		    "a short key must be refused");
}

KTAP_TEST(peer_codec_rejects_wrong_key_and_flipped_bits)
{
	struct peer_codec c, other;
	struct raft_msg m = sample(RAFT_MSG_APPEND), out;
	uint8_t buf[1024];
	size_t len;
	uint64_t rejected = 0;

	KTAP_ASSERT(t, !peer_codec__init(&c, key, sizeof(key) - 1), "init");
	KTAP_ASSERT(t, !peer_codec__init(&other, "another cluster's key!", 22),
		    "init");
	len = encode(&other, &m, buf, sizeof(buf));
	KTAP_EXPECT(t, peer_codec__decode(&c, buf, len, &out, NULL) == -EACCES,
		    "a frame signed with another key must be refused");
	KTAP_EXPECT(t, c.stats.bad_mac == 1, "bad MAC not counted");
	len = encode(&c, &m, buf, sizeof(buf));
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			buf[i] ^= (uint8_t)(1 << bit);
			rc = peer_codec__decode(&c, buf, len, &out, NULL);
			buf[i] ^= (uint8_t)(1 << bit);
			KTAP_EXPECT(t, rc == -EACCES || rc == -EBADMSG,
				    "bit %d of byte %zu: %d", bit, i, rc);
			rejected += rc != 0;
		}
	}
	KTAP_EXPECT(t, rejected == len * 8, "%llu of %zu flips rejected",
		    (unsigned long long)rejected, len * 8);
	KTAP_EXPECT(t, c.stats.bad_mac + c.stats.malformed == 1 + len * 8,
		    "not every rejection counted");
	peer_codec__free(&c);
	peer_codec__free(&other);
}

/* Re-sign a frame after tampering, as a member with the key could. */
static void resign(const struct peer_codec *c, uint8_t *buf, size_t len)
{
	hmac_sha256__mac(&c->key, buf, len - PEER_MAC_SIZE,
			 buf + len - PEER_MAC_SIZE);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* the test runs on little-endian hosts */
}

/* Decode `good` with the field at off set to val, re-signed. */
static int decode_tampered(struct peer_codec *c, const uint8_t *good,
			   size_t len, size_t off, uint32_t val,
			   const char **why)
{
	struct raft_msg out;
	uint8_t buf[1024];

	memcpy(buf, good, len);
	if (off == 5 || off == 6)
		buf[off] = (uint8_t)val;
	else
		put32(buf + off, val);
	resign(c, buf, len);
	return peer_codec__decode(c, buf, len, &out, why);
}

KTAP_TEST(peer_codec_rejects_malformed)
{
	static const struct { size_t off; uint32_t val; } cases[] = {
		{ 5, 0 },	/* type 0 */
		{ 5, 99 },	/* unknown type */
		{ 6, 0x80 },	/* unknown flag */
		{ 12, 0 },	/* from 0 */
		{ 16, 2 },	/* to == from */
		{ 16, 99 },	/* member out of range */
		{ 20, 4 },	/* more entries than encoded */
		{ 20, 0x10000000 },	/* absurd entry count */
		{ 20, 2 },	/* trailing bytes */
		{ 72, 5 },	/* snapshot bytes in an append */
		{ 96 + 12, 0xffffff },	/* entry length beyond the frame */
		{ 96 + 8, 7 },	/* unknown entry type */
		{ 80, 5 },	/* snapshot offset in an append */
		{ 88, 5 },	/* snapshot total in an append */
	};
	struct peer_codec c;
	struct raft_msg m = sample(RAFT_MSG_APPEND), out;
	uint8_t good[1024];
	size_t len;

	KTAP_ASSERT(t, !peer_codec__init(&c, key, sizeof(key) - 1), "init");
	len = encode(&c, &m, good, sizeof(good));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		int rc = decode_tampered(&c, good, len, cases[i].off,
					 cases[i].val, &why);

		KTAP_EXPECT(t, rc == -EBADMSG && why, "case %zu: %d", i, rc);
		if (why)
			ktap_diag("case %zu rejected: %s", i, why);
	}
	KTAP_EXPECT(t, peer_codec__decode(&c, good, len - 1, &out, NULL) ==
		    -EBADMSG, "a cut frame must be refused");
	KTAP_EXPECT(t, peer_codec__decode(&c, good, 11, &out, NULL) ==
		    -EBADMSG, "a cut header must be refused");
	KTAP_EXPECT(t, c.stats.malformed == 2 + sizeof(cases) / sizeof(cases[0]),
		    "malformed frames not counted");
	peer_codec__free(&c);
}

/* A snapshot's config: slots 1..9 only, none both voter and learner. */
KTAP_TEST(peer_codec_rejects_bad_snapshot_config)
{
	/* The sample's voters are 0x1c, its learners 0x202. */
	static const uint32_t cases[][2] = {
		{ PEER_HEADER_SIZE, 0x1 },		/* slot 0 */
		{ PEER_HEADER_SIZE, 0x41c },		/* slot 10 */
		{ PEER_HEADER_SIZE + 4, 0x4 },		/* slot 2 both */
		{ PEER_HEADER_SIZE + 4, 0x80000000 },	/* slot 31 */
	};
	struct peer_codec c;
	struct raft_msg m = sample(RAFT_MSG_SNAPSHOT), out;
	uint8_t good[1024];
	size_t len;

	KTAP_ASSERT(t, !peer_codec__init(&c, key, sizeof(key) - 1), "init");
	len = encode(&c, &m, good, sizeof(good));
	KTAP_ASSERT(t, len == PEER_HEADER_SIZE + PEER_SNAP_CONF_SIZE + 14 +
		    PEER_MAC_SIZE, "snapshot frame of %zu bytes", len);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		KTAP_EXPECT(t, decode_tampered(&c, good, len, cases[i][0],
					       cases[i][1], NULL) == -EBADMSG,
			    "case %zu accepted", i);
	/* A snapshot frame too short to hold its config. */
	m.snap_len = 0;
	m.snap_data = NULL;
	len = encode(&c, &m, good, sizeof(good));
	memmove(good + PEER_HEADER_SIZE, good + PEER_HEADER_SIZE + 4,
		len - PEER_HEADER_SIZE - 4);
	put32(good + 8, (uint32_t)(len - 4));
	resign(&c, good, len - 4);
	KTAP_EXPECT(t, peer_codec__decode(&c, good, len - 4, &out, NULL) ==
		    -EBADMSG, "a snapshot without its config");
	peer_codec__free(&c);
}

KTAP_TEST(peer_frame_length)
{
	uint8_t buf[16] = "GNRP";
	size_t len;

	KTAP_EXPECT(t, peer_frame__length(buf, 11, &len) == -EAGAIN, "short");
	buf[4] = PEER_VERSION;
	put32(buf + 8, 200);
	KTAP_EXPECT(t, !peer_frame__length(buf, 12, &len) && len == 200, "200");
	put32(buf + 8, PEER_MAX_FRAME + 1);
	KTAP_EXPECT(t, peer_frame__length(buf, 12, &len) == -EMSGSIZE, "huge");
	put32(buf + 8, 10);
	KTAP_EXPECT(t, peer_frame__length(buf, 12, &len) == -EBADMSG, "tiny");
	buf[0] = 'X';
	KTAP_EXPECT(t, peer_frame__length(buf, 12, &len) == -EBADMSG, "magic");
}

KTAP_TEST(peer_challenge)
{
	uint8_t nonce[PEER_NONCE_SIZE], got[PEER_NONCE_SIZE];
	uint8_t msg[PEER_CHALLENGE_SIZE];

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(i * 7 + 1);
	peer_challenge__encode(nonce, msg);
	KTAP_EXPECT(t, !memcmp(msg, "GNCH\x01\0\0\0", 8), "header");
	KTAP_EXPECT(t, peer_challenge__decode(msg, 3, got) == -EAGAIN,
		    "need more");
	KTAP_EXPECT(t, peer_challenge__decode(msg, sizeof(msg) - 1, got) ==
		    -EAGAIN, "need the nonce");
	KTAP_EXPECT(t, !peer_challenge__decode(msg, sizeof(msg), got) &&
		    !memcmp(got, nonce, sizeof(nonce)), "round trip");
	msg[5] = 1;
	KTAP_EXPECT(t, peer_challenge__decode(msg, sizeof(msg), got) ==
		    -EBADMSG, "padding not zero");
	memcpy(msg, "GNRP", 4);
	KTAP_EXPECT(t, peer_challenge__decode(msg, 4, got) == -EBADMSG,
		    "a Raft frame is no challenge");
}

/* The hello names the member id (a reused slot is told apart by it). */
KTAP_TEST(peer_hello)
{
	uint8_t nonce[PEER_NONCE_SIZE], body[PEER_HELLO_FIXED + 4];
	const uint8_t *text = NULL;
	uint64_t id = 0;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(i * 5 + 3);
	peer_hello__put(body, nonce, 0x8e9e05c52164694dULL);
	memcpy(body + PEER_HELLO_FIXED, "n1\nx", 4);
	KTAP_EXPECT(t, !peer_hello__get(body, sizeof(body), nonce, &id, &text,
					&n) && id == 0x8e9e05c52164694dULL,
		    "the member id back: %llx", (unsigned long long)id);
	KTAP_EXPECT(t, n == 4 && !memcmp(text, "n1\nx", 4), "the text after");
	KTAP_EXPECT(t, body[PEER_NONCE_SIZE] == 0x4d &&
		    body[PEER_HELLO_FIXED - 1] == 0x8e, "little-endian");
	KTAP_EXPECT(t, peer_hello__get(body, PEER_HELLO_FIXED - 1, nonce, &id,
				       &text, &n) == -EBADMSG,
		    "a hello without a whole member id is refused");
	KTAP_EXPECT(t, !peer_hello__get(body, PEER_HELLO_FIXED, nonce, &id,
					&text, &n) && !n, "no text is fine");
	nonce[3] ^= 1;
	KTAP_EXPECT(t, peer_hello__get(body, sizeof(body), nonce, &id, &text,
				       &n) == -EACCES,
		    "a hello over another nonce is refused");
}

/* A frame the Raft core can send under its defaults fits the bound. */
KTAP_TEST(peer_raft_frame_limit)
{
	struct raft_config cfg;
	size_t limit, append, chunk, max_entry = 3u << 19;

	raft_config__defaults(&cfg, 1, 3);
	limit = peer_raft_frame__limit(&cfg, max_entry);
	append = PEER_HEADER_SIZE + PEER_MAC_SIZE + cfg.max_batch_entries *
		 PEER_ENTRY_HEADER_SIZE + cfg.max_batch_bytes;
	chunk = PEER_HEADER_SIZE + PEER_MAC_SIZE + cfg.max_snapshot_chunk;
	KTAP_EXPECT(t, limit >= append && limit >= chunk &&
		    limit >= max_entry + PEER_HEADER_SIZE + PEER_MAC_SIZE +
		    PEER_ENTRY_HEADER_SIZE, "room for appends and chunks: %zu",
		    limit);
	KTAP_EXPECT(t, limit < (16u << 20), "far below PEER_MAX_FRAME: %zu",
		    limit);
	cfg.max_snapshot_chunk = (uint64_t)1 << 40;
	KTAP_EXPECT(t, peer_raft_frame__limit(&cfg, max_entry) ==
		    PEER_MAX_FRAME, "never past PEER_MAX_FRAME");
}

static int key_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		return -1;
	close(fd);
	return chmod(path, mode);
}

KTAP_TEST(peer_key_file)
{
	char path[] = "/tmp/gnomond-key-XXXXXX";
	static uint8_t k[PEER_MAX_KEY_SIZE];
	const char *why = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	KTAP_ASSERT(t, fd >= 0, "mkstemp");
	close(fd);
	KTAP_ASSERT(t, !key_file(path, "0123456789abcdef0123\n", 0600), "w");
	KTAP_EXPECT(t, !peer_key__load(path, k, sizeof(k), &len, &why) &&
		    len == 20 && !memcmp(k, "0123456789abcdef0123", 20),
		    "load: %s, %zu bytes", why, len);
	KTAP_ASSERT(t, !key_file(path, "0123456789abcdef0123", 0640), "w");
	KTAP_EXPECT(t, peer_key__load(path, k, sizeof(k), &len, &why) ==
		    -EPERM, "a group-readable key must be refused");
	ktap_diag("refused: %s", why);
	KTAP_ASSERT(t, !key_file(path, "too short\n", 0600), "w");
	KTAP_EXPECT(t, peer_key__load(path, k, sizeof(k), &len, &why) ==
		    -EINVAL, "a short key must be refused");
	unlink(path);
	KTAP_EXPECT(t, peer_key__load(path, k, sizeof(k), &len, &why) ==
		    -ENOENT, "a missing file must be reported");
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
