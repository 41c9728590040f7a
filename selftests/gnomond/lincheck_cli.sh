#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomon-lincheck as a command: exit status 0 on a linearizable history, 1
# with a report naming the offending line on a violation, 2 with a message
# on a malformed file or a missing one, 3 when the search budget runs out.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
lc=$top/build/bin/gnomon-lincheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ktap_plan 7

cat > "$tmp/good" <<'H'
# two clients, one overlapping write
c=1 op=put k=x v=a t0=0 t1=10 st=ok
c=1 op=put k=x v=b t0=20 t1=100 st=ok
c=2 op=get k=x v=a t0=30 t1=40 st=ok
c=2 op=get k=x v=b t0=50 t1=60 st=ok
c=3 op=put k=y v=z t0=5 st=info
H
out=$("$lc" "$tmp/good" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q '^linearizable: 5 operations on 2 keys' <<<"$out"; then
	ktap_ok "good history passes"
else
	ktap_fail "good history passes" "rc=$rc $out"
fi

cat > "$tmp/stale" <<'H'
c=1 op=put k=x v=a t0=0 t1=10 st=ok
c=1 op=put k=x v=b t0=20 t1=30 st=ok
c=2 op=get k=x v=a t0=40 t1=50 st=ok
H
out=$("$lc" "$tmp/stale" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q 'key x: not linearizable' <<<"$out" &&
   grep -q 'line 3: c=2 op=get k=x v=a' <<<"$out"; then
	ktap_ok "stale read is reported with its line"
else
	ktap_fail "stale read is reported with its line" "rc=$rc $out"
fi

printf 'c=1 op=put k=x v=a t0=0 t1=10 st=ok\nc=1 op=get k=x t0=9 t1=3 st=ok\n' > "$tmp/bad"
out=$("$lc" "$tmp/bad" 2>&1 >/dev/null)
rc=$?
if [ $rc -eq 2 ] && grep -q "bad: line 2: t1 is before t0" <<<"$out"; then
	ktap_ok "malformed line is refused with its line number"
else
	ktap_fail "malformed line is refused with its line number" "rc=$rc $out"
fi

"$lc" "$tmp/absent" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ktap_ok "missing file exits 2" || ktap_fail "missing file exits 2" "rc=$rc"

# --max-states goes through gparse: no sign, space, junk or zero.
printf 'c=1 op=put k=x v=a t0=0 t1=10 st=ok\n' > "$tmp/one"
bad=
for v in -1 ' 5' 5x 0 18446744073709551616; do
	"$lc" --max-states "$v" "$tmp/one" >/dev/null 2>&1
	[ $? -eq 2 ] || bad="$bad '$v'"
done
"$lc" --max-states 5 "$tmp/one" >/dev/null 2>&1 || bad="$bad (5 refused)"
[ -z "$bad" ] && ktap_ok "bad --max-states values exit 2" ||
	ktap_fail "bad --max-states values exit 2" "accepted:$bad"

# Many concurrent unknown writes and reads that no order explains: with a
# budget of one state the search cannot decide.
{
	for i in $(seq 1 12); do echo "c=$i op=put k=x v=v$i t0=0 st=info"; done
	echo "c=20 op=get k=x v=v1 t0=10 t1=20 st=ok"
	echo "c=20 op=get k=x v=v2 t0=30 t1=40 st=ok"
	echo "c=20 op=get k=x v=v1 t0=50 t1=60 st=ok"
} > "$tmp/hard"
out=$("$lc" --max-states 1 "$tmp/hard" 2>&1)
rc=$?
[ $rc -eq 3 ] && ktap_ok "search budget exhausted exits 3" ||
	ktap_fail "search budget exhausted exits 3" "rc=$rc $out"
out=$("$lc" "$tmp/hard" 2>&1)
rc=$?
[ $rc -eq 1 ] && ktap_ok "same history with a budget is not linearizable" ||
	ktap_fail "same history with a budget is not linearizable" "rc=$rc $out"
ktap_finish
