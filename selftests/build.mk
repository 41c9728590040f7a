# SPDX-License-Identifier: GPL-2.0
# gnomon's own tests of lib/core, libgnomon and gnomon.ko, and the test
# manifests: the commands selftests/run-all runs on the host and in the VM,
# one executable per line, each printing KTAP.

# Host: unit tests under ASan+UBSan, and the same programs under valgrind.
CORE_TESTS := core_hlc_test core_truetime_test
LIB_TESTS := lib_fallback_test
SELFTEST_SAN_BINS := $(addprefix $(BUILD)/selftests/san/,$(CORE_TESTS) $(LIB_TESTS))
SELFTEST_PLAIN_BINS := $(addprefix $(BUILD)/selftests/plain/,$(CORE_TESTS) $(LIB_TESTS))

$(BUILD)/selftests/san/core_%: $(BUILD)/san/selftests/core/core_%.o $(LIBGNOMON_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lpthread

$(BUILD)/selftests/plain/core_%: $(BUILD)/obj/selftests/core/core_%.o $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

$(BUILD)/selftests/san/lib_%: $(BUILD)/san/selftests/lib/lib_%.o $(LIBGNOMON_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lpthread

$(BUILD)/selftests/plain/lib_%: $(BUILD)/obj/selftests/lib/lib_%.o $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

# VM: tests of gnomon.ko, plain builds (they run inside the guest).
KMOD_TESTS := kmod_api_test kmod_time_test kmod_hlc_test kmod_garbage_test
KMOD_TEST_BINS := $(addprefix $(BUILD)/selftests/vm/,$(KMOD_TESTS))

$(BUILD)/selftests/vm/kmod_%: $(BUILD)/obj/selftests/kmod/kmod_%.o $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

ALL_TARGETS += $(SELFTEST_SAN_BINS) $(SELFTEST_PLAIN_BINS) \
	$(KMOD_TEST_BINS)
HOST_TESTS += $(SELFTEST_SAN_BINS) selftests/valgrind_test.sh selftests/dkms_test.sh \
	selftests/docs_test.sh
VM_TESTS += $(KMOD_TEST_BINS) selftests/kmod/gnomonctl_vm_test.sh

-include $(wildcard $(BUILD)/obj/selftests/*/*.d $(BUILD)/san/selftests/*/*.d)

ALL_TARGETS += test-lists

.PHONY: test-lists
test-lists:
	@mkdir -p $(BUILD)/tests
	@printf '%s\n' $(HOST_TESTS) > $(BUILD)/tests/host.list.tmp
	@printf '%s\n' $(VM_TESTS) > $(BUILD)/tests/vm.list.tmp
	@mv $(BUILD)/tests/host.list.tmp $(BUILD)/tests/host.list
	@mv $(BUILD)/tests/vm.list.tmp $(BUILD)/tests/vm.list
