// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-syncd end to end without the module: the agent, with the static
 * source, writes a shared-memory file in a temporary directory, and
 * libgnomon (GNOMON_SHM pointing at it, GNOMON_OPEN_NO_KERNEL) reads it.
 *
 *	running agent ....... status synchronized, bound = error + drift growth
 *	agent killed ........ free-running after freerun_intervals * interval,
 *	                      unsynchronized after the holdover
 *	--mark-disrupted .... disrupted, on the running agent's file
 *
 * The agent runs with a 100 ms interval, 2 free-run intervals and a 1 s
 * holdover so that the whole timeline takes a few seconds.  Waits are
 * bounded; the assertions are about the order of states and about bounds,
 * never about how fast the machine is.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "../ktap.h"
#include "agent_spawn.h"
#include "gnomon.h"

#define ERROR_NS	2000000ULL		/* 2 ms */
#define DRIFT_PPB	50000ULL		/* 50 ppm */
#define WAIT_MS		10000
#define NSEC_PER_SEC	1000000000ULL

static char dir[64], shm[96];

static pid_t start_agent(const char *const extra[])
{
	const char *const base[] = {
		"--source", "static", "--error-ns", "2000000",
		"--shm", shm, "--interval", "100ms", "--freerun-intervals", "2",
		"--holdover", "1s", "--drift-ppm", "50", "--foreground", NULL,
	};

	return agent_spawn(base, extra);
}

static bool wait_for_file(const char *path)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (access(path, R_OK) == 0)
			return true;
		agent_sleep_ms(10);
	}
	return false;
}

/* Poll TT.now() until status is want (or time runs out); keep the reading. */
static bool wait_status(struct gnomon_client *c, uint32_t want,
			struct gnomon_tt *now)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (gnomon_client__now(c, now) == 0 && now->status == want)
			return true;
		agent_sleep_ms(20);
	}
	return false;
}

static void setup(struct ktap *t)
{
	snprintf(dir, sizeof(dir), "/tmp/gnomon-syncd-test.XXXXXX");
	if (!mkdtemp(dir)) {
		KTAP_EXPECT(t, false, "mkdtemp: %s", strerror(errno));
		exit(1);
	}
	snprintf(shm, sizeof(shm), "%s/clock", dir);
	setenv("GNOMON_SHM", shm, 1);
	if (access(AGENT, X_OK)) {
		KTAP_EXPECT(t, false, "%s not built", AGENT);
		exit(1);
	}
}

static void cleanup(void)
{
	unlink(shm);
	rmdir(dir);
}

static int stop_agent(pid_t pid)
{
	int status = -1;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return status;
}

KTAP_TEST(shm_timeline)
{
	struct gnomon_client *c = NULL;
	struct gnomon_config cfg;
	struct gnomon_tt now;
	struct stat st;
	pid_t pid;
	int status;

	setup(t);
	pid = start_agent(NULL);
	KTAP_ASSERT(t, pid > 0, "fork");
	KTAP_ASSERT(t, wait_for_file(shm), "%s never appeared", shm);
	KTAP_EXPECT(t, stat(shm, &st) == 0 && (st.st_mode & 07777) == 0644 &&
		    st.st_size == GNOMON_PAGE_SIZE, "mode %o size %lld",
		    st.st_mode & 07777, (long long)st.st_size);

	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0,
		    "open");
	KTAP_EXPECT(t, gnomon_client__source(c) == GNOMON_FROM_AGENT,
		    "served by %s",
		    gnomon_time_source__name(gnomon_client__source(c)));
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED, &now),
		    "never synchronized (status %s)",
		    gnomon_status__name(now.status));
	/* Fresh: error plus at most a few intervals of drift (100 ms at
	 * 50 ppm is 5 us); 1 s of slack covers a slow, loaded machine. */
	KTAP_EXPECT(t, now.bound_ns >= ERROR_NS &&
		    now.bound_ns <= ERROR_NS + DRIFT_PPB, "bound %llu",
		    (unsigned long long)now.bound_ns);
	KTAP_EXPECT(t, now.earliest_ns == now.realtime_ns - now.bound_ns &&
		    now.latest_ns == now.realtime_ns + now.bound_ns,
		    "interval not centred on realtime");
	KTAP_EXPECT(t, gnomon_client__get_config(c, &cfg) == 0 &&
		    cfg.holdover_ns == NSEC_PER_SEC &&
		    cfg.freerun_intervals == 2 && cfg.drift_ppb == DRIFT_PPB,
		    "config not written: holdover %llu freerun %u drift %u",
		    (unsigned long long)cfg.holdover_ns, cfg.freerun_intervals,
		    cfg.drift_ppb);

	status = stop_agent(pid);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "agent exit status 0x%x on SIGTERM", status);
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_FREE_RUNNING, &now),
		    "never free-running (status %s)",
		    gnomon_status__name(now.status));
	/* Free-running: older than 2 intervals, so grown by at least 10 us. */
	KTAP_EXPECT(t, now.bound_ns > ERROR_NS + 2 * 100000000 * DRIFT_PPB /
		    NSEC_PER_SEC && now.bound_ns < ERROR_NS + DRIFT_PPB,
		    "free-running bound %llu", (unsigned long long)now.bound_ns);
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_UNSYNCHRONIZED, &now),
		    "never unsynchronized (status %s)",
		    gnomon_status__name(now.status));
	KTAP_EXPECT(t, now.bound_ns == GNOMON_BOUND_INFINITE &&
		    now.earliest_ns == 0 && now.latest_ns == UINT64_MAX,
		    "unsynchronized but bound %llu",
		    (unsigned long long)now.bound_ns);
	gnomon_client__close(c);
	cleanup();
}

