# SPDX-License-Identifier: GPL-2.0
# The cases of the stamping tests (stamp_test.sh on the host runs them all,
# stamp_vm_test.sh the quick ones inside the VM).  Each is a function that
# prints why it failed and returns non-zero; they share $work, set up by
# stamp_begin.

# stamp_begin NTESTS TOOL...: the KTAP plan, then skip everything if the
# machine lacks BPF with BTF, cgroup v2, namespaces or a TOOL; else set up
# the hosts in $work, cleaned up on exit.
stamp_begin()
{
	local ntests=$1 tool
	shift
	ktap_plan "$ntests"
	[ -x "$TRACE_BIN" ] || { ktap_fail "gnomon-trace is built" "$TRACE_BIN missing"; exit 1; }
	[ -r /sys/kernel/btf/vmlinux ] || ktap_skip_all "stamp test" "kernel without BTF"
	[ -n "$(trace_cgroot)" ] || ktap_skip_all "stamp test" "no cgroup v2 mount"
	for tool in "$@"; do
		command -v "$tool" > /dev/null || ktap_skip_all "stamp test" "$tool is not installed"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/gnomon-stamp.XXXXXX")
	trap 'trace_cleanup; rm -rf "$work"' EXIT
	warnings_before=$(dmesg 2>/dev/null | grep -c 'WARNING:')
	trace_setup "$work" || ktap_skip_all "stamp test" "cannot create namespaces and cgroups"
}

no_new_warning()
{
	test "$(dmesg 2>/dev/null | grep -c 'WARNING:')" = "$warnings_before"
}

# status_count CGROUP COUNTER: a counter of the stamper attached to CGROUP.
status_count()
{
	"$TRACE_BIN" status | awk -v cg="$1" -v key="$2" '
		/^program/ { mine = 0 }
		$1 == "attached" && $3 == cg { mine = 1 }
		mine { for (i = 1; i < NF; i++) if ($i == key) { print $(i + 1); exit } }'
}

# lamport_rules FILE: every event of the record follows the rules, exactly.
lamport_rules()
{
	jq -r 'select(.dir) | "\(.lamport) \(.dir) \(.remote)"' "$1" | sort -n |
	awk 'BEGIN { prev = 0 }
		$1 == prev { print "duplicate value " $1; bad = 1 }
		$2 == "send" && $1 != prev + 1 { print "send " $1 " after " prev; bad = 1 }
		$2 == "recv" && $1 != ($3 > prev ? $3 : prev) + 1 {
			print "recv " $1 " of " $3 " after " prev; bad = 1 }
		{ prev = $1; n++ }
		END { if (!n) { print "no events"; bad = 1 } exit bad }'
}

# pingpong: 3 rounds A <-> B, both recorded, with a capture on A's side.
pingpong()
{
	trace_record a 1 && trace_record b 2 || return 1
	ip netns exec "$(trace_ns a)" tcpdump -i "${TRACE_TAG}ab" --immediate-mode -U -w "$work/pp.pcap" tcp \
		2> "$work/tcpdump.err" &
	local dump=$!
	TRACE_PIDS+=($dump)
	trace_wait_for "$work/tcpdump.err" listening || return 1
	trace_bg b "$TRACE_PY" "$TRACE_PEER" serve 7000 3 > "$work/serve.out"
	trace_wait_for "$work/serve.out" listening || return 1
	trace_on a "$TRACE_PY" "$TRACE_PEER" ping 198.18.1.2 7000 3 || return 1
	sleep 0.3
	kill -INT $dump
	wait $dump
	trace_stop_recorders
}

