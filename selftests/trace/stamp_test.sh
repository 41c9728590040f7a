#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end tests of the TCP stamper and gnomon-trace, in network
# namespaces joined by veth pairs (selftests/trace/lib.sh), each namespace
# in its own cgroup with its own stamper, as if each were a host:
#
#   - the option is on the wire (tcpdump and tshark decode kind 253, ExID
#     0x474e) on SYN, SYN-ACK and every data segment, with the values the
#     hosts recorded;
#   - every recorded event obeys the Lamport rules exactly;
#   - merge rebuilds a ping-pong and an A->B->C relay exactly, and reports
#     two independent sends as concurrent;
#   - a peer without the stamper interoperates, both ways;
#   - IPv6 works as IPv4 does;
#   - crafted segments with malformed, truncated and far-ahead options are
#     delivered, ignored and counted, with no kernel warning;
#   - record leaves nothing attached; --pin keeps stamping, unpin ends it,
#     with bpffs on /sys/fs/bpf and without (each in a private mount
#     namespace, so the host's mounts neither matter nor change): --pin
#     mounts it, or without the privilege refuses and says how.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/trace/lib.sh"

. "$top/selftests/trace/cases.sh"

stamp_begin 19 tshark tcpdump python3 jq ip bpftool

if trace_case pingpong; then
	ktap_ok "ping-pong between two stamped hosts"
else
	ktap_fail "ping-pong between two stamped hosts" "$(cat "$work"/*.err 2>/dev/null | tail -3)"
fi
ktap_check "tcpdump: the option on SYN, SYN-ACK and all data, with the recorded values" trace_case wire_check
ktap_check "tshark decodes the option on SYN, SYN-ACK and all data" trace_case tshark_check
ktap_check "Lamport rules hold on A" lamport_rules "$work/a.jsonl"
ktap_check "Lamport rules hold on B" lamport_rules "$work/b.jsonl"
ktap_check "merge rebuilds the ping-pong chain exactly" trace_case pingpong_chain
ktap_check "merge rebuilds the relay A->B->C exactly" trace_case relay
ktap_check "Lamport rules hold on the relay (B)" lamport_rules "$work/b.jsonl"
ktap_check "merge reports two independent sends as concurrent" trace_case independent
ktap_check "a peer without the stamper interoperates both ways" trace_case unstamped
ktap_check "IPv6: merge rebuilds a ping-pong exactly" trace_case ipv6
ktap_check "crafted segments are delivered" trace_case crafted
ktap_check "malformed and far-ahead options are ignored and counted" craft_counts
ktap_check "no kernel warning" no_new_warning
ktap_check "record leaves nothing attached" nothing_attached
ktap_check "--pin keeps stamping without the recorder; unpin detaches" trace_case pinned_in_ns yes
ktap_check "without bpffs, --pin mounts it on /sys/fs/bpf and keeps stamping" trace_case pinned_in_ns no
ktap_check "without bpffs and CAP_SYS_ADMIN, --pin refuses and says what to run" trace_case pin_refused
ktap_check "nothing attached at the end" nothing_attached

ktap_finish
