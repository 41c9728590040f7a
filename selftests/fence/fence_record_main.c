// SPDX-License-Identifier: GPL-2.0
/*
 * fence-record: the writer and the checker of the fencing tests
 * (selftests/fenced/multihost_test.sh, fenced_takeover_test.sh); the record
 * layout and the argument for the check are in fence_record.h.
 *
 *   fence-record write [--wait RESOURCE] [--time] DEV HOST TOKEN [COUNT [INTERVAL]]
 *	find the first sequence to write on DEV (fr_find_next(): a binary
 *	search of the written prefix, about log2(slots) O_DIRECT reads of
 *	one slot), then write COUNT records (default: to the end) from it,
 *	O_DIRECT, one at a time, INTERVAL apart (default 10ms), and the
 *	claim after the first; print "first HOST TOKEN SEQ", then "ack HOST
 *	TOKEN SEQ" for each acknowledged record.  A refused write ends the
 *	run (exit 3).
 *	--wait RESOURCE: the application that is already running when its
 *	host takes over.  It waits until gnomon.ko's lease RESOURCE holds
 *	with a token >= TOKEN, prints "open HOST T", and only then reads DEV
 *	and writes as above with the lease's token T (the new holder reads
 *	after it holds).  After a refused write it waits again, for a token
 *	above T; it ends when a holder's COUNT records are written or DEV is
 *	full (exit 0).  The wait asks the lease (GNOMON_IOC_LEASE_GET) each
 *	time gnomon's fencing group (generic netlink, as `gnomonctl monitor`)
 *	sends any event, and every WAIT_POLL_MS anyway: the event only wakes
 *	it, the ioctl decides.  Without the group (no CAP_SYS_ADMIN) it asks
 *	every millisecond.
 *	--time: each line ends with " at NS", CLOCK_REALTIME when printed.
 *   fence-record check IMAGE
 *	check the image; print what it found; exit 1 on a stale or lost
 *	write, 0 if none.
 * Exit 2: bad arguments or I/O failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "fence_record.h"
#include "../../tools/common/gparse.h"
#include "../../tools/common/klease.h"

#define WAIT_POLL_MS	100	/* --wait: the lease asked at least this often */

static int usage(void)
{
	fprintf(stderr, "usage: fence-record write [--wait RESOURCE] [--time] DEV HOST TOKEN [COUNT [INTERVAL]]\n"
			"       fence-record check IMAGE\n");
	return 2;
}

/* The whole of fd (a multiple of FR_SLOT) into an aligned buffer. */
static uint8_t *read_image(int fd, size_t *slots)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *img = NULL;
	size_t done = 0;
	ssize_t n;

	if (size < (off_t)FR_SLOT || posix_memalign((void **)&img, FR_SLOT, size))
		return NULL;
	*slots = size / FR_SLOT;
	while (done < *slots * FR_SLOT) {
		n = pread(fd, img + done, *slots * FR_SLOT - done, done);
		if (n <= 0) {
			free(img);
			return NULL;
		}
		done += n;
	}
	return img;
}

struct writer {
	int fd;
	const char *host;
	size_t slots;
	void *buf;		/* one slot, aligned for O_DIRECT */
	uint64_t count, interval;
	bool stamp;		/* --time */
};