# wire_check: tcpdump shows the option (kind 253, ExID 0x474e) on every
# SYN, SYN-ACK and data segment of the ping-pong, and the Lamport values and
# node ids on the wire are exactly the sends the two hosts recorded.
wire_check()
{
	tcpdump -nr "$work/pp.pcap" 2> /dev/null > "$work/pp.dump" || return 1
	awk '/ Flags \[/ && (/length [1-9]/ || /Flags \[S/) {
			if (match($0, /unknown-253 0x474e[0-9a-f]+/))
				print substr($0, RSTART + 18, RLENGTH - 18)
			else {
				print "unstamped: " $0 > "/dev/stderr"; bad = 1
			}
		}
		END { exit bad }' "$work/pp.dump" > "$work/wire.hex" || return 1
	local hex
	while read -r hex; do
		printf '%d %d\n' "0x${hex:0:12}" "0x${hex:12:4}"
	done < "$work/wire.hex" | sort -n > "$work/wire.stamps"
	jq -r 'select(.dir == "send") | "\(.lamport) \(.node)"' "$work/a.jsonl" "$work/b.jsonl" |
		sort -n > "$work/sent.stamps"
	[ "$(wc -l < "$work/wire.stamps")" -eq 8 ] || { echo "$(wc -l < "$work/wire.stamps") stamped segments"; return 1; }
	diff "$work/wire.stamps" "$work/sent.stamps"
}

# tshark_check: Wireshark's dissector agrees (SYN, SYN-ACK, 6 data segments).
tshark_check()
{
	local f='tcp.option_kind == 253 && tcp.options.experimental.exid == 0x474e'
	tshark -r "$work/pp.pcap" -T fields -e tcp.flags.syn -e tcp.flags.ack -e tcp.len \
		-Y "$f" 2> /dev/null > "$work/pp.tshark" || return 1
	awk '$1 == 1 && $2 == 0 { syn++ } $1 == 1 && $2 == 1 { synack++ } $3 > 0 { data++ }
		END { print "syn " syn " synack " synack " data " data
		      exit !(syn == 1 && synack == 1 && data == 6) }' "$work/pp.tshark"
}


pingpong_chain()
{
	"$TRACE_BIN" merge "$work/a.jsonl" "$work/b.jsonl" > "$work/pp.txt" || return 1
	local got want="1send 2recv 2send 1recv"
	want="$want 1send 2recv 2send 1recv 1send 2recv 2send 1recv 1send 2recv 2send 1recv"
	got=$(awk '/^pos=/ { sub("node=", "", $2); printf "%s%s%s ", sep, $2, $3 }' "$work/pp.txt" | sed 's/ $//')
	[ "$got" = "$want" ] || { echo "chain: $got"; return 1; }
	# Every receive comes from the event just before it.
	awk '/^pos=/ && $3 == "recv" { split($1, p, "="); if ($NF != "from=" p[2] - 1) bad = 1 }
		END { exit bad }' "$work/pp.txt"
}

relay()
{
	trace_record a 1 && trace_record b 2 && trace_record c 3 || return 1
	trace_bg c "$TRACE_PY" "$TRACE_PEER" sink 7002 1 > "$work/sink.out"
	trace_bg b "$TRACE_PY" "$TRACE_PEER" relay 7001 198.18.2.3 7002 > "$work/relay.out"
	trace_wait_for "$work/sink.out" listening && trace_wait_for "$work/relay.out" listening || return 1
	trace_on a "$TRACE_PY" "$TRACE_PEER" send 198.18.1.2 7001 || return 1
	trace_wait_for "$work/sink.out" received || return 1
	trace_stop_recorders || return 1
	"$TRACE_BIN" merge "$work/a.jsonl" "$work/b.jsonl" "$work/c.jsonl" > "$work/relay.txt" || return 1
	# The data messages: A's send, B's receive of it, B's send, C's receive.
	awk '/^pos=/ && $7 == "len=8" {
			split($1, p, "="); node = substr($2, 6); key = node $3
			pos[key] = p[2]; line[key] = $0
			if ($3 == "recv") { from[key] = substr($NF, 6) }
		}
		END {
			if (!("1send" in pos) || !("2recv" in pos) || !("2send" in pos) || !("3recv" in pos)) {
				print "missing a hop"; exit 1 }
			if (from["2recv"] != pos["1send"] || from["3recv"] != pos["2send"]) {
				print "wrong match"; exit 1 }
			if (!(pos["1send"] < pos["2recv"] && pos["2recv"] < pos["2send"] && pos["2send"] < pos["3recv"])) {
				print "wrong order"; exit 1 }
			split(line["1send"], a, "vc="); split(line["3recv"], c, "vc=")
			split(a[2], av, "[, ]"); split(c[2], cv, "[, ]")
			if (cv[1] < av[1]) { print "C does not know A"; exit 1 }
		}' "$work/relay.txt"
}

