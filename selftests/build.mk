# SPDX-License-Identifier: GPL-2.0
# gnomon's own tests of lib/core, libgnomon and gnomon.ko, and the test
# list: $(HOST_TESTS) and $(VM_TESTS) laid out in build/kselftest/ as the
# kernel's kselftest runner expects (collections gnomon-host and gnomon,
# selftests/kselftest-layout), which selftests/run-all runs and
# `make -C selftests install INSTALL_PATH=DIR` copies.

# Host: unit tests under ASan+UBSan, and the same programs under valgrind.
CORE_TESTS := core_hlc_test core_truetime_test core_page_test
LIB_TESTS := lib_fallback_test lib_agent_test
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

# The core tests once more, compiled by clang under ASan+UBSan together with
# lib/core itself: undefined behaviour that one compiler happens to fold
# away (a division by zero in the bound arithmetic did) traps under another.
CORE_CLANG_BINS := $(addprefix $(BUILD)/selftests/clang/clang_,$(CORE_TESTS))
CORE_CLANG_OBJS := $(BUILD)/clang/lib/core/hlc.o $(BUILD)/clang/lib/core/truetime.o

$(CORE_CLANG_OBJS) $(patsubst %,$(BUILD)/clang/selftests/core/%.o,$(CORE_TESTS)): \
		$(BUILD)/clang/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

$(BUILD)/selftests/clang/clang_core_%: $(BUILD)/clang/selftests/core/core_%.o $(CORE_CLANG_OBJS)
	@mkdir -p $(dir $@)
	$(CLANG) $(LDFLAGS_SAN) -o $@ $^ -lpthread

# VM: tests of gnomon.ko, plain builds (they run inside the guest).
KMOD_TESTS := kmod_api_test kmod_time_test kmod_hlc_test kmod_garbage_test \
	kmod_lease_test
KMOD_TEST_BINS := $(addprefix $(BUILD)/selftests/vm/,$(KMOD_TESTS))

$(BUILD)/selftests/vm/kmod_%: $(BUILD)/obj/selftests/kmod/kmod_%.o $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

ALL_TARGETS += $(SELFTEST_SAN_BINS) $(SELFTEST_PLAIN_BINS) $(CORE_CLANG_BINS) \
	$(KMOD_TEST_BINS)
HOST_TESTS += $(SELFTEST_SAN_BINS) $(CORE_CLANG_BINS) selftests/valgrind_test.sh selftests/dkms_test.sh \
	selftests/docs_test.sh selftests/gnomond/clock_page_faults.sh \
	selftests/lib/lib_exports_test.sh lib/demo-damaged-page
VM_TESTS += $(KMOD_TEST_BINS) selftests/kmod/gnomonctl_vm_test.sh \
	selftests/kmod/gnomonctl_lease_vm_test.sh

# VM: the gnomon-fence target and PR fencing (selftests/fence/).
VM_TESTS += selftests/fence/fence_dm_test.sh selftests/fence/fence_pr_lio_test.sh \
	selftests/fence/fence_pr_abort_iscsi_test.sh selftests/fence/fenced_pr_iscsi_test.sh

# Host: the multi-host fencing test (two VMs, one shared disk, a gnomond
# cluster) with its record writer/checker, and the checker's unit test.
FENCE_RECORD := $(BUILD)/tests/fence/fence-record
FENCE_RECORD_TEST := $(BUILD)/tests/fence/fence_record_test
ALL_TARGETS += $(FENCE_RECORD) $(FENCE_RECORD_TEST)
HOST_TESTS += $(FENCE_RECORD_TEST)

$(FENCE_RECORD): $(BUILD)/obj/selftests/fence/fence_record_main.o \
		$(BUILD)/obj/selftests/fence/fence_record.o \
		$(BUILD)/obj/tools/gnomond/wal/crc32c.o $(BUILD)/obj/tools/common/gparse.o \
		$(BUILD)/obj/tools/common/klease.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LIBNL_GENL_LIBS)
$(BUILD)/obj/selftests/fence/fence_record_main.o: CFLAGS_REL += $(LIBNL_GENL_CFLAGS)

$(FENCE_RECORD_TEST): $(BUILD)/san/selftests/fence/fence_record_test.o \
		$(BUILD)/san/selftests/fence/fence_record.o \
		$(BUILD)/san/tools/gnomond/wal/crc32c.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

-include $(wildcard $(BUILD)/obj/selftests/*/*.d $(BUILD)/san/selftests/*/*.d \
	$(BUILD)/clang/*/*/*.d $(BUILD)/clang/selftests/*/*.d)

KSFT_DIR := $(BUILD)/kselftest
ALL_TARGETS += test-lists
MAN_PAGES += selftests/gnomon-kselftest.7

# Rebuilt whole every time (it is small), then swapped in.
.PHONY: test-lists kselftest-install
test-lists:
	@rm -rf $(KSFT_DIR).tmp
	@mkdir -p $(KSFT_DIR).tmp
	@selftests/kselftest-layout $(KSFT_DIR).tmp $(PROJECT_ROOT) gnomon-host $(HOST_TESTS)
	@selftests/kselftest-layout $(KSFT_DIR).tmp $(PROJECT_ROOT) gnomon $(VM_TESTS)
	@ln -s ../../selftests/run_kselftest.sh $(KSFT_DIR).tmp/run_kselftest.sh
	@ln -s ../.. $(KSFT_DIR).tmp/tree
	@rm -rf $(KSFT_DIR) && mv $(KSFT_DIR).tmp $(KSFT_DIR)

# `make -C selftests install INSTALL_PATH=DIR` lands here.
kselftest-install: userspace
	@test -n "$(INSTALL_PATH)" || { echo "INSTALL_PATH is not set" >&2; exit 1; }
	selftests/kselftest-install $(KSFT_DIR) $(INSTALL_PATH)
