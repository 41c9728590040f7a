// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-trace record: attach the stamper and stream its events as JSON
 * lines until SIGINT, SIGTERM or --duration.
 *
 * The header line goes out (and is flushed) only once the program is
 * attached, so a script can wait for it before it starts traffic.  The
 * BPF side stamps CLOCK_MONOTONIC; the recorder converts to CLOCK_REALTIME
 * with an offset re-read at every poll, so a clock step moves later events
 * only.  When /dev/gnomon is there, each event also gets a tick of the
 * host's HLC taken as the recorder reads it: an HLC instant after the
 * event, in the host clock's own terms (the kernel module exposes no kfunc
 * that BPF could call, see Documentation/tracing.rst).
 *
 * On exit the recorder turns events off; the program stays attached only
 * if it is pinned (--pin now, or found pinned).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/gnomon.h>

#include "../common/gparse.h"
#include "trace_cli.h"
#include "trace_event.h"
#include "trace_stamper.h"

struct recorder {
	FILE *out;
	int hlc_fd;
	int64_t mono_to_real;
	unsigned long long events;
	int err;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t mono_to_real(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL +
	       (r.tv_nsec - m.tv_nsec);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct gnomon_stamp_event *se = data;
	struct recorder *r = ctx;
	struct trace_event e = { 0 };
	char line[512];
	int err;

	if (size < sizeof(*se))
		return 0;
	e.lamport = se->lamport;
	e.remote = se->remote;
	e.realtime_ns = (uint64_t)((int64_t)se->mono_ns + r->mono_to_real);
	e.seq = se->seq;
	e.end_seq = se->end_seq;
	e.node = se->node_id;
	e.remote_node = se->remote_node;
	e.local_port = se->local_port;
	e.peer_port = se->remote_port;
	e.dir = se->dir == GNOMON_DIR_SEND ? TRACE_SEND : TRACE_RECV;
	e.tcp_flags = se->tcp_flags;
	trace_addr__format(se->family == GNOMON_AF_INET6, se->local_addr,
			   e.local, sizeof(e.local));
	trace_addr__format(se->family == GNOMON_AF_INET6, se->remote_addr,
			   e.peer, sizeof(e.peer));
	if (r->hlc_fd >= 0) {
		struct gnomon_hlc h;

		if (ioctl(r->hlc_fd, GNOMON_IOC_HLC_TICK, &h) == 0) {
			e.hlc_wall = h.wall_ns;
			e.hlc_logical = h.logical;
		}
	}
	err = trace_event__format(&e, line, sizeof(line));
	if (err || fputs(line, r->out) == EOF) {
		r->err = err ? err : -EIO;
		return r->err;
	}
	r->events++;
	return 0;
}

static __u16 default_node_id(const char *host, const char *cgroup)
{
	__u32 h = 2166136261u;
	const char *parts[] = { host, "/", cgroup };
	size_t i;

	for (i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h >> 16) ^ (h & 0xffff);
	return h ? (__u16)h : 1;
}

static void show_progress(const struct recorder *r, const struct stamper *s)
{
	struct gnomon_stamp_counts c;

	if (stamp_counts__read(s->counts_fd, &c))
		return;
	fprintf(stderr, "\rgnomon-trace: %llu events, %llu ring-buffer drops ",
		r->events, (unsigned long long)c.n[GNOMON_CNT_RB_DROPS]);
}

static int record_loop(struct recorder *r, struct stamper *s,
		       uint64_t duration_ns)
{
	struct ring_buffer *rb;
	struct timespec start, now;
	int tty = isatty(STDERR_FILENO), ticks = 0, n;

	rb = ring_buffer__new(s->events_fd, on_event, r, NULL);
	if (!rb)
		return errno ? -errno : -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop && !r->err) {
		r->mono_to_real = mono_to_real();
		n = ring_buffer__poll(rb, 100);
		if (n < 0 && n != -EINTR) {
			r->err = n;
			break;
		}
		fflush(r->out);
		if (tty && ++ticks % 5 == 0)
			show_progress(r, s);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (duration_ns &&
		    (uint64_t)(now.tv_sec - start.tv_sec) * 1000000000u +
		    (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec >= duration_ns)
			break;
	}
	stamper__set_events(s, false);
	if (!r->err)
		ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (tty) {
		show_progress(r, s);
		fputc('\n', stderr);
	}
	return r->err;
}

static const struct option record_opts[] = {
	{ "cgroup", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "pin", no_argument, NULL, 'p' },
	{ "node-id", required_argument, NULL, 'n' },
	{ "max-jump", required_argument, NULL, 'j' },
	{ "duration", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --pin: bpffs on /sys/fs/bpf, mounted here if missing; 0 or exit status. */
static int ensure_bpffs(void)
{
	bool mounted;
	int err = stamper__ensure_bpffs(&mounted);

	if (err)
		return trace_error(err, "--pin needs bpffs on %s, which is not "
				   "mounted and could not be mounted; mount it "
				   "(mount -t bpf bpf %s) and retry",
				   TRACE_BPFFS, TRACE_BPFFS);
	if (mounted)
		fprintf(stderr, "gnomon-trace: mounted bpffs on %s\n", TRACE_BPFFS);
	return 0;
}

int trace_cmd_record(int argc, char **argv)
{
	struct gnomon_stamp_config cfg = { .max_jump = GNOMON_DEFAULT_MAX_JUMP, .events = 1 };
	struct recorder r = { .hlc_fd = -1 };
	struct trace_header h = { 0 };
	struct stamper s;
	const char *out_path = NULL;
	char cgroup[PATH_MAX] = "", line[512];
	unsigned long long v;
	uint64_t duration_ns = 0;
	int node = -1, pin = 0, opt, err;
	struct sigaction sa = { .sa_handler = on_signal };

	while ((opt = getopt_long(argc, argv, "c:o:h", record_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (snprintf(cgroup, sizeof(cgroup), "%s", optarg) >= (int)sizeof(cgroup))
				return trace_usage_error("cgroup path too long");
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'p':
			pin = 1;
			break;
		case 'n':
			if (trace_parse_u64(optarg, &v) || v == 0 || v > 0xffff)
				return trace_usage_error("--node-id wants 1..65535");
			node = (int)v;
			break;
		case 'j':
			if (trace_parse_u64(optarg, &v) || v == 0 || v > GNOMON_LAMPORT_MAX)
				return trace_usage_error("--max-jump wants 1..2^48-1");
			cfg.max_jump = v;
			break;
		case 'd':
			if (gparse__duration(optarg, &duration_ns) || !duration_ns)
				return trace_usage_error("--duration wants a duration "
							 "> 0 (a bare number is seconds)");
			break;
		case 'h':
			return trace_usage(stdout, 0);
		default:
			return trace_usage(stderr, 2);
		}
	}
	if (optind != argc)
		return trace_usage_error("record takes no file arguments (use -o)");
	if (!cgroup[0] && (err = trace_cgroup_root(cgroup, sizeof(cgroup))))
		return trace_error(err, "no cgroup v2 mount found (pass --cgroup)");
	if (gethostname(h.host, sizeof(h.host) - 1))
		snprintf(h.host, sizeof(h.host), "?");
	cfg.node_id = node > 0 ? (__u32)node : default_node_id(h.host, cgroup);
	if (pin && (err = ensure_bpffs()))
		return err;

	err = stamper__open(&s, cgroup, &cfg, pin);
	if (err) {
		stamper__close(&s);
		return trace_error(err, "cannot attach to %s", cgroup);
	}
	/* Opened only now, so that a failed attach leaves the file alone. */
	r.out = stdout;
	if (out_path && !(r.out = fopen(out_path, "we"))) {
		err = -errno;
		stamper__close(&s);
		return trace_error(err, "cannot open %s", out_path);
	}
	if (s.reused && (err = stamper__set_events(&s, true)) == 0 &&
	    (err = stamper__config(&s, &cfg)) == 0)
		fprintf(stderr, "gnomon-trace: reusing the stamper pinned in %s\n", s.pin_dir);
	h.node = (uint16_t)cfg.node_id;
	snprintf(h.cgroup, sizeof(h.cgroup), "%s", cgroup);
	r.hlc_fd = open(GNOMON_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!err)
		err = trace_header__format(&h, line, sizeof(line));
	if (!err && (fputs(line, r.out) == EOF || fflush(r.out)))
		err = -EIO;
	if (!err)
		err = record_loop(&r, &s, duration_ns);
	if (pin && !s.reused)
		fprintf(stderr, "gnomon-trace: left pinned in %s\n", s.pin_dir);
	stamper__close(&s);
	if (r.hlc_fd >= 0)
		close(r.hlc_fd);
	if (out_path && fclose(r.out) && !err)
		err = -EIO;
	if (err)
		return trace_error(err, "recording failed");
	return 0;
}
