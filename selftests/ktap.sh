# SPDX-License-Identifier: GPL-2.0
# KTAP helpers for shell tests; source this file.
#
#	ktap_plan 3
#	ktap_check "name" command args...   # ok if the command exits 0
#	ktap_ok "name" / ktap_fail "name" "why" / ktap_skip "name" "why"
#	ktap_eq "name" want got              # ok if the strings are equal
#	ktap_skip_all "name" "why"            # skip the rest of the plan, exit
#	ktap_finish                           # status: the kselftest exit code
#
# Exit codes are kselftest's (KSFT_PASS 0, KSFT_FAIL 1, KSFT_SKIP 4): a
# test ends with ktap_finish (or ktap_skip_all), whose status is 1 if
# anything failed, 4 if everything was skipped, else 0.
KTAP_INDEX=0
KTAP_FAILED=0
KTAP_PASSED=0
KTAP_PLANNED=0
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_plan()
{
	KTAP_PLANNED=$1
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
	KTAP_PASSED=$((KTAP_PASSED + 1))
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

# ktap_rc NAME STATUS [DIAG]: ok if STATUS (an exit status, or any
# number computed as one) is 0, else not ok with DIAG.
ktap_rc()
{
	if [ "$2" = 0 ]; then
		ktap_ok "$1"
	else
		ktap_fail "$1" "${3:-}"
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
	[ "$KTAP_FAILED" -eq 0 ] || return $KSFT_FAIL
	[ "$KTAP_PASSED" -eq 0 ] && [ "$KTAP_INDEX" -gt 0 ] && return $KSFT_SKIP
	return $KSFT_PASS
}

# ktap_skip_all NAME WHY: the host lacks what the test needs: skip every
# planned test not run yet (as NAME-1, NAME-2, ...), finish and exit with
# ktap_finish's status (KSFT_SKIP when nothing had run before).
ktap_skip_all()
{
	local i
	for i in $(seq $((KTAP_INDEX + 1)) "$KTAP_PLANNED"); do
		ktap_skip "$1-$i" "$2"
	done
	ktap_finish
	exit
}
