// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gnomon_stamp: Lamport timestamps carried in a TCP header option.
 *
 * A sock_ops program attached to a cgroup v2.  Every socket of the cgroup
 * that listens or connects after the attach gets the header-option
 * callbacks turned on:
 *
 *   HDR_OPT_LEN_CB    reserve 12 bytes on SYN, SYN-ACK and data segments,
 *                     and when the kernel computes the MSS (so that data
 *                     segments still fit the path).  Pure ACKs, FINs and
 *                     RSTs without data are not stamped.
 *   WRITE_HDR_OPT_CB  tick the clock and write it with our node id.  On a
 *                     SYN-ACK, first merge the stamp of the SYN it answers
 *                     (the just-received SYN, BPF_LOAD_HDR_OPT_TCP_SYN).
 *   PARSE_HDR_OPT_CB  every received segment of an established socket
 *                     (PARSE_ALL, so that truncated options, which the TCP
 *                     parser stops at, are seen too): merge the stamp.
 *   *_ESTABLISHED_CB  merge the stamp of the SYN-ACK (active side) or of
 *                     the handshake's last segment (passive side).
 *
 * The clock is one __u64 in an array map of its own, shared by every CPU and only
 * moved forward: a send is an atomic fetch-and-add, a receive a bounded
 * compare-and-swap loop to max(local, remote) + 1.  A remote value further
 * ahead than max_jump is not merged (poisoning guard); an option of the
 * wrong length or one that overruns the header is ignored.  Both are
 * counted in per-CPU counters.  Each stamped send and merged receive
 * becomes a ring-buffer event while userspace asks for events.
 *
 * The context fields are the uapi struct bpf_sock_ops, which the verifier
 * rewrites, so the program needs no kernel-struct relocations and loads on
 * every kernel from 6.1 on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gnomon_stamp.h"

#define TCP_FLAG_FIN	0x01
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10
#define TCP_HDR_MIN	20
#define OPT_SPACE	40
#define E_NOMSG		42
#define E_FAULT		14
#define E_EXIST		17

/* Kept for the uapi names vmlinux.h may lack on older kernels' BTF. */
#define WRITE_HDR_TCP_CURRENT_MSS	1
#define LOAD_HDR_OPT_TCP_SYN		1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gnomon_stamp_clock);
} gnomon_clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gnomon_stamp_config);
} gnomon_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gnomon_stamp_counts);
} gnomon_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} gnomon_events SEC(".maps");

/* What the program knows about the segment at hand. */
struct seg {
	__u32 seq;
	__u32 end_seq;
	__u8 flags;
};

static __always_inline void count(enum gnomon_count which)
{
	__u32 zero = 0;
	struct gnomon_stamp_counts *c = bpf_map_lookup_elem(&gnomon_counts, &zero);

	if (c && which < GNOMON_CNT_NR)
		c->n[which]++;
}

static __always_inline struct gnomon_stamp_clock *clock_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gnomon_clock, &zero);
}

static __always_inline struct gnomon_stamp_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gnomon_config, &zero);
}

static __always_inline void enable_callbacks(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
				  BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG |
				  BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG);
}

/*
 * Sequence range of the segment whose TCP header skb_data covers.  The
 * skb's length includes the header on both the write and the parse side.
 */
static __always_inline int seg_read(struct bpf_sock_ops *skops, struct seg *s)
{
	__u8 *th = (__u8 *)(long)skops->skb_data;
	__u8 *end = (__u8 *)(long)skops->skb_data_end;
	__u32 doff, len, span;

	if (th + TCP_HDR_MIN > end)
		return -1;
	s->seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) |
		 ((__u32)th[6] << 8) | th[7];
	doff = (__u32)(th[12] >> 4) * 4;
	len = skops->skb_len;
	span = len > doff ? len - doff : 0;
	if (th[13] & TCP_FLAG_SYN)
		span++;
	if (th[13] & TCP_FLAG_FIN)
		span++;
	s->end_seq = s->seq + span;
	s->flags = th[13];
	return 0;
}

