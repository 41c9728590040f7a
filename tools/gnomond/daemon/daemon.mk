# SPDX-License-Identifier: GPL-2.0
# gnomond, the daemon (tools/gnomond/daemon/): the io_uring loop around the
# Raft core, WAL and peer codec (libgnomond-core.a, tools/gnomond/build.mk)
# and the etcd API and MVCC store (libgnomond-kv.a, api/api.mk).  Included
# at the end of tools/gnomond/build.mk.

GNOMOND_DAEMON_SRCS := $(wildcard tools/gnomond/daemon/*.c) $(GPARSE_SRC)
GNOMOND_DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMOND_DAEMON_SRCS))
GNOMOND_BIN := $(BUILD)/bin/gnomond

$(GNOMOND_DAEMON_OBJS): | $(GNOMOND_PROTO_HDRS)

$(GNOMOND_BIN): $(GNOMOND_DAEMON_OBJS) $(GNOMOND_KV_A) $(GNOMOND_CORE_A) \
		$(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(GNOMOND_KV_LIBS) -luring -lpthread

ALL_TARGETS += $(GNOMOND_BIN)
INSTALL_SBINS += $(GNOMOND_BIN)
MAN_PAGES += tools/gnomond/daemon/gnomond.8

-include $(GNOMOND_DAEMON_OBJS:.o=.d)

# The same daemon under ASan and UBSan, for daemon_sanitized.sh (valgrind
# cannot follow io_uring's asynchronous writes into user memory).
GNOMOND_DAEMON_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(GNOMOND_DAEMON_SRCS))
GNOMOND_SAN_BIN := $(BUILD)/san-bin/gnomond

$(GNOMOND_DAEMON_SAN_OBJS): | $(GNOMOND_PROTO_HDRS)

$(GNOMOND_SAN_BIN): $(GNOMOND_DAEMON_SAN_OBJS) $(GNOMOND_KV_SAN_A) \
		$(GNOMOND_CORE_SAN_A) $(LIBGNOMON_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(GNOMOND_KV_LIBS) -luring -lpthread

ALL_TARGETS += $(GNOMOND_SAN_BIN)

-include $(GNOMOND_DAEMON_SAN_OBJS:.o=.d)

HOST_TESTS += $(patsubst %,$(PROJECT_ROOT)/selftests/gnomond/daemon_%.sh, \
	cluster python_etcd3 lease flags snapshot backup lost_data_dir limits answers \
	maintenance port_busy)
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/daemon_sanitized.sh
# Coordination: etcd's Lease, Watch, Lock and Election.
HOST_TESTS += $(patsubst %,$(PROJECT_ROOT)/selftests/gnomond/daemon_%.sh, \
	etcd_lease etcd_watch etcd_lock lock_ends python_coord)
# Membership changes.
HOST_TESTS += $(patsubst %,$(PROJECT_ROOT)/selftests/gnomond/daemon_%.sh, \
	members members_replace)
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/daemon_nonblocking.sh
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/peer_abuse.sh

# The daemon's logic unit-tested without a member, under ASan and UBSan,
# each test linked with the one file it tests: where a request goes
# (route.c), what a member answers from its own state (local.c, through a
# struct gd_local built by hand), when a keepalive's reading is taken
# (ring.c, on a ring of its own), and the leader's lease stamps and expiry
# proposals (leases.c, the test standing in for the clock and Raft).
GNOMOND_DAEMON_UNIT_TESTS := $(patsubst %,$(BUILD)/selftests/gnomond/daemon_%_test, \
	route local members ring leases)
$(patsubst $(BUILD)/%,$(BUILD)/san/%.o,$(GNOMOND_DAEMON_UNIT_TESTS)): \
		| $(GNOMOND_PROTO_HDRS)
$(GNOMOND_DAEMON_UNIT_TESTS): $(BUILD)/selftests/gnomond/daemon_%_test: \
		$(BUILD)/san/selftests/gnomond/daemon_%_test.o \
		$(BUILD)/san/tools/gnomond/daemon/%.o $(GNOMOND_KV_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(GNOMOND_KV_LIBS)

# members.c parses URLs (config.c) into growable buffers.
$(BUILD)/selftests/gnomond/daemon_members_test: \
		$(BUILD)/san/tools/gnomond/daemon/config.o \
		$(BUILD)/san/tools/gnomond/daemon/gd_buf.o \
		$(BUILD)/san/tools/gnomond/daemon/log.o \
		$(patsubst %.c,$(BUILD)/san/%.o,$(GPARSE_SRC))

# ring.c logs (log.c) and reads the clock (libgnomon).
$(BUILD)/selftests/gnomond/daemon_ring_test: \
		$(BUILD)/san/tools/gnomond/daemon/log.o $(LIBGNOMON_SAN_A)
$(BUILD)/selftests/gnomond/daemon_ring_test: GNOMOND_KV_LIBS += -luring
$(BUILD)/selftests/gnomond/daemon_leases_test: \
		$(BUILD)/san/tools/gnomond/daemon/log.o

ALL_TARGETS += $(GNOMOND_DAEMON_UNIT_TESTS)
HOST_TESTS += $(GNOMOND_DAEMON_UNIT_TESTS)
-include $(patsubst $(BUILD)/%,$(BUILD)/san/%.d,$(GNOMOND_DAEMON_UNIT_TESTS))

# No two files of daemon/ call each other in a loop (from the objects),
# nor of any other layer but raft/ and sim/.
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/daemon_call_cycles.sh \
	$(PROJECT_ROOT)/selftests/gnomond/call_cycles_layers.sh
