# SPDX-License-Identifier: GPL-2.0
# libgnomon: static and shared library, pkg-config file, host unit tests.

LIBGNOMON_VERSION := 0.1.0
# The soname's number: bumped when an exported function changes meaning
# or goes away (lib/libgnomon.map).
LIBGNOMON_SOVERSION := 0
LIBGNOMON_MAP := lib/libgnomon.map
LIB_SRCS := lib/core/hlc.c lib/core/truetime.c lib/client.c lib/client_agent.c \
	lib/client_fallback.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
LIBGNOMON_A := $(BUILD)/lib/libgnomon.a
LIBGNOMON_SO := $(BUILD)/lib/libgnomon.so.$(LIBGNOMON_VERSION)
LIBGNOMON_SAN_A := $(BUILD)/san/lib/libgnomon.a
LIBGNOMON_PC := $(BUILD)/lib/libgnomon.pc

ALL_TARGETS += $(LIBGNOMON_A) $(LIBGNOMON_SO) $(LIBGNOMON_PC) $(LIBGNOMON_SAN_A)
MAN_PAGES += lib/libgnomon.3

# Hidden by default: only what gnomon.h marks GNOMON_API is exported.
$(LIB_OBJS) $(LIB_SAN_OBJS): CFLAGS_REL += -fvisibility=hidden
$(LIB_OBJS) $(LIB_SAN_OBJS): CFLAGS_SAN += -fvisibility=hidden

$(LIBGNOMON_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBGNOMON_SAN_A): $(LIB_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBGNOMON_SO): $(LIB_OBJS) $(LIBGNOMON_MAP)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libgnomon.so.$(LIBGNOMON_SOVERSION) \
		-Wl,--version-script=$(LIBGNOMON_MAP) -Wl,--no-undefined \
		-o $@ $(LIB_OBJS) -lpthread
	ln -sf libgnomon.so.$(LIBGNOMON_VERSION) $(BUILD)/lib/libgnomon.so.$(LIBGNOMON_SOVERSION)
	ln -sf libgnomon.so.$(LIBGNOMON_SOVERSION) $(BUILD)/lib/libgnomon.so

$(LIBGNOMON_PC): lib/libgnomon.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBGNOMON_VERSION)|' $< > $@

-include $(LIB_OBJS:.o=.d) $(LIB_SAN_OBJS:.o=.d)
