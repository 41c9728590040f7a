/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests that run build/bin/gnomon-syncd: start it with a base
 * command line plus extra arguments, and sleep in milliseconds.
 */
#ifndef GNOMON_SELFTESTS_AGENT_SPAWN_H
#define GNOMON_SELFTESTS_AGENT_SPAWN_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define AGENT		"build/bin/gnomon-syncd"
#define AGENT_MAX_ARGS	32

/* fork and exec AGENT with base[] then extra[] (both NULL-terminated). */
static inline pid_t agent_spawn(const char *const base[],
				const char *const extra[])
{
	const char *argv[AGENT_MAX_ARGS + 1];
	int n = 0;
	pid_t pid;

	argv[n++] = AGENT;
	for (int i = 0; base && base[i] && n < AGENT_MAX_ARGS; i++)
		argv[n++] = base[i];
	for (int i = 0; extra && extra[i] && n < AGENT_MAX_ARGS; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(AGENT, (char *const *)argv);
		perror("execv " AGENT);
		_exit(127);
	}
	return pid;
}

static inline void agent_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#endif /* GNOMON_SELFTESTS_AGENT_SPAWN_H */