/* The peer's ISN, as acknowledged by the SYN-ACK being written. */
static __always_inline int syn_seg_read(struct bpf_sock_ops *skops,
					struct seg *s)
{
	__u8 *th = (__u8 *)(long)skops->skb_data;
	__u8 *end = (__u8 *)(long)skops->skb_data_end;

	if (th + TCP_HDR_MIN > end)
		return -1;
	s->seq = (((__u32)th[8] << 24) | ((__u32)th[9] << 16) |
		  ((__u32)th[10] << 8) | th[11]) - 1;
	s->end_seq = s->seq + 1;
	s->flags = TCP_FLAG_SYN;
	return 0;
}

static __always_inline void emit(struct bpf_sock_ops *skops,
				 const struct gnomon_stamp_config *cfg, __u8 dir,
				 __u64 lamport, __u64 remote, __u16 remote_node,
				 const struct seg *s)
{
	struct gnomon_stamp_event *e;
	__u32 rport;

	if (!cfg->events)
		return;
	e = bpf_ringbuf_reserve(&gnomon_events, sizeof(*e), 0);
	if (!e) {
		count(GNOMON_CNT_RB_DROPS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->lamport = lamport;
	e->remote = remote;
	e->mono_ns = bpf_ktime_get_ns();
	e->seq = s->seq;
	e->end_seq = s->end_seq;
	e->node_id = (__u16)cfg->node_id;
	e->remote_node = remote_node;
	e->dir = dir;
	e->tcp_flags = s->flags;
	e->local_port = (__u16)skops->local_port;
	/* Network order, in the upper half on some kernels, the lower on others. */
	rport = skops->remote_port;
	e->remote_port = rport >> 16 ? (__u16)bpf_ntohl(rport) :
				       bpf_ntohs((__u16)rport);
	if (skops->family == GNOMON_AF_INET6) {
		e->family = GNOMON_AF_INET6;
		__builtin_memcpy(&e->local_addr[0], &skops->local_ip6[0], 4);
		__builtin_memcpy(&e->local_addr[4], &skops->local_ip6[1], 4);
		__builtin_memcpy(&e->local_addr[8], &skops->local_ip6[2], 4);
		__builtin_memcpy(&e->local_addr[12], &skops->local_ip6[3], 4);
		__builtin_memcpy(&e->remote_addr[0], &skops->remote_ip6[0], 4);
		__builtin_memcpy(&e->remote_addr[4], &skops->remote_ip6[1], 4);
		__builtin_memcpy(&e->remote_addr[8], &skops->remote_ip6[2], 4);
		__builtin_memcpy(&e->remote_addr[12], &skops->remote_ip6[3], 4);
	} else {
		__u32 l = skops->local_ip4, r = skops->remote_ip4;

		e->family = GNOMON_AF_INET;
		__builtin_memcpy(e->local_addr, &l, 4);
		__builtin_memcpy(e->remote_addr, &r, 4);
	}
	bpf_ringbuf_submit(e, 0);
}

/* Merge the stamp of a received segment, if it carries one. */
static __always_inline void receive(struct bpf_sock_ops *skops, int from_syn,
				    const struct seg *s)
{
	__u8 opt[OPT_SPACE] = { GNOMON_OPT_KIND, 4, GNOMON_OPT_EXID >> 8,
				GNOMON_OPT_EXID & 0xff };
	struct gnomon_stamp_config *cfg;
	struct gnomon_stamp_clock *clk;
	__u64 remote, old, now, limit;
	__u16 node;
	long ret;
	int i;

	ret = bpf_load_hdr_opt(skops, opt, sizeof(opt),
			       from_syn ? LOAD_HDR_OPT_TCP_SYN : 0);
	if (ret == -E_FAULT || (ret > 0 && ret != GNOMON_OPT_LEN)) {
		count(GNOMON_CNT_MALFORMED);
		return;
	}
	if (ret != GNOMON_OPT_LEN)
		return;		/* no stamp: a peer that does not stamp */
	clk = clock_get();
	cfg = config_get();
	if (!clk || !cfg)
		return;
	remote = ((__u64)opt[4] << 40) | ((__u64)opt[5] << 32) |
		 ((__u64)opt[6] << 24) | ((__u64)opt[7] << 16) |
		 ((__u64)opt[8] << 8) | opt[9];
	node = ((__u16)opt[10] << 8) | opt[11];
	limit = cfg->max_jump ? cfg->max_jump : GNOMON_DEFAULT_MAX_JUMP;
	for (i = 0; i < GNOMON_CAS_TRIES; i++) {
		old = *(volatile __u64 *)&clk->lamport;
		if (remote > old && remote - old > limit) {
			count(GNOMON_CNT_REJECTED);
			return;
		}
		now = (remote > old ? remote : old) + 1;
		if (now > GNOMON_LAMPORT_MAX) {
			count(GNOMON_CNT_REJECTED);
			return;
		}
		if (__sync_val_compare_and_swap(&clk->lamport, old, now) == old) {
			count(GNOMON_CNT_MERGED);
			emit(skops, cfg, GNOMON_DIR_RECV, now, remote, node, s);
			return;
		}
	}
	count(GNOMON_CNT_CONTENDED);
}

static __always_inline int wants_stamp(struct bpf_sock_ops *skops)
{
	return (skops->skb_tcp_flags & TCP_FLAG_SYN) || skops->skb_len > 0;
}

static __always_inline void reserve(struct bpf_sock_ops *skops)
{
	if (skops->args[0] == WRITE_HDR_TCP_CURRENT_MSS) {
		bpf_reserve_hdr_opt(skops, GNOMON_OPT_LEN, 0);
		return;
	}
	if (!wants_stamp(skops))
		return;
	if (bpf_reserve_hdr_opt(skops, GNOMON_OPT_LEN, 0))
		count(GNOMON_CNT_NO_ROOM);
}

static __always_inline void stamp(struct bpf_sock_ops *skops)
{
	__u8 opt[GNOMON_OPT_LEN];
	__u8 flags = (__u8)skops->skb_tcp_flags;
	struct gnomon_stamp_config *cfg;
	struct gnomon_stamp_clock *clk;
	struct seg s;
	__u64 now;
	long ret;

	if (seg_read(skops, &s))
		return;
	if (!(flags & TCP_FLAG_SYN) && s.end_seq - s.seq <= (flags & TCP_FLAG_FIN))
		return;		/* nothing reserved for a pure ACK or FIN */
	if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
	    (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
		struct seg syn;

		if (!syn_seg_read(skops, &syn))
			receive(skops, 1, &syn);
	}
	clk = clock_get();
	cfg = config_get();
	if (!clk || !cfg)
		return;
	now = __sync_fetch_and_add(&clk->lamport, 1) + 1;
	opt[0] = GNOMON_OPT_KIND;
	opt[1] = GNOMON_OPT_LEN;
	opt[2] = GNOMON_OPT_EXID >> 8;
	opt[3] = GNOMON_OPT_EXID & 0xff;
	opt[4] = now >> 40;
	opt[5] = now >> 32;
	opt[6] = now >> 24;
	opt[7] = now >> 16;
	opt[8] = now >> 8;
	opt[9] = now;
	opt[10] = cfg->node_id >> 8;
	opt[11] = cfg->node_id;
	ret = bpf_store_hdr_opt(skops, opt, sizeof(opt), 0);
	if (ret == -E_EXIST) {
		count(GNOMON_CNT_DUPLICATE);
		return;
	}
	if (ret) {
		count(GNOMON_CNT_NO_ROOM);
		return;
	}
	count(GNOMON_CNT_STAMPED);
	emit(skops, cfg, GNOMON_DIR_SEND, now, 0, 0, &s);
}

static __always_inline void established(struct bpf_sock_ops *skops)
{
	struct seg s;

	enable_callbacks(skops);
	if (!seg_read(skops, &s))
		receive(skops, 0, &s);
}

SEC("sockops")
int gnomon_sockops(struct bpf_sock_ops *skops)
{
	struct seg s;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		enable_callbacks(skops);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		established(skops);
		break;
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
		if (!seg_read(skops, &s))
			receive(skops, 0, &s);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		reserve(skops);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		stamp(skops);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
