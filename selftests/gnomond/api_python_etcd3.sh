#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# python3-etcd3 against gnomond-api-test-server (api_python_etcd3.py does
# the checks and prints KTAP).  Uses Debian's /usr/bin/python3, where
# python3-etcd3 is installed.
set -u
exec </dev/null	# never eat the runner's list of tests
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/api_server_lib.sh"

if ! /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	ktap_plan 1
	ktap_skip "python3-etcd3" "python3-etcd3 is not installed"
	ktap_finish
	exit $?
fi
if ! api_server_start; then
	ktap_plan 1
	ktap_fail "server starts" "$(cat "$API_TMP/server.log")"
	ktap_finish
	exit 1
fi
timeout 120 /usr/bin/python3 "$top/selftests/gnomond/api_python_etcd3.py" "$API_PORT"
