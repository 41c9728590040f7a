// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-fenced: the fencing agent's daemon (gnomon-fenced(8)).
 *
 * One thread and a poll() loop over four descriptors: a signalfd (SIGTERM
 * and SIGINT stop, SIGUSR1 logs the status line), a periodic timerfd at
 * TTL/3 (keepalives and the core's TIMER tick), a one-shot timerfd (the
 * core's WAIT_UNTIL and reconnect back-off) and the socket to one gnomond
 * member.  poll, not io_uring: there is one connection with a few small
 * messages every TTL/3, nothing to batch, and poll keeps the daemon
 * runnable wherever gnomon.ko is, io_uring or not.  fenced_agent.c does the
 * rest; fenced_conf.c parses the configuration.
 *
 * Exit codes: 0 stopped by a signal (kernel lease released, session
 * revoked), 1 cannot run (no gnomon.ko, no clock), 2 bad configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fenced_agent.h"
#include "fenced_conf.h"

#define EXIT_CONFIG	2
#define STOP_WAIT_NS	1000000000LL	/* for the revoke's answer */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gnomon-fenced [--config FILE] [--endpoints H:P,...] [--lock NAME]\n"
		"                     [--resource NAME] [--device DEV] [--holder ID]\n"
		"                     [--ttl DUR] [--margin DUR] [--no-pr] [--pr-no-abort]\n"
		"                     [--status-file FILE]\n"
		"Holds a gnomond lock and, while it does, the gnomon.ko lease RESOURCE that\n"
		"a gnomon-fence table checks; see gnomon-fenced(8).  The file (default\n"
		FENCED_CONF_PATH ", if present) is read first; flags override it.\n");
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The configuration from the file and the flags: 0 or EXIT_CONFIG. */
static int configure(struct fenced_conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "endpoints", required_argument, NULL, 'e' },
		{ "lock", required_argument, NULL, 'l' },
		{ "resource", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'd' },
		{ "holder", required_argument, NULL, 'H' },
		{ "ttl", required_argument, NULL, 't' },
		{ "margin", required_argument, NULL, 'm' },
		{ "no-pr", no_argument, NULL, 'n' },
		{ "pr-no-abort", no_argument, NULL, 'A' },
		{ "status-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const keys[128] = {
		['e'] = "endpoints", ['l'] = "lock", ['r'] = "resource",
		['d'] = "device", ['H'] = "holder", ['t'] = "ttl",
		['m'] = "margin", ['s'] = "status_file",
	};
	const char *path = NULL;
	char err[FENCED_ERR_MAX];
	int o, ret;

	fenced_conf__init(c);
	/* The file first, wherever --config is among the flags. */
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'c')
			path = optarg;
		else if (o == 'h') {
			usage(stdout);
			exit(0);
		} else if (o == '?') {
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gnomon-fenced: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_CONFIG;
	}
	ret = fenced_conf__load(c, path ? path : FENCED_CONF_PATH, err);
	if (ret && !(ret == -ENOENT && !path)) {
		fprintf(stderr, "gnomon-fenced: %s\n", err);
		return EXIT_CONFIG;
	}
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n') {
			c->pr = false;
		} else if (o == 'A') {
			c->pr_abort = false;
		} else if (o > 0 && o < 128 && keys[o] &&
			   fenced_conf__set(c, keys[o], optarg, err)) {
			fprintf(stderr, "gnomon-fenced: --%s: %s\n", keys[o], err);
			return EXIT_CONFIG;
		}
	}
	if (fenced_conf__check(c, err)) {
		fprintf(stderr, "gnomon-fenced: %s\n", err);
		return EXIT_CONFIG;
	}
	return 0;
}

static int signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	sigdelset(&set, SIGPIPE);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int periodic(uint64_t period_ns)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(period_ns / 1000000000ULL),
				 .tv_nsec = (long)(period_ns % 1000000000ULL) },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	its.it_value = its.it_interval;
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	uint64_t n;

	while (read(fd, &n, sizeof(n)) > 0)
		;
}

/* Returns true when the loop should end. */
static bool on_signal(struct fenced_agent *a, int sfd, int64_t *deadline)
{
	struct signalfd_siginfo si;
	char line[512];

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			fenced_agent__status(a, line, sizeof(line));
			fprintf(stderr, "gnomon-fenced: status %s\n", line);
		} else if (!*deadline) {
			*deadline = mono_ns() + STOP_WAIT_NS;
			if (fenced_agent__stop(a))
				return true;
		}
	}
	return false;
}

static int run(struct fenced_agent *a, int sfd, int kafd, int wfd)
{
	int64_t deadline = 0;

	for (;;) {
		struct pollfd p[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = kafd, .events = POLLIN },
			{ .fd = wfd, .events = POLLIN },
			{ .fd = -1 },
		};

		p[3].fd = fenced_agent__fd(a, &p[3].events);
		if (poll(p, 4, deadline ? 50 : -1) < 0 && errno != EINTR)
			return 1;
		if ((p[0].revents & POLLIN) && on_signal(a, sfd, &deadline))
			return 0;
		if (p[3].fd >= 0 && p[3].revents)
			fenced_agent__io(a, p[3].revents);
		if (p[1].revents & POLLIN) {
			drain(kafd);
			fenced_agent__tick(a);
		}
		if (p[2].revents & POLLIN) {
			drain(wfd);
			fenced_agent__wake(a);
		}
		if (deadline && (fenced_agent__stopped(a) ||
				 mono_ns() > deadline))
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct fenced_agent agent;
	struct fenced_conf conf;
	int sfd, kafd, wfd, ret;

	ret = configure(&conf, argc, argv);
	if (ret)
		return ret;
	setvbuf(stderr, NULL, _IOLBF, 0);
	sfd = signals();
	kafd = periodic(conf.ttl_ns / 3);
	wfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || kafd < 0 || wfd < 0) {
		perror("gnomon-fenced: signalfd/timerfd");
		return 1;
	}
	if (fenced_agent__init(&agent, &conf, wfd))
		return 1;
	fprintf(stderr, "gnomon-fenced: lock '%s', kernel lease '%s', holder '%s', ttl %llu ms, margin %llu ms, pr %s%s\n",
		conf.lock, conf.resource, conf.holder,
		(unsigned long long)(conf.ttl_ns / 1000000),
		(unsigned long long)(conf.margin_ns / 1000000),
		conf.pr ? conf.device : "off",
		conf.pr && !conf.pr_abort ? " (preempt without abort)" : "");
	ret = run(&agent, sfd, kafd, wfd);
	fenced_agent__exit(&agent);
	close(sfd);
	close(kafd);
	close(wfd);
	return ret;
}
