# SPDX-License-Identifier: GPL-2.0
# gnomon-fenced, the fencing agent: its I/O-free core and the core's tests
# (selftests/fenced/), under ASan+UBSan and, unsanitized, valgrind.

FENCED_TEST_SAN := $(BUILD)/selftests/fenced/fenced_core_test
FENCED_TEST_PLAIN := $(BUILD)/selftests/plain/fenced_core_test

$(FENCED_TEST_SAN): $(BUILD)/san/selftests/fenced/fenced_core_test.o \
		$(BUILD)/san/tools/fenced/fenced_core.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

$(FENCED_TEST_PLAIN): $(BUILD)/obj/selftests/fenced/fenced_core_test.o \
		$(BUILD)/obj/tools/fenced/fenced_core.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^

ALL_TARGETS += $(FENCED_TEST_SAN) $(FENCED_TEST_PLAIN)
HOST_TESTS += $(FENCED_TEST_SAN)

-include $(wildcard $(BUILD)/san/tools/fenced/*.d $(BUILD)/san/selftests/fenced/*.d \
	$(BUILD)/obj/tools/fenced/*.d $(BUILD)/obj/selftests/fenced/*.d)
