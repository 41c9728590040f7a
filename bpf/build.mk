# SPDX-License-Identifier: GPL-2.0
# eBPF programs: vmlinux.h from the running kernel's BTF (CO-RE), the TCP
# stamping program, and its libbpf skeleton for gnomon-trace.  Everything
# generated goes to $(BUILD)/gen and $(BUILD)/bpf.

BPFTOOL ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-I$(BUILD)/gen -I$(PROJECT_ROOT)/bpf
GNOMON_STAMP_OBJ := $(BUILD)/bpf/gnomon_stamp.bpf.o
GNOMON_STAMP_SKEL := $(BUILD)/gen/gnomon_stamp.skel.h

ALL_TARGETS += $(GNOMON_STAMP_SKEL)

$(BUILD)/gen/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

$(GNOMON_STAMP_OBJ): bpf/gnomon_stamp.bpf.c bpf/gnomon_stamp.h $(BUILD)/gen/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(GNOMON_STAMP_SKEL): $(GNOMON_STAMP_OBJ)
	@mkdir -p $(dir $@)
	$(BPFTOOL) gen skeleton $< name gnomon_stamp > $@.tmp
	mv $@.tmp $@
