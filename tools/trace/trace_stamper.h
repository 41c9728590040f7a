/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stamping program as gnomon-trace handles it: loaded from the skeleton
 * and attached to a cgroup, or found pinned under
 * /sys/fs/bpf/gnomon/cg<cgroup inode>/ (link, clock, config, counts,
 * events) by an earlier `record --pin`.
 */
#ifndef GNOMON_TRACE_STAMPER_H
#define GNOMON_TRACE_STAMPER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "../../bpf/gnomon_stamp.h"

#define TRACE_BPFFS	"/sys/fs/bpf"
#define TRACE_PIN_ROOT	TRACE_BPFFS "/gnomon"

struct gnomon_stamp;
struct bpf_link;

struct stamper {
	struct gnomon_stamp *skel;	/* NULL when reusing a pinned one */
	struct bpf_link *link;
	int clock_fd, config_fd, counts_fd, events_fd;
	bool reused;			/* found pinned */
	bool keep;			/* leave pinned at close */
	char pin_dir[PATH_MAX];
};

/*
 * Make sure bpffs is mounted on TRACE_BPFFS, mounting it (mode 0700, as
 * bpftool does) if not; *mounted says whether it had to.  -errno if it is
 * missing and cannot be mounted.
 */
int stamper__ensure_bpffs(bool *mounted);
/* Load and attach (or reuse the pinned program of) the cgroup; pin if asked. */
int stamper__open(struct stamper *s, const char *cgroup,
		  const struct gnomon_stamp_config *cfg, bool pin);
int stamper__config(const struct stamper *s, struct gnomon_stamp_config *cfg);
int stamper__set_events(struct stamper *s, bool on);
/* Detach unless pinned. */
void stamper__close(struct stamper *s);

/* Remove the pins of a cgroup (which detaches the program): -ENOENT if none. */
int stamper__unpin(const char *cgroup);

/* Summed over CPUs. */
int stamp_counts__read(int counts_fd, struct gnomon_stamp_counts *out);
int stamp_clock__read(int clock_fd, __u64 *lamport);
const char *gnomon_count__name(unsigned int which);

/* The cgroup v2 mount point (the root cgroup). */
int trace_cgroup_root(char *buf, size_t len);
int trace_pin_dir(const char *cgroup, char *buf, size_t len);

#endif /* GNOMON_TRACE_STAMPER_H */
