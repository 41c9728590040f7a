# SPDX-License-Identifier: GPL-2.0
# gnomond's etcd v3 API layer: the .proto files compiled by protoc-c, the
# MVCC state machine (tools/gnomond/mvcc/), the gRPC-over-HTTP/2 session
# (tools/gnomond/api/), their tests, the single-node test server and the
# fuzz target.  Included by tools/gnomond/build.mk.
#
# For the daemon: link $(GNOMOND_KV_A) (or $(GNOMOND_KV_SAN_A) in sanitized
# tests) with $(GNOMOND_KV_LIBS), and make objects that include mvcc.h or
# api.h depend order-only on $(GNOMOND_PROTO_HDRS).

GNOMOND_PROTO_DIR := tools/gnomond/proto
GNOMOND_PROTOS := mvccpb/kv etcdserverpb/rpc etcdserverpb/lease \
	etcdserverpb/watch v3lockpb/v3lock v3electionpb/v3election
GNOMOND_PROTO_SRCS := $(patsubst %,$(BUILD)/gen/%.pb-c.c,$(GNOMOND_PROTOS))
GNOMOND_PROTO_HDRS := $(patsubst %,$(BUILD)/gen/%.pb-c.h,$(GNOMOND_PROTOS))

GNOMOND_KV_SRCS := \
	tools/gnomond/mvcc/errors.c tools/gnomond/mvcc/index.c \
	tools/gnomond/mvcc/store.c tools/gnomond/mvcc/arena.c \
	tools/gnomond/mvcc/range.c tools/gnomond/mvcc/txn.c \
	tools/gnomond/mvcc/apply.c tools/gnomond/mvcc/wire.c \
	tools/gnomond/mvcc/validate.c tools/gnomond/mvcc/snapshot.c \
	tools/gnomond/mvcc/lease_commands.c tools/gnomond/mvcc/lease_table.c \
	tools/gnomond/mvcc/lease_clock.c \
	tools/gnomond/mvcc/watch.c \
	tools/gnomond/mvcc/hash.c tools/gnomond/mvcc/locks.c \
	tools/gnomond/api/session.c tools/gnomond/api/reply.c \
	tools/gnomond/api/grpc.c \
	tools/gnomond/api/cluster.c tools/gnomond/api/local.c
GNOMOND_KV_LIBS := -lprotobuf-c -lnghttp2 -lz

GNOMOND_KV_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMOND_KV_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GNOMOND_PROTO_SRCS))
GNOMOND_KV_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(GNOMOND_KV_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/san/gen/%.o,$(GNOMOND_PROTO_SRCS))
GNOMOND_KV_A := $(BUILD)/lib/libgnomond-kv.a
GNOMOND_KV_SAN_A := $(BUILD)/san/lib/libgnomond-kv.a

ALL_TARGETS += $(GNOMOND_KV_A) $(GNOMOND_KV_SAN_A)

# Generated code: never committed, rebuilt when a .proto changes.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: $(GNOMOND_PROTO_DIR)/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(GNOMOND_PROTO_DIR) $<

$(filter $(BUILD)/obj/gen/% $(BUILD)/san/gen/%,$(GNOMOND_KV_OBJS) \
	$(GNOMOND_KV_SAN_OBJS)): $(GNOMOND_PROTO_HDRS)
$(filter-out $(BUILD)/obj/gen/% $(BUILD)/san/gen/%,$(GNOMOND_KV_OBJS) \
	$(GNOMOND_KV_SAN_OBJS)): | $(GNOMOND_PROTO_HDRS)

