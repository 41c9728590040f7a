# SPDX-License-Identifier: GPL-2.0
# Start and stop gnomond-api-test-server for the API tests; source it.
#
#	api_server_start [server options]   # sets API_PORT, API_PID
#	api_server_stop                     # sets API_RC, the server's status
# API_WRAPPER, if set, runs the server under a tool (valgrind ...).
API_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
API_SERVER=$API_TOP/build/gnomond-api-test-server
API_TMP=$(mktemp -d)
API_PIDS=()

api_cleanup()
{
	for p in "${API_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$API_TMP"
}
trap api_cleanup EXIT

api_server_start()
{
	local pf=$API_TMP/port.$RANDOM
	${API_WRAPPER:-} "$API_SERVER" --port-file "$pf" "$@" >/dev/null \
		2>>"$API_TMP/server.log" &
	API_PID=$!
	API_PIDS+=("$API_PID")
	for _ in $(seq 200); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	API_PORT=$(cat "$pf" 2>/dev/null)
	[ -n "$API_PORT" ]
}

api_server_stop()
{
	kill "$API_PID" 2>/dev/null
	wait "$API_PID" 2>/dev/null
	API_RC=$?
}
