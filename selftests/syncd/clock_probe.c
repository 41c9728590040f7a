// SPDX-License-Identifier: GPL-2.0
/*
 * clock_probe: print the module's clock as one line for shell tests,
 *
 *	status=synchronized source=ptp error_ns=N bound_ns=N updates=N
 *
 * status and bound_ns from GNOMON_IOC_NOW, source, error_ns and updates
 * (the last discipline update) from the mapped page.  Exit 1 with a message
 * on stderr if the device cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gnomon_core.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : GNOMON_DEVICE_PATH;
	struct gnomon_page *page, snap;
	struct gnomon_tt now;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "clock_probe: %s: %s\n", path, strerror(errno));
		return 1;
	}
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED || ioctl(fd, GNOMON_IOC_NOW, &now) < 0) {
		fprintf(stderr, "clock_probe: %s: %s\n", path, strerror(errno));
		return 1;
	}
	gnomon_page_snapshot(page, &snap);
	printf("status=%s source=%s error_ns=%llu bound_ns=%llu updates=%llu\n",
	       gnomon_status_name(now.status), gnomon_source_name(snap.source),
	       (unsigned long long)snap.error_ns,
	       (unsigned long long)now.bound_ns,
	       (unsigned long long)snap.updates);
	munmap(page, GNOMON_PAGE_SIZE);
	close(fd);
	return 0;
}