$(GNOMOND_KV_A): $(GNOMOND_KV_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(GNOMOND_KV_SAN_A): $(GNOMOND_KV_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# The single-node, no-Raft test fixture that real clients talk to
# (selftests/gnomond/api_test_server.c).
GNOMOND_API_TEST_SERVER := $(BUILD)/gnomond-api-test-server
ALL_TARGETS += $(GNOMOND_API_TEST_SERVER)

$(GNOMOND_API_TEST_SERVER): $(BUILD)/obj/selftests/gnomond/api_test_server.o \
		$(GNOMOND_KV_A)
	$(CC) -o $@ $^ $(GNOMOND_KV_LIBS)

# Unit tests (sanitized).
GNOMOND_KV_TESTS := $(patsubst selftests/gnomond/%.c,$(BUILD)/selftests/gnomond/%,\
	$(wildcard selftests/gnomond/mvcc_*_test.c selftests/gnomond/api_*_test.c))
ALL_TARGETS += $(GNOMOND_KV_TESTS)
HOST_TESTS += $(GNOMOND_KV_TESTS) \
	$(PROJECT_ROOT)/selftests/gnomond/api_etcdctl.sh \
	$(PROJECT_ROOT)/selftests/gnomond/api_python_etcd3.sh

$(BUILD)/selftests/gnomond/%_test: $(BUILD)/san/selftests/gnomond/%_test.o \
		$(GNOMOND_KV_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(GNOMOND_KV_LIBS)

# The same tests unsanitized, which selftests/valgrind_test.sh runs under
# memcheck (leaks included).
GNOMOND_KV_PLAIN_TESTS := $(patsubst $(BUILD)/selftests/gnomond/%,\
	$(BUILD)/selftests/plain/%,$(GNOMOND_KV_TESTS))
ALL_TARGETS += $(GNOMOND_KV_PLAIN_TESTS)

$(BUILD)/selftests/plain/mvcc_%_test: \
		$(BUILD)/obj/selftests/gnomond/mvcc_%_test.o $(GNOMOND_KV_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(GNOMOND_KV_LIBS)

$(BUILD)/selftests/plain/api_%_test: \
		$(BUILD)/obj/selftests/gnomond/api_%_test.o $(GNOMOND_KV_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(GNOMOND_KV_LIBS)

$(patsubst %.c,$(BUILD)/san/%.o,$(wildcard selftests/gnomond/mvcc_*.c \
	selftests/gnomond/api_*.c)) \
$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard selftests/gnomond/mvcc_*.c \
	selftests/gnomond/api_*.c)): | $(GNOMOND_PROTO_HDRS)

-include $(GNOMOND_KV_OBJS:.o=.d) $(GNOMOND_KV_SAN_OBJS:.o=.d)

# libFuzzer on the gRPC request path: a bounded run in `make check`, a long
# one in `make fuzz` (FUZZ_SECONDS, default 600).
GNOMOND_API_FUZZER := $(BUILD)/fuzz/gnomond/api_fuzz
GNOMOND_API_FUZZ_SEEDS := $(BUILD)/selftests/gnomond/api_fuzz_seeds

# Compiled and linked in one command, so without -MMD's dependency files:
# the headers it includes are named here.
GNOMOND_API_FUZZ_HDRS := $(wildcard selftests/gnomond/api_h2client.h \
	tools/common/*.h tools/gnomond/api/*.h tools/gnomond/mvcc/*.h)

$(GNOMOND_API_FUZZER): selftests/gnomond/api_fuzz.c $(GNOMOND_KV_SRCS) \
		$(GNOMOND_PROTO_SRCS) $(GNOMOND_API_FUZZ_HDRS) | $(GNOMOND_PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $(filter %.c,$^) $(GNOMOND_KV_LIBS)

$(GNOMOND_API_FUZZ_SEEDS): $(BUILD)/san/selftests/gnomond/api_fuzz_seeds.o \
		$(GNOMOND_KV_SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(GNOMOND_KV_LIBS)

.PHONY: gnomond-api-fuzz
gnomond-api-fuzz: $(GNOMOND_API_FUZZER) $(GNOMOND_API_FUZZ_SEEDS)
	GNOMOND_API_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) \
		$(PROJECT_ROOT)/selftests/gnomond/api_fuzz.sh
fuzz: gnomond-api-fuzz

ALL_TARGETS += $(GNOMOND_API_FUZZER) $(GNOMOND_API_FUZZ_SEEDS)
HOST_TESTS += $(PROJECT_ROOT)/selftests/gnomond/api_fuzz.sh
