# SPDX-License-Identifier: GPL-2.0
# gnomonctl: the command-line client.

GNOMONCTL := $(BUILD)/bin/gnomonctl
GNOMONCTL_SRCS := tools/gnomonctl/gnomonctl.c tools/gnomonctl/output.c \
	tools/gnomonctl/parse.c tools/gnomonctl/lease.c tools/gnomonctl/pr.c \
	tools/gnomonctl/fence_pr.c
GNOMONCTL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GNOMONCTL_SRCS))

ALL_TARGETS += $(GNOMONCTL)
INSTALL_BINS += $(GNOMONCTL)
MAN_PAGES += tools/gnomonctl/gnomonctl.1

$(GNOMONCTL): $(GNOMONCTL_OBJS) $(LIBGNOMON_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

-include $(GNOMONCTL_OBJS:.o=.d)
