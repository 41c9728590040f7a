#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The host unit tests again, unsanitized, under valgrind's memcheck: any
# invalid access, use of uninitialised memory or leak fails the test.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"

bins=("$top"/build/selftests/plain/*)
ktap_plan ${#bins[@]}
command -v valgrind > /dev/null || ktap_skip_all valgrind "valgrind is not installed"
for b in "${bins[@]}"; do
	log=$(mktemp)
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--track-origins=yes "$b" > "$log" 2>&1
	rc=$?
	# A program whose every test skips exits KSFT_SKIP (4).
	if [ $rc -eq 0 ] || [ $rc -eq 4 ]; then
		ktap_ok "valgrind $(basename "$b")"
	else
		sed 's/^/# /' "$log" | tail -n 30
		ktap_fail "valgrind $(basename "$b")"
	fi
	rm -f "$log"
done
ktap_finish
