# SPDX-License-Identifier: GPL-2.0
# gnomond: the Raft core (raft/), peer wire format (peer/), write-ahead log
# (wal/) and the deterministic simulator (sim/), with their tests.  The etcd
# API and MVCC store add themselves through tools/gnomond/api/api.mk.

GNOMOND_RAFT_SRCS := $(wildcard tools/gnomond/raft/*.c)
GNOMOND_PEER_SRCS := $(wildcard tools/gnomond/peer/*.c)
GNOMOND_WAL_SRCS := $(wildcard tools/gnomond/wal/*.c)
GNOMOND_SIM_SRCS := $(wildcard tools/gnomond/sim/*.c) \
	tools/gnomond/mvcc/lease_clock.c
GNOMOND_CORE_SRCS := $(GNOMOND_RAFT_SRCS) $(GNOMOND_PEER_SRCS) \
	$(GNOMOND_WAL_SRCS)

# For the daemon: release objects of the core, peer codec and WAL.
GNOMOND_CORE_A := $(BUILD)/lib/libgnomond-core.a
GNOMOND_CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMOND_CORE_SRCS))
GNOMOND_CORE_SAN_A := $(BUILD)/san/lib/libgnomond-core.a
GNOMOND_CORE_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(GNOMOND_CORE_SRCS))
GNOMOND_SIM_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(GNOMOND_SIM_SRCS))
GNOMOND_SIM_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMOND_SIM_SRCS))

$(GNOMOND_CORE_A): $(GNOMOND_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(GNOMOND_CORE_SAN_A): $(GNOMOND_CORE_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

GNOMOND_UNIT_TESTS := $(patsubst %,$(BUILD)/tests/gnomond/%, \
	raft_core_test raft_membership_test wal_test wal_files_test wal_plan_test \
	peer_test)
GNOMOND_TESTS := $(GNOMOND_UNIT_TESTS) $(BUILD)/tests/gnomond/raft_sim_test \
	$(BUILD)/tests/gnomond/raft_sim_bulk $(BUILD)/tests/gnomond/sim_lease_test

$(BUILD)/tests/gnomond/raft_sim_test $(BUILD)/tests/gnomond/sim_lease_test: \
		$(BUILD)/tests/gnomond/%: selftests/gnomond/%.c \
		$(GNOMOND_SIM_SAN_OBJS) $(GNOMOND_CORE_SAN_A) selftests/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -o $@ $< $(GNOMOND_SIM_SAN_OBJS) \
		$(GNOMOND_CORE_SAN_A) $(LDFLAGS_SAN)

$(GNOMOND_UNIT_TESTS): $(BUILD)/tests/gnomond/%: selftests/gnomond/%.c \
		$(GNOMOND_CORE_SAN_A) selftests/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -o $@ $< $(GNOMOND_CORE_SAN_A) $(LDFLAGS_SAN)
$(patsubst %,$(BUILD)/tests/gnomond/%,wal_test wal_files_test): \
	selftests/gnomond/wal_helpers.h

# libFuzzer on the peer decoder: a bounded run in `make check`, a long one
# in `make fuzz` (FUZZ_SECONDS, default 600), which also runs the simulation
# on SIM_SEEDS (default 20000) fresh seeds per cluster size.
# Compiled and linked in one command, so without -MMD's dependency files:
# the headers it includes are named here.
GNOMOND_FUZZER := $(BUILD)/fuzz/gnomond/peer_fuzz
$(GNOMOND_FUZZER): selftests/gnomond/peer_fuzz.c $(GNOMOND_PEER_SRCS) \
		$(wildcard tools/gnomond/peer/*.h) tools/gnomond/raft/raft.h
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $(filter %.c,$^)

.PHONY: gnomond-fuzz
gnomond-fuzz: $(GNOMOND_FUZZER) $(BUILD)/tests/gnomond/raft_sim_bulk
	GNOMOND_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) \
		$(PROJECT_ROOT)/selftests/gnomond/peer_fuzz.sh
	GNOMOND_SIM_SEEDS=$(or $(SIM_SEEDS),20000) GNOMOND_SIM_SEED0=1000000 \
		KTAP_TIMEOUT_S=86400 $(BUILD)/tests/gnomond/raft_sim_bulk
fuzz: gnomond-fuzz

# The same simulation, optimized, for thousands of seeds per cluster size.
$(BUILD)/tests/gnomond/raft_sim_bulk: selftests/gnomond/raft_sim_test.c \
		$(GNOMOND_SIM_OBJS) $(GNOMOND_CORE_A) selftests/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -DSIM_DEFAULT_SEEDS=1000 -o $@ $< \
		$(GNOMOND_SIM_OBJS) $(GNOMOND_CORE_A)

ALL_TARGETS += $(GNOMOND_CORE_A) $(GNOMOND_CORE_SAN_A) $(GNOMOND_TESTS) \
	$(GNOMOND_FUZZER)
HOST_TESTS += $(GNOMOND_TESTS) $(PROJECT_ROOT)/selftests/gnomond/peer_fuzz.sh

-include $(GNOMOND_CORE_OBJS:.o=.d) $(GNOMOND_CORE_SAN_OBJS:.o=.d) \
	$(GNOMOND_SIM_SAN_OBJS:.o=.d) $(GNOMOND_SIM_OBJS:.o=.d)
include tools/gnomond/api/api.mk
include tools/gnomond/lincheck/lincheck.mk
include tools/gnomond/daemon/daemon.mk

# A follower whose last WAL record was cut rejoins and never helps elect a
# leader lacking what it lost (wal-format.rst, "Lost entries").
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/daemon_cut_record.sh
