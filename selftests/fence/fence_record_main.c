// SPDX-License-Identifier: GPL-2.0
/*
 * fence-record: the writer and the checker of the multi-host fencing test
 * (selftests/fenced/multihost_test.sh); the record layout and the argument
 * for the check are in fence_record.h.
 *
 *   fence-record write DEV HOST TOKEN [COUNT [INTERVAL]]
 *	read every slot of DEV, then write COUNT records (default: to the
 *	end) from one past the highest sequence found, O_DIRECT, one at a
 *	time, INTERVAL apart (default 10ms), and the claim after the first;
 *	print "first HOST TOKEN SEQ", then "ack HOST TOKEN SEQ" for each
 *	acknowledged record.  A refused write ends the run (exit 3).
 *   fence-record check IMAGE
 *	check the image; print what it found; exit 1 on a stale or lost
 *	write, 0 if none.
 * Exit 2: bad arguments or I/O failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fence_record.h"
#include "../../tools/common/gparse.h"

static int usage(void)
{
	fprintf(stderr, "usage: fence-record write DEV HOST TOKEN [COUNT [INTERVAL]]\n"
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

/* Write one slot; a refusal is printed ("refused HOST TOKEN SEQ why"). */
static int put(int fd, const void *buf, uint64_t slot, const char *host,
	       uint64_t token, uint64_t seq)
{
	if (pwrite(fd, buf, FR_SLOT, slot * FR_SLOT) == FR_SLOT)
		return 0;
	printf("refused %s %llu %llu %s\n", host, (unsigned long long)token,
	       (unsigned long long)seq, strerror(errno));
	fflush(stdout);
	return -1;
}

static int cmd_write(int argc, char **argv)
{
	uint64_t token, count = UINT64_MAX, interval = 10000000, seq, first;
	const char *dev = argv[0], *host = argv[1];
	size_t slots;
	uint8_t *img;
	void *buf;
	int fd;

	if (argc < 3 || argc > 5 || strlen(host) > FR_HOST_LEN ||
	    gparse__u64(argv[2], &token) ||
	    (argc > 3 && gparse__u64(argv[3], &count)) ||
	    (argc > 4 && gparse__duration(argv[4], &interval)))
		return usage();
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "fence-record: %s: %s\n", dev, strerror(errno));
		return 2;
	}
	img = read_image(fd, &slots);
	if (!img || posix_memalign(&buf, FR_SLOT, FR_SLOT)) {
		fprintf(stderr, "fence-record: cannot read %s\n", dev);
		free(img);
		close(fd);
		return 2;
	}
	first = fr_next_seq(img, slots);
	free(img);
	printf("first %s %llu %llu\n", host, (unsigned long long)token,
	       (unsigned long long)first);
	fflush(stdout);
	for (seq = first; fr_data_slot(seq) < slots && seq - first < count; seq++) {
		struct timespec ts = { interval / 1000000000, interval % 1000000000 };

		fr_encode(buf, FR_MAGIC, host, token, seq, first);
		if (put(fd, buf, fr_data_slot(seq), host, token, seq))
			break;
		printf("ack %s %llu %llu\n", host, (unsigned long long)token,
		       (unsigned long long)seq);
		fflush(stdout);
		/* The claim, once the first record is acknowledged. */
		if (seq == first) {
			fr_encode(buf, FR_CLAIM_MAGIC, host, token, first, first);
			if (put(fd, buf, fr_claim_slot(token), host, token, seq))
				break;
		}
		nanosleep(&ts, NULL);
	}
	free(buf);
	close(fd);
	return fr_data_slot(seq) < slots && seq - first < count ? 3 : 0;
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