/* One output line, with " at NS" under --time, flushed at once. */
static void say(const struct writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct writer *w, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (w->stamp)
		printf(" at %lld", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	putchar('\n');
	fflush(stdout);
}

static int read_slot(void *ctx, uint64_t slot, void *buf)
{
	const struct writer *w = ctx;

	return pread(w->fd, buf, FR_SLOT, slot * FR_SLOT) == FR_SLOT ? 0 :
	       errno ? -errno : -EIO;
}

/* Write one slot; a refusal is printed ("refused HOST TOKEN SEQ why"). */
static int put(const struct writer *w, uint64_t slot, uint64_t token,
	       uint64_t seq)
{
	if (pwrite(w->fd, w->buf, FR_SLOT, slot * FR_SLOT) == FR_SLOT)
		return 0;
	say(w, "refused %s %llu %llu %s", w->host, (unsigned long long)token,
	    (unsigned long long)seq, strerror(errno));
	return -1;
}

/* One holder's run with token: 0 when its records are written (COUNT or
 * the end of the disk), 3 after a refused write, 2 when the read fails. */
static int hold(struct writer *w, uint64_t token)
{
	uint64_t first, seq;

	if (fr_find_next(read_slot, w, w->slots, w->buf, &first)) {
		fprintf(stderr, "fence-record: cannot read the disk\n");
		return 2;
	}
	say(w, "first %s %llu %llu", w->host, (unsigned long long)token,
	    (unsigned long long)first);
	for (seq = first; fr_data_slot(seq) < w->slots && seq - first < w->count; seq++) {
		struct timespec ts = { w->interval / 1000000000,
				       w->interval % 1000000000 };

		fr_encode(w->buf, FR_MAGIC, w->host, token, seq, first);
		if (put(w, fr_data_slot(seq), token, seq))
			return 3;
		say(w, "ack %s %llu %llu", w->host, (unsigned long long)token,
		    (unsigned long long)seq);
		/* The claim, once the first record is acknowledged. */
		if (seq == first) {
			fr_encode(w->buf, FR_CLAIM_MAGIC, w->host, token, first, first);
			if (put(w, fr_claim_slot(token), token, seq))
				return 3;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int ignore_event(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

/* A socket in gnomon's fencing group, or NULL. */
static struct nl_sock *events_join(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int group;

	if (!sk)
		return NULL;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return NULL;
	}
	group = genl_ctrl_resolve_grp(sk, GNOMON_GENL_NAME, GNOMON_GENL_MCGRP_FENCING);
	if (group < 0 || nl_socket_add_membership(sk, group)) {
		nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, ignore_event, NULL);
	return sk;
}

/* --wait: until lease res holds with a token >= min; 0 or -errno.  The
 * lease is asked after joining the group, so no grant falls between. */
static int wait_lease(int kfd, struct nl_sock *sk, const char *res,
		      uint64_t min, uint64_t *token)
{
	struct pollfd pfd = { .fd = sk ? nl_socket_get_fd(sk) : -1,
			      .events = POLLIN };
	struct gnomon_lease_info li;
	int err;

	for (;;) {
		err = klease__get(kfd, res, &li);
		if (err && err != -ENOENT)
			return err;
		if (!err && li.state == GNOMON_LEASE_HELD && li.token >= min) {
			*token = li.token;
			return 0;
		}
		if (poll(&pfd, 1, sk ? WAIT_POLL_MS : 1) > 0)
			nl_recvmsgs_default(sk);
	}
}

/* --wait's loop: wait for the lease, hold, and after a refusal wait for
 * a higher token. */
static int serve(struct writer *w, const char *res, uint64_t min)
{
	struct nl_sock *sk = events_join();
	uint64_t token;
	int kfd = klease__open(), rc, err;

	if (kfd < 0) {
		fprintf(stderr, "fence-record: %s: %s\n", klease__device(),
			strerror(-kfd));
		nl_socket_free(sk);
		return 2;
	}
	do {
		err = wait_lease(kfd, sk, res, min, &token);
		if (err) {
			fprintf(stderr, "fence-record: lease %s: %s\n", res,
				strerror(-err));
			rc = 2;
			break;
		}
		say(w, "open %s %llu", w->host, (unsigned long long)token);
		rc = hold(w, token);
		min = token + 1;
	} while (rc == 3);
	close(kfd);
	nl_socket_free(sk);
	return rc;
}

static int cmd_write(int argc, char **argv)
{
	struct writer w = { .count = UINT64_MAX, .interval = 10000000 };
	const char *res = NULL;
	uint64_t token;
	int rc;

	for (; argc > 0 && !strncmp(argv[0], "--", 2); argc--, argv++) {
		if (!strcmp(argv[0], "--time")) {
			w.stamp = true;
		} else if (!strcmp(argv[0], "--wait") && argc > 1) {
			res = *++argv;
			argc--;
		} else {
			return usage();
		}
	}
	if (argc < 3 || argc > 5 || strlen(argv[1]) > FR_HOST_LEN ||
	    gparse__u64(argv[2], &token) ||
	    (argc > 3 && gparse__u64(argv[3], &w.count)) ||
	    (argc > 4 && gparse__duration(argv[4], &w.interval)))
		return usage();
	w.host = argv[1];
	w.fd = open(argv[0], O_RDWR | O_DIRECT);
	if (w.fd < 0) {
		fprintf(stderr, "fence-record: %s: %s\n", argv[0], strerror(errno));
		return 2;
	}
	w.slots = lseek(w.fd, 0, SEEK_END) / FR_SLOT;
	if (w.slots <= FR_CLAIMS || posix_memalign(&w.buf, FR_SLOT, FR_SLOT)) {
		fprintf(stderr, "fence-record: %s: too small for records\n", argv[0]);
		close(w.fd);
		return 2;
	}
	rc = res ? serve(&w, res, token) : hold(&w, token);
	free(w.buf);
	close(w.fd);
	return rc;
}

static const char *const kind_name[] = {
	[FR_STALE_OVERWRITE] = "stale: overwrote a slot of a higher token",
	[FR_STALE_PAST_READ] = "stale: landed after a higher token's takeover read",
	[FR_LOST] = "lost: an acknowledged write of this token is gone",
};

static int cmd_check(int argc, char **argv)
{
	struct fr_report rep;
	size_t slots, i;
	uint8_t *img;
	int fd;

	if (argc != 1)
		return usage();
	fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "fence-record: %s: %s\n", argv[0], strerror(errno));
		return 2;
	}
	img = read_image(fd, &slots);
	close(fd);
	if (!img || fr_check(img, slots, &rep)) {
		fprintf(stderr, "fence-record: cannot check %s\n", argv[0]);
		free(img);
		return 2;
	}
	free(img);
	printf("records %zu holders %zu corrupt %zu stale %zu lost %zu\n",
	       rep.records, rep.holders, rep.corrupt, rep.stale, rep.lost);
	for (i = 0; i < rep.nfindings; i++) {
		const struct fr_finding *f = &rep.findings[i];

		printf("seq %llu: token %llu (%s) under token %llu: %s\n",
		       (unsigned long long)f->seq, (unsigned long long)f->token,
		       f->host[0] ? f->host : "-",
		       (unsigned long long)f->over_token, kind_name[f->kind]);
	}
	return rep.stale || rep.lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "write"))
		return cmd_write(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return cmd_check(argc - 2, argv + 2);
	return usage();
}