independent()
{
	rm -f "$work/go"
	trace_record a 1 && trace_record b 2 && trace_record c 3 || return 1
	trace_bg b "$TRACE_PY" "$TRACE_PEER" sink 7003 2 > "$work/sink2.out"
	trace_wait_for "$work/sink2.out" listening || return 1
	trace_bg a "$TRACE_PY" "$TRACE_PEER" send 198.18.1.2 7003 "$work/go"
	trace_bg c "$TRACE_PY" "$TRACE_PEER" send 198.18.2.2 7003 "$work/go"
	# Both connected (B merged two SYNs) before either sends.
	local i
	for i in $(seq 200); do
		[ "$(grep -c '"dir":"recv".*"tcp_flags":2,' "$work/b.jsonl")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$i" -lt 200 ] || { echo "the two connections did not come up"; return 1; }
	touch "$work/go"
	trace_wait_for "$work/sink2.out" received || return 1
	trace_stop_recorders || return 1
	"$TRACE_BIN" merge "$work/a.jsonl" "$work/b.jsonl" "$work/c.jsonl" > "$work/conc.txt" || return 1
	local pa pc
	pa=$(awk '/^pos=/ && $2 == "node=1" && $3 == "send" && $7 == "len=8" { sub("pos=", "", $1); print $1 }' "$work/conc.txt")
	pc=$(awk '/^pos=/ && $2 == "node=3" && $3 == "send" && $7 == "len=8" { sub("pos=", "", $1); print $1 }' "$work/conc.txt")
	[ -n "$pa" ] && [ -n "$pc" ] || { echo "sends not found"; return 1; }
	grep -qx "concurrent $pa $pc" "$work/conc.txt" || grep -qx "concurrent $pc $pa" "$work/conc.txt"
}

unstamped()
{
	trace_record a 1 || return 1
	trace_bg b "$TRACE_PY" "$TRACE_PEER" serve 7004 3 > "$work/serve4.out"
	trace_wait_for "$work/serve4.out" listening || return 1
	trace_on a "$TRACE_PY" "$TRACE_PEER" ping 198.18.1.2 7004 3 || return 1
	trace_bg a "$TRACE_PY" "$TRACE_PEER" serve 7005 3 > "$work/serve5.out"
	trace_wait_for "$work/serve5.out" listening || return 1
	trace_on b "$TRACE_PY" "$TRACE_PEER" ping 198.18.1.1 7005 3 || return 1
	sleep 0.2
	[ "$(status_count "$(trace_cgroup a)" malformed)" = 0 ] || return 1
	trace_stop_recorders || return 1
	# A stamped its SYN, SYN-ACK and 6 data segments; it received no stamp.
	[ "$(jq -r 'select(.dir == "send")' "$work/a.jsonl" | jq -s length)" -eq 8 ] &&
	[ "$(jq -r 'select(.dir == "recv")' "$work/a.jsonl" | jq -s length)" -eq 0 ]
}

