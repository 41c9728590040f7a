// SPDX-License-Identifier: GPL-2.0
/*
 * Loading, attaching, pinning and finding the stamping program.
 *
 * A cgroup has at most one gnomon stamper that outlives its recorder: the
 * one pinned in TRACE_PIN_ROOT/cg<inode of the cgroup directory>.  A
 * recorder that finds those pins reuses them (it opens the maps and turns
 * events on) instead of loading a second program; otherwise it loads the
 * skeleton, writes the configuration and attaches a cgroup link, which
 * dies with the recorder unless it is pinned.  Pins need bpffs on
 * /sys/fs/bpf: systemd mounts it at boot, but a minimal host or a container
 * may not have, so `record --pin` mounts it there first when it is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gnomon_stamp.skel.h"
#include "trace_stamper.h"

static const char *const count_names[GNOMON_CNT_NR] = {
	[GNOMON_CNT_STAMPED] = "stamped",
	[GNOMON_CNT_MERGED] = "merged",
	[GNOMON_CNT_MALFORMED] = "malformed",
	[GNOMON_CNT_REJECTED] = "rejected_jumps",
	[GNOMON_CNT_NO_ROOM] = "no_room",
	[GNOMON_CNT_DUPLICATE] = "duplicate",
	[GNOMON_CNT_CONTENDED] = "contended",
	[GNOMON_CNT_RB_DROPS] = "ringbuf_drops",
};

const char *gnomon_count__name(unsigned int which)
{
	return which < GNOMON_CNT_NR ? count_names[which] : "?";
}

int trace_cgroup_root(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char dev[256], dir[PATH_MAX], type[64];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		if (strlen(dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, dir);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int trace_pin_dir(const char *cgroup, char *buf, size_t len)
{
	struct stat st;
	int n;

	if (stat(cgroup, &st))
		return -errno;
	n = snprintf(buf, len, "%s/cg%llu", TRACE_PIN_ROOT,
		     (unsigned long long)st.st_ino);
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int stamper__ensure_bpffs(bool *mounted)
{
	struct statfs st;

	*mounted = false;
	if (statfs(TRACE_BPFFS, &st))
		return -errno;
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", TRACE_BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	*mounted = true;
	return 0;
}

static int pin_path(const struct stamper *s, const char *name, char *buf)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", s->pin_dir, name);

	return n > 0 && n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

static const char *const pin_names[] = { "link", "clock", "config", "counts", "events" };

static int reuse_pinned(struct stamper *s)
{
	int *fds[] = { &s->clock_fd, &s->config_fd, &s->counts_fd, &s->events_fd };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 4; i++) {
		if (pin_path(s, pin_names[i + 1], path))
			return -ENAMETOOLONG;
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0)
			return -errno;
	}
	s->reused = true;
	s->keep = true;
	return 0;
}

static int pin_all(struct stamper *s)
{
	struct bpf_map *maps[] = { s->skel->maps.gnomon_clock,
				   s->skel->maps.gnomon_config,
				   s->skel->maps.gnomon_counts,
				   s->skel->maps.gnomon_events };
	char path[PATH_MAX];
	size_t i;
	int err;

	if (mkdir(TRACE_PIN_ROOT, 0700) && errno != EEXIST)
		return -errno;
	if (mkdir(s->pin_dir, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < 4; i++) {
		if (pin_path(s, pin_names[i + 1], path))
			return -ENAMETOOLONG;
		err = bpf_map__pin(maps[i], path);
		if (err)
			return err;
	}
	if (pin_path(s, "link", path))
		return -ENAMETOOLONG;
	err = bpf_link__pin(s->link, path);
	if (err)
		return err;
	s->keep = true;
	return 0;
}

int stamper__open(struct stamper *s, const char *cgroup,
		  const struct gnomon_stamp_config *cfg, bool pin)
{
	char link_path[PATH_MAX];
	__u32 zero = 0;
	int cg, err;

	memset(s, 0, sizeof(*s));
	s->clock_fd = s->config_fd = s->counts_fd = s->events_fd = -1;
	err = trace_pin_dir(cgroup, s->pin_dir, sizeof(s->pin_dir));
	if (err)
		return err;
	if (!pin_path(s, "link", link_path) && access(link_path, F_OK) == 0)
		return reuse_pinned(s);

	s->skel = gnomon_stamp__open_and_load();
	if (!s->skel)
		return errno ? -errno : -EINVAL;
	s->clock_fd = bpf_map__fd(s->skel->maps.gnomon_clock);
	s->config_fd = bpf_map__fd(s->skel->maps.gnomon_config);
	s->counts_fd = bpf_map__fd(s->skel->maps.gnomon_counts);
	s->events_fd = bpf_map__fd(s->skel->maps.gnomon_events);
	if (bpf_map_update_elem(s->config_fd, &zero, cfg, BPF_ANY))
		return -errno;
	cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return -errno;
	s->link = bpf_program__attach_cgroup(s->skel->progs.gnomon_sockops, cg);
	err = libbpf_get_error(s->link);
	close(cg);
	if (err) {
		s->link = NULL;
		return err;
	}
	return pin ? pin_all(s) : 0;
}

int stamper__config(const struct stamper *s, struct gnomon_stamp_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(s->config_fd, &zero, cfg) ? -errno : 0;
}

int stamper__set_events(struct stamper *s, bool on)
{
	struct gnomon_stamp_config cfg;
	__u32 zero = 0;
	int err = stamper__config(s, &cfg);

	if (err)
		return err;
	cfg.events = on;
	return bpf_map_update_elem(s->config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

void stamper__close(struct stamper *s)
{
	if (s->link) {
		if (s->keep)
			bpf_link__disconnect(s->link);
		bpf_link__destroy(s->link);
	}
	if (s->skel) {
		gnomon_stamp__destroy(s->skel);
	} else {
		if (s->clock_fd >= 0)
			close(s->clock_fd);
		if (s->config_fd >= 0)
			close(s->config_fd);
		if (s->counts_fd >= 0)
			close(s->counts_fd);
		if (s->events_fd >= 0)
			close(s->events_fd);
	}
	memset(s, 0, sizeof(*s));
	s->clock_fd = s->config_fd = s->counts_fd = s->events_fd = -1;
}

int stamper__unpin(const char *cgroup)
{
	struct stamper s = { 0 };
	char path[PATH_MAX];
	int err, found = 0;
	size_t i;

	err = trace_pin_dir(cgroup, s.pin_dir, sizeof(s.pin_dir));
	if (err)
		return err;
	for (i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		if (pin_path(&s, pin_names[i], path))
			return -ENAMETOOLONG;
		if (unlink(path) == 0)
			found = 1;
		else if (errno != ENOENT)
			return -errno;
	}
	if (rmdir(s.pin_dir) && errno != ENOENT)
		return -errno;
	rmdir(TRACE_PIN_ROOT);	/* only if no other cgroup is pinned */
	return found ? 0 : -ENOENT;
}

int stamp_counts__read(int counts_fd, struct gnomon_stamp_counts *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gnomon_stamp_counts *per;
	__u32 zero = 0;
	int cpu, i;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(counts_fd, &zero, per)) {
		int err = -errno;

		free(per);
		return err;
	}
	memset(out, 0, sizeof(*out));
	for (cpu = 0; cpu < ncpu; cpu++)
		for (i = 0; i < GNOMON_CNT_NR; i++)
			out->n[i] += per[cpu].n[i];
	free(per);
	return 0;
}

int stamp_clock__read(int clock_fd, __u64 *lamport)
{
	struct gnomon_stamp_clock clk;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(clock_fd, &zero, &clk))
		return -errno;
	*lamport = clk.lamport;
	return 0;
}
