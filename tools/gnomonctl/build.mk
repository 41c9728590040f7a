# SPDX-License-Identifier: GPL-2.0
# gnomonctl: the command-line client.

GNOMONCTL := $(BUILD)/bin/gnomonctl
GNOMONCTL_SRCS := tools/gnomonctl/gnomonctl.c tools/gnomonctl/output.c \
	tools/gnomonctl/parse.c tools/gnomonctl/lease.c tools/gnomonctl/pr.c \
	tools/gnomonctl/fence_pr.c tools/gnomonctl/monitor.c $(GPARSE_SRC) \
	$(KLEASE_SRC)
GNOMONCTL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMONCTL_SRCS))

ALL_TARGETS += $(GNOMONCTL)
INSTALL_BINS += $(GNOMONCTL)
MAN_PAGES += tools/gnomonctl/gnomonctl.1

# monitor.c reads gnomon.ko's netlink events with libnl-genl-3.
LIBNL_GENL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0)
LIBNL_GENL_LIBS := $(shell pkg-config --libs libnl-genl-3.0)
$(BUILD)/obj/tools/gnomonctl/monitor.o: CFLAGS_REL += $(LIBNL_GENL_CFLAGS)

$(GNOMONCTL): $(GNOMONCTL_OBJS) $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LIBNL_GENL_LIBS) -lpthread

-include $(GNOMONCTL_OBJS:.o=.d)
