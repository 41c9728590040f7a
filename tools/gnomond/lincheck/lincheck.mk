# SPDX-License-Identifier: GPL-2.0
# gnomon-lincheck: the linearizability checker (library and CLI), its tests,
# the cluster fault tests that feed it histories recorded against real
# clusters (selftests/gnomond/cluster_*), and the gnomond-vs-etcd
# benchmarks (tools/bench/gnomond-*).  Included by tools/gnomond/build.mk.

LINCHECK_SRCS := tools/gnomond/lincheck/history.c \
	tools/gnomond/lincheck/parse.c tools/gnomond/lincheck/search.c \
	tools/gnomond/lincheck/check.c
LINCHECK_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LINCHECK_SRCS))
LINCHECK_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LINCHECK_SRCS))
LINCHECK_A := $(BUILD)/lib/liblincheck.a
LINCHECK_SAN_A := $(BUILD)/san/lib/liblincheck.a
LINCHECK := $(BUILD)/bin/gnomon-lincheck

$(LINCHECK_A): $(LINCHECK_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LINCHECK_SAN_A): $(LINCHECK_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LINCHECK): $(BUILD)/obj/tools/gnomond/lincheck/main.o $(LINCHECK_A) \
		$(BUILD)/obj/tools/common/gparse.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^

LINCHECK_TESTS := $(patsubst selftests/gnomond/%.c,$(BUILD)/tests/gnomond/%,\
	$(wildcard selftests/gnomond/lincheck_*_test.c))

$(LINCHECK_TESTS): $(BUILD)/tests/gnomond/%: selftests/gnomond/%.c \
		$(LINCHECK_SAN_A) selftests/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -Itools/gnomond/lincheck -o $@ $< \
		$(LINCHECK_SAN_A) $(LDFLAGS_SAN)

# Unsanitized, for selftests/valgrind_test.sh (the hand-written histories;
# the generated ones would take minutes under memcheck).
LINCHECK_PLAIN_TEST := $(BUILD)/selftests/plain/lincheck_histories_test
$(LINCHECK_PLAIN_TEST): selftests/gnomond/lincheck_histories_test.c \
		$(LINCHECK_A) selftests/ktap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -Itools/gnomond/lincheck -o $@ $< $(LINCHECK_A)

ALL_TARGETS += $(LINCHECK) $(LINCHECK_TESTS) $(LINCHECK_PLAIN_TEST)
INSTALL_BINS += $(LINCHECK)
MAN_PAGES += tools/gnomond/lincheck/gnomon-lincheck.1
HOST_TESTS += $(LINCHECK_TESTS) \
	$(PROJECT_ROOT)/selftests/gnomond/lincheck_cli.sh \
	$(PROJECT_ROOT)/selftests/gnomond/watch_check_test.py

-include $(LINCHECK_OBJS:.o=.d) $(LINCHECK_SAN_OBJS:.o=.d)

# Fault tests on real clusters (GNOMON_CLUSTER_IMPL=etcd|gnomond; default
# gnomond once built): the workload records, gnomon-lincheck judges.
# lock_safety_faults.sh runs gnomond, then etcd: fencing tokens against
# paused, stalled and partitioned lock holders, judged by its own store
# (lock_safety_store.py).
# The cluster fault tests also run watchers (kv_watch.py), judged by
# watch_check.py (its own test: watch_check_test.py).
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/cluster_3_faults.sh \
	$(PROJECT_ROOT)/selftests/gnomond/cluster_5_faults.sh \
	$(PROJECT_ROOT)/selftests/gnomond/cluster_stale_reads.sh \
	$(PROJECT_ROOT)/selftests/gnomond/lock_safety_faults.sh

BENCHES += tools/bench/gnomond-vs-etcd.sh

# Test-only: skews one process's CLOCK_REALTIME (cluster_clock.sh).
LINCHECK_SKEW_SHIM := $(BUILD)/tests/gnomond/libskew.so
ALL_TARGETS += $(LINCHECK_SKEW_SHIM)
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/cluster_clock.sh

$(LINCHECK_SKEW_SHIM): selftests/gnomond/cluster_skew_shim.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -shared -o $@ $< -ldl
