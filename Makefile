# SPDX-License-Identifier: GPL-2.0
#
# gnomon top-level Makefile.
#
#   make            module (against KDIR), libgnomon, tools
#   make deps       install what is missing (Debian 12), fetch the VM kernels
#   make check      every test: host tests, then VM tests on each kernel
#   make bench      benchmarks (tools/bench/), figures for performance.rst
#   make demo       the guided tour
#   make install    libraries, headers, tools, man pages, systemd units
#                   (PREFIX, DESTDIR, SYSTEMD_UNIT_DIR)
#
# Userspace objects go to build/; Kbuild objects stay beside their sources,
# so the two never clash.  Each part adds its targets through a build.mk
# fragment; the variables it may append to are listed below.

PROJECT_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(PROJECT_ROOT)/build

# The kernels the VM tests boot; the first is the default KDIR.
VM_KERNELS ?= 6.1 6.12
KDIR ?= $(shell $(PROJECT_ROOT)/tools/vm/kernel-fetch --kdir $(firstword $(VM_KERNELS)) 2>/dev/null)
# Debian ships no vmlinux with its headers, so module BTF cannot be made.
KBUILD_OPTS ?= CONFIG_DEBUG_INFO_BTF_MODULES=

PREFIX ?= /usr/local
# systemd reads units from /usr/local/lib/systemd/system too.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSTEMD_UNITS := tools/gnomond/daemon/gnomond.service \
	tools/syncd/gnomon-syncd.service
DESTDIR ?=

CC ?= cc
CLANG ?= clang
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
	-I$(PROJECT_ROOT)/kmod/include/uapi -I$(PROJECT_ROOT)/lib \
	-I$(PROJECT_ROOT)/lib/core -I$(BUILD)/gen
CFLAGS_REL := $(CFLAGS_COMMON) -O2 -fPIC
CFLAGS_SAN := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_SAN := -fsanitize=address,undefined

# Appended to by the fragments.
ALL_TARGETS :=		# built by `make`
HOST_TESTS :=		# KTAP-printing commands run on the host
VM_TESTS :=		# KTAP-printing commands run inside the VM
BENCHES :=		# commands run by `make bench`
INSTALL_BINS :=		# installed to $(PREFIX)/bin or sbin
INSTALL_SBINS :=
MAN_PAGES :=

.PHONY: all module userspace deps check check-host bench demo install \
	dkms-source clean fuzz

# Keep intermediate objects of chained pattern rules.
.SECONDARY:

all: module userspace

# Any C file of the tree, release and sanitized; generated C files (protoc-c
# output in $(BUILD)/gen) likewise.  A fragment adds only prerequisites.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_REL) -c $< -o $@

$(BUILD)/san/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -c $< -o $@

include lib/build.mk
include $(wildcard tools/*/build.mk)
include bpf/build.mk
include selftests/build.mk

userspace: $(ALL_TARGETS)

module:
	@test -n "$(KDIR)" || { echo "KDIR is not set and no VM kernel is fetched: run 'make deps' or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PROJECT_ROOT) $(KBUILD_OPTS) modules

deps:
	$(PROJECT_ROOT)/tools/vm/install-deps
	@for k in $(VM_KERNELS); do $(PROJECT_ROOT)/tools/vm/kernel-fetch $$k || exit 1; done

check: deps
	$(MAKE) -C $(PROJECT_ROOT) -j$(shell nproc) userspace
	$(PROJECT_ROOT)/selftests/run-all $(BUILD)/results $(VM_KERNELS)

check-host: userspace
	$(PROJECT_ROOT)/selftests/run-all $(BUILD)/results

bench: deps
	$(MAKE) -C $(PROJECT_ROOT) -j$(shell nproc) userspace
	$(PROJECT_ROOT)/tools/bench/run-all

demo: deps
	$(MAKE) -C $(PROJECT_ROOT) -j$(shell nproc) userspace
	$(PROJECT_ROOT)/tools/demo/run

install: userspace
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/linux
	$(if $(INSTALL_BINS),install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin)
	$(if $(INSTALL_SBINS),install -m 0755 $(INSTALL_SBINS) $(DESTDIR)$(PREFIX)/sbin)
	install -m 0644 $(LIBGNOMON_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(LIBGNOMON_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libgnomon.so.$(LIBGNOMON_VERSION) $(DESTDIR)$(PREFIX)/lib/libgnomon.so.$(LIBGNOMON_SOVERSION)
	ln -sf libgnomon.so.$(LIBGNOMON_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libgnomon.so
	install -m 0644 $(LIBGNOMON_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 0644 lib/gnomon.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 kmod/include/uapi/linux/gnomon.h $(DESTDIR)$(PREFIX)/include/linux/
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	for u in $(SYSTEMD_UNITS); do \
		sed 's|/usr/local/|$(PREFIX)/|g' $$u > \
			$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$${u##*/}; done

# The module's sources for dkms: then `dkms install gnomon/VERSION`.
DKMS_SRC := $(DESTDIR)/usr/src/gnomon-$(LIBGNOMON_VERSION)
dkms-source:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/kmod/include/uapi/linux $(DKMS_SRC)/lib/core
	install -m 0644 Kbuild $(DKMS_SRC)/
	install -m 0644 kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 0644 kmod/include/uapi/linux/gnomon.h $(DKMS_SRC)/kmod/include/uapi/linux/
	install -m 0644 lib/core/*.c lib/core/*.h $(DKMS_SRC)/lib/core/
	sed 's/@VERSION@/$(LIBGNOMON_VERSION)/' kmod/dkms.conf > $(DKMS_SRC)/dkms.conf

clean:
	rm -rf $(BUILD)
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(PROJECT_ROOT) clean; fi