crafted()
{
	local mac out
	trace_record b 2 || return 1
	mac=$(ip -n "$(trace_ns a)" -j link show "${TRACE_TAG}ab" | jq -r '.[0].address')
	ip -n "$(trace_ns b)" neigh replace 198.18.1.77 lladdr "$mac" dev "${TRACE_TAG}ba" || return 1
	trace_bg b "$TRACE_PY" "$TRACE_PEER" sink 7006 1 > "$work/sink6.out"
	trace_wait_for "$work/sink6.out" listening || return 1
	out=$(ip netns exec "$(trace_ns a)" "$TRACE_PY" "$top/selftests/trace/craft.py" \
		"${TRACE_TAG}ab" 198.18.1.77 198.18.1.2 7006) || return 1
	echo "$out"
	trace_wait_for "$work/sink6.out" received || return 1
	grep -qx "received 32" "$work/sink6.out" || { cat "$work/sink6.out"; return 1; }
	# The SYN-ACK merged the SYN's 100 before its own tick: at least 102.
	[ "$(echo "$out" | awk '{ print $2 }')" -ge 102 ] || return 1
	local cg
	cg=$(trace_cgroup b)
	echo "$(status_count "$cg" malformed) $(status_count "$cg" rejected_jumps) $(status_count "$cg" merged)" \
		> "$work/craft.counts"
	trace_stop_recorders
}
craft_counts()
{
	local malformed rejected merged
	read -r malformed rejected merged < "$work/craft.counts" || return 1
	echo "malformed $malformed rejected $rejected merged $merged"
	[ "$malformed" -eq 2 ] && [ "$rejected" -eq 1 ] && [ "$merged" -eq 2 ]
}

nothing_attached()
{
	local h
	for h in a b c; do
		bpftool cgroup show "$(trace_cgroup $h)" 2>&1 | grep -q sock_ops && return 1
	done
	! "$TRACE_BIN" status | grep -q "$TRACE_TAG"
}

pinned()
{
	local cg before after
	cg=$(trace_cgroup a)
	"$TRACE_BIN" record --cgroup "$cg" --node-id 1 --pin --duration 1 -o "$work/pin.jsonl" 2> "$work/pin.err" || return 1
	before=$(status_count "$cg" stamped)
	[ -n "$before" ] || { echo "not attached after record --pin"; return 1; }
	trace_bg b "$TRACE_PY" "$TRACE_PEER" serve 7007 1 > "$work/serve7.out"
	trace_wait_for "$work/serve7.out" listening || return 1
	trace_on a "$TRACE_PY" "$TRACE_PEER" ping 198.18.1.2 7007 1 || return 1
	after=$(status_count "$cg" stamped)
	echo "stamped $before -> $after"
	[ "$after" -gt "$before" ] || return 1
	"$TRACE_BIN" record --cgroup "$cg" --duration 1 -o "$work/pin2.jsonl" 2> "$work/pin2.err" || return 1
	grep -q reusing "$work/pin2.err" || return 1
	"$TRACE_BIN" unpin --cgroup "$cg" || return 1
	[ -z "$(status_count "$cg" stamped)" ]
}

# mount_ns BPFFS: a process holding a private mount namespace in which
# /sys/fs/bpf has a fresh bpffs (BPFFS=yes) or none (no), whatever the host
# has (its mounts are never touched), and $work/in-ns, which runs
# gnomon-trace in it; prints the holder's pid after checking the mount.
mount_ns()
{
	local setup='umount /sys/fs/bpf 2>/dev/null' want=other pid fs
	[ "$1" = yes ] && setup="$setup; mount -t bpf bpf /sys/fs/bpf" want=bpf_fs
	unshare -m --propagation private sh -c "$setup; echo ready; exec sleep 300" \
		> "$work/mntns.out" 2>&1 &
	pid=$!
	trace_wait_for "$work/mntns.out" ready > /dev/null || return 1
	printf '#!/bin/sh\nexec nsenter -t %s -m -- "%s" "$@"\n' "$pid" "$TRACE_BIN" > "$work/in-ns"
	chmod +x "$work/in-ns"
	fs=$(nsenter -t "$pid" -m stat -f -c %T /sys/fs/bpf)
	[ "$fs" = bpf_fs ] || fs=other
	[ "$fs" = "$want" ] || { echo "/sys/fs/bpf: want $want, got $fs" >&2; return 1; }
	echo "$pid"
}

