#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bounded libFuzzer run of the peer-message decoder (selftests/gnomond/
# peer_fuzz.c): GNOMOND_FUZZ_SECONDS (default 20; `make fuzz` runs longer),
# no crash, no leak, no sanitizer report.  The corpus grows in
# build/fuzz/gnomond/corpus from one run to the next.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
fuzzer=$top/build/fuzz/gnomond/peer_fuzz
corpus=$top/build/fuzz/gnomond/corpus
secs=${GNOMOND_FUZZ_SECONDS:-20}

ktap_plan 1
if [ ! -x "$fuzzer" ]; then
	ktap_skip "peer decoder fuzz" "no fuzzer binary (clang with libFuzzer missing)"
	ktap_finish
	exit $?
fi
mkdir -p "$corpus"
log=$(mktemp)
if "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
	-max_len=4096 -print_final_stats=1 "$corpus" > "$log" 2>&1; then
	ktap_diag "$(grep -E 'stat::number_of_executed_units|cov:' "$log" | tail -n 2 | tr '\n' ' ')"
	ktap_ok "peer decoder fuzz ($secs s)"
else
	tail -n 30 "$log" | sed 's/^/# /'
	ktap_fail "peer decoder fuzz ($secs s)" "the fuzzer found a crash"
fi
rm -f "$log"
ktap_finish
