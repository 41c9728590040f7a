#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No two files call each other in a loop in any layer of the tree but
# raft/ and sim/, which issue 12 lets be one module each: the checker of
# daemon_call_cycles.sh over the object directories of gnomond's other
# layers, the tools, libgnomon and lib/core.
top=$(cd "$(dirname "$0")/../.." && pwd)
obj=$top/build/obj
exec "$top/selftests/gnomond/daemon_call_cycles.sh" \
	"$obj"/tools/gnomond/{api,lincheck,mvcc,peer,wal} \
	"$obj"/tools/{common,fenced,gnomonctl,syncd,trace} \
	"$obj"/lib "$obj"/lib/core