# pinned_in_ns BPFFS: pinned, in a mount namespace with or without bpffs
# on /sys/fs/bpf; without, --pin mounts it there and says so.
pinned_in_ns()
{
	local ns fs
	ns=$(mount_ns "$1") || return 1
	TRACE_PIDS+=("$ns")
	TRACE_BIN=$work/in-ns pinned || return 1
	fs=$(nsenter -t "$ns" -m stat -f -c %T /sys/fs/bpf)
	[ "$fs" = bpf_fs ] || { echo "/sys/fs/bpf is $fs after --pin"; return 1; }
	if [ "$1" = no ]; then
		grep -q "mounted bpffs on /sys/fs/bpf" "$work/pin.err"
	else
		! grep -q "mounted bpffs" "$work/pin.err"
	fi || { echo "pin.err: $(cat "$work/pin.err")"; return 1; }
}

# pin_refused: without the privilege to mount bpffs, --pin exits non-zero
# before attaching and says what to run.
pin_refused()
{
	local ns cg
	cg=$(trace_cgroup a)
	ns=$(mount_ns no) || return 1
	TRACE_PIDS+=("$ns")
	if nsenter -t "$ns" -m -- setpriv --inh-caps -sys_admin \
		--bounding-set -sys_admin -- "$TRACE_BIN" record --cgroup "$cg" \
		--pin --duration 1 -o "$work/refused.jsonl" 2> "$work/refused.err"; then
		echo "--pin succeeded without bpffs and without CAP_SYS_ADMIN"
		return 1
	fi
	cat "$work/refused.err"
	grep -q "mount -t bpf bpf /sys/fs/bpf" "$work/refused.err" || return 1
	[ -z "$(status_count "$cg" stamped)" ] || { echo "left attached"; return 1; }
}

# ipv6: one round of ping-pong over IPv6, rebuilt exactly, with IPv6
# addresses in the records.
ipv6()
{
	trace_record a 1 && trace_record b 2 || return 1
	trace_bg b "$TRACE_PY" "$TRACE_PEER" serve 7008 1 > "$work/serve8.out"
	trace_wait_for "$work/serve8.out" listening || return 1
	trace_on a "$TRACE_PY" "$TRACE_PEER" ping 2001:db8:1::2 7008 1 || return 1
	trace_stop_recorders || return 1
	"$TRACE_BIN" merge "$work/a.jsonl" "$work/b.jsonl" > "$work/v6.txt" || return 1
	local got
	got=$(awk '/^pos=/ { sub("node=", "", $2); printf "%s%s ", $2, $3 }' "$work/v6.txt")
	[ "$got" = "1send 2recv 2send 1recv 1send 2recv 2send 1recv " ] || { echo "chain: $got"; return 1; }
	grep -q '2001:db8:1::1:[0-9]*>2001:db8:1::2:7008' "$work/v6.txt" || { head -3 "$work/v6.txt"; return 1; }
	grep -q 'unmatched (0 mismatched)' "$work/v6.txt" && grep -q ' 4 receives matched, 0 unmatched' "$work/v6.txt"
}

# hlc_check FILE: with gnomon.ko loaded, every event carries a tick of the
# host HLC, strictly increasing in the order the recorder read them.
hlc_check()
{
	jq -r 'select(.dir) | "\(.hlc_wall) \(.hlc_logical)"' "$1" |
	awk '$1 == 0 { print "event without HLC"; bad = 1 }
		NR > 1 && ($1 < w || ($1 == w && $2 <= l)) { print "HLC went back: " $0; bad = 1 }
		{ w = $1; l = $2; n++ }
		END { if (!n) { print "no events"; bad = 1 } exit bad }'
}
