// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-syncd disciplining gnomon.ko (runs in the VM, module loaded): the
 * agent with the static source drives /dev/gnomon, and the test reads the
 * result back through GNOMON_IOC_NOW and the mapped page.
 *
 *	agent running ... synchronized, bound = error + drift growth, the page
 *	                  says source static and carries the agent's error,
 *	                  interval and configuration
 *	--mark-disrupted  disrupted until the agent's next update
 *	agent stopped ... free-running, then unsynchronized after the holdover
 *
 * The module's configuration is restored at the end, since later tests
 * share it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ktap.h"
#include "agent_spawn.h"
#include "gnomon_core.h"

#define ERROR_NS	3000000ULL
#define WAIT_MS		20000

static pid_t run_agent(const char *const extra[])
{
	const char *const base[] = {
		"--source", "static", "--error-ns", "3000000",
		"--interval", "200ms", "--freerun-intervals", "2",
		"--holdover", "2s", "--drift-ppm", "40", "--foreground", NULL,
	};

	return agent_spawn(base, extra);
}

static bool wait_status(int fd, uint32_t want, struct gnomon_tt *now)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (ioctl(fd, GNOMON_IOC_NOW, now) == 0 && now->status == want)
			return true;
		agent_sleep_ms(20);
	}
	return false;
}

/*
 * Wait for the agent's own first update: synchronized is not enough, since
 * an earlier discipline may have left the clock synchronized already.
 */
static bool wait_agent_update(int fd, const struct gnomon_page *page,
			      struct gnomon_tt *now)
{
	struct gnomon_page snap;

	for (int i = 0; i < WAIT_MS / 20; i++) {
		gnomon_page_snapshot(page, &snap);
		if (snap.source == GNOMON_SOURCE_STATIC &&
		    snap.error_ns == ERROR_NS &&
		    ioctl(fd, GNOMON_IOC_NOW, now) == 0 &&
		    now->status == GNOMON_STATUS_SYNCHRONIZED)
			return true;
		agent_sleep_ms(20);
	}
	return false;
}

static int wait_exit(pid_t pid)
{
	int status = -1;

	waitpid(pid, &status, 0);
	return status;
}

KTAP_TEST(agent_disciplines_module)
{
	struct gnomon_config saved, cfg;
	struct gnomon_page *page, snap;
	struct gnomon_tt now;
	int fd, status;
	pid_t pid, one;

	fd = open(GNOMON_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_skip(t, "%s: %s (module not loaded)",
				 GNOMON_DEVICE_PATH, strerror(errno));
	KTAP_ASSERT(t, ioctl(fd, GNOMON_IOC_GET_CONFIG, &saved) == 0,
		    "GET_CONFIG: %s", strerror(errno));
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_ASSERT(t, page != MAP_FAILED, "mmap: %s", strerror(errno));

	pid = run_agent(NULL);
	KTAP_ASSERT(t, pid > 0, "fork");
	KTAP_EXPECT(t, wait_agent_update(fd, page, &now),
		    "never synchronized by the agent (status %u)", now.status);
	/* 3 ms plus at most 1 s of 40 ppm drift. */
	KTAP_EXPECT(t, now.bound_ns >= ERROR_NS && now.bound_ns <= ERROR_NS + 40000,
		    "bound %llu", (unsigned long long)now.bound_ns);
	gnomon_page_snapshot(page, &snap);
	KTAP_EXPECT(t, snap.source == GNOMON_SOURCE_STATIC &&
		    snap.error_ns == ERROR_NS && snap.interval_ns == 200000000 &&
		    snap.drift_ppb == 40000, "page: source %u error %llu interval %llu drift %u",
		    snap.source, (unsigned long long)snap.error_ns,
		    (unsigned long long)snap.interval_ns, snap.drift_ppb);
	KTAP_EXPECT(t, ioctl(fd, GNOMON_IOC_GET_CONFIG, &cfg) == 0 &&
		    cfg.holdover_ns == 2 * GNOMON_NSEC_PER_SEC &&
		    cfg.freerun_intervals == 2,
		    "config: holdover %llu freerun %u",
		    (unsigned long long)cfg.holdover_ns, cfg.freerun_intervals);

	/*
	 * Disrupted lasts until the agent's next update, 200 ms away: stop
	 * the agent meanwhile, or a slow guest may never see it.
	 */
	kill(pid, SIGSTOP);
	one = run_agent((const char *const[]){ "--mark-disrupted", NULL });
	status = wait_exit(one);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "--mark-disrupted exit 0x%x", status);
	KTAP_EXPECT(t, wait_status(fd, GNOMON_STATUS_DISRUPTED, &now),
		    "never disrupted");
	kill(pid, SIGCONT);
	KTAP_EXPECT(t, wait_status(fd, GNOMON_STATUS_SYNCHRONIZED, &now),
		    "disrupted for good");

	kill(pid, SIGTERM);
	status = wait_exit(pid);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "agent exit 0x%x on SIGTERM", status);
	KTAP_EXPECT(t, wait_status(fd, GNOMON_STATUS_FREE_RUNNING, &now),
		    "never free-running (status %u)", now.status);
	KTAP_EXPECT(t, now.bound_ns > ERROR_NS, "free-running bound %llu",
		    (unsigned long long)now.bound_ns);
	KTAP_EXPECT(t, wait_status(fd, GNOMON_STATUS_UNSYNCHRONIZED, &now),
		    "never unsynchronized (status %u)", now.status);

	KTAP_EXPECT(t, ioctl(fd, GNOMON_IOC_SET_CONFIG, &saved) == 0,
		    "restore config: %s", strerror(errno));
	munmap(page, GNOMON_PAGE_SIZE);
	close(fd);
}

KTAP_TEST(agent_needs_cap_sys_time)
{
	int fd = open(GNOMON_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	int status;
	pid_t pid;

	if (fd < 0)
		return ktap_skip(t, "%s: %s (module not loaded)",
				 GNOMON_DEVICE_PATH, strerror(errno));
	close(fd);
	pid = fork();
	if (pid == 0) {
		/* Drop to nobody: no CAP_SYS_TIME. */
		if (setgid(65534) || setuid(65534))
			_exit(126);
		execl(AGENT, AGENT, "--source", "static", "--error-ns", "1000",
		      "--once", (char *)NULL);
		_exit(127);
	}
	status = wait_exit(pid);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "unprivileged agent exit 0x%x, want 1", status);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