KTAP_TEST(shm_mark_disrupted_and_recover)
{
	const char *const mark[] = { "--mark-disrupted", NULL };
	struct gnomon_client *c = NULL;
	struct gnomon_tt now;
	pid_t pid, one;
	int status;

	setup(t);
	/* A long interval, so the mark stays until we have seen it. */
	pid = start_agent((const char *const[]){ "--interval", "3s", NULL });
	KTAP_ASSERT(t, pid > 0 && wait_for_file(shm), "agent did not start");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0,
		    "open");
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED, &now),
		    "never synchronized");
	one = start_agent(mark);
	waitpid(one, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "--mark-disrupted exit 0x%x", status);
	KTAP_EXPECT(t, gnomon_client__now(c, &now) == 0 &&
		    now.status == GNOMON_STATUS_DISRUPTED &&
		    now.bound_ns == GNOMON_BOUND_INFINITE,
		    "status %s after the mark", gnomon_status__name(now.status));
	/* The running agent's next update clears it. */
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED, &now),
		    "still %s after the next update",
		    gnomon_status__name(now.status));
	stop_agent(pid);
	gnomon_client__close(c);
	cleanup();
}

KTAP_TEST(shm_restarted_agent_is_followed_and_a_second_refused)
{
	struct gnomon_client *c = NULL;
	struct gnomon_tt now;
	pid_t pid, second;
	int status;

	setup(t);
	pid = start_agent(NULL);
	KTAP_ASSERT(t, pid > 0 && wait_for_file(shm), "agent did not start");
	KTAP_ASSERT(t, gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL) == 0, "open");
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED, &now), "never synchronized");

	second = start_agent(NULL);
	waitpid(second, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "a second agent on the same file must refuse: 0x%x", status);

	/* Stop the agent until the page goes void, start a new one: the
	 * reader that mapped the page before must see the new updates. */
	stop_agent(pid);
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_UNSYNCHRONIZED, &now), "never aged out");
	pid = start_agent(NULL);
	KTAP_ASSERT(t, pid > 0, "restart");
	KTAP_EXPECT(t, wait_status(c, GNOMON_STATUS_SYNCHRONIZED, &now),
		    "a reader of the old mapping never saw the restarted agent (%s)",
		    gnomon_status__name(now.status));
	stop_agent(pid);
	gnomon_client__close(c);
	cleanup();
}

KTAP_TEST(shm_no_leftovers_and_bad_input)
{
	const char *const once[] = { "--once", NULL };
	struct dirent *de;
	int status, entries = 0;
	pid_t pid;
	DIR *d;

	setup(t);
	pid = start_agent(once);
	waitpid(pid, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "--once exit 0x%x", status);
	d = opendir(dir);
	KTAP_ASSERT(t, d, "opendir");
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			KTAP_EXPECT(t, ++entries == 1 &&
				    !strcmp(de->d_name, "clock"),
				    "unexpected file %s", de->d_name);
	closedir(d);

	/* Bad values are usage errors (exit 2), and leave the file alone. */
	pid = start_agent((const char *const[]){ "--drift-ppm", "-3", NULL });
	waitpid(pid, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 2,
		    "negative drift: exit 0x%x", status);
	pid = start_agent((const char *const[]){ "--drift-ppm", "1e2", "--once", NULL });
	waitpid(pid, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 2,
		    "drift with an exponent: exit 0x%x", status);
	pid = start_agent((const char *const[]){ "--interval", "soon", NULL });
	waitpid(pid, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 2,
		    "bad interval: exit 0x%x", status);
	/* A page that is not ours is not marked. */
	unlink(shm);
	KTAP_ASSERT(t, close(open(shm, O_CREAT | O_WRONLY, 0644)) == 0, "touch");
	pid = start_agent((const char *const[]){ "--mark-disrupted", NULL });
	waitpid(pid, &status, 0);
	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "marked an empty file: exit 0x%x", status);
	cleanup();
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
