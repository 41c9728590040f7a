#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_kselftest.sh: run installed gnomon tests as the kernel's kselftest
# runner runs its own, with its options, from the kselftest-list.txt
# beside this script (make -C selftests install INSTALL_PATH=DIR lays it
# out; build/kselftest/ is the same layout inside the tree).
#
# Each selected test runs in its collection's directory, bounded by the
# collection's settings file (timeout=SECONDS, 0 for none) or -o.  Its
# exit status is read with kselftest's codes: 0 pass, 4 skip, 124 timed
# out, anything else fails.  The output is KTAP: one result line per test,
# the test's own KTAP before it as "# " lines; the exit status is 1 if any
# test failed.  Collections: gnomon (the tests of gnomon.ko, which must be
# loaded) and gnomon-host (the rest; no module needed).
set -u
BASE_DIR=$(cd "$(dirname "$0")" && pwd)
LIST=$BASE_DIR/kselftest-list.txt
KSFT_SKIP=4

usage()
{
	cat <<EOF
Usage: $0 [OPTIONS]
  -s | --summary               print only result lines; the full log goes to
                               $BASE_DIR/output.log
  -p | --per-test-log          keep each test's log in \${TMPDIR:-/tmp}
  -t | --test COLLECTION:TEST  run TEST from COLLECTION (repeatable)
  -c | --collection COLLECTION run every test of COLLECTION (repeatable)
  -l | --list                  list the available COLLECTION:TEST entries
  -d | --dry-run               report the selected tests, run none
  -o | --override-timeout S    time limit for every test, in seconds
  -h | --help                  this text
EOF
	exit "${1:-0}"
}

summary=0 per_test=0 dry=0 override=
selected=()
while [ $# -gt 0 ]; do
	case $1 in
	-s|--summary) summary=1 ;;
	-p|--per-test-log) per_test=1 ;;
	-t|--test) selected+=("${2:?-t wants COLLECTION:TEST}"); shift ;;
	-c|--collection) selected+=("${2:?-c wants COLLECTION}:*"); shift ;;
	-l|--list) cat "$LIST"; exit 0 ;;
	-d|--dry-run) dry=1 ;;
	-o|--override-timeout) override=${2:?-o wants seconds}; shift ;;
	-h|--help) usage 0 ;;
	*) echo "$0: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
[ -r "$LIST" ] || { echo "$0: no test list $LIST" >&2; exit 1; }

# The list's entries that match a selection (all when none is given).
tests=()
while IFS= read -r entry; do
	[ -n "$entry" ] || continue
	keep=$(( ${#selected[@]} == 0 ))
	for pattern in "${selected[@]}"; do
		# shellcheck disable=SC2053 # "COLLECTION:*" is a pattern
		[[ $entry == $pattern ]] && keep=1
	done
	[ "$keep" = 1 ] && tests+=("$entry")
done < "$LIST"

# The tests' output goes to fd 3: stdout, or output.log with -s.
if [ "$summary" = 1 ]; then
	exec 3> "$BASE_DIR/output.log"
else
	exec 3>&1
fi

# result LINE: a result line, on stdout and (with -s) in the log too.
result()
{
	echo "$1"
	[ "$summary" = 1 ] && echo "$1" >&3
	return 0
}

# timeout_of COLLECTION: -o, else the collection's settings, else 45 s.
timeout_of()
{
	local t
	[ -n "$override" ] && { echo "$override"; return; }
	t=$(sed -n 's/^timeout=\([0-9]*\)$/\1/p' "$BASE_DIR/$1/settings" 2>/dev/null)
	echo "${t:-45}"
}

echo "KTAP version 1"
echo "1..${#tests[@]}"
if printf '%s\n' "${tests[@]}" | grep -q '^gnomon:' && [ ! -e /dev/gnomon ]; then
	result "# gnomon.ko is not loaded (no /dev/gnomon): its tests will fail; modprobe gnomon first"
fi
n=0 failed=0
for entry in "${tests[@]}"; do
	n=$((n + 1))
	coll=${entry%%:*}
	name=${entry#*:}
	title="selftests: $coll: $name"
	if [ "$dry" = 1 ]; then
		result "ok $n $title # SKIP dry run"
		continue
	fi
	limit=$(timeout_of "$coll")
	echo "# $title" >&3
	out=/dev/null
	[ "$per_test" = 1 ] && out=${TMPDIR:-/tmp}/$coll-$name.log
	(cd "$BASE_DIR/$coll" && timeout -k 10 "$limit" "./$name") 2>&1 |
		tee "$out" | sed 's/^/# /' >&3
	rc=${PIPESTATUS[0]}
	case $rc in
	0) result "ok $n $title" ;;
	"$KSFT_SKIP") result "ok $n $title # SKIP" ;;
	124) result "not ok $n $title # TIMEOUT $limit seconds" ;;
	*) result "not ok $n $title # exit=$rc" ;;
	esac
	[ "$rc" -eq 0 ] || [ "$rc" -eq "$KSFT_SKIP" ] || failed=$((failed + 1))
done
result "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
