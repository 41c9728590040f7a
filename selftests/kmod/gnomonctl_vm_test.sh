#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gnomonctl against the real module: JSON fields, privilege, HLC across
# processes, rejection of far-future timestamps, commit-wait, usage errors.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
ctl=$top/build/bin/gnomonctl

ktap_plan 8

out=$($ctl discipline --error 4ms --interval 10s --source static --json)
if [ "$(jq -r '.status + " " + .source + " " + .clock_source' <<< "$out")" = "synchronized kernel static" ] &&
   [ "$(jq -r '.bound_ns >= 4000000' <<< "$out")" = true ]; then
	ktap_ok "discipline as root synchronizes the kernel clock"
else
	ktap_fail "discipline as root synchronizes the kernel clock" "$out"
fi

out=$($ctl now --json)
if jq -e 'has("earliest_ns") and has("latest_ns") and has("bound_ns") and has("status")
	  and has("source") and .hlc.wall_ns > 0 and (.hlc.logical | type) == "number"
	  and .hlc.scope == "host" and .earliest_ns < .latest_ns' <<< "$out" > /dev/null; then
	ktap_ok "now --json has the documented fields"
else
	ktap_fail "now --json has the documented fields" "$out"
fi

err=$(setpriv --reuid=65534 --regid=65534 --clear-groups $ctl discipline --error 1ms 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q CAP_SYS_TIME <<< "$err"; then
	ktap_ok "discipline as nobody fails with a clear error"
else
	ktap_fail "discipline as nobody fails with a clear error" "rc=$rc $err"
fi

a=$($ctl hlc tick --json)
b=$(setpriv --reuid=65534 --regid=65534 --clear-groups $ctl hlc tick --json)
if jq -n --argjson a "$a" --argjson b "$b" -e \
	'($b.hlc.wall_ns > $a.hlc.wall_ns) or ($b.hlc.wall_ns == $a.hlc.wall_ns and $b.hlc.logical > $a.hlc.logical)' > /dev/null; then
	ktap_ok "the HLC advances across processes and users"
else
	ktap_fail "the HLC advances across processes and users" "$a then $b"
fi

far=$(( $(date +%s) + 86400 ))000000000
err=$($ctl hlc update "$far.0" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q rejected <<< "$err"; then
	ktap_ok "hlc update rejects a timestamp a day ahead"
else
	ktap_fail "hlc update rejects a timestamp a day ahead" "rc=$rc $err"
fi

out=$($ctl wait-until latest --json)
if jq -e '.earliest_ns > .until_ns' <<< "$out" > /dev/null; then
	ktap_ok "wait-until latest returns past earliest"
else
	ktap_fail "wait-until latest returns past earliest" "$out"
fi

$ctl hlc update not-a-time > /dev/null 2>&1
rc1=$?
$ctl frobnicate > /dev/null 2>&1
rc2=$?
if [ $rc1 -eq 2 ] && [ $rc2 -eq 2 ]; then
	ktap_ok "usage errors exit 2"
else
	ktap_fail "usage errors exit 2" "rc $rc1 $rc2"
fi

out=$($ctl status --json)
if jq -e '.counters.disciplines >= 1 and .config.drift_ppb == 50000' <<< "$out" > /dev/null; then
	ktap_ok "status --json shows counters and configuration"
else
	ktap_fail "status --json shows counters and configuration" "$out"
fi
ktap_finish
