# SPDX-License-Identifier: GPL-2.0
# KTAP checks on a command's output, for tests of client tools (etcdctl);
# source it after selftests/ktap.sh.
#
#	expect NAME WANT CMD...             # ok if CMD prints exactly WANT
#	expect_match NAME REGEX CMD...      # ok if CMD's output matches REGEX

# expect NAME WANT CMD...: the command's output must equal WANT.
expect()
{
	local name=$1 want=$2
	shift 2
	ktap_eq "$name" "$want" "$("$@")"
}

# expect_match NAME REGEX CMD...: the output must match REGEX.
expect_match()
{
	local name=$1 re=$2 out
	shift 2
	out=$("$@")
	if [[ $out =~ $re ]]; then
		ktap_ok "$name"
	else
		ktap_fail "$name" "want /$re/ got [$out]"
	fi
}
