#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The quick part of stamp_test.sh, run inside the VM on each kernel: the
# program loads and passes the verifier there, the option is on the wire
# (tcpdump), the Lamport rules hold, merge rebuilds a ping-pong exactly,
# crafted bad options are counted, events carry the HLC of gnomon.ko, and
# nothing stays attached.  The rest
# (relay, concurrency, interop, pinning) runs on the host: under TCG each
# process start costs seconds.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/trace/lib.sh"
. "$top/selftests/trace/cases.sh"

stamp_begin 10 tcpdump python3 jq ip bpftool

if trace_case pingpong; then
	ktap_ok "ping-pong between two stamped hosts on $(uname -r)"
else
	ktap_fail "ping-pong between two stamped hosts on $(uname -r)" "$(cat "$work"/*.err 2>/dev/null | tail -3)"
fi
ktap_check "tcpdump: the option on SYN, SYN-ACK and all data, with the recorded values" trace_case wire_check
ktap_check "Lamport rules hold on A" lamport_rules "$work/a.jsonl"
ktap_check "Lamport rules hold on B" lamport_rules "$work/b.jsonl"
ktap_check "merge rebuilds the ping-pong chain exactly" trace_case pingpong_chain
if [ -e /dev/gnomon ]; then
	ktap_check "events carry the host HLC from gnomon.ko" hlc_check "$work/a.jsonl"
else
	ktap_skip "events carry the host HLC from gnomon.ko" "no /dev/gnomon: gnomon.ko is not loaded"
fi
ktap_check "crafted segments are delivered" trace_case crafted
ktap_check "malformed and far-ahead options are ignored and counted" craft_counts
ktap_check "no kernel warning" no_new_warning
ktap_check "record leaves nothing attached" nothing_attached

ktap_finish
