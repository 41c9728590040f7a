# SPDX-License-Identifier: GPL-2.0
# tools/common: code that several tools link directly (never libgnomon).
# klease is the one home of the kernel-lease ioctls.
# gparse is the one parser of numbers and durations; its test is KTAP under
# ASan/UBSan.  grow.h and grpc_frame.h (the gRPC message header) are
# header-only, each with its test.

GPARSE_SRC := tools/common/gparse.c
# klease: gnomon.ko's lease ioctls, for gnomonctl and gnomon-fenced.
KLEASE_SRC := tools/common/klease.c
GPARSE_TEST := $(BUILD)/tests/common/gparse_test

ALL_TARGETS += $(GPARSE_TEST)
HOST_TESTS += $(GPARSE_TEST)

$(GPARSE_TEST): $(BUILD)/san/selftests/common/gparse_test.o \
		$(BUILD)/san/tools/common/gparse.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

# The header-only helpers' tests, one object each.
COMMON_HDR_TESTS := $(addprefix $(BUILD)/tests/common/,grow_test grpc_frame_test)
ALL_TARGETS += $(COMMON_HDR_TESTS)
HOST_TESTS += $(COMMON_HDR_TESTS)

$(COMMON_HDR_TESTS): $(BUILD)/tests/common/%: $(BUILD)/san/selftests/common/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^
