# SPDX-License-Identifier: GPL-2.0
# libgnomon: static and shared library, pkg-config file, host unit tests.

LIBGNOMON_VERSION := 0.1.0
LIB_SRCS := lib/core/hlc.c lib/core/truetime.c lib/client.c lib/client_agent.c \
	lib/client_fallback.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
LIBGNOMON_A := $(BUILD)/lib/libgnomon.a
LIBGNOMON_SO := $(BUILD)/lib/libgnomon.so.$(LIBGNOMON_VERSION)
LIBGNOMON_SAN_A := $(BUILD)/san/lib/libgnomon.a
LIBGNOMON_PC := $(BUILD)/lib/libgnomon.pc

ALL_TARGETS += $(LIBGNOMON_A) $(LIBGNOMON_SO) $(LIBGNOMON_PC) $(LIBGNOMON_SAN_A)

$(LIBGNOMON_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBGNOMON_SAN_A): $(LIB_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBGNOMON_SO): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libgnomon.so.0 -o $@ $^ -lpthread
	ln -sf libgnomon.so.$(LIBGNOMON_VERSION) $(BUILD)/lib/libgnomon.so.0
	ln -sf libgnomon.so.0 $(BUILD)/lib/libgnomon.so

$(LIBGNOMON_PC): lib/libgnomon.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBGNOMON_VERSION)|' $< > $@

-include $(LIB_OBJS:.o=.d) $(LIB_SAN_OBJS:.o=.d)
