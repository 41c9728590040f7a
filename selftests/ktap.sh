# SPDX-License-Identifier: GPL-2.0
# KTAP helpers for shell tests; source this file.
#
#	ktap_plan 3
#	ktap_check "name" command args...   # ok if the command exits 0
#	ktap_ok "name" / ktap_fail "name" "why" / ktap_skip "name" "why"
#	ktap_finish                           # exit status: 0 if nothing failed
KTAP_INDEX=0
KTAP_FAILED=0

ktap_plan()
{
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_diag()
{
	echo "# $*"
}

ktap_ok()
{
	KTAP_INDEX=$((KTAP_INDEX + 1))
	echo "ok $KTAP_INDEX $1"
}

ktap_fail()
{
	KTAP_INDEX=$((KTAP_INDEX + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	[ -n "${2:-}" ] && ktap_diag "$1: $2"
	echo "not ok $KTAP_INDEX $1"
}

ktap_skip()
{
	KTAP_INDEX=$((KTAP_INDEX + 1))
	ktap_diag "SKIP $1: $2"
	echo "ok $KTAP_INDEX $1 # SKIP $2"
}

ktap_check()
{
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$name"
	else
		ktap_fail "$name" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
	fi
}

# ktap_eq NAME WANT GOT: ok if the two strings are equal.
ktap_eq()
{
	if [ "$2" = "$3" ]; then
		ktap_ok "$1"
	else
		ktap_fail "$1" "want [$2] got [$3]"
	fi
}

ktap_finish()
{
	ktap_diag "$KTAP_INDEX tests, $KTAP_FAILED failed"
	[ "$KTAP_FAILED" -eq 0 ]
}
