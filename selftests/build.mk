# SPDX-License-Identifier: GPL-2.0
# Test manifests: the commands selftests/run-all runs on the host and in
# the VM, one executable per line, each printing KTAP.

TEST_LISTS := $(BUILD)/tests/host.list $(BUILD)/tests/vm.list
ALL_TARGETS += test-lists

.PHONY: test-lists
test-lists:
	@mkdir -p $(BUILD)/tests
	@printf '%s\n' $(HOST_TESTS) > $(BUILD)/tests/host.list.tmp
	@printf '%s\n' $(VM_TESTS) > $(BUILD)/tests/vm.list.tmp
	@mv $(BUILD)/tests/host.list.tmp $(BUILD)/tests/host.list
	@mv $(BUILD)/tests/vm.list.tmp $(BUILD)/tests/vm.list
