#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# selftests/fenced/fenced_pr_test.sh on LIO's iSCSI fabric, with the
# agents' default PREEMPT AND ABORT (pr_abort = on), which through
# tcm_loop does not complete.
FENCED_PR_FABRIC=iscsi exec "$(dirname "$0")/../fenced/fenced_pr_test.sh"
