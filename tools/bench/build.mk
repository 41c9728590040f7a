# SPDX-License-Identifier: GPL-2.0
# Benchmarks: `make bench` runs tools/bench/run-all, which runs $(BENCHES).

CLOCK_BENCH := $(BUILD)/bench/clock_bench
ALL_TARGETS += $(CLOCK_BENCH)
BENCHES += tools/bench/clock-bench.sh
# gnomon-fence's cost per write against the bare device and dm-linear (VM).
BENCHES += tools/bench/fence-bench.sh
# gnomond's Lock, Watch and Lease against etcd 3.4, side by side (a few minutes).
BENCHES += tools/bench/gnomond-coord-vs-etcd.sh
# gnomon-fenced's takeover time between two VMs (root).
BENCHES += tools/bench/fence-takeover.sh
# Its phases in one VM, to an application already waiting (root).
BENCHES += tools/bench/fence-takeover-vm.sh

$(CLOCK_BENCH): $(BUILD)/obj/tools/bench/clock_bench.o $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

BENCH_LIST := $(BUILD)/tests/bench.list
ALL_TARGETS += bench-list

.PHONY: bench-list
bench-list:
	@mkdir -p $(BUILD)/tests
	@printf '%s\n' $(BENCHES) > $(BENCH_LIST)
