# SPDX-License-Identifier: GPL-2.0
# gnomon-syncd, the discipline agent, and its tests (selftests/syncd/).

SYNCD_SRCS := $(addprefix tools/syncd/,main.c options.c log.c clock.c \
	source_static.c source_ntp.c ntp_model.c source_ptp4l.c ptp_model.c \
	pmc_codec.c phc.c sink_kernel.c sink_shm.c) \
	lib/core/hlc.c lib/core/truetime.c $(GPARSE_SRC)
SYNCD_BIN := $(BUILD)/bin/gnomon-syncd

ALL_TARGETS += $(SYNCD_BIN)
INSTALL_SBINS += $(SYNCD_BIN)
MAN_PAGES += tools/syncd/gnomon-syncd.8

$(SYNCD_BIN): $(patsubst %.c,$(BUILD)/obj/%.o,$(SYNCD_SRCS))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lm

# Tests: pure protocol and model code under ASan/UBSan on the host, the
# agent end to end against a shared-memory file (host) and the module (VM).
SYNCD_TEST_DIR := $(BUILD)/selftests/syncd
SYNCD_SAN = $(patsubst %.c,$(BUILD)/san/%.o,$(addprefix tools/syncd/,$(1)))

$(SYNCD_TEST_DIR)/pmc_codec_test: $(BUILD)/san/selftests/syncd/pmc_codec_test.o \
		$(call SYNCD_SAN,pmc_codec.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

$(SYNCD_TEST_DIR)/syncd_model_test: $(BUILD)/san/selftests/syncd/syncd_model_test.o \
		$(call SYNCD_SAN,ntp_model.c ptp_model.c pmc_codec.c phc.c options.c) \
		$(BUILD)/san/tools/common/gparse.o \
		$(BUILD)/san/lib/core/truetime.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lm

$(SYNCD_TEST_DIR)/syncd_shm_test: $(BUILD)/san/selftests/syncd/syncd_shm_test.o \
		$(LIBGNOMON_SAN_A) | $(SYNCD_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lpthread

$(SYNCD_TEST_DIR)/syncd_kernel_test: $(BUILD)/san/selftests/syncd/syncd_kernel_test.o \
		$(BUILD)/san/lib/core/truetime.o | $(SYNCD_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

$(SYNCD_TEST_DIR)/syncd_ptp4l_fake_test: \
		$(BUILD)/san/selftests/syncd/syncd_ptp4l_fake_test.o \
		$(BUILD)/san/lib/core/truetime.o | $(SYNCD_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

# clock_probe prints the module's clock for the ptp4l shell test.
$(SYNCD_TEST_DIR)/clock_probe: $(BUILD)/san/selftests/syncd/clock_probe.o \
		$(BUILD)/san/lib/core/truetime.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

SYNCD_TESTS := $(addprefix $(SYNCD_TEST_DIR)/,pmc_codec_test syncd_model_test \
	syncd_shm_test syncd_ptp4l_fake_test syncd_kernel_test clock_probe)
ALL_TARGETS += $(SYNCD_TESTS)
HOST_TESTS += $(addprefix $(SYNCD_TEST_DIR)/,pmc_codec_test syncd_model_test \
	syncd_shm_test syncd_ptp4l_fake_test)
VM_TESTS += $(SYNCD_TEST_DIR)/syncd_kernel_test selftests/syncd/syncd_ptp4l_test.sh

-include $(patsubst %.c,$(BUILD)/obj/%.d,$(SYNCD_SRCS)) \
	$(wildcard $(BUILD)/san/tools/syncd/*.d $(BUILD)/san/selftests/syncd/*.d)
