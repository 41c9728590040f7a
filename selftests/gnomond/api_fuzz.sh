#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bounded libFuzzer run of gnomond's gRPC request path (selftests/gnomond/
# api_fuzz.c): HTTP/2 bytes into an api_session backed by an MVCC store;
# GNOMOND_API_FUZZ_SECONDS (default 20; `make fuzz` runs longer).  No
# crash, no leak, no sanitizer report.  Seeds (every call kind, captured
# from a real client exchange) are rewritten each run; the corpus grows in
# build/fuzz/gnomond/api-corpus.
set -u
exec </dev/null	# never eat the runner's list of tests
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
fuzzer=$top/build/fuzz/gnomond/api_fuzz
seeds=$top/build/selftests/gnomond/api_fuzz_seeds
corpus=$top/build/fuzz/gnomond/api-corpus
secs=${GNOMOND_API_FUZZ_SECONDS:-20}

ktap_plan 2
if [ ! -x "$fuzzer" ]; then
	ktap_skip "seed corpus" "no fuzzer binary (clang with libFuzzer missing)"
	ktap_skip "gRPC request path fuzz" "no fuzzer binary (clang with libFuzzer missing)"
	ktap_finish
	exit $?
fi
mkdir -p "$corpus"
ktap_check "seed corpus" "$seeds" "$corpus"
log=$(mktemp)
if "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=8192 -print_final_stats=1 \
	-artifact_prefix="$top/build/fuzz/gnomond/api-" "$corpus" > "$log" 2>&1; then
	ktap_diag "$(grep -E 'stat::number_of_executed_units|cov:' "$log" | tail -n 2 | tr '\n' ' ')"
	ktap_ok "gRPC request path fuzz ($secs s)"
else
	tail -n 40 "$log" | sed 's/^/# /'
	ktap_fail "gRPC request path fuzz ($secs s)" "the fuzzer found a crash or a leak"
fi
rm -f "$log"
ktap_finish
