#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# TT.now() and HLC costs: on the host (agent file, no module) and in the
# VM with gnomon.ko on Debian's 6.1 kernel (mapped page, ioctl, host HLC).
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/build/bench/clock_bench

echo "## clock: host $(uname -r), the kernel's page protocol (page file)"
"$bench" --kernel-page
echo "## clock: host $(uname -r), no module: agent file, process HLC"
"$bench"
echo "## clock: VM, Debian 6.1 under TCG, gnomon.ko loaded"
"$top/tools/vm/run" --kernel 6.1 -- "$bench"
