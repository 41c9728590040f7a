#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The host unit tests again, unsanitized, under valgrind's memcheck: any
# invalid access, use of uninitialised memory or leak fails the test.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"

bins=("$top"/build/selftests/plain/*)
ktap_plan ${#bins[@]}
if ! command -v valgrind > /dev/null; then
	for b in "${bins[@]}"; do ktap_skip "valgrind $(basename "$b")" "valgrind is not installed"; done
	exit 0
fi
for b in "${bins[@]}"; do
	log=$(mktemp)
	if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--track-origins=yes "$b" > "$log" 2>&1; then
		ktap_ok "valgrind $(basename "$b")"
	else
		sed 's/^/# /' "$log" | tail -n 30
		ktap_fail "valgrind $(basename "$b")"
	fi
	rm -f "$log"
done
ktap_finish
