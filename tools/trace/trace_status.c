// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace status and unpin.
 *
 * status walks every loaded BPF program, keeps those named
 * GNOMON_PROG_NAME, and for each prints the cgroups its links attach it to
 * (found by walking the cgroup v2 tree for the directory whose inode is the
 * link's cgroup id), its pins, its clock and its counters (read from its
 * own maps, found by name).  It needs CAP_SYS_ADMIN like bpftool.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trace_cli.h"
#include "trace_stamper.h"

#define MAX_PROG_MAPS	16

static __u64 wanted_ino;
static char found_path[PATH_MAX];

static int match_ino(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D && st->st_ino == wanted_ino) {
		snprintf(found_path, sizeof(found_path), "%s", path);
		return 1;
	}
	return 0;
}

static void cgroup_path(__u64 id, char *buf, size_t len)
{
	char root[PATH_MAX];

	snprintf(buf, len, "cgroup id %llu", (unsigned long long)id);
	if (trace_cgroup_root(root, sizeof(root)))
		return;
	wanted_ino = id;
	found_path[0] = '\0';
	if (nftw(root, match_ino, 16, FTW_PHYS | FTW_MOUNT) == 1)
		snprintf(buf, len, "%s", found_path);
}

static void print_links(__u32 prog_id)
{
	__u32 id = 0;
	int shown = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		char path[PATH_MAX], pin[PATH_MAX];
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_LINK_TYPE_CGROUP && info.prog_id == prog_id) {
			cgroup_path(info.cgroup.cgroup_id, path, sizeof(path));
			printf("  attached to %s (link %u)\n", path, id);
			if (!trace_pin_dir(path, pin, sizeof(pin)) &&
			    access(pin, F_OK) == 0)
				printf("  pinned in %s\n", pin);
			shown++;
		}
		close(fd);
	}
	if (!shown)
		printf("  not attached through a link\n");
}

static void print_maps(int prog_fd)
{
	__u32 ids[MAX_PROG_MAPS], len, i;
	struct bpf_prog_info info;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = MAX_PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return;
	for (i = 0; i < info.nr_map_ids && i < MAX_PROG_MAPS; i++) {
		struct bpf_map_info mi;
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		struct gnomon_stamp_counts c;
		__u64 lamport;
		unsigned int k;

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			close(fd);
			continue;
		}
		if (!strcmp(mi.name, "gnomon_clock") && !stamp_clock__read(fd, &lamport)) {
			printf("  lamport %llu\n", (unsigned long long)lamport);
		} else if (!strcmp(mi.name, "gnomon_config")) {
			struct gnomon_stamp_config cfg;
			__u32 zero = 0;

			if (!bpf_map_lookup_elem(fd, &zero, &cfg))
				printf("  node %u, max jump %llu, events %s\n",
				       cfg.node_id, (unsigned long long)cfg.max_jump,
				       cfg.events ? "on (a recorder is reading)" : "off");
		} else if (!strcmp(mi.name, "gnomon_counts") && !stamp_counts__read(fd, &c)) {
			printf(" ");
			for (k = 0; k < GNOMON_CNT_NR; k++)
				printf(" %s %llu", gnomon_count__name(k),
				       (unsigned long long)c.n[k]);
			printf("\n");
		}
		close(fd);
	}
}

int trace_cmd_status(int argc, char **argv)
{
	__u32 id = 0;
	int found = 0;

	(void)argv;
	if (argc > 1)
		return trace_usage_error("status takes no arguments");
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_PROG_TYPE_SOCK_OPS &&
		    !strcmp(info.name, GNOMON_PROG_NAME)) {
			printf("program %u %s\n", id, info.name);
			print_links(id);
			print_maps(fd);
			found++;
		}
		close(fd);
	}
	if (errno == EPERM)
		return trace_error(-EPERM, "cannot list BPF programs");
	if (!found)
		printf("no gnomon stamping program is loaded\n");
	return 0;
}

static const struct option unpin_opts[] = {
	{ "cgroup", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

int trace_cmd_unpin(int argc, char **argv)
{
	char cgroup[PATH_MAX] = "";
	int opt, err;

	while ((opt = getopt_long(argc, argv, "c:", unpin_opts, NULL)) != -1) {
		if (opt != 'c')
			return trace_usage(stderr, 2);
		if (snprintf(cgroup, sizeof(cgroup), "%s", optarg) >= (int)sizeof(cgroup))
			return trace_usage_error("cgroup path too long");
	}
	if (optind != argc)
		return trace_usage_error("unpin takes no file arguments");
	if (!cgroup[0] && (err = trace_cgroup_root(cgroup, sizeof(cgroup))))
		return trace_error(err, "no cgroup v2 mount found (pass --cgroup)");
	err = stamper__unpin(cgroup);
	if (err == -ENOENT)
		return trace_error(0, "nothing is pinned for %s", cgroup);
	if (err)
		return trace_error(err, "cannot unpin %s", cgroup);
	printf("unpinned %s\n", cgroup);
	return 0;
}
